"""Annuaire → Entreprises: the list of prospects and clients, their page ("fiche") and its actions.

The tabs of a company's page are listed in `COMPANY_TABS`: other CRM areas (opportunities, activities,
notes, actions) and later apps append (key, label, url_name[, right]) entries; a tab shows only when its
URL name resolves (the view exists) and the viewer holds its right.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import MAX_SEARCH_TERMS, Column, ListPage
from comptoir.core.views.base import Tab, can, post_only, register_object_url, right_required, timeline
from comptoir.crm import selectors, services
from comptoir.crm.filters import ARCHIVED_ALL, ARCHIVED_ONLY, CompanyFilter
from comptoir.crm.forms import CompanyCreateForm, CompanyForm
from comptoir.crm.models import Company, Contact, phone_digits

register_object_url("crm.company", "crm:company_detail")

# (key, label, url_name taking the company's pk[, right needed to see the tab])
COMPANY_TABS: list[tuple[Any, ...]] = [
    ("members", gettext_lazy("Membres"), "crm:company_members", "crm.view_contact"),
    ("opportunities", gettext_lazy("Opportunités"), "crm:company_opportunities", "crm.view_opportunity"),
    ("activities", gettext_lazy("Activités"), "crm:company_activities", "crm.view_activity"),
    ("notes", gettext_lazy("Notes"), "crm:company_notes", "crm.view_note"),
    ("actions", gettext_lazy("Actions"), "crm:company_actions", "crm.view_action"),
]

STATUS_BADGES = {
    Company.Status.ACTIVE: "success",
    Company.Status.PROSPECT: "warning",
    Company.Status.INACTIVE: "danger",
    Company.Status.SUSPENDED: "secondary",
}


def status_badge(company: Company) -> str:
    return STATUS_BADGES.get(company.status, "secondary")


def _status_cell(company: Company) -> SafeString:
    """The list's status badge, and "Archivée" for an archived company."""
    html = format_html(
        '<span class="badge rounded-pill text-bg-{}">{}</span>', status_badge(company), company.get_status_display()
    )
    if company.is_archived:
        html += format_html(' <span class="badge rounded-pill text-bg-light border">{}</span>', _("Archivée"))
    return html


def company_tabs(request: HttpRequest, company: Company) -> list[Tab]:
    """The HTMX tabs of COMPANY_TABS whose view exists and which the viewer may open."""
    tabs = []
    for key, label, url_name, *rest in COMPANY_TABS:
        if rest and rest[0] and not can(request, rest[0]):
            continue
        try:
            url = reverse(url_name, args=[company.pk])
        except NoReverseMatch:
            continue
        tabs.append(Tab(key, label, url=url))
    return tabs


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
PHONE_LIKE = re.compile(r"^[\d\s+().-]+$")

COMPANY_COLUMNS = [
    Column("reference", gettext_lazy("Référence"), accessor="reference", sort="number", css_class="font-monospace"),
    Column("name", gettext_lazy("Nom"), sort="name", link=True, data=True),
    Column(
        "main_contact",
        gettext_lazy("Contact principal"),
        accessor="main_contact_name",
        sort="main_contact_name",
    ),
    Column(
        "status",
        gettext_lazy("Statut"),
        accessor=lambda company: company,
        sort="status",
        render=_status_cell,
        export=lambda company: company.get_status_display(),
    ),
    Column("center", gettext_lazy("Centre"), accessor="center.name", sort="center__name", data=True),
    Column(
        "account_manager",
        gettext_lazy("Chargé de compte"),
        accessor=lambda company: (
            (company.account_manager.full_name or company.account_manager.email) if company.account_manager else None
        ),
        sort="account_manager__last_name",
    ),
    Column("member_count", gettext_lazy("Membres"), kind="number", sort="member_count", css_class="text-end"),
    Column("created_at", gettext_lazy("Créée le"), kind="date", sort="created_at"),
    Column("last_activity_at", gettext_lazy("Dernière activité"), kind="date", sort="last_activity_at"),
]


@dataclass(frozen=True)
class CompanyListColumn:
    """A column a higher app adds to the company lists (contracts, value...): its annotations are
    subqueries on the company rows (one query whatever the number of rows), built when a list is shown."""

    column: Column
    right: str
    annotations: Callable[[], dict[str, Any]]
    after: str = "member_count"


COMPANY_LIST_COLUMNS: list[CompanyListColumn] = []


def register_company_list_column(extension: CompanyListColumn) -> None:
    COMPANY_LIST_COLUMNS[:] = [item for item in COMPANY_LIST_COLUMNS if item.column.key != extension.column.key]
    COMPANY_LIST_COLUMNS.append(extension)


