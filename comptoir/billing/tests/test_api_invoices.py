"""API of invoices and credit notes: drafts and their lines, issue, credit notes, documents; refusals are 4xx JSON
with a stable code and change nothing; Idempotency-Key on issue and credit; rights and tenancy."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.billing.models import BillingProfile, Invoice, InvoiceDelivery, InvoiceLine
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory, issued_invoice
from comptoir.core.models import AuditEntry
from comptoir.core.tests.test_api import error_of
from comptoir.crm.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
API = "/api/v1"
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def draft(org, center):  # type: ignore[no-untyped-def]
    return InvoiceFactory(organization=org, center=center)


def line(**extra):  # type: ignore[no-untyped-def]
    return {"description": "Bureau 12 m²", "quantity": "1", "unit_price": "1000.00", "vat_rate": "20.00", **extra}


def add_line(api, invoice, **extra):  # type: ignore[no-untyped-def]
    response = api.post(f"{API}/invoices/{invoice.pk}/lines/", line(**extra), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def snapshot(invoice: Invoice) -> tuple:  # type: ignore[type-arg]
    invoice.refresh_from_db()
    lines = list(invoice.lines.values_list("description", "quantity", "unit_price", "vat_rate").order_by("id"))
    return (invoice.status, invoice.number, invoice.reference, invoice.total_incl_vat, invoice.record_hash, lines)


# --------------------------------------------------------------------------------------------------
# Happy paths
# --------------------------------------------------------------------------------------------------
def test_draft_lines_then_issue(org, center, draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    contact = ContactFactory(organization=org, company=draft.company)
    body = {"company": draft.company.pk, "center": center.pk, "contact": contact.pk, "notes": "Janvier"}
    created = api.post(f"{API}/invoices/", body, format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    assert created.status_code == 201, created.content
    replay = api.post(f"{API}/invoices/", body, format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == created.json()
    invoice = created.json()
    assert Invoice.objects.filter(company=draft.company).count() == 2  # the fixture's draft and this one
    assert (invoice["status"], invoice["kind"], invoice["reference"], invoice["number"]) == (
        "draft",
        "invoice",
        "",
        None,
    )
    assert (invoice["contact"], invoice["notes"], invoice["legal_entity"]) == (contact.pk, "Janvier",
                                                                              center.legal_entity_id)  # fmt: skip
    url = f"{API}/invoices/{invoice['id']}"

    response = api.post(f"{url}/lines/", line(), format="json")
    assert response.status_code == 201, response.content
    response = api.post(f"{url}/lines/", line(description="Café", quantity="3", unit_price="1.333", vat_rate="10"),
                        format="json")  # fmt: skip
    body = response.json()
    assert [(item["description"], item["amount_excl_vat"], item["vat_rate"]) for item in body["lines"]] == [
        ("Bureau 12 m²", "1000.00", "20.00"), ("Café", "4.00", "10.00"),
    ]  # fmt: skip
    assert (body["total_excl_vat"], body["total_vat"], body["total_incl_vat"]) == ("1004.00", "200.40", "1204.40")
    assert body["vat_breakdown"] == [
        {"category": "S", "rate": "20.00", "base": "1000.00", "vat": "200.00", "exemption_reason": ""},
        {"category": "S", "rate": "10.00", "base": "4.00", "vat": "0.40", "exemption_reason": ""},
    ]

    coffee = body["lines"][1]["id"]
    response = api.patch(f"{url}/lines/{coffee}/", {"quantity": "5"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["lines"][1]["amount_excl_vat"] == "6.67" and response.json()["total_incl_vat"] == "1207.34"
    response = api.delete(f"{url}/lines/{coffee}/")
    assert response.status_code == 200 and [item["description"] for item in response.json()["lines"]] == [
        "Bureau 12 m²"
    ]
    response = api.patch(f"{url}/", {"notes": "Loyer de janvier", "purchase_order": "BC-42"}, format="json")
    assert response.status_code == 200
    assert (response.json()["notes"], response.json()["purchase_order"]) == ("Loyer de janvier", "BC-42")

    issued = api.post(f"{url}/issue/", {}, format="json", HTTP_IDEMPOTENCY_KEY="issue-1")
    assert issued.status_code == 200, issued.content
    again = api.post(f"{url}/issue/", {}, format="json", HTTP_IDEMPOTENCY_KEY="issue-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == issued.json()
    document = issued.json()
    year = TODAY().year
    assert (document["status"], document["reference"], document["number"]) == ("issued", f"FA-{year}-000001", 1)
    assert (document["issue_date"], document["chain_index"], document["previous_hash"]) == (TODAY().isoformat(), 1,
                                                                                             "")  # fmt: skip
    assert len(document["record_hash"]) == 64 and document["total_incl_vat"] == "1200.00"
    assert Invoice.objects.exclude(status=Invoice.Status.DRAFT).count() == 1
    assert AuditEntry.objects.filter(action="invoice.issued").count() == 1

    assert api.get(f"{url}/").json() == document
    error_of(api.post(f"{url}/issue/", {}, format="json"), 409, "already_issued")
    error_of(api.patch(f"{url}/", {"notes": "x"}, format="json"), 400, "not_draft")
    error_of(api.post(f"{url}/lines/", line(), format="json"), 400, "not_draft")
    error_of(api.delete(f"{url}/lines/{document['lines'][0]['id']}/"), 400, "not_draft")
    error_of(api.delete(f"{url}/"), 400, "not_draft")
    assert api.get(f"{url}/").json() == document


def test_delete_a_draft(draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    add_line(api, draft)
    assert api.delete(f"{API}/invoices/{draft.pk}/").status_code == 204
    assert not Invoice.objects.filter(pk=draft.pk).exists() and not InvoiceLine.objects.exists()
    error_of(api.get(f"{API}/invoices/{draft.pk}/"), 404, "not_found")


def test_issue_at_a_given_date(draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    add_line(api, draft)
    day = TODAY() - datetime.timedelta(days=3)
    response = api.post(f"{API}/invoices/{draft.pk}/issue/", {"issue_date": day.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["issue_date"] == day.isoformat()
    assert response.json()["due_date"] == (day + datetime.timedelta(days=30)).isoformat()


def test_full_credit_is_idempotent(org, center, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    original = issued_invoice(org, center=center)
    url = f"{API}/invoices/{original.pk}/credit/"
    body = {"reason": "Résiliation"}

    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    assert first.status_code == 201, first.content
    second = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    assert second.status_code == 201 and second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    credit = first.json()
    year = TODAY().year
    assert (credit["kind"], credit["status"], credit["reference"]) == ("credit_note", "issued", f"AV-{year}-000001")
    assert (credit["credited_invoice"], credit["credited_invoice_reference"]) == (original.pk, original.reference)
    assert (credit["total_incl_vat"], credit["notes"], credit["chain_index"]) == ("120.00", "Résiliation", 2)
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1
    original.refresh_from_db()
    assert original.status == Invoice.Status.CANCELLED
    assert api.get(f"{API}/invoices/{original.pk}/").json()["status"] == "cancelled"

    error_of(api.post(url, body, format="json"), 400, "fully_credited")
    error_of(api.post(url, {"reason": "autre"}, format="json", HTTP_IDEMPOTENCY_KEY="credit-1"), 422,
             "idempotency_key_reused")  # fmt: skip
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1


def test_partial_credit_with_lines(org, center, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    original = issued_invoice(org, center=center)  # 100.00 + 20 % = 120.00
    url = f"{API}/invoices/{original.pk}/credit/"
    body = {"lines": [{"description": "Geste commercial", "quantity": "1", "unit_price": "25", "vat_rate": "20"}]}

    response = api.post(url, body, format="json")
    assert response.status_code == 201, response.content
    credit = response.json()
    assert (credit["total_excl_vat"], credit["total_incl_vat"]) == ("25.00", "30.00")
    assert [(item["description"], item["source"]) for item in credit["lines"]] == [("Geste commercial", "credit")]
    assert services.remaining_to_credit(original) == Decimal("90.00")
    original.refresh_from_db()
    assert original.status == Invoice.Status.ISSUED
    error_of(api.post(url, {}, format="json"), 400, "partially_credited")


# --------------------------------------------------------------------------------------------------
# Refusals: a stable code, nothing changed
# --------------------------------------------------------------------------------------------------
def test_issuing_a_draft_with_no_line_is_refused(draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    before = snapshot(draft)
    error = error_of(api.post(f"{API}/invoices/{draft.pk}/issue/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k1"),
                     400, "no_lines")  # fmt: skip
    assert error["message"] == "Une facture doit comporter au moins une ligne."
    assert snapshot(draft) == before and not AuditEntry.objects.filter(action="invoice.issued").exists()
    # the refused request left the key unused: the corrected request may take it
    add_line(api, draft)
    response = api.post(f"{API}/invoices/{draft.pk}/issue/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response


def test_a_negative_invoice_is_refused(draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    add_line(api, draft, description="Remboursement", unit_price="-50")
    before = snapshot(draft)
    assert before[3] == Decimal("-60.00")
    error_of(api.post(f"{API}/invoices/{draft.pk}/issue/", {}, format="json"), 400, "negative_total")
    assert snapshot(draft) == before


def test_an_unknown_vat_rate_is_refused(draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    add_line(api, draft)
    before = snapshot(draft)
    error = error_of(api.post(f"{API}/invoices/{draft.pk}/lines/", line(vat_rate="15"), format="json"), 400,
                     "unknown_vat_rate")  # fmt: skip
    assert list(error["fields"]) == ["vat_rate"]
    line_id = draft.lines.get().pk
    error_of(api.patch(f"{API}/invoices/{draft.pk}/lines/{line_id}/", {"vat_rate": "15"}, format="json"), 400,
             "unknown_vat_rate")  # fmt: skip
    error = error_of(api.post(f"{API}/invoices/{draft.pk}/lines/", line(vat_rate="0"), format="json"), 400,
                     "exemption_reason_required")  # fmt: skip
    assert list(error["fields"]) == ["vat_exemption_reason"]
    assert snapshot(draft) == before


def test_a_date_in_a_locked_period_is_refused(draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    add_line(api, draft)
    services.billing_profile(draft.legal_entity_id)
    BillingProfile.objects.filter(legal_entity_id=draft.legal_entity_id).update(locked_until=TODAY())
    before = snapshot(draft)
    url = f"{API}/invoices/{draft.pk}/issue/"
    error = error_of(api.post(url, {}, format="json"), 400, "locked_period")
    assert list(error["fields"]) == ["issue_date"]
    yesterday = (TODAY() - datetime.timedelta(days=1)).isoformat()
    error_of(api.post(url, {"issue_date": yesterday}, format="json"), 400, "locked_period")
    tomorrow = (TODAY() + datetime.timedelta(days=1)).isoformat()
    error_of(api.post(url, {"issue_date": tomorrow}, format="json"), 400, "future_date")
    assert snapshot(draft) == before


def test_a_credit_note_larger_than_what_remains_is_refused(org, center, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    original = issued_invoice(org, center=center)  # 120.00 incl. VAT
    url = f"{API}/invoices/{original.pk}/credit/"
    api.post(url, {"lines": [{"description": "Geste", "unit_price": "50", "vat_rate": "20"}]}, format="json")
    count = Invoice.objects.count()
    body = {"lines": [{"description": "Trop", "quantity": "1", "unit_price": "60", "vat_rate": "20"}]}  # 72 > 60

    error = error_of(api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="too-much"), 400, "credit_exceeds_invoice")
    assert original.reference in error["message"]
    assert Invoice.objects.count() == count
    assert services.remaining_to_credit(original) == Decimal("60.00")
    draft = InvoiceFactory(organization=org, center=center)
    error_of(api.post(f"{API}/invoices/{draft.pk}/credit/", {}, format="json"), 400, "not_issued")
    assert Invoice.objects.count() == count + 1


def test_bad_inputs_are_400(draft, admin, api_client, other_org):  # type: ignore[no-untyped-def]
    from comptoir.crm.tests.factories import CompanyFactory

    api = api_client(admin)
    add_line(api, draft)
    before = snapshot(draft)
    url = f"{API}/invoices/{draft.pk}"
    for body, field in [
        ({"quantity": "1e20"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"unit_price": 10**30}, "unit_price"),
        ({"unit_price": "1.23456"}, "unit_price"),
        ({"discount": "-5"}, "discount"),
        ({"product": 2**63}, "product"),
        ({"description": ["x"]}, "description"),
        ({"surprise": 1}, "surprise"),
    ]:
        error = error_of(api.post(f"{url}/lines/", line(**body), format="json"), 400)
        assert field in error["fields"], (body, error)
    error = error_of(api.post(f"{url}/lines/", line(quantity="0"), format="json"), 400, "zero_quantity")
    error = error_of(api.post(f"{url}/issue/", {"issue_date": "2026-02-30"}, format="json"), 400, "invalid")
    assert list(error["fields"]) == ["issue_date"]
    error = error_of(api.patch(f"{url}/", {"reference": "FA-1"}, format="json"), 400, "invalid")
    assert list(error["fields"]) == ["reference"]
    error = error_of(api.patch(f"{url}/", {"period_start": "2027-02-01", "period_end": "2027-01-01"}, format="json"),
                     400, "period_order")  # fmt: skip
    error_of(api.patch(f"{url}/lines/999999999/", {"quantity": "2"}, format="json"), 404, "not_found")
    other = InvoiceLineFactory(invoice=InvoiceFactory(organization=draft.organization, center=draft.center))
    error_of(api.delete(f"{url}/lines/{other.pk}/"), 404, "not_found")
    foreign_company = CompanyFactory(organization=other_org)
    error = error_of(api.post(f"{API}/invoices/", {"company": foreign_company.pk, "center": draft.center_id},
                              format="json"), 400)  # fmt: skip
    assert list(error["fields"]) == ["company"]
    error = error_of(api.post(f"{API}/invoices/", {"center": draft.center_id}, format="json"), 400)
    assert list(error["fields"]) == ["company"]
    assert snapshot(draft) == before and InvoiceLine.objects.filter(pk=other.pk).exists()


# --------------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------------
def test_documents_of_an_issued_invoice(org, center, draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    for path in ("pdf/", "facturx.xml/", "ubl.xml/"):
        error_of(api.get(f"{API}/invoices/{draft.pk}/{path}"), 400, "not_issued")
    invoice = issued_invoice(org, center=center)
    url = f"{API}/invoices/{invoice.pk}"

    pdf = api.get(f"{url}/pdf/")
    assert pdf.status_code == 200, pdf.content[:500]
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"] == f'inline; filename="{invoice.reference}.pdf"'
    assert api.get(f"{url}/pdf/", HTTP_ACCEPT="application/pdf").content == pdf.content

    cii = api.get(f"{url}/facturx.xml/")
    assert cii.status_code == 200 and cii["Content-Type"] == "application/xml"
    assert b"CrossIndustryInvoice" in cii.content and invoice.reference.encode() in cii.content
    assert api.get(f"{url}/facturx.xml").content == cii.content  # the contract point, without the slash
    ubl = api.get(f"{url}/ubl.xml/")
    assert ubl.status_code == 200 and ubl["Content-Type"] == "application/xml"
    assert b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in ubl.content

    assert api.get(f"{url}/deliveries/").json() == []
    InvoiceDelivery.objects.create(invoice=invoice, method="email_pdf", recipient="compta@client.fr", by=admin)
    [delivery] = api.get(f"{url}/deliveries/").json()
    assert (delivery["method"], delivery["status"], delivery["recipient"]) == ("email_pdf", "done", "compta@client.fr")


# --------------------------------------------------------------------------------------------------
# Lists, rights, tenancy
# --------------------------------------------------------------------------------------------------
def test_list_filters(org, center, draft, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    issued = issued_invoice(org, center=center)
    listed = api.get(f"{API}/invoices/").json()
    assert [item["id"] for item in listed["results"]] == [issued.pk, draft.pk] and listed["next"] is None
    assert [i["id"] for i in api.get(f"{API}/invoices/", {"status": "draft"}).json()["results"]] == [draft.pk]
    assert [i["id"] for i in api.get(f"{API}/invoices/", {"q": issued.reference}).json()["results"]] == [issued.pk]
    assert [i["id"] for i in api.get(f"{API}/invoices/", {"company": draft.company_id}).json()["results"]] == [draft.pk]
    today = TODAY().isoformat()
    assert [i["id"] for i in api.get(f"{API}/invoices/", {"date_from": today}).json()["results"]] == [issued.pk]
    assert api.get(f"{API}/invoices/", {"kind": "credit_note"}).json()["results"] == []
    page = api.get(f"{API}/invoices/", {"page_size": 1}).json()
    assert [i["id"] for i in page["results"]] == [issued.pk] and page["next"]
    assert [i["id"] for i in api.get(page["next"]).json()["results"]] == [draft.pk]
    error = error_of(api.get(f"{API}/invoices/", {"status": "paid"}), 400, "invalid")
    assert list(error["fields"]) == ["status"]
    error_of(api.get(f"{API}/invoices/", {"company": "99999999999999999999"}), 400, "invalid")


def test_list_queries_do_not_grow_with_rows(org, center, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    for _ in range(2):
        InvoiceLineFactory(invoice=InvoiceFactory(organization=org, center=center))
    api.get(f"{API}/invoices/")
    with CaptureQueriesContext(connection) as small:
        assert len(api.get(f"{API}/invoices/").json()["results"]) == 2
    for _ in range(10):
        InvoiceLineFactory(invoice=InvoiceFactory(organization=org, center=center))
        issued_invoice(org, center=center)
    with CaptureQueriesContext(connection) as large:
        assert len(api.get(f"{API}/invoices/").json()["results"]) == 22
    assert len(large) == len(small)


def test_reception_cannot_issue_nor_credit(org, center, draft, staff_of, api_client):  # type: ignore[no-untyped-def]
    reception = api_client(staff_of("reception"))
    InvoiceLineFactory(invoice=draft)
    services.recompute_totals(draft)
    draft.save()
    issued = issued_invoice(org, center=center)
    before = (snapshot(draft), snapshot(issued), Invoice.objects.count())

    assert reception.get(f"{API}/invoices/{draft.pk}/").status_code == 200
    error_of(reception.post(f"{API}/invoices/{draft.pk}/issue/", {}, format="json", HTTP_IDEMPOTENCY_KEY="r"), 403,
             "forbidden")  # fmt: skip
    error_of(reception.post(f"{API}/invoices/{issued.pk}/credit/", {}, format="json"), 403, "forbidden")
    error_of(reception.post(f"{API}/invoices/{draft.pk}/lines/", line(), format="json"), 403, "forbidden")
    error_of(reception.patch(f"{API}/invoices/{draft.pk}/", {"notes": "x"}, format="json"), 403, "forbidden")
    error_of(reception.delete(f"{API}/invoices/{draft.pk}/"), 403, "forbidden")
    error_of(reception.post(f"{API}/invoices/", {"company": draft.company_id, "center": center.pk}, format="json"),
             403, "forbidden")  # fmt: skip
    assert (snapshot(draft), snapshot(issued), Invoice.objects.count()) == before


def test_another_organizations_invoice_answers_404(org, center, admin, api_client, other_org):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    foreign = issued_invoice(other_org)
    foreign_draft = InvoiceFactory(organization=other_org)
    foreign_line = InvoiceLineFactory(invoice=foreign_draft)
    before = (snapshot(foreign), snapshot(foreign_draft), Invoice.objects.count())
    for invoice in (foreign, foreign_draft):
        url = f"{API}/invoices/{invoice.pk}"
        for response in (
            api.get(f"{url}/"),
            api.patch(f"{url}/", {"notes": "x"}, format="json"),
            api.delete(f"{url}/"),
            api.post(f"{url}/lines/", line(), format="json"),
            api.patch(f"{url}/lines/{foreign_line.pk}/", {"quantity": "2"}, format="json"),
            api.delete(f"{url}/lines/{foreign_line.pk}/"),
            api.post(f"{url}/issue/", {}, format="json"),
            api.post(f"{url}/credit/", {}, format="json", HTTP_IDEMPOTENCY_KEY=f"credit-{invoice.pk}"),
            api.get(f"{url}/pdf/"),
            api.get(f"{url}/facturx.xml/"),
            api.get(f"{url}/ubl.xml/"),
            api.get(f"{url}/deliveries/"),
        ):
            error_of(response, 404, "not_found")
    assert api.get(f"{API}/invoices/").json()["results"] == []
    assert (snapshot(foreign), snapshot(foreign_draft), Invoice.objects.count()) == before
