from django.urls import path

from comptoir.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("login/", views.portal_login, name="login"),
    path("logout/", views.portal_logout, name="logout"),
    path("members/", views.portal_members, name="members"),
]
