"""Notes and actions: the "Actions" page, my daily list, and the company tabs "Notes" and "Actions".

Every object view fetches its object through a selector (404 for another organization's object) before
looking at the method; the services check the rights again.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import StyledFormMixin, add_domain_error, date_input
from comptoir.core.lists import Column, ListPage
from comptoir.core.models import Organization, User
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, right_required
from comptoir.crm import selectors, services
from comptoir.crm.models import Action, Company, Note

STATUS_DONE, STATUS_OVERDUE, STATUS_ALL = "done", "overdue", "all"

# How the journal entries of notes and actions read in the timelines (a company's shows the first two).
for _suffix, _verb, _icon in [
    ("note_added", gettext_lazy("Note ajoutée"), "sticky"),
    ("action_added", gettext_lazy("Action ajoutée"), "check2-square"),
    ("completed", gettext_lazy("Terminée"), "check-circle"),
    ("reopened", gettext_lazy("Rouverte"), "arrow-counterclockwise"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)
EVERYONE = "all"


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
def staff_users(organization: Organization) -> QuerySet[User]:
    """The organization's active staff members: the possible assignees of an action."""
    return User.objects.filter(
        staff_memberships__organization=organization, staff_memberships__is_active=True, is_active=True
    ).order_by("last_name", "first_name", "email", "id")


def user_label(user: User) -> str:
    return user.full_name or user.email


