"""Accounts: login (with django-axes lockout), logout, activation of a new account, password reset."""

from __future__ import annotations

import datetime
import math
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from comptoir.core import tenancy
from comptoir.core.forms import ActivationForm, LoginForm, PasswordResetRequestForm
from comptoir.core.models import User

AUTH_BACKEND = "comptoir.core.auth.EmailBackend"


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed else ""


def _enter_first_organization(request: HttpRequest, user: User) -> Any:
    """Work in the user's first staff organization (the switcher changes it later)."""
    organization = tenancy.staff_organizations(user).first()
    if organization is not None:
        tenancy.enter(request, organization)
    return organization


def _landing(organization: Any) -> str:
    if organization is not None:
        return reverse("manage:home")
    try:
        return reverse("portal:home")
    except NoReverseMatch:
        return "/portal/"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """E-mail and password. Failures are counted by django-axes (through `authenticate`)."""
    next_url = _safe_next(request)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url or _landing(tenancy.staff_organizations(request.user).first()))  # type: ignore[arg-type]
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request=request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if user is None:
            form.add_error(None, _("E-mail ou mot de passe incorrect."))
        else:
            auth_login(request, user)
            organization = _enter_first_organization(request, user)
            return redirect(next_url or _landing(organization))
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def _cool_off(request: HttpRequest) -> datetime.timedelta:
    from axes.helpers import get_cool_off

    return get_cool_off(request) or datetime.timedelta(minutes=15)


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """django-axes: too many failed logins → 429, in the login layout, with Retry-After."""
    cool_off = _cool_off(request)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    response = render(request, "accounts/lockout.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


@never_cache
def logout_view(request: HttpRequest) -> HttpResponse:
    """POST logs out; GET asks for confirmation (a link must not log anybody out)."""
    if request.method == "POST":
        logout(request)
        messages.success(request, _("Vous êtes déconnecté."))
        return redirect("accounts:login")
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return render(request, "accounts/logout.html")


# --------------------------------------------------------------------------------------------------
# Activation of a new account (link e-mailed by services.send_activation_email)
# --------------------------------------------------------------------------------------------------
def _user_from_link(uidb64: str, token: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
def activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Choose a password from the activation link, then be logged in and told the workspace."""
    user = _user_from_link(uidb64, token)
    if user is None:
        return render(request, "accounts/activation_invalid.html")
    form = ActivationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        auth_login(request, user, backend=AUTH_BACKEND)
        _enter_first_organization(request, user)
        return redirect("accounts:activation_done")
    return render(
        request,
        "accounts/activate.html",
        {"form": form, "account": user, "workspaces": list(tenancy.staff_organizations(user))},
    )


@never_cache
def activation_done(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    workspaces = list(tenancy.staff_organizations(request.user))  # type: ignore[arg-type]
    return render(request, "accounts/activation_done.html", {"workspaces": workspaces})


# --------------------------------------------------------------------------------------------------
# Password reset (Django's views, our templates; also a new activation link for a never-activated account)
# --------------------------------------------------------------------------------------------------
class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetRequestForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = ActivationForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = True
    post_reset_login_backend = AUTH_BACKEND

    def form_valid(self, form: ActivationForm) -> HttpResponse:
        response = super().form_valid(form)
        _enter_first_organization(self.request, form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
