"""Gestion → Plans: the floor plans of the centers, colored by the spaces' state on a chosen day, their
drawing page (floorplan-editor.js), the SVG image and the background file."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.catalog import occupancy, svg
from comptoir.catalog.models import FloorPlan, Space
from comptoir.catalog.selectors import floorplans as selectors
from comptoir.catalog.services import floorplans as services
from comptoir.core.errors import DomainError
from comptoir.core.forms import ServiceModelForm, StyledFormMixin, add_domain_error, date_input
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
from comptoir.core.selectors import centers_for
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    CHANGE_LABELS,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)
from comptoir.core.widgets import DataSelect

register_object_url("catalog.floorplan", "catalog:floorplan_detail")
ACTION_VERBS.setdefault("shapes_saved", gettext_lazy("Espaces dessinés"))
ACTION_ICONS.setdefault("shapes_saved", "bounding-box")
CHANGE_LABELS.setdefault("drawn", gettext_lazy("Espaces dessinés"))
CHANGE_LABELS.setdefault("cleared", gettext_lazy("Formes effacées"))
CHANGE_LABELS.setdefault("background", gettext_lazy("Fond de plan"))

MENU = [Entry("operations", gettext_lazy("Plans"), "catalog:floorplan_list", "catalog.view_floorplan", 40, "map")]

_PK_PLACEHOLDER = 987654321


# --------------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------------
class FloorPlanForm(ServiceModelForm):
    background = forms.FileField(
        label=gettext_lazy("Fond de plan"),
        required=False,
        help_text=gettext_lazy("Image PNG ou JPEG, ou fichier SVG ; 5 Mo au plus."),
        widget=forms.FileInput(attrs={"accept": ".png,.jpg,.jpeg,.svg,image/png,image/jpeg,image/svg+xml"}),
    )

    class Meta:
        model = FloorPlan
        fields = services.FLOORPLAN_FIELDS
        widgets = {"center": DataSelect}
        help_texts = {
            "width": gettext_lazy("En unités du plan (par exemple en pixels de l'image de fond)."),
        }

    def __init__(self, *args: Any, centers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
        if self.instance.pk and self.instance.background:
            self.fields["remove_background"] = forms.BooleanField(
                label=gettext_lazy("Retirer le fond de plan actuel"), required=False
            )
            self.fields["remove_background"].widget.attrs["class"] = "form-check-input"

    def service_data(self, *, only_changed: bool = False) -> dict[str, Any]:
        data = super().service_data(only_changed=only_changed)
        data.pop("background", None)
        data.pop("remove_background", None)
        return data


class DateForm(StyledFormMixin, forms.Form):
    date = forms.DateField(label=gettext_lazy("État au"), widget=date_input())


def day_from(request: HttpRequest) -> tuple[DateForm, datetime.date]:
    """The day asked for (?date=YYYY-MM-DD), or today when none (or an invalid one) is given."""
    today = timezone.localdate()
    if "date" in request.GET:
        form = DateForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["date"]
        return form, today
    return DateForm(initial={"date": today}), today


# --------------------------------------------------------------------------------------------------
# The SVG
# --------------------------------------------------------------------------------------------------
def space_url_builder() -> Callable[[Space], str | None]:
    """The link of a space's polygon (its page), reversed once for the whole plan."""
    try:
        pattern = reverse("catalog:space_detail", args=[_PK_PLACEHOLDER])
    except NoReverseMatch:
        return lambda space: None
    return lambda space: pattern.replace(str(_PK_PLACEHOLDER), str(space.pk))


def background_url(plan: FloorPlan, *, api: bool = False) -> str | None:
    if not plan.background:
        return None
    url_name = "api:floorplan-background" if api else "catalog:floorplan_background"
    return f"{reverse(url_name, args=[plan.pk])}?v={int(plan.updated_at.timestamp())}"


