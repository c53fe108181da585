"""The quote's PDF: A4, issuer and client, the offers side by side (up to four columns) with their lines,
each line's price breakdown in small print, totals per offer (monthly excl. VAT, VAT per rate, incl. VAT,
one-off fees, deposit), notes, the "Bon pour accord" box and the legal mentions.

Every word comes from here (gettext) and every amount is already formatted: `sales/typst/quote.typ`
only lays the data out.
"""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.catalog.models import ServiceType
from comptoir.core.money import format_money
from comptoir.core.pdf import render_pdf
from comptoir.sales.models import Offer, Quote
from comptoir.sales.services.quotes import compute_totals


def _date(value: Any, tz: Any = None) -> str:
    """dd/mm/yyyy; a moment is shown in the center's timezone (DESIGN.md invariant 13)."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value, tz).date()
    return value.strftime("%d/%m/%Y")


def _center_tz(quote: Quote) -> Any:
    try:
        return zoneinfo.ZoneInfo(quote.center.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _rate(rate: Decimal) -> str:
    text = format(rate.normalize(), "f") if rate == rate.to_integral() else str(rate)
    return text.replace(".", ",") + " %"


def _quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return text.replace(".", ",")


def _issuer(quote: Quote) -> dict[str, Any]:
    entity = quote.legal_entity
    ids = []
    if entity.legal_form:
        form = entity.legal_form
        if entity.share_capital:
            form += " " + _("au capital de %(capital)s") % {"capital": entity.share_capital}
        ids.append(form)
    if entity.siren:
        ids.append(_("SIREN %(siren)s") % {"siren": entity.siren})
    if entity.siret:
        ids.append(_("SIRET %(siret)s") % {"siret": entity.siret})
    if entity.rcs:
        ids.append(_("RCS %(rcs)s") % {"rcs": entity.rcs})
    if entity.vat_number:
        ids.append(_("TVA intracommunautaire %(vat)s") % {"vat": entity.vat_number})
    if entity.approval_number:
        ids.append(_("Agrément domiciliation n° %(number)s") % {"number": entity.approval_number})
    return {"name": entity.name, "address": entity.address_lines, "ids": " · ".join(ids), "id_lines": ids}


def _client(quote: Quote) -> dict[str, Any]:
    company = quote.company
    lines = list(company.address_lines)
    ids = []
    if company.siren:
        ids.append(_("SIREN %(siren)s") % {"siren": company.siren})
    if company.vat_number:
        ids.append(_("TVA intracommunautaire %(vat)s") % {"vat": company.vat_number})
    return {"name": company.name, "address": lines, "ids": ids}


def _line(line: Any) -> dict[str, Any]:
    steps = (line.breakdown or {}).get("steps", [])
    breakdown = [
        {
            "label": step["label"],
            "detail": step["detail"],
            "amount": format_money(Decimal(step["amount"])),
        }
        for step in steps
    ]
    return {
        "description": line.description,
        "kind": str(line.get_kind_display()),
        "quantity": _quantity(Decimal(line.quantity)),
        "unit_price": format_money(line.unit_price),
        "amount": format_money(line.amount_excl_vat),
        "vat_rate": _rate(Decimal(str(line.vat_rate))),
        "recurring": bool(line.is_recurring),
        "breakdown": breakdown,
    }


def offer_data(offer: Offer) -> dict[str, Any]:
    lines = list(offer.lines.all())
    totals = compute_totals(lines)
    return {
        "position": offer.position,
        "title": offer.title,
        "service": str(ServiceType(offer.service_type).label) if offer.service_type in ServiceType.values else "",
        "term": _("%(months)s mois") % {"months": offer.term_months},
        "start_date": _date(offer.start_date),
        "lines": [_line(line) for line in lines],
        "monthly_excl_vat": format_money(totals.monthly_excl_vat),
        "monthly_vat": [
            {"label": _("TVA %(rate)s") % {"rate": _rate(rate)}, "amount": format_money(amount)}
            for rate, amount in totals.monthly_vat_by_rate.items()
        ],
        "monthly_vat_total": format_money(totals.monthly_vat),
        "monthly_incl_vat": format_money(totals.monthly_incl_vat),
        "one_off_excl_vat": format_money(totals.one_off_excl_vat) if totals.one_off_excl_vat else "",
        "one_off_incl_vat": format_money(totals.one_off_incl_vat) if totals.one_off_excl_vat else "",
        "deposit": format_money(offer.deposit) if offer.deposit else "",
        "chosen": offer.quote.chosen_offer_id == offer.pk,
        # raw figures, for checks (not printed)
        "raw": {
            "monthly_excl_vat": str(totals.monthly_excl_vat),
            "monthly_vat": str(totals.monthly_vat),
            "monthly_incl_vat": str(totals.monthly_incl_vat),
            "one_off_excl_vat": str(totals.one_off_excl_vat),
        },
    }


def quote_pdf_data(quote: Quote) -> dict[str, Any]:
    """Everything the Typst template prints, words included (in French)."""
    with translation.override("fr"):
        offers = [offer_data(offer) for offer in quote.offers.all()]
        issuer = _issuer(quote)
        title = _("Devis %(reference)s") % {"reference": quote.reference}
        return {
            "title": title,
            "subject": quote.title,
            "issuer": issuer,
            "client": _client(quote),
            "facts": [
                [_("Référence"), quote.reference],
                [_("Date"), _date(quote.sent_at or quote.created_at, _center_tz(quote))],
                [_("Valable jusqu'au"), _date(quote.valid_until)],
                [_("Centre"), quote.center.name],
            ],
            "offers": offers,
            "notes": quote.notes,
            "labels": {
                "client": _("Client"),
                "issuer": _("Émetteur"),
                "offer": _("Offre"),
                "service": _("Service principal"),
                "term": _("Engagement"),
                "start": _("Début"),
                "description": _("Désignation"),
                "quantity": _("Qté"),
                "unit_price": _("Prix unitaire HT"),
                "amount": _("Montant HT"),
                "monthly": _("mensuel"),
                "one_off": _("unique"),
                "monthly_excl_vat": _("Total mensuel HT"),
                "monthly_incl_vat": _("Total mensuel TTC"),
                "one_off_excl_vat": _("Frais uniques HT"),
                "one_off_incl_vat": _("Frais uniques TTC"),
                "deposit": _("Dépôt de garantie"),
                "notes": _("Conditions particulières"),
                "offers": _("Nos propositions"),
                "chosen": _("Offre retenue"),
                "acceptance": _("Bon pour accord"),
                "acceptance_text": _(
                    "Offre retenue n° ……  —  Date, nom, qualité et signature du client, précédés de la mention "
                    "« Bon pour accord »"
                ),
            },
            "footer": " · ".join(
                part
                for part in [
                    issuer["name"],
                    " ".join(issuer["address"]),
                    issuer["ids"],
                    _("Prix en euros hors taxes sauf mention contraire ; TVA au taux en vigueur."),
                ]
                if part
            ),
        }


def render_quote_pdf(quote: Quote) -> bytes:
    quote = (
        Quote.objects.select_related("legal_entity", "company", "center")
        .prefetch_related("offers__lines")
        .get(pk=quote.pk)
    )
    logo = None
    if quote.legal_entity.logo:
        try:
            with quote.legal_entity.logo.open("rb") as handle:
                logo = handle.read()
        except OSError:
            logo = None
    return render_pdf("sales/quote.typ", quote_pdf_data(quote), logo=logo)
