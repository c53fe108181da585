from django.urls import path

from comptoir.core.views import accounts

app_name = "accounts"

urlpatterns = [
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("activate/<uidb64>/<token>/", accounts.activate, name="activate"),
    path("activate/done/", accounts.activation_done, name="activation_done"),
    path("password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", accounts.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/", accounts.PasswordResetConfirmView.as_view(), name="password_reset_confirm"
    ),
    path("password/reset/done/", accounts.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
