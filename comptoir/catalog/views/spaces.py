"""Gestion → Espaces: the spaces of each center (offices, desks, meeting rooms, mailboxes, parking), their
page with photos and history, their forms and photo management."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.catalog.filters import SpaceFilter
from comptoir.catalog.forms import SpaceForm, SpacePhotoForm
from comptoir.catalog.models import Space
from comptoir.catalog.selectors import spaces as selectors
from comptoir.catalog.services import spaces as services
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
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

register_object_url("catalog.space", "catalog:space_detail")
for _suffix, _verb, _icon in [
    ("deactivated", gettext_lazy("Désactivation"), "pause-circle"),
    ("reactivated", gettext_lazy("Réactivation"), "play-circle"),
    ("photo_added", gettext_lazy("Photo ajoutée"), "image"),
    ("photo_removed", gettext_lazy("Photo retirée"), "image"),
    ("photo_updated", gettext_lazy("Légende modifiée"), "image"),
    ("photos_reordered", gettext_lazy("Photos réordonnées"), "images"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [Entry("operations", gettext_lazy("Espaces"), "catalog:space_list", "catalog.view_space", 20, "door-open")]


def _breadcrumb() -> list[tuple[str, str]]:
    return [(_("Espaces"), reverse("catalog:space_list"))]


def _space(request: HttpRequest, pk: int) -> Space:
    return get_object_or_404(selectors.spaces_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def floor_plan_url(space: Space) -> str | None:
    """The floor plan page of the space's floor, once the plans' views exist and a plan was drawn."""
    try:
        reverse("catalog:floorplan_detail", args=[0])
    except NoReverseMatch:
        return None
    plan = selectors.floor_plan_of(space)
    if plan is None:
        return None
    try:
        return reverse("catalog:floorplan_detail", args=[plan.pk])
    except NoReverseMatch:
        return None


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def stored(value: Any) -> SafeString | None:
    """Stored data (names, free text) in a list cell: marked translate="no" for the browser's translator."""
    if value in (None, ""):
        return None
    return format_html('<span translate="no">{}</span>', value)


SPACE_COLUMNS = [
    Column(
        "name",
        gettext_lazy("Nom"),
        accessor=lambda space: stored(space.name),
        sort="name",
        link=True,
        export=lambda space: space.name,
    ),
    Column(
        "center",
        gettext_lazy("Centre"),
        accessor=lambda space: stored(space.center.name),
        sort="center__name",
        export=lambda space: space.center.name,
    ),
    Column("kind", gettext_lazy("Type"), accessor=lambda space: space.get_kind_display(), sort="kind"),
    Column("floor", gettext_lazy("Étage"), kind="number", sort="floor", css_class="text-end"),
    Column("area_m2", gettext_lazy("Surface (m²)"), kind="number", sort="area_m2", css_class="text-end"),
    Column("capacity", gettext_lazy("Capacité"), kind="number", sort="capacity", css_class="text-end"),
    Column("is_bookable", gettext_lazy("Réservable"), kind="bool", sort="is_bookable"),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        sort="is_active",
        true_label=gettext_lazy("Actif"),
        false_label=gettext_lazy("Désactivé"),
    ),
    Column("photo_count", gettext_lazy("Photos"), kind="number", sort="photo_count", css_class="text-end"),
    Column(
        "amenities",
        gettext_lazy("Équipements"),
        accessor=lambda space: stored(", ".join(services.amenity_label(item) for item in space.amenities or [])),
        export=lambda space: [services.amenity_label(item) for item in space.amenities or []],
    ),
]


@right_required("catalog.view_space")
def space_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.space_rows_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=SPACE_COLUMNS,
        filterset_class=SpaceFilter,
        search_fields=["name", "description", "center__name"],
        search_placeholder=gettext_lazy("Nom, description, centre…"),
        default_sort="name",
        title=gettext_lazy("Espaces"),
        export_name="espaces",
        create_url=reverse("catalog:space_create") if can(request, "catalog.add_space") else None,
        create_label=gettext_lazy("Ajouter un espace"),
        empty_message=gettext_lazy("Aucun espace ne correspond. Ajoutez les bureaux, salles et postes de vos centres."),
    ).response()


# --------------------------------------------------------------------------------------------------
# Creation and edition
# --------------------------------------------------------------------------------------------------
@right_required("catalog.add_space")
def space_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = SpaceForm(request.POST or None, user=request.user, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            space = services.create_space(organization=organization, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"amenities": "other_amenities"})
        else:
            messages.success(request, _("L'espace « %(name)s » est créé.") % {"name": space.name})
            return redirect(space)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvel espace"),
            "intro": _("Bureau, poste de coworking, salle de réunion, boîte aux lettres ou place de parking."),
            "fieldsets": SpaceForm.fieldsets,
            "cancel_url": reverse("catalog:space_list"),
            "breadcrumb": _breadcrumb(),
            "submit_label": _("Créer l'espace"),
        },
    )


