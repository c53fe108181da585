"""Card payment providers: a small interface, the offline `ManualProvider` (the default: the whole flow works with
no account) and `StripeProvider` (Stripe's official library: Checkout Sessions, Connect Express accounts,
signed webhooks).

    provider = provider_for(profile)                       # the organization's provider (PaymentProfile.provider)
    checkout = provider.start_checkout(link=..., token=..., success_url=..., cancel_url=..., profile=...)
    event = provider.verify_event(payload=request.body, signature=request.headers["Stripe-Signature"])

Both providers sign their events the same way (`t=<unix time>,v1=<HMAC-SHA256 of "t.payload">`, Stripe's
scheme): Stripe with the webhook endpoint's secret, the manual provider with a key derived from SECRET_KEY. So a
card paid on the offline form and a card paid at Stripe go through one path (`services.webhooks.process_event`).

Settings (Django settings first, then the environment; none is required):

- `STRIPE_SECRET_KEY`: the platform's secret key (sk_live_... / sk_test_...); without it Stripe is off.
- `STRIPE_WEBHOOK_SECRET`: the signing secret of the webhook endpoint /api/v1/webhooks/stripe/ (whsec_...);
  `STRIPE_CONNECT_WEBHOOK_SECRET`: the one of the Connect endpoint, when the events of connected accounts are sent
  to a second endpoint registered on the same URL.
- `PAYMENTS_OFFLINE_CHECKOUT`: "1" (default) shows the offline demo card form of the manual provider; "0" turns it
  off (set it to "0" in production: the offline form records a card payment without any money moving).

Tests replace the HTTP layer: `providers.STRIPE_HTTP_CLIENT = FakeClient()` (a `stripe.HTTPClient`); nothing here
ever opens a socket in tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError
from comptoir.payments.models import Provider

if TYPE_CHECKING:
    from comptoir.payments.models import PaymentLink, PaymentProfile

logger = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
STRIPE_HTTP_CLIENT: stripe.HTTPClient | None = None  # tests plug a fake here


class ProviderError(DomainError):
    """The provider refused or did not answer (the message is for the user; the details go to the log)."""

    default_code = "provider_error"


class SignatureError(DomainError):
    """A webhook whose signature does not verify: nothing is read from it."""

    default_code = "bad_signature"


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value or "")


def stripe_configured() -> bool:
    return bool(setting("STRIPE_SECRET_KEY"))


def offline_checkout_enabled() -> bool:
    return setting("PAYMENTS_OFFLINE_CHECKOUT", "1").strip().lower() not in ("0", "false", "no", "off", "")


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


@dataclass(frozen=True)
class Checkout:
    """A started checkout: the provider's session id and where to send the payer."""

    session_id: str
    url: str


@dataclass(frozen=True)
class ConnectAccount:
    account_id: str
    charges_enabled: bool
    details_submitted: bool


