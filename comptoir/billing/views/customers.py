"""The "Facturation" tab of a company: its invoicing data (Chorus Pro public buyer, service code, commitment
number, auxiliary account, payment terms), read by the invoices it gets."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing.models import CustomerBillingProfile
from comptoir.billing.services import invoices as services
from comptoir.core import rights
from comptoir.core.errors import DomainError
from comptoir.core.forms import StyledFormMixin
from comptoir.core.views.base import right_required
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.views.companies import COMPANY_TABS

if not any(tab[0] == "billing_settings" for tab in COMPANY_TABS):
    COMPANY_TABS.append(
        ("billing_settings", gettext_lazy("Facturation"), "billing:company_billing_settings", "billing.view_invoice")
    )


class CustomerBillingForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = CustomerBillingProfile
        fields = ["is_public_entity", "service_code", "commitment_number", "auxiliary_account", "payment_terms_days"]


@right_required("billing.view_invoice")
def company_billing_settings(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(crm_selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    profile = CustomerBillingProfile.objects.filter(company=company).first() or CustomerBillingProfile(company=company)
    can_change = rights.has_right(request.user, "crm.change_company", request.organization)  # type: ignore[attr-defined]
    saved = False
    if request.method == "POST":
        form = CustomerBillingForm(request.POST, instance=CustomerBillingProfile(company=company))
        if not can_change:
            form.add_error(None, _("Vous n'avez pas le droit d'effectuer cette action."))
        elif form.is_valid():
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                profile = services.update_customer_profile(company=company, by=request.user, data=data)  # type: ignore[arg-type]
                saved = True
            except DomainError as exc:
                for field, messages in (exc.fields or {None: [exc.message]}).items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
    else:
        form = CustomerBillingForm(instance=profile)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    template = "billing/customers/_billing_settings.html" if getattr(request, "htmx", False) else (
        "billing/customers/billing_settings.html")  # fmt: skip
    return render(request, template, {"company": company, "form": form, "can_change": can_change, "saved": saved})


urlpatterns = [
    path("companies/<int:pk>/billing-settings/", company_billing_settings, name="company_billing_settings"),
]