def plan_svg(
    plan: FloorPlan, on: datetime.date, *, api: bool = False
) -> tuple[str, list[selectors.SpaceRow], dict[int, str]]:
    """(the SVG, the plan's spaces, their states on that day): one query plus one per occupancy provider."""
    spaces = selectors.plan_space_rows(plan)
    states = occupancy.states(spaces, on)
    image = svg.render(
        plan, spaces, states, space_url=space_url_builder(), background_url=background_url(plan, api=api)
    )
    return image, spaces, states


def svg_response(image: str) -> HttpResponse:
    response = HttpResponse(image, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
    return response


def background_response(plan: FloorPlan) -> FileResponse:
    """The background file; an SVG is sandboxed (no script runs even when opened directly)."""
    if not plan.background:
        raise Http404
    try:
        handle = plan.background.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = services.background_content_type(plan)
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=86400"
    if content_type == "image/svg+xml":
        response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return response


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The API's error envelope (comptoir.core.api.errors, not imported here: it loads DRF at start-up)."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------
def _plan(request: HttpRequest, pk: int) -> FloorPlan:
    return get_object_or_404(selectors.floor_plans_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _centers(request: HttpRequest) -> Any:
    return centers_for(request.user, request.organization).order_by("name")  # type: ignore[attr-defined]


def _breadcrumb() -> list[tuple[str, str]]:
    return [(_("Plans"), reverse("catalog:floorplan_list"))]


COLUMNS = [
    Column("name", gettext_lazy("Plan"), accessor=lambda plan: str(plan), sort="name", link=True, data=True),
    Column("center", gettext_lazy("Centre"), accessor="center.name", sort="center__name", data=True),
    Column("floor", gettext_lazy("Étage"), sort="floor", kind="number"),
    Column("size", gettext_lazy("Dimensions"), accessor=lambda plan: f"{plan.width} × {plan.height}"),
    Column("drawn", gettext_lazy("Espaces dessinés"), accessor=lambda plan: f"{plan.drawn_count} / {plan.space_count}"),
    Column("updated_at", gettext_lazy("Modifié le"), sort="updated_at", kind="date"),
]


@right_required("catalog.view_floorplan")
def floorplan_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.floor_plans_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=COLUMNS,
        search_fields=["name", "center__name"],
        search_placeholder=gettext_lazy("Nom du plan ou du centre…"),
        default_sort="center",
        title=_("Plans"),
        export_name="plans",
        create_url=reverse("catalog:floorplan_create") if can(request, "catalog.add_floorplan") else None,
        create_label=gettext_lazy("Ajouter un plan"),
        empty_message=gettext_lazy("Aucun plan : ajoutez celui d'un étage pour y dessiner ses espaces."),
    ).response()


@right_required("catalog.add_floorplan")
def floorplan_create(request: HttpRequest) -> HttpResponse:
    form = FloorPlanForm(request.POST or None, request.FILES or None, centers=_centers(request))
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.create_floor_plan(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,
                data=form.service_data(),
                background=form.cleaned_data.get("background"),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le plan « %(name)s » est créé : dessinez-y les espaces.") % {"name": plan})
            return redirect("catalog:floorplan_editor", plan.pk)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouveau plan"),
            "intro": _("Le plan d'un étage d'un centre : ses dimensions et, si vous l'avez, son fond de plan."),
            "cancel_url": reverse("catalog:floorplan_list"),
            "breadcrumb": _breadcrumb(),
            "submit_label": _("Créer le plan"),
        },
    )


