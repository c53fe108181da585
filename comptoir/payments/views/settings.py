"""Finance → Paramètres de paiement, « Méthodes d'encaissement » (desk « Stripe > Activer », « Finaliser »,
« Dashboard Stripe »): the card provider, the address told of card payments, and Stripe Connect onboarding.

Without STRIPE_SECRET_KEY the page says that card payments work in offline (manual) mode and how to configure
Stripe. Changes need `payments.change_paymentprofile` (the administrator role).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, require_right, right_required
from comptoir.payments.models import Provider
from comptoir.payments.providers import offline_checkout_enabled, stripe_configured
from comptoir.payments.services import profile as services

for _suffix, _verb, _icon in [
    ("stripe_account_created", gettext_lazy("Compte Stripe créé"), "credit-card"),
    ("stripe_status_changed", gettext_lazy("État du compte Stripe"), "credit-card"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [
    Entry("finance", gettext_lazy("Paramètres de paiement"), "payments:payment_settings",
          "payments.view_paymentprofile", 90, "credit-card-2-front"),
]  # fmt: skip


class CardSettingsForm(forms.Form):
    provider = forms.ChoiceField(label=gettext_lazy("Paiement par carte"), choices=Provider.choices)
    staff_email = forms.EmailField(label=gettext_lazy("E-mail des avis de paiement"), required=False,
                                   help_text=gettext_lazy("Vide : les administrateurs de l'organisation."))  # fmt: skip


def _page(request: HttpRequest, form: CardSettingsForm | None = None, status: int = 200) -> HttpResponse:
    profile = services.payment_profile(request.organization)  # type: ignore[attr-defined]
    if form is None:
        form = CardSettingsForm(initial={"provider": profile.provider, "staff_email": profile.staff_email})
    return render(
        request,
        "payments/settings/settings.html",
        {
            "profile": profile,
            "form": form,
            "can_change": can(request, "payments.change_paymentprofile"),
            "stripe_configured": stripe_configured(),
            "offline_enabled": offline_checkout_enabled(),
            "webhook_url": request.build_absolute_uri(reverse("api:webhook-stripe-list")),
            "title": _("Paramètres de paiement"),
        },
        status=status,
    )


@right_required("payments.view_paymentprofile")
def payment_settings(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    require_right(request, "payments.change_paymentprofile")
    form = CardSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.update_card_settings(organization=request.organization, by=request.user,  # type: ignore[arg-type, attr-defined]
                                          data=dict(form.cleaned_data))  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Les paramètres de paiement sont enregistrés."))
            return redirect("payments:payment_settings")
    return _page(request, form, status=400)


def _onboarding_urls(request: HttpRequest) -> dict[str, Any]:
    return {
        "refresh_url": request.build_absolute_uri(reverse("payments:stripe_refresh")),
        "return_url": request.build_absolute_uri(reverse("payments:stripe_return")),
    }


def _to_onboarding(request: HttpRequest) -> HttpResponse:
    try:
        url = services.start_stripe_onboarding(organization=request.organization, by=request.user,  # type: ignore[arg-type, attr-defined]
                                               **_onboarding_urls(request))  # fmt: skip
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payments:payment_settings")
    return redirect(url)


@right_required("payments.change_paymentprofile")
def stripe_activate(request: HttpRequest) -> HttpResponse:
    """POST « Activer Stripe » / « Finaliser »: the Express account (created once), then Stripe's onboarding."""
    if (refused := post_only(request)) is not None:
        return refused
    return _to_onboarding(request)


@right_required("payments.change_paymentprofile")
def stripe_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe's `refresh_url` (the onboarding link expired): a fresh link."""
    return _to_onboarding(request)


@right_required("payments.change_paymentprofile")
def stripe_return(request: HttpRequest) -> HttpResponse:
    """Stripe's `return_url`: read the account, active once it can take card payments."""
    try:
        profile = services.refresh_stripe_status(organization=request.organization, by=request.user)  # type: ignore[arg-type, attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if profile.stripe_status == profile.StripeStatus.ACTIVE:
            messages.success(request, _("Stripe est activé : les paiements par carte arrivent sur votre compte."))
        else:
            messages.warning(request, _("Votre compte Stripe n'est pas encore complet : cliquez sur « Finaliser »."))
    return redirect("payments:payment_settings")


@right_required("payments.change_paymentprofile")
def stripe_dashboard(request: HttpRequest) -> HttpResponse:
    """POST « Dashboard Stripe »: a single-use login link to the Express dashboard."""
    if (refused := post_only(request)) is not None:
        return refused
    try:
        url = services.stripe_dashboard_url(organization=request.organization, by=request.user)  # type: ignore[arg-type, attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payments:payment_settings")
    return redirect(url)


urlpatterns = [
    path("settings/", payment_settings, name="payment_settings"),
    path("settings/stripe/activate/", stripe_activate, name="stripe_activate"),
    path("settings/stripe/refresh/", stripe_refresh, name="stripe_refresh"),
    path("settings/stripe/return/", stripe_return, name="stripe_return"),
    path("settings/stripe/dashboard/", stripe_dashboard, name="stripe_dashboard"),
]
