"""Back office: a contract's signature evidence, the live check of the stored signed PDF (hash + seal),
the check of an uploaded PDF, and the signed PDF's download."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from comptoir.core.testing import tenancy_walk_test
from comptoir.sales.services import signature as service
from comptoir.sales.tests.test_signature_service import awaiting_contract, last_code, ready_to_confirm, signer_of

test_other_organizations_objects_answer_404 = tenancy_walk_test(namespaces=["sales"], api_prefixes=[])


def signed_contract(org):  # type: ignore[no-untyped-def]
    contract = awaiting_contract(org)
    signer = signer_of(contract.company, first_name="Margaux", last_name="Lefort", email="margaux@lumiere.test")
    signature = ready_to_confirm(contract, signer)
    service.confirm_code(signature=signature, code=last_code(), ip="203.0.113.9", user_agent="Firefox/140")
    contract.refresh_from_db()
    return contract


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode().replace("&#x27;", "'")


def test_the_evidence_page_shows_the_signer_the_steps_and_a_valid_live_check(staff_client, admin, org):
    contract = signed_contract(org)
    response = staff_client(admin).get(reverse("sales:contract_evidence", args=[contract.pk]))
    content = text(response)
    assert response.status_code == 200
    assert "Margaux Lefort" in content and "margaux@lumiere.test" in content
    assert "203.0.113.9" in content and "Firefox/140" in content
    assert "12 34 56" not in content and "•" in content  # the phone is masked
    assert contract.document_sha256 in content and contract.signed_document_sha256 in content
    assert "Conditions acceptées" in content and "Code envoyé" in content and "Signé" in content
    assert "Le sceau électronique est valide." in content
    assert "ne correspond plus" not in content
    assert reverse("sales:contract_signed_pdf", args=[contract.pk]) in content


def test_a_tampered_stored_file_shows_in_the_live_check(staff_client, admin, org):
    contract = signed_contract(org)
    data = bytearray(contract.signed_document.open("rb").read())
    data[len(data) // 3] ^= 0x01
    with open(contract.signed_document.path, "wb") as handle:
        handle.write(bytes(data))
    content = text(staff_client(admin).get(reverse("sales:contract_evidence", args=[contract.pk])))
    assert "Le fichier enregistré ne correspond plus à son empreinte." in content
    assert "Le sceau électronique est valide." not in content


def test_an_uploaded_pdf_is_checked_against_the_original(staff_client, admin, org):
    contract = signed_contract(org)
    original = contract.signed_document.open("rb").read()
    client = staff_client(admin)
    url = reverse("sales:contract_evidence", args=[contract.pk])

    same = client.post(
        url, {"document": SimpleUploadedFile("c.pdf", original, "application/pdf")}, HTTP_HX_REQUEST="true"
    )
    assert same.status_code == 200
    assert "Ce document est identique à l'original signé" in text(same)
    assert text(same).lstrip().startswith('<div id="upload-result"')

    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    other = client.post(url, {"document": SimpleUploadedFile("c.pdf", bytes(changed), "application/pdf")})
    assert other.status_code == 200
    assert "Ce document a été modifié" in text(other)

    not_pdf = client.post(url, {"document": SimpleUploadedFile("c.pdf", b"hello", "application/pdf")})
    assert not_pdf.status_code == 400 and "pas un PDF" in text(not_pdf)


def test_the_signed_pdf_downloads_with_its_hash(staff_client, admin, org):
    import hashlib

    contract = signed_contract(org)
    response = staff_client(admin).get(reverse("sales:contract_signed_pdf", args=[contract.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == contract.signed_document_sha256


def test_an_unsigned_contract_has_no_signed_pdf_and_nothing_to_compare(staff_client, admin, org):
    contract = awaiting_contract(org)
    client = staff_client(admin)
    assert client.get(reverse("sales:contract_signed_pdf", args=[contract.pk])).status_code == 404
    page = client.get(reverse("sales:contract_evidence", args=[contract.pk]))
    assert page.status_code == 200 and "pas encore signé" in text(page)


def test_staff_without_the_contract_right_are_refused(staff_client, staff_of, org):
    contract = signed_contract(org)
    technician = staff_of("technician")
    from comptoir.core import rights

    if rights.has_right(technician, "sales.view_contract", org):
        return
    assert staff_client(technician).get(reverse("sales:contract_evidence", args=[contract.pk])).status_code == 403