def _list_columns(request: HttpRequest, queryset: QuerySet) -> tuple[list[Column], QuerySet]:
    columns = [column for column in COMPANY_COLUMNS if can(request, COLUMN_RIGHTS.get(column.key, "crm.view_company"))]
    for extension in COMPANY_LIST_COLUMNS:
        if not can(request, extension.right):
            continue
        queryset = queryset.annotate(**extension.annotations())
        keys = [column.key for column in columns]
        index = keys.index(extension.after) + 1 if extension.after in keys else len(columns)
        columns.insert(index, extension.column)
    return columns, queryset


# Columns showing the data of another module appear only to those who may see that module.
COLUMN_RIGHTS = {"main_contact": "crm.view_contact", "member_count": "crm.view_contact",
                 "last_activity_at": "crm.view_activity"}  # fmt: skip


class CompanyListPage(ListPage):
    """The search finds a company by name, reference (PR-000123, 123), e-mail or phone digits — its own or
    a member's ("06 12", "+33 6 12")."""

    def filtered_queryset(self) -> QuerySet:
        queryset = self.filterset.qs if self.filterset is not None else self.base_queryset
        if not self.search:
            return queryset
        digits = phone_digits(self.search)
        if PHONE_LIKE.match(self.search) and len(digits) >= 2:
            members = Contact.objects.filter(company=OuterRef("pk")).filter(
                Q(phone_digits__contains=digits) | Q(mobile_digits__contains=digits)
            )
            return queryset.filter(
                Q(phone_digits__contains=digits) | Q(reference_text__contains=digits) | Exists(members)
            )
        for term in self.search.split()[:MAX_SEARCH_TERMS]:
            members = Contact.objects.filter(company=OuterRef("pk")).filter(
                Q(email__icontains=term) | Q(last_name__icontains=term) | Q(first_name__icontains=term)
            )
            queryset = queryset.filter(
                Q(name__icontains=term) | Q(reference_text__icontains=term) | Q(email__icontains=term) | Exists(members)
            )
        return queryset


LIST_TITLES = {
    None: gettext_lazy("Entreprises"),
    Company.Kind.PROSPECT: gettext_lazy("Prospects"),
    Company.Kind.CLIENT: gettext_lazy("Clients"),
}


def _company_list(request: HttpRequest, kind: str | None) -> HttpResponse:
    queryset = selectors.company_rows_for(request.user, request.organization)  # type: ignore[attr-defined]
    if request.GET.get("archived") not in (ARCHIVED_ONLY, ARCHIVED_ALL):
        queryset = queryset.filter(is_archived=False)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    columns, queryset = _list_columns(request, queryset)
    return CompanyListPage(
        request,
        queryset=queryset,
        columns=columns,
        filterset_class=CompanyFilter,
        search_placeholder=gettext_lazy("Nom, référence, e-mail, téléphone…"),
        default_sort="name",
        title=LIST_TITLES[kind],
        export_name={None: "entreprises", "prospect": "prospects", "client": "clients"}[kind],
        create_url=reverse("crm:company_create") if can(request, "crm.add_company") else None,
        create_label=gettext_lazy("Ajouter une entreprise"),
        empty_message=gettext_lazy("Aucune entreprise ne correspond."),
    ).response()


@right_required("crm.view_company")
def company_list(request: HttpRequest) -> HttpResponse:
    return _company_list(request, None)


@right_required("crm.view_company")
def prospect_list(request: HttpRequest) -> HttpResponse:
    return _company_list(request, Company.Kind.PROSPECT)


@right_required("crm.view_company")
def client_list(request: HttpRequest) -> HttpResponse:
    return _company_list(request, Company.Kind.CLIENT)


# --------------------------------------------------------------------------------------------------
# Creation and edition
# --------------------------------------------------------------------------------------------------
@right_required("crm.add_company")
def company_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = CompanyCreateForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            if form.is_individual:
                company = services.create_individual_customer(
                    organization=organization, by=request.user, person=form.person(), data=form.company_data(),
                    kind=kind,
                )  # fmt: skip
            else:
                person = form.person()
                company = services.create_company(
                    organization=organization, by=request.user, data=form.company_data(), kind=kind,
                    main_contact=person if person["last_name"] else None,
                )  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("L'entreprise « %(name)s » est créée (%(reference)s). Complétez sa fiche quand vous voulez.")
                % {"name": company.name, "reference": company.reference},
            )
            return redirect(company)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle entreprise"),
            "intro": _("Seuls les champs marqués d'une étoile sont obligatoires ; le reste se complète plus tard."),
            "fieldsets": CompanyCreateForm.fieldsets,
            "cancel_url": reverse("crm:company_list"),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list"))],
            "submit_label": _("Créer l'entreprise"),
        },
    )


