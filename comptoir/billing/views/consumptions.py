"""The « Consommations » tab of a company (frontmanager §10-11): its consumptions by center, a checkbox per
unbilled one, « Générer une facture » for the selection, « Ajouter une consommation », and deleting an
unbilled one. The monthly run bills what is left here."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing import selectors
from comptoir.billing.forms import ConsumptionForm
from comptoir.billing.services import invoices as services
from comptoir.catalog.models import Product
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, register_object_url, right_required
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.models import Company, Contact
from comptoir.crm.views import companies as crm_companies
from comptoir.crm.views.contacts import CONTACT_TABS
from comptoir.sales.selectors import contracts as contract_selectors

register_object_url("billing.consumption", "billing:consumption_company")
ACTION_VERBS.setdefault("recorded", gettext_lazy("Saisie"))
ACTION_ICONS.setdefault("recorded", "cup-hot")

_company_tab = ("consumptions", gettext_lazy("Consommations"), "billing:company_consumptions",
                "billing.view_consumption")  # fmt: skip
if not any(tab[0] == "consumptions" for tab in crm_companies.COMPANY_TABS):
    crm_companies.COMPANY_TABS.append(_company_tab)

MENU: list[Any] = []

TAB_TEMPLATE = "billing/consumptions/_company_consumptions.html"


def _company(request: HttpRequest, pk: int) -> Company:
    return get_object_or_404(crm_selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]


def _form(
    request: HttpRequest, company: Company, data: Any = None, *, member: Contact | None = None
) -> ConsumptionForm:
    organization = request.organization  # type: ignore[attr-defined]
    centers = core_selectors.centers_for(request.user, organization)  # type: ignore[arg-type]
    initial: dict[str, Any] = {"date": timezone.localdate()}
    if member is not None:
        initial["contact"] = member.pk
    if company.center_id and centers.filter(pk=company.center_id).exists():
        initial["center"] = company.center_id
    return ConsumptionForm(
        data,
        prefix="consumption",
        initial=initial,
        centers=centers,
        products=selectors.billable_products(organization, kinds=[Product.Kind.CONSUMPTION]),
        contacts=company.contacts.filter(is_active=True),
        contracts=contract_selectors.contracts_for(request.user, organization).filter(company=company),  # type: ignore[arg-type]
    )


def _member(request: HttpRequest, company: Company) -> Contact | None:
    """The member whose consumptions the tab shows (`?member=<id>`, the « Consommations » tab of a member's page)."""
    value = request.GET.get("member", "")
    return company.contacts.filter(pk=int(value)).first() if value.isdigit() and len(value) < 12 else None


def _tab(request: HttpRequest, company: Company, *, form: ConsumptionForm | None = None,
         selection_error: str | None = None, selected: list[int] | None = None) -> HttpResponse:  # fmt: skip
    member = _member(request, company)
    consumptions = selectors.consumptions_for(request.user, request.organization).filter(company=company)  # type: ignore[arg-type, attr-defined]
    if member is not None:
        consumptions = consumptions.filter(contact=member)
    can_add = can(request, "billing.add_consumption")
    groups = selectors.consumptions_by_center(consumptions)
    chosen = set(selected or [])
    all_selected = {
        center.pk
        for center, rows in groups
        if (unbilled := {row.pk for row in rows if row.invoice_id is None}) and unbilled <= chosen
    }
    context = {
        "company": company,
        "groups": groups,
        "all_selected": all_selected,
        "form": form if form is not None else (_form(request, company, member=member) if can_add else None),
        "member": member,
        "member_query": f"?member={member.pk}" if member is not None else "",
        "can_add": can_add,
        "can_delete": can(request, "billing.delete_consumption"),
        "can_invoice": can(request, "billing.add_invoice"),
        "selection_error": selection_error,
        "selected": chosen,
        "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
    }
    if getattr(request, "htmx", False):
        return render(request, TAB_TEMPLATE, context)
    return render(request, "billing/consumptions/company_consumptions.html", context)


@right_required("billing.view_consumption")
def company_consumptions(request: HttpRequest, pk: int) -> HttpResponse:
    """The tab; `?toggled=<center>` (the « tout sélectionner » checkbox of a center changed) re-renders it with
    every unbilled consumption of that center selected or none, keeping the other checkboxes."""
    company = _company(request, pk)
    selected = [int(value) for value in request.GET.getlist("consumptions") if value.isdigit()]
    toggled = request.GET.get("toggled", "")
    if toggled.isdigit():
        visible = selectors.consumptions_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]
        of_center = set(
            visible.filter(company=company, center_id=int(toggled), invoice__isnull=True).values_list("pk", flat=True)
        )
        selected = [pk for pk in selected if pk not in of_center]
        if toggled in request.GET.getlist("select_all"):
            selected += sorted(of_center)
    return _tab(request, company, selected=selected)


