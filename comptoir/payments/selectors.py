"""Reads of payments that depend on who asks: tenant-scoped, limited to the viewer's centers, no N+1.

Shared by the back office, the portal and the API. A payment has no center of its own: a staff member limited to
some centers sees the payments of the companies of those centers (and of the companies without a center), as the
CRM shows them (`comptoir.crm.selectors.companies_for`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from comptoir.billing.models import Invoice
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm import capabilities
from comptoir.crm.models import Company, Contact
from comptoir.payments.models import Allocation, Payment

ZERO = Decimal("0.00")
COUNTED = (Payment.Status.RECEIVED, Payment.Status.IN_COLLECTION)
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def _allocated_subquery() -> Coalesce:
    """The sum of a payment's allocations (all of them: a reversed payment keeps its history)."""
    total = (
        Allocation.objects.filter(payment_id=OuterRef("pk"))
        .order_by()
        .values("payment_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD)


def with_allocated(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """Annotate `allocated` (the sum of the payment's allocations) without a join: filters stay exact."""
    return queryset.annotate(allocated=_allocated_subquery())


def allocations_prefetch() -> Prefetch:
    return Prefetch(
        "allocations",
        queryset=Allocation.objects.select_related("invoice").order_by("created_at", "id"),
    )


def payments_for(user: User, organization: Organization | int) -> QuerySet[Payment]:
    """Staff with `payments.view_payment` see the organization's payments (of their centers' companies), with
    `allocated` annotated and their allocations (and invoices) prefetched: a list makes a fixed number of queries."""
    if not rights.has_right(user, "payments.view_payment", organization):
        return Payment.objects.none()
    qs = Payment.objects.filter(organization_id=_org_id(organization)).select_related(
        "company", "legal_entity", "created_by", "reversed_by"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(Q(company__center_id__in=restricted) | Q(company__center__isnull=True))
    return with_allocated(qs).prefetch_related(allocations_prefetch())


def remainder_of(payment: Payment) -> Decimal:
    """What a payment (annotated by `with_allocated`) leaves to allocate: its company's credit from it."""
    if payment.status not in COUNTED:
        return ZERO
    allocated = getattr(payment, "allocated", None)
    if allocated is None:
        allocated = sum((allocation.amount for allocation in payment.allocations.all()), ZERO)
    return max(payment.amount - allocated, ZERO)


def invoice_allocations(invoice: Invoice) -> list[Allocation]:
    """Every allocation to the invoice (reversed payments' too, which no longer count), oldest payment first."""
    return list(
        Allocation.objects.filter(invoice_id=invoice.pk)
        .select_related("payment", "payment__created_by", "created_by")
        .order_by("payment__received_on", "created_at", "id")
    )


def credit_balances(companies: Iterable[Company | int]) -> dict[int, Decimal]:
    """{company id: credit balance} for many companies in one query: what their counted payments have not
    allocated (a company without payments is absent from the answer: its balance is 0)."""
    ids = sorted({company if isinstance(company, int) else company.pk for company in companies})
    if not ids:
        return {}
    received = (
        Payment.objects.filter(company_id=OuterRef("pk"), status__in=COUNTED)
        .order_by()
        .values("company_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    allocated = (
        Allocation.objects.filter(payment__company_id=OuterRef("pk"), payment__status__in=COUNTED)
        .order_by()
        .values("payment__company_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = (
        Company.objects.filter(pk__in=ids)
        .annotate(
            received=Coalesce(Subquery(received, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD),
            allocated=Coalesce(Subquery(allocated, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD),
        )
        .filter(received__gt=F("allocated"))
        .values_list("pk", "received", "allocated")
    )
    return {pk: received - allocated for pk, received, allocated in rows}


def company_credit_balance(company: Company | int) -> Decimal:
    company_id = company if isinstance(company, int) else company.pk
    return credit_balances([company_id]).get(company_id, ZERO)


def open_invoices(company: Company | int) -> QuerySet[Invoice]:
    """The company's issued invoices that still await money (not fully paid nor cancelled), oldest due first."""
    company_id = company if isinstance(company, int) else company.pk
    return (
        Invoice.objects.filter(company_id=company_id, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED)
        .exclude(payment_status=Invoice.PaymentStatus.PAID)
        .filter(total_incl_vat__gt=F("amount_credited") + F("amount_paid"))
        .select_related("company", "center")
        .order_by(F("due_date").asc(nulls_last=True), "issue_date", "number", "id")
    )


# --------------------------------------------------------------------------------------------------
# The portal
# --------------------------------------------------------------------------------------------------
def payments_for_member(contact: Contact | None) -> QuerySet[Payment]:
    """The portal's « Mes paiements »: the payments of the member's company, for the company roles that may see
    its documents (comptoir.crm.capabilities "view_documents"); nothing for the others."""
    if contact is None:
        return Payment.objects.none()
    return payments_for_members([contact])


def payments_for_members(contacts: Iterable[Contact]) -> QuerySet[Payment]:
    """The payments of every company where one of `contacts` (a user's memberships) sees the documents, with the
    issued invoices they paid prefetched."""
    allowed = [contact for contact in contacts if capabilities.can(contact, "view_documents")]
    if not allowed:
        return Payment.objects.none()
    organizations = {contact.organization_id for contact in allowed}
    visible = Prefetch(
        "allocations",
        queryset=Allocation.objects.filter(invoice__status__in=(Invoice.Status.ISSUED, Invoice.Status.CANCELLED))
        .select_related("invoice")
        .order_by("created_at", "id"),
    )
    return (
        Payment.objects.filter(
            company_id__in={contact.company_id for contact in allowed}, organization_id__in=organizations
        )
        .select_related("company")
        .prefetch_related(visible)
        .order_by("-received_on", "-id")
    )
