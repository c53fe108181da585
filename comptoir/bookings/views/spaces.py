"""Gestion → Espaces réservables: the bookable spaces with their booking settings (prices per hour, half day and day,
acceptation automatique, paiement à la réservation, credits per hour), and « Paramètres de réservation » of one
space (tarifs, demandes, annulation, crédits, affichage).

A space without settings of its own shows the defaults; its first change creates them
(comptoir.bookings.services.spaces). Another organization's space answers 404 on GET and POST alike.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.bookings.forms_spaces import SpaceSettingsFilter, SpaceSettingsForm
from comptoir.bookings.models import SpaceBooking
from comptoir.bookings.services import spaces as services
from comptoir.bookings.services.availability import settings_of
from comptoir.catalog.models import Space
from comptoir.core import journal
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, right_required

ACTION_VERBS.setdefault("booking_settings_changed", gettext_lazy("Paramètres de réservation modifiés"))
ACTION_ICONS.setdefault("booking_settings_changed", "sliders")

MENU = [Entry("operations", gettext_lazy("Espaces réservables"), "bookings:space_list", "catalog.view_space", 27,
              "sliders")]  # fmt: skip


def _stored(value: str) -> SafeString:
    return format_html('<span translate="no">{}</span>', value)


def space_columns() -> list[Column]:
    return [
        Column(
            "name",
            gettext_lazy("Espace"),
            accessor=lambda s: _stored(s.name),
            sort="name",
            link=True,
            export=lambda s: s.name,
        ),
        Column(
            "center",
            gettext_lazy("Centre"),
            accessor=lambda s: _stored(s.center.name),
            sort="center__name",
            export=lambda s: s.center.name,
        ),
        Column("kind", gettext_lazy("Type"), accessor=lambda s: s.get_kind_display(), sort="kind"),
        Column("capacity", gettext_lazy("Capacité"), kind="number", sort="capacity", css_class="text-end"),
        Column(
            "hour_price",
            gettext_lazy("Heure HT"),
            kind="money",
            accessor=lambda s: settings_of(s).hour_price,
            sort="booking__hour_price",
            css_class="text-end text-nowrap",
        ),
        Column(
            "half_day_price",
            gettext_lazy("Demi-journée HT"),
            kind="money",
            accessor=lambda s: settings_of(s).half_day_price,
            sort="booking__half_day_price",
            css_class="text-end text-nowrap",
        ),
        Column(
            "day_price",
            gettext_lazy("Journée HT"),
            kind="money",
            accessor=lambda s: settings_of(s).day_price,
            sort="booking__day_price",
            css_class="text-end text-nowrap",
        ),
        Column(
            "auto_accept",
            gettext_lazy("Acceptation automatique"),
            kind="bool",
            accessor=lambda s: settings_of(s).auto_accept,
        ),
        Column(
            "prepayment",
            gettext_lazy("Paiement à la réservation"),
            kind="bool",
            accessor=lambda s: settings_of(s).prepayment,
        ),
        Column(
            "credits_per_hour",
            gettext_lazy("Crédits/h"),
            kind="number",
            accessor=lambda s: settings_of(s).credits_per_hour,
            css_class="text-end",
        ),
    ]


def _spaces(request: HttpRequest) -> QuerySet[Space]:
    return services.settings_rows_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


@right_required("catalog.view_space")
def space_list(request: HttpRequest) -> HttpResponse:
    editable = can(request, "catalog.change_space")
    return ListPage(
        request,
        queryset=_spaces(request),
        columns=space_columns(),
        filterset_class=SpaceSettingsFilter,
        search_fields=["name", "center__name"],
        search_placeholder=gettext_lazy("Espace, centre…"),
        default_sort="name",
        title=gettext_lazy("Espaces réservables"),
        export_name="espaces-reservables",
        empty_message=gettext_lazy(
            "Aucun espace réservable. Rendez réservables les salles, bureaux de passage et "
            "espaces de coworking dans Gestion → Espaces."
        ),
        row_url=lambda space: reverse("bookings:space_settings", args=[space.pk]) if editable else None,
    ).response()


@right_required("catalog.change_space")
def space_settings(request: HttpRequest, space_pk: int) -> HttpResponse:
    """« Paramètres de réservation » of one space; a space without its own shows (and starts from) the defaults."""
    space = get_object_or_404(_spaces(request), pk=space_pk)
    current = settings_of(space)
    row = current if current.pk else SpaceBooking(organization_id=space.organization_id, space=space)
    form = SpaceSettingsForm(request.POST if request.method == "POST" else None, instance=row)  # row stays as is
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.update_settings(space=space, by=request.user, data=form.service_data())  # type: ignore[arg-type]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if journal.snapshot(saved, services.SETTINGS_FIELDS) != journal.snapshot(row, services.SETTINGS_FIELDS):
                messages.success(request, _("Les paramètres de réservation de « %(name)s » sont enregistrés.")
                                 % {"name": space.name})  # fmt: skip
            else:
                messages.info(request, _("Aucune modification."))
            return redirect("bookings:space_list")
    return render(request, "bookings/spaces/settings.html", {
        "form": form, "space": space, "object": space, "uses_defaults": not current.pk,
        "title": _("Paramètres de réservation — %(name)s") % {"name": space.name},
        "fieldsets": SpaceSettingsForm.fieldsets,
        "breadcrumb": [(_("Espaces réservables"), reverse("bookings:space_list"))],
        "cancel_url": reverse("bookings:space_list"),
        "space_url": reverse("catalog:space_detail", args=[space.pk]) if can(request, "catalog.view_space") else None,
    })  # fmt: skip


urlpatterns = [
    path("spaces/", space_list, name="space_list"),
    path("spaces/<int:space_pk>/", space_settings, name="space_settings"),
]
