"""Back office URLs of the billing app (/manage/billing/): each area's views module holds its own `urlpatterns`."""

from comptoir.billing.areas import AREAS
from comptoir.core.areas import collect

app_name = "billing"
urlpatterns = collect("comptoir.billing.views", AREAS, "urlpatterns")
