"""Stripe through its official library, with recorded API answers (no network): the Checkout Session of a payment
link (its parameters, on the connected account when there is one), Stripe Connect onboarding (« Activer Stripe »,
« Finaliser », back from Stripe, « Dashboard Stripe »), the settings page without a key, rights."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.core.errors import RightsError
from comptoir.payments import providers
from comptoir.payments.models import PaymentLink, PaymentProfile, Provider
from comptoir.payments.services import links as services
from comptoir.payments.services import profile as profile_services
from comptoir.payments.tests.fixtures import RecordedStripe, recorded

pytestmark = pytest.mark.django_db

ACCOUNT = "acct_1QxYz2AbCdEfGhIj"


@pytest.fixture(autouse=True)
def _stripe(settings, monkeypatch):  # type: ignore[no-untyped-def]
    cache.clear()
    settings.STRIPE_SECRET_KEY = "sk_test_51RecordedKeyForTestsOnly"
    fake = RecordedStripe()
    monkeypatch.setattr(providers, "STRIPE_HTTP_CLIENT", fake)
    return fake


@pytest.fixture
def fake(_stripe):  # type: ignore[no-untyped-def]
    return _stripe


@pytest.fixture
def invoice(org, center):  # type: ignore[no-untyped-def]
    return issue_for(org, client_company(org), center)


def stripe_profile(org, **values):  # type: ignore[no-untyped-def]
    return PaymentProfile.objects.create(organization=org, provider=Provider.STRIPE, **values)


# --------------------------------------------------------------------------------------------------
# Checkout
# --------------------------------------------------------------------------------------------------
def test_pay_by_card_creates_a_checkout_session_and_sends_the_payer_to_stripe(client, org, invoice, admin, fake):
    stripe_profile(org)
    link, token = services.create_link(invoice=invoice, by=admin, amount="45.50")

    response = client.post(reverse("portal:pay_checkout", args=[token]))

    session = recorded("checkout_session_create.json")
    assert response.status_code == 302 and response["Location"] == session["url"]
    [request] = fake.requests
    assert (request.method, request.path) == ("post", "/v1/checkout/sessions")
    assert request.headers["Authorization"] == "Bearer sk_test_51RecordedKeyForTestsOnly"
    assert "Stripe-Account" not in request.headers
    params = request.params
    assert params["mode"] == "payment" and params["currency"] == "eur"
    assert params["line_items[0][price_data][currency]"] == "eur"
    assert params["line_items[0][price_data][unit_amount]"] == "4550"
    assert params["line_items[0][quantity]"] == "1"
    assert invoice.reference in params["line_items[0][price_data][product_data][name]"]
    assert params["metadata[payment_link_id]"] == str(link.pk)
    assert params["metadata[invoice_id]"] == str(invoice.pk)
    assert params["metadata[organization_id]"] == str(org.pk)
    assert params["payment_intent_data[metadata][payment_link_id]"] == str(link.pk)
    assert params["success_url"] == f"http://testserver/portal/pay/{token}/done/"
    assert params["cancel_url"] == f"http://testserver/portal/pay/{token}/"
    link.refresh_from_db()
    assert link.checkout_session_id == session["id"] and link.provider == Provider.STRIPE


def test_a_connected_account_takes_the_payment_with_the_stripe_account_option(client, org, invoice, admin, fake):
    stripe_profile(org, stripe_account_id=ACCOUNT, stripe_status=PaymentProfile.StripeStatus.ACTIVE)
    _link, token = services.create_link(invoice=invoice, by=admin)

    client.post(reverse("portal:pay_checkout", args=[token]))

    assert fake.requests[0].headers["Stripe-Account"] == ACCOUNT
    assert fake.requests[0].params["line_items[0][price_data][unit_amount]"] == "12000"


def test_a_connected_account_not_yet_active_refuses_the_checkout(client, org, invoice, admin, fake):
    stripe_profile(org, stripe_account_id=ACCOUNT, stripe_status=PaymentProfile.StripeStatus.PENDING)
    link, token = services.create_link(invoice=invoice, by=admin)

    response = client.post(reverse("portal:pay_checkout", args=[token]))

    assert response.status_code == 409 and "pas encore activé" in response.content.decode()
    assert fake.requests == []
    assert PaymentLink.objects.get(pk=link.pk).checkout_session_id == ""


def test_a_stripe_failure_shows_a_message_and_changes_nothing(client, org, invoice, admin, monkeypatch):
    stripe_profile(org)
    monkeypatch.setattr(providers, "STRIPE_HTTP_CLIENT", RecordedStripe(fail=True))
    link, token = services.create_link(invoice=invoice, by=admin)

    response = client.post(reverse("portal:pay_checkout", args=[token]))

    assert response.status_code == 409 and "réessayez" in response.content.decode()
    assert PaymentLink.objects.get(pk=link.pk).checkout_session_id == ""


# --------------------------------------------------------------------------------------------------
# Connect onboarding
# --------------------------------------------------------------------------------------------------
def test_activate_stripe_creates_an_express_account_and_sends_to_onboarding(staff_client, org, admin, fake):
    org.email = "contact@operateur-a.test"
    org.save()
    web = staff_client(admin)

    response = web.post(reverse("payments:stripe_activate"))

    assert response.status_code == 302
    assert response["Location"] == recorded("account_link_create.json")["url"]
    create, link = fake.requests
    assert (create.method, create.path) == ("post", "/v1/accounts")
    assert create.params["type"] == "express" and create.params["country"] == "FR"
    assert create.params["email"] == "contact@operateur-a.test"
    assert create.params["capabilities[card_payments][requested]"] == "true"
    assert create.params["metadata[organization_id]"] == str(org.pk)
    assert (link.method, link.path) == ("post", "/v1/account_links")
    assert link.params == {
        "account": ACCOUNT, "type": "account_onboarding",
        "refresh_url": "http://testserver/manage/payments/settings/stripe/refresh/",
        "return_url": "http://testserver/manage/payments/settings/stripe/return/",
    }  # fmt: skip
    profile = PaymentProfile.objects.get(organization=org)
    assert profile.stripe_account_id == ACCOUNT and profile.stripe_status == PaymentProfile.StripeStatus.PENDING
    assert profile.provider == Provider.MANUAL  # not before the account can take payments


def test_back_from_stripe_an_enabled_account_is_active_and_takes_the_card_payments(staff_client, org, admin, fake):
    PaymentProfile.objects.create(organization=org, stripe_account_id=ACCOUNT,
                                  stripe_status=PaymentProfile.StripeStatus.PENDING)  # fmt: skip
    web = staff_client(admin)

    response = web.get(reverse("payments:stripe_return"))

    assert response.status_code == 302
    [request] = fake.requests
    assert (request.method, request.path) == ("get", f"/v1/accounts/{ACCOUNT}")
    profile = PaymentProfile.objects.get(organization=org)
    assert profile.stripe_status == PaymentProfile.StripeStatus.ACTIVE and profile.provider == Provider.STRIPE
    page = web.get(reverse("payments:payment_settings")).content.decode()
    assert "Activé" in page and "Dashboard Stripe" in page and "Finaliser" not in page


def test_an_incomplete_account_stays_pending_with_finaliser(staff_client, org, admin, monkeypatch):
    fake = RecordedStripe(overrides={"account_retrieve_active.json": "account_retrieve_pending.json"})
    monkeypatch.setattr(providers, "STRIPE_HTTP_CLIENT", fake)
    PaymentProfile.objects.create(organization=org, stripe_account_id=ACCOUNT,
                                  stripe_status=PaymentProfile.StripeStatus.PENDING)  # fmt: skip
    web = staff_client(admin)

    web.get(reverse("payments:stripe_return"))
    page = web.get(reverse("payments:payment_settings")).content.decode()
    again = web.post(reverse("payments:stripe_activate"))

    assert PaymentProfile.objects.get(organization=org).stripe_status == PaymentProfile.StripeStatus.PENDING
    assert "Finaliser" in page and "pas encore complet" in page
    assert again["Location"] == recorded("account_link_create.json")["url"]
    assert [r.path for r in fake.requests] == [f"/v1/accounts/{ACCOUNT}", "/v1/account_links"]  # no second account


def test_dashboard_stripe_opens_a_login_link(staff_client, org, admin, fake):
    PaymentProfile.objects.create(organization=org, stripe_account_id=ACCOUNT,
                                  stripe_status=PaymentProfile.StripeStatus.ACTIVE)  # fmt: skip

    response = staff_client(admin).post(reverse("payments:stripe_dashboard"))

    assert response["Location"] == recorded("login_link_create.json")["url"]
    assert [(r.method, r.path) for r in fake.requests] == [("post", f"/v1/accounts/{ACCOUNT}/login_links")]


def test_without_a_key_the_page_explains_the_offline_mode(staff_client, settings, org, admin, fake):
    settings.STRIPE_SECRET_KEY = ""

    page = staff_client(admin).get(reverse("payments:payment_settings")).content.decode()

    assert "mode hors ligne" in page and "STRIPE_SECRET_KEY" in page and "/api/v1/webhooks/stripe/" in page
    assert "Activer Stripe" not in page
    with pytest.raises(Exception, match="STRIPE_SECRET_KEY"):
        profile_services.update_card_settings(organization=org, by=admin, data={"provider": "stripe"})
    assert fake.requests == []


def test_card_settings_save_the_provider_and_the_staff_email(staff_client, org, admin):
    web = staff_client(admin)

    saved = web.post(reverse("payments:payment_settings"), {"provider": "stripe", "staff_email": "Finance@A.test"})
    refused = web.post(reverse("payments:payment_settings"), {"provider": "paypal", "staff_email": ""})

    assert saved.status_code == 302 and refused.status_code == 400
    profile = PaymentProfile.objects.get(organization=org)
    assert (profile.provider, profile.staff_email) == ("stripe", "finance@a.test")


def test_only_the_administrator_changes_the_payment_settings(staff_client, org, staff_of, fake):
    manager = staff_of("manager")  # payments.view_paymentprofile only
    web = staff_client(manager)

    page = web.get(reverse("payments:payment_settings"))
    activate = web.post(reverse("payments:stripe_activate"))
    change = web.post(reverse("payments:payment_settings"), {"provider": "stripe"})

    assert page.status_code == 200 and "Activer Stripe" not in page.content.decode()
    assert activate.status_code == 403 and change.status_code == 403
    assert staff_client(staff_of("reception")).get(reverse("payments:payment_settings")).status_code == 403
    with pytest.raises(RightsError):
        profile_services.start_stripe_onboarding(organization=org, by=manager, refresh_url="x", return_url="y")
    assert fake.requests == [] and not PaymentProfile.objects.filter(organization=org).exclude(stripe_account_id="")