class PaymentProvider:
    """What a card provider offers. `name` is a `Provider` value."""

    name: str = ""

    def start_checkout(self, *, link: PaymentLink, token: str, success_url: str, cancel_url: str,
                       profile: PaymentProfile) -> Checkout:  # fmt: skip
        raise NotImplementedError

    def verify_event(self, *, payload: bytes | str, signature: str) -> dict[str, Any]:
        """The event as a plain dict, once its signature is verified; `SignatureError` otherwise."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------------
# The offline provider
# --------------------------------------------------------------------------------------------------
class ManualProvider(PaymentProvider):
    """No account, no network: the checkout is a local form clearly labelled offline/demo; its confirmation is an
    event signed here (HMAC with a key derived from SECRET_KEY) and processed like a webhook."""

    name = Provider.MANUAL

    @staticmethod
    def signing_secret() -> str:
        return hmac.new(settings.SECRET_KEY.encode(), b"comptoir.payments.manual-events", hashlib.sha256).hexdigest()

    def start_checkout(self, *, link: PaymentLink, token: str, success_url: str, cancel_url: str,
                       profile: PaymentProfile) -> Checkout:  # fmt: skip
        if not offline_checkout_enabled():
            raise ProviderError(_("Le paiement en ligne n'est pas disponible : contactez votre centre."),
                                code="provider_unavailable")  # fmt: skip
        session_id = f"cs_manual_{secrets.token_urlsafe(18)}"
        return Checkout(session_id=session_id, url=reverse("portal:pay_offline", args=[token]))

    def completed_event(self, *, link: PaymentLink) -> dict[str, Any]:
        """The `checkout.session.completed` event of the link's offline session (Stripe's shape)."""
        session_id = link.checkout_session_id
        return {
            "id": f"evt_{session_id}",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": "payment",
                    "payment_status": "paid",
                    "status": "complete",
                    "currency": "eur",
                    "amount_total": cents(link.amount),
                    "payment_intent": None,
                    "client_reference_id": str(link.pk),
                    "metadata": link_metadata(link),
                }
            },
        }

    def sign(self, event: dict[str, Any]) -> tuple[str, str]:
        """(payload, signature header) of an event, as a provider would deliver it."""
        payload = json.dumps(event, separators=(",", ":"), sort_keys=True)
        return payload, stripe.WebhookSignature.generate_signature_header(payload, self.signing_secret())

    def verify_event(self, *, payload: bytes | str, signature: str) -> dict[str, Any]:
        try:
            stripe.WebhookSignature.verify_header(payload, signature, self.signing_secret(), TOLERANCE_SECONDS)
            event = json.loads(payload)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise SignatureError(_("Signature invalide.")) from exc
        if not isinstance(event, dict):
            raise SignatureError(_("Événement illisible."))
        return event


# --------------------------------------------------------------------------------------------------
# Stripe
# --------------------------------------------------------------------------------------------------
def link_metadata(link: PaymentLink) -> dict[str, str]:
    return {"payment_link_id": str(link.pk), "invoice_id": str(link.invoice_id),
            "organization_id": str(link.organization_id)}  # fmt: skip


class StripeProvider(PaymentProvider):
    """Stripe through its official library (a `StripeClient` per call, the API key from the settings); payments
    of an organization with a Connect account go to that account (the `stripe_account` request option)."""

    name = Provider.STRIPE

    def client(self) -> stripe.StripeClient:
        key = setting("STRIPE_SECRET_KEY")
        if not key:
            raise ProviderError(_("Stripe n'est pas configuré sur cette installation (STRIPE_SECRET_KEY)."),
                                code="stripe_not_configured")  # fmt: skip
        return stripe.StripeClient(key, http_client=STRIPE_HTTP_CLIENT, max_network_retries=2)

    @staticmethod
    def _failed(exc: stripe.StripeError, what: str) -> ProviderError:
        logger.warning("Stripe: %s failed: %s", what, exc)
        return ProviderError(_("Stripe n'a pas pu traiter la demande : réessayez dans un instant."))

    @staticmethod
    def account_options(profile: PaymentProfile) -> dict[str, Any]:
        if not profile.stripe_account_id:
            return {}  # the platform's own account (a self-hosted operator)
        if profile.stripe_status != profile.StripeStatus.ACTIVE:
            raise ProviderError(_("Le compte Stripe de l'opérateur n'est pas encore activé : réessayez plus tard."),
                                code="stripe_account_pending")  # fmt: skip
        return {"stripe_account": profile.stripe_account_id}

    def start_checkout(self, *, link: PaymentLink, token: str, success_url: str, cancel_url: str,
                       profile: PaymentProfile) -> Checkout:  # fmt: skip
        invoice = link.invoice
        metadata = link_metadata(link)
        params: dict[str, Any] = {
            "mode": "payment",
            "currency": "eur",
            "line_items": [{
                "quantity": 1,
                "price_data": {"currency": "eur", "unit_amount": cents(link.amount),
                               "product_data": {"name": _("Facture %(reference)s") % {"reference": invoice.reference}}},
            }],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": invoice.reference},
            "client_reference_id": str(link.pk),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": "fr",
        }  # fmt: skip
        options = self.account_options(profile)
        try:
            session = self.client().v1.checkout.sessions.create(params=params, options=options)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._failed(exc, "checkout session") from exc
        return Checkout(session_id=session.id, url=session.url or "")

    def secrets(self) -> list[str]:
        return [
            value for value in (setting("STRIPE_WEBHOOK_SECRET"), setting("STRIPE_CONNECT_WEBHOOK_SECRET")) if value
        ]

    def verify_event(self, *, payload: bytes | str, signature: str) -> dict[str, Any]:
        known = self.secrets()
        if not known:
            raise SignatureError(_("Aucun secret de webhook Stripe n'est configuré (STRIPE_WEBHOOK_SECRET)."),
                                 code="webhook_not_configured")  # fmt: skip
        for secret in known:
            try:
                event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError:
                continue
            except ValueError as exc:  # not JSON, or not an event
                raise SignatureError(_("Événement illisible.")) from exc
            return event.to_dict()
        raise SignatureError(_("Signature invalide."))

    # Connect ---------------------------------------------------------------------------------------
    def create_account(self, *, email: str, name: str, organization_id: int) -> str:
        params: dict[str, Any] = {
            "type": "express",
            "country": "FR",
            "default_currency": "eur",
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            "business_profile": {"name": name[:100]},
            "metadata": {"organization_id": str(organization_id)},
        }
        if email:
            params["email"] = email
        try:
            account = self.client().v1.accounts.create(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._failed(exc, "account creation") from exc
        return account.id

    def onboarding_url(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        params = {"account": account_id, "type": "account_onboarding", "refresh_url": refresh_url,
                  "return_url": return_url}  # fmt: skip
        try:
            account_link = self.client().v1.account_links.create(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise self._failed(exc, "account link") from exc
        return account_link.url

    def retrieve_account(self, *, account_id: str) -> ConnectAccount:
        try:
            account = self.client().v1.accounts.retrieve(account_id)
        except stripe.StripeError as exc:
            raise self._failed(exc, "account retrieval") from exc
        return ConnectAccount(account_id=account.id, charges_enabled=bool(account.charges_enabled),
                              details_submitted=bool(account.details_submitted))  # fmt: skip

    def dashboard_url(self, *, account_id: str) -> str:
        try:
            login = self.client().v1.accounts.login_links.create(account_id)
        except stripe.StripeError as exc:
            raise self._failed(exc, "login link") from exc
        return login.url


PROVIDERS: dict[str, type[PaymentProvider]] = {Provider.MANUAL: ManualProvider, Provider.STRIPE: StripeProvider}


def get_provider(name: str) -> PaymentProvider:
    return PROVIDERS.get(name, ManualProvider)()


def provider_for(profile: PaymentProfile) -> PaymentProvider:
    return get_provider(profile.provider)
