"""API of payments (/api/v1/payments/): record with allocations (Idempotency-Key: one payment for two identical
requests), list with filters and a fixed query count, retrieve with allocations, allocate, reverse; refusals are
4xx JSON with a stable code and change nothing; rights (403) and tenancy (404)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.test_api import error_of
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.services import payments as services
from comptoir.payments.tests.factories import ClientCompanyFactory, PaymentFactory, invoice_of, pay

pytestmark = pytest.mark.django_db
API = "/api/v1/payments"
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return ClientCompanyFactory(organization=org, name="Lumière SAS")


@pytest.fixture
def invoice(company):  # type: ignore[no-untyped-def]
    return invoice_of(company)


def body(company, amount="150.00", allocations=(), **extra):  # type: ignore[no-untyped-def]
    return {"company": company.pk, "method": "transfer", "amount": amount, "received_on": TODAY().isoformat(),
            "reference": "VIR 2026-11", "payer": "Lumière Holding",
            "allocations": [{"invoice": invoice.pk, "amount": value} for invoice, value in allocations], **extra}  # fmt: skip


def nothing_changed(invoice: Invoice) -> tuple:  # type: ignore[type-arg]
    invoice.refresh_from_db()
    return (invoice.amount_paid, invoice.payment_status, Payment.objects.count(), Allocation.objects.count(),
            list(Payment.objects.values_list("status", flat=True).order_by("pk")))  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Happy paths
# --------------------------------------------------------------------------------------------------
def test_create_allocates_and_the_surplus_is_credit(admin, api_client, company, invoice):  # type: ignore[no-untyped-def]
    api = api_client(admin)

    response = api.post(f"{API}/", body(company, allocations=[(invoice, "120.00")]), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["company"], data["company_name"], data["method"], data["amount"], data["status"]) == (
        company.pk, "Lumière SAS", "transfer", "150.00", "received")  # fmt: skip
    assert (data["allocated"], data["unallocated"]) == ("120.00", "30.00")
    assert data["allocations"] == [{"id": data["allocations"][0]["id"], "invoice": invoice.pk,
                                    "invoice_reference": invoice.reference, "amount": "120.00",
                                    "created_at": data["allocations"][0]["created_at"]}]  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    assert services.credit_balance(company) == Decimal("30.00")
    billing_view = api.get(f"/api/v1/invoices/{invoice.pk}/")
    assert billing_view.status_code == 200


def test_create_twice_with_the_same_idempotency_key_makes_one_payment(admin, api_client, company, invoice):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    payload = body(company, "60.00", [(invoice, "60.00")])

    first = api.post(f"{API}/", payload, format="json", HTTP_IDEMPOTENCY_KEY="pay-0001")
    second = api.post(f"{API}/", payload, format="json", HTTP_IDEMPOTENCY_KEY="pay-0001")

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("60.00")
    reused = api.post(f"{API}/", {**payload, "amount": "61.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-0001")
    error_of(reused, 422, "idempotency_key_reused")
    assert Payment.objects.count() == 1


def test_list_filters_and_retrieve(org, admin, api_client, company, invoice):  # type: ignore[no-untyped-def]
    cheque = pay(invoice, "20.00", method="cheque", reference="CHQ-1")
    other = PaymentFactory(organization=org, amount=Decimal("1234.56"),
                           received_on=TODAY() - datetime.timedelta(days=30))  # fmt: skip
    api = api_client(admin)

    listed = api.get(f"{API}/").json()
    assert [row["id"] for row in listed["results"]] == [other.pk, cheque.pk]
    assert [r["id"] for r in api.get(f"{API}/", {"method": "cheque"}).json()["results"]] == [cheque.pk]
    assert [r["id"] for r in api.get(f"{API}/", {"company": company.pk}).json()["results"]] == [cheque.pk]
    since = (TODAY() - datetime.timedelta(days=3)).isoformat()
    assert [r["id"] for r in api.get(f"{API}/", {"date_from": since}).json()["results"]] == [cheque.pk]
    assert [r["id"] for r in api.get(f"{API}/", {"q": "1234,56"}).json()["results"]] == [other.pk]

    one = api.get(f"{API}/{cheque.pk}/").json()
    assert one["reference"] == "CHQ-1" and one["allocations"][0]["invoice_reference"] == invoice.reference


def test_list_makes_the_same_number_of_queries_for_2_and_20_payments(org, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)

    def add(count: int) -> None:
        for _ in range(count):
            pay(invoice_of(ClientCompanyFactory(organization=org)), "50.00")

    add(2)
    assert api.get(f"{API}/").status_code == 200  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        assert api.get(f"{API}/").status_code == 200
    add(18)
    with CaptureQueriesContext(connection) as many:
        response = api.get(f"{API}/")
    assert len(few) == len(many)
    assert len(response.json()["results"]) == 20


def test_allocate_the_rest_and_reverse(org, admin, api_client, company, invoice):  # type: ignore[no-untyped-def]
    payment = PaymentFactory(organization=org, company=company, amount=Decimal("100.00"))
    api = api_client(admin)

    allocated = api.post(f"{API}/{payment.pk}/allocate/", {"allocations": [{"invoice": invoice.pk, "amount": "70"}]},
                         format="json", HTTP_IDEMPOTENCY_KEY="alloc-1")  # fmt: skip
    again = api.post(f"{API}/{payment.pk}/allocate/", {"allocations": [{"invoice": invoice.pk, "amount": "70"}]},
                     format="json", HTTP_IDEMPOTENCY_KEY="alloc-1")  # fmt: skip

    assert allocated.status_code == again.status_code == 200
    assert allocated.json()["unallocated"] == "30.00"
    assert Allocation.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("70.00")

    reversed_ = api.post(f"{API}/{payment.pk}/reverse/", {"reason": "Virement rappelé"}, format="json")

    assert reversed_.status_code == 200
    assert (reversed_.json()["status"], reversed_.json()["unallocated"]) == ("reversed", "0.00")
    assert reversed_.json()["reversal_reason"] == "Virement rappelé"
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.payment_status) == (Decimal("0.00"), Invoice.PaymentStatus.PENDING)


# --------------------------------------------------------------------------------------------------
# Refusals: 4xx JSON, nothing changed
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "allocation", "status", "code", "field"),
    [
        ({"amount": "0"}, None, 400, "negative_amount", "amount"),
        ({"amount": "-5.00"}, None, 400, "negative_amount", "amount"),
        ({"amount": "1.234"}, None, 400, "invalid", "amount"),
        ({"amount": "abc"}, None, 400, "invalid", "amount"),
        ({"received_on": "2999-01-01"}, None, 400, "future_date", "received_on"),
        ({"method": "bitcoin"}, None, 400, "invalid", "method"),
        ({}, "130.00", 400, "exceeds_remaining", "allocations"),
        ({"amount": "50.00"}, "60.00", 400, "exceeds_payment", "amount"),
        ({"unknown": "x"}, None, 400, "invalid", "unknown"),
        ({"company": 999999999}, None, 400, "invalid", "company"),
    ],
)
def test_create_refusals(admin, api_client, company, invoice, changes, allocation, status, code, field):  # type: ignore[no-untyped-def]
    before = nothing_changed(invoice)
    payload = {**body(company, allocations=[(invoice, allocation)] if allocation else []), **changes}

    error = error_of(api_client(admin).post(f"{API}/", payload, format="json"), status, code)

    assert field in error["fields"], error
    assert nothing_changed(invoice) == before


def test_create_refuses_another_companys_invoice_and_another_organizations_invoice(
    org, other_org, admin, api_client, company
):  # type: ignore[no-untyped-def]
    theirs = invoice_of(ClientCompanyFactory(organization=org))
    foreign = invoice_of(ClientCompanyFactory(organization=other_org))
    before = (nothing_changed(theirs), nothing_changed(foreign))
    api = api_client(admin)

    error_of(api.post(f"{API}/", body(company, allocations=[(theirs, "10")]), format="json"), 400, "other_company")
    error = error_of(api.post(f"{API}/", body(company, allocations=[(foreign, "10")]), format="json"), 400)
    assert list(error["fields"]) == ["allocations.0.invoice"]

    assert (nothing_changed(theirs), nothing_changed(foreign)) == before


def test_allocate_and_reverse_refusals(org, admin, api_client, company, invoice):  # type: ignore[no-untyped-def]
    payment = PaymentFactory(organization=org, company=company, amount=Decimal("50.00"))
    api = api_client(admin)
    url = f"{API}/{payment.pk}"
    before = nothing_changed(invoice)

    error_of(api.post(f"{url}/allocate/", {"allocations": [{"invoice": invoice.pk, "amount": "60"}]}, format="json"),
             400, "exceeds_payment")  # fmt: skip
    error_of(api.post(f"{url}/allocate/", {"allocations": []}, format="json"), 400, "invalid")
    error_of(api.post(f"{url}/reverse/", {"reason": ""}, format="json"), 400, "invalid")
    future = (TODAY() + datetime.timedelta(days=2)).isoformat()
    error_of(api.post(f"{url}/reverse/", {"reason": "x", "on": future}, format="json"), 400, "invalid")
    early = (payment.received_on - datetime.timedelta(days=1)).isoformat()
    assert "on" in error_of(api.post(f"{url}/reverse/", {"reason": "x", "on": early}, format="json"), 400)["fields"]
    assert nothing_changed(invoice) == before

    assert api.post(f"{url}/reverse/", {"reason": "Rejet"}, format="json").status_code == 200
    before = nothing_changed(invoice)
    error_of(api.post(f"{url}/reverse/", {"reason": "Encore"}, format="json"), 400, "already_reversed")
    error_of(api.post(f"{url}/allocate/", {"allocations": [{"invoice": invoice.pk, "amount": "1"}]}, format="json"),
             400, "reversed")  # fmt: skip
    assert nothing_changed(invoice) == before


def test_reception_reads_but_may_not_write(staff_of, api_client, company, invoice):  # type: ignore[no-untyped-def]
    payment = pay(invoice, "20.00")
    api = api_client(staff_of("reception"))
    before = nothing_changed(invoice)

    assert api.get(f"{API}/").status_code == 200
    assert api.get(f"{API}/{payment.pk}/").status_code == 200
    error_of(api.post(f"{API}/", body(company), format="json", HTTP_IDEMPOTENCY_KEY="r-1"), 403, "forbidden")
    error_of(api.post(f"{API}/{payment.pk}/allocate/", {"allocations": []}, format="json"), 403, "forbidden")
    error_of(api.post(f"{API}/{payment.pk}/reverse/", {"reason": "x"}, format="json"), 403, "forbidden")
    error_of(api_client(staff_of("technician")).get(f"{API}/"), 403, "forbidden")
    assert nothing_changed(invoice) == before


def test_another_organizations_payment_answers_404(other_org, admin, api_client):  # type: ignore[no-untyped-def]
    foreign_invoice = invoice_of(ClientCompanyFactory(organization=other_org))
    foreign = pay(foreign_invoice, "120.00")
    before = nothing_changed(foreign_invoice)
    api = api_client(admin)

    error_of(api.get(f"{API}/{foreign.pk}/"), 404, "not_found")
    error_of(api.post(f"{API}/{foreign.pk}/allocate/", {"allocations": []}, format="json"), 404, "not_found")
    error_of(api.post(f"{API}/{foreign.pk}/reverse/", {"reason": "x"}, format="json"), 404, "not_found")
    assert api.get(f"{API}/").json()["results"] == []
    assert nothing_changed(foreign_invoice) == before


test_payments_api_objects_of_another_organization_answer_404 = tenancy_walk_test(
    namespaces=[], api_prefixes=["payments"]
)
