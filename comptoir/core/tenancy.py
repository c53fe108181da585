"""Which organization a request works in, and who may enter it (staff in /manage/, members in /portal/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from comptoir.core import rights
from comptoir.core.models import Organization, StaffMembership

if TYPE_CHECKING:
    from django.http import HttpRequest

    from comptoir.core.models import User

SESSION_KEY = "organization_id"

# Higher apps (crm: contacts with portal access) register who may enter an organization's portal.
_portal_access_checks: list[Callable[[User, Organization], bool]] = []


def register_portal_access(check: Callable[[User, Organization], bool]) -> None:
    if check not in _portal_access_checks:
        _portal_access_checks.append(check)


def staff_organizations(user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(
        pk__in=StaffMembership.objects.filter(user=user, is_active=True).values("organization_id"),
        is_active=True,
    ).order_by("name")


def can_enter_portal(user: User, organization: Organization) -> bool:
    if not user.is_active or not organization.is_active:
        return False
    return rights.is_staff_of(user, organization) or any(check(user, organization) for check in _portal_access_checks)


def can_enter(user: User, organization: Organization) -> bool:
    return rights.is_staff_of(user, organization) or can_enter_portal(user, organization)


def session_organization(request: HttpRequest) -> Organization | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    org_id = request.session.get(SESSION_KEY)
    if org_id:
        organization = Organization.objects.filter(pk=org_id, is_active=True).first()
        if organization and can_enter(user, organization):
            return organization
    organization = staff_organizations(user).first()
    if organization:
        request.session[SESSION_KEY] = organization.pk
    return organization


def session_staff(request: HttpRequest) -> StaffMembership | None:
    organization = request.organization  # type: ignore[attr-defined]
    if not organization:
        return None
    return rights.membership(request.user, organization)  # type: ignore[arg-type]


def enter(request: HttpRequest, organization: Organization) -> None:
    request.session[SESSION_KEY] = organization.pk
