"""Reactions of payments to operations (comptoir.core.events), registered in AppConfig.ready()."""

from __future__ import annotations

from comptoir.core import events


def register() -> None:
    """A payment reversed by hand rejects its direct debit (services.debits); an invoice cancelled by a credit note
    stops its active payment links (services.links); billing is called directly by this app's services (a higher
    app calls a lower one)."""
    from comptoir.payments.services import debits, links

    events.subscribe("payment.reversed", debits.debit_payment_reversed)
    events.subscribe("invoice.cancelled", links.invoice_cancelled, order=20)
