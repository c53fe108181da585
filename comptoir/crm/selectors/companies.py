"""CRM reads that depend on who asks: tenant-scoped, center-restricted, without N+1."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.crm.models import Action, Activity, Company, Contact, JobFunction, MarketingSource, Note, Opportunity


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def has_portal_access(user: User, organization: Organization) -> bool:
    """A user enters an organization's portal through an active contact with portal access."""
    return Contact.objects.filter(
        user=user,
        organization=organization,
        is_active=True,
        has_portal_access=True,
        company__is_archived=False,
    ).exists()


def portal_contacts(user: User, organization: Organization | int) -> QuerySet[Contact]:
    """The contacts through which a portal user acts (one per company they belong to)."""
    return Contact.objects.filter(
        user=user, organization=_org_id(organization), is_active=True, has_portal_access=True
    ).select_related("company")


def companies_for(user: User, organization: Organization | int) -> QuerySet[Company]:
    """Staff see the organization's companies (of their centers, plus those without a center)."""
    if not rights.has_right(user, "crm.view_company", organization):
        return Company.objects.none()
    qs = Company.objects.filter(organization=_org_id(organization)).select_related(
        "center", "account_manager", "marketing_source"
    )
    from comptoir.core.selectors import allowed_center_ids

    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted) | qs.filter(center__isnull=True)
    return qs


def contacts_for(user: User, organization: Organization | int) -> QuerySet[Contact]:
    if not rights.has_right(user, "crm.view_contact", organization):
        return Contact.objects.none()
    return Contact.objects.filter(
        organization=_org_id(organization), company__in=companies_for(user, organization)
    ).select_related("company", "job_function", "user")


def opportunities_for(user: User, organization: Organization | int) -> QuerySet[Opportunity]:
    if not rights.has_right(user, "crm.view_opportunity", organization):
        return Opportunity.objects.none()
    return Opportunity.objects.filter(
        organization=_org_id(organization), company__in=companies_for(user, organization)
    ).select_related("company", "owner", "marketing_source", "center")


def activities_for(user: User, organization: Organization | int) -> QuerySet[Activity]:
    if not rights.has_right(user, "crm.view_activity", organization):
        return Activity.objects.none()
    return Activity.objects.filter(
        organization=_org_id(organization), company__in=companies_for(user, organization)
    ).select_related("company", "opportunity", "staff")


def notes_for(user: User, organization: Organization | int) -> QuerySet[Note]:
    """Internal notes: staff with the right only (never portal users)."""
    if not rights.has_right(user, "crm.view_note", organization):
        return Note.objects.none()
    return Note.objects.filter(
        organization=_org_id(organization), company__in=companies_for(user, organization)
    ).select_related("company", "author")


def actions_for(user: User, organization: Organization | int) -> QuerySet[Action]:
    if not rights.has_right(user, "crm.view_action", organization):
        return Action.objects.none()
    return Action.objects.filter(organization=_org_id(organization)).select_related("company", "assignee", "created_by")


def marketing_sources_for(user: User, organization: Organization | int) -> QuerySet[MarketingSource]:
    if not rights.has_right(user, "crm.view_marketingsource", organization):
        return MarketingSource.objects.none()
    return MarketingSource.objects.filter(organization=_org_id(organization))


def job_functions_for(user: User, organization: Organization | int) -> QuerySet[JobFunction]:
    if not rights.is_staff_of(user, organization):
        return JobFunction.objects.none()
    return JobFunction.objects.filter(organization=_org_id(organization))
