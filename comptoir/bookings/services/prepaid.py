"""Paid up front (desk: « le pré-paiement aura été effectué par le coworker … jusqu'à confirmation de la disponibilité
de l'espace par vos soins »; a pack « acheté en ligne, pour bénéficier instantanément des crédits »).

What is paid up front gets an invoice issued at once (billing's `issue_online_invoice`, origin « Achat en ligne »,
due on receipt) that the member pays by card through a short-lived payment link (the payments app). Billing publishes
« invoice.paid » when the invoice becomes paid — whatever recorded the payment: the card provider's signed event, a
transfer entered by the staff, a bank statement — and this module acts on it, once:

- a **prepaid booking** (`Booking.Payment.PREPAID`, made in the portal on a space with « paiement à la réservation »)
  is a request that holds its slot for `PAYMENT_MINUTES` while the member pays; paid, it is confirmed at once on a
  space with auto-accept, otherwise it waits for the staff until the space's response delay (the staff is told
  then, not before). Unpaid in time, declined, or unanswered, it is released and its invoice cancelled by a credit
  note (a credit balance for the company when it was paid: refunded by the staff from the payments pages);
- a **plan bought in the portal** (`purchase_plan`, packs) is a pending assignment; paid, it becomes active from that
  day and grants its credits; unpaid after `PURCHASE_HOURS`, it is cancelled with a credit note.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.billing.models import Invoice
from comptoir.billing.services import invoices as billing
from comptoir.bookings.models import Booking, PlanAssignment
from comptoir.catalog.models import Product
from comptoir.core import journal
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.core.housekeeping import register_daily
from comptoir.core.models import Center, Organization, User
from comptoir.crm import capabilities
from comptoir.crm.models import Contact

PAYMENT_MINUTES = 30  # a prepaid booking holds its slot this long while the member pays
PURCHASE_HOURS = 24  # a plan bought and not paid is cancelled after this


# --------------------------------------------------------------------------------------------------
# Invoices
# --------------------------------------------------------------------------------------------------
def booking_invoice(booking: Booking, description: str) -> Invoice:
    """The invoice of a prepaid booking, issued now (called by `create_booking` under the space's lock)."""
    day = booking.starts_at.astimezone(booking.center.tz).date()
    return billing.issue_online_invoice(
        company=booking.company, center=booking.center, contact=booking.contact, day=day,
        notes=_("Réservation payée à la réservation"),
        lines=[{"description": description[:255], "quantity": Decimal(1), "unit": "unit",
                "unit_price": booking.price_excl_vat, "vat_rate": booking.vat_rate,
                "period_start": day, "period_end": day}],
    )  # fmt: skip


def cancel_invoice(invoice: Invoice | None, *, by: User | None, reason: str) -> bool:
    """A credit note for what remains of an online purchase's invoice (nothing when already credited); the staff's
    rights are not needed: it follows a release the caller allowed. Returns whether a credit note was issued."""
    if invoice is None:
        return False
    invoice = Invoice.objects.get(pk=invoice.pk)
    if invoice.status != Invoice.Status.ISSUED or billing.remaining_to_credit(invoice) <= 0:
        return False
    billing.credit_invoice(invoice=invoice, by=by, reason=reason, check_rights=False)
    return True


def is_paid(booking: Booking) -> bool:
    return booking.invoice_id is not None and booking.invoice.payment_status == Invoice.PaymentStatus.PAID


def awaiting_payment(booking: Booking) -> bool:
    """A prepaid request whose invoice is not paid yet: the member still has to pay."""
    return (
        booking.payment == Booking.Payment.PREPAID
        and booking.status == Booking.Status.REQUESTED
        and booking.invoice_id is not None
        and booking.invoice.payment_status != Invoice.PaymentStatus.PAID
    )


def pay_link(*, invoice: Invoice, member: Contact, by: User | None) -> tuple[Any, str]:
    """A payment link (valid a day) for what the member just bought: their own company's online purchase, within
    their role (the same as for buying). Returns (link, raw token) — the portal sends the member to its page."""
    from comptoir.payments.services import links

    if invoice.company_id != member.company_id or invoice.origin != Invoice.Origin.ONLINE:
        raise RightsError(_("Cette facture n'est pas celle de votre entreprise."), code="forbidden")
    if not capabilities.can(member, "make_paid_bookings"):
        raise RightsError(_("Votre rôle dans l'entreprise ne permet pas cette action."), code="forbidden")
    return links.create_link(invoice=invoice, by=by, expires_in_days=links.PORTAL_VALIDITY_DAYS, check_rights=False)


def payable(booking: Booking, now: datetime.datetime | None = None) -> bool:
    """A prepaid request the member may still pay: unpaid and its payment delay not over (past it, the daily job
    or the next write on the space releases it)."""
    return awaiting_payment(booking) and (booking.expires_at is None or booking.expires_at > (now or timezone.now()))


# --------------------------------------------------------------------------------------------------
# Plans bought in the portal
# --------------------------------------------------------------------------------------------------
def plans_for_sale(organization: Organization | int) -> QuerySet[Product]:
    """The plans a member can buy in the portal: the active packs with a price and credits."""
    organization_id = getattr(organization, "pk", organization)
    return Product.objects.filter(
        organization_id=organization_id, kind=Product.Kind.PLAN, plan_type=Product.PlanType.PACK, is_active=True,
        unit_price__gt=0, credits__gt=0,
    ).order_by("unit_price", "name")  # fmt: skip


@transaction.atomic
def purchase_plan(*, member: Contact, plan: Product, by: User | None, center: Center | None = None,
                  for_company: bool = False) -> PlanAssignment:  # fmt: skip
    """« Acheter » a pack in the portal: a pending assignment (for the member, or their whole company) and its
    invoice issued at once; paid, it becomes active and grants its credits (`on_invoice_paid`)."""
    if not capabilities.can(member, "make_paid_bookings"):
        raise RightsError(
            _("Votre rôle « utilisateur » ne permet pas les achats : demandez à un administrateur ou à un manager de "
              "l'entreprise."), code="purchase_forbidden",
        )  # fmt: skip
    if not isinstance(plan, Product) or not plans_for_sale(member.organization_id).filter(pk=plan.pk).exists():
        raise ValidationFailed(_("Cette formule n'est pas proposée à l'achat."), code="not_for_sale", field="plan")
    company = member.company
    center = center or company.center or Center.objects.filter(organization_id=member.organization_id,
                                                                     is_active=True).order_by("pk").first()  # fmt: skip
    if center is None or center.organization_id != member.organization_id:
        raise ValidationFailed(_("Choisissez le centre."), code="required", field="center")
    today = timezone.localdate()
    assignment = PlanAssignment.objects.create(
        organization_id=member.organization_id, company=company, contact=None if for_company else member, plan=plan,
        starts_on=today, ends_on=today + datetime.timedelta(days=(plan.validity_days or 365) - 1),
        status=PlanAssignment.Status.PENDING, created_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    assignment.invoice = billing.issue_online_invoice(
        company=company, center=center, contact=member, day=today, notes=_("Achat en ligne : %(plan)s") % {
            "plan": plan.name},
        lines=[{"product": plan, "description": plan.name, "quantity": Decimal(1), "unit": "unit"}],
    )  # fmt: skip
    assignment.save(update_fields=["invoice"])
    journal.record(actor=by, action="plan.purchased", obj=company, changes={
        "plan": plan.name, "contact": member.pk, "invoice": assignment.invoice.reference,
        "total_incl_vat": assignment.invoice.total_incl_vat,
    })  # fmt: skip
    return assignment


def _activate(assignment: PlanAssignment) -> None:
    from comptoir.bookings.services import credits

    today = timezone.localdate()
    days = (assignment.ends_on - assignment.starts_on).days if assignment.ends_on else None
    assignment.status, assignment.starts_on = PlanAssignment.Status.ACTIVE, today
    if days is not None:
        assignment.ends_on = today + datetime.timedelta(days=days)
    assignment.save(update_fields=["status", "starts_on", "ends_on"])
    granted = credits.grant_due(assignment, today)
    journal.record(actor=None, action="plan.paid", obj=assignment.company, changes={
        "plan": assignment.plan.name, "invoice": assignment.invoice.reference if assignment.invoice_id else None,
        "grants": granted,
    })  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The invoice is paid
# --------------------------------------------------------------------------------------------------
def on_invoice_paid(*, invoice: Invoice, **_payload: Any) -> None:
    """Billing's « invoice.paid »: confirm (or submit to the staff) the prepaid booking of this invoice, activate
    the plan bought with it. Runs in the transaction that recorded the payment; a booking already released (paid
    too late) stays released: the payment is the company's credit balance."""
    if invoice.origin != Invoice.Origin.ONLINE:
        return
    from comptoir.bookings.services import bookings

    for booking in Booking.objects.filter(invoice=invoice, status=Booking.Status.REQUESTED):
        bookings.prepayment_received(booking)
    for assignment in PlanAssignment.objects.select_for_update(of=("self",)).select_related("plan", "company").filter(
        invoice=invoice, status=PlanAssignment.Status.PENDING
    ):  # fmt: skip
        _activate(assignment)


def on_invoice_cancelled(*, invoice: Invoice, by: User | None = None, **_payload: Any) -> None:
    """Billing's « invoice.cancelled » (a credit note for all of it): the prepaid booking still holding its slot is
    cancelled, the plan purchase still pending is cancelled. What this module cancels itself is released first."""
    if invoice.origin != Invoice.Origin.ONLINE:
        return
    from comptoir.bookings.services import bookings

    for booking in Booking.objects.filter(invoice=invoice, status__in=Booking.HOLDING):
        bookings.invoice_cancelled(booking, by)
    PlanAssignment.objects.filter(invoice=invoice, status=PlanAssignment.Status.PENDING).update(
        status=PlanAssignment.Status.CANCELLED
    )


# --------------------------------------------------------------------------------------------------
# Housekeeping
# --------------------------------------------------------------------------------------------------
def expire_purchases(*, now: datetime.datetime | None = None) -> int:
    """Daily job: cancel the plans bought and not paid within `PURCHASE_HOURS` (their invoice credited)."""
    limit = (now or timezone.now()) - datetime.timedelta(hours=PURCHASE_HOURS)
    count = 0
    for pk in PlanAssignment.objects.filter(status=PlanAssignment.Status.PENDING, created_at__lte=limit).values_list(
        "pk", flat=True
    ):  # fmt: skip
        with transaction.atomic():
            assignment = (
                PlanAssignment.objects.select_for_update(of=("self",)).select_related("invoice", "plan").get(pk=pk)
            )
            if assignment.status != PlanAssignment.Status.PENDING or (
                assignment.invoice_id and assignment.invoice.payment_status == Invoice.PaymentStatus.PAID
            ):
                continue
            assignment.status = PlanAssignment.Status.CANCELLED
            assignment.save(update_fields=["status"])
            cancel_invoice(assignment.invoice, by=None, reason=_("Achat non payé : %(plan)s") % {
                "plan": assignment.plan.name})  # fmt: skip
            journal.record(actor=None, action="plan.purchase_expired", obj=assignment.company,
                           changes={"plan": assignment.plan.name})  # fmt: skip
            count += 1
    return count


register_daily("unpaid plan purchases cancelled", expire_purchases)
