"""Every write of invoices and credit notes (frontmanager §7, §11): drafts and their lines, issue (number,
freeze, hash chain), credit notes, the first invoices of a signed contract, invoices of selected consumptions,
locked accounting periods.

Keyword-only functions that check rights, validate, run in one transaction and write the audit journal.
`finalize_documents` is shared with the monthly run (comptoir.billing.services.runs): it numbers a batch of
documents of one legal entity under the sequence locks and chains their hashes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from comptoir.billing import ledger
from comptoir.billing.models import (
    BilledPeriod,
    BillingProfile,
    Consumption,
    CustomerBillingProfile,
    Invoice,
    InvoiceLine,
    VatCategory,
)
from comptoir.billing.totals import compute_totals, line_net
from comptoir.catalog.models import Product, VatRate
from comptoir.core import events, journal, numbering, rights
from comptoir.core.errors import Conflict, DomainError, ValidationFailed
from comptoir.core.models import Center, LegalEntity, User
from comptoir.core.proration import month_bounds, outside, prorate
from comptoir.crm.models import Company, Contact
from comptoir.sales.models import Contract, ContractLine, PricedLine
from comptoir.sales.selectors.contracts import pause_spans

ZERO = Decimal("0.00")
DEPOSIT_EXEMPTION = "Dépôt de garantie : hors champ de la TVA"
NOT_SUBJECT_EXEMPTION = "TVA non applicable, article 293 B du CGI"
REVERSE_CHARGE_EXEMPTION = "Autoliquidation, article 283-2 du CGI"
INVOICE_DRAFT_FIELDS = {"notes", "due_date", "period_start", "period_end", "buyer_reference", "purchase_order",
                        "payment_method", "contact"}  # fmt: skip
LINE_INPUT_FIELDS = {"product", "description", "quantity", "unit", "unit_price", "discount", "vat_rate",
                     "vat_exemption_reason", "accounting_code", "period_start", "period_end"}  # fmt: skip


class BillingError(DomainError):
    default_code = "invalid"


# --------------------------------------------------------------------------------------------------
# Settings, parties
# --------------------------------------------------------------------------------------------------
def billing_profile(legal_entity: LegalEntity | int) -> BillingProfile:
    entity_id = legal_entity if isinstance(legal_entity, int) else legal_entity.pk
    profile = BillingProfile.objects.filter(legal_entity_id=entity_id).first()
    if profile is None:
        entity = legal_entity if isinstance(legal_entity, LegalEntity) else LegalEntity.objects.get(pk=entity_id)
        with override("fr"):
            profile, _created = BillingProfile.objects.get_or_create(
                legal_entity=entity, defaults={"organization_id": entity.organization_id}
            )
    return profile


def customer_profile(company: Company) -> CustomerBillingProfile | None:
    return CustomerBillingProfile.objects.filter(company=company).first()


def seller_snapshot(entity: LegalEntity, profile: BillingProfile) -> dict[str, Any]:
    return {
        "name": entity.name,
        "legal_form": entity.legal_form,
        "share_capital": entity.share_capital,
        "siren": entity.siren,
        "siret": entity.siret,
        "vat_number": entity.vat_number,
        "rcs": entity.rcs,
        "address_line1": entity.address_line1,
        "address_line2": entity.address_line2,
        "postal_code": entity.postal_code,
        "city": entity.city,
        "country": entity.country,
        "email": entity.email,
        "phone": entity.phone,
        "iban": entity.iban,
        "bic": entity.bic,
        "approval_number": entity.approval_number,
        "legal_mentions": entity.invoice_legal_mentions,
        "late_penalty_rate": f"{profile.late_penalty_rate:.2f}",
        "recovery_indemnity": f"{profile.recovery_indemnity:.2f}",
        "early_payment_terms": str(profile.early_payment_terms),
    }


def buyer_snapshot(company: Company, contact: Contact | None = None) -> dict[str, Any]:
    return buyer_snapshot_from(company, contact, customer_profile(company))


def buyer_snapshot_from(
    company: Company, contact: Contact | None, profile: CustomerBillingProfile | None
) -> dict[str, Any]:
    """`buyer_snapshot` with the customer's billing profile already loaded (the monthly run loads them in bulk)."""
    return {
        "name": company.name,
        "reference": company.reference if hasattr(company, "reference") else "",
        "is_business": company.legal_type == Company.LegalType.COMPANY,
        "siren": company.siren or (company.siret[:9] if company.siret else ""),
        "siret": company.siret,
        "vat_number": company.vat_number,
        "address_line1": company.address_line1,
        "address_line2": company.address_line2,
        "postal_code": company.postal_code,
        "city": company.city,
        "country": company.country or "FR",
        "email": company.email,
        "contact": (f"{contact.first_name} {contact.last_name}".strip() if contact else ""),
        "is_public_entity": bool(profile and profile.is_public_entity),
    }


def payment_terms_days(company: Company, profile: BillingProfile) -> int:
    customer = customer_profile(company)
    if customer is not None and customer.payment_terms_days is not None:
        return customer.payment_terms_days
    return profile.payment_terms_days


def payment_terms_text(days: int, method: str) -> str:
    from comptoir.sales.models import PaymentMethod

    label = str(PaymentMethod(method).label) if method in PaymentMethod.values else ""
    with override("fr"):
        text = _("Paiement à réception") if days == 0 else _("Paiement à %(days)s jours") % {"days": days}
        return f"{text}, {label[:1].lower()}{label[1:]}" if label else text  # « …, prélèvement SEPA »


def vat_category_for(company: Company, rate: str, *, deposit: bool = False) -> tuple[str, str, str]:
    """(rate, category, exemption reason) of a line for this buyer."""
    if deposit:
        return VatRate.ZERO, VatCategory.OUTSIDE_SCOPE, DEPOSIT_EXEMPTION
    if not company.subject_to_vat:
        foreign_business = company.country and company.country != "FR" and company.vat_number
        if foreign_business:
            return VatRate.ZERO, VatCategory.REVERSE_CHARGE, REVERSE_CHARGE_EXEMPTION
        return VatRate.ZERO, VatCategory.EXEMPT, NOT_SUBJECT_EXEMPTION
    if Decimal(rate) == 0:
        return VatRate.ZERO, VatCategory.EXEMPT, ""
    return rate, VatCategory.STANDARD, ""


