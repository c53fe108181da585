"""Payments received, their allocation to invoices, credit balances and reversals (frontmanager §7, desk
« Suivi des paiements »).

Keyword-only functions that check rights, validate, run in one transaction (row locks on the invoices, in id
order, and on the payment), write the audit journal, and keep each touched invoice's settlement through
billing's `settle` (DESIGN.md: a higher app calls the lower one's service). Nothing is deleted: a reversal
marks the payment reversed, its allocations stop counting and its invoices reopen.

A company's credit balance is what its payments (not reversed) have not allocated: `credit_balance`; it pays
later invoices through `apply_credit_balance` (allocations from the oldest payments first).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from comptoir.billing.models import Invoice
from comptoir.billing.services.invoices import settle
from comptoir.core import events, journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.core.money import format_money
from comptoir.crm.models import Company
from comptoir.payments.models import Allocation, Method, Payment, Provider

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
PAYMENT_FIELDS = {"company", "method", "amount", "received_on", "reference", "payer", "notes", "legal_entity"}
COUNTED = (Payment.Status.RECEIVED, Payment.Status.IN_COLLECTION)  # what counts as paid


class PaymentError(DomainError):
    default_code = "invalid_payment"


def _day(value: datetime.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def amount_of(value: Any, field: str = "amount") -> Decimal:
    """A positive amount to the cent, from a Decimal, an int or a French or English string ("1 234,56")."""
    if isinstance(value, float):
        raise ValidationFailed(_("Montant invalide."), code="invalid_amount", field=field)
    try:
        amount = Decimal(str(value).replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Indiquez un montant, par exemple 120,50."), code="invalid_amount",
                               field=field) from None  # fmt: skip
    if not amount.is_finite():
        raise ValidationFailed(_("Indiquez un montant, par exemple 120,50."), code="invalid_amount", field=field)
    if amount <= 0:
        raise ValidationFailed(_("Le montant doit être positif."), code="negative_amount", field=field)
    if amount != amount.quantize(CENT):
        raise ValidationFailed(_("Le montant s'arrête au centime."), code="invalid_amount", field=field)
    if amount >= Decimal("1000000000000"):
        raise ValidationFailed(_("Montant trop élevé."), code="invalid_amount", field=field)
    return amount.quantize(CENT)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------
def counted_allocations() -> Q:
    return Q(payment__status__in=COUNTED)


def paid_on_invoice(invoice_id: int) -> Decimal:
    return (
        Allocation.objects.filter(counted_allocations(), invoice_id=invoice_id).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


def unallocated(payment: Payment) -> Decimal:
    """What a payment has not allocated (0 for a reversed one)."""
    if payment.status not in COUNTED:
        return ZERO
    allocated = payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    return payment.amount - allocated


def payments_with_remainder(company: Company | int) -> list[tuple[Payment, Decimal]]:
    """The company's payments (not reversed) with something left to allocate, oldest first."""
    company_id = company if isinstance(company, int) else company.pk
    rows = (
        Payment.objects.filter(company_id=company_id, status__in=COUNTED)
        .annotate(allocated=Coalesce(Sum("allocations__amount"), Value(ZERO), output_field=DecimalField()))
        .filter(amount__gt=F("allocated"))
        .order_by("received_on", "id")
    )
    return [(payment, payment.amount - payment.allocated) for payment in rows]  # type: ignore[attr-defined]


def credit_balance(company: Company | int) -> Decimal:
    """The company's credit balance: what its payments (not reversed) have not allocated."""
    return sum((remainder for _payment, remainder in payments_with_remainder(company)), ZERO)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
def _lock_invoices(invoice_ids: Iterable[int]) -> dict[int, Invoice]:
    return {invoice.pk: invoice for invoice in Invoice.objects.select_for_update().filter(pk__in=sorted(set(invoice_ids))).order_by("pk")}  # fmt: skip


def _resettle(invoices: Iterable[Invoice], paid_on: datetime.date | None) -> None:
    for invoice in invoices:
        settle(invoice=invoice, amount_paid=paid_on_invoice(invoice.pk), paid_on=paid_on)