def _company(request: HttpRequest, pk: int) -> Company:
    return get_object_or_404(selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _action(request: HttpRequest, pk: int) -> Action:
    return get_object_or_404(selectors.actions_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _note(request: HttpRequest, pk: int) -> Note:
    return get_object_or_404(selectors.notes_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


def _action_home(action: Action) -> str:
    if action.company_id:
        return reverse("crm:company_detail", args=[action.company_id])
    return reverse("crm:action_list")


# --------------------------------------------------------------------------------------------------
# Forms (shape only: the services hold the rules)
# --------------------------------------------------------------------------------------------------
class NoteForm(StyledFormMixin, forms.Form):
    body = forms.CharField(label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 3}))
    is_pinned = forms.BooleanField(label=gettext_lazy("Épingler en haut de la fiche"), required=False)


class ActionForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=gettext_lazy("Intitulé"), max_length=200)
    due_date = forms.DateField(label=gettext_lazy("Échéance"), widget=date_input())
    assignee = forms.ModelChoiceField(label=gettext_lazy("Responsable"), queryset=User.objects.none())
    details = forms.CharField(label=gettext_lazy("Détails"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = staff_users(organization)  # type: ignore[attr-defined]
        field.label_from_instance = user_label  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# Actions: the list ("Actions") and my daily list
# --------------------------------------------------------------------------------------------------
class ActionFilter(django_filters.FilterSet):
    assignee = django_filters.ChoiceFilter(
        label=gettext_lazy("Responsable"), empty_label=gettext_lazy("Mes actions"), method="filter_assignee"
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Statut"),
        empty_label=gettext_lazy("À faire"),
        choices=[
            (STATUS_OVERDUE, gettext_lazy("En retard")),
            (STATUS_DONE, gettext_lazy("Terminées")),
            (STATUS_ALL, gettext_lazy("Toutes")),
        ],
        method="filter_status",
    )
    due_after = django_filters.DateFilter(
        label=gettext_lazy("Échéance du"), field_name="due_date", lookup_expr="gte", widget=date_input()
    )
    due_before = django_filters.DateFilter(
        label=gettext_lazy("au"), field_name="due_date", lookup_expr="lte", widget=date_input()
    )

    class Meta:
        model = Action
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = getattr(self.request, "organization", None)
        users = list(staff_users(organization)) if organization is not None else []
        self.filters["assignee"].extra["choices"] = [(EVERYONE, _("Tout le monde"))] + [
            (str(user.pk), user_label(user)) for user in users
        ]

    def filter_assignee(self, queryset: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        if value == EVERYONE:
            return queryset
        return queryset.filter(assignee_id=value)

    def filter_status(self, queryset: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        if value == STATUS_DONE:
            return queryset.filter(completed_at__isnull=False)
        if value == STATUS_OVERDUE:
            return queryset.filter(completed_at__isnull=True, due_date__lt=timezone.localdate())
        return queryset


ACTION_COLUMNS = [
    Column(
        "due_date",
        gettext_lazy("Échéance"),
        sort="due_date",
        template="crm/followup/_due_cell.html",
        export=lambda action: action.due_date,
    ),
    Column("title", gettext_lazy("Intitulé"), sort="title", link=True, data=True),
    Column(
        "company",
        gettext_lazy("Entreprise"),
        accessor="company.name",
        sort="company__name",
        template="crm/followup/_company_cell.html",
    ),
    Column(
        "assignee",
        gettext_lazy("Responsable"),
        accessor=lambda action: user_label(action.assignee),
        sort="assignee__last_name",
    ),
    Column(
        "status",
        gettext_lazy("Statut"),
        accessor="is_done",
        template="crm/followup/_action_status_cell.html",
        export=lambda action: _("Terminée") if action.is_done else _("À faire"),
    ),
]


@right_required("crm.view_action")
def action_list(request: HttpRequest) -> HttpResponse:
    """ "Actions": my open actions by default; filters by assignee (or everyone), status and due dates."""
    queryset = selectors.actions_for(request.user, request.organization)  # type: ignore[attr-defined]
    if not request.GET.get("assignee"):
        queryset = queryset.filter(assignee=request.user)
    if not request.GET.get("status"):
        queryset = queryset.filter(completed_at__isnull=True)
    can_change = can(request, "crm.change_action")
    return ListPage(
        request,
        queryset=queryset,
        columns=ACTION_COLUMNS,
        filterset_class=ActionFilter,
        search_fields=["title", "details", "company__name"],
        search_placeholder=gettext_lazy("Intitulé, entreprise…"),
        default_sort="due_date",
        title=gettext_lazy("Actions"),
        export_name="actions",
        create_url=reverse("crm:action_create") if can(request, "crm.add_action") else None,
        create_label=gettext_lazy("Nouvelle action"),
        empty_message=gettext_lazy("Aucune action à suivre pour le moment."),
        row_url=lambda action: reverse("crm:action_edit", args=[action.pk]) if can_change else None,
        intro_template="crm/followup/_list_intro.html",
        extra_context={"today": timezone.localdate(), "can_change_action": can_change},
    ).response()


@right_required("crm.view_action")
def action_today(request: HttpRequest) -> HttpResponse:
    """My daily list: my open actions due today and the overdue ones."""
    today = timezone.localdate()
    actions = list(selectors.actions_for_day(request.user, request.organization, today))  # type: ignore[attr-defined]
    return render(
        request,
        "crm/followup/today.html",
        {
            "title": _("Ma liste du jour"),
            "today": today,
            "overdue": [action for action in actions if action.due_date < today],
            "due_today": [action for action in actions if action.due_date == today],
            "can_change_action": can(request, "crm.change_action"),
            "breadcrumb": [(_("Actions"), reverse("crm:action_list"))],
        },
    )


def _action_form_page(request: HttpRequest, form: ActionForm, *, title: str, cancel_url: str, **extra: Any):  # type: ignore[no-untyped-def]
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": title,
            "cancel_url": cancel_url,
            "breadcrumb": [(_("Actions"), reverse("crm:action_list"))],
            **extra,
        },
    )


def _create_action(request: HttpRequest, company: Company | None) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    cancel_url = company.get_absolute_url() if company else reverse("crm:action_list")
    form = ActionForm(
        request.POST or None,
        organization=organization,
        initial={"assignee": request.user.pk, "due_date": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.create_action(
                organization=organization, by=request.user, data={**form.cleaned_data, "company": company}
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'action est créée."))
            return redirect(_next_url(request, cancel_url))
    title = _("Nouvelle action pour %(name)s") % {"name": company.name} if company else _("Nouvelle action")
    return _action_form_page(request, form, title=title, cancel_url=cancel_url, submit_label=_("Créer l'action"))


@right_required("crm.add_action")
def action_create(request: HttpRequest) -> HttpResponse:
    return _create_action(request, None)


@right_required("crm.add_action")
def company_action_create(request: HttpRequest, company_pk: int) -> HttpResponse:
    return _create_action(request, _company(request, company_pk))


@right_required("crm.change_action")
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action(request, pk)
    initial = {"title": action.title, "due_date": action.due_date, "assignee": action.assignee_id,
               "details": action.details}  # fmt: skip
    form = ActionForm(request.POST or None, organization=request.organization, initial=initial)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_action(action=action, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'action est enregistrée.") if data else _("Aucune modification."))
            return redirect(_next_url(request, _action_home(action)))
    return _action_form_page(
        request, form, title=_("Modifier « %(title)s »") % {"title": action.title}, cancel_url=_action_home(action)
    )


def _toggle_action(request: HttpRequest, pk: int, *, complete: bool) -> HttpResponse:
    action = _action(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        if complete:
            action = services.complete_action(action=action, by=request.user)
        else:
            action = services.reopen_action(action=action, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    if getattr(request, "htmx", False):
        context = {"action": action, "today": timezone.localdate(), "can_change_action": True}
        return render(request, "crm/followup/_action_status.html", context)
    if complete and action.is_done:
        messages.success(request, _("L'action « %(title)s » est terminée.") % {"title": action.title})
    return redirect(_next_url(request, _action_home(action)))


@right_required("crm.change_action")
def action_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle_action(request, pk, complete=True)


@right_required("crm.change_action")
def action_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle_action(request, pk, complete=False)


@right_required("crm.delete_action")
def action_delete(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action(request, pk)
    home = _action_home(action)
    if request.method == "POST":
        try:
            services.delete_action(action=action, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("L'action est supprimée."))
        return redirect(_next_url(request, home))
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer l'action « %(title)s » ?") % {"title": action.title},
            "message": _("Cette suppression est définitive."),
            "confirm_label": _("Supprimer"),
            "danger": True,
            "cancel_url": home,
            "breadcrumb": [(_("Actions"), reverse("crm:action_list"))],
        },
    )


# --------------------------------------------------------------------------------------------------
# Company tab "Actions": the list and a month calendar
# --------------------------------------------------------------------------------------------------
@right_required("crm.view_action")
def company_actions(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    organization = request.organization  # type: ignore[attr-defined]
    today = timezone.localdate()
    month = selectors.parse_month(request.GET.get("month"), today)
    context = {
        "company": company,
        "object": company,
        "today": today,
        "calendar": selectors.company_action_calendar(request.user, organization, company, month),
        "open_actions": list(
            selectors.actions_for(request.user, organization)
            .filter(company=company, completed_at__isnull=True)
            .order_by("due_date", "id")
        ),
        "can_change_action": can(request, "crm.change_action"),
        "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
    }
    htmx = getattr(request, "htmx", False)
    template = "crm/followup/_company_actions.html" if htmx else "crm/followup/company_actions.html"
    return render(request, template, context)


# --------------------------------------------------------------------------------------------------
# Company tab "Notes"
# --------------------------------------------------------------------------------------------------
def _notes_context(request: HttpRequest, company: Company, form: NoteForm | None = None) -> dict[str, Any]:
    can_add = can(request, "crm.add_note")
    return {
        "company": company,
        "object": company,
        "notes": list(selectors.notes_for(request.user, request.organization).filter(company=company)),  # type: ignore[attr-defined]
        "form": form or (NoteForm() if can_add else None),
        "can_add_note": can_add,
        "can_change_note": can(request, "crm.change_note"),
        "can_delete_note": can(request, "crm.delete_note"),
        "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
    }


@right_required("crm.view_note")
def company_notes(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    htmx = getattr(request, "htmx", False)
    template = "crm/followup/_company_notes.html" if htmx else "crm/followup/company_notes.html"
    return render(request, template, _notes_context(request, company))


@right_required("crm.view_note", "crm.add_note")
def company_note_create(request: HttpRequest, company_pk: int) -> HttpResponse:
    company = _company(request, company_pk)
    htmx = getattr(request, "htmx", False)
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_note(company=company, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if htmx:
                return render(request, "crm/followup/_company_notes.html", _notes_context(request, company))
            messages.success(request, _("La note est ajoutée."))
            return redirect(company)
    if htmx:
        return render(request, "crm/followup/_company_notes.html", _notes_context(request, company, form))
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle note pour %(name)s") % {"name": company.name},
            "cancel_url": company.get_absolute_url(),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
            "submit_label": _("Ajouter la note"),
        },
    )


@right_required("crm.change_note")
def note_edit(request: HttpRequest, pk: int) -> HttpResponse:
    note = _note(request, pk)
    company = note.company
    form = NoteForm(request.POST or None, initial={"body": note.body, "is_pinned": note.is_pinned})
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_note(note=note, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("La note est enregistrée.") if data else _("Aucune modification."))
            return redirect(company)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier la note"),
            "cancel_url": company.get_absolute_url(),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
        },
    )


@right_required("crm.delete_note")
def note_delete(request: HttpRequest, pk: int) -> HttpResponse:
    note = _note(request, pk)
    company = note.company
    if request.method == "POST":
        try:
            services.delete_note(note=note, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("La note est supprimée."))
        return redirect(company)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer cette note ?"),
            "message": note.body[:200],
            "details": _("Cette suppression est définitive."),
            "confirm_label": _("Supprimer"),
            "danger": True,
            "cancel_url": company.get_absolute_url(),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
        },
    )


urlpatterns = [
    path("actions/", action_list, name="action_list"),
    path("actions/today/", action_today, name="action_today"),
    path("actions/new/", action_create, name="action_create"),
    path("actions/<int:pk>/edit/", action_edit, name="action_edit"),
    path("actions/<int:pk>/complete/", action_complete, name="action_complete"),
    path("actions/<int:pk>/reopen/", action_reopen, name="action_reopen"),
    path("actions/<int:pk>/delete/", action_delete, name="action_delete"),
    path("companies/<int:company_pk>/actions/new/", company_action_create, name="company_action_create"),
    path("companies/<int:pk>/actions/", company_actions, name="company_actions"),
    path("companies/<int:pk>/notes/", company_notes, name="company_notes"),
    path("companies/<int:company_pk>/notes/new/", company_note_create, name="company_note_create"),
    path("notes/<int:pk>/edit/", note_edit, name="note_edit"),
    path("notes/<int:pk>/delete/", note_delete, name="note_delete"),
]
