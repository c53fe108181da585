"""Back office and account forms of the core app.

Forms only parse and check the shape of the input (types, required fields, lengths). The business
rules and the model validation (SIREN, IBAN, uniqueness...) live in `services`: a view passes the
form's cleaned data to a service and shows the `DomainError` it may raise at the faulty field.
"""

from __future__ import annotations

import datetime
import functools
import gettext as gettext_module
import itertools
import unicodedata
from typing import Any

import pycountry
from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.core import rights, selectors, services
from comptoir.core.errors import DomainError
from comptoir.core.models import Center, LegalEntity, OpeningHours, Organization, Role, StaffMembership, User
from comptoir.core.models import timezone_choices as all_timezones
from comptoir.core.tenancy import staff_organizations


# --------------------------------------------------------------------------------------------------
# Bootstrap styling and error mapping
# --------------------------------------------------------------------------------------------------
def style_form(form: forms.BaseForm) -> forms.BaseForm:
    """Give every widget its Bootstrap class (form-control, form-select, form-check-input)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        elif isinstance(widget, forms.HiddenInput):
            continue
        else:
            css = "form-control"
        classes = widget.attrs.get("class", "").split()
        if css not in classes:
            widget.attrs["class"] = " ".join([*classes, css])
    return form


class StyledFormMixin:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_form(self)  # type: ignore[arg-type]


class ServiceModelForm(StyledFormMixin, forms.ModelForm):
    """A ModelForm that only parses the input: the service validates the model and saves it."""

    def _post_clean(self) -> None:
        """No model validation here: the service runs it (once) and its errors come back per field."""

    def service_data(self, *, only_changed: bool = False) -> dict[str, Any]:
        names = self.changed_data if only_changed else list(self.fields)
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}


def add_domain_error(form: forms.BaseForm, exc: DomainError, *, aliases: dict[str, str | None] | None = None) -> None:
    """Show a service's refusal at the right place: each field's messages at that field, the rest on top."""
    aliases = aliases or {}
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for name, field_messages in exc.fields.items():
        target = aliases.get(name, name)
        if target not in form.fields:
            target = None
        for message in field_messages:
            form.add_error(target, message)


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")


def _compact(value: str) -> str:
    return "".join((value or "").split()).upper()


@functools.cache
def _country_names(language: str) -> list[tuple[str, str]]:
    try:
        catalog = gettext_module.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        translate = catalog.gettext
    except OSError:
        translate = str

    def sort_key(item: tuple[str, str]) -> str:
        return unicodedata.normalize("NFKD", item[1]).encode("ascii", "ignore").decode().casefold()

    names = [
        (country.alpha_2, translate(getattr(country, "common_name", None) or country.name))
        for country in pycountry.countries
    ]
    return sorted(names, key=sort_key)


@functools.cache
def timezone_choices() -> list[tuple[str, str]]:
    return all_timezones()


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166 countries named in the active language, France first."""
    language = (translation.get_language() or "fr").split("-")[0]
    names = _country_names(language)
    france = [item for item in names if item[0] == "FR"]
    return france + [item for item in names if item[0] != "FR"]


# --------------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------------
class LoginForm(StyledFormMixin, forms.Form):
    # Named "username" like Django's own form: django-axes counts failures per this field.
    username = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ActivationForm(StyledFormMixin, auth_forms.SetPasswordForm):
    """Choose a password from the activation (or reset) link: services.activate_account does the write."""

    def save(self, commit: bool = True) -> User:
        return services.activate_account(user=self.user, password=self.cleaned_data["new_password1"])


class PasswordResetRequestForm(StyledFormMixin, auth_forms.PasswordResetForm):
    """Also reaches accounts that were never activated: the reset link then serves as a new activation link."""

    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def get_users(self, email: str):  # type: ignore[no-untyped-def]
        return (
            user
            for user in User.objects.filter(email__iexact=email, is_active=True)
            if user.email.lower() == email.lower()
        )

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):  # type: ignore[no-untyped-def]
        from django.conf import settings

        user = context["user"]
        context = {**context, "site_url": settings.SITE_URL, "workspaces": list(staff_organizations(user))}
        with translation.override(user.language or translation.get_language() or "fr"):
            super().send_mail(
                subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name
            )


