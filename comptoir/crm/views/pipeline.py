"""Commerce → Opportunités (kanban board and list, fiche, forms, HTMX move) and Commerce → Activités.

Every object view fetches its object through a tenant-scoped selector with get_object_or_404 before it
looks at the method, so another organization's object answers 404 on GET and POST alike.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import dashboard
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import ServiceModelForm, StyledFormMixin, add_domain_error, date_input
from comptoir.core.lists import Column, ListPage
from comptoir.core.models import Center, User
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    Tab,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)
from comptoir.core.widgets import DataSelect
from comptoir.crm import selectors, services
from comptoir.crm.models import Activity, Company, MarketingSource, Opportunity

register_object_url("crm.opportunity", "crm:opportunity_detail")
for _suffix, _verb, _icon in [
    ("stage_changed", gettext_lazy("Changement d'étape"), "kanban"),
    ("reordered", gettext_lazy("Déplacement dans la colonne"), "arrow-down-up"),
    ("opportunity_added", gettext_lazy("Opportunité ajoutée"), "plus-circle"),
    ("status_changed", gettext_lazy("Changement de statut"), "check-circle"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"

# Buttons other apps add to the opportunity page: (label, url_name taking the opportunity's pk, right, icon).
OPPORTUNITY_ACTIONS: list[tuple[Any, str, str, str]] = []


def opportunity_actions(request: HttpRequest, opportunity: Opportunity) -> list[tuple[Any, str, str]]:
    """(label, url, icon) of the OPPORTUNITY_ACTIONS the viewer may use and whose view exists."""
    actions = []
    for label, url_name, right, icon in OPPORTUNITY_ACTIONS:
        if right and not can(request, right):
            continue
        try:
            url = reverse(url_name, args=[opportunity.pk])
        except NoReverseMatch:
            continue
        actions.append((label, url, icon))
    return actions


# --------------------------------------------------------------------------------------------------
# choices (tenant-scoped, through the selectors)
# --------------------------------------------------------------------------------------------------
def staff_users(user: User, organization: Any) -> Any:
    """The organization's active staff, for the owner / staff choices."""
    memberships = core_selectors.staff_for(user, organization).filter(is_active=True)
    return User.objects.filter(pk__in=memberships.values("user_id")).order_by("first_name", "last_name", "email")


def _request_org(request: Any) -> Any:
    return getattr(request, "organization", None) if request is not None else None


def _staff_choices(request: Any) -> Any:
    return User.objects.none() if request is None else staff_users(request.user, _request_org(request))


def _center_choices(request: Any) -> Any:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, _request_org(request)).order_by("name", "id")


def _source_choices(request: Any) -> Any:
    if request is None:
        return MarketingSource.objects.none()
    return selectors.marketing_sources_for(request.user, _request_org(request)).order_by("name", "id")


# --------------------------------------------------------------------------------------------------
# forms
# --------------------------------------------------------------------------------------------------
class OpportunityForm(ServiceModelForm):
    stage = forms.ChoiceField(
        label=gettext_lazy("Étape"),
        choices=[(stage, label) for stage, label in Opportunity.Stage.choices if stage != Opportunity.Stage.LOST],
        initial=Opportunity.Stage.LEAD,
    )

    class Meta:
        model = Opportunity
        fields = ["title", "stage", *services.OPPORTUNITY_FIELDS[1:], "lost_reason"]
        widgets = {"expected_close_date": date_input()}

    def __init__(self, *args: Any, user: User, organization: Any, creating: bool, lost: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["probability"].required = False
        self.fields["probability"].help_text = _("Vide : la probabilité par défaut de l'étape.")
        self.fields["owner"].queryset = staff_users(user, organization)
        self.fields["center"].queryset = core_selectors.centers_for(user, organization).order_by("name", "id")
        self.fields["marketing_source"].queryset = selectors.marketing_sources_for(user, organization).order_by("name")
        if creating:
            self.fields["probability"].initial = None
        else:
            del self.fields["stage"]
        if not lost:
            del self.fields["lost_reason"]

    def service_data(self, *, only_changed: bool = False) -> dict[str, Any]:
        data = super().service_data(only_changed=only_changed)
        data.pop("stage", None)
        return data


class MoveForm(forms.Form):
    stage = forms.ChoiceField(choices=Opportunity.Stage.choices)
    position = forms.IntegerField(required=False, min_value=0)
    lost_reason = forms.CharField(required=False, max_length=255)


class ActivityForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Date"),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    staff = forms.ModelChoiceField(label=gettext_lazy("Collaborateur"), queryset=User.objects.none())
    opportunity = forms.ModelChoiceField(
        label=gettext_lazy("Opportunité"), queryset=Opportunity.objects.none(), required=False
    )
    notes = forms.CharField(
        label=gettext_lazy("Compte rendu"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, user: User, organization: Any, company: Company | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_users(user, organization)
        if company is None:
            del self.fields["opportunity"]
        else:
            self.fields["opportunity"].queryset = selectors.opportunities_for(user, organization).filter(
                company=company
            )


class CompleteForm(forms.Form):
    notes = forms.CharField(required=False)


# --------------------------------------------------------------------------------------------------
# filters
# --------------------------------------------------------------------------------------------------
class OpportunityFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(label=gettext_lazy("Étape"), choices=Opportunity.Stage.choices,
                                        empty_label=gettext_lazy("Toutes"))  # fmt: skip
    owner = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Responsable"), queryset=_staff_choices, empty_label=gettext_lazy("Tous"), widget=DataSelect
    )
    marketing_source = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Source"), queryset=_source_choices, empty_label=gettext_lazy("Toutes"), widget=DataSelect
    )
    center = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Centre"), queryset=_center_choices, empty_label=gettext_lazy("Tous"), widget=DataSelect
    )

    class Meta:
        model = Opportunity
        fields = ["stage", "owner", "marketing_source", "center"]


class ActivityFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        label=gettext_lazy("Afficher"),
        choices=[("mine", gettext_lazy("Mes activités")), ("all", gettext_lazy("Toute l'équipe"))],
        empty_label=None,
        method="filter_scope",
    )
    kind = django_filters.ChoiceFilter(label=gettext_lazy("Type"), choices=Activity.Kind.choices,
                                       empty_label=gettext_lazy("Tous"))  # fmt: skip
    status = django_filters.ChoiceFilter(label=gettext_lazy("Statut"), choices=Activity.Status.choices,
                                         empty_label=gettext_lazy("Tous"))  # fmt: skip
    staff = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Collaborateur"),
        queryset=_staff_choices,
        empty_label=gettext_lazy("Tous"),
        widget=DataSelect,
    )
    scheduled_from = django_filters.DateFilter(
        label=gettext_lazy("Du"), field_name="scheduled_at", lookup_expr="date__gte", widget=date_input()
    )
    scheduled_to = django_filters.DateFilter(
        label=gettext_lazy("Au"), field_name="scheduled_at", lookup_expr="date__lte", widget=date_input()
    )

    class Meta:
        model = Activity
        fields = ["scope", "kind", "status", "staff", "scheduled_from", "scheduled_to"]

    def filter_scope(self, queryset: Any, name: str, value: str) -> Any:
        if value == "mine" and self.request is not None:
            return queryset.filter(staff=self.request.user)
        return queryset


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _opportunities(request: HttpRequest) -> Any:
    return selectors.opportunities_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _activities(request: HttpRequest) -> Any:
    return selectors.activities_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _company(request: HttpRequest, pk: int) -> Company:
    return get_object_or_404(selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _breadcrumb_board() -> list[tuple[str, str]]:
    return [(_("Opportunités"), reverse("crm:opportunity_board"))]


# --------------------------------------------------------------------------------------------------
# Opportunities: board, list, fiche
# --------------------------------------------------------------------------------------------------
def _board_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "columns": selectors.opportunity_board(request.user, request.organization),  # type: ignore[arg-type, attr-defined]
        "stages": Opportunity.Stage.choices,
        "can_move": can(request, "crm.change_opportunity"),
        **extra,
    }


@right_required("crm.view_opportunity")
def opportunity_board(request: HttpRequest) -> HttpResponse:
    template = "crm/pipeline/board.html"
    if getattr(request, "htmx", None) and request.htmx.target == "board":  # type: ignore[attr-defined]
        template += "#board"
    return render(request, template, _board_context(request, title=_("Opportunités")))


