"""Paying an invoice by card (frontmanager « Espace client » §2, desk payment links).

- /portal/pay/<token>/ — the payer's page, no login (the token is the credential; lookups are rate-limited per
  address): the invoice (reference, company, amount, due date, PDF through the token) and « Payer par carte ».
  A clear page refuses an unknown, expired, cancelled or paid link, or an invoice paid meanwhile.
- « Payer par carte » starts a checkout with the organization's provider: Stripe Checkout, or the offline demo
  form of the manual provider (/portal/pay/<token>/offline/), whose confirmation is a locally signed event
  processed like a webhook.
- /portal/invoices/<pk>/pay/ — « Payer par carte » on an invoice of the portal (a member with the
  "pay_invoices" capability): a short-lived link for all that remains, then the same checkout.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from comptoir.core.errors import DomainError
from comptoir.crm.selectors import portal_contacts
from comptoir.payments.models import PaymentLink, Provider
from comptoir.payments.providers import ManualProvider, offline_checkout_enabled
from comptoir.payments.services import links as link_services
from comptoir.payments.services import webhooks
from comptoir.portal.views import member_required
from comptoir.portal.views_invoices import _member_invoice

logger = logging.getLogger(__name__)

LOOKUPS_PER_MINUTE = 30


def _throttled(request: HttpRequest) -> bool:
    """At most LOOKUPS_PER_MINUTE token lookups a minute per address (guessing tokens is pointless anyway)."""
    key = f"portal:pay:{request.META.get('REMOTE_ADDR', '')}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=60)
        return False
    return count > LOOKUPS_PER_MINUTE


def _refused(request: HttpRequest, message: str, *, status: int = 410, link: PaymentLink | None = None) -> HttpResponse:
    return render(request, "portal/pay/refused.html", {"message": message, "link": link}, status=status)


def _lookup(request: HttpRequest, token: str) -> tuple[PaymentLink | None, HttpResponse | None]:
    if _throttled(request):
        response = _refused(request, _("Trop de tentatives : réessayez dans une minute."), status=429)
        response["Retry-After"] = "60"
        return None, response
    link = link_services.find_link(token)
    if link is None:
        return None, _refused(request, link_services.link_state(None).message, status=404)
    return link, None


@never_cache
@require_http_methods(["GET", "HEAD"])
def pay(request: HttpRequest, token: str) -> HttpResponse:
    link, refused = _lookup(request, token)
    if refused is not None:
        return refused
    assert link is not None
    state = link_services.link_state(link)
    if not state.payable:
        status = 200 if state.code == "paid" else 410
        return _refused(request, state.message, status=status, link=link)
    return render(request, "portal/pay/page.html", {"link": link, "invoice": link.invoice, "token": token,
                                                    "remaining": state.remaining})  # fmt: skip


@never_cache
def pay_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """POST « Payer par carte »: to the provider's checkout (Stripe) or the offline form."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    link, refused = _lookup(request, token)
    if refused is not None:
        return refused
    assert link is not None
    return _checkout(request, link, token)


def _checkout(request: HttpRequest, link: PaymentLink, token: str) -> HttpResponse:
    try:
        checkout = link_services.start_checkout(
            link=link, token=token,
            success_url=request.build_absolute_uri(reverse("portal:pay_done", args=[token])),
            cancel_url=request.build_absolute_uri(reverse("portal:pay", args=[token])),
        )  # fmt: skip
    except DomainError as exc:
        return _refused(request, exc.message, status=409, link=link)
    return redirect(checkout.url)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def pay_offline(request: HttpRequest, token: str) -> HttpResponse:
    """The manual provider's checkout: a demo card form (nothing is charged); its confirmation goes through the
    provider-event path (a locally signed `checkout.session.completed`)."""
    link, refused = _lookup(request, token)
    if refused is not None:
        return refused
    assert link is not None
    if link.provider != Provider.MANUAL or not link.checkout_session_id or not offline_checkout_enabled():
        return _refused(request, _("Ce paiement n'est pas disponible hors ligne."), status=404, link=link)
    state = link_services.link_state(link)
    if not state.payable:
        return _refused(request, state.message, status=200 if state.code == "paid" else 410, link=link)
    if request.method == "POST":
        provider = ManualProvider()
        payload, signature = provider.sign(provider.completed_event(link=link))
        webhooks.receive(provider=Provider.MANUAL, payload=payload, signature=signature)
        return redirect("portal:pay_done", token=token)
    return render(request, "portal/pay/offline.html", {"link": link, "invoice": link.invoice, "token": token})


@never_cache
@require_http_methods(["GET", "HEAD"])
def pay_done(request: HttpRequest, token: str) -> HttpResponse:
    """Back from the checkout: paid, or being confirmed (the provider's event may come a moment later)."""
    link, refused = _lookup(request, token)
    if refused is not None:
        return refused
    assert link is not None
    return render(request, "portal/pay/done.html", {"link": link, "invoice": link.invoice,
                                                    "paid": link.status == PaymentLink.Status.PAID})  # fmt: skip


@never_cache
@require_http_methods(["GET", "HEAD"])
def pay_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The invoice's PDF, through the link's token."""
    link, refused = _lookup(request, token)
    if refused is not None:
        return refused
    assert link is not None
    if link.status == PaymentLink.Status.CANCELLED:
        return _refused(request, link_services.link_state(link).message, status=410, link=link)
    from comptoir.billing.documents.render import ensure_pdf
    from comptoir.portal.views_documents import _pdf

    try:
        data = ensure_pdf(link.invoice)
    except Exception:
        logger.exception("Payment link %s: the PDF of invoice %s could not be produced", link.pk, link.invoice_id)
        return _refused(request, _("Le PDF n'est pas disponible pour le moment : réessayez plus tard."), status=503,
                        link=link)  # fmt: skip
    return _pdf(data, f"{link.invoice.reference}.pdf", inline=True)


@never_cache
@member_required
def invoice_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """POST « Payer par carte » on the portal's invoice page."""
    invoice = _member_invoice(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    contact = next(
        (contact for contact in portal_contacts(request.user, request.portal_organization)  # type: ignore[arg-type, attr-defined]
         if contact.company_id == invoice.company_id),
        None,
    )  # fmt: skip
    try:
        if contact is None:
            raise link_services.LinkError(_("Cette facture n'est pas celle de votre entreprise."), code="forbidden")
        link, token = link_services.portal_link(invoice=invoice, contact=contact, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:invoice_detail", pk=invoice.pk)
    return _checkout(request, link, token)


urlpatterns = [
    path("pay/<str:token>/", pay, name="pay"),
    path("pay/<str:token>/checkout/", pay_checkout, name="pay_checkout"),
    path("pay/<str:token>/offline/", pay_offline, name="pay_offline"),
    path("pay/<str:token>/done/", pay_done, name="pay_done"),
    path("pay/<str:token>/invoice.pdf", pay_pdf, name="pay_pdf"),
    path("invoices/<int:pk>/pay/", invoice_pay, name="invoice_pay"),
]
