"""Reads of billing that depend on who asks: tenant-scoped, limited to the viewer's centers, no N+1.

Shared by the back office, the portal and the API (one place for tenancy and visibility).
"""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.billing.models import BillingRun, Consumption, ExportJob, Invoice, InvoiceLine
from comptoir.catalog.models import Product
from comptoir.core import rights
from comptoir.core.models import Center, Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm import capabilities
from comptoir.crm.models import Contact


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def _restrict(qs: QuerySet, user: User, organization: Organization | int) -> QuerySet:
    restricted = allowed_center_ids(user, organization)
    return qs.filter(center_id__in=restricted) if restricted is not None else qs


def invoices_for(user: User, organization: Organization | int) -> QuerySet[Invoice]:
    """Staff with the right see the organization's invoices and credit notes of their centers."""
    if not rights.has_right(user, "billing.view_invoice", organization):
        return Invoice.objects.none()
    qs = Invoice.objects.filter(organization_id=_org_id(organization)).select_related(
        "company", "center", "legal_entity", "contract", "credited_invoice"
    )
    return _restrict(qs, user, organization)


def consumptions_for(user: User, organization: Organization | int) -> QuerySet[Consumption]:
    if not rights.has_right(user, "billing.view_consumption", organization):
        return Consumption.objects.none()
    qs = Consumption.objects.filter(organization_id=_org_id(organization)).select_related(
        "company", "contact", "center", "contract", "product", "invoice"
    )
    return _restrict(qs, user, organization)


def runs_for(user: User, organization: Organization | int) -> QuerySet[BillingRun]:
    if not rights.has_right(user, "billing.view_billingrun", organization):
        return BillingRun.objects.none()
    return BillingRun.objects.filter(organization_id=_org_id(organization)).select_related("started_by")


def exports_for(user: User, organization: Organization | int) -> QuerySet[ExportJob]:
    if not rights.has_right(user, "billing.view_invoice", organization):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(organization_id=_org_id(organization)).select_related("created_by")


CLIENT_VISIBLE = (Invoice.Status.ISSUED, Invoice.Status.CANCELLED)


def invoices_for_member(contact: Contact | None) -> QuerySet[Invoice]:
    """The portal's « Mes factures et avoirs »: the member's company's issued documents, for the company roles
    that may see its documents (comptoir.crm.capabilities "view_documents"); nothing for the others."""
    if contact is None or not capabilities.can(contact, "view_documents"):
        return Invoice.objects.none()
    return (
        Invoice.objects.filter(company_id=contact.company_id, status__in=CLIENT_VISIBLE)
        .select_related("company", "center", "credited_invoice")
        .order_by("-issue_date", "-number", "-id")
    )


# --------------------------------------------------------------------------------------------------
# Back office pages (comptoir.billing.views)
# --------------------------------------------------------------------------------------------------
def billable_products(organization: Organization | int, *, kinds: list[str] | None = None) -> QuerySet[Product]:
    """The active articles a line or a consumption may name (the whole catalog is shared by the centers)."""
    qs = Product.objects.filter(organization_id=_org_id(organization), is_active=True)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("kind", "name", "id")


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.select_related("product").order_by("position", "id"))


def consumptions_by_center(consumptions: QuerySet[Consumption]) -> list[tuple[Center, list[Consumption]]]:
    """The consumptions grouped by center (centers by name, consumptions newest first): one query."""
    groups: dict[int, tuple[Center, list[Consumption]]] = {}
    for consumption in consumptions.order_by("center__name", "center_id", "-date", "-id"):
        groups.setdefault(consumption.center_id, (consumption.center, []))[1].append(consumption)
    return list(groups.values())