@right_required("crm.view_opportunity")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    columns = [
        Column("title", gettext_lazy("Intitulé"), sort="title", link=True, data=True),
        Column("company", gettext_lazy("Entreprise"), accessor="company.name", sort="company__name", data=True),
        Column("stage", gettext_lazy("Étape"), accessor=lambda o: o.get_stage_display(), sort="stage", kind="badge"),
        Column("estimated_amount", gettext_lazy("Montant estimé"), sort="estimated_amount", kind="money"),
        Column("probability", gettext_lazy("Probabilité (%)"), sort="probability"),
        Column("expected_close_date", gettext_lazy("Signature prévue"), sort="expected_close_date", kind="date"),
        Column("owner", gettext_lazy("Responsable"), accessor="owner", data=True),
        Column("marketing_source", gettext_lazy("Source"), accessor="marketing_source.name", data=True),
        Column("center", gettext_lazy("Centre"), accessor="center.name", data=True),
        Column("created_at", gettext_lazy("Créée le"), sort="created_at", kind="date"),
    ]
    return ListPage(
        request,
        queryset=_opportunities(request),
        columns=columns,
        filterset_class=OpportunityFilter,
        search_fields=["title", "company__name"],
        search_placeholder=gettext_lazy("Intitulé ou entreprise…"),
        default_sort="-created_at",
        title=gettext_lazy("Opportunités"),
        export_name="opportunites",
        empty_message=gettext_lazy("Aucune opportunité. Ajoutez-en une depuis la fiche d'une entreprise."),
        template_name="crm/pipeline/opportunity_list.html",
    ).response()


@right_required("crm.view_opportunity")
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(_opportunities(request), pk=pk)
    activities = list(_activities(request).filter(opportunity=opportunity).order_by("-scheduled_at", "-id"))
    tabs = [
        Tab("info", _("Informations"), template="crm/pipeline/_opportunity_info.html"),
        Tab("activities", _("Activités"), template="crm/pipeline/_activities.html", count=len(activities)),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    return render(
        request,
        "crm/pipeline/opportunity_detail.html",
        {
            "opportunity": opportunity,
            "object": opportunity,
            "tabs": tabs,
            "activities": activities,
            "timeline": timeline(opportunity),
            "stages": Opportunity.Stage.choices,
            "activity_create_url": reverse("crm:opportunity_activity_create", args=[opportunity.pk]),
            "extra_actions": opportunity_actions(request, opportunity),
            "breadcrumb": _breadcrumb_board(),
        },
    )


def _opportunity_form_page(request: HttpRequest, form: forms.Form, title: str, cancel_url: str) -> HttpResponse:
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": title,
            "cancel_url": cancel_url,
            "breadcrumb": _breadcrumb_board(),
            "fieldsets": [
                (
                    _("Opportunité"),
                    ["title", "stage", "estimated_amount", "probability", "expected_close_date", "lost_reason"],
                ),
                (_("Suivi"), ["owner", "marketing_source", "center"]),
            ],
        },
    )


