"""Paramètres → Facturation: the invoicing settings of each legal entity of the organization (numbering,
prefixes, payment terms and legal mentions, accounts and journal, document colour, locked period). One form
per entity; the service refuses what the law or the ledger forbids (numbering once documents are issued,
unlocking a period), shown at the field."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing.forms import BillingProfileForm
from comptoir.billing.services import invoices as services
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.models import LegalEntity
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, register_object_url, right_required

register_object_url("billing.billingprofile", "billing:settings")
ACTION_VERBS.setdefault("changed", gettext_lazy("Modification"))
ACTION_ICONS.setdefault("changed", "pencil")

MENU = [
    Entry("settings", gettext_lazy("Facturation"), "billing:settings", "billing.view_billingprofile", 35, "receipt")
]


def _entities(request: HttpRequest) -> Any:
    return core_selectors.legal_entities_for(request.user, request.organization).order_by("name", "id")  # type: ignore[arg-type, attr-defined]


def _form(entity: LegalEntity, data: Any = None) -> BillingProfileForm:
    return BillingProfileForm(data, instance=services.billing_profile(entity), prefix=f"entity{entity.pk}")


def _page(request: HttpRequest, forms: dict[int, BillingProfileForm] | None = None, status: int = 200) -> HttpResponse:
    forms = forms or {}
    entities = list(_entities(request))
    sections = [(entity, forms.get(entity.pk) or _form(entity)) for entity in entities]
    return render(
        request,
        "billing/settings/settings.html",
        {
            "sections": sections,
            "can_change": can(request, "billing.change_billingprofile"),
            "title": _("Paramètres de facturation"),
            "fieldsets": BillingProfileForm.fieldsets,
        },
        status=status,
    )


@right_required("billing.view_billingprofile")
def billing_settings(request: HttpRequest) -> HttpResponse:
    return _page(request)


@right_required("billing.view_billingprofile", "billing.change_billingprofile")
def billing_settings_update(request: HttpRequest, legalentity_pk: int) -> HttpResponse:
    """Save one entity's settings (its own form on the page)."""
    entity = get_object_or_404(_entities(request), pk=legalentity_pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = _form(entity, request.POST)
    if form.is_valid():
        try:
            services.update_billing_profile(legal_entity=entity, by=request.user, data=form.service_data())  # type: ignore[arg-type]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Les paramètres de facturation de %(name)s sont enregistrés.") % {
                "name": entity.name})  # fmt: skip
            return redirect(f"{reverse('billing:settings')}#entity-{entity.pk}")
    return _page(request, {entity.pk: form})


urlpatterns = [
    path("settings/", billing_settings, name="settings"),
    path("settings/<int:legalentity_pk>/", billing_settings_update, name="settings_update"),
]
