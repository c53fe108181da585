"""Rendering and storing an issued document's files (filled in by the documents module)."""

from __future__ import annotations

from comptoir.billing.models import Invoice


def ensure_pdf(invoice: Invoice) -> bytes:
    """The stored Factur-X PDF of an issued document, rendered and stored the first time."""
    raise NotImplementedError