@right_required("catalog.view_floorplan")
def floorplan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    form, day = day_from(request)
    image, spaces, states = plan_svg(plan, day)
    counts = dict.fromkeys(occupancy.STATES, 0)
    for space in spaces:
        if space.shape:
            counts[states[space.pk]] += 1
    legend = [
        {"state": state, "label": occupancy.LABELS[state], "color": svg.COLORS[state], "count": counts[state]}
        for state in occupancy.STATES
    ]
    space_url = space_url_builder()
    undrawn = [(space, space_url(space)) for space in spaces if not space.shape]
    return render(
        request,
        "catalog/floorplans/detail.html",
        {
            "plan": plan,
            "object": plan,
            "form": form,
            "day": day,
            "svg": mark_safe(image),
            "legend": legend,
            "undrawn": undrawn,
            "drawn_count": len(spaces) - len(undrawn),
            "timeline": timeline(plan),
            "breadcrumb": _breadcrumb(),
            "can_change": can(request, "catalog.change_floorplan"),
        },
    )


@right_required("catalog.change_floorplan")
def floorplan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    form = FloorPlanForm(request.POST or None, request.FILES or None, instance=plan, centers=_centers(request))
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            plan = services.update_floor_plan(
                plan=plan,
                by=request.user,
                data=data,
                background=form.cleaned_data.get("background"),
                remove_background=bool(form.cleaned_data.get("remove_background")),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le plan « %(name)s » est enregistré.") % {"name": plan})
            return redirect(plan)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": plan},
            "cancel_url": plan.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(), (str(plan), plan.get_absolute_url())],
        },
    )


@right_required("catalog.change_floorplan")
def floorplan_editor(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    spaces = [
        {"id": space.pk, "name": space.name, "shape": space.shape, "active": space.is_active}
        for space in selectors.plan_spaces(plan).only("id", "name", "shape", "is_active")
    ]
    return render(
        request,
        "catalog/floorplans/editor.html",
        {
            "plan": plan,
            "object": plan,
            "editor": {
                "width": plan.width,
                "height": plan.height,
                "background": background_url(plan),
                "saveUrl": reverse("catalog:floorplan_shapes", args=[plan.pk]),
                "spaces": spaces,
                "maxPoints": services.MAX_POINTS,
            },
            "space_count": len(spaces),
            "breadcrumb": [*_breadcrumb(), (str(plan), plan.get_absolute_url())],
        },
    )


@right_required("catalog.view_floorplan")
def floorplan_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the plan as an SVG image (?date=YYYY-MM-DD: the states on that day)."""
    plan = _plan(request, pk)
    _form, day = day_from(request)
    return svg_response(plan_svg(plan, day)[0])


@right_required("catalog.view_floorplan")
def floorplan_background(request: HttpRequest, pk: int) -> HttpResponse:
    return background_response(_plan(request, pk))


@right_required("catalog.change_floorplan")
def floorplan_shapes(request: HttpRequest, pk: int) -> HttpResponse:
    """POST JSON `{"shapes": {space_id: [[x, y], ...] | null}}` from the editor; JSON answer."""
    plan = _plan(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse(error_body("bad_request", _("Requête invalide : JSON attendu.")), status=400)
    shapes = payload.get("shapes") if isinstance(payload, dict) else None
    try:
        plan = services.save_shapes(plan=plan, by=request.user, shapes=shapes)
    except DomainError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    drawn = selectors.plan_spaces(plan).filter(shape__isnull=False).count()
    return JsonResponse({"saved": True, "drawn": drawn, "message": _("Les formes des espaces sont enregistrées.")})


urlpatterns = [
    path("plans/", floorplan_list, name="floorplan_list"),
    path("plans/new/", floorplan_create, name="floorplan_create"),
    path("plans/<int:pk>/", floorplan_detail, name="floorplan_detail"),
    path("plans/<int:pk>/edit/", floorplan_edit, name="floorplan_edit"),
    path("plans/<int:pk>/draw/", floorplan_editor, name="floorplan_editor"),
    path("plans/<int:pk>/plan.svg", floorplan_svg, name="floorplan_svg"),
    path("plans/<int:pk>/background/", floorplan_background, name="floorplan_background"),
    path("plans/<int:pk>/shapes/", floorplan_shapes, name="floorplan_shapes"),
]