@right_required("crm.add_opportunity")
def company_opportunity_create(request: HttpRequest, company_pk: int) -> HttpResponse:
    """ "Ajouter une opportunité" from the company page."""
    company = _company(request, company_pk)
    organization = request.organization  # type: ignore[attr-defined]
    initial = {"owner": request.user.pk, "center": company.center_id, "marketing_source": company.marketing_source_id}
    form = OpportunityForm(
        request.POST or None, initial=initial, user=request.user, organization=organization, creating=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.create_opportunity(
                company=company, by=request.user, data=form.service_data(), stage=form.cleaned_data["stage"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'opportunité « %(title)s » est créée.") % {"title": opportunity.title})
            return redirect(opportunity)
    title = _("Ajouter une opportunité à %(company)s") % {"company": company.name}
    return _opportunity_form_page(request, form, title, company.get_absolute_url())


@right_required("crm.change_opportunity")
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(_opportunities(request), pk=pk)
    form = OpportunityForm(
        request.POST or None,
        instance=opportunity,
        user=request.user,
        organization=request.organization,  # type: ignore[attr-defined]
        creating=False,
        lost=opportunity.stage == Opportunity.Stage.LOST,
    )
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.update_opportunity(
                opportunity=opportunity, by=request.user, data=form.service_data()
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'opportunité « %(title)s » est enregistrée.") % {"title": opportunity.title})
            return redirect(opportunity)
    title = _("Modifier « %(title)s »") % {"title": opportunity.title}
    return _opportunity_form_page(request, form, title, opportunity.get_absolute_url())


@right_required("crm.change_opportunity")
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """POST stage (+ position, lost_reason): the kanban's drop and the card's stage <select>.

    HTMX gets the board back (columns, counts, totals, positions), with the refusal shown on the card;
    a plain POST is redirected to the `next` page (the board by default)."""
    opportunity = get_object_or_404(_opportunities(request), pk=pk)
    if refused := post_only(request):
        return refused
    form = MoveForm(request.POST)
    error = None
    if not form.is_valid():
        error = _("Étape ou position invalide.")
    else:
        try:
            opportunity = services.move_opportunity(
                opportunity=opportunity,
                by=request.user,
                stage=form.cleaned_data["stage"],
                position=form.cleaned_data["position"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except DomainError as exc:
            error = exc.message
    if getattr(request, "htmx", None):
        context = _board_context(request, error=error, error_card=opportunity.pk if error else None)
        return render(request, "crm/pipeline/board.html#board", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("« %(title)s » est maintenant à l'étape « %(stage)s ».")
            % {"title": opportunity.title, "stage": opportunity.get_stage_display()},
        )
    return redirect(_safe_next(request, reverse("crm:opportunity_board")))


@right_required("crm.view_opportunity")
def company_opportunities(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Opportunités" tab of the company page (loaded by HTMX)."""
    company = _company(request, pk)
    opportunities = list(_opportunities(request).filter(company=company).order_by("-created_at", "-id"))
    return render(
        request,
        "crm/pipeline/company_opportunities.html",
        {"company": company, "opportunities": opportunities},
    )


# --------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------
@right_required("crm.view_activity")
def activity_list(request: HttpRequest) -> HttpResponse:
    """Commerce → Activités: the viewer's own by default ("Afficher : Mes activités")."""
    if not any(name in request.GET for name in ActivityFilter.base_filters):
        request.GET = request.GET.copy()
        request.GET["scope"] = "mine"
    can_change = can(request, "crm.change_activity")
    columns = [
        Column("scheduled_at", gettext_lazy("Date"), sort="scheduled_at", kind="datetime"),
        Column("kind", gettext_lazy("Type"), accessor=lambda a: a.get_kind_display(), sort="kind", link=True),
        Column("company", gettext_lazy("Entreprise"), accessor="company.name", sort="company__name", data=True),
        Column("opportunity", gettext_lazy("Opportunité"), accessor="opportunity.title", data=True),
        Column("staff", gettext_lazy("Collaborateur"), accessor="staff", data=True),
        Column(
            "status",
            gettext_lazy("Statut"),
            accessor=lambda activity: activity,
            template="crm/pipeline/_activity_status_cell.html",
            export=lambda a: a.get_status_display(),
        ),
        Column("notes", gettext_lazy("Compte rendu"), css_class="text-truncate", data=True),
    ]
    return ListPage(
        request,
        queryset=_activities(request),
        columns=columns,
        filterset_class=ActivityFilter,
        search_fields=["company__name", "notes", "opportunity__title"],
        search_placeholder=gettext_lazy("Entreprise, opportunité, compte rendu…"),
        default_sort="-scheduled_at",
        title=gettext_lazy("Activités"),
        export_name="activites",
        empty_message=gettext_lazy("Aucune activité. Planifiez-en une depuis la fiche d'une entreprise."),
        row_url=(lambda activity: reverse("crm:activity_edit", args=[activity.pk])) if can_change else (lambda _: None),
        extra_context={"can_change_activity": can_change},
    ).response()


def _activity_form_page(
    request: HttpRequest, form: forms.Form, title: str, cancel_url: str, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": title,
            "cancel_url": cancel_url,
            "breadcrumb": [(_("Activités"), reverse("crm:activity_list"))],
            **extra,
        },
    )


def _plan(request: HttpRequest, company: Company, opportunity: Opportunity | None, cancel_url: str) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    initial = {"staff": request.user.pk, "opportunity": opportunity.pk if opportunity else None}
    form = ActivityForm(
        request.POST or None,
        initial=initial,
        user=request.user,
        organization=organization,
        company=None if opportunity else company,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if opportunity is not None:
            data["opportunity"] = opportunity
        try:
            services.plan_activity(company=company, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'activité est planifiée."))
            return redirect(cancel_url)
    if opportunity is not None:
        title = _("Planifier une activité : %(title)s") % {"title": opportunity.title}
    else:
        title = _("Planifier une activité : %(company)s") % {"company": company.name}
    return _activity_form_page(request, form, title, cancel_url)


@right_required("crm.add_activity")
def company_activity_create(request: HttpRequest, company_pk: int) -> HttpResponse:
    company = _company(request, company_pk)
    return _plan(request, company, None, company.get_absolute_url())


@right_required("crm.add_activity")
def opportunity_activity_create(request: HttpRequest, opportunity_pk: int) -> HttpResponse:
    opportunity = get_object_or_404(_opportunities(request), pk=opportunity_pk)
    return _plan(request, opportunity.company, opportunity, opportunity.get_absolute_url())


@right_required("crm.change_activity")
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = get_object_or_404(_activities(request), pk=pk)
    organization = request.organization  # type: ignore[attr-defined]
    initial = {
        "kind": activity.kind,
        "scheduled_at": activity.scheduled_at,
        "staff": activity.staff_id,
        "opportunity": activity.opportunity_id,
        "notes": activity.notes,
    }
    form = ActivityForm(
        request.POST or None, initial=initial, user=request.user, organization=organization, company=activity.company
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_activity(activity=activity, by=request.user, data=dict(form.cleaned_data))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'activité est enregistrée."))
            return redirect(_safe_next(request, reverse("crm:activity_list")))
    return _activity_form_page(
        request,
        form,
        _("Modifier l'activité : %(activity)s") % {"activity": activity},
        reverse("crm:activity_list"),
    )


@right_required("crm.change_activity")
def activity_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: "fait" (the home page widget, the lists); HTMX gets the widget back."""
    activity = get_object_or_404(_activities(request), pk=pk)
    if refused := post_only(request):
        return refused
    form = CompleteForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() else None
    try:
        services.complete_activity(activity=activity, by=request.user, notes=notes)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if not getattr(request, "htmx", None):
            messages.success(request, _("Activité marquée comme réalisée."))
    if getattr(request, "htmx", None):
        return render(request, "crm/pipeline/_widget_my_activities.html", {"widget": my_activities_widget(request)})
    return redirect(_safe_next(request, reverse("crm:activity_list")))


@right_required("crm.delete_activity")
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = get_object_or_404(_activities(request), pk=pk)
    if request.method == "POST":
        try:
            services.delete_activity(activity=activity, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("L'activité est supprimée."))
        return redirect(_safe_next(request, reverse("crm:activity_list")))
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer l'activité « %(activity)s » ?") % {"activity": activity},
            "message": _("Cette action est définitive."),
            "confirm_label": _("Supprimer"),
            "danger": True,
            "cancel_url": reverse("crm:activity_list"),
            "breadcrumb": [(_("Activités"), reverse("crm:activity_list"))],
        },
    )


@right_required("crm.view_activity")
def company_activities(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Activités" tab of the company page (loaded by HTMX)."""
    company = _company(request, pk)
    activities = list(_activities(request).filter(company=company).order_by("-scheduled_at", "-id"))
    return render(
        request,
        "crm/pipeline/company_activities.html",
        {
            "company": company,
            "activities": activities,
            "activity_create_url": reverse("crm:company_activity_create", args=[company.pk]),
        },
    )


# --------------------------------------------------------------------------------------------------
# Home page widget: "Mes activités du jour"
# --------------------------------------------------------------------------------------------------
def my_activities_widget(request: HttpRequest) -> dict[str, Any] | None:
    if not can(request, "crm.view_activity"):
        return None
    activities = list(selectors.my_activities_today(request.user, request.organization))  # type: ignore[arg-type, attr-defined]
    return {"activities": activities, "can_complete": can(request, "crm.change_activity")}


dashboard.register_widget("crm/pipeline/_widget_my_activities.html", my_activities_widget, order=10)


urlpatterns = [
    path("opportunities/", opportunity_board, name="opportunity_board"),
    path("opportunities/list/", opportunity_list, name="opportunity_list"),
    path("opportunities/<int:pk>/", opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", opportunity_move, name="opportunity_move"),
    path("opportunities/<int:opportunity_pk>/activities/new/", opportunity_activity_create,
         name="opportunity_activity_create"),
    path("companies/<int:company_pk>/opportunities/new/", company_opportunity_create,
         name="company_opportunity_create"),
    path("companies/<int:pk>/opportunities/", company_opportunities, name="company_opportunities"),
    path("companies/<int:company_pk>/activities/new/", company_activity_create, name="company_activity_create"),
    path("companies/<int:pk>/activities/", company_activities, name="company_activities"),
    path("activities/", activity_list, name="activity_list"),
    path("activities/<int:pk>/edit/", activity_edit, name="activity_edit"),
    path("activities/<int:pk>/complete/", activity_complete, name="activity_complete"),
    path("activities/<int:pk>/delete/", activity_delete, name="activity_delete"),
]  # fmt: skip
