"""The invoice's PDF: Factur-X, PDF/A-3b with its CII XML embedded (DESIGN.md invariant 4).

A4, one page or more: the legal entity's logo and brand color, the seller's legal identity, the buyer, the
title (« Facture » / « Avoir ») with its number, dates, service period and the credited invoice, the lines
(désignation, période, qté, PU HT, remise, TVA, montant HT), the VAT breakdown per rate with the exemption
reasons, the totals, the payment terms with IBAN / BIC, and the mentions French law asks for (late-payment
penalties, the 40 € recovery indemnity for businesses only, early-payment terms, the entity's own mentions).

Every word comes from here, in French, and every amount and date is already formatted: `billing/typst/invoice.typ`
only lays the data out. The PDF is a function of the frozen document; its content date is the moment of issue.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import facturx
from django.utils import translation
from django.utils.translation import gettext as _

from comptoir.billing.documents.cii import (
    DocumentLine,
    document_lines,
    invoice_cii,
    legal_notes,
    seller_legal_info,
    vat_groups,
)
from comptoir.billing.models import BillingProfile, Invoice, VatCategory
from comptoir.billing.services.invoices import buyer_snapshot, seller_snapshot
from comptoir.core.money import format_money
from comptoir.core.pdf import render_pdf

TEMPLATE = "billing/invoice.typ"
PDF_STANDARD = "a-3b"


def _day(value: datetime.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _period(start: datetime.date | None, end: datetime.date | None) -> str:
    if start and end:
        return f"{_day(start)} – {_day(end)}"
    return _day(start or end)


def _quantity(line: DocumentLine) -> str:
    text = format(line.quantity.normalize(), "f").replace(".", ",")
    units = {"month": _("mois"), "hour": _("h"), "day": _("j"), "half_day": _("½ j")}
    return f"{text}\u00a0{units[line.unit]}" if line.unit in units else text


def _price(value: Decimal) -> str:
    """A unit price in French: two decimals, up to four when it has them (0,1525 €)."""
    decimals = f"{value:.4f}".split(".")[1].rstrip("0")
    if len(decimals) <= 2:
        return format_money(value)
    return format_money(value.quantize(Decimal(1), rounding=ROUND_DOWN)).replace(",00\u00a0", f",{decimals}\u00a0")


def _seller(seller: dict[str, Any]) -> dict[str, Any]:
    ids = []
    legal = seller_legal_info(seller)
    if legal:
        ids.append(legal)
    if seller.get("siren"):
        ids.append(_("SIREN %(siren)s") % {"siren": seller["siren"]})
    if seller.get("siret"):
        ids.append(_("SIRET %(siret)s") % {"siret": seller["siret"]})
    if seller.get("vat_number"):
        ids.append(_("TVA intracommunautaire %(vat)s") % {"vat": seller["vat_number"]})
    contact = " · ".join(str(seller[key]) for key in ("phone", "email") if seller.get(key))
    return {
        "name": seller.get("name", ""),
        "address": _address_lines(seller),
        "ids": " · ".join(ids),
        "id_lines": ids,
        "contact": contact,
    }


def _address_lines(party: dict[str, Any]) -> list[str]:
    city = " ".join(str(part) for part in (party.get("postal_code"), party.get("city")) if part)
    lines = [str(party.get(key) or "") for key in ("address_line1", "address_line2")] + [city]
    country = party.get("country") or "FR"
    if country != "FR":
        lines.append(country)
    return [line for line in lines if line]


def _buyer(buyer: dict[str, Any]) -> dict[str, Any]:
    ids = []
    if buyer.get("siren") and buyer.get("is_business"):
        ids.append(_("SIREN %(siren)s") % {"siren": buyer["siren"]})
    if buyer.get("vat_number"):
        ids.append(_("TVA intracommunautaire %(vat)s") % {"vat": buyer["vat_number"]})
    if buyer.get("reference"):
        ids.append(_("Client %(reference)s") % {"reference": buyer["reference"]})
    attention = _("À l'attention de %(name)s") % {"name": buyer["contact"]} if buyer.get("contact") else ""
    return {"name": buyer.get("name", ""), "address": _address_lines(buyer), "ids": ids, "attention": attention}


def _vat_label(category: str, rate: Decimal) -> str:
    labels = {
        VatCategory.EXEMPT: _("Exonéré"),
        VatCategory.REVERSE_CHARGE: _("Autoliquidation"),
        VatCategory.INTRA_EU: _("Livraison intracommunautaire"),
        VatCategory.OUTSIDE_SCOPE: _("Hors champ de la TVA"),
    }
    return labels.get(category) or _("TVA %(rate)s") % {"rate": _rate(rate)}


def _rate(rate: Decimal) -> str:
    """20 %, 5,5 %."""
    return format(Decimal(rate).normalize(), "f").replace(".", ",") + "\u00a0%"


def _line_rate(line: DocumentLine) -> str:
    if line.category == VatCategory.STANDARD:
        return _rate(line.rate)
    return {"E": _("Exo."), "AE": _("Autoliq."), "K": _("Intra-UE"), "O": _("H.C.")}.get(line.category, "")


def _payment(invoice: Invoice, seller: dict[str, Any]) -> list[list[str]]:
    rows = []
    if invoice.payment_terms:
        rows.append([_("Conditions"), invoice.payment_terms])
    if invoice.due_date and not invoice.is_credit_note:
        rows.append([_("Échéance"), _day(invoice.due_date)])
    if invoice.payment_method == "direct_debit":
        rows.append([_("Règlement"), _("Prélèvement SEPA sur votre compte à l'échéance.")])
    elif seller.get("iban"):
        bank = _("IBAN %(iban)s") % {"iban": _grouped_iban(str(seller["iban"]))}
        if seller.get("bic"):
            bank += " · " + _("BIC %(bic)s") % {"bic": seller["bic"]}
        rows.append([_("Virement"), bank])
    if invoice.reference and not invoice.is_credit_note:
        rows.append([_("Référence à rappeler"), invoice.reference])
    return rows


def _grouped_iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[index : index + 4] for index in range(0, len(compact), 4))


def invoice_pdf_data(invoice: Invoice, *, draft: bool = False) -> dict[str, Any]:
    """Everything the Typst template prints, words included (in French)."""
    with translation.override("fr"):
        seller_data, buyer_data = invoice.seller, invoice.buyer
        if draft or not seller_data:
            from comptoir.billing.services.invoices import billing_profile

            seller_data = seller_snapshot(invoice.legal_entity, billing_profile(invoice.legal_entity_id))
            buyer_data = buyer_snapshot(invoice.company, invoice.contact)
        kind = _("Avoir") if invoice.is_credit_note else _("Facture")
        reference = invoice.reference or _("brouillon")
        title = f"{kind} {reference}"
        facts = [[_("Date d'émission"), _day(invoice.issue_date) or "—"]]
        if invoice.due_date and not invoice.is_credit_note:
            facts.append([_("Échéance"), _day(invoice.due_date)])
        if invoice.period_start or invoice.period_end:
            facts.append([_("Période"), _period(invoice.period_start, invoice.period_end)])
        credited = invoice.credited_invoice
        if credited is not None:
            facts.append([_("Facture d'origine"), _("%(reference)s du %(day)s")
                          % {"reference": credited.reference, "day": _day(credited.issue_date)}])  # fmt: skip
        if invoice.contract_id:
            facts.append([_("Contrat"), invoice.contract.reference])
        if invoice.buyer_reference:
            facts.append([_("Référence acheteur"), invoice.buyer_reference])
        if invoice.purchase_order:
            facts.append([_("N° d'engagement"), invoice.purchase_order])
        lines = [
            {
                "description": line.name,
                "period": _period(line.period_start, line.period_end),
                "quantity": _quantity(line),
                "unit_price": _price(line.net_price),
                "discount": format_money(line.allowance) if line.allowance else "",
                "vat_rate": _line_rate(line),
                "amount": format_money(line.net_amount),
            }
            for line in document_lines(invoice)
        ]
        vat = [
            {
                "label": _vat_label(group.category, group.rate),
                "base": format_money(group.base),
                "vat": format_money(group.vat),
                "reason": group.exemption_reason,
            }
            for group in vat_groups(invoice)
        ]
        totals = [
            [_("Total HT"), format_money(invoice.total_excl_vat)],
            [_("Total TVA"), format_money(invoice.total_vat)],
        ]
        grand_total = [_("Total TTC"), format_money(invoice.total_incl_vat)]
        probe = Invoice(notes=invoice.notes, seller=seller_data, buyer=buyer_data)
        notes = legal_notes(probe)
        seller = _seller(seller_data)
        return {
            "title": title,
            "kind": kind,
            "reference": reference,
            "accent": _brand_color(invoice),
            "watermark": _("BROUILLON") if draft else "",
            "issuer": seller,
            "client": _buyer(buyer_data),
            "facts": facts,
            "lines": lines,
            "vat": vat,
            "totals": totals,
            "grand_total": grand_total,
            "payment": _payment(invoice, seller_data),
            "notes": invoice.notes.strip(),
            "mentions": [text for code, text in notes if code != "AAI"],
            "labels": {
                "seller": _("Émetteur"),
                "client": _("Client"),
                "description": _("Désignation"),
                "period": _("Période"),
                "quantity": _("Qté"),
                "unit_price": _("PU HT"),
                "discount": _("Remise"),
                "vat_rate": _("TVA"),
                "amount": _("Montant HT"),
                "vat_breakdown": _("Détail de la TVA"),
                "vat_base": _("Base HT"),
                "vat_amount": _("Montant TVA"),
                "payment": _("Paiement"),
                "notes": _("Commentaire"),
                "mentions": _("Mentions légales"),
            },
            "footer": " · ".join(part for part in [seller["name"], " ".join(seller["address"]), seller["ids"]] if part),
        }


def _brand_color(invoice: Invoice) -> str:
    color = (
        BillingProfile.objects.filter(legal_entity_id=invoice.legal_entity_id)
        .values_list("brand_color", flat=True)
        .first()
    )
    return color or "#1F4E79"


def _logo(invoice: Invoice) -> bytes | None:
    entity = invoice.legal_entity
    if not entity.logo:
        return None
    try:
        with entity.logo.open("rb") as handle:
            return handle.read()
    except OSError:
        return None


def compile_pdf(
    data: dict[str, Any], *, logo: bytes | None = None, when: datetime.datetime | None = None, pdf_a: bool = True
) -> bytes:
    """`comptoir.core.pdf.render_pdf` with the PDF/A-3b standard that Factur-X asks for."""
    return render_pdf(TEMPLATE, data, logo=logo, when=when, pdf_standards=[PDF_STANDARD] if pdf_a else [])


def invoice_pdf(invoice: Invoice) -> bytes:
    """The Factur-X PDF (PDF/A-3b, CII EN 16931 embedded as factur-x.xml) of an issued invoice or credit note."""
    invoice = Invoice.objects.select_related("legal_entity", "credited_invoice", "contract").get(pk=invoice.pk)
    if invoice.is_draft:
        raise ValueError("Only an issued document has a Factur-X PDF.")
    data = invoice_pdf_data(invoice)
    pdf = compile_pdf(data, logo=_logo(invoice), when=invoice.issued_at)
    xml = invoice_cii(invoice)
    seller = invoice.seller.get("name", "")
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": seller,
            "keywords": "Factur-X, " + data["kind"],
            "title": data["title"],
            "subject": f"{data['title']} — {seller}",
        },
        lang="fr-FR",
    )


def preview_pdf(invoice: Invoice) -> bytes:
    """A preview watermarked « BROUILLON », with today's seller and buyer: plain PDF, no Factur-X, not stored."""
    invoice = Invoice.objects.select_related("legal_entity", "company", "contact", "credited_invoice", "contract").get(
        pk=invoice.pk
    )
    return compile_pdf(invoice_pdf_data(invoice, draft=True), logo=_logo(invoice), pdf_a=False)
