"""Delivering issued invoices and credit notes to the client (clients-prospects « Livraison des factures »).

The company chooses one or several methods (`Company.invoice_delivery_methods`):
- e-mail with the PDF attached (to its contacts flagged « destinataire des factures », else the company's e-mail);
- e-mail notification with the link to the document in the client portal (no attachment);
- Chorus Pro: the document is recorded « à déposer » and goes into the next Chorus Pro export (public buyers:
  the buyer's SIRET is required, and the service code when the buyer's billing profile has one);
- GoCardless / direct debit: recorded as included in the direct-debit export.

Every attempt is one `InvoiceDelivery` row (done, or failed with its reason) and one journal entry on the
document. A missing recipient or a refused Chorus Pro deposit is a failed delivery, never an exception: the
automatic delivery after issue must not break the issue, and the back office shows the reason.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from comptoir.billing.models import CustomerBillingProfile, Invoice, InvoiceDelivery
from comptoir.billing.services.invoices import BillingError
from comptoir.core import journal, rights
from comptoir.core.models import User
from comptoir.core.money import format_money
from comptoir.crm.models import Company, Contact

logger = logging.getLogger(__name__)

Method = InvoiceDelivery.Method
EMAIL_METHODS = (Method.EMAIL_PDF, Method.EMAIL_NOTIFICATION)
# Company.DeliveryMethod → InvoiceDelivery.Method (the same values, plus the generic direct debit).
KNOWN_METHODS = frozenset(Method.values)
DETAIL_MAX = 500
RECIPIENT_MAX = 255


# --------------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------------
def company_methods(company: Company) -> list[str]:
    """The company's delivery methods, known ones only, in their stored order, without duplicates."""
    stored = company.invoice_delivery_methods if isinstance(company.invoice_delivery_methods, list) else []
    return list(dict.fromkeys(str(method) for method in stored if str(method) in KNOWN_METHODS))


def invoice_recipients(company: Company) -> list[str]:
    """The active contacts flagged « destinataire des factures » with an e-mail, else the company's e-mail."""
    contacts = (
        Contact.objects.filter(company_id=company.pk, is_active=True, is_invoice_recipient=True)
        .exclude(email="")
        .order_by("-is_main", "last_name", "pk")
        .values_list("email", flat=True)
    )
    addresses = list(dict.fromkeys(address.strip().lower() for address in contacts if address.strip()))
    if addresses:
        return addresses
    return [company.email.strip().lower()] if company.email and company.email.strip() else []


def portal_url(invoice: Invoice) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:invoice_detail", args=[invoice.pk])


def chorus_problems(invoice: Invoice, profile: CustomerBillingProfile | None = None) -> list[str]:
    """Why the document cannot be deposited on Chorus Pro (empty: it can)."""
    if profile is None:
        profile = CustomerBillingProfile.objects.filter(company_id=invoice.company_id).first()
    problems = []
    if profile is None or not profile.is_public_entity:
        problems.append(_("Le client n'est pas une entité publique (paramètres de facturation du client)."))
    siret = (invoice.buyer or {}).get("siret") or invoice.company.siret
    if not siret:
        problems.append(_("Le SIRET de l'acheteur public manque sur la facture."))
    service_required = bool(profile and getattr(profile, "service_code_required", bool(profile.service_code)))
    if service_required and not invoice.buyer_reference:
        problems.append(_("Le code service Chorus Pro manque sur la facture."))
    commitment_required = bool(
        profile and getattr(profile, "commitment_number_required", bool(profile.commitment_number))
    )
    if commitment_required and not invoice.purchase_order:
        problems.append(_("Le numéro d'engagement manque sur la facture."))
    return problems


# --------------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------------
def _record(
    invoice: Invoice, *, method: str, by: User | None, recipient: str = "", detail: str = "", failed: bool = False
) -> InvoiceDelivery:
    with transaction.atomic():
        delivery = InvoiceDelivery.objects.create(
            invoice=invoice,
            method=method,
            status=InvoiceDelivery.Status.FAILED if failed else InvoiceDelivery.Status.DONE,
            recipient=recipient[:RECIPIENT_MAX],
            detail=detail[:DETAIL_MAX],
            by=by if getattr(by, "is_authenticated", False) else None,
        )
        journal.record(
            actor=by,
            action=f"{invoice.kind}.delivery_failed" if failed else f"{invoice.kind}.delivered",
            obj=invoice,
            changes={"method": method, "recipient": delivery.recipient, "detail": delivery.detail},
        )
    return delivery


def _subject(invoice: Invoice) -> str:
    values = {"reference": invoice.reference, "issuer": (invoice.seller or {}).get("name") or invoice.legal_entity.name}
    if invoice.is_credit_note:
        return _("Votre avoir %(reference)s — %(issuer)s") % values
    return _("Votre facture %(reference)s — %(issuer)s") % values


def _send_email(invoice: Invoice, *, method: str, address: str, pdf: bytes | None, by: User | None) -> InvoiceDelivery:
    with translation.override("fr"):
        context = {
            "invoice": invoice,
            "company": invoice.company,
            "issuer_name": (invoice.seller or {}).get("name") or invoice.legal_entity.name,
            "portal_url": portal_url(invoice),
            "with_pdf": pdf is not None,
            "amount": format_money(invoice.total_incl_vat),
        }
        subject = _subject(invoice)
        body = render_to_string("billing/emails/invoice_delivery.txt", context)
        reply_to = [invoice.center.email] if invoice.center.email else None
        message = EmailMessage(subject, body, to=[address], reply_to=reply_to)
        if pdf is not None:
            message.attach(f"{invoice.reference}.pdf", pdf, "application/pdf")
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("Invoice %s: e-mail to %s failed: %s", invoice.pk, address, exc)
            reason = _("L'e-mail n'a pas pu partir : %(error)s") % {"error": exc}
            return _record(invoice, method=method, by=by, recipient=address, detail=reason, failed=True)
        detail = _("PDF en pièce jointe") if pdf is not None else _("Lien vers l'espace client")
        return _record(invoice, method=method, by=by, recipient=address, detail=detail)


