"""The Stripe webhook, POST /api/v1/webhooks/stripe/ (no token, no CSRF: the `Stripe-Signature` header is the
credential). A bad or missing signature answers 400 and changes nothing; a replayed event answers 200 « already
processed ». Register it at Stripe with the events checkout.session.completed,
checkout.session.async_payment_succeeded and account.updated; its signing secret is STRIPE_WEBHOOK_SECRET.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.payments.models import Provider
from comptoir.payments.services import webhooks as services


class StripeWebhookViewSet(viewsets.ViewSet):
    """Stripe's events, verified with the endpoint's signing secret and applied once per event id: a paid Checkout
    Session records the card payment of its payment link; `account.updated` updates the Stripe Connect status."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]
    parser_classes: list[Any] = []  # the raw body is what is signed

    # Not in the OpenAPI document: it is Stripe's endpoint, not an integrator's (no Bearer token, its own errors).
    @extend_schema(exclude=True)
    def create(self, request: Request) -> Response:
        outcome = services.receive(provider=Provider.STRIPE, payload=request._request.body,
                                   signature=request.headers.get("Stripe-Signature", ""))  # fmt: skip
        return Response({"status": outcome.status, "message": outcome.message})


ROUTES = [("webhooks/stripe", StripeWebhookViewSet, "webhook-stripe")]
