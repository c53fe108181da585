"""Provider events (Stripe webhooks, and the offline provider's locally signed events): verified, stored once under
their (provider, event id) key, then applied — DESIGN.md invariant 7, a webhook is applied once per event id.

    outcome = receive(provider="stripe", payload=request.body, signature=request.headers["Stripe-Signature"])

- `checkout.session.completed` / `checkout.session.async_payment_succeeded` with `payment_status` "paid": the card
  payment is recorded (method card) and allocated to the link's invoice up to what remains (if the invoice was
  paid meanwhile another way, the surplus is the company's credit balance), the link is marked paid, the staff is
  told by e-mail (PaymentProfile.staff_email, else the organization's administrators). Money is never refused:
  a card that was charged is recorded even if the link was cancelled or expired in between.
- `account.updated`: the organization's Stripe Connect status.
- anything else is stored and ignored.

Concurrency: the event row is inserted first, in a savepoint, under a unique constraint: the same event delivered
ten times at once waits on the first insert and then finds it (PostgreSQL), so one payment is recorded; the link
row is locked too, and a payment's provider reference is unique.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from comptoir.billing.models import Invoice
from comptoir.core import journal
from comptoir.core.models import Organization, StaffMembership
from comptoir.core.money import format_money
from comptoir.payments.models import Method, Payment, PaymentLink, ProviderEvent
from comptoir.payments.providers import get_provider
from comptoir.payments.services.payments import record_payment, remaining_to_pay
from comptoir.payments.services.profile import apply_account_updated, payment_profile

logger = logging.getLogger(__name__)

CHECKOUT_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | ignored
    message: str


def receive(*, provider: str, payload: bytes | str, signature: str) -> Outcome:
    """Verify a delivered event (SignatureError: nothing is read, nothing changes) and apply it once."""
    event = get_provider(provider).verify_event(payload=payload, signature=signature)
    return process_event(provider=provider, event=event)


def _metadata(event: dict[str, Any]) -> dict[str, Any]:
    obj = ((event.get("data") or {}).get("object") or {}) if isinstance(event.get("data"), dict) else {}
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 18 else None


def _organization_id(event: dict[str, Any]) -> int | None:
    organization_id = _int(_metadata(event).get("organization_id"))
    if organization_id is not None and Organization.objects.filter(pk=organization_id).exists():
        return organization_id
    return None


def process_event(*, provider: str, event: dict[str, Any]) -> Outcome:
    event_id = str(event.get("id") or "")[:255]
    event_type = str(event.get("type") or "")[:100]
    if not event_id or not event_type:
        return Outcome("ignored", "no event id or type")
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = ProviderEvent.objects.create(provider=provider, event_id=event_id, type=event_type,
                                                      organization_id=_organization_id(event), payload=event)  # fmt: skip
        except IntegrityError:
            return Outcome("duplicate", "already processed")
        obj = (event.get("data") or {}).get("object") or {}
        if not isinstance(obj, dict):
            obj = {}
        if event_type in CHECKOUT_PAID:
            outcome = _checkout_paid(provider, obj)
        elif event_type == "account.updated":
            outcome = Outcome("processed", apply_account_updated(obj))
        else:
            outcome = Outcome("ignored", f"{event_type} not handled")
        stored.outcome = outcome.message[:255]
        stored.save(update_fields=["outcome"])
    return outcome


def _amount(session: dict[str, Any]) -> Decimal | None:
    try:
        amount = (Decimal(int(session.get("amount_total"))) / 100).quantize(CENT)
    except (TypeError, ValueError, InvalidOperation):
        return None
    return amount if amount > 0 else None


def _checkout_paid(provider: str, session: dict[str, Any]) -> Outcome:
    if session.get("payment_status") != "paid":
        return Outcome("ignored", "session not paid yet")
    if str(session.get("currency") or "eur").lower() != "eur":
        logger.error("Checkout session %s is not in euros: not recorded", session.get("id"))
        return Outcome("ignored", "not in euros")
    metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
    link_id, organization_id = _int(metadata.get("payment_link_id")), _int(metadata.get("organization_id"))
    link = (
        PaymentLink.objects.select_for_update().filter(pk=link_id, organization_id=organization_id).first()
        if link_id is not None and organization_id is not None
        else None
    )
    amount = _amount(session)
    if link is None or amount is None:
        logger.error("Checkout session %s names no payment link of ours: not recorded", session.get("id"))
        return Outcome("ignored", "unknown payment link")
    reference = str(session.get("payment_intent") or session.get("id") or "")[:255]
    if Payment.objects.filter(organization_id=link.organization_id, provider=provider,
                              provider_reference=reference).exists():  # fmt: skip
        return Outcome("duplicate", "payment already recorded")
    invoice = Invoice.objects.select_for_update().select_related("company").get(pk=link.invoice_id)
    allocated = min(amount, remaining_to_pay(invoice))
    details = session.get("customer_details") if isinstance(session.get("customer_details"), dict) else {}
    payer = str(details.get("name") or details.get("email") or "")
    notes = _("Lien de paiement n°%(id)s") % {"id": link.pk}
    if provider != "stripe":
        notes = _("Paiement hors ligne (démonstration), lien n°%(id)s") % {"id": link.pk}
    payment = record_payment(
        organization=link.organization, by=None,
        data={"company": invoice.company, "method": Method.CARD, "amount": amount, "received_on": timezone.localdate(),
              "reference": reference[:140], "payer": payer, "notes": notes},
        allocations=[(invoice, allocated)] if allocated > 0 else [],
        provider=provider, provider_reference=reference, check_rights=False,
    )  # fmt: skip
    before = link.status
    if link.status != PaymentLink.Status.PAID:
        link.status = PaymentLink.Status.PAID
        link.paid_at = timezone.now()
        link.payment = payment
        link.save(update_fields=["status", "paid_at", "payment"])
    journal.record(actor=None, action="paymentlink.paid", obj=link,
                   changes={"status": [before, link.status], "payment": payment.pk, "amount": amount,
                            "allocated": allocated})  # fmt: skip
    transaction.on_commit(partial(notify_staff, payment_id=payment.pk, link_id=link.pk))
    surplus = amount - allocated
    return Outcome(
        "processed", f"payment {payment.pk} recorded" + (f", {surplus} to the credit balance" if surplus else "")
    )


def staff_recipients(organization_id: int) -> list[str]:
    profile = payment_profile(organization_id)
    if profile.staff_email:
        return [profile.staff_email]
    emails = (
        StaffMembership.objects.filter(
            organization_id=organization_id, is_active=True, user__is_active=True, role__kind="administrator"
        )
        .exclude(user__email="")
        .order_by("id")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def notify_staff(*, payment_id: int, link_id: int) -> None:
    """E-mail the staff that a link was paid (after commit; a failure is logged, the payment stays)."""
    from django.conf import settings

    payment = Payment.objects.select_related("company").get(pk=payment_id)
    link = PaymentLink.objects.select_related("invoice").get(pk=link_id)
    recipients = staff_recipients(payment.organization_id)
    if not recipients:
        return
    with translation.override("fr"):
        invoice = link.invoice
        context = {
            "payment": payment, "invoice": invoice, "company": payment.company, "amount": format_money(payment.amount),
            "remaining": format_money(invoice.amount_due), "is_paid": invoice.payment_status == Invoice.PaymentStatus.PAID,
            "received_on": formats.date_format(payment.received_on, "SHORT_DATE_FORMAT"),
            "offline": payment.provider != "stripe",
            "invoice_url": settings.SITE_URL.rstrip("/") + reverse("billing:invoice_detail", args=[invoice.pk]),
        }  # fmt: skip
        subject = _("Paiement par carte reçu : %(amount)s, facture %(reference)s") % {
            "amount": context["amount"], "reference": invoice.reference}  # fmt: skip
        body = render_to_string("payments/emails/link_paid.txt", context)
    try:
        EmailMessage(subject, body, to=recipients).send()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("Payment %s: the staff e-mail failed: %s", payment_id, exc)
