import pytest

from comptoir.core.pdf import PdfError, render_pdf

DATA = {
    "title": "Devis DV-000001",
    "issuer": {"name": "Comptoir Opéra SAS", "address": ["12 rue de la Paix", "75002 Paris"], "ids": "SIREN 123"},
    "footer": "Comptoir Opéra SAS",
    "rows": [["Bureau 12", "1 234,56 €"]],
}


def test_a_template_renders_to_a_pdf_with_its_title():
    pdf = render_pdf("core/sample.typ", DATA)
    assert pdf.startswith(b"%PDF-")
    assert b"Devis DV-000001" in pdf or "Devis DV-000001".encode("utf-16-be") in pdf


def test_a_logo_takes_the_place_of_the_issuer_name():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>'
    assert render_pdf("core/sample.typ", DATA, logo=svg) != render_pdf("core/sample.typ", DATA)


def test_an_unknown_template_is_an_error():
    with pytest.raises(PdfError):
        render_pdf("core/nothing.typ", DATA)
