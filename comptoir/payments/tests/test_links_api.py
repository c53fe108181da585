"""/api/v1/payment-links/: create (Idempotency-Key; the URL is in the answer once), list (same number of queries for
one link or many), retrieve (never the token), cancel, refusals as JSON 4xx that change nothing, rights, tenancy."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.core.testing import tenancy_walk_test
from comptoir.payments.models import PaymentLink
from comptoir.payments.services import links as services
from comptoir.payments.tests.factories import pay

pytestmark = pytest.mark.django_db

URL = "/api/v1/payment-links/"

test_payment_links_of_another_organization_answer_404 = tenancy_walk_test(
    namespaces=["payments"], api_prefixes=["payment-links"]
)


@pytest.fixture
def invoice(org, center):  # type: ignore[no-untyped-def]
    return issue_for(org, client_company(org), center)


def test_create_answers_the_url_once_and_replays_without_it(api_client, admin, invoice):
    api = api_client(admin)

    first = api.post(URL, {"invoice": invoice.pk, "amount": "30.00", "expires_in_days": 5}, format="json",
                     HTTP_IDEMPOTENCY_KEY="link-1")  # fmt: skip
    replay = api.post(URL, {"invoice": invoice.pk, "amount": "30.00", "expires_in_days": 5}, format="json",
                      HTTP_IDEMPOTENCY_KEY="link-1")  # fmt: skip

    assert first.status_code == 201
    body = first.json()
    link = PaymentLink.objects.get()
    token = body["url"].rstrip("/").rsplit("/", 1)[-1]
    assert (
        body["url"].endswith(f"/portal/pay/{token}/") and link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    )
    assert (body["id"], body["invoice"], body["amount"], body["status"]) == (link.pk, invoice.pk, "30.00", "active")
    assert body["invoice_reference"] == invoice.reference and body["is_usable"] is True and body["sent_to"] == []
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["url"] is None and replay.json()["id"] == link.pk
    assert PaymentLink.objects.count() == 1


def test_create_defaults_to_what_remains_and_may_send_the_email(api_client, admin, invoice):
    pay(invoice, "20.00")

    response = api_client(admin).post(URL, {"invoice": invoice.pk, "send_email": True}, format="json")

    assert response.status_code == 201
    assert response.json()["amount"] == "100.00" and response.json()["sent_to"] == ["compta@lumiere.test"]
    assert response.json()["url"].startswith("http://testserver/portal/pay/")
    assert response.json()["url"].removeprefix("http://testserver") in mail.outbox[0].body


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"amount": "500.00"}, "exceeds_remaining", "amount"),
        ({"amount": "0"}, "negative_amount", "amount"),
        ({"amount": "-3"}, "negative_amount", "amount"),
        ({"expires_in_days": 0}, "invalid", "expires_in_days"),
        ({"amount": "abc"}, "invalid", "amount"),
        ({"unknown": 1}, None, None),
    ],
)
def test_refusals_are_json_4xx_and_change_nothing(api_client, admin, invoice, data, code, field):
    response = api_client(admin).post(URL, {"invoice": invoice.pk, **data}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    if code:
        assert error["code"] == code and field in error["fields"]
    assert not PaymentLink.objects.exists()


def test_a_paid_invoice_and_another_organizations_invoice_are_refused(api_client, admin, org, center, invoice,
                                                                     other_org, other_center):  # fmt: skip
    pay(invoice, "120.00")
    foreign = issue_for(other_org, client_company(other_org), other_center)
    api = api_client(admin)

    paid = api.post(URL, {"invoice": invoice.pk}, format="json")
    other = api.post(URL, {"invoice": foreign.pk}, format="json")

    assert paid.status_code == 400 and paid.json()["error"]["code"] == "already_paid"
    assert other.status_code == 400 and "invoice" in other.json()["error"]["fields"]
    assert not PaymentLink.objects.exists()


def test_list_retrieve_and_cancel(api_client, admin, invoice):
    link, token = services.create_link(invoice=invoice, by=admin, amount="10")
    api = api_client(admin)

    listed = api.get(URL, {"invoice": invoice.pk, "status": "active"})
    one = api.get(f"{URL}{link.pk}/")
    cancelled = api.post(f"{URL}{link.pk}/cancel/")
    again = api.post(f"{URL}{link.pk}/cancel/")

    assert [row["id"] for row in listed.json()["results"]] == [link.pk]
    assert one.status_code == 200 and "url" not in one.json() and token not in one.content.decode()
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 400 and again.json()["error"]["code"] == "not_active"


def test_the_list_makes_the_same_number_of_queries_for_one_link_or_many(api_client, admin, org, center, invoice):
    api = api_client(admin)
    api.get(URL)  # the token's first use is written once
    services.create_link(invoice=invoice, by=admin, amount="1")
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(URL).json()["results"]) == 1
    for _ in range(5):
        services.create_link(invoice=issue_for(org, invoice.company, center), by=admin, amount="1")
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(URL).json()["results"]) == 6

    assert len(many.captured_queries) == len(one.captured_queries)


def test_rights(api_client, staff_of, invoice, admin):
    link, _token = services.create_link(invoice=invoice, by=admin, amount="10")
    technician = api_client(staff_of("technician"))
    reception = api_client(staff_of("reception"))

    assert technician.get(URL).status_code == 403
    assert technician.post(URL, {"invoice": invoice.pk}, format="json").status_code == 403
    assert reception.post(URL, {"invoice": invoice.pk, "amount": "5"}, format="json").status_code == 201
    assert reception.post(f"{URL}{link.pk}/cancel/").status_code == 403
    assert PaymentLink.objects.get(pk=link.pk).status == PaymentLink.Status.ACTIVE
    assert PaymentLink.objects.count() == 2 and PaymentLink.objects.filter(amount=Decimal("5")).exists()
