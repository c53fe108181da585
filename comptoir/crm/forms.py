"""Back office forms of the CRM. They parse the input; the services validate it and save (their refusals
come back at the field through `add_domain_error`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from comptoir.core import validators
from comptoir.core.forms import ServiceModelForm, StyledFormMixin, country_choices
from comptoir.core.models import Organization, User
from comptoir.crm.filters import staff_users
from comptoir.crm.models import Company, Contact, JobFunction, MarketingSource
from comptoir.crm.services.companies import COMPANY_FIELDS, CONTACT_FIELDS


class _OrganizationChoices:
    """Limits the related-object choices to the organization the request works in."""

    def limit_choices(self, request: Any) -> None:
        organization: Organization = request.organization
        fields = self.fields  # type: ignore[attr-defined]
        if "center" in fields:
            from comptoir.core import selectors as core_selectors

            fields["center"].queryset = core_selectors.centers_for(request.user, organization).order_by("name", "id")
        instance = getattr(self, "instance", None)
        if "marketing_source" in fields:
            current = getattr(instance, "marketing_source_id", None)  # an inactive current value stays selectable
            fields["marketing_source"].queryset = MarketingSource.objects.filter(
                Q(is_active=True) | Q(pk=current), organization=organization
            ).order_by("name", "id")
        if "account_manager" in fields:
            fields["account_manager"].queryset = staff_users(request)
            fields["account_manager"].label_from_instance = _user_label
        if "job_function" in fields:
            current = getattr(instance, "job_function_id", None)
            fields["job_function"].queryset = JobFunction.objects.filter(
                Q(is_active=True) | Q(pk=current), organization=organization
            ).order_by("position", "name", "id")


def _user_label(user: User) -> str:
    return user.full_name or user.email


class CompanyCreateForm(_OrganizationChoices, StyledFormMixin, forms.Form):
    """The short creation form: only the starred fields are required, the rest is completed later."""

    legal_type = forms.ChoiceField(
        label=_("Nature"), choices=Company.LegalType.choices, initial=Company.LegalType.COMPANY,
        widget=forms.RadioSelect,
        help_text=_("Un particulier ou un indépendant est créé avec son unique membre, en une fois."),
    )  # fmt: skip
    kind = forms.ChoiceField(label=_("Type"), choices=Company.Kind.choices, initial=Company.Kind.PROSPECT)
    name = forms.CharField(
        label=_("Raison sociale"), max_length=200,
        error_messages={"required": _("La raison sociale est obligatoire.")},
        help_text=_("Pour un particulier, son nom est utilisé."),
    )  # fmt: skip
    first_name = forms.CharField(label=_("Prénom"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=100, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Téléphone"), max_length=30, required=False, validators=[validators.validate_phone])
    center = forms.ModelChoiceField(label=_("Centre"), queryset=None, required=False)
    marketing_source = forms.ModelChoiceField(label=_("Source marketing"), queryset=None, required=False)

    fieldsets = [
        (_("Entreprise"), ["legal_type", "kind", "name", "center", "marketing_source"]),
        (_("Contact principal"), ["first_name", "last_name", "email", "phone"]),
    ]

    def __init__(self, *args: Any, request: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_choices(request)
        if self.data.get("legal_type") == Company.LegalType.INDIVIDUAL:
            self.fields["name"].required = False  # the person's name is used

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        individual = data.get("legal_type") == Company.LegalType.INDIVIDUAL
        if individual and not data.get("last_name"):
            self.add_error("last_name", _("Le nom est obligatoire pour un particulier."))
        has_contact = any(data.get(name) for name in ("first_name", "email", "phone"))
        if not individual and has_contact and not data.get("last_name"):
            self.add_error("last_name", _("Le nom du contact principal est obligatoire."))
        return data

    @property
    def is_individual(self) -> bool:
        return self.cleaned_data.get("legal_type") == Company.LegalType.INDIVIDUAL

    def person(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("first_name", "last_name", "email", "phone")}

    def company_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in ("center", "marketing_source")}
        if not self.is_individual:
            data["name"] = self.cleaned_data["name"]
        return data


class CompanyForm(_OrganizationChoices, ServiceModelForm):
    """The full form of a company ("Modifier")."""

    country = forms.ChoiceField(label=_("Pays"), choices=country_choices, initial="FR")
    invoice_delivery_methods = forms.MultipleChoiceField(
        label=_("Envoi des factures"),
        choices=Company.DeliveryMethod.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Company
        fields = COMPANY_FIELDS

    fieldsets = [
        (_("Identité"), ["name", "legal_type", "legal_form", "sector", "website"]),
        (_("Identifiants"), ["siren", "siret", "vat_number"]),
        (_("Coordonnées"), ["address_line1", "address_line2", "postal_code", "city", "country", "email", "phone"]),
        (_("Suivi commercial"), ["center", "account_manager", "marketing_source"]),
        (
            _("Facturation"),
            ["group_invoices", "subject_to_vat", "default_payment_method", "invoice_delivery_methods"],
        ),
    ]

    def __init__(self, *args: Any, request: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_choices(request)


class ContactForm(_OrganizationChoices, ServiceModelForm):
    """A member of a company: identity, role in the company (its rights), function and flags."""

    class Meta:
        model = Contact
        fields = CONTACT_FIELDS
        widgets = {"company_role": forms.RadioSelect}

    fieldsets = [
        (_("Identité"), ["first_name", "last_name", "email", "phone", "mobile"]),
        (_("Rôle"), ["company_role", "job_function"]),
        (_("Options"), ["is_active", "is_invoice_recipient", "has_portal_access"]),
    ]

    def __init__(self, *args: Any, request: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_choices(request)
        self.fields["company_role"].choices = Contact.CompanyRole.choices  # no empty choice
        self.fields["company_role"].help_text = _("Les droits de chaque rôle sont détaillés ci-dessous.")


class JobFunctionForm(ServiceModelForm):
    class Meta:
        model = JobFunction
        fields = ["name", "position", "is_active"]


class JobFunctionCreateForm(ServiceModelForm):
    class Meta:
        model = JobFunction
        fields = ["name"]