# --------------------------------------------------------------------------------------------------
# Organization, legal entities, centers
# --------------------------------------------------------------------------------------------------
class OrganizationForm(ServiceModelForm):
    class Meta:
        model = Organization
        fields = services.ORGANIZATION_FIELDS


class LegalEntityForm(ServiceModelForm):
    IDENTIFIERS = ("siren", "siret", "vat_number", "iban", "bic", "sepa_creditor_id")

    country = forms.ChoiceField(label=_("pays"), choices=country_choices, initial="FR")

    class Meta:
        model = LegalEntity
        fields = services.LEGAL_ENTITY_FIELDS
        widgets = {"invoice_legal_mentions": forms.Textarea(attrs={"rows": 4})}

    fieldsets = [
        (_("Identité"), ["name", "legal_form", "share_capital", "rcs", "approval_number", "is_active"]),
        (_("Identifiants"), ["siren", "siret", "vat_number"]),
        (_("Coordonnées"), ["address_line1", "address_line2", "postal_code", "city", "country", "email", "phone"]),
        (_("Banque et prélèvements"), ["iban", "bic", "sepa_creditor_id"]),
        (_("Factures"), ["logo", "invoice_legal_mentions"]),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Identifiers are typed with spaces ("FR76 3000 6000 ..."): allow the room, the service compacts them.
        for name in self.IDENTIFIERS:
            self.fields[name].max_length = None
            self.fields[name].validators = []
            self.fields[name].widget.attrs.pop("maxlength", None)
            self.fields[name].widget.attrs["autocomplete"] = "off"
            self.fields[name].widget.attrs["spellcheck"] = "false"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.IDENTIFIERS:
            if isinstance(cleaned.get(name), str):
                cleaned[name] = _compact(cleaned[name])
        return cleaned

    def service_data(self, *, only_changed: bool = False) -> dict[str, Any]:
        data = super().service_data(only_changed=only_changed)
        if "logo" in data:
            if data["logo"] is False:  # "clear" ticked
                data["logo"] = ""
            elif not data["logo"]:
                data.pop("logo")
        return data


class CenterForm(ServiceModelForm):
    country = forms.ChoiceField(label=_("pays"), choices=country_choices, initial="FR")
    timezone = forms.ChoiceField(label=_("fuseau horaire"), choices=timezone_choices, initial="Europe/Paris")

    class Meta:
        model = Center
        fields = services.CENTER_FIELDS

    fieldsets = [
        (_("Centre"), ["name", "code", "legal_entity", "timezone", "is_active"]),
        (_("Coordonnées"), ["address_line1", "address_line2", "postal_code", "city", "country", "email", "phone"]),
    ]

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].queryset = selectors.legal_entities_for(user, organization).order_by("name")
        self.fields["legal_entity"].empty_label = None


class IntervalForm(StyledFormMixin, forms.Form):
    opens_at = forms.TimeField(label=_("ouverture"), widget=time_input())
    closes_at = forms.TimeField(label=_("fermeture"), widget=time_input())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("L'heure de fermeture doit suivre l'heure d'ouverture."))
        return cleaned


