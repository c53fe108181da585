"""An organization's card payment settings (Finance → Paramètres de paiement, « Méthodes d'encaissement »): the
provider (manual by default, Stripe when configured), the address told of card payments, and Stripe Connect
onboarding (desk « Stripe > Activer », « Finaliser », « Dashboard Stripe »).

Right: `payments.change_paymentprofile` (the administrator role) for every change; reading needs
`payments.view_paymentprofile`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.core import journal, rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.payments.models import PaymentProfile, Provider
from comptoir.payments.providers import ConnectAccount, StripeProvider, stripe_configured

PROFILE_FIELDS = {"provider", "staff_email"}


def payment_profile(organization: Organization | int) -> PaymentProfile:
    """The organization's profile, created with the defaults (manual provider) the first time."""
    organization_id = organization if isinstance(organization, int) else organization.pk
    profile, _created = PaymentProfile.objects.get_or_create(organization_id=organization_id)
    return profile


def _locked(organization: Organization) -> PaymentProfile:
    payment_profile(organization)
    return PaymentProfile.objects.select_for_update().select_related("organization").get(organization=organization)


@transaction.atomic
def update_card_settings(*, organization: Organization, by: User, data: dict[str, Any]) -> PaymentProfile:
    """Choose the card provider (« manual » or « stripe ») and the e-mail told of card payments."""
    rights.require(by, "payments.change_paymentprofile", organization)
    unknown = sorted(set(data) - PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(unknown)},
                               code="unknown_field")  # fmt: skip
    profile = _locked(organization)
    before = journal.snapshot(profile, PROFILE_FIELDS)
    if "provider" in data:
        provider = str(data["provider"] or "")
        if provider not in Provider.values:
            raise ValidationFailed(_("Choisissez un prestataire."), code="invalid_provider", field="provider")
        if provider == Provider.STRIPE and not stripe_configured():
            raise ValidationFailed(
                _("Stripe n'est pas configuré sur cette installation : renseignez STRIPE_SECRET_KEY."),
                code="stripe_not_configured", field="provider",
            )  # fmt: skip
        profile.provider = provider
    if "staff_email" in data:
        email = str(data["staff_email"] or "").strip().lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise ValidationFailed(_("Adresse e-mail invalide."), code="invalid_email",
                                       field="staff_email") from None  # fmt: skip
        profile.staff_email = email
    profile.save(update_fields=["provider", "staff_email"])
    changes = journal.diff(before, journal.snapshot(profile, PROFILE_FIELDS))
    if changes:
        journal.record(actor=by, action="paymentprofile.updated", obj=organization, changes=changes)
    return profile


def start_stripe_onboarding(*, organization: Organization, by: User, refresh_url: str, return_url: str) -> str:
    """« Activer Stripe » / « Finaliser »: the Express account is created once, then each call gives a fresh
    onboarding link (an AccountLink is single-use and short-lived). Returns the URL to send the user to."""
    rights.require(by, "payments.change_paymentprofile", organization)
    provider = StripeProvider()
    profile = payment_profile(organization)
    account_id = profile.stripe_account_id
    if not account_id:
        email = organization.email or getattr(by, "email", "")
        account_id = provider.create_account(email=email, name=organization.name, organization_id=organization.pk)
        with transaction.atomic():
            profile = _locked(organization)
            if profile.stripe_account_id:  # created meanwhile by another request: keep the first one
                account_id = profile.stripe_account_id
            else:
                profile.stripe_account_id = account_id
                profile.stripe_status = PaymentProfile.StripeStatus.PENDING
                profile.save(update_fields=["stripe_account_id", "stripe_status"])
                journal.record(actor=by, action="paymentprofile.stripe_account_created", obj=organization,
                               changes={"stripe_account_id": account_id})  # fmt: skip
    return provider.onboarding_url(account_id=account_id, refresh_url=refresh_url, return_url=return_url)


@transaction.atomic
def _apply_account(organization_id: int, account: ConnectAccount, by: User | None) -> PaymentProfile:
    profile = (
        PaymentProfile.objects.select_for_update().select_related("organization").get(organization_id=organization_id)
    )
    if profile.stripe_account_id != account.account_id:
        return profile
    status = PaymentProfile.StripeStatus.ACTIVE if account.charges_enabled else PaymentProfile.StripeStatus.PENDING
    if status != profile.stripe_status:
        before = profile.stripe_status
        profile.stripe_status = status
        update = ["stripe_status"]
        if status == PaymentProfile.StripeStatus.ACTIVE and profile.provider == Provider.MANUAL:
            profile.provider = Provider.STRIPE  # the account can take payments: cards go to Stripe from now on
            update.append("provider")
        profile.save(update_fields=update)
        journal.record(actor=by, action="paymentprofile.stripe_status_changed", obj=profile.organization,
                       changes={"stripe_status": [before, status]})  # fmt: skip
    return profile


def refresh_stripe_status(*, organization: Organization, by: User) -> PaymentProfile:
    """Back from Stripe's onboarding: read the account (active once `charges_enabled`)."""
    rights.require(by, "payments.change_paymentprofile", organization)
    profile = payment_profile(organization)
    if not profile.stripe_account_id:
        return profile
    account = StripeProvider().retrieve_account(account_id=profile.stripe_account_id)
    return _apply_account(organization.pk, account, by)


def apply_account_updated(account: dict[str, Any]) -> str:
    """The `account.updated` webhook: the connected account's status (no right: the event is signed)."""
    account_id = str(account.get("id") or "")
    profile = PaymentProfile.objects.filter(stripe_account_id=account_id).exclude(stripe_account_id="").first()
    if profile is None:
        return "unknown account"
    connect = ConnectAccount(account_id=account_id, charges_enabled=bool(account.get("charges_enabled")),
                             details_submitted=bool(account.get("details_submitted")))  # fmt: skip
    profile = _apply_account(profile.organization_id, connect, None)
    return f"account {profile.stripe_status}"


def stripe_dashboard_url(*, organization: Organization, by: User) -> str:
    """« Dashboard Stripe »: a single-use login link to the Express dashboard."""
    rights.require(by, "payments.change_paymentprofile", organization)
    profile = payment_profile(organization)
    if not profile.stripe_account_id:
        raise ValidationFailed(_("Activez d'abord Stripe."), code="no_stripe_account")
    return StripeProvider().dashboard_url(account_id=profile.stripe_account_id)
