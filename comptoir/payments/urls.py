"""Back office URLs of the payments app (/manage/payments/): each area's views module holds its own `urlpatterns`."""

from comptoir.core.areas import collect
from comptoir.payments.areas import AREAS

app_name = "payments"
urlpatterns = collect("comptoir.payments.views", AREAS, "urlpatterns")
