"""SEPA direct-debit batches (clients-prospects « prélèvements SEPA », « Export GoCardless »).

    batch = prepare_batch(organization=org, legal_entity=entity, collection_date=day, by=user)   # pain.008
    batch = mark_sent(batch=batch, by=user)          # each debit in collection, the invoices show paid
    result = import_return(batch=batch, by=user, data=bank_file_bytes)   # rejections reopen their invoices

`prepare_batch` picks, for one creditor (legal entity), the issued invoices with an amount due, due on or before
the collection date, of companies holding an active (signed) mandate of that creditor and paying by direct debit
(the contract's payment method when the invoice has a contract, else the company's default), and not already in
a debit waiting or in collection: one debit per invoice, FRST under a mandate never collected, RCUR after. The
collection date must leave the pre-notification delay (`PaymentProfile.prenotification_days`, 5 days by
default); each debtor company is told by e-mail (amount, date, RUM, creditor identifier). The pain.008.001.02
file (comptoir.payments.sepa) is stored on the batch with its SHA-256.

`mark_sent` records one payment per debit (method direct debit, status in collection, the end-to-end id as
provider reference) allocated to its invoice; `import_return` reads the bank's answer (CSV or camt.054, see
comptoir.payments.sepa): a rejected debit reverses its payment with the reason (the invoice reopens), an
accepted one confirms its collection.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from comptoir.billing.models import Invoice
from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import LegalEntity, Organization, User
from comptoir.core.money import format_money
from comptoir.crm.models import Company
from comptoir.payments import sepa
from comptoir.payments.models import DebitBatch, DebitItem, Mandate, Method, Payment, PaymentProfile
from comptoir.payments.services.payments import (
    confirm_collection,
    paid_on_invoice,
    record_payment,
    reverse_payment,
)
from comptoir.sales.models import PaymentMethod

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
OPEN_ITEMS = (DebitItem.Status.PENDING, DebitItem.Status.IN_COLLECTION)
MAX_DEBITS = 5000


class DebitError(DomainError):
    default_code = "invalid_debit"


def _day(value: datetime.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------
def batches_for(user: User, organization: Organization) -> QuerySet[DebitBatch]:
    if not rights.has_right(user, "payments.view_debitbatch", organization):
        return DebitBatch.objects.none()
    return DebitBatch.objects.filter(organization=organization).select_related("legal_entity", "created_by")


def batch_items(batch: DebitBatch) -> QuerySet[DebitItem]:
    return batch.items.select_related("invoice", "invoice__company", "mandate", "payment").order_by("id")


def profile_of(organization: Organization | int) -> PaymentProfile:
    organization_id = organization if isinstance(organization, int) else organization.pk
    profile, _created = PaymentProfile.objects.get_or_create(organization_id=organization_id)
    return profile


def earliest_collection_date(organization: Organization, today: datetime.date | None = None) -> datetime.date:
    return (today or timezone.localdate()) + datetime.timedelta(days=profile_of(organization).prenotification_days)


def debitable_invoices(*, organization: Organization, legal_entity: LegalEntity,
                       collection_date: datetime.date) -> QuerySet[Invoice]:  # fmt: skip
    """The invoices a batch of that creditor and date would collect (see the module's docstring)."""
    active = Mandate.objects.filter(company_id=OuterRef("company_id"), legal_entity_id=legal_entity.pk,
                                    status=Mandate.Status.ACTIVE)  # fmt: skip
    in_debit = DebitItem.objects.filter(invoice_id=OuterRef("pk"), status__in=OPEN_ITEMS)
    due = ExpressionWrapper(F("total_incl_vat") - F("amount_credited") - F("amount_paid"),
                            output_field=DecimalField(max_digits=14, decimal_places=2))  # fmt: skip
    by_debit = Q(contract__isnull=False, contract__payment_method=PaymentMethod.DIRECT_DEBIT) | Q(
        contract__isnull=True, company__default_payment_method=PaymentMethod.DIRECT_DEBIT
    )
    return (
        Invoice.objects.filter(
            organization=organization,
            legal_entity=legal_entity,
            kind=Invoice.Kind.INVOICE,
            status=Invoice.Status.ISSUED,
        )
        .annotate(due=due)
        .filter(due__gt=0)
        .filter(Q(due_date__lte=collection_date) | Q(due_date__isnull=True, issue_date__lte=collection_date))
        .filter(by_debit)
        .filter(Exists(active))
        .exclude(Exists(in_debit))
        .select_related("company")
        .order_by("company__name", "company_id", "due_date", "id")
    )


# --------------------------------------------------------------------------------------------------
# Preparing
# --------------------------------------------------------------------------------------------------
def _check_creditor(legal_entity: LegalEntity) -> None:
    missing = [label for label, value in ((_("IBAN"), legal_entity.iban), (_("BIC"), legal_entity.bic),
                                         (_("identifiant créancier SEPA"), legal_entity.sepa_creditor_id)) if not value]  # fmt: skip
    if missing:
        raise ValidationFailed(
            _("L'entité %(entity)s n'a pas de %(missing)s : renseignez-les dans ses paramètres.")
            % {"entity": legal_entity.name, "missing": ", ".join(str(item) for item in missing)},
            code="creditor_incomplete", field="legal_entity",
        )  # fmt: skip


def _new_reference(organization: Organization, legal_entity: LegalEntity, collection_date: datetime.date) -> str:
    prefix = f"PRLV-{collection_date:%Y%m%d}-{legal_entity.pk}-"
    taken = set(DebitBatch.objects.filter(organization=organization, reference__startswith=prefix)
                .values_list("reference", flat=True))  # fmt: skip
    number = len(taken) + 1
    while f"{prefix}{number:03d}" in taken:
        number += 1
    return f"{prefix}{number:03d}"


def _mandates_by_company(legal_entity: LegalEntity, company_ids: set[int]) -> dict[int, Mandate]:
    chosen: dict[int, Mandate] = {}
    rows = (Mandate.objects.select_for_update().filter(legal_entity=legal_entity, company_id__in=sorted(company_ids),
                                                       status=Mandate.Status.ACTIVE)
            .order_by("company_id", "-signed_at", "-id"))  # fmt: skip
    for mandate in rows:
        chosen.setdefault(mandate.company_id, mandate)
    return chosen


def creditor_of(batch: DebitBatch) -> sepa.Creditor:
    entity = batch.legal_entity
    return sepa.Creditor(name=entity.name, iban=entity.iban.replace(" ", "").upper(),
                         bic=entity.bic.replace(" ", "").upper(),
                         creditor_id=entity.sepa_creditor_id.replace(" ", "").upper())  # fmt: skip


def build_file(batch: DebitBatch, items: list[DebitItem]) -> bytes:
    debits = [
        sepa.Debit(
            end_to_end_id=item.end_to_end_id,
            amount=item.amount,
            sequence_type=item.sequence_type,
            scheme=item.mandate.scheme,
            debtor_name=item.mandate.account_holder,
            iban=item.mandate.iban,
            bic=item.mandate.bic,
            mandate_reference=item.mandate.reference,
            mandate_signed_on=item.mandate.signed_on or batch.collection_date,
            description=_("Facture %(reference)s") % {"reference": item.invoice.reference},
        )
        for item in items
    ]
    return sepa.build_pain008(creditor=creditor_of(batch), debits=debits, collection_date=batch.collection_date,
                              message_id=batch.reference)  # fmt: skip


@transaction.atomic
def prepare_batch(
    *,
    organization: Organization,
    legal_entity: LegalEntity | int,
    collection_date: datetime.date,
    by: User | None,
    today: datetime.date | None = None,
    notify: bool = True,
) -> DebitBatch:
    """A batch of the invoices to collect from that creditor on that date, its pain.008, the debtors told."""
    rights.require(by, "payments.add_debitbatch", organization)
    today = today or timezone.localdate()
    if not isinstance(legal_entity, LegalEntity):
        legal_entity = LegalEntity.objects.filter(organization=organization, pk=legal_entity).first()  # type: ignore[assignment]
    if legal_entity is None or legal_entity.organization_id != organization.pk:
        raise ValidationFailed(_("Choisissez le créancier."), code="required", field="legal_entity")
    legal_entity = LegalEntity.objects.select_for_update().get(pk=legal_entity.pk)  # one preparation at a time
    _check_creditor(legal_entity)
    if not isinstance(collection_date, datetime.date):
        raise ValidationFailed(_("Indiquez la date de prélèvement."), code="required", field="collection_date")
    earliest = earliest_collection_date(organization, today)
    if collection_date < earliest:
        raise ValidationFailed(
            _("Les débiteurs doivent être prévenus %(days)s jours avant le prélèvement : choisissez le "
              "%(date)s ou plus tard.")
            % {"days": profile_of(organization).prenotification_days, "date": _day(earliest)},
            code="prenotification_delay", field="collection_date",
        )  # fmt: skip
    if collection_date > today + datetime.timedelta(days=365):
        raise ValidationFailed(_("Date de prélèvement trop lointaine (un an au plus)."), code="too_far",
                               field="collection_date")  # fmt: skip
    candidate_ids = list(debitable_invoices(organization=organization, legal_entity=legal_entity,
                                            collection_date=collection_date).values_list("pk", flat=True)[:MAX_DEBITS + 1])  # fmt: skip
    if not candidate_ids:
        raise DebitError(_("Aucune facture à prélever pour ce créancier à cette date."), code="nothing_to_collect")
    if len(candidate_ids) > MAX_DEBITS:
        candidate_ids = candidate_ids[:MAX_DEBITS]
    invoices = list(Invoice.objects.select_for_update(of=("self",)).filter(pk__in=sorted(candidate_ids))
                    .select_related("company").order_by("company__name", "company_id", "due_date", "id"))  # fmt: skip
    # re-read under the locks: a batch prepared meanwhile may already hold some of them
    taken = set(DebitItem.objects.filter(invoice_id__in=candidate_ids, status__in=OPEN_ITEMS)
                .values_list("invoice_id", flat=True))  # fmt: skip
    invoices = [invoice for invoice in invoices if invoice.pk not in taken]
    mandates = _mandates_by_company(legal_entity, {invoice.company_id for invoice in invoices})
    batch = DebitBatch.objects.create(
        organization=organization, legal_entity=legal_entity, collection_date=collection_date,
        reference=_new_reference(organization, legal_entity, collection_date),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    items: list[DebitItem] = []
    for invoice in invoices:
        mandate = mandates.get(invoice.company_id)
        amount = invoice.total_incl_vat - invoice.amount_credited - paid_on_invoice(invoice.pk)
        if mandate is None or amount <= 0:
            continue
        items.append(DebitItem(
            batch=batch, invoice=invoice, mandate=mandate, amount=amount,
            sequence_type="FRST" if mandate.first_collected_on is None else "RCUR",
            end_to_end_id=f"{batch.reference}-{len(items) + 1:04d}",
        ))  # fmt: skip
    if not items:
        raise DebitError(_("Aucune facture à prélever pour ce créancier à cette date."), code="nothing_to_collect")
    DebitItem.objects.bulk_create(items)
    content = build_file(batch, items)
    batch.file.save(f"{batch.reference}.xml", ContentFile(content), save=False)
    batch.file_sha256 = hashlib.sha256(content).hexdigest()
    batch.count = len(items)
    batch.total = sum((item.amount for item in items), ZERO)
    batch.save(update_fields=["file", "file_sha256", "count", "total"])
    journal.record(actor=by, action="debitbatch.prepared", obj=batch, changes={
        "reference": batch.reference, "legal_entity": legal_entity.pk,
        "collection_date": collection_date.isoformat(), "count": batch.count, "total": batch.total,
        "file_sha256": batch.file_sha256,
    })  # fmt: skip
    for item in items:
        journal.record(actor=by, action="invoice.debit_prepared", obj=item.invoice,
                       changes={"batch": batch.reference, "amount": item.amount, "mandate": item.mandate.reference,
                                "sequence_type": item.sequence_type})  # fmt: skip
    if notify:
        notify_debtors(batch=batch, items=items, by=by)
    return batch


# --------------------------------------------------------------------------------------------------
# Pre-notification
# --------------------------------------------------------------------------------------------------
def notify_debtors(*, batch: DebitBatch, items: list[DebitItem], by: User | None) -> int:
    """One e-mail per debtor company: the amount, the date, the RUM, the creditor identifier. Returns the count
    of e-mails sent; sets `notified_at`."""
    from comptoir.billing.services.delivery import invoice_recipients

    by_company: dict[int, list[DebitItem]] = defaultdict(list)
    for item in items:
        by_company[item.invoice.company_id].append(item)
    sent = 0
    entity = batch.legal_entity
    for company_items in by_company.values():
        company = company_items[0].invoice.company
        addresses = invoice_recipients(company)
        if not addresses:
            journal.record(actor=by, action="company.debit_notice_failed", obj=company,
                           changes={"batch": batch.reference, "reason": "no_recipient"})  # fmt: skip
            continue
        with translation.override("fr"):
            total = sum((item.amount for item in company_items), ZERO)
            context = {
                "company": company, "creditor": entity, "creditor_id": entity.sepa_creditor_id,
                "collection_date": _day(batch.collection_date), "total": format_money(total),
                "lines": [{"invoice": item.invoice.reference, "amount": format_money(item.amount),
                           "mandate": item.mandate.reference, "iban": item.mandate.masked_iban} for item in company_items],
                "mandates": sorted({item.mandate.reference for item in company_items}),
            }  # fmt: skip
            subject = _("Prélèvement SEPA du %(date)s : %(amount)s — %(creditor)s") % {
                "date": context["collection_date"], "amount": context["total"], "creditor": entity.name}  # fmt: skip
            body = render_to_string("payments/emails/debit_prenotification.txt", context)
        message = EmailMessage(subject, body, to=addresses, reply_to=[entity.email] if entity.email else None)
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("Debit batch %s: the notice to company %s failed: %s", batch.pk, company.pk, exc)
            journal.record(actor=by, action="company.debit_notice_failed", obj=company,
                           changes={"batch": batch.reference, "reason": str(exc)[:200]})  # fmt: skip
            continue
        sent += 1
        journal.record(actor=by, action="company.debit_notified", obj=company,
                       changes={"batch": batch.reference, "amount": total, "recipients": addresses,
                                "collection_date": batch.collection_date.isoformat()})  # fmt: skip
    batch.notified_at = timezone.now()
    batch.save(update_fields=["notified_at"])
    return sent


# --------------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def mark_sent(*, batch: DebitBatch, by: User | None, today: datetime.date | None = None) -> DebitBatch:
    """The file went to the bank: each debit is in collection, recorded as a payment of its invoice."""
    batch = DebitBatch.objects.select_for_update().select_related("legal_entity").get(pk=batch.pk)
    rights.require(by, "payments.change_debitbatch", batch.organization_id)
    if batch.status != DebitBatch.Status.DRAFT:
        raise DebitError(_("Ce lot est déjà envoyé à la banque."), code="already_sent")
    today = today or timezone.localdate()
    items = list(batch_items(batch))
    for item in items:
        invoice = item.invoice
        remaining = max(invoice.total_incl_vat - invoice.amount_credited - paid_on_invoice(invoice.pk), ZERO)
        allocated = min(item.amount, remaining)
        payment = record_payment(
            organization=batch.organization, by=by,
            data={"company": invoice.company, "method": Method.DIRECT_DEBIT, "amount": item.amount,
                  "received_on": today, "reference": item.mandate.reference,
                  "payer": item.mandate.account_holder[:200],
                  "notes": _("Prélèvement %(batch)s") % {"batch": batch.reference}},
            allocations=[(invoice, allocated)] if allocated > 0 else [],
            provider_reference=item.end_to_end_id, status=Payment.Status.IN_COLLECTION, check_rights=False,
            today=today,
        )  # fmt: skip
        if payment.legal_entity_id is None:
            Payment.objects.filter(pk=payment.pk).update(legal_entity=batch.legal_entity)
        item.payment = payment
        item.status = DebitItem.Status.IN_COLLECTION
        item.save(update_fields=["payment", "status"])
        Mandate.objects.filter(pk=item.mandate_id, first_collected_on__isnull=True).update(
            first_collected_on=batch.collection_date
        )
    batch.status = DebitBatch.Status.SENT
    batch.sent_at = timezone.now()
    batch.save(update_fields=["status", "sent_at"])
    journal.record(actor=by, action="debitbatch.sent", obj=batch,
                   changes={"status": [DebitBatch.Status.DRAFT, DebitBatch.Status.SENT], "count": len(items)})  # fmt: skip
    return batch


# --------------------------------------------------------------------------------------------------
# The bank's return
# --------------------------------------------------------------------------------------------------
@dataclass
class ReturnResult:
    accepted: int = 0
    rejected: int = 0
    unchanged: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)


def import_return(
    *, batch: DebitBatch, by: User | None, data: bytes, today: datetime.date | None = None
) -> ReturnResult:
    """Apply the bank's return file (CSV or camt.054) to a batch sent to the bank; nothing changes when a line
    names a debit this batch does not hold or when the file cannot be read."""
    rights.require(by, "payments.change_debitbatch", batch.organization_id)
    try:
        lines = sepa.parse_return(data)
    except sepa.ReturnFileError as exc:
        raise ValidationFailed(str(exc), code="unreadable_return", field="file") from None
    today = today or timezone.localdate()
    with transaction.atomic():
        batch = DebitBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == DebitBatch.Status.DRAFT:
            raise DebitError(_("Marquez d'abord le lot comme envoyé à la banque."), code="not_sent")
        items = {item.end_to_end_id: item for item in batch_items(batch)}
        unknown = sorted({line.end_to_end_id for line in lines if line.end_to_end_id not in items})
        if unknown:
            raise ValidationFailed(
                _("Ce fichier cite des prélèvements qui ne sont pas dans le lot %(batch)s : %(ids)s.")
                % {"batch": batch.reference, "ids": ", ".join(unknown[:5]) + ("…" if len(unknown) > 5 else "")},
                code="unknown_debits", field="file",
            )  # fmt: skip
        result = ReturnResult()
        for line in lines:
            item = items[line.end_to_end_id]
            manual = item.status == DebitItem.Status.REJECTED and item.reject_reason == sepa.MANUAL_REVERSAL
            if item.payment is None or (
                item.status == DebitItem.Status.REJECTED and not (manual and not line.accepted)
            ):
                result.unchanged += 1
                continue
            if line.accepted:
                if item.payment.status == Payment.Status.IN_COLLECTION:
                    confirm_collection(payment=item.payment, by=by)
                    result.accepted += 1
                else:
                    result.unchanged += 1
                continue
            on = min(line.on or today, today)
            label = sepa.reason_label(line.reason_code)
            if item.payment.status != Payment.Status.REVERSED:  # the staff may have reversed it by hand already
                reverse_payment(payment=item.payment, by=by, reason=f"{line.reason_code} — {label}", on=on,
                                check_rights=False)  # fmt: skip
            item.status = DebitItem.Status.REJECTED
            item.reject_reason = line.reason_code
            item.rejected_on = on
            item.save(update_fields=["status", "reject_reason", "rejected_on"])
            _reset_first_collection(item.mandate_id)
            journal.record(actor=by, action="invoice.debit_rejected", obj=item.invoice,
                           changes={"batch": batch.reference, "reason": line.reason_code, "label": label,
                                    "amount": item.amount})  # fmt: skip
            result.rejected += 1
            result.rejections.append({"invoice": item.invoice.reference, "company": item.invoice.company.name,
                                      "reason_code": line.reason_code, "reason": label, "amount": item.amount})  # fmt: skip
        before = batch.status
        batch.status = DebitBatch.Status.CLOSED
        batch.save(update_fields=["status"])
        journal.record(actor=by, action="debitbatch.return_imported", obj=batch, changes={
            "status": [before, batch.status], "accepted": result.accepted, "rejected": result.rejected,
            "unchanged": result.unchanged, "file_sha256": hashlib.sha256(data).hexdigest(),
        })  # fmt: skip
    return result


def debit_payment_reversed(*, payment: Payment, **_ignored: Any) -> None:
    """Handler of "payment.reversed": a debit whose payment the staff reversed by hand (the bank phoned before its
    return file came) is rejected now, so its invoice can go in a new batch and the mandate's next debit is FRST again
    when it was its first; a later return file for it changes nothing."""
    item = DebitItem.objects.select_for_update().filter(payment=payment).first()
    if item is None or item.status not in OPEN_ITEMS:
        return
    item.status = DebitItem.Status.REJECTED
    item.reject_reason = sepa.MANUAL_REVERSAL
    item.rejected_on = payment.reversed_on
    item.save(update_fields=["status", "reject_reason", "rejected_on"])
    _reset_first_collection(item.mandate_id)


def _reset_first_collection(mandate_id: int) -> None:
    """A mandate whose every debit was rejected has never been collected: its next debit is FRST again."""
    collected = DebitItem.objects.filter(mandate_id=mandate_id, status=DebitItem.Status.IN_COLLECTION).exists()
    if not collected:
        Mandate.objects.filter(pk=mandate_id).update(first_collected_on=None)


# --------------------------------------------------------------------------------------------------
# GoCardless
# --------------------------------------------------------------------------------------------------
def gocardless_export(*, organization: Organization, by: User | None, legal_entity: LegalEntity | None = None) -> str:
    """The CSV of the active mandates and their customers, in GoCardless's import columns (comptoir.payments.sepa)."""
    rights.require(by, "payments.view_mandate", organization)
    mandates = Mandate.objects.filter(organization=organization, status=Mandate.Status.ACTIVE)
    if legal_entity is not None:
        mandates = mandates.filter(legal_entity=legal_entity)
    rows = []
    for mandate in mandates.select_related("company", "legal_entity", "signer").order_by("company__name", "id"):
        company: Company = mandate.company
        signer = mandate.signer
        rows.append({
            "customer.company_name": company.name,
            "customer.given_name": signer.first_name if signer else "",
            "customer.family_name": signer.last_name if signer else "",
            "customer.email": (signer.email if signer and signer.email else company.email) or "",
            "customer.address_line1": getattr(company, "address_line1", "") or "",
            "customer.city": getattr(company, "city", "") or "",
            "customer.postal_code": getattr(company, "postal_code", "") or "",
            "customer.country_code": (getattr(company, "country", "") or "FR").upper()[:2],
            "customer.metadata.comptoir_reference": company.reference,
            "customer_bank_account.account_holder_name": mandate.account_holder,
            "customer_bank_account.iban": mandate.iban,
            "customer_bank_account.bic": mandate.bic,
            "mandate.reference": mandate.reference,
            "mandate.scheme": "sepa_b2b" if mandate.scheme == Mandate.Scheme.B2B else "sepa_core",
            "mandate.signed_at": mandate.signed_on.isoformat() if mandate.signed_on else "",
            "mandate.creditor_id": mandate.legal_entity.sepa_creditor_id,
        })  # fmt: skip
    journal.record(actor=by, action="mandate.gocardless_exported", organization=organization,
                   changes={"count": len(rows)})  # fmt: skip
    return sepa.gocardless_csv(rows)
