"""The Stripe webhook, POST /api/v1/webhooks/stripe/: Stripe's real signature scheme (HMAC-SHA256 of "t.payload"
with the endpoint's secret), a paid Checkout Session records the card payment of its link once (replays, parallel
deliveries), a bad signature answers 400 and changes nothing, a surplus becomes the credit balance,
`account.updated` updates the Connect status."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import Client

from comptoir.billing.models import Invoice
from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.core.models import AuditEntry
from comptoir.payments.models import Method, Payment, PaymentLink, PaymentProfile, Provider, ProviderEvent
from comptoir.payments.services import links as services
from comptoir.payments.services.payments import credit_balance
from comptoir.payments.tests.factories import pay
from comptoir.payments.tests.fixtures import TEST_WEBHOOK_SECRET, completed_event, recorded, signature

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/stripe/"
PAYMENT_INTENT = "pi_3QyAbCdEfGhIjKlM0aBcDeFg"


@pytest.fixture(autouse=True)
def _secret(settings):  # type: ignore[no-untyped-def]
    settings.STRIPE_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET


@pytest.fixture
def invoice(org, center):  # type: ignore[no-untyped-def]
    return issue_for(org, client_company(org), center)  # 120,00 € TTC


@pytest.fixture
def link(org, invoice, admin):  # type: ignore[no-untyped-def]
    PaymentProfile.objects.create(organization=org, provider=Provider.STRIPE, staff_email="finance@operateur-a.test")
    link, _token = services.create_link(invoice=invoice, by=admin)
    PaymentLink.objects.filter(pk=link.pk).update(provider=Provider.STRIPE,
                                                  checkout_session_id="cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ")  # fmt: skip
    link.refresh_from_db()
    return link


def deliver(client, event, *, secret=TEST_WEBHOOK_SECRET, header=None):  # type: ignore[no-untyped-def]
    payload = event if isinstance(event, str) else json.dumps(event)
    signed = signature(payload, secret) if header is None else header
    return client.post(URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signed)


def snapshot(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (Payment.objects.count(), ProviderEvent.objects.count(), invoice.amount_paid, invoice.payment_status,
            list(PaymentLink.objects.values_list("status", flat=True)))  # fmt: skip


def test_a_paid_checkout_session_records_the_card_payment_of_its_link(client, org, invoice, link,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    event = completed_event(link)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event)

    assert response.status_code == 200 and response.json()["status"] == "processed"
    payment = Payment.objects.get()
    assert (payment.method, payment.provider, payment.provider_reference) == (Method.CARD, "stripe", PAYMENT_INTENT)
    assert payment.amount == Decimal("120.00") and payment.payer == "Jeanne Client"
    assert list(payment.allocations.values_list("invoice_id", "amount")) == [(invoice.pk, Decimal("120.00"))]
    link.refresh_from_db()
    invoice.refresh_from_db()
    assert link.status == PaymentLink.Status.PAID and link.payment == payment
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    stored = ProviderEvent.objects.get()
    assert (stored.provider, stored.event_id, stored.organization_id) == ("stripe", event["id"], org.pk)
    assert stored.outcome.startswith(f"payment {payment.pk} recorded")
    assert [message.to for message in mail.outbox] == [["finance@operateur-a.test"]]
    assert "démonstration" not in mail.outbox[0].body
    assert AuditEntry.objects.filter(action="paymentlink.paid", object_id=str(link.pk)).exists()
    assert AuditEntry.objects.filter(action="payment.recorded", object_id=str(payment.pk)).exists()


def test_a_replayed_event_is_applied_once(client, invoice, link):
    event = completed_event(link)

    first = deliver(client, event)
    second = deliver(client, event)

    assert first.json()["status"] == "processed"
    assert second.status_code == 200 and second.json() == {"status": "duplicate", "message": "already processed"}
    assert Payment.objects.count() == 1 and ProviderEvent.objects.count() == 1


def test_the_same_session_under_another_event_id_records_no_second_payment(client, invoice, link):
    deliver(client, completed_event(link))
    other = completed_event(link)
    other["id"], other["type"] = "evt_1QyOtherEventId00000000", "checkout.session.async_payment_succeeded"

    response = deliver(client, other)

    assert response.json() == {"status": "duplicate", "message": "payment already recorded"}
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "case", ["wrong secret", "tampered body", "no header", "garbage header", "too old", "not json"]
)
def test_a_bad_signature_answers_400_and_changes_nothing(client, invoice, link, case):
    before = snapshot(invoice)
    event = completed_event(link)
    payload = json.dumps(event)
    headers = {
        "wrong secret": signature(payload, "whsec_someone_else"),
        "tampered body": signature(payload),  # signed, then changed on the way
        "no header": "",
        "garbage header": "t=abc,v9=zz",
        "too old": signature(payload, timestamp=int(time.time()) - 3600),
        "not json": signature("{not json"),
    }
    body = "{not json" if case == "not json" else payload.replace("12000", "1") if case == "tampered body" else payload

    response = deliver(client, body, header=headers[case])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert snapshot(invoice) == before


def test_without_a_configured_secret_every_delivery_is_refused(client, settings, invoice, link):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = deliver(client, completed_event(link))

    assert response.status_code == 400 and response.json()["error"]["code"] == "webhook_not_configured"
    assert not Payment.objects.exists()


def test_the_connect_endpoints_secret_is_accepted_too(client, settings, invoice, link):
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_connect_endpoint_secret"

    response = deliver(client, completed_event(link), secret="whsec_connect_endpoint_secret")

    assert response.status_code == 200 and Payment.objects.count() == 1


def test_an_invoice_paid_meanwhile_another_way_leaves_the_surplus_as_credit_balance(client, invoice, link):
    pay(invoice, "100.00")  # a transfer arrived while the client was paying by card

    response = deliver(client, completed_event(link))

    card = Payment.objects.get(method=Method.CARD)
    assert response.status_code == 200
    assert list(card.allocations.values_list("amount", flat=True)) == [Decimal("20.00")]
    assert credit_balance(invoice.company) == Decimal("100.00")
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID and invoice.amount_paid == Decimal("120.00")


def test_a_cancelled_link_that_was_charged_is_still_recorded(client, admin, invoice, link):
    services.cancel_link(link=link, by=admin)

    deliver(client, completed_event(link))

    assert Payment.objects.get().amount == Decimal("120.00")
    assert PaymentLink.objects.get(pk=link.pk).status == PaymentLink.Status.PAID


def test_an_unpaid_session_an_unknown_link_and_other_events_are_stored_and_ignored(client, other_org, invoice, link):
    unpaid = completed_event(link, payment_status="unpaid")
    unpaid["id"] = "evt_unpaid"
    foreign = completed_event(link)
    foreign["id"] = "evt_foreign"
    foreign["data"]["object"]["metadata"]["organization_id"] = str(other_org.pk)
    other = {"id": "evt_other", "object": "event", "type": "invoice.created", "data": {"object": {}}}

    outcomes = [deliver(client, event).json() for event in (unpaid, foreign, other)]

    assert [outcome["status"] for outcome in outcomes] == ["ignored", "ignored", "ignored"]
    assert not Payment.objects.exists()
    assert ProviderEvent.objects.count() == 3


def test_account_updated_activates_the_connect_account(client, org):
    PaymentProfile.objects.create(organization=org, stripe_account_id="acct_1QxYz2AbCdEfGhIj",
                                  stripe_status=PaymentProfile.StripeStatus.PENDING)  # fmt: skip
    event = {"id": "evt_account", "object": "event", "type": "account.updated",
             "data": {"object": recorded("account_retrieve_active.json")}}  # fmt: skip

    response = deliver(client, event)

    assert response.json() == {"status": "processed", "message": "account active"}
    profile = PaymentProfile.objects.get(organization=org)
    assert profile.stripe_status == PaymentProfile.StripeStatus.ACTIVE and profile.provider == Provider.STRIPE


def test_the_endpoint_takes_post_only(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_deliveries_of_one_event_record_one_payment(settings, org, center, admin):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL (SQLite serializes writers)")
    invoice = issue_for(org, client_company(org), center)
    PaymentProfile.objects.create(organization=org, provider=Provider.STRIPE)
    link, _token = services.create_link(invoice=invoice, by=admin)
    payload = json.dumps(completed_event(link))
    header = signature(payload)
    barrier = threading.Barrier(10)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
            answers.append((response.status_code, response.json()["status"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [(200, "duplicate")] * 9 + [(200, "processed")]
    assert Payment.objects.count() == 1 and ProviderEvent.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("120.00") and invoice.payment_status == Invoice.PaymentStatus.PAID
