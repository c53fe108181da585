"""Reactions of payments to operations (comptoir.core.events), registered in AppConfig.ready()."""

from __future__ import annotations

from comptoir.core import events


def register() -> None:
    """A payment reversed by hand rejects its direct debit (services.debits); billing is called directly by this
    app's services (a higher app calls a lower one)."""
    from comptoir.payments.services import debits

    events.subscribe("payment.reversed", debits.debit_payment_reversed)
