"""Payment links (desk « Suivi des paiements »: a link to pay all or part of what remains of an invoice; frontmanager
« Espace client » §2: « Payer par carte »).

A link carries a random token (`secrets.token_urlsafe(32)`) shown once — in the page that created it and in the
e-mail sent to the company's billing contacts; only its SHA-256 is stored. The payer's page (/portal/pay/<token>/,
no login) starts a checkout with the organization's provider; the provider's signed event then records the card
payment (comptoir.payments.services.webhooks).

Rights: `payments.add_paymentlink` to create and send, `payments.change_paymentlink` to cancel; a member of the
company pays from the portal with the "pay_invoices" capability.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from comptoir.billing.models import Invoice
from comptoir.billing.services.delivery import invoice_recipients
from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import User
from comptoir.core.money import format_money
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.payments.models import PaymentLink
from comptoir.payments.providers import Checkout, provider_for
from comptoir.payments.services.payments import amount_of, remaining_to_pay
from comptoir.payments.services.profile import payment_profile

logger = logging.getLogger(__name__)

DEFAULT_VALIDITY_DAYS = 14
MAX_VALIDITY_DAYS = 90
PORTAL_VALIDITY_DAYS = 1


class LinkError(DomainError):
    default_code = "invalid_link"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:pay", args=[token])


def _refuse_unpayable(invoice: Invoice, remaining: Decimal) -> None:
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
        raise ValidationFailed(_("Seule une facture émise (ni brouillon, ni avoir, ni annulée) peut se payer par lien."),
                               code="not_payable", field="amount")  # fmt: skip
    if remaining <= 0:
        raise ValidationFailed(_("Cette facture est déjà payée."), code="already_paid", field="amount")


def _validity(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if isinstance(value, bool) or not 1 <= days <= MAX_VALIDITY_DAYS:
        raise ValidationFailed(_("La validité va de 1 à %(max)s jours.") % {"max": MAX_VALIDITY_DAYS},
                               code="invalid_validity", field="expires_in_days")  # fmt: skip
    return days


@transaction.atomic
def create_link(
    *,
    invoice: Invoice,
    by: User | None,
    amount: Any = None,
    expires_in_days: Any = DEFAULT_VALIDITY_DAYS,
    check_rights: bool = True,
) -> tuple[PaymentLink, str]:
    """A link to pay `amount` (default: all that remains) of an issued invoice, valid `expires_in_days` days.
    Returns (link, raw token): the token is never stored, show or send it now. Refused, with nothing written: an
    invoice that awaits no payment (draft, credit note, cancelled, paid), an amount not positive or above what
    remains."""
    if check_rights:
        rights.require(by, "payments.add_paymentlink", invoice.organization_id)
    invoice = Invoice.objects.select_for_update().select_related("company", "organization").get(pk=invoice.pk)
    remaining = remaining_to_pay(invoice)
    _refuse_unpayable(invoice, remaining)
    value = remaining if amount in (None, "") else amount_of(amount)
    if value > remaining:
        raise ValidationFailed(
            _("Le montant dépasse le reste à payer (%(remaining)s).") % {"remaining": format_money(remaining)},
            code="exceeds_remaining", field="amount",
        )  # fmt: skip
    days = _validity(expires_in_days)
    token = secrets.token_urlsafe(32)
    link = PaymentLink.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, amount=value, token_hash=hash_token(token),
        expires_at=timezone.now() + datetime.timedelta(days=days), provider=payment_profile(invoice.organization_id).provider,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    journal.record(actor=by, action="paymentlink.created", obj=link,
                   changes={"invoice": invoice.pk, "amount": value, "expires_at": link.expires_at.isoformat()})  # fmt: skip
    journal.record(actor=by, action="invoice.payment_link_created", obj=invoice,
                   changes={"payment_link": link.pk, "amount": value})  # fmt: skip
    return link, token


@transaction.atomic
def cancel_link(*, link: PaymentLink, by: User | None) -> PaymentLink:
    """« Annuler »: an active link stops working at once (a paid link stays paid)."""
    rights.require(by, "payments.change_paymentlink", link.organization_id)
    link = PaymentLink.objects.select_for_update().get(pk=link.pk)
    if link.status != PaymentLink.Status.ACTIVE:
        raise LinkError(_("Ce lien n'est plus actif."), code="not_active")
    link.status = PaymentLink.Status.CANCELLED
    link.save(update_fields=["status"])
    journal.record(actor=by, action="paymentlink.cancelled", obj=link, changes={"status": ["active", "cancelled"]})
    return link


def invoice_cancelled(*, invoice: Invoice, by: User | None = None, **_payload: Any) -> int:
    """Billing's « invoice.cancelled » (a credit note for all of it): its active links stop at once, so the payer's
    page says the link is cancelled rather than offering to pay nothing. Returns how many."""
    stopped = 0
    for link in PaymentLink.objects.select_for_update().filter(invoice_id=invoice.pk, status=PaymentLink.Status.ACTIVE):
        link.status = PaymentLink.Status.CANCELLED
        link.save(update_fields=["status"])
        journal.record(actor=by, action="paymentlink.cancelled", obj=link,
                       changes={"status": ["active", "cancelled"], "invoice_cancelled": invoice.pk})  # fmt: skip
        stopped += 1
    return stopped


def send_link(*, link: PaymentLink, token: str, by: User | None, to: list[str] | None = None,
              check_rights: bool = True) -> list[str]:  # fmt: skip
    """« Envoyer par e-mail »: the link to the company's billing contacts (or `to`). Returns the addresses."""
    if check_rights:
        rights.require(by, "payments.add_paymentlink", link.organization_id)
    if hash_token(token) != link.token_hash:
        raise LinkError(_("Ce lien ne correspond pas."), code="token_mismatch")
    if not link.is_usable():
        raise LinkError(_("Ce lien n'est plus actif."), code="not_active")
    invoice = link.invoice
    recipients = [address for address in (to or invoice_recipients(invoice.company)) if address]
    if not recipients:
        raise ValidationFailed(
            _("Ce client n'a pas d'adresse de facturation : ajoutez un contact destinataire des factures."),
            code="no_recipient", field="to",
        )  # fmt: skip
    issuer = (invoice.seller or {}).get("name") or invoice.legal_entity.name
    with translation.override("fr"):
        context = {
            "invoice": invoice, "company": invoice.company, "issuer_name": issuer, "url": link_url(token),
            "amount": format_money(link.amount),
            "expires_on": formats.date_format(timezone.localtime(link.expires_at), "SHORT_DATE_FORMAT"),
        }  # fmt: skip
        subject = _("Lien de paiement de la facture %(reference)s — %(issuer)s") % {
            "reference": invoice.reference, "issuer": issuer}  # fmt: skip
        body = render_to_string("payments/emails/link_sent.txt", context)
    reply_to = [invoice.center.email] if invoice.center.email else None
    try:
        EmailMessage(subject, body, to=recipients, reply_to=reply_to).send()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("Payment link %s: e-mail failed: %s", link.pk, exc)
        raise LinkError(_("L'e-mail n'a pas pu partir : réessayez plus tard."), code="email_failed") from exc
    journal.record(actor=by, action="paymentlink.sent", obj=link, changes={"recipients": recipients})
    return recipients