def _deliver_by_email(invoice: Invoice, method: str, by: User | None) -> list[InvoiceDelivery]:
    addresses = invoice_recipients(invoice.company)
    if not addresses:
        reason = _(
            "Aucun destinataire : ajoutez un membre « destinataire des factures » avec une adresse e-mail, "
            "ou l'e-mail de l'entreprise."
        )
        return [_record(invoice, method=method, by=by, detail=reason, failed=True)]
    pdf = None
    if method == Method.EMAIL_PDF:
        from comptoir.billing.documents.render import ensure_pdf

        try:
            pdf = ensure_pdf(invoice)
        except Exception as exc:
            logger.exception("Invoice %s: the PDF could not be rendered", invoice.pk)
            reason = _("Le PDF n'a pas pu être produit : %(error)s") % {"error": exc}
            return [_record(invoice, method=method, by=by, recipient=", ".join(addresses), detail=reason, failed=True)]
    return [_send_email(invoice, method=method, address=address, pdf=pdf, by=by) for address in addresses]


def _deliver_to_chorus(invoice: Invoice, by: User | None) -> InvoiceDelivery:
    problems = chorus_problems(invoice)
    siret = (invoice.buyer or {}).get("siret") or invoice.company.siret
    if problems:
        return _record(invoice, method=Method.CHORUS_PRO, by=by, recipient=siret, detail=" ".join(problems),
                       failed=True)  # fmt: skip
    detail = _("À déposer : incluse dans le prochain export Chorus Pro (code service %(code)s).") % {
        "code": invoice.buyer_reference or "—"
    }
    return _record(invoice, method=Method.CHORUS_PRO, by=by, recipient=siret, detail=detail)


def _deliver_to_direct_debit(invoice: Invoice, method: str, by: User | None) -> InvoiceDelivery:
    if invoice.is_credit_note:
        detail = _("Avoir : non prélevé, à déduire du prochain prélèvement.")
    else:
        detail = _("Incluse dans le prochain export de prélèvement.")
    return _record(invoice, method=method, by=by, detail=detail)


def deliver_invoice(
    *, invoice: Invoice, by: User | None, methods: Sequence[str] | None = None, resend: bool = True
) -> list[InvoiceDelivery]:
    """Deliver an issued document by the given methods (None: the company's). One InvoiceDelivery per attempt
    (per recipient for e-mails); failures are rows with their reason, never exceptions.

    `resend=False` (the automatic delivery after issue) skips the methods already done for this document, so
    running it twice sends nothing twice."""
    invoice = Invoice.objects.select_related("company", "center", "legal_entity").get(pk=invoice.pk)
    if by is not None:
        rights.require(by, "billing.change_invoice", invoice.organization_id)
    if invoice.status == Invoice.Status.DRAFT:
        raise BillingError(_("Un brouillon ne peut pas être envoyé : émettez-le d'abord."), code="not_issued")
    chosen = company_methods(invoice.company) if methods is None else list(dict.fromkeys(methods))
    unknown = [method for method in chosen if method not in KNOWN_METHODS]
    if unknown:
        raise BillingError(_("Méthode d'envoi inconnue : %(methods)s.") % {"methods": ", ".join(unknown)},
                           code="unknown_method", field="methods")  # fmt: skip
    if not resend:
        done = set(
            InvoiceDelivery.objects.filter(invoice=invoice, status=InvoiceDelivery.Status.DONE).values_list(
                "method", flat=True
            )
        )
        chosen = [method for method in chosen if method not in done]
    deliveries: list[InvoiceDelivery] = []
    with translation.override("fr"):  # the rows' details are stored data, in French
        for method in chosen:
            if method in EMAIL_METHODS:
                deliveries += _deliver_by_email(invoice, method, by)
            elif method == Method.CHORUS_PRO:
                deliveries.append(_deliver_to_chorus(invoice, by))
            else:
                deliveries.append(_deliver_to_direct_debit(invoice, method, by))
    return deliveries


def send_invoice(*, invoice: Invoice, by: User, methods: Sequence[str] | None = None) -> list[InvoiceDelivery]:
    """The back office's « Envoyer »: the given methods, else the company's, else the e-mail with the PDF."""
    if not methods:
        company = Company.objects.get(pk=invoice.company_id)
        methods = company_methods(company) or [Method.EMAIL_PDF]
    return deliver_invoice(invoice=invoice, by=by, methods=methods)


def deliver_invoices(*, invoice_ids: Iterable[int]) -> int:
    """The automatic delivery after issue (the `deliver_issued` task): each document by its company's methods,
    once. Returns the number of delivery rows written."""
    written = 0
    invoices = Invoice.objects.filter(pk__in=list(invoice_ids)).exclude(status=Invoice.Status.DRAFT).order_by("pk")
    for invoice in invoices:
        try:
            written += len(deliver_invoice(invoice=invoice, by=None, resend=False))
        except Exception:
            logger.exception("Invoice %s: automatic delivery failed", invoice.pk)
    return written


def on_invoice_issued(*, invoice: Invoice, by: User | None = None, **_payload: object) -> None:
    """Handler of the `invoice.issued` event: schedule the delivery after commit, for the companies that have
    delivery methods."""
    company = invoice.company if invoice.company_id else None
    if company is None or not company_methods(company):
        return
    from comptoir.billing import tasks

    transaction.on_commit(partial(tasks.deliver_issued.enqueue, invoice_ids=[invoice.pk]))
