"""The contract's PDF (Typst, `comptoir/sales/typst/contract.typ`): parties, center, spaces and services with
their frozen prices, dates and conditions, then the general terms (CGV) of the contract's version.

Every word comes from here (gettext), every amount is already formatted: the template holds no words."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from comptoir.core.money import format_money, round_cents
from comptoir.core.pdf import render_pdf
from comptoir.sales.models import Contract, ContractLine


def _day(value: Any) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else ""


def _ids(entity: Any) -> list[str]:
    parts = []
    if getattr(entity, "siren", ""):
        parts.append(_("SIREN %(value)s") % {"value": entity.siren})
    if getattr(entity, "siret", ""):
        parts.append(_("SIRET %(value)s") % {"value": entity.siret})
    if getattr(entity, "vat_number", ""):
        parts.append(_("TVA %(value)s") % {"value": entity.vat_number})
    return parts


def _rate(value: str) -> str:
    rate = Decimal(value or "0")
    text = f"{rate.normalize():f}" if rate == rate.to_integral() else f"{rate:f}".rstrip("0")
    return f"{text.replace('.', ',')} %"


def lines_in_force(contract: Contract) -> list[ContractLine]:
    """The lines the document shows: those not closed before today (or before the start)."""
    since = max(contract.start_date, timezone.localdate())
    return [
        line
        for line in contract.lines.select_related("space", "product").order_by("start_date", "position", "id")
        if line.end_date is None or line.end_date >= since or not line.is_recurring
    ]


def contract_data(contract: Contract) -> dict[str, Any]:
    from comptoir.sales.services.contracts import payment_method_label

    entity, company, center = contract.legal_entity, contract.company, contract.center
    lines = lines_in_force(contract)
    rows, one_off_rows = [], []
    per_rate: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    one_off_total = Decimal("0.00")
    for line in lines:
        vat = round_cents(line.amount_excl_vat * Decimal(line.vat_rate) / 100)
        dates = ""
        if line.start_date != contract.start_date or line.end_date:
            dates = _("du %(start)s") % {"start": _day(line.start_date)}
            if line.end_date:
                dates += " " + _("au %(end)s") % {"end": _day(line.end_date)}
        row = [
            line.description + (f" ({dates})" if dates else ""),
            f"{line.quantity.normalize():f}".replace(".", ","),
            format_money(line.unit_price),
            format_money(line.amount_excl_vat),
            _rate(line.vat_rate),
            format_money(vat),
            format_money(line.amount_excl_vat + vat),
        ]
        if line.is_recurring:
            rows.append(row)
            per_rate[line.vat_rate] += line.amount_excl_vat
        else:
            one_off_rows.append(row)
            one_off_total += line.amount_excl_vat
    monthly_excl = sum(per_rate.values(), Decimal("0.00"))
    monthly_vat = sum((round_cents(amount * Decimal(rate) / 100) for rate, amount in per_rate.items()), Decimal("0.00"))
    terms = contract.terms
    title = _("Contrat %(reference)s") % {"reference": contract.reference}
    return {
        "title": title,
        "subtitle": _("Version %(version)s — %(service)s")
        % {
            "version": contract.version,
            "service": contract.get_service_type_display(),
        },
        "issuer": {"name": entity.name, "address": entity.address_lines, "ids": " · ".join(_ids(entity))},
        "footer": " · ".join([entity.name, *_ids(entity)]),
        "labels": {
            "parties": _("Les parties"),
            "provider": _("Le prestataire"),
            "client": _("Le client"),
            "center": _("Centre"),
            "services": _("Espaces et services"),
            "one_off": _("Frais uniques"),
            "header": [
                _("Désignation"),
                _("Qté"),
                _("Prix unitaire HT"),
                _("Mensuel HT"),
                _("TVA"),
                _("Montant TVA"),
                _("Mensuel TTC"),
            ],
            "one_off_header": [
                _("Désignation"),
                _("Qté"),
                _("Prix unitaire HT"),
                _("Montant HT"),
                _("TVA"),
                _("Montant TVA"),
                _("Montant TTC"),
            ],
            "conditions": _("Conditions"),
            "signature": _("Signature"),
            "terms": _("Conditions générales"),
        },
        "provider": {
            "name": entity.name,
            "lines": [*entity.address_lines, *_ids(entity)],
        },
        "client": {
            "name": company.name,
            "lines": [*company.address_lines, *_ids(company)] if hasattr(company, "address_lines") else _ids(company),
        },
        "center": {"name": center.name, "lines": center.address_lines if hasattr(center, "address_lines") else []},
        "rows": rows,
        "one_off_rows": one_off_rows,
        "totals": [
            [_("Total mensuel HT"), format_money(monthly_excl)],
            [_("TVA"), format_money(monthly_vat)],
            [_("Total mensuel TTC"), format_money(monthly_excl + monthly_vat)],
        ],
        "one_off_total": [_("Total des frais uniques HT"), format_money(one_off_total)] if one_off_rows else None,
        "conditions": [
            [_("Date de début"), _day(contract.start_date)],
            [_("Fin d'engagement"), _day(contract.commitment_end)],
            *([[_("Date de fin"), _day(contract.end_date)]] if contract.end_date else []),
            [_("Préavis"), _("%(months)s mois") % {"months": contract.notice_months}],
            [_("Reconduction"), contract.get_renewal_display()],
            [_("Dépôt de garantie"), format_money(contract.deposit)],
            [_("Jour de facturation"), _("le %(day)s de chaque mois") % {"day": contract.billing_day}],
            [_("Mode de paiement"), payment_method_label(contract) or "—"],
        ],
        "signature": _("Signature électronique par code SMS — voir la page de preuve"),
        "signer": (
            _("Signataire : %(name)s") % {"name": contract.signer.full_name} if contract.signer_id else ""  # type: ignore[union-attr]
        ),
        "terms": {
            "title": terms.title if terms else _("Conditions générales de vente"),
            "version": _("Version %(version)s du %(date)s")
            % {
                "version": terms.version,
                "date": _day(timezone.localtime(terms.published_at).date()),
            }
            if terms
            else "",
            "paragraphs": [part.strip() for part in (terms.body if terms else "").split("\n") if part.strip()],
        },
    }


def render_contract_pdf(contract: Contract) -> bytes:
    contract = Contract.objects.select_related("legal_entity", "company", "center", "terms", "signer").get(
        pk=contract.pk
    )
    return render_pdf("sales/contract.typ", contract_data(contract))
