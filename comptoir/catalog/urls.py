"""Back office URLs of the catalog app (/manage/catalog/): each area's views module holds its own `urlpatterns`."""

from comptoir.catalog.areas import AREAS
from comptoir.core.areas import collect

app_name = "catalog"
urlpatterns = collect("comptoir.catalog.views", AREAS, "urlpatterns")