# --------------------------------------------------------------------------------------------------
# The payer's side (no login: the token is the credential)
# --------------------------------------------------------------------------------------------------
def find_link(token: str) -> PaymentLink | None:
    if not token or len(token) > 200:
        return None
    return (
        PaymentLink.objects.select_related(
            "invoice", "invoice__company", "invoice__organization", "invoice__legal_entity", "organization"
        )
        .filter(token_hash=hash_token(token))
        .first()
    )


@dataclass(frozen=True)
class LinkState:
    payable: bool
    code: str
    message: str
    remaining: Decimal


def link_state(link: PaymentLink | None, now: datetime.datetime | None = None) -> LinkState:
    """Whether the payer may pay now, and why not (a clear sentence for the page)."""
    zero = Decimal("0.00")
    if link is None:
        return LinkState(False, "unknown", _("Ce lien de paiement n'existe pas. Vérifiez l'adresse reçue."), zero)
    remaining = remaining_to_pay(link.invoice)
    if link.status == PaymentLink.Status.PAID:
        return LinkState(False, "paid", _("Ce lien a déjà été payé. Merci !"), remaining)
    if link.status == PaymentLink.Status.CANCELLED:
        return LinkState(False, "cancelled", _("Ce lien de paiement a été annulé. Contactez votre centre."), remaining)
    if (now or timezone.now()) >= link.expires_at:
        return LinkState(False, "expired", _("Ce lien de paiement a expiré. Demandez-en un nouveau à votre centre."),
                         remaining)  # fmt: skip
    if remaining <= 0:
        return LinkState(False, "invoice_paid", _("Cette facture est déjà réglée : il n'y a plus rien à payer."),
                         remaining)  # fmt: skip
    if link.amount > remaining:
        return LinkState(False, "amount_changed",
                         _("Le reste à payer de cette facture a changé : demandez un nouveau lien à votre centre."),
                         remaining)  # fmt: skip
    return LinkState(True, "payable", "", remaining)


def start_checkout(*, link: PaymentLink, token: str, success_url: str, cancel_url: str) -> Checkout:
    """« Payer par carte »: a checkout with the organization's provider (a Stripe Checkout Session, or the offline
    form); the session id is kept on the link. Refused when the link may not be paid now."""
    state = link_state(link)
    if not state.payable:
        raise LinkError(state.message, code=state.code)
    profile = payment_profile(link.organization_id)
    provider = provider_for(profile)
    checkout = provider.start_checkout(link=link, token=token, success_url=success_url, cancel_url=cancel_url,
                                       profile=profile)  # fmt: skip
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update().get(pk=link.pk)
        if locked.status != PaymentLink.Status.ACTIVE:
            raise LinkError(_("Ce lien n'est plus actif."), code="not_active")
        locked.provider = provider.name
        locked.checkout_session_id = checkout.session_id
        locked.save(update_fields=["provider", "checkout_session_id"])
        journal.record(actor=None, action="paymentlink.checkout_started", obj=locked,
                       changes={"provider": provider.name, "checkout_session_id": checkout.session_id})  # fmt: skip
    link.provider, link.checkout_session_id = locked.provider, locked.checkout_session_id
    return checkout


def portal_link(*, invoice: Invoice, contact: Contact, by: User) -> tuple[PaymentLink, str]:
    """« Payer par carte » in the portal: a short-lived link for all that remains, made for the member (who needs
    the "pay_invoices" capability on the invoice's company)."""
    if contact.company_id != invoice.company_id:
        raise LinkError(_("Cette facture n'est pas celle de votre entreprise."), code="forbidden")
    capabilities.require(contact, "pay_invoices")
    return create_link(invoice=invoice, by=by, expires_in_days=PORTAL_VALIDITY_DAYS, check_rights=False)