def _company(request: HttpRequest, pk: int) -> Company:
    return get_object_or_404(selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


@right_required("crm.view_company")
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    figures = selectors.company_figures(request.user, request.organization, company)  # type: ignore[attr-defined]
    tabs = [
        Tab("info", _("Informations"), template="crm/companies/_info.html"),
        *(
            replace(tab, count=figures["member_count"]) if tab.key == "members" else tab
            for tab in company_tabs(request, company)
        ),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    return render(
        request,
        "crm/companies/detail.html",
        {
            "company": company,
            "object": company,
            "tabs": tabs,
            "figures": figures,
            "delivery_labels": [
                label for value, label in Company.DeliveryMethod.choices if value in company.invoice_delivery_methods
            ],
            "status_badge": status_badge(company),
            "timeline": timeline(company),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list"))],
        },
    )


@right_required("crm.change_company")
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    form = CompanyForm(request.POST or None, instance=company, request=request)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            company = services.update_company(company=company, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if data:
                messages.success(request, _("L'entreprise « %(name)s » est enregistrée.") % {"name": company.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(company)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": company.name},
            "fieldsets": CompanyForm.fieldsets,
            "cancel_url": company.get_absolute_url(),
            "breadcrumb": [
                (_("Entreprises"), reverse("crm:company_list")),
                (company.name, company.get_absolute_url()),
            ],
            "submit_label": _("Enregistrer"),
        },
    )


# --------------------------------------------------------------------------------------------------
# Actions (POST)
# --------------------------------------------------------------------------------------------------
@right_required("crm.change_company")
def company_convert(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    if refused := post_only(request):
        return refused
    try:
        company = services.convert_to_client(company=company, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("« %(name)s » est maintenant cliente : %(reference)s.")
            % {"name": company.name, "reference": company.reference},
        )  # fmt: skip
    return redirect(company)


@right_required("crm.change_company")
def company_status(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    if refused := post_only(request):
        return refused
    try:
        company = services.set_company_status(company=company, by=request.user, status=request.POST.get("status", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Statut : %(status)s.") % {"status": company.get_status_display()})
    return redirect(company)


@right_required("crm.change_company")
def company_archive(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    if refused := post_only(request):
        return refused
    archived = request.POST.get("archived", "1") != "0"
    try:
        company = services.archive_company(company=company, by=request.user, archived=archived)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if archived:
            messages.success(request, _("L'entreprise « %(name)s » est archivée.") % {"name": company.name})
        else:
            messages.success(request, _("L'entreprise « %(name)s » est désarchivée.") % {"name": company.name})
    return redirect(company)


@right_required("crm.delete_company")
def company_delete(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    if request.method == "POST":
        try:
            services.delete_company(company=company, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(company)
        messages.success(request, _("L'entreprise « %(name)s » est supprimée.") % {"name": company.name})
        return redirect("crm:company_list")
    blockers = services.deletion_blockers(company)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer « %(name)s » ?") % {"name": company.name},
            "message": _("Cette action est définitive : l'entreprise, ses membres, notes et actions sont supprimés."),
            "details": _("Impossible de supprimer cette entreprise : %(reasons)s. Archivez-la plutôt.")
            % {"reasons": ", ".join(blockers)}
            if blockers
            else None,
            "confirm_label": _("Supprimer l'entreprise"),
            "danger": True,
            "cancel_url": company.get_absolute_url(),
            "breadcrumb": [
                (_("Entreprises"), reverse("crm:company_list")),
                (company.name, company.get_absolute_url()),
            ],
        },
    )


# --------------------------------------------------------------------------------------------------
# The "Membres" tab
# --------------------------------------------------------------------------------------------------
@right_required("crm.view_contact")
def company_members(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    members = selectors.contacts_for(request.user, request.organization).filter(company=company)  # type: ignore[attr-defined]
    template = "crm/companies/_members.html" if getattr(request, "htmx", False) else "crm/companies/members.html"
    return render(
        request,
        template,
        {
            "company": company,
            "object": company,
            "members": members,
            "breadcrumb": [
                (_("Entreprises"), reverse("crm:company_list")),
                (company.name, company.get_absolute_url()),
            ],
        },
    )


urlpatterns = [
    path("companies/", company_list, name="company_list"),
    path("prospects/", prospect_list, name="prospect_list"),
    path("clients/", client_list, name="client_list"),
    path("companies/new/", company_create, name="company_create"),
    path("companies/<int:pk>/", company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", company_edit, name="company_edit"),
    path("companies/<int:pk>/convert/", company_convert, name="company_convert"),
    path("companies/<int:pk>/status/", company_status, name="company_status"),
    path("companies/<int:pk>/archive/", company_archive, name="company_archive"),
    path("companies/<int:pk>/delete/", company_delete, name="company_delete"),
    path("companies/<int:pk>/members/", company_members, name="company_members"),
]