class BaseIntervalFormSet(forms.BaseFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        style_form(form)  # the DELETE checkbox too

    def intervals(self) -> list[tuple[datetime.time, datetime.time]]:
        return sorted(
            (form.cleaned_data["opens_at"], form.cleaned_data["closes_at"])
            for form in self.forms
            if form.cleaned_data.get("opens_at")
            and form.cleaned_data.get("closes_at")
            and not (self.can_delete and self._should_delete_form(form))
        )

    def clean(self) -> None:
        if any(self.errors):
            return
        intervals = self.intervals()
        for (_opens_a, closes_a), (opens_b, _closes_b) in itertools.pairwise(intervals):
            if opens_b < closes_a:
                raise ValidationError(_("Deux plages horaires du même jour se chevauchent."), code="overlap")


IntervalFormSet = forms.formset_factory(IntervalForm, formset=BaseIntervalFormSet, extra=0, can_delete=True)


def opening_hours_formsets(center: Center, data: Any = None) -> list[dict[str, Any]]:
    """One formset per weekday (prefix day0..day6), filled with the center's intervals; a closed day gets a blank row."""
    per_day: dict[int, list[dict[str, datetime.time]]] = {day: [] for day in range(7)}
    for hours in center.opening_hours.all():
        per_day[hours.weekday].append({"opens_at": hours.opens_at, "closes_at": hours.closes_at})
    days = []
    for day, label in OpeningHours.Weekday.choices:
        formset = IntervalFormSet(data, initial=per_day[day], prefix=f"day{day}")
        if not per_day[day] and data is None:
            formset.extra = 1
        days.append({"weekday": day, "label": label, "formset": formset, "closed": not per_day[day]})
    return days


# --------------------------------------------------------------------------------------------------
# Staff and roles
# --------------------------------------------------------------------------------------------------
class StaffCreateForm(StyledFormMixin, forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    first_name = forms.CharField(label=_("Prénom"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=100, required=False)
    phone = forms.CharField(label=_("Téléphone mobile"), max_length=30, required=False)
    job_title = forms.CharField(label=_("Fonction"), max_length=100, required=False)
    role = forms.ModelChoiceField(label=_("Rôle"), queryset=Role.objects.none())
    centers = forms.ModelMultipleChoiceField(
        label=_("Centres autorisés"),
        queryset=Center.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Laisser vide pour donner accès à tous les centres."),
    )

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = selectors.roles_for(user, organization).order_by("id")
        self.fields["centers"].queryset = selectors.centers_for(user, organization).order_by("name", "id")


class StaffEditForm(StyledFormMixin, forms.Form):
    role = forms.ModelChoiceField(label=_("Rôle"), queryset=Role.objects.none(), empty_label=None)
    job_title = forms.CharField(label=_("Fonction"), max_length=100, required=False)
    centers = forms.ModelMultipleChoiceField(
        label=_("Centres autorisés"),
        queryset=Center.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Laisser vide pour donner accès à tous les centres."),
    )
    is_active = forms.BooleanField(
        label=_("Accès actif"), required=False, help_text=_("Décocher pour suspendre l'accès au back office.")
    )

    def __init__(
        self, *args: Any, user: User, organization: Organization, staff: StaffMembership, **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "initial",
            {
                "role": staff.role_id,
                "job_title": staff.job_title,
                "centers": [center.pk for center in staff.centers.all()],
                "is_active": staff.is_active,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = selectors.roles_for(user, organization).order_by("id")
        self.fields["centers"].queryset = selectors.centers_for(user, organization).order_by("name", "id")


class RoleForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Nom"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)


class RoleCreateForm(RoleForm):
    copy_from = forms.ModelChoiceField(
        label=_("Reprendre les droits de"),
        queryset=Role.objects.none(),
        required=False,
        empty_label=_("Aucun droit au départ"),
        help_text=_("Vous pourrez ajuster les droits dans le tableau des droits."),
    )

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["copy_from"].queryset = selectors.roles_for(user, organization).order_by("id")

    def permission_names(self) -> set[str]:
        source = self.cleaned_data.get("copy_from")
        return set(rights.role_rights(source)) if source else set()


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------
class ApiTokenForm(StyledFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Nom"),
        max_length=100,
        help_text=_("Pour vous souvenir de son usage, ex. « Comptabilité »."),
    )
    expires_at = forms.DateField(
        label=_("Expire le"),
        required=False,
        widget=date_input(),
        help_text=_("Laisser vide pour un jeton sans expiration. Il reste valable jusqu'à la fin de ce jour."),
    )

    def expiry(self) -> datetime.datetime | None:
        day = self.cleaned_data.get("expires_at")
        if day is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))
