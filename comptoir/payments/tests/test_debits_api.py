"""API: /mandates/ and /debit-batches/ (prepare with an Idempotency-Key, send, return upload, file), rights, tenancy,
JSON errors."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.payments.models import DebitBatch, Mandate, Payment
from comptoir.payments.tests.factories import ClientCompanyFactory, DebitBatchFactory, MandateFactory
from comptoir.payments.tests.test_debits import debtor, due_invoice

IBAN = "FR76 3000 6000 0112 3456 7890 189"


@pytest.fixture
def collection_day() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=7)


def test_create_a_mandate_then_list_retrieve_and_revoke_it(org, admin, api_client, center):
    api = api_client(admin)
    company = ClientCompanyFactory(organization=org, center=center)

    refused = api.post("/api/v1/mandates/", {"company": company.pk, "account_holder": "Atelier",
                                             "iban": "FR7630006000011234567890188", "bic": "AGRIFRPP"}, format="json")  # fmt: skip
    assert refused.status_code == 400
    assert "iban" in refused.json()["error"]["fields"]
    assert Mandate.objects.count() == 0

    created = api.post("/api/v1/mandates/", {"company": company.pk, "account_holder": "Atelier", "iban": IBAN,
                                             "bic": "AGRIFRPP"}, format="json", HTTP_IDEMPOTENCY_KEY="m-1")  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending" and body["iban"] == "FR76 •••• 0189"
    assert body["creditor_id"] == center.legal_entity.sepa_creditor_id
    again = api.post("/api/v1/mandates/", {"company": company.pk, "account_holder": "Atelier", "iban": IBAN,
                                           "bic": "AGRIFRPP"}, format="json", HTTP_IDEMPOTENCY_KEY="m-1")  # fmt: skip
    assert again.json()["id"] == body["id"] and Mandate.objects.count() == 1

    listed = api.get("/api/v1/mandates/", {"company": company.pk}).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert api.get(f"/api/v1/mandates/{body['id']}/").json()["reference"] == body["reference"]
    revoked = api.post(f"/api/v1/mandates/{body['id']}/revoke/", {"reason": "Client parti"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert api.post(f"/api/v1/mandates/{body['id']}/revoke/", {}, format="json").status_code == 400


def test_prepare_send_and_return_through_the_api(org, admin, api_client, center, collection_day):
    api = api_client(admin)
    company, _mandate = debtor(org, center, "Atelier Lumière")
    invoice = due_invoice(company)
    payload = {"legal_entity": center.legal_entity.pk, "collection_date": collection_day.isoformat()}

    too_early = api.post("/api/v1/debit-batches/", {**payload, "collection_date": timezone.localdate().isoformat()},
                         format="json")  # fmt: skip
    assert too_early.status_code == 400
    assert too_early.json()["error"]["code"] == "prenotification_delay"
    assert "collection_date" in too_early.json()["error"]["fields"]

    created = api.post("/api/v1/debit-batches/", payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert created.status_code == 201, created.content
    replay = api.post("/api/v1/debit-batches/", payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert replay.json()["id"] == created.json()["id"] and DebitBatch.objects.count() == 1
    batch = created.json()
    assert batch["count"] == 1 and batch["items"][0]["sequence_type"] == "FRST"

    document = api.get(f"/api/v1/debit-batches/{batch['id']}/file/")
    assert document.status_code == 200 and document["Content-Type"] == "application/xml"
    assert b"CstmrDrctDbtInitn" in document.content

    sent = api.post(f"/api/v1/debit-batches/{batch['id']}/send/", format="json", HTTP_IDEMPOTENCY_KEY="send-1")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert api.post(f"/api/v1/debit-batches/{batch['id']}/send/", format="json").status_code == 400
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID

    e2e = batch["items"][0]["end_to_end_id"]
    bad = api.post(f"/api/v1/debit-batches/{batch['id']}/return/",
                   {"file": SimpleUploadedFile("r.csv", b"garbage")}, format="multipart")  # fmt: skip
    assert bad.status_code == 400 and "file" in bad.json()["error"]["fields"]
    missing = api.post(f"/api/v1/debit-batches/{batch['id']}/return/", {}, format="multipart")
    assert missing.status_code == 400
    upload = SimpleUploadedFile("r.csv", f"end_to_end_id;status;reason_code;date\n{e2e};rejected;AC04;\n".encode())
    answer = api.post(f"/api/v1/debit-batches/{batch['id']}/return/", {"file": upload}, format="multipart")
    assert answer.status_code == 200, answer.content
    assert answer.json()["rejected"] == 1
    assert answer.json()["batch"]["items"][0]["reject_reason_label"] == "Compte clôturé"
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PENDING
    assert Payment.objects.get().status == Payment.Status.REVERSED


def test_rights_and_tenancy(org, other_org, admin, staff_of, api_client, other_center):
    reception = api_client(staff_of("reception"))
    assert reception.get("/api/v1/debit-batches/").status_code == 403
    assert reception.get("/api/v1/mandates/").status_code == 403

    api = api_client(admin)
    company = ClientCompanyFactory(organization=other_org, center=other_center)
    mandate = MandateFactory(organization=other_org, company=company, legal_entity=other_center.legal_entity)
    batch = DebitBatchFactory(organization=other_org, legal_entity=other_center.legal_entity)
    for path in (f"/api/v1/mandates/{mandate.pk}/", f"/api/v1/debit-batches/{batch.pk}/",
                 f"/api/v1/debit-batches/{batch.pk}/file/"):  # fmt: skip
        assert api.get(path).status_code == 404
    assert api.post(f"/api/v1/mandates/{mandate.pk}/revoke/", {}, format="json").status_code == 404
    assert api.post(f"/api/v1/debit-batches/{batch.pk}/send/", {}, format="json").status_code == 404
    assert api.post(f"/api/v1/debit-batches/{batch.pk}/return/", {}, format="multipart").status_code == 404
    foreign = api.post("/api/v1/mandates/", {"company": company.pk, "account_holder": "X", "iban": IBAN},
                       format="json")  # fmt: skip
    assert foreign.status_code == 400
    prepared = api.post("/api/v1/debit-batches/", {"legal_entity": other_center.legal_entity.pk,
                                                   "collection_date": "2099-01-01"}, format="json")  # fmt: skip
    assert prepared.status_code == 400
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.PENDING
    assert DebitBatch.objects.get(pk=batch.pk).status == DebitBatch.Status.DRAFT


def test_list_query_count_does_not_grow_with_rows(org, admin, api_client, center):
    api = api_client(admin)
    DebitBatchFactory(organization=org, legal_entity=center.legal_entity)
    api.get("/api/v1/debit-batches/")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/debit-batches/")
    for _n in range(4):
        DebitBatchFactory(organization=org, legal_entity=center.legal_entity)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/debit-batches/").json()["results"]) == 5
    assert len(many) == len(one)
