"""Rendering and storing an issued document's files.

An issued invoice or credit note is rendered once (Factur-X PDF/A-3b with its CII XML) and then served as it
was stored: `ensure_pdf` renders and stores it the first time (`render_documents_task` after issue, or the
first download), `stored_cii` answers `/facturx.xml` with the XML embedded in that stored PDF. Drafts have
no document, only a watermarked preview.

On an issued row only `status`, `pdf` and `pdf_sha256` may change (a PostgreSQL trigger refuses the rest), so
storing writes these two columns and nothing else, with a conditional update: when two workers render the
same document at once, the first one stored wins and the other one's file is removed.
"""

from __future__ import annotations

import hashlib
import secrets

import facturx
from django.core.files.base import ContentFile
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from comptoir.billing.documents.pdf import invoice_pdf, preview_pdf
from comptoir.billing.models import Invoice
from comptoir.billing.services.invoices import BillingError


def _read(invoice: Invoice) -> bytes:
    with invoice.pdf.open("rb") as handle:
        return handle.read()


def storage_name(invoice: Invoice) -> str:
    """invoices/<organization id>/<reference>-<random>.pdf (the random part keeps the name unguessable)."""
    return f"invoices/{invoice.organization_id}/{get_valid_filename(invoice.reference)}-{secrets.token_hex(6)}.pdf"


def ensure_pdf(invoice: Invoice, *, reload: bool = True) -> bytes:
    """The stored Factur-X PDF of an issued document, rendered and stored the first time. `reload=False` trusts
    the given row (read just before, as exports do for a whole chunk: no query per document)."""
    if reload:
        invoice = Invoice.objects.get(pk=invoice.pk)
    if invoice.is_draft:
        raise BillingError(_("Un brouillon n'a pas encore de facture PDF : émettez-le d'abord."), code="not_issued")
    if invoice.pdf:
        return _read(invoice)
    pdf = invoice_pdf(invoice)
    storage = invoice.pdf.storage
    name = storage.save(storage_name(invoice), ContentFile(pdf))
    stored = Invoice.objects.filter(pk=invoice.pk, pdf="").update(pdf=name, pdf_sha256=hashlib.sha256(pdf).hexdigest())
    if not stored:  # another worker stored its rendering first: serve that one
        storage.delete(name)
        invoice.refresh_from_db(fields=["pdf", "pdf_sha256"])
        return _read(invoice)
    return pdf


def stored_cii(invoice: Invoice) -> bytes:
    """The CII XML embedded in the stored PDF: exactly what was issued (rendered first if needed)."""
    pdf = ensure_pdf(invoice)
    _name, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    if not xml:
        raise BillingError(_("Le PDF de ce document ne contient pas de XML Factur-X."), code="no_facturx_xml")
    return xml


def draft_preview_pdf(invoice: Invoice) -> bytes:
    """A draft's preview watermarked « BROUILLON » (not stored, no Factur-X); an issued document's stored PDF."""
    if Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.DRAFT).exists():
        return preview_pdf(invoice)
    return ensure_pdf(invoice)
