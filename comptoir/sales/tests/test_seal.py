"""The organization's seal (pyHanko): a sealed PDF verifies; one changed byte breaks it."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from comptoir.core.pdf import render_pdf
from comptoir.sales import seal
from comptoir.sales.models import SealingCertificate

DATA = {
    "title": "Contrat CT-000001",
    "issuer": {"name": "Comptoir Opéra SAS", "address": ["12 rue de la Paix", "75002 Paris"], "ids": "SIREN 123"},
    "footer": "Comptoir Opéra SAS",
    "rows": [["Bureau 12", "1 234,56 €"]],
}


@pytest.fixture
def pdf() -> bytes:
    return render_pdf("core/sample.typ", DATA)


def test_the_certificate_is_generated_once_per_organization_with_an_encrypted_key(org, other_org):
    first = seal.sealing_certificate(org)
    assert seal.sealing_certificate(org).pk == first.pk
    assert seal.sealing_certificate(other_org).pk != first.pk
    assert "ENCRYPTED PRIVATE KEY" in first.private_key_pem
    assert (first.not_after - first.not_before).days >= 3650
    assert SealingCertificate.objects.filter(organization=org).count() == 1


def test_a_sealed_pdf_verifies_with_pyhanko_against_the_organizations_certificate(org, pdf):
    sealed = seal.seal_pdf(org, pdf)

    assert sealed.startswith(pdf)  # an incremental revision: the original bytes are kept
    result = seal.verify_sealed_pdf(org, sealed)
    assert result.intact is True, result.message
    assert result.signed_by == org.name
    assert result.signed_at is not None
    # and directly with pyHanko, trusting only the organization's certificate
    embedded = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[0]
    assert embedded.field_name == "Comptoir"
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=seal.trusted_certificates(org)))
    assert status.intact and status.valid and status.trusted


def test_one_changed_byte_inside_the_signed_range_breaks_the_seal(org, pdf):
    sealed = bytearray(seal.seal_pdf(org, pdf))
    position = sealed.index(b"Contrat") if b"Contrat" in sealed else len(pdf) // 2
    sealed[position] ^= 0x01

    result = seal.verify_sealed_pdf(org, bytes(sealed))

    assert result.intact is False
    assert result.message


def test_another_organizations_seal_is_not_trusted(org, other_org, pdf):
    result = seal.verify_sealed_pdf(org, seal.seal_pdf(other_org, pdf))
    assert result.intact is False


def test_an_unsealed_or_unreadable_file_is_reported_not_intact(org, pdf):
    assert seal.verify_sealed_pdf(org, pdf).intact is False
    assert seal.verify_sealed_pdf(org, b"not a pdf").intact is False


def test_content_appended_after_the_seal_is_detected(org, pdf):
    from comptoir.sales.services.signature import append_pdf

    sealed = seal.seal_pdf(org, pdf)
    result = seal.verify_sealed_pdf(org, append_pdf(sealed, pdf))
    assert result.intact is False
