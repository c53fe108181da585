"""The « Mandats SEPA » tab of a company (crm's COMPANY_TABS; clients-prospects « Modalités de paiement »): the
company's mandates (RUM, creditor, IBAN masked, status, signature), « Créer un mandat à signer » (the company's
administrator signs it in the portal with a code received by SMS), « Révoquer »; a mandate's page with its
signature evidence and its journal.

Every object view fetches its object through a tenant-scoped query before it looks at the method, so another
organization's company or mandate answers 404 on GET and POST alike. The services decide
(comptoir.payments.services.mandates); a refusal is shown at its field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.models import LegalEntity
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.models import Company
from comptoir.crm.views import companies as crm_companies
from comptoir.payments.models import Mandate
from comptoir.payments.services import mandates as services

register_object_url("payments.mandate", "payments:mandate_detail")
for _suffix, _verb, _icon in [
    ("mandate_created", gettext_lazy("Mandat SEPA créé"), "bank"),
    ("mandate_signed", gettext_lazy("Mandat SEPA signé"), "pen"),
    ("mandate_revoked", gettext_lazy("Mandat SEPA révoqué"), "x-circle"),
    ("code_sent", gettext_lazy("Code envoyé par SMS"), "chat-dots"),
    ("signed", gettext_lazy("Signature"), "pen"),
    ("locked", gettext_lazy("Bloqué (trop d'essais)"), "lock"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

if not any(tab[0] == "mandates" for tab in crm_companies.COMPANY_TABS):
    crm_companies.COMPANY_TABS.append(
        ("mandates", gettext_lazy("Mandats SEPA"), "payments:company_mandates", "payments.view_mandate")
    )

STATUS_BADGES = {
    Mandate.Status.PENDING: "warning",
    Mandate.Status.ACTIVE: "success",
    Mandate.Status.REVOKED: "secondary",
}


class MandateForm(forms.Form):
    """The bank details of a new mandate (checked by the service: IBAN checksum, BIC)."""

    account_holder = forms.CharField(label=gettext_lazy("Titulaire du compte"), max_length=70)
    iban = forms.CharField(label=gettext_lazy("IBAN"), max_length=50,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))  # fmt: skip
    bic = forms.CharField(label=gettext_lazy("BIC"), max_length=15, required=False,
                          help_text=gettext_lazy("Déduit de l'IBAN lorsqu'il est laissé vide (si la banque est connue)."))  # fmt: skip
    scheme = forms.ChoiceField(label=gettext_lazy("Type de prélèvement"), choices=Mandate.Scheme.choices,
                               initial=Mandate.Scheme.CORE)  # fmt: skip
    legal_entity = forms.ModelChoiceField(label=gettext_lazy("Créancier"), queryset=LegalEntity.objects.none(),
                                          required=False, empty_label=gettext_lazy("Celui du contrat ou du centre"))  # fmt: skip

    def __init__(self, *args: Any, organization: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entities = LegalEntity.objects.filter(organization=organization, is_active=True).order_by("name")
        self.fields["legal_entity"].queryset = entities
        if entities.count() <= 1:
            del self.fields["legal_entity"]

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in ("account_holder", "iban", "bic", "scheme")}
        if self.cleaned_data.get("legal_entity") is not None:
            data["legal_entity"] = self.cleaned_data["legal_entity"]
        return data


def _companies(request: HttpRequest) -> QuerySet[Company]:
    return crm_selectors.companies_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def mandate_rows(request: HttpRequest) -> QuerySet[Mandate]:
    return services.mandates_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _tab(request: HttpRequest, company: Company, form: MandateForm | None = None, status: int = 200) -> HttpResponse:
    mandates = list(mandate_rows(request).filter(company=company).order_by("-created_at", "-id")[:100])
    can_add = can(request, "payments.add_mandate")
    if form is None and can_add:
        form = MandateForm(organization=request.organization, initial={"account_holder": company.name})  # type: ignore[attr-defined]
    template = "payments/mandates/_company_mandates.html" if _is_htmx(request) else (
        "payments/mandates/company_mandates.html")  # fmt: skip
    return render(
        request,
        template,
        {
            "company": company,
            "mandates": mandates,
            "badges": STATUS_BADGES,
            "form": form,
            "can_add": can_add,
            "can_change": can(request, "payments.change_mandate"),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
        },
        status=status,
    )


@right_required("payments.view_mandate")
def company_mandates(request: HttpRequest, pk: int) -> HttpResponse:
    """The « Mandats SEPA » tab."""
    return _tab(request, get_object_or_404(_companies(request), pk=pk))


@right_required("payments.view_mandate", "payments.add_mandate")
def company_mandate_create(request: HttpRequest, pk: int) -> HttpResponse:
    """« Créer un mandat à signer » (POST): pending until the company's administrator signs it in the portal."""
    company = get_object_or_404(_companies(request), pk=pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = MandateForm(request.POST, organization=request.organization)  # type: ignore[attr-defined]
    if form.is_valid():
        try:
            mandate = services.create_mandate(company=company, by=request.user, data=form.service_data())  # type: ignore[arg-type]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le mandat %(reference)s est créé : l'administrateur de l'entreprise le signe "
                                        "dans son espace client.") % {"reference": mandate.reference})  # fmt: skip
            if _is_htmx(request):
                return _tab(request, company)
            return redirect(f"{company.get_absolute_url()}?tab=mandates")
    return _tab(request, company, form, status=400)


def _mandate(request: HttpRequest, pk: int) -> Mandate:
    return get_object_or_404(mandate_rows(request), pk=pk)


@right_required("payments.view_mandate")
def mandate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mandate = _mandate(request, pk)
    evidence = mandate.signature_evidence or {}
    return render(
        request,
        "payments/mandates/detail.html",
        {
            "mandate": mandate,
            "object": mandate,
            "badge": STATUS_BADGES.get(mandate.status, "secondary"),
            "evidence": {key: value for key, value in evidence.items() if key != "events"},
            "events": evidence.get("events", []),
            "locked": services.is_locked(mandate),
            "can_revoke": mandate.status != Mandate.Status.REVOKED and can(request, "payments.change_mandate"),
            "debits": list(mandate.debit_items.select_related("batch", "invoice").order_by("-id")[:50]),
            "timeline": timeline(mandate),
            "title": _("Mandat %(reference)s") % {"reference": mandate.reference},
            "breadcrumb": [
                (_("Entreprises"), reverse("crm:company_list")),
                (mandate.company.name, f"{mandate.company.get_absolute_url()}?tab=mandates"),
            ],
        },
    )


@right_required("payments.view_mandate", "payments.change_mandate")
def mandate_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """« Révoquer » (POST): the mandate is no longer used for new debits."""
    mandate = _mandate(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.revoke_mandate(mandate=mandate, by=request.user, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le mandat %(reference)s est révoqué.") % {"reference": mandate.reference})
    if _is_htmx(request):
        return _tab(request, mandate.company)
    return redirect("payments:mandate_detail", mandate.pk)


urlpatterns = [
    path("companies/<int:pk>/mandates/", company_mandates, name="company_mandates"),
    path("companies/<int:pk>/mandates/new/", company_mandate_create, name="company_mandate_create"),
    path("mandates/<int:pk>/", mandate_detail, name="mandate_detail"),
    path("mandates/<int:pk>/revoke/", mandate_revoke, name="mandate_revoke"),
]
