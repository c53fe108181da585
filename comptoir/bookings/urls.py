"""Back office URLs of the bookings app (/manage/bookings/): each area's views module holds its own `urlpatterns`."""

from comptoir.bookings.areas import AREAS
from comptoir.core.areas import collect

app_name = "bookings"
urlpatterns = collect("comptoir.bookings.views", AREAS, "urlpatterns")