def _check_allocatable(invoice: Invoice, company_id: int, amount: Decimal, pending: Decimal = ZERO) -> None:
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
        raise ValidationFailed(
            _("La facture %(reference)s n'attend pas de paiement (brouillon, avoir ou annulée).")
            % {"reference": invoice.reference or invoice.pk},
            code="not_payable", field="allocations",
        )  # fmt: skip
    if invoice.company_id != company_id:
        raise ValidationFailed(
            _("La facture %(reference)s est celle d'un autre client.") % {"reference": invoice.reference},
            code="other_company", field="allocations",
        )  # fmt: skip
    remaining = invoice.total_incl_vat - invoice.amount_credited - paid_on_invoice(invoice.pk) - pending
    if amount > remaining:
        raise ValidationFailed(
            _("%(amount)s dépasse le reste à payer de la facture %(reference)s (%(remaining)s).")
            % {"amount": format_money(amount), "reference": invoice.reference,
               "remaining": format_money(max(remaining, ZERO))},
            code="exceeds_remaining", field="allocations",
        )  # fmt: skip


def _allocate(payment: Payment, plan: Sequence[tuple[Invoice, Decimal]], by: User | None) -> list[Allocation]:
    made = [Allocation(payment=payment, invoice=invoice, amount=amount,
                       created_by=by if getattr(by, "is_authenticated", False) else None)
            for invoice, amount in plan]  # fmt: skip
    Allocation.objects.bulk_create(made)
    return made


@dataclass
class PaymentInput:
    company: Company
    method: str
    amount: Decimal
    received_on: datetime.date
    reference: str = ""
    payer: str = ""
    notes: str = ""


