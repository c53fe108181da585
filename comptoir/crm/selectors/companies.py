"""CRM reads that depend on who asks: tenant-scoped, center-restricted, without N+1."""

from __future__ import annotations

from django.db.models import Case, CharField, Count, IntegerField, Max, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, LPad

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


def company_rows_for(user: User, organization: Organization | int) -> QuerySet[Company]:
    """The company list's rows: reference text, main contact, members count and last activity as
    annotations (subqueries, so one query whatever the number of rows)."""
    prefix = Case(
        *(When(kind=kind, then=Value(code)) for kind, code in Company.REFERENCE_PREFIX.items()),
        output_field=CharField(),
    )
    members = (
        Contact.objects.filter(company=OuterRef("pk"))
        .order_by()
        .values("company")
        .annotate(total=Count("pk"))
        .values("total")
    )
    main_contact = Contact.objects.filter(company=OuterRef("pk"), is_main=True).annotate(
        display=Concat("first_name", Value(" "), "last_name", output_field=CharField())
    )
    last_activity = Activity.objects.filter(company=OuterRef("pk")).order_by("-scheduled_at").values("scheduled_at")
    return companies_for(user, organization).annotate(
        reference_text=Concat(prefix, Value("-"), LPad(Cast("number", CharField()), 6, Value("0")),
                              output_field=CharField()),
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), 0),
        main_contact_name=Subquery(main_contact.values("display")[:1]),
        main_contact_email=Subquery(main_contact.values("email")[:1]),
        last_activity_at=Subquery(last_activity[:1]),
    )  # fmt: skip


def company_figures(user: User, organization: Organization | int, company: Company) -> dict[str, object]:
    """The key figures of a company's page, each only when the viewer may see its data."""
    figures: dict[str, object] = {
        "member_count": Contact.objects.filter(company=company).count()
        if rights.has_right(user, "crm.view_contact", organization)
        else None
    }
    if rights.has_right(user, "crm.view_opportunity", organization):
        figures.update(
            Opportunity.objects.filter(company=company, stage__in=Opportunity.OPEN_STAGES).aggregate(
                open_opportunity_count=Count("pk"), open_opportunity_amount=Sum("estimated_amount")
            )
        )
    if rights.has_right(user, "crm.view_activity", organization):
        figures["last_activity_at"] = Activity.objects.filter(company=company).aggregate(last=Max("scheduled_at"))[
            "last"
        ]
    return figures
