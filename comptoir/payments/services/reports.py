"""Finance reports of the payments app: the receivables aging (« Encours clients ») and the credit balances.

Both are one aggregate query each, whatever the number of invoices (the bench holds them at 1,000,000):

- `receivables_aging(on=, group=)`: the open invoices (issued invoices with an amount due: total, less credit
  notes, less payments) grouped per company or per center, their amounts due summed in five buckets of days past
  due on `on` — « Non échu » (not yet due), 1-30, 31-60, 61-90 and more than 90 days — by a conditional Sum over
  `total_incl_vat - amount_credited - amount_paid` with a CASE on the due date. The totals are the sums of the
  rows, so they equal the sum of the open invoices' amounts due to the cent. The amounts due are today's (a
  payment received after `on` counts); invoices issued after `on` are left out.
- `credit_balances()`: the companies whose payments (not reversed) are not all allocated, with that balance
  (`comptoir.payments.services.payments.credit_balance`, for every company at once).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DecimalField, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from comptoir.billing.models import Invoice
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm.models import Company
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.services.payments import COUNTED
from comptoir.payments.services.reminders import open_amount

ZERO = Decimal("0.00")
AMOUNT = DecimalField(max_digits=16, decimal_places=2)
REPORT_RIGHT = "payments.view_payment"
GROUPS = ("company", "center")
# (key, label, first day past due, last day past due); None: unbounded
BUCKETS: list[tuple[str, Any, int | None, int | None]] = [
    ("current", _("Non échu"), None, 0),
    ("days_1_30", _("1 à 30 jours"), 1, 30),
    ("days_31_60", _("31 à 60 jours"), 31, 60),
    ("days_61_90", _("61 à 90 jours"), 61, 90),
    ("days_over_90", _("Plus de 90 jours"), 91, None),
]
BUCKET_KEYS = [key for key, *_rest in BUCKETS]


@dataclass
class AgingRow:
    id: int
    name: str
    reference: str
    buckets: dict[str, Decimal]
    total: Decimal
    count: int
    oldest_due_date: datetime.date | None = None

    @property
    def bucket_values(self) -> list[Decimal]:
        return [self.buckets[key] for key in BUCKET_KEYS]


@dataclass
class AgingReport:
    on: datetime.date
    group: str
    rows: list[AgingRow]
    totals: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = ZERO
    count: int = 0

    @property
    def total_values(self) -> list[Decimal]:
        return [self.totals[key] for key in BUCKET_KEYS]

    @property
    def overdue(self) -> Decimal:
        return self.total - self.totals.get("current", ZERO)

    def chart(self) -> list[dict[str, Any]]:
        """The buckets with their share of the largest one (bar widths, in percent) and of the total."""
        largest = max(self.total_values, default=ZERO)
        return [
            {
                "key": key,
                "label": label,
                "amount": self.totals[key],
                "width": int(self.totals[key] * 100 / largest) if largest > 0 else 0,
                "share": round(self.totals[key] * 100 / self.total) if self.total > 0 else 0,
            }
            for key, label, *_rest in BUCKETS
        ]


def _organization_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def open_invoices(user: User, organization: Organization | int, on: datetime.date | None = None) -> QuerySet[Invoice]:
    """The open invoices the viewer may see (their centers), with `open_amount`; issued on or before `on`."""
    qs = Invoice.objects.filter(
        organization_id=_organization_id(organization), kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED,
        payment_status__in=(Invoice.PaymentStatus.PENDING, Invoice.PaymentStatus.PARTIALLY_PAID),
    )  # fmt: skip
    if on is not None:
        qs = qs.filter(issue_date__lte=on)
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    qs = qs.annotate(open_amount=open_amount()).filter(open_amount__gt=0)
    return qs if rights.has_right(user, REPORT_RIGHT, organization) else qs.none()


def _bucket(first: int | None, last: int | None, on: datetime.date) -> Q:
    """Invoices `first`..`last` days past due on `on` (due_date = on - days)."""
    condition = Q()
    if last is not None:
        condition &= Q(due_date__gte=on - datetime.timedelta(days=last))
    if first is not None:
        condition &= Q(due_date__lte=on - datetime.timedelta(days=first))
    return condition


def receivables_aging(*, user: User, organization: Organization | int, on: datetime.date,
                      group: str = "company") -> AgingReport:  # fmt: skip
    """The receivables aging on `on`, per company or per center: one aggregate query."""
    if group not in GROUPS:
        group = "company"
    keys = (
        {"id": F("company_id"), "name": F("company__name"), "kind": F("company__kind"),
         "number": F("company__number")}
        if group == "company"
        else {"id": F("center_id"), "name": F("center__name"), "kind": F("center__code"), "number": Value(0)}
    )  # fmt: skip
    sums = {
        key: Coalesce(Sum(Case(When(_bucket(first, last, on), then=F("open_amount")), default=Value(ZERO),
                               output_field=AMOUNT)), Value(ZERO), output_field=AMOUNT)
        for key, _label, first, last in BUCKETS
    }  # fmt: skip
    rows_qs = (
        open_invoices(user, organization, on)
        .annotate(**{f"group_{name}": value for name, value in keys.items()})
        .values("group_id", "group_name", "group_kind", "group_number")
        .annotate(
            row_total=Sum("open_amount", output_field=AMOUNT), row_count=Count("pk"), oldest=Max("due_date"), **sums
        )
        .order_by("-row_total", "group_name", "group_id")
    )
    rows = [
        AgingRow(
            id=row["group_id"],
            name=row["group_name"],
            reference=_reference(row["group_kind"], row["group_number"]) if group == "company" else row["group_kind"],
            buckets={key: _cents(row[key]) for key in BUCKET_KEYS},
            total=_cents(row["row_total"]),
            count=row["row_count"],
            oldest_due_date=row["oldest"],
        )
        for row in rows_qs
    ]
    totals = {key: sum((row.buckets[key] for row in rows), ZERO) for key in BUCKET_KEYS}
    return AgingReport(on=on, group=group, rows=rows, totals=totals, total=sum((row.total for row in rows), ZERO),
                       count=sum(row.count for row in rows))  # fmt: skip


def _reference(kind: str, number: int | None) -> str:
    prefix = Company.REFERENCE_PREFIX.get(kind)  # type: ignore[call-overload]
    return f"{prefix}-{number:06d}" if prefix and number is not None else ""


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


# --------------------------------------------------------------------------------------------------
# Credit balances
# --------------------------------------------------------------------------------------------------
@dataclass
class CreditBalanceRow:
    id: int
    name: str
    reference: str
    balance: Decimal
    payments: int


def credit_balances(*, user: User, organization: Organization | int) -> list[CreditBalanceRow]:
    """The companies with a credit balance (what their payments, not reversed, have not allocated), largest
    first: one query grouping the payments with something left."""
    if not rights.has_right(user, REPORT_RIGHT, organization):
        return []
    allocated = (
        Allocation.objects.filter(payment_id=OuterRef("pk"))
        .values("payment_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = (
        Payment.objects.filter(organization_id=_organization_id(organization), status__in=COUNTED)
        .annotate(
            left=F("amount") - Coalesce(Subquery(allocated, output_field=AMOUNT), Value(ZERO), output_field=AMOUNT)
        )
        .filter(left__gt=0)
        .values("company_id", "company__name", "company__kind", "company__number")
        .annotate(balance=Sum("left", output_field=AMOUNT), count=Count("pk"))
        .order_by("-balance", "company__name", "company_id")
    )
    return [
        CreditBalanceRow(
            id=row["company_id"],
            name=row["company__name"],
            reference=_reference(row["company__kind"], row["company__number"]),
            balance=_cents(row["balance"]),
            payments=row["count"],
        )
        for row in rows
    ]