# --------------------------------------------------------------------------------------------------
# Drafts and lines
# --------------------------------------------------------------------------------------------------
def refuse_unknown_fields(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            _("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(unknown)},
            code="unknown_field",
            fields={name: [_("Champ non modifiable.")] for name in unknown},
        )


def _require_draft(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.DRAFT:
        raise BillingError(_("Une facture émise ne peut plus être modifiée : faites un avoir."), code="not_draft")


def _lock(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _decimal(value: Any, field: str, *, places: int = 2) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        number = Decimal(str(value).replace(",", ".").replace(" ", "").replace("\u202f", "")).quantize(
            Decimal(1).scaleb(-places)
        )
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(_("Nombre invalide."), code="invalid_number", field=field) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** (10 if places <= 3 else 9):
        raise ValidationFailed(_("Nombre invalide."), code="invalid_number", field=field)
    return number


def recompute_totals(invoice: Invoice, lines: Iterable[InvoiceLine] | None = None) -> None:
    totals = compute_totals(list(lines) if lines is not None else list(invoice.lines.all()))
    invoice.total_excl_vat = totals.total_excl_vat
    invoice.total_vat = totals.total_vat
    invoice.total_incl_vat = totals.total_incl_vat
    invoice.vat_breakdown = totals.vat_breakdown


@transaction.atomic
def create_invoice(
    *,
    by: User | None,
    company: Company,
    center: Center,
    kind: str = Invoice.Kind.INVOICE,
    origin: str = Invoice.Origin.MANUAL,
    contract: Contract | None = None,
    contact: Contact | None = None,
    credited_invoice: Invoice | None = None,
    notes: str = "",
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    check_rights: bool = True,
) -> Invoice:
    """A draft invoice (or credit note) of a company, issued by its center's legal entity."""
    if check_rights:
        rights.require(by, "billing.add_invoice", company.organization_id)
    if center.organization_id != company.organization_id:
        raise ValidationFailed(_("Centre inconnu."), code="unknown_center", field="center")
    if contract is not None and contract.company_id != company.pk:
        raise ValidationFailed(_("Ce contrat n'est pas celui de ce client."), code="wrong_contract", field="contract")
    if contact is not None and contact.company_id != company.pk:
        raise ValidationFailed(_("Ce membre n'appartient pas à ce client."), code="wrong_contact", field="contact")
    entity_id = contract.legal_entity_id if contract is not None else center.legal_entity_id
    profile = billing_profile(entity_id)
    method = (contract.payment_method if contract is not None else "") or company.default_payment_method
    invoice = Invoice.objects.create(
        organization_id=company.organization_id,
        kind=kind,
        origin=origin,
        legal_entity_id=entity_id,
        center=center,
        company=company,
        contact=contact,
        contract=contract,
        credited_invoice=credited_invoice,
        notes=notes,
        period_start=period_start,
        period_end=period_end,
        payment_method=method,
        payment_terms=payment_terms_text(payment_terms_days(company, profile), method),
        buyer_reference=(customer_profile(company).service_code if customer_profile(company) else ""),
        purchase_order=(customer_profile(company).commitment_number if customer_profile(company) else ""),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    journal.record(actor=by, action=f"{kind}.created", obj=invoice, changes={"company": company.pk})
    return invoice


def _line_from_input(invoice: Invoice, data: dict[str, Any]) -> InvoiceLine:
    refuse_unknown_fields(data, LINE_INPUT_FIELDS)
    product = data.get("product")
    if isinstance(product, int):
        product = Product.objects.filter(organization_id=invoice.organization_id, pk=product).first()
        if product is None:
            raise ValidationFailed(_("Article inconnu."), code="unknown_product", field="product")
    if product is not None and product.organization_id != invoice.organization_id:
        raise ValidationFailed(_("Article inconnu."), code="unknown_product", field="product")
    description = str(data.get("description") or (product.name if product else "")).strip()
    if not description:
        raise ValidationFailed(_("Indiquez la désignation de la ligne."), code="required", field="description")
    if len(description) > 255:
        raise ValidationFailed(_("255 caractères au plus."), code="too_long", field="description")
    quantity = _decimal(data.get("quantity", 1), "quantity", places=3)
    if quantity == 0:
        raise ValidationFailed(_("La quantité ne peut pas être nulle."), code="zero_quantity", field="quantity")
    unit_price_value = data.get("unit_price")
    if unit_price_value in (None, "") and product is not None:
        unit_price_value = product.unit_price
    if unit_price_value in (None, ""):
        raise ValidationFailed(_("Indiquez le prix unitaire HT."), code="required", field="unit_price")
    unit_price = _decimal(unit_price_value, "unit_price", places=4)
    discount = _decimal(data.get("discount") or 0, "discount")
    if discount < 0:
        raise ValidationFailed(_("La remise ne peut pas être négative."), code="negative_discount", field="discount")
    rate = str(data.get("vat_rate") or (product.vat_rate if product else VatRate.STANDARD))
    try:
        rate = f"{Decimal(rate.replace(',', '.')):.2f}"
    except InvalidOperation:
        rate = "?"
    if rate not in VatRate.values:
        raise ValidationFailed(
            _("Taux de TVA inconnu : choisissez 20 %, 10 %, 5,5 %, 2,1 % ou 0 %."), code="unknown_vat_rate",
            field="vat_rate",
        )  # fmt: skip
    company = invoice.company
    rate, category, reason = vat_category_for(company, rate)
    reason = (
        str(data.get("vat_exemption_reason") or "").strip()
        or reason
        or (product.vat_exemption_reason if product else "")
    )
    if category != VatCategory.STANDARD and not reason:
        raise ValidationFailed(
            _("Un taux de TVA nul (0 %) demande le motif d'exonération (ex. « Article 261 D-4° du CGI »)."),
            code="exemption_reason_required", field="vat_exemption_reason",
        )  # fmt: skip
    net = line_net(quantity, unit_price, discount)
    if discount and net < 0 <= quantity * unit_price:
        raise ValidationFailed(_("La remise dépasse le montant de la ligne."), code="discount_too_large",
                               field="discount")  # fmt: skip
    period_start, period_end = data.get("period_start"), data.get("period_end")
    if period_start and period_end and period_end < period_start:
        raise ValidationFailed(_("La fin de période précède son début."), code="period_order", field="period_end")
    return InvoiceLine(
        invoice=invoice,
        product=product,
        description=description,
        quantity=quantity,
        unit=str(data.get("unit") or (product.unit if product else "unit"))[:20],
        unit_price=unit_price,
        discount=discount,
        vat_rate=rate,
        vat_category=category,
        vat_exemption_reason=reason if category != VatCategory.STANDARD else "",
        accounting_code=str(data.get("accounting_code") or (product.accounting_code if product else ""))[:20],
        amount_excl_vat=net,
        period_start=period_start,
        period_end=period_end,
    )


@transaction.atomic
def add_invoice_line(*, invoice: Invoice, by: User | None, data: dict[str, Any]) -> InvoiceLine:
    invoice = _lock(invoice)
    rights.require(by, "billing.change_invoice", invoice.organization_id)
    _require_draft(invoice)
    line = _line_from_input(invoice, data)
    line.position = (invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    line.save()
    recompute_totals(invoice)
    invoice.save(update_fields=["total_excl_vat", "total_vat", "total_incl_vat", "vat_breakdown"])
    journal.record(actor=by, action="invoice.line_added", obj=invoice,
                   changes={"description": line.description, "amount_excl_vat": line.amount_excl_vat})  # fmt: skip
    return line


@transaction.atomic
def update_invoice_line(*, line: InvoiceLine, by: User | None, data: dict[str, Any]) -> InvoiceLine:
    invoice = _lock(line.invoice)
    rights.require(by, "billing.change_invoice", invoice.organization_id)
    _require_draft(invoice)
    current = InvoiceLine.objects.get(pk=line.pk, invoice=invoice)
    merged = {name: getattr(current, name) for name in LINE_INPUT_FIELDS if name != "product"}
    merged["product"] = current.product
    merged.update(data)
    if "vat_rate" in data and "vat_exemption_reason" not in data:
        merged["vat_exemption_reason"] = ""
    updated = _line_from_input(invoice, merged)
    updated.pk, updated.position, updated.source = current.pk, current.position, current.source
    updated.contract_id, updated.contract_line_id, updated.source_id = (
        current.contract_id, current.contract_line_id, current.source_id,
    )  # fmt: skip
    updated.save()
    recompute_totals(invoice)
    invoice.save(update_fields=["total_excl_vat", "total_vat", "total_incl_vat", "vat_breakdown"])
    journal.record(actor=by, action="invoice.line_changed", obj=invoice,
                   changes={"description": updated.description, "amount_excl_vat": updated.amount_excl_vat})  # fmt: skip
    return updated


@transaction.atomic
def delete_invoice_line(*, line: InvoiceLine, by: User | None) -> None:
    invoice = _lock(line.invoice)
    rights.require(by, "billing.change_invoice", invoice.organization_id)
    _require_draft(invoice)
    current = InvoiceLine.objects.get(pk=line.pk, invoice=invoice)
    if current.source == InvoiceLine.Source.CONSUMPTION and current.source_id:
        Consumption.objects.filter(pk=current.source_id, invoice=invoice).update(invoice=None)
    current.delete()
    recompute_totals(invoice)
    invoice.save(update_fields=["total_excl_vat", "total_vat", "total_incl_vat", "vat_breakdown"])
    journal.record(actor=by, action="invoice.line_deleted", obj=invoice, changes={"description": current.description})


@transaction.atomic
def update_invoice(*, invoice: Invoice, by: User | None, data: dict[str, Any]) -> Invoice:
    invoice = _lock(invoice)
    rights.require(by, "billing.change_invoice", invoice.organization_id)
    _require_draft(invoice)
    refuse_unknown_fields(data, INVOICE_DRAFT_FIELDS)
    contact = data.get("contact", invoice.contact)
    if contact is not None and contact.company_id != invoice.company_id:
        raise ValidationFailed(_("Ce membre n'appartient pas à ce client."), code="wrong_contact", field="contact")
    before = journal.snapshot(invoice, sorted(INVOICE_DRAFT_FIELDS))
    for name, value in data.items():
        setattr(invoice, name, value if value is not None or name in {"contact", "due_date"} else "")
    if invoice.period_start and invoice.period_end and invoice.period_end < invoice.period_start:
        raise ValidationFailed(_("La fin de période précède son début."), code="period_order", field="period_end")
    invoice.save()
    changes = journal.diff(before, journal.snapshot(invoice, sorted(INVOICE_DRAFT_FIELDS)))
    if changes:
        journal.record(actor=by, action="invoice.changed", obj=invoice, changes=changes)
    return invoice


@transaction.atomic
def delete_draft(*, invoice: Invoice, by: User | None) -> None:
    invoice = _lock(invoice)
    rights.require(by, "billing.delete_invoice", invoice.organization_id)
    _require_draft(invoice)
    Consumption.objects.filter(invoice=invoice).update(invoice=None)
    BilledPeriod.objects.filter(invoice=invoice).delete()
    journal.record(actor=by, action=f"{invoice.kind}.draft_deleted", obj=invoice,
                   changes={"company": invoice.company_id, "total_incl_vat": invoice.total_incl_vat})  # fmt: skip
    invoice.lines.all().delete()
    invoice.delete()


# --------------------------------------------------------------------------------------------------
# Issue: numbers, freeze, hash chain
# --------------------------------------------------------------------------------------------------
def _day(value: datetime.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def check_issue_date(profile: BillingProfile, issue_date: datetime.date, *, field: str = "issue_date") -> None:
    if profile.locked_until and issue_date <= profile.locked_until:
        raise BillingError(
            _("La période comptable est verrouillée jusqu'au %(day)s : aucune facture ne peut y être datée.")
            % {"day": _day(profile.locked_until)},
            code="locked_period", field=field,
        )  # fmt: skip


def reference_for(profile: BillingProfile, kind: str, number: int, year: int) -> str:
    prefix = profile.credit_note_prefix if kind == Invoice.Kind.CREDIT_NOTE else profile.invoice_prefix
    if profile.numbering == BillingProfile.Numbering.YEARLY:
        return f"{prefix}-{year}-{number:06d}"
    return f"{prefix}-{number:06d}"


def series_for(profile: BillingProfile, kind: str, year: int) -> tuple[str, str]:
    scope = str(year) if profile.numbering == BillingProfile.Numbering.YEARLY else ""
    return f"{kind}:{profile.legal_entity_id}", scope


def finalize_documents(
    *,
    profile: BillingProfile,
    kind: str,
    issue_date: datetime.date,
    documents: Sequence[Invoice],
    lines: Sequence[Sequence[Any]],
) -> None:
    """Number and chain `documents` (all of one legal entity, one kind, one issue date) in their order.

    Takes the numbering sequence's row lock, then the ledger's, for the rest of the caller's transaction;
    sets number, reference, chain_index, previous_hash and record_hash on the objects (saved by the caller).
    `lines[i]` are the lines of `documents[i]` in their order (objects or dicts with ledger.LINE_FIELDS).
    """
    from comptoir.core.models import Sequence as NumberSequence

    if not documents:
        return
    organization_id = profile.organization_id
    series, scope = series_for(profile, kind, issue_date.year)
    numbers = numbering.next_numbers(organization=profile.organization, series=series, scope=scope,
                                     count=len(documents))  # fmt: skip
    chain = numbering.next_numbers(organization=profile.organization, series=ledger.ledger_series(profile.legal_entity_id),
                                   count=len(documents))  # fmt: skip
    previous = ""
    if chain[0] > 1:
        last = (
            Invoice.objects.filter(legal_entity_id=profile.legal_entity_id, chain_index=chain[0] - 1)
            .values_list("record_hash", "issue_date")
            .first()
        )
        if last is None:  # the ledger sequence ran ahead of the rows: a missing document
            raise BillingError(
                _("Le registre des factures est incomplet : lancez verify-ledger."), code="ledger_broken"
            )
        previous, last_date = last
        if last_date and issue_date < last_date:
            raise BillingError(
                _("La date d'émission ne peut pas précéder celle du dernier document émis (%(day)s).")
                % {"day": _day(last_date)},
                code="date_before_last", field="issue_date",
            )  # fmt: skip
    del NumberSequence, organization_id
    for document, number, index, document_lines in zip(documents, numbers, chain, lines, strict=True):
        document.number = number
        document.reference = reference_for(profile, kind, number, issue_date.year)
        document.issue_date = issue_date
        document.chain_index = index
        document.previous_hash = previous
        document.record_hash = ledger.record_hash(document, document_lines)
        previous = document.record_hash


def remaining_to_credit(invoice: Invoice) -> Decimal:
    credited = (
        Invoice.objects.filter(credited_invoice=invoice, kind=Invoice.Kind.CREDIT_NOTE)
        .exclude(status=Invoice.Status.DRAFT)
        .aggregate(total=Sum("total_incl_vat"))["total"]
        or ZERO
    )
    return invoice.total_incl_vat - credited


def _check_issuable(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    if not lines:
        raise BillingError(_("Une facture doit comporter au moins une ligne."), code="no_lines")
    if invoice.total_incl_vat < 0 and invoice.kind == Invoice.Kind.INVOICE:
        raise BillingError(
            _("Le total d'une facture ne peut pas être négatif : faites un avoir."), code="negative_total"
        )
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:
        if invoice.total_incl_vat <= 0:
            raise BillingError(_("Le montant d'un avoir doit être positif."), code="negative_total")
        if invoice.credited_invoice_id:
            original = Invoice.objects.select_for_update().get(pk=invoice.credited_invoice_id)
            remaining = remaining_to_credit(original)
            if invoice.total_incl_vat > remaining:
                from comptoir.core.money import format_money

                raise BillingError(
                    _("L'avoir (%(amount)s) dépasse ce qui reste de la facture %(reference)s (%(remaining)s).")
                    % {"amount": format_money(invoice.total_incl_vat), "reference": original.reference,
                       "remaining": format_money(remaining)},
                    code="credit_exceeds_invoice",
                )  # fmt: skip


def freeze_parties(invoice: Invoice, profile: BillingProfile) -> None:
    entity = LegalEntity.objects.get(pk=invoice.legal_entity_id)
    invoice.seller = seller_snapshot(entity, profile)
    invoice.buyer = buyer_snapshot(invoice.company, invoice.contact)


def _after_issue(invoice: Invoice) -> None:
    from comptoir.billing import tasks

    transaction.on_commit(lambda: tasks.enqueue_documents([invoice.pk]))


@transaction.atomic
def issue_invoice(
    *, invoice: Invoice, by: User | None, issue_date: datetime.date | None = None, check_rights: bool = True
) -> Invoice:
    """Draft → issued: the next number of the legal entity's series, parties and content frozen, hash chained."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("company", "contact").get(pk=invoice.pk)
    if check_rights:
        rights.require(by, "billing.issue_invoice", invoice.organization_id)
    if invoice.status != Invoice.Status.DRAFT:
        raise Conflict(_("Ce document est déjà émis (%(reference)s).") % {"reference": invoice.reference},
                       code="already_issued")  # fmt: skip
    lines = list(invoice.lines.order_by("position", "id"))
    recompute_totals(invoice, lines)
    _check_issuable(invoice, lines)
    profile = billing_profile(invoice.legal_entity_id)
    issue_date = issue_date or timezone.localdate()
    if issue_date > timezone.localdate():
        raise ValidationFailed(_("La date d'émission ne peut pas être dans le futur."), code="future_date",
                               field="issue_date")  # fmt: skip
    check_issue_date(profile, issue_date)
    freeze_parties(invoice, profile)
    if invoice.due_date is None or invoice.due_date < issue_date:
        days = 0 if invoice.is_credit_note else payment_terms_days(invoice.company, profile)
        invoice.due_date = issue_date + datetime.timedelta(days=days)
    finalize_documents(profile=profile, kind=invoice.kind, issue_date=issue_date, documents=[invoice], lines=[lines])
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = timezone.now()
    invoice.save()
    if invoice.is_credit_note and invoice.credited_invoice_id:
        original = Invoice.objects.select_for_update().get(pk=invoice.credited_invoice_id)
        remaining = remaining_to_credit(original)
        original.amount_credited = original.total_incl_vat - remaining
        _payment_status(original)
        original.save(update_fields=["amount_credited", "payment_status", "paid_on"])
        if remaining == 0 and original.status == Invoice.Status.ISSUED:
            original.status = Invoice.Status.CANCELLED
            original.save(update_fields=["status"])
            journal.record(actor=by, action="invoice.cancelled", obj=original,
                           changes={"credit_note": invoice.reference})  # fmt: skip
            events.publish("invoice.cancelled", invoice=original, by=by)
    journal.record(actor=by, action=f"{invoice.kind}.issued", obj=invoice,
                   changes={"reference": invoice.reference, "total_incl_vat": invoice.total_incl_vat,
                            "record_hash": invoice.record_hash})  # fmt: skip
    events.publish("invoice.issued", invoice=invoice, by=by)
    _after_issue(invoice)
    return invoice


# --------------------------------------------------------------------------------------------------
# Settlement (the payments app keeps it through `settle`)
# --------------------------------------------------------------------------------------------------
def _payment_status(invoice: Invoice, paid_on: datetime.date | None = None) -> None:
    owed = invoice.total_incl_vat - invoice.amount_credited
    if invoice.amount_paid <= 0:
        invoice.payment_status, invoice.paid_on = Invoice.PaymentStatus.PENDING, None
    elif invoice.amount_paid >= owed:
        invoice.payment_status = Invoice.PaymentStatus.PAID
        invoice.paid_on = invoice.paid_on or paid_on or timezone.localdate()
    else:
        invoice.payment_status, invoice.paid_on = Invoice.PaymentStatus.PARTIALLY_PAID, None


def settle(*, invoice: Invoice, amount_paid: Decimal, paid_on: datetime.date | None = None) -> Invoice:
    """Record what has been paid on an issued invoice (the sum of its allocated payments, as the payments app
    counts them) and derive its payment status; `paid_on` is the date of the payment that completes it. Runs in
    the caller's transaction; the caller holds the invoice's row lock. When the invoice becomes paid, the event
    « invoice.paid » is published (bookings: a prepaid booking or a plan bought in the portal)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
        raise BillingError(_("Seule une facture émise peut être réglée."), code="not_issued")
    if amount_paid < 0:
        raise BillingError(_("Le montant payé ne peut pas être négatif."), code="negative_amount")
    was_paid = invoice.payment_status == Invoice.PaymentStatus.PAID
    if amount_paid != invoice.amount_paid or was_paid:
        if amount_paid < invoice.total_incl_vat - invoice.amount_credited:
            invoice.paid_on = None
        invoice.amount_paid = amount_paid
        _payment_status(invoice, paid_on)
        invoice.save(update_fields=["amount_paid", "payment_status", "paid_on"])
        if not was_paid and invoice.payment_status == Invoice.PaymentStatus.PAID:
            events.publish("invoice.paid", invoice=invoice)
    return invoice


def settle_many(*, paid: Sequence[tuple[Invoice, Decimal, datetime.date]]) -> None:
    """`settle` for many invoices in one statement (a bank statement's import): [(invoice, new amount paid, date
    of the payment)], the invoices locked by the caller."""
    rows, now_paid = [], []
    for invoice, amount_paid, paid_on in paid:
        if amount_paid < 0 or invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
            raise BillingError(_("Seule une facture émise peut être réglée."), code="not_issued")
        was_paid = invoice.payment_status == Invoice.PaymentStatus.PAID
        invoice.amount_paid = amount_paid
        _payment_status(invoice, paid_on)
        rows.append((invoice.amount_paid, invoice.payment_status, invoice.paid_on, invoice.pk))
        if not was_paid and invoice.payment_status == Invoice.PaymentStatus.PAID:
            now_paid.append(invoice)
    if rows:
        write_settlements(rows)
    for invoice in now_paid:
        events.publish("invoice.paid", invoice=invoice)


def write_settlements(rows: Sequence[tuple[Decimal, str, datetime.date | None, int]]) -> None:
    """(amount paid, payment status, paid on, invoice id) rows in one statement: an UPDATE from unnested arrays
    on PostgreSQL, an executemany on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            amounts, statuses, days, ids = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                "UPDATE billing_invoice AS i SET amount_paid = v.amount_paid, payment_status = v.payment_status, "
                "paid_on = v.paid_on FROM (SELECT unnest(%s::numeric[]) AS amount_paid, unnest(%s::text[]) AS "
                "payment_status, unnest(%s::date[]) AS paid_on, unnest(%s::bigint[]) AS id) AS v WHERE i.id = v.id",
                [amounts, statuses, days, ids],
            )
        else:
            cursor.executemany(
                "UPDATE billing_invoice SET amount_paid = %s, payment_status = %s, paid_on = %s WHERE id = %s", rows
            )


# --------------------------------------------------------------------------------------------------
# Credit notes
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_credit_note(
    *, invoice: Invoice, by: User | None, lines: list[dict[str, Any]] | None = None, reason: str = "",
    check_rights: bool = True,
) -> Invoice:  # fmt: skip
    """A draft credit note of an issued invoice: all of what remains of it (`lines` None), or the given lines."""
    original = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("company", "center", "contract")
        .get(pk=invoice.pk)
    )
    if check_rights:
        rights.require(by, "billing.issue_invoice", original.organization_id)
    if original.kind != Invoice.Kind.INVOICE or original.status == Invoice.Status.DRAFT:
        raise BillingError(_("Seule une facture émise peut faire l'objet d'un avoir."), code="not_issued")
    remaining = remaining_to_credit(original)
    if remaining <= 0:
        raise BillingError(_("Cette facture est déjà entièrement créditée."), code="fully_credited")
    credit = Invoice.objects.create(
        organization_id=original.organization_id,
        kind=Invoice.Kind.CREDIT_NOTE,
        origin=Invoice.Origin.CREDIT,
        legal_entity_id=original.legal_entity_id,
        center_id=original.center_id,
        company_id=original.company_id,
        contact_id=original.contact_id,
        contract_id=original.contract_id,
        credited_invoice=original,
        period_start=original.period_start,
        period_end=original.period_end,
        buyer_reference=original.buyer_reference,
        purchase_order=original.purchase_order,
        payment_method=original.payment_method,
        notes=reason or _("Avoir sur la facture %(reference)s") % {"reference": original.reference},
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    new_lines: list[InvoiceLine] = []
    if lines is None:
        if remaining != original.total_incl_vat:
            raise BillingError(
                _("Cette facture a déjà un avoir partiel : indiquez les lignes de ce nouvel avoir."),
                code="partially_credited",
            )
        for position, line in enumerate(original.lines.order_by("position", "id"), start=1):
            line.pk = None
            line.invoice = credit
            line.position = position
            line.source = InvoiceLine.Source.CREDIT
            new_lines.append(line)
    else:
        credit.company = original.company
        for position, data in enumerate(lines, start=1):
            line = _line_from_input(credit, data)
            line.position = position
            line.source = InvoiceLine.Source.CREDIT
            new_lines.append(line)
    if not new_lines:
        raise BillingError(_("Un avoir doit comporter au moins une ligne."), code="no_lines")
    InvoiceLine.objects.bulk_create(new_lines)
    recompute_totals(credit, new_lines)
    if credit.total_incl_vat > remaining:
        from comptoir.core.money import format_money

        raise BillingError(
            _("L'avoir (%(amount)s) dépasse ce qui reste de la facture %(reference)s (%(remaining)s).")
            % {"amount": format_money(credit.total_incl_vat), "reference": original.reference,
               "remaining": format_money(remaining)},
            code="credit_exceeds_invoice",
        )  # fmt: skip
    credit.save()
    journal.record(actor=by, action="credit_note.created", obj=credit,
                   changes={"credited_invoice": original.reference, "total_incl_vat": credit.total_incl_vat})  # fmt: skip
    return credit


@transaction.atomic
def credit_invoice(
    *, invoice: Invoice, by: User | None, lines: list[dict[str, Any]] | None = None, reason: str = "",
    issue_date: datetime.date | None = None, check_rights: bool = True,
) -> Invoice:  # fmt: skip
    """Create and issue a credit note in one step (the API's `credit` action, the invoice page's button; a higher
    app's system path with `check_rights=False`: an unpaid online purchase released)."""
    credit = create_credit_note(invoice=invoice, by=by, lines=lines, reason=reason, check_rights=check_rights)
    return issue_invoice(invoice=credit, by=by, issue_date=issue_date, check_rights=check_rights)


def issue_regularisation_credit(
    *, invoice_id: int, lines: Sequence[Any], issue_date: datetime.date, by_id: int | None = None,
    billing_run_id: int | None = None,
) -> Invoice:  # fmt: skip
    """The monthly run's credit note when a month's regularisation is larger than what the month bills (a
    pause or an amendment recorded after the month was invoiced): `lines` are the run's regularisation lines
    (negative amounts, with their contract line and period), credited on the invoice of that month. Their
    source stays « adjustment », so the next run counts them as what was invoiced for the month."""
    original = Invoice.objects.select_related("center", "company").get(pk=invoice_id)
    credit = Invoice.objects.create(
        organization_id=original.organization_id, kind=Invoice.Kind.CREDIT_NOTE, origin=Invoice.Origin.RUN,
        legal_entity_id=original.legal_entity_id, center_id=original.center_id, company_id=original.company_id,
        contact_id=original.contact_id, contract_id=original.contract_id, credited_invoice=original,
        period_start=min(line.period_start for line in lines), period_end=max(line.period_end for line in lines),
        buyer_reference=original.buyer_reference, purchase_order=original.purchase_order,
        payment_method=original.payment_method, created_by_id=by_id, billing_run_id=billing_run_id,
        notes=_("Régularisation de la facture %(reference)s") % {"reference": original.reference},
    )  # fmt: skip
    new_lines = [
        InvoiceLine(
            invoice=credit,
            position=position,
            product_id=line.product_id,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=-line.unit_price,
            discount=ZERO,
            vat_rate=line.vat_rate,
            vat_category=line.vat_category,
            vat_exemption_reason=line.vat_exemption_reason,
            accounting_code=line.accounting_code,
            amount_excl_vat=-line.amount_excl_vat,
            period_start=line.period_start,
            period_end=line.period_end,
            source=InvoiceLine.Source.ADJUSTMENT,
            contract_id=line.contract_id,
            contract_line_id=line.contract_line_id,
        )
        for position, line in enumerate(lines, start=1)
    ]
    InvoiceLine.objects.bulk_create(new_lines)
    recompute_totals(credit, new_lines)
    credit.save()
    return issue_invoice(invoice=credit, by=None, issue_date=issue_date, check_rights=False)


# --------------------------------------------------------------------------------------------------
# Lines from contracts (shared with the monthly run)
# --------------------------------------------------------------------------------------------------
def period_label(start: datetime.date, end: datetime.date) -> str:
    return f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"


def contract_period_lines(
    contract: Contract,
    contract_lines: Iterable[ContractLine],
    period: datetime.date,
    company: Company,
    pauses: Sequence[tuple[datetime.date, datetime.date]] | None = None,
) -> list[InvoiceLine]:
    """The recurring lines of `contract` for the month of `period`, billed in advance and prorated to the days
    each line (and the contract) runs in that month, outside its pauses (read when `pauses` is None): one line
    per piece between pauses. Nothing after the contract's end date."""
    month_start, month_end = month_bounds(period)
    if pauses is None:
        pauses = pause_spans([contract.pk], month_start, month_end).get(contract.pk, [])
    result: list[InvoiceLine] = []
    for line in contract_lines:
        if not line.is_recurring:
            continue
        start = max(line.start_date, contract.start_date, month_start)
        end_candidates = [month_end] + [day for day in (line.end_date, contract.end_date) if day]
        end = min(end_candidates)
        if end < start:
            continue
        for piece_start, piece_end in outside(start, end, pauses):
            amount = prorate(line.amount_excl_vat, period_start=month_start, period_end=month_end,
                             start=piece_start, end=piece_end)  # fmt: skip
            if amount == 0:
                continue
            rate, category, reason = vat_category_for(company, line.vat_rate)
            description = f"{line.description} — {period_label(piece_start, piece_end)}"
            if (piece_start, piece_end) != (month_start, month_end):
                description += " " + _("(prorata)")
            result.append(
                InvoiceLine(
                    product_id=line.product_id,
                    description=description[:255],
                    quantity=Decimal("1.000"),
                    unit="month",
                    unit_price=amount,
                    discount=ZERO,
                    vat_rate=rate,
                    vat_category=category,
                    vat_exemption_reason=reason or line.vat_exemption_reason
                    if category != VatCategory.STANDARD else "",
                    accounting_code=line.accounting_code,
                    amount_excl_vat=amount,
                    period_start=piece_start,
                    period_end=piece_end,
                    source=(InvoiceLine.Source.OPTION if line.kind == PricedLine.Kind.OPTION
                            else InvoiceLine.Source.CONTRACT_LINE),
                    contract_id=contract.pk,
                    contract_line_id=line.pk,
                )
            )  # fmt: skip
    return result


def _system_issue(invoice: Invoice, lines: list[InvoiceLine], issue_date: datetime.date) -> Invoice:
    for position, line in enumerate(lines, start=1):
        line.invoice = invoice
        line.position = position
    InvoiceLine.objects.bulk_create(lines)
    recompute_totals(invoice, lines)
    invoice.save()
    return issue_invoice(invoice=invoice, by=None, issue_date=issue_date, check_rights=False)


@transaction.atomic
def issue_online_invoice(
    *, company: Company, center: Center, contact: Contact | None, lines: Sequence[dict[str, Any]], notes: str = "",
    day: datetime.date | None = None,
) -> Invoice:  # fmt: skip
    """An invoice issued at once for what a client buys online and pays by card right away (a prepaid booking, a
    pack bought in the portal): origin « Achat en ligne », due on its issue date. A system path: the higher app
    checked the member's rights."""
    issue_date = timezone.localdate()
    invoice = create_invoice(by=None, company=company, center=center, contact=contact, origin=Invoice.Origin.ONLINE,
                             notes=notes, period_start=day, period_end=day, check_rights=False)  # fmt: skip
    invoice.payment_method = Company.PaymentMethod.CARD
    invoice.payment_terms = payment_terms_text(0, invoice.payment_method)
    invoice.due_date = issue_date
    return _system_issue(invoice, [_line_from_input(invoice, dict(data)) for data in lines], issue_date)


@transaction.atomic
def issue_first_invoices(*, contract: Contract, issue_date: datetime.date | None = None) -> list[Invoice]:
    """At signature (frontmanager §7): the deposit invoice and the first month's, prorated from the start date,
    with the one-off fees. Safe to call twice: what was already invoiced is not invoiced again."""
    contract = Contract.objects.select_related("company", "center").get(pk=contract.pk)
    company = contract.company
    issue_date = issue_date or timezone.localdate()
    profile = billing_profile(contract.legal_entity_id)
    if profile.locked_until and issue_date <= profile.locked_until:
        issue_date = profile.locked_until + datetime.timedelta(days=1)
        if issue_date > timezone.localdate():
            return []
    issued: list[Invoice] = []
    if contract.deposit > 0 and not Invoice.objects.filter(contract=contract, origin=Invoice.Origin.DEPOSIT).exists():
        invoice = create_invoice(by=None, company=company, center=contract.center, contract=contract,
                                 origin=Invoice.Origin.DEPOSIT, check_rights=False,
                                 notes=_("Dépôt de garantie du contrat %(reference)s") % {"reference": contract.reference})  # fmt: skip
        rate, category, reason = vat_category_for(company, VatRate.ZERO, deposit=True)
        deposit_line = InvoiceLine(
            description=_("Dépôt de garantie — contrat %(reference)s") % {"reference": contract.reference},
            quantity=Decimal("1.000"), unit="unit", unit_price=contract.deposit, vat_rate=rate,
            vat_category=category, vat_exemption_reason=reason, amount_excl_vat=contract.deposit,
            accounting_code=profile.deposit_account, source=InvoiceLine.Source.DEPOSIT, contract_id=contract.pk,
        )  # fmt: skip
        issued.append(_system_issue(invoice, [deposit_line], issue_date))
    period = contract.start_date.replace(day=1)
    if not BilledPeriod.objects.filter(contract=contract, period=period).exists():
        contract_lines = list(contract.lines.order_by("position", "id"))
        lines = contract_period_lines(contract, contract_lines, period, company)
        for line in contract_lines:
            if not line.is_recurring and line.start_date <= month_bounds(period)[1]:
                rate, category, reason = vat_category_for(company, line.vat_rate)
                lines.append(InvoiceLine(
                    product_id=line.product_id, description=line.description[:255], quantity=line.quantity,
                    unit="unit", unit_price=line.unit_price, vat_rate=rate, vat_category=category,
                    vat_exemption_reason=reason or (line.vat_exemption_reason if category != VatCategory.STANDARD else ""),
                    accounting_code=line.accounting_code, amount_excl_vat=line.amount_excl_vat,
                    source=InvoiceLine.Source.CONTRACT_LINE, contract_id=contract.pk, contract_line_id=line.pk,
                ))  # fmt: skip
        if lines:
            month_start, month_end = month_bounds(period)
            invoice = create_invoice(
                by=None, company=company, center=contract.center, contract=contract, check_rights=False,
                origin=Invoice.Origin.FIRST_MONTH, period_start=max(month_start, contract.start_date),
                period_end=month_end,
            )  # fmt: skip
            invoice = _system_issue(invoice, lines, issue_date)
            BilledPeriod.objects.create(contract=contract, period=period, invoice=invoice)
            issued.append(invoice)
    return issued


# --------------------------------------------------------------------------------------------------
# Consumptions
# --------------------------------------------------------------------------------------------------
CONSUMPTION_FIELDS = {"company", "contact", "center", "contract", "product", "description", "date", "quantity",
                      "unit", "unit_price", "vat_rate", "vat_exemption_reason", "accounting_code"}  # fmt: skip


@transaction.atomic
def record_consumption(
    *, by: User | None, organization_id: int, data: dict[str, Any], check_rights: bool = True,
    kind: str = Consumption.Kind.CONSUMPTION, source_id: int | None = None,
) -> Consumption:  # fmt: skip
    """A one-off consumption (frontmanager §10-11) on a company, a member or a contract, in a center.

    A higher app that checked its own rights (bookings: a member's booking) records with `check_rights=False`,
    `kind` and its `source_id`."""
    if check_rights:
        rights.require(by, "billing.add_consumption", organization_id)
    refuse_unknown_fields(data, CONSUMPTION_FIELDS)
    company, center = data.get("company"), data.get("center")
    if company is None or company.organization_id != organization_id:
        raise ValidationFailed(_("Choisissez l'entreprise."), code="required", field="company")
    if center is None or center.organization_id != organization_id:
        raise ValidationFailed(_("Choisissez le centre."), code="required", field="center")
    contact, contract = data.get("contact"), data.get("contract")
    if contact is not None and contact.company_id != company.pk:
        raise ValidationFailed(_("Ce membre n'appartient pas à cette entreprise."), code="wrong_contact",
                               field="contact")  # fmt: skip
    if contract is not None and contract.company_id != company.pk:
        raise ValidationFailed(_("Ce contrat n'est pas celui de cette entreprise."), code="wrong_contract",
                               field="contract")  # fmt: skip
    probe = Invoice(organization_id=organization_id, company=company)
    line = _line_from_input(probe, {name: data[name] for name in LINE_INPUT_FIELDS & set(data)
                                    if name not in {"period_start", "period_end"}})  # fmt: skip
    if line.quantity < 0 or line.unit_price < 0:
        raise ValidationFailed(_("Une consommation ne peut pas être négative."), code="negative", field="quantity")
    requested_rate = line.vat_rate  # normalized ("20" → "20.00"); 0 % for a client not subject to VAT
    if data.get("vat_rate") is not None:
        requested_rate = f"{Decimal(str(data['vat_rate']).replace(',', '.')):.2f}"
    day = data.get("date") or timezone.localdate()
    if not isinstance(day, datetime.date):
        raise ValidationFailed(_("Date invalide."), code="invalid_date", field="date")
    consumption = Consumption.objects.create(
        organization_id=organization_id, company=company, contact=contact, center=center, contract=contract,
        product=line.product, description=line.description, date=day, quantity=line.quantity, unit=line.unit,
        unit_price=line.unit_price, vat_rate=requested_rate,
        vat_exemption_reason=line.vat_exemption_reason, accounting_code=line.accounting_code,
        amount_excl_vat=line.amount_excl_vat, created_by=by if getattr(by, "is_authenticated", False) else None,
        kind=kind, source_id=source_id,
    )  # fmt: skip
    journal.record(actor=by, action="consumption.recorded", obj=consumption,
                   changes={"company": company.pk, "amount_excl_vat": consumption.amount_excl_vat})  # fmt: skip
    return consumption


@transaction.atomic
def delete_consumption(*, consumption: Consumption, by: User | None) -> None:
    consumption = Consumption.objects.select_for_update().get(pk=consumption.pk)
    rights.require(by, "billing.delete_consumption", consumption.organization_id)
    if consumption.invoice_id is not None:
        raise BillingError(_("Cette consommation est déjà facturée."), code="already_billed")
    journal.record(actor=by, action="consumption.deleted", obj=consumption,
                   changes={"description": consumption.description, "amount_excl_vat": consumption.amount_excl_vat})  # fmt: skip
    consumption.delete()


def withdraw_consumption(*, consumption: Consumption, by: User | None) -> bool:
    """Remove a consumption a higher app recorded and no longer bills (a cancelled booking), when it is not billed
    yet; the caller checked its rights. Returns False (nothing changed) when it is already on an invoice."""
    consumption = Consumption.objects.select_for_update().get(pk=consumption.pk)
    if consumption.invoice_id is not None:
        return False
    journal.record(actor=by, action="consumption.withdrawn", obj=consumption,
                   changes={"description": consumption.description, "amount_excl_vat": consumption.amount_excl_vat})  # fmt: skip
    consumption.delete()
    return True


def consumption_line(consumption: Consumption, company: Company) -> InvoiceLine:
    rate, category, reason = vat_category_for(company, consumption.vat_rate)
    return InvoiceLine(
        product_id=consumption.product_id,
        description=f"{consumption.description} — {consumption.date:%d/%m/%Y}"[:255],
        quantity=consumption.quantity,
        unit=consumption.unit,
        unit_price=consumption.unit_price,
        vat_rate=rate,
        vat_category=category,
        vat_exemption_reason=(reason or consumption.vat_exemption_reason) if category != VatCategory.STANDARD else "",
        accounting_code=consumption.accounting_code,
        amount_excl_vat=consumption.amount_excl_vat,
        period_start=consumption.date,
        period_end=consumption.date,
        source=(InvoiceLine.Source.BOOKING if consumption.kind == Consumption.Kind.BOOKING
                else InvoiceLine.Source.CONSUMPTION),
        contract_id=consumption.contract_id,
        source_id=consumption.pk,
    )  # fmt: skip


@transaction.atomic
def invoice_consumptions(
    *, by: User | None, organization_id: int, consumption_ids: Sequence[int], issue: bool = False
) -> Invoice:
    """« Générer une facture »: one invoice (a draft, or issued at once) for the selected unbilled consumptions
    of one company in one center."""
    rights.require(by, "billing.add_invoice", organization_id)
    ids = sorted({int(pk) for pk in consumption_ids})
    if not ids:
        raise ValidationFailed(_("Sélectionnez au moins une consommation."), code="empty_selection",
                               field="consumptions")  # fmt: skip
    rows = list(
        Consumption.objects.select_for_update()
        .filter(organization_id=organization_id, pk__in=ids)
        .order_by("date", "id")
    )
    if len(rows) != len(ids):
        raise ValidationFailed(_("Consommation inconnue."), code="unknown_consumption", field="consumptions")
    if any(row.invoice_id for row in rows):
        raise BillingError(_("Une consommation sélectionnée est déjà facturée."), code="already_billed",
                           field="consumptions")  # fmt: skip
    if len({(row.company_id, row.center_id) for row in rows}) != 1:
        raise ValidationFailed(_("Sélectionnez les consommations d'une seule entreprise et d'un seul centre."),
                               code="mixed_selection", field="consumptions")  # fmt: skip
    company = Company.objects.get(pk=rows[0].company_id)
    contacts = {row.contact_id for row in rows}
    invoice = create_invoice(
        by=by, company=company, center=Center.objects.get(pk=rows[0].center_id), origin=Invoice.Origin.CONSUMPTIONS,
        contact=Contact.objects.get(pk=contacts.pop()) if len(contacts) == 1 and None not in contacts else None,
        period_start=rows[0].date, period_end=rows[-1].date,
    )  # fmt: skip
    lines = [consumption_line(row, company) for row in rows]
    for position, line in enumerate(lines, start=1):
        line.invoice, line.position = invoice, position
    InvoiceLine.objects.bulk_create(lines)
    Consumption.objects.filter(pk__in=ids).update(invoice=invoice)
    recompute_totals(invoice, lines)
    invoice.save()
    journal.record(actor=by, action="invoice.consumptions_invoiced", obj=invoice, changes={"consumptions": ids})
    if issue:
        invoice = issue_invoice(invoice=invoice, by=by)
    return invoice


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------
PROFILE_FIELDS = {"numbering", "invoice_prefix", "credit_note_prefix", "payment_terms_days", "late_penalty_rate",
                  "recovery_indemnity", "early_payment_terms", "customer_account", "sales_account",
                  "deposit_account", "vat_account_prefix", "sales_journal", "locked_until", "brand_color"}  # fmt: skip


@transaction.atomic
def update_billing_profile(*, legal_entity: LegalEntity, by: User | None, data: dict[str, Any]) -> BillingProfile:
    """Change an entity's invoicing settings. Numbering and prefixes cannot change once a document is issued;
    the locked period only moves forward."""
    rights.require(by, "billing.change_billingprofile", legal_entity.organization_id)
    profile = BillingProfile.objects.select_for_update().get(pk=billing_profile(legal_entity).pk)
    from comptoir.core.services import apply_changes

    issued = Invoice.objects.filter(legal_entity=legal_entity).exclude(status=Invoice.Status.DRAFT).exists()
    for name in ("numbering", "invoice_prefix", "credit_note_prefix"):
        if issued and name in data and data[name] != getattr(profile, name):
            raise ValidationFailed(
                _("La numérotation ne peut plus changer : des documents ont déjà été émis."), code="numbering_frozen",
                field=name,
            )  # fmt: skip
    if (
        "locked_until" in data
        and profile.locked_until
        and (data["locked_until"] is None or data["locked_until"] < profile.locked_until)
    ):
        raise ValidationFailed(_("Une période verrouillée ne peut pas être déverrouillée."), code="lock_backwards",
                               field="locked_until")  # fmt: skip
    changes = apply_changes(profile, data, PROFILE_FIELDS)
    profile.save()
    if changes:
        journal.record(actor=by, action="billingprofile.changed", obj=profile, changes=changes)
    return profile


# --------------------------------------------------------------------------------------------------
# A client's invoicing data (Chorus Pro fields, auxiliary account, payment terms)
# --------------------------------------------------------------------------------------------------
CUSTOMER_FIELDS = {"is_public_entity", "service_code", "commitment_number", "auxiliary_account", "payment_terms_days"}


@transaction.atomic
def update_customer_profile(*, company: Company, by: User | None, data: dict[str, Any]) -> CustomerBillingProfile:
    """Change a client's invoicing data. A public entity (Chorus Pro) needs its SIRET on the company."""
    rights.require(by, "crm.change_company", company.organization_id)
    profile, _created = CustomerBillingProfile.objects.select_for_update().get_or_create(
        company=company, defaults={"organization_id": company.organization_id}
    )
    from comptoir.core.services import apply_changes

    changes = apply_changes(profile, data, CUSTOMER_FIELDS)
    if profile.is_public_entity and not company.siret:
        raise ValidationFailed(
            _("Une entité publique doit avoir son SIRET sur sa fiche pour le dépôt sur Chorus Pro."),
            code="siret_required", field="is_public_entity",
        )  # fmt: skip
    profile.save()
    if changes:
        journal.record(actor=by, action="customerbillingprofile.changed", obj=company, changes=changes)
    return profile