def _payment_input(organization: Organization, data: dict[str, Any], today: datetime.date) -> PaymentInput:
    unknown = sorted(set(data) - PAYMENT_FIELDS)
    if unknown:
        raise ValidationFailed(_("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(unknown)},
                               code="unknown_field", fields={name: [_("Champ non modifiable.")] for name in unknown})  # fmt: skip
    company = data.get("company")
    if isinstance(company, int):
        company = Company.objects.filter(organization=organization, pk=company).first()
    if not isinstance(company, Company) or company.organization_id != organization.pk:
        raise ValidationFailed(_("Choisissez le client."), code="required", field="company")
    method = str(data.get("method") or "")
    if method not in Method.values:
        raise ValidationFailed(_("Choisissez le moyen de paiement."), code="invalid_method", field="method")
    amount = amount_of(data.get("amount"))
    received_on = data.get("received_on")
    if isinstance(received_on, str):
        try:
            received_on = datetime.date.fromisoformat(received_on)
        except ValueError:
            received_on = None
    if not isinstance(received_on, datetime.date):
        raise ValidationFailed(_("Indiquez la date de réception."), code="required", field="received_on")
    if received_on > today:
        raise ValidationFailed(_("Un paiement ne peut pas être daté dans le futur."), code="future_date",
                               field="received_on")  # fmt: skip
    return PaymentInput(company=company, method=method, amount=amount, received_on=received_on,
                        reference=str(data.get("reference") or "").strip()[:140],
                        payer=str(data.get("payer") or "").strip()[:200],
                        notes=str(data.get("notes") or "").strip()[:255])  # fmt: skip


@transaction.atomic
def record_payment(
    *,
    organization: Organization,
    by: User | None,
    data: dict[str, Any],
    allocations: Sequence[tuple[Invoice | int, Any]] = (),
    provider: str = Provider.MANUAL,
    provider_reference: str = "",
    status: str = Payment.Status.RECEIVED,
    check_rights: bool = True,
    today: datetime.date | None = None,
) -> Payment:
    """Record a payment received from a company and allocate it to invoices [(invoice, amount)]; the rest is the
    company's credit balance. Refused, with nothing written: a future date, an amount not positive, allocations
    larger than the payment or than an invoice's remaining amount, an invoice of another company."""
    if check_rights:
        rights.require(by, "payments.add_payment", organization)
    today = today or timezone.localdate()
    values = _payment_input(organization, data, today)
    invoices = _lock_invoices(
        invoice.pk if isinstance(invoice, Invoice) else int(invoice) for invoice, _a in allocations
    )
    plan: list[tuple[Invoice, Decimal]] = []
    pending: dict[int, Decimal] = {}
    for target, raw in allocations:
        invoice = invoices.get(target.pk if isinstance(target, Invoice) else int(target))
        if invoice is None or invoice.organization_id != organization.pk:
            raise ValidationFailed(_("Facture inconnue."), code="unknown_invoice", field="allocations")
        amount = amount_of(raw, "allocations")
        _check_allocatable(invoice, values.company.pk, amount, pending.get(invoice.pk, ZERO))
        pending[invoice.pk] = pending.get(invoice.pk, ZERO) + amount
        plan.append((invoice, amount))
    allocated = sum((amount for _invoice, amount in plan), ZERO)
    if allocated > values.amount:
        raise ValidationFailed(
            _("Les affectations (%(allocated)s) dépassent le montant du paiement (%(amount)s).")
            % {"allocated": format_money(allocated), "amount": format_money(values.amount)},
            code="exceeds_payment", field="amount",
        )  # fmt: skip
    payment = Payment.objects.create(
        organization=organization, company=values.company, method=values.method, amount=values.amount,
        received_on=values.received_on, reference=values.reference, payer=values.payer, notes=values.notes,
        provider=provider, provider_reference=provider_reference, status=status,
        legal_entity_id=next(iter(invoices.values())).legal_entity_id if invoices else None,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    _allocate(payment, plan, by)
    _resettle([invoice for invoice, _amount in plan], values.received_on)
    journal.record(actor=by, action="payment.recorded", obj=payment, changes={
        "company": values.company.pk, "method": values.method, "amount": values.amount,
        "received_on": values.received_on.isoformat(), "reference": values.reference,
        "allocations": [[invoice.reference, str(amount)] for invoice, amount in plan],
    })  # fmt: skip
    for invoice, amount in plan:
        journal.record(actor=by, action="invoice.payment_allocated", obj=invoice,
                       changes={"payment": payment.pk, "amount": amount, "method": values.method})  # fmt: skip
    events.publish("payment.recorded", payment=payment, by=by)
    return payment


@transaction.atomic
def allocate_payment(
    *, payment: Payment, by: User | None, allocations: Sequence[tuple[Invoice | int, Any]], check_rights: bool = True
) -> list[Allocation]:
    """Allocate what remains of a payment (the company's credit balance) to invoices."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if check_rights:
        rights.require(by, "payments.change_payment", payment.organization_id)
    if payment.status not in COUNTED:
        raise PaymentError(_("Ce paiement est rejeté : il ne peut plus être affecté."), code="reversed")
    if not allocations:
        raise ValidationFailed(_("Choisissez au moins une facture."), code="required", field="allocations")
    invoices = _lock_invoices(
        invoice.pk if isinstance(invoice, Invoice) else int(invoice) for invoice, _a in allocations
    )
    plan: list[tuple[Invoice, Decimal]] = []
    pending: dict[int, Decimal] = {}
    for target, raw in allocations:
        invoice = invoices.get(target.pk if isinstance(target, Invoice) else int(target))
        if invoice is None or invoice.organization_id != payment.organization_id:
            raise ValidationFailed(_("Facture inconnue."), code="unknown_invoice", field="allocations")
        amount = amount_of(raw, "allocations")
        _check_allocatable(invoice, payment.company_id, amount, pending.get(invoice.pk, ZERO))
        pending[invoice.pk] = pending.get(invoice.pk, ZERO) + amount
        plan.append((invoice, amount))
    available = unallocated(payment)
    total = sum((amount for _invoice, amount in plan), ZERO)
    if total > available:
        raise ValidationFailed(
            _("Il ne reste que %(available)s à affecter sur ce paiement.") % {"available": format_money(available)},
            code="exceeds_payment", field="allocations",
        )  # fmt: skip
    made = _allocate(payment, plan, by)
    _resettle([invoice for invoice, _amount in plan], timezone.localdate())
    for invoice, amount in plan:
        journal.record(actor=by, action="invoice.payment_allocated", obj=invoice,
                       changes={"payment": payment.pk, "amount": amount, "method": payment.method})  # fmt: skip
    journal.record(actor=by, action="payment.allocated", obj=payment,
                   changes={"allocations": [[invoice.reference, str(amount)] for invoice, amount in plan]})  # fmt: skip
    return made


@transaction.atomic
def apply_credit_balance(*, invoice: Invoice, by: User | None, check_rights: bool = True) -> list[Allocation]:
    """Pay an invoice from its company's credit balance, oldest payments first, up to what remains to pay."""
    if check_rights:
        rights.require(by, "payments.change_payment", invoice.organization_id)
    locked = _lock_invoices([invoice.pk])[invoice.pk]
    remaining = locked.total_incl_vat - locked.amount_credited - paid_on_invoice(locked.pk)
    if locked.kind != Invoice.Kind.INVOICE or locked.status != Invoice.Status.ISSUED or remaining <= 0:
        raise PaymentError(_("Cette facture n'a rien à payer."), code="nothing_due")
    made: list[Allocation] = []
    for payment, available in payments_with_remainder(locked.company_id):
        if remaining <= 0:
            break
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        amount = min(available, remaining)
        made += _allocate(payment, [(locked, amount)], by)
        remaining -= amount
    if not made:
        raise PaymentError(_("Ce client n'a pas d'avoir disponible."), code="no_credit_balance")
    _resettle([locked], timezone.localdate())
    journal.record(actor=by, action="invoice.credit_balance_applied", obj=locked,
                   changes={"amount": sum((a.amount for a in made), ZERO),
                            "payments": [a.payment_id for a in made]})  # fmt: skip
    return made


@transaction.atomic
def reverse_payment(
    *, payment: Payment, by: User | None, reason: str, on: datetime.date | None = None, check_rights: bool = True
) -> Payment:
    """A bounced cheque, a returned debit, a refused card: the payment is marked reversed (kept), its
    allocations stop counting, its invoices reopen (their reminders start again)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if check_rights:
        rights.require(by, "payments.change_payment", payment.organization_id)
    if payment.status == Payment.Status.REVERSED:
        raise PaymentError(_("Ce paiement est déjà rejeté."), code="already_reversed")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Indiquez le motif du rejet."), code="required", field="reason")
    on = on or timezone.localdate()
    invoices = _lock_invoices(payment.allocations.values_list("invoice_id", flat=True))
    payment.status = Payment.Status.REVERSED
    payment.reversed_on = on
    payment.reversal_reason = reason[:255]
    payment.reversed_by = by if getattr(by, "is_authenticated", False) else None
    payment.save(update_fields=["status", "reversed_on", "reversal_reason", "reversed_by"])
    _resettle(invoices.values(), None)
    journal.record(actor=by, action="payment.reversed", obj=payment,
                   changes={"reason": payment.reversal_reason, "on": on.isoformat(), "amount": payment.amount})  # fmt: skip
    for invoice in invoices.values():
        journal.record(actor=by, action="invoice.payment_reversed", obj=invoice,
                       changes={"payment": payment.pk, "reason": payment.reversal_reason})  # fmt: skip
    events.publish("payment.reversed", payment=payment, invoices=list(invoices.values()), by=by)
    return payment


@transaction.atomic
def confirm_collection(*, payment: Payment, by: User | None = None) -> Payment:
    """A payment in collection (a direct debit sent to the bank) is confirmed received."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.IN_COLLECTION:
        payment.status = Payment.Status.RECEIVED
        payment.save(update_fields=["status"])
        journal.record(actor=by, action="payment.collected", obj=payment, changes={"status": ["in_collection",
                                                                                              "received"]})  # fmt: skip
    return payment


def remaining_to_pay(invoice: Invoice) -> Decimal:
    """What an issued invoice still awaits (its total, less its credit notes and its counted payments)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
        return ZERO
    return max(invoice.total_incl_vat - invoice.amount_credited - paid_on_invoice(invoice.pk), ZERO)
