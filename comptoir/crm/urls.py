"""Back office URLs of the CRM (/manage/crm/): each area's views module holds its own `urlpatterns`."""

from comptoir.crm.views import areas

app_name = "crm"
urlpatterns = areas.urlpatterns()