@right_required("billing.view_consumption", "billing.add_consumption")
def consumption_create(request: HttpRequest, pk: int) -> HttpResponse:
    """« Ajouter une consommation » (POST from the tab)."""
    company = _company(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = _form(request, company, request.POST)
    if form.is_valid():
        try:
            services.record_consumption(
                by=request.user,  # type: ignore[arg-type]
                organization_id=request.organization.pk,  # type: ignore[attr-defined]
                data=form.service_data(company),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("La consommation est enregistrée."))
            if getattr(request, "htmx", False):
                return _tab(request, company)
            return redirect("billing:company_consumptions", company.pk)
    return _tab(request, company, form=form)


@right_required("billing.view_consumption", "billing.add_invoice")
def consumption_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    """« Générer une facture »: one draft invoice for the selected unbilled consumptions of one center."""
    company = _company(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    raw = request.POST.getlist("consumptions")
    ids = [int(value) for value in raw if value.isdigit()]
    visible = selectors.consumptions_for(request.user, request.organization).filter(company=company)  # type: ignore[arg-type, attr-defined]
    known = list(visible.filter(pk__in=ids).values_list("pk", flat=True))
    if len(known) != len(set(ids)) or len(ids) != len(raw):
        return _tab(request, company, selection_error=_("Consommation inconnue."), selected=known)
    try:
        invoice = services.invoice_consumptions(
            by=request.user,  # type: ignore[arg-type]
            organization_id=request.organization.pk,  # type: ignore[attr-defined]
            consumption_ids=ids,
        )
    except DomainError as exc:
        return _tab(request, company, selection_error=exc.message, selected=ids)
    messages.success(request, _("La facture brouillon des consommations est créée."))
    if getattr(request, "htmx", False):
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(invoice.get_absolute_url())
    return redirect(invoice)


@right_required("billing.view_consumption", "billing.delete_consumption")
def consumption_delete(request: HttpRequest, pk: int) -> HttpResponse:
    consumption = get_object_or_404(selectors.consumptions_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.delete_consumption(consumption=consumption, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("La consommation est supprimée."))
    company = consumption.company
    if getattr(request, "htmx", False):
        return _tab(request, company)
    return redirect("billing:company_consumptions", company.pk)


@right_required("billing.view_consumption")
def consumption_company(request: HttpRequest, pk: int) -> HttpResponse:
    """The journal links a consumption to its company's tab."""
    consumption = get_object_or_404(selectors.consumptions_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    return redirect("billing:company_consumptions", consumption.company_id)


def _member_tab_url(contact: Contact) -> str:
    return f"{reverse('billing:company_consumptions', args=[contact.company_id])}?member={contact.pk}"


if not any(tab[0] == "consumptions" for tab in CONTACT_TABS):
    CONTACT_TABS.append(("consumptions", gettext_lazy("Consommations"), _member_tab_url, "billing.view_consumption"))


urlpatterns = [
    path("companies/<int:pk>/consumptions/", company_consumptions, name="company_consumptions"),
    path("companies/<int:pk>/consumptions/new/", consumption_create, name="company_consumption_create"),
    path("companies/<int:pk>/consumptions/invoice/", consumption_invoice, name="company_consumptions_invoice"),
    path("consumptions/<int:pk>/delete/", consumption_delete, name="consumption_delete"),
    path("consumptions/<int:pk>/", consumption_company, name="consumption_company"),
]
