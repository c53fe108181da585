"""Back office: Finance → Prélèvements (list, « Préparer un lot », the batch's page, pain.008 download, « Marquer
comme envoyé », « Importer le retour de la banque », GoCardless export) and the « Mandats SEPA » tab of a company;
rights, tenancy and pinned query counts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.core.money import format_money
from comptoir.payments.models import DebitBatch, DebitItem, Mandate, Payment
from comptoir.payments.services import debits as service
from comptoir.payments.tests.factories import ClientCompanyFactory, DebitBatchFactory, MandateFactory
from comptoir.payments.tests.test_debits import debtor, due_invoice

IBAN = "FR7630006000011234567890189"


@pytest.fixture
def collection_day() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=7)


def test_the_list_shows_batches_and_its_empty_state(org, admin, staff_client, center):
    client = staff_client(admin)
    empty = client.get(reverse("payments:debitbatch_list"))
    assert empty.status_code == 200
    assert "Aucun lot de prélèvements" in empty.content.decode()

    DebitBatchFactory(organization=org, legal_entity=center.legal_entity, reference="PRLV-A", total="1234.56")
    page = client.get(reverse("payments:debitbatch_list")).content.decode()
    assert "PRLV-A" in page
    assert format_money(Decimal("1234.56")) in page


def test_the_list_makes_the_same_number_of_queries_for_one_or_many_batches(org, admin, staff_client, center):
    client = staff_client(admin)
    DebitBatchFactory(organization=org, legal_entity=center.legal_entity)
    client.get(reverse("payments:debitbatch_list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("payments:debitbatch_list"))
    for _n in range(5):
        DebitBatchFactory(organization=org, legal_entity=center.legal_entity)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("payments:debitbatch_list"))
    assert len(many) == len(one)


def test_prepare_send_and_import_a_return_through_the_pages(org, admin, staff_client, center, collection_day):
    client = staff_client(admin)
    company, _mandate = debtor(org, center, "Atelier Lumière")
    invoice = due_invoice(company)
    form = client.get(reverse("payments:debitbatch_prepare"))
    assert form.status_code == 200

    too_early = client.post(reverse("payments:debitbatch_prepare"), {
        "legal_entity": center.legal_entity.pk, "collection_date": timezone.localdate().isoformat()})  # fmt: skip
    assert too_early.status_code == 400
    assert "pré-notification" in too_early.content.decode() or "prévenus" in too_early.content.decode()
    assert DebitBatch.objects.count() == 0

    response = client.post(reverse("payments:debitbatch_prepare"), {
        "legal_entity": center.legal_entity.pk, "collection_date": collection_day.isoformat()})  # fmt: skip
    batch = DebitBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("payments:debitbatch_detail", args=[batch.pk])
    page = client.get(response.url).content.decode()
    assert batch.reference in page and invoice.reference in page and "Marquer comme envoyé" in page
    download = client.get(reverse("payments:debitbatch_file", args=[batch.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/xml"
    assert b"pain.008.001.02" in download.content

    assert client.get(reverse("payments:debitbatch_send", args=[batch.pk])).status_code == 405
    client.post(reverse("payments:debitbatch_send", args=[batch.pk]))
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID

    item = batch.items.get()
    upload = SimpleUploadedFile(
        "retour.csv", f"end_to_end_id;status;reason_code;date\n{item.end_to_end_id};rejected;MD01;\n".encode()
    )
    answer = client.post(reverse("payments:debitbatch_return", args=[batch.pk]), {"file": upload})
    assert answer.status_code == 200
    assert "MD01" in answer.content.decode() and "Pas de mandat valide" in answer.content.decode()
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PENDING
    assert Payment.objects.get().status == Payment.Status.REVERSED


def test_a_bad_return_file_is_shown_at_the_field(org, admin, staff_client, center, collection_day):
    client = staff_client(admin)
    company, _mandate = debtor(org, center, "Atelier Lumière")
    due_invoice(company)
    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip
    service.mark_sent(batch=batch, by=admin)
    upload = SimpleUploadedFile("retour.csv", b"end_to_end_id;status\nINCONNU;accepted\n")
    answer = client.post(reverse("payments:debitbatch_return", args=[batch.pk]), {"file": upload})
    assert answer.status_code == 400
    assert "INCONNU" in answer.content.decode()
    assert DebitItem.objects.get().status == DebitItem.Status.IN_COLLECTION


def test_rights_reception_may_not_see_batches_nor_mandates(org, staff_of, staff_client, center):
    client = staff_client(staff_of("reception"))
    company = ClientCompanyFactory(organization=org, center=center)
    batch = DebitBatchFactory(organization=org, legal_entity=center.legal_entity)
    assert client.get(reverse("payments:debitbatch_list")).status_code == 403
    assert client.get(reverse("payments:debitbatch_detail", args=[batch.pk])).status_code == 403
    assert client.post(reverse("payments:debitbatch_send", args=[batch.pk])).status_code == 403
    assert client.get(reverse("payments:company_mandates", args=[company.pk])).status_code == 403
    assert batch.__class__.objects.get(pk=batch.pk).status == DebitBatch.Status.DRAFT


def test_gocardless_export_downloads_a_csv(org, admin, staff_client, center):
    debtor(org, center, "Atelier Lumière")
    response = staff_client(admin).get(reverse("payments:debit_gocardless_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert b"mandate.reference" in response.content and b"Atelier" in response.content


def test_company_tab_creates_a_mandate_to_sign_and_revokes_it(org, admin, staff_client, center):
    client = staff_client(admin)
    company = ClientCompanyFactory(organization=org, center=center, name="Atelier Lumière")
    tab = client.get(reverse("payments:company_mandates", args=[company.pk]), HTTP_HX_REQUEST="true")
    assert tab.status_code == 200 and "Aucun mandat SEPA" in tab.content.decode()
    detail = client.get(reverse("crm:company_detail", args=[company.pk])).content.decode()
    assert reverse("payments:company_mandates", args=[company.pk]) in detail

    refused = client.post(reverse("payments:company_mandate_create", args=[company.pk]), {
        "account_holder": "Atelier", "iban": IBAN[:-1] + "8", "bic": "AGRIFRPP", "scheme": "CORE"}, HTTP_HX_REQUEST="true")  # fmt: skip
    assert refused.status_code == 400 and "IBAN invalide" in refused.content.decode()
    assert Mandate.objects.count() == 0

    created = client.post(reverse("payments:company_mandate_create", args=[company.pk]), {
        "account_holder": "Atelier", "iban": IBAN, "bic": "AGRIFRPP", "scheme": "CORE"}, HTTP_HX_REQUEST="true")  # fmt: skip
    assert created.status_code == 200
    mandate = Mandate.objects.get()
    page = created.content.decode()
    assert mandate.reference in page and "FR76 •••• 0189" in page and IBAN not in page
    assert client.get(reverse("payments:mandate_detail", args=[mandate.pk])).status_code == 200

    client.post(reverse("payments:mandate_revoke", args=[mandate.pk]))
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.REVOKED


MY_ROUTES = [
    ("payments:company_mandates", "company"), ("payments:company_mandate_create", "company"),
    ("payments:mandate_detail", "mandate"), ("payments:mandate_revoke", "mandate"),
    ("payments:debitbatch_detail", "batch"), ("payments:debitbatch_file", "batch"),
    ("payments:debitbatch_send", "batch"), ("payments:debitbatch_return", "batch"),
]  # fmt: skip


def test_another_organizations_company_mandate_or_batch_answers_404_and_changes_nothing(
    org, other_org, admin, staff_client, other_center
):  # type: ignore[no-untyped-def]
    client = staff_client(admin)
    company = ClientCompanyFactory(organization=other_org, center=other_center)
    objects = {
        "company": company,
        "mandate": MandateFactory(organization=other_org, company=company, legal_entity=other_center.legal_entity),
        "batch": DebitBatchFactory(organization=other_org, legal_entity=other_center.legal_entity),
    }
    for name, key in MY_ROUTES:
        url = reverse(name, args=[objects[key].pk])
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x", "account_holder": "X", "iban": IBAN}).status_code == 404, url
    assert Mandate.objects.get(pk=objects["mandate"].pk).status == Mandate.Status.PENDING
    assert Mandate.objects.filter(company=company).count() == 1
    assert DebitBatch.objects.get(pk=objects["batch"].pk).status == DebitBatch.Status.DRAFT
