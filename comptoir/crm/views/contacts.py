"""The members ("contacts") of a company, and Paramètres → Fonctions des membres (the per-organization list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import rights
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.views.base import Tab, can, post_only, register_object_url, right_required, timeline
from comptoir.crm import capabilities, selectors, services
from comptoir.crm.filters import JobFunctionFilter
from comptoir.crm.forms import ContactForm, JobFunctionCreateForm, JobFunctionForm
from comptoir.crm.models import Contact, JobFunction

register_object_url("crm.contact", "crm:contact_detail")
register_object_url("crm.jobfunction", "crm:jobfunction_edit")

# What each company role may do in the client portal (frontmanager §2), from the capability table.
CAPABILITY_LABELS = {
    "sign_contracts": gettext_lazy("Signer les contrats"),
    "view_documents": gettext_lazy("Voir les documents de l'entreprise (devis, contrats, factures)"),
    "pay_invoices": gettext_lazy("Payer les factures"),
    "manage_members": gettext_lazy("Gérer les membres"),
    "make_paid_bookings": gettext_lazy("Faire des réservations payantes"),
    "make_free_bookings": gettext_lazy("Faire des réservations gratuites"),
    "report_incidents": gettext_lazy("Déclarer des incidents"),
    "receive_mail": gettext_lazy("Recevoir le courrier et les colis"),
    "book_appointments": gettext_lazy("Prendre des rendez-vous"),
    "request_services": gettext_lazy("Demander des services"),
    "view_events": gettext_lazy("Voir les événements"),
}


def role_rights() -> list[dict[str, object]]:
    """[{label, roles: [bool per company role]}] for the rights table of the member form."""
    roles = list(Contact.CompanyRole.values)
    return [
        {"label": CAPABILITY_LABELS.get(name, name), "roles": [role in allowed for role in roles]}
        for name, allowed in capabilities.CAPABILITIES.items()
    ]


def _contact(request: HttpRequest, pk: int) -> Contact:
    return get_object_or_404(selectors.contacts_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _breadcrumb(contact_company) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        (_("Entreprises"), reverse("crm:company_list")),
        (contact_company.name, contact_company.get_absolute_url()),
    ]


def _form_context(form: ContactForm, **extra: object) -> dict[str, object]:
    return {
        "form": form,
        "fieldsets": ContactForm.fieldsets,
        "role_labels": Contact.CompanyRole.labels,
        "role_rights": role_rights(),
        **extra,
    }


# --------------------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------------------
@right_required("crm.add_contact")
def company_contact_create(request: HttpRequest, company_pk: int) -> HttpResponse:
    company = get_object_or_404(
        selectors.companies_for(request.user, request.organization),  # type: ignore[attr-defined]
        pk=company_pk,
    )
    form = ContactForm(request.POST or None, request=request, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.add_contact(company=company, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s est ajouté aux membres de « %(company)s ».")
                % {"name": contact.full_name, "company": company.name},
            )
            return redirect(contact)
    return render(
        request,
        "crm/contacts/form.html",
        _form_context(
            form,
            title=_("Nouveau membre de « %(name)s »") % {"name": company.name},
            cancel_url=company.get_absolute_url(),
            breadcrumb=_breadcrumb(company),
            submit_label=_("Ajouter le membre"),
        ),
    )


# Tabs that later apps add to a member's page, loaded by HTMX: (key, label, url of the member, right). Billing adds
# the member's consumptions.
CONTACT_TABS: list[tuple[str, Any, Callable[[Contact], str], str]] = []


@right_required("crm.view_contact")
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    held = rights.rights_of(request.user, request.organization)  # type: ignore[attr-defined]
    tabs = [Tab(key, label, url=url(contact)) for key, label, url, right in CONTACT_TABS if right in held]
    return render(
        request,
        "crm/contacts/detail.html",
        {
            "contact": contact,
            "object": contact,
            "company": contact.company,
            "capabilities": [
                CAPABILITY_LABELS.get(name, name)
                for name, allowed in capabilities.CAPABILITIES.items()
                if contact.company_role in allowed
            ],
            "timeline": timeline(contact),
            "tabs": tabs,
            "breadcrumb": _breadcrumb(contact.company),
        },
    )


@right_required("crm.change_contact")
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = ContactForm(request.POST or None, instance=contact, request=request)
    if contact.user_id:
        form.fields["email"].disabled = True
        form.fields["email"].help_text = _("Ce membre a un compte : son e-mail de connexion ne se change pas ici.")
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            contact = services.update_contact(contact=contact, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if data:
                messages.success(request, _("%(name)s est enregistré.") % {"name": contact.full_name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(contact)
    return render(
        request,
        "crm/contacts/form.html",
        _form_context(
            form,
            title=_("Modifier « %(name)s »") % {"name": contact.full_name},
            cancel_url=contact.get_absolute_url(),
            breadcrumb=[*_breadcrumb(contact.company), (contact.full_name, contact.get_absolute_url())],
            submit_label=_("Enregistrer"),
        ),
    )


@right_required("crm.change_contact")
def contact_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Activer le compte": portal access and the activation e-mail."""
    contact = _contact(request, pk)
    if refused := post_only(request):
        return refused
    try:
        contact = services.activate_contact_account(contact=contact, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Le compte de %(name)s est activé : un e-mail d'activation est envoyé à %(email)s.")
            % {"name": contact.full_name, "email": contact.email},
        )
    return redirect(contact)


