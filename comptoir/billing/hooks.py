"""Reactions of billing to other apps' operations (comptoir.core.events) and its registrations in the shared
registries (global search), done in AppConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import events
from comptoir.core.search import Hit, register_provider


def on_contract_signed(*, contract: Any, by: Any = None, **_payload: Any) -> None:
    """A signed contract gets its first invoices: the deposit and the first month, prorated from its start."""
    from comptoir.billing.services.invoices import issue_first_invoices

    issue_first_invoices(contract=contract)


def company_deletion_check(*, company: Any, **_payload: Any) -> str | None:
    from comptoir.billing.models import Consumption, Invoice

    if Invoice.objects.filter(company=company).exists() or Consumption.objects.filter(company=company).exists():
        return _("elle a des factures ou des consommations")
    return None


def search_invoices(user: Any, organization: Any, query: str, limit: int) -> list[Hit]:
    """Invoices and credit notes by number ("FA-2026-0001", "2026-000123", "123"): an indexed prefix or suffix
    match on the reference, within the viewer's rights and centers."""
    from comptoir.billing import selectors
    from comptoir.core.money import format_money

    text = query.strip().upper()
    if len(text) < 2 or organization is None or not any(character.isdigit() for character in text):
        return []  # a number always has digits: no query for a name
    qs = selectors.invoices_for(user, organization).exclude(reference="")
    if text[:2].isalpha():
        qs = qs.filter(reference__startswith=text)
    elif text.isdigit():
        qs = qs.filter(reference__endswith=text.zfill(6) if len(text) <= 6 else text)
    else:
        qs = qs.filter(reference__contains=text)
    rows = qs.order_by("-issue_date", "-id").values(
        "pk", "reference", "kind", "company__name", "total_incl_vat", "issue_date"
    )[: limit + 1]
    return [
        Hit(
            kind="invoice",
            label=row["reference"],
            sublabel=f"{row['company__name']} — {format_money(row['total_incl_vat'])}",
            url=reverse("billing:invoice_detail", args=[row["pk"]]),
            reference=row["reference"],
        )
        for row in rows
    ]


def on_invoice_issued(*, invoice: Any, by: Any = None, **_payload: Any) -> None:
    """An issued document is delivered after commit by the client's methods (e-mail, Chorus Pro, ...)."""
    from comptoir.billing.services.delivery import on_invoice_issued as schedule_delivery

    schedule_delivery(invoice=invoice, by=by)


def register() -> None:
    events.subscribe("contract.signed", on_contract_signed, order=10)
    events.subscribe("invoice.issued", on_invoice_issued, order=50)
    events.subscribe("company.deletion_check", company_deletion_check, order=60)
    register_provider("invoice", gettext_lazy("Factures"), search_invoices, order=30)
