"""The client portal: login with workspace + e-mail + password, home page, logout.

Members of client companies (and the operator's staff) enter one organization's portal at a time;
the organization lives in the session (comptoir.core.tenancy).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import auth
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from comptoir.core import rights, tenancy
from comptoir.core.models import Organization
from comptoir.crm import capabilities
from comptoir.crm.selectors import portal_contacts
from comptoir.crm.selectors.portal import company_members
from comptoir.portal import navigation
from comptoir.portal.forms import LoginForm

WORKSPACE_COOKIE = "comptoir_workspace"
WORKSPACE_COOKIE_AGE = 365 * 24 * 3600


def portal_organization(request: HttpRequest) -> Organization | None:
    """The organization whose portal the signed-in user is in, or None when they may not enter one."""
    user = request.user
    if not user.is_authenticated:
        return None
    organization = tenancy.session_organization(request)
    if organization is None or not tenancy.can_enter_portal(user, organization):  # type: ignore[arg-type]
        return None
    return organization


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only for a signed-in user allowed in the portal of the session's organization; else the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        organization = portal_organization(request)
        if organization is None:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        request.portal_organization = organization  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def portal_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    organization = request.portal_organization  # type: ignore[attr-defined]
    return {
        "organization": organization,
        "portal_menu": navigation.menu_for(request),
        "is_staff_here": rights.is_staff_of(request.user, organization),  # type: ignore[arg-type]
        **extra,
    }


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if allowed and target.startswith(reverse("portal:home")):
        return target
    return reverse("portal:home")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def portal_login(request: HttpRequest) -> HttpResponse:
    """One generic error for an unknown workspace, an unknown e-mail, a wrong password or no access.

    The password is always checked (through django-axes, which counts failures and locks out), so the
    answer takes the same time and says nothing about which of the three was wrong.
    """
    if request.method == "GET" and portal_organization(request) is not None:
        return redirect(_safe_next(request))
    initial = {"workspace": request.GET.get("workspace") or request.COOKIES.get(WORKSPACE_COOKIE, "")}
    form = LoginForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        workspace, email = form.cleaned_data["workspace"], form.cleaned_data["email"]
        user = auth.authenticate(request=request, username=email, password=form.cleaned_data["password"])
        organization = Organization.objects.filter(slug=workspace, is_active=True).first()
        if user is not None and organization is not None and tenancy.can_enter_portal(user, organization):
            auth.login(request, user)
            tenancy.enter(request, organization)
            response = redirect(_safe_next(request))
            response.set_cookie(
                WORKSPACE_COOKIE,
                organization.slug,
                max_age=WORKSPACE_COOKIE_AGE,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
            return response
        if user is not None:
            # The right password for the wrong workspace counts as a failed attempt too.
            user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)
        form.add_error(None, _("Espace de travail, e-mail ou mot de passe incorrect."))
    return render(request, "portal/login.html", {"form": form, "next": request.GET.get("next", "")})


@require_POST
def portal_logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return redirect("portal:login")


@member_required
@require_http_methods(["GET"])
def portal_home(request: HttpRequest) -> HttpResponse:
    """The member's companies ("Mon entreprise": name, reference, their role) above what is to come, with a
    banner for each contract awaiting the signature of a company where the member may sign."""
    from comptoir.sales.selectors.signature import contracts_to_sign

    contacts = list(portal_contacts(request.user, request.portal_organization))  # type: ignore[arg-type, attr-defined]
    context = portal_context(request, memberships=contacts, contracts_to_sign=contracts_to_sign(contacts))
    return render(request, "portal/home.html", context)


@member_required
@require_http_methods(["GET"])
def portal_members(request: HttpRequest) -> HttpResponse:
    """ "Membres": the active members of each company the member administers (capability manage_members)."""
    contacts = portal_contacts(request.user, request.portal_organization)  # type: ignore[arg-type, attr-defined]
    administered = [contact for contact in contacts if capabilities.can(contact, "manage_members")]
    if not administered:
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas de gérer ses membres."))
    companies = [(contact.company, list(company_members(contact=contact))) for contact in administered]
    return render(request, "portal/members.html", portal_context(request, companies=companies))
