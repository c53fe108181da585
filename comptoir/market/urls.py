from django.urls import path

from comptoir.market import views

app_name = "market"

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:slug>/", views.organization_detail, name="organization"),
]
