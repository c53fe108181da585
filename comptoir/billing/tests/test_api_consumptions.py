"""API of consumptions: record, list with filters, delete the unbilled ones, invoice a selection; refusals are 4xx
JSON with a stable code and change nothing; rights and tenancy."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from comptoir.billing.models import Consumption, Invoice
from comptoir.billing.tests.factories import ConsumptionFactory, InvoiceFactory
from comptoir.core.tests.factories import CenterFactory
from comptoir.core.tests.test_api import error_of
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
API = "/api/v1"
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org, center):  # type: ignore[no-untyped-def]
    return InvoiceFactory(organization=org, center=center).company  # a client with its SIREN, VAT number, address


def body(company_, center_, **extra):  # type: ignore[no-untyped-def]
    return {"company": company_.pk, "center": center_.pk, "description": "Impressions couleur", "quantity": "12",
            "unit_price": "0.25", "vat_rate": "20.00", "date": "2026-11-20", **extra}  # fmt: skip


def billing_state() -> list[tuple]:  # type: ignore[type-arg]
    return list(Consumption.objects.order_by("id").values_list("id", "invoice_id", "amount_excl_vat"))


def test_record_list_and_delete(org, center, company, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    contact = ContactFactory(organization=org, company=company)
    created = api.post(f"{API}/consumptions/", body(company, center, contact=contact.pk), format="json",
                       HTTP_IDEMPOTENCY_KEY="conso-1")  # fmt: skip
    assert created.status_code == 201, created.content
    replay = api.post(f"{API}/consumptions/", body(company, center, contact=contact.pk), format="json",
                      HTTP_IDEMPOTENCY_KEY="conso-1")  # fmt: skip
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == created.json()
    assert Consumption.objects.count() == 1
    item = created.json()
    assert (item["description"], item["quantity"], item["unit_price"], item["amount_excl_vat"]) == (
        "Impressions couleur", "12.000", "0.2500", "3.00",
    )  # fmt: skip
    assert (item["company"], item["contact"], item["date"], item["is_billed"], item["invoice"]) == (
        company.pk, contact.pk, "2026-11-20", False, None,
    )  # fmt: skip

    older = api.post(f"{API}/consumptions/", body(company, center, date="2026-10-02"), format="json").json()
    listed = api.get(f"{API}/consumptions/").json()["results"]
    assert [row["id"] for row in listed] == [older["id"], item["id"]]
    window = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
    assert [row["id"] for row in api.get(f"{API}/consumptions/", window).json()["results"]] == [item["id"]]
    assert [row["id"] for row in api.get(f"{API}/consumptions/", {"billed": "false"}).json()["results"]] == [
        older["id"], item["id"],
    ]  # fmt: skip
    assert api.get(f"{API}/consumptions/", {"billed": "true"}).json()["results"] == []
    other_center = CenterFactory(organization=org)
    assert api.get(f"{API}/consumptions/", {"center": other_center.pk}).json()["results"] == []
    assert len(api.get(f"{API}/consumptions/", {"company": company.pk}).json()["results"]) == 2

    assert api.delete(f"{API}/consumptions/{older['id']}/").status_code == 204
    assert list(Consumption.objects.values_list("id", flat=True)) == [item["id"]]


def test_invoice_a_selection(org, center, company, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    first = ConsumptionFactory(organization=org, center=center, company=company, date=datetime.date(2026, 11, 3))
    second = ConsumptionFactory(organization=org, center=center, company=company, date=datetime.date(2026, 11, 9),
                                description="Café", quantity="4", unit_price="1.5000", amount_excl_vat="6.00",
                                vat_rate="10.00")  # fmt: skip
    selection = {"consumptions": [second.pk, first.pk], "issue": True}

    response = api.post(f"{API}/consumptions/invoice/", selection, format="json", HTTP_IDEMPOTENCY_KEY="sel-1")
    assert response.status_code == 201, response.content
    replay = api.post(f"{API}/consumptions/invoice/", selection, format="json", HTTP_IDEMPOTENCY_KEY="sel-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == response.json()
    invoice = response.json()
    assert (invoice["status"], invoice["origin"], invoice["company"]) == ("issued", "consumptions", company.pk)
    assert invoice["reference"] == f"FA-{TODAY().year}-000001"
    assert [(line["description"], line["amount_excl_vat"], line["source"], line["source_id"])
            for line in invoice["lines"]] == [
        (f"{first.description} — 03/11/2026", "1.50", "consumption", first.pk),
        ("Café — 09/11/2026", "6.00", "consumption", second.pk),
    ]  # fmt: skip
    assert (invoice["period_start"], invoice["period_end"], invoice["total_incl_vat"]) == ("2026-11-03", "2026-11-09",
                                                                                           "8.40")  # fmt: skip
    assert set(Consumption.objects.values_list("invoice_id", flat=True)) == {invoice["id"]}
    listed = api.get(f"{API}/consumptions/", {"billed": "true"}).json()["results"]
    assert [(row["id"], row["is_billed"], row["invoice_reference"]) for row in listed] == [
        (second.pk, True, invoice["reference"]), (first.pk, True, invoice["reference"]),
    ]  # fmt: skip

    before = billing_state()
    error_of(api.post(f"{API}/consumptions/invoice/", {"consumptions": [first.pk]}, format="json"), 400,
             "already_billed")  # fmt: skip
    error_of(api.delete(f"{API}/consumptions/{first.pk}/"), 400, "already_billed")
    assert billing_state() == before and Invoice.objects.count() == 2  # the fixture's draft and the new invoice


def test_a_draft_of_a_selection(org, center, company, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    consumption = ConsumptionFactory(organization=org, center=center, company=company)
    response = api.post(f"{API}/consumptions/invoice/", {"consumptions": [consumption.pk]}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["reference"], response.json()["total_incl_vat"]) == (
        "draft", "", "1.80",
    )  # fmt: skip


def test_refusals_change_nothing(org, center, company, admin, api_client, other_org):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    mine = ConsumptionFactory(organization=org, center=center, company=company)
    elsewhere = ConsumptionFactory(organization=org, company=company)  # another center
    foreign = ConsumptionFactory(organization=other_org)
    before, invoices = billing_state(), Invoice.objects.count()

    url = f"{API}/consumptions/invoice/"
    error_of(api.post(url, {"consumptions": []}, format="json"), 400, "empty_selection")
    error = error_of(api.post(url, {"consumptions": [mine.pk, foreign.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="x"),
                     400, "invalid")  # fmt: skip
    assert list(error["fields"]) == ["consumptions"]
    error_of(api.post(url, {"consumptions": [mine.pk, 2**70]}, format="json"), 400, "invalid")
    error_of(api.post(url, {"consumptions": [mine.pk, elsewhere.pk]}, format="json"), 400, "mixed_selection")
    error_of(api.post(url, {"consumptions": "1,2"}, format="json"), 400, "invalid")
    error_of(api.post(url, {"consumptions": [mine.pk], "issue": "maybe"}, format="json"), 400, "invalid")

    create = f"{API}/consumptions/"
    for extra, field, code in [
        ({"vat_rate": "15"}, "vat_rate", "unknown_vat_rate"),
        ({"quantity": "0"}, "quantity", "invalid"),
        ({"quantity": "-1"}, "quantity", "invalid"),
        ({"unit_price": "-0.10"}, "unit_price", "invalid"),
        ({"unit_price": "1e40"}, "unit_price", "invalid"),
        ({"date": "2026-13-01"}, "date", "invalid"),
        ({"company": foreign.company_id}, "company", "invalid"),
        ({"center": 2**63}, "center", "invalid"),
        (
            {"contact": ContactFactory(organization=org, company=CompanyFactory(organization=org)).pk},
            "contact",
            "wrong_contact",
        ),
        ({"description": "", "unit_price": "1"}, "description", "required"),
        ({"invoice": 1}, "invoice", "invalid"),
    ]:
        error = error_of(api.post(create, body(company, center, **extra), format="json"), 400, code)
        assert list(error["fields"]) == [field], (extra, error)
    assert billing_state() == before and Invoice.objects.count() == invoices


def test_rights(org, center, company, staff_of, api_client):  # type: ignore[no-untyped-def]
    reception = api_client(staff_of("reception"))  # billing.consumption: view, add, change
    consumption = ConsumptionFactory(organization=org, center=center, company=company)
    response = reception.post(f"{API}/consumptions/", body(company, center), format="json")
    assert response.status_code == 201, response.content
    before, invoices = billing_state(), Invoice.objects.count()
    error_of(reception.delete(f"{API}/consumptions/{consumption.pk}/"), 403, "forbidden")
    error_of(reception.post(f"{API}/consumptions/invoice/", {"consumptions": [consumption.pk]}, format="json"), 403,
             "forbidden")  # fmt: skip
    technician = api_client(staff_of("technician"))
    error_of(technician.get(f"{API}/consumptions/"), 403, "forbidden")
    error_of(technician.post(f"{API}/consumptions/", body(company, center), format="json"), 403, "forbidden")
    assert billing_state() == before and Invoice.objects.count() == invoices


def test_another_organizations_consumption_answers_404(admin, api_client, other_org):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    foreign = ConsumptionFactory(organization=other_org)
    error_of(api.get(f"{API}/consumptions/{foreign.pk}/"), 404, "not_found")
    error_of(api.delete(f"{API}/consumptions/{foreign.pk}/"), 404, "not_found")
    assert api.get(f"{API}/consumptions/").json()["results"] == []
    assert Consumption.objects.filter(pk=foreign.pk, invoice__isnull=True).exists()