@right_required("crm.change_contact")
def contact_make_main(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    if refused := post_only(request):
        return refused
    try:
        contact = services.set_main_contact(contact=contact, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s est le contact principal.") % {"name": contact.full_name})
    return redirect(contact.company)


@right_required("crm.delete_contact")
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    company = contact.company
    if request.method == "POST":
        try:
            services.delete_contact(contact=contact, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(contact)
        messages.success(request, _("%(name)s est supprimé des membres.") % {"name": contact.full_name})
        return redirect(company)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer le membre « %(name)s » ?") % {"name": contact.full_name},
            "message": _("Cette action est définitive. Un membre qui a un compte se désactive plutôt."),
            "confirm_label": _("Supprimer le membre"),
            "danger": True,
            "cancel_url": contact.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(company), (contact.full_name, contact.get_absolute_url())],
        },
    )


# --------------------------------------------------------------------------------------------------
# Paramètres → Fonctions des membres
# --------------------------------------------------------------------------------------------------
JOB_FUNCTION_COLUMNS = [
    Column("name", gettext_lazy("Nom"), sort="name", link=True, data=True),
    Column("position", gettext_lazy("Ordre"), kind="number", sort="position"),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        true_label=gettext_lazy("Active"),
        false_label=gettext_lazy("Inactive"),
    ),
]


@right_required("crm.view_jobfunction")
def jobfunction_list(request: HttpRequest) -> HttpResponse:
    can_change = can(request, "crm.change_jobfunction")
    return ListPage(
        request,
        queryset=selectors.job_functions_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=JOB_FUNCTION_COLUMNS,
        filterset_class=JobFunctionFilter,
        search_fields=["name"],
        default_sort="position",
        title=gettext_lazy("Fonctions des membres"),
        export_name="fonctions",
        create_url=reverse("crm:jobfunction_create") if can(request, "crm.add_jobfunction") else None,
        create_label=gettext_lazy("Ajouter une fonction"),
        empty_message=gettext_lazy("Aucune fonction pour le moment."),
        row_url=lambda function: reverse("crm:jobfunction_edit", args=[function.pk]) if can_change else None,
    ).response()


@right_required("crm.add_jobfunction")
def jobfunction_create(request: HttpRequest) -> HttpResponse:
    form = JobFunctionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            function = services.create_job_function(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,
                name=form.cleaned_data["name"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("La fonction « %(name)s » est créée.") % {"name": function.name})
            return redirect("crm:jobfunction_list")
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle fonction"),
            "cancel_url": reverse("crm:jobfunction_list"),
            "breadcrumb": [(_("Fonctions des membres"), reverse("crm:jobfunction_list"))],
            "submit_label": _("Créer la fonction"),
        },
    )


@right_required("crm.change_jobfunction")
def jobfunction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    function: JobFunction = get_object_or_404(
        selectors.job_functions_for(request.user, request.organization),  # type: ignore[attr-defined]
        pk=pk,
    )
    form = JobFunctionForm(request.POST or None, instance=function)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            function = services.update_job_function(function=function, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("La fonction « %(name)s » est enregistrée.") % {"name": function.name})
            return redirect("crm:jobfunction_list")
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": function.name},
            "intro": _("Une fonction inactive n'est plus proposée, mais les membres qui l'ont la gardent."),
            "cancel_url": reverse("crm:jobfunction_list"),
            "breadcrumb": [(_("Fonctions des membres"), reverse("crm:jobfunction_list"))],
            "submit_label": _("Enregistrer"),
        },
    )


urlpatterns = [
    path("companies/<int:company_pk>/members/new/", company_contact_create, name="company_contact_create"),
    path("contacts/<int:pk>/", contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/activate/", contact_activate, name="contact_activate"),
    path("contacts/<int:pk>/make-main/", contact_make_main, name="contact_make_main"),
    path("contacts/<int:pk>/delete/", contact_delete, name="contact_delete"),
    path("job-functions/", jobfunction_list, name="jobfunction_list"),
    path("job-functions/new/", jobfunction_create, name="jobfunction_create"),
    path("job-functions/<int:pk>/", jobfunction_edit, name="jobfunction_edit"),
]
