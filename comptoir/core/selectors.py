"""Reads that depend on who asks: tenant-scoped, center-restricted, without N+1."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from comptoir.core import rights
from comptoir.core.models import (
    ApiToken,
    AuditEntry,
    Center,
    LegalEntity,
    OpeningHours,
    Organization,
    Role,
    StaffMembership,
    User,
)


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def allowed_center_ids(user: User, organization: Organization | int) -> list[int] | None:
    """The centers a staff member is limited to, or None when they see every center."""
    staff = rights.membership(user, organization)
    if staff is None:
        return []
    cache = staff.__dict__.setdefault("_center_ids", None)
    if cache is None:
        cache = list(staff.centers.values_list("pk", flat=True))
        staff.__dict__["_center_ids"] = cache
    return cache or None


def centers_for(user: User, organization: Organization | int) -> QuerySet[Center]:
    qs = Center.objects.filter(organization=_org_id(organization)).select_related("legal_entity")
    if not rights.is_staff_of(user, organization):
        return qs.none()
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(pk__in=restricted)
    return qs


def center_with_hours(qs: QuerySet[Center]) -> QuerySet[Center]:
    return qs.prefetch_related(Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens_at")))


def legal_entities_for(user: User, organization: Organization | int) -> QuerySet[LegalEntity]:
    if not rights.is_staff_of(user, organization):
        return LegalEntity.objects.none()
    return LegalEntity.objects.filter(organization=_org_id(organization)).annotate(center_count=Count("centers"))


def staff_for(user: User, organization: Organization | int) -> QuerySet[StaffMembership]:
    if not rights.is_staff_of(user, organization):
        return StaffMembership.objects.none()
    return (
        StaffMembership.objects.filter(organization=_org_id(organization))
        .select_related("user", "role")
        .prefetch_related(Prefetch("centers", queryset=Center.objects.only("id", "name")))
    )


def roles_for(user: User, organization: Organization | int) -> QuerySet[Role]:
    if not rights.is_staff_of(user, organization):
        return Role.objects.none()
    return Role.objects.filter(organization=_org_id(organization)).annotate(member_count=Count("memberships"))


def api_tokens_for(user: User, organization: Organization | int) -> QuerySet[ApiToken]:
    """Everyone sees their own tokens; holders of core.view_apitoken see the organization's."""
    qs = ApiToken.objects.filter(organization=_org_id(organization)).select_related("user")
    if rights.has_right(user, "core.view_apitoken", organization):
        return qs
    return qs.filter(user=user) if rights.is_staff_of(user, organization) else qs.none()


def journal_for(user: User, organization: Organization | int) -> QuerySet[AuditEntry]:
    if not rights.has_right(user, "core.view_auditentry", organization):
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(organization=_org_id(organization)).select_related("content_type")


def timeline_for(obj, *, limit: int = 50) -> QuerySet[AuditEntry]:  # type: ignore[no-untyped-def]
    """The journal of one object, newest first (the timeline partial of every detail page)."""
    return AuditEntry.objects.for_object(obj).order_by("-created_at", "-id")[:limit]


def organizations_for(user: User) -> QuerySet[Organization]:
    from comptoir.core.tenancy import staff_organizations

    return staff_organizations(user)
