"""Back office URLs of the sales app (/manage/sales/): each area's views module holds its own `urlpatterns`."""

from comptoir.core.areas import collect
from comptoir.sales.areas import AREAS

app_name = "sales"
urlpatterns = collect("comptoir.sales.views", AREAS, "urlpatterns")
