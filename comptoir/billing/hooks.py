"""Reactions of billing to other apps' operations (comptoir.core.events), registered in AppConfig.ready()."""

from __future__ import annotations

from typing import Any

from comptoir.core import events


def on_contract_signed(*, contract: Any, by: Any = None, **_: Any) -> None:
    """A signed contract gets its first invoices: the deposit and the first month, prorated from its start."""
    from comptoir.billing.services.invoices import issue_first_invoices

    issue_first_invoices(contract=contract)


def register() -> None:
    events.subscribe("contract.signed", on_contract_signed, order=10)