@right_required("catalog.change_space")
def space_edit(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space(request, pk)
    form = SpaceForm(request.POST or None, instance=space, user=request.user, organization=request.organization)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            space = services.update_space(space=space, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"amenities": "other_amenities"})
        else:
            if data:
                messages.success(request, _("L'espace « %(name)s » est enregistré.") % {"name": space.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(space)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": space.name},
            "fieldsets": SpaceForm.fieldsets,
            "cancel_url": space.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(), (space.name, space.get_absolute_url())],
        },
    )


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------
@right_required("catalog.view_space")
def space_detail(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space(request, pk)
    photos = list(space.photos.order_by("position", "id"))
    return render(
        request,
        "catalog/spaces/detail.html",
        {
            "space": space,
            "object": space,
            "photos": photos,
            "amenities": [services.amenity_label(item) for item in space.amenities or []],
            "plan_url": floor_plan_url(space),
            "tabs": [
                Tab("info", _("Informations"), template="catalog/spaces/_info.html"),
                Tab("photos", _("Photos"), template="catalog/spaces/_photos.html", count=len(photos)),
                Tab("history", _("Historique"), template="manage/_timeline.html"),
            ],
            "timeline": timeline(space),
            "breadcrumb": _breadcrumb(),
            "can_change": can(request, "catalog.change_space"),
            "can_delete": can(request, "catalog.delete_space"),
        },
    )


# --------------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------------
def _photos_page(request: HttpRequest, space: Space, form: SpacePhotoForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "catalog/spaces/photos.html",
        {
            "space": space,
            "object": space,
            "photos": list(space.photos.order_by("position", "id")),
            "form": form,
            "title": _("Photos de « %(name)s »") % {"name": space.name},
            "breadcrumb": [*_breadcrumb(), (space.name, space.get_absolute_url())],
        },
        status=status,
    )


@right_required("catalog.change_space")
def space_photos(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the space's photos with their order and captions; POST: add one photo."""
    space = _space(request, pk)
    form = SpacePhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.add_space_photo(
                    space=space, by=request.user, image=form.cleaned_data["image"],
                    caption=form.cleaned_data.get("caption", ""),
                )  # fmt: skip
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("La photo est ajoutée."))
                return redirect("catalog:space_photos", space.pk)
        return _photos_page(request, space, form, status=400)
    return _photos_page(request, space, form)


def _photo_of(request: HttpRequest, space: Space):  # type: ignore[no-untyped-def]
    raw = request.POST.get("photo", "")
    if not raw.isdigit():
        return None
    return space.photos.filter(pk=int(raw)).first()


@right_required("catalog.change_space")
def space_photo_remove(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    photo = _photo_of(request, space)
    if photo is None:
        messages.error(request, _("Photo introuvable."))
    else:
        try:
            services.remove_space_photo(photo=photo, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("La photo est retirée."))
    return redirect("catalog:space_photos", space.pk)


@right_required("catalog.change_space")
def space_photo_move(request: HttpRequest, pk: int) -> HttpResponse:
    """POST photo=<id>, direction=up|down."""
    space = _space(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    photo = _photo_of(request, space)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if photo is None or offset is None:
        messages.error(request, _("Photo introuvable."))
    else:
        try:
            services.move_space_photo(photo=photo, by=request.user, offset=offset)
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("catalog:space_photos", space.pk)


@right_required("catalog.change_space")
def space_photo_caption(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    photo = _photo_of(request, space)
    if photo is None:
        messages.error(request, _("Photo introuvable."))
    else:
        try:
            services.update_space_photo(photo=photo, by=request.user, caption=request.POST.get("caption", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("La légende est enregistrée."))
    return redirect("catalog:space_photos", space.pk)


@right_required("catalog.change_space")
def space_photo_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """POST order=<id>&order=<id>...: every photo of the space in its new order."""
    space = _space(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.reorder_space_photos(space=space, by=request.user, order=request.POST.getlist("order"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("L'ordre des photos est enregistré."))
    return redirect("catalog:space_photos", space.pk)


# --------------------------------------------------------------------------------------------------
# Deactivation and deletion
# --------------------------------------------------------------------------------------------------
@right_required("catalog.change_space")
def space_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: deactivate an active space, reactivate an inactive one."""
    space = _space(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        space = services.set_space_active(space=space, by=request.user, active=not space.is_active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if space.is_active:
            messages.success(request, _("L'espace « %(name)s » est réactivé.") % {"name": space.name})
        else:
            messages.success(request, _("L'espace « %(name)s » est désactivé.") % {"name": space.name})
    return redirect(space)


@right_required("catalog.delete_space")
def space_delete(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space(request, pk)
    if request.method == "POST":
        try:
            services.delete_space(space=space, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(space)
        messages.success(request, _("L'espace « %(name)s » est supprimé.") % {"name": space.name})
        return redirect("catalog:space_list")
    used = services.space_is_used(space)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer « %(name)s » ?") % {"name": space.name},
            "message": _("Cette action est définitive : l'espace et ses photos sont supprimés."),
            "details": _("Cet espace est utilisé (devis, contrats, réservations…) : désactivez-le plutôt.")
            if used
            else None,
            "confirm_label": _("Supprimer l'espace"),
            "danger": True,
            "cancel_url": space.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(), (space.name, space.get_absolute_url())],
        },
    )


urlpatterns = [
    path("spaces/", space_list, name="space_list"),
    path("spaces/new/", space_create, name="space_create"),
    path("spaces/<int:pk>/", space_detail, name="space_detail"),
    path("spaces/<int:pk>/edit/", space_edit, name="space_edit"),
    path("spaces/<int:pk>/photos/", space_photos, name="space_photos"),
    path("spaces/<int:pk>/photos/remove/", space_photo_remove, name="space_photo_remove"),
    path("spaces/<int:pk>/photos/move/", space_photo_move, name="space_photo_move"),
    path("spaces/<int:pk>/photos/caption/", space_photo_caption, name="space_photo_caption"),
    path("spaces/<int:pk>/photos/reorder/", space_photo_reorder, name="space_photo_reorder"),
    path("spaces/<int:pk>/deactivate/", space_deactivate, name="space_deactivate"),
    path("spaces/<int:pk>/delete/", space_delete, name="space_delete"),
]
