"""Gestion → Réservations (frontmanager §9 « Réservation de salle de réunion ou bureau de passage » ; desk « Mes
réservations »): the list of bookings (filters, « à traiter », CSV), « Créer une réservation » (with the free ranges
of the chosen space and day), a booking's page (every field, price or credits, its consumption, its journal) and its
actions by status: « Confirmer » / « Décliner » a request, « Annuler » (with or without a refund), « Ajouter une
consommation », the .ics invitation.

Every object view fetches its booking through the tenant-scoped selector before it looks at the method, so another
organization's booking answers 404 on GET and POST alike. The services decide (comptoir.bookings.services.bookings);
a refusal is shown at its field (a taken slot at the start time, with the slot that holds it).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.bookings import calendar, selectors
from comptoir.bookings.forms import BookingFilter, BookingForm, CancelForm, ConsumptionForm, DeclineForm, check_day
from comptoir.bookings.models import Booking
from comptoir.bookings.services import availability
from comptoir.bookings.services import bookings as services
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.money import format_money
from comptoir.core.navigation import Entry
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

register_object_url("bookings.booking", "bookings:detail")
for _suffix, _verb, _icon in [
    ("confirmed", gettext_lazy("Réservation confirmée"), "check2-circle"),
    ("declined", gettext_lazy("Demande déclinée"), "x-circle"),
    ("cancelled", gettext_lazy("Réservation annulée"), "x-octagon"),
    ("expired", gettext_lazy("Demande expirée"), "hourglass-bottom"),
    ("consumption_added", gettext_lazy("Consommation ajoutée"), "cup-hot"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)
for _name, _label in [
    ("starts_at", gettext_lazy("Début")),
    ("ends_at", gettext_lazy("Fin")),
    ("consumption", gettext_lazy("Consommation")),
    ("amount_excl_vat", gettext_lazy("Montant HT")),
    ("refund", gettext_lazy("Remboursement")),
]:
    CHANGE_LABELS.setdefault(_name, _label)

MENU = [
    Entry("operations", gettext_lazy("Réservations"), "bookings:list", "bookings.view_booking", 20, "calendar-check")
]

STATUS_BADGES = {
    Booking.Status.REQUESTED: "warning",
    Booking.Status.CONFIRMED: "success",
    Booking.Status.DECLINED: "secondary",
    Booking.Status.CANCELLED: "danger",
    Booking.Status.EXPIRED: "secondary",
}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
def local_range(booking: Booking) -> tuple[datetime.datetime, datetime.datetime]:
    """The booking's start and end as naive wall-clock times of its center (templates would shift aware ones to the
    viewer's timezone)."""
    tz = booking.center.tz
    return booking.starts_at.astimezone(tz).replace(tzinfo=None), booking.ends_at.astimezone(tz).replace(tzinfo=None)


def when(booking: Booking) -> str:
    """« 23/11/2026 14:30–16:00 » in the center's timezone."""
    start, end = local_range(booking)
    return f"{formats.date_format(start.date(), 'SHORT_DATE_FORMAT')} {start:%H:%M}–{end:%H:%M}"


def status_badge(booking: Booking) -> str:
    return STATUS_BADGES.get(booking.status, "secondary")


def amount_label(booking: Booking) -> str:
    """The price excl. VAT, or the credits for a booking paid in credits."""
    if booking.payment == Booking.Payment.CREDITS:
        return _("%(credits)s crédits") % {"credits": formats.localize(booking.credits.normalize())}
    return format_money(booking.price_excl_vat)


def booking_title(booking: Booking) -> str:
    return _("Réservation n°%(id)s") % {"id": booking.pk}


def _bookings(request: HttpRequest) -> QuerySet[Booking]:
    return selectors.bookings_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _booking(request: HttpRequest, pk: int) -> Booking:
    return get_object_or_404(_bookings(request), pk=pk)


def _breadcrumb(booking: Booking | None = None) -> list[tuple[str, str]]:
    crumbs = [(_("Réservations"), reverse("bookings:list"))]
    if booking is not None:
        crumbs.append((booking_title(booking), booking.get_absolute_url()))
    return crumbs


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def _status_cell(booking: Booking) -> SafeString:
    return format_html('<span class="badge rounded-pill text-bg-{}">{}</span>', status_badge(booking),
                       booking.get_status_display())  # fmt: skip


def _who_cell(booking: Booking) -> SafeString:
    company = format_html('<a href="{}" translate="no">{}</a>', reverse("crm:company_detail", args=[booking.company_id]),
                          booking.company.name)  # fmt: skip
    if booking.contact_id:
        return format_html('{}<br><span class="small text-body-secondary" translate="no">{}</span>', company,
                           booking.contact.full_name)  # fmt: skip
    return company


def _space_cell(booking: Booking) -> SafeString:
    return format_html('<span translate="no">{}</span><br><span class="small text-body-secondary" translate="no">{}'
                       "</span>", booking.space.name, booking.center.name)  # fmt: skip


def _who_export(booking: Booking) -> str:
    return f"{booking.company.name} — {booking.contact.full_name}" if booking.contact_id else booking.company.name


def booking_columns() -> list[Column]:
    return [
        Column(
            "starts_at",
            gettext_lazy("Date et heure"),
            accessor=when,
            sort="starts_at",
            link=True,
            css_class="text-nowrap",
        ),
        Column(
            "space",
            gettext_lazy("Espace"),
            accessor=lambda b: b,
            sort="space__name",
            render=_space_cell,
            export=lambda b: f"{b.center.name} — {b.space.name}",
        ),
        Column(
            "company",
            gettext_lazy("Entreprise / membre"),
            accessor=lambda b: b,
            sort="company__name",
            render=_who_cell,
            export=_who_export,
        ),
        Column(
            "status",
            gettext_lazy("Statut"),
            accessor=lambda b: b,
            sort="status",
            render=_status_cell,
            export=lambda b: b.get_status_display(),
        ),
        Column("payment", gettext_lazy("Paiement"), accessor=lambda b: b.get_payment_display(), sort="payment"),
        Column("amount", gettext_lazy("Prix HT / crédits"), accessor=amount_label, css_class="text-end text-nowrap"),
    ]


@right_required("bookings.view_booking")
def booking_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=_bookings(request),
        columns=booking_columns(),
        filterset_class=BookingFilter,
        search_fields=["company__name", "title", "space__name"],
        search_placeholder=gettext_lazy("Entreprise, espace, objet…"),
        default_sort="-starts_at",
        title=gettext_lazy("Réservations"),
        export_name="reservations",
        create_url=reverse("bookings:create") if can(request, "bookings.add_booking") else None,
        create_label=gettext_lazy("Créer une réservation"),
        empty_message=gettext_lazy("Aucune réservation pour le moment."),
    ).response()


# --------------------------------------------------------------------------------------------------
# « Créer une réservation »
# --------------------------------------------------------------------------------------------------
def _prefill(request: HttpRequest) -> dict[str, Any]:
    """The planning's link: ?space=&date=YYYY-MM-DD&start=HH:MM&end=HH:MM (and ?company= from a company's page)."""
    initial: dict[str, Any] = {}
    for name in ("space", "company", "contact", "contract", "seats"):
        raw = request.GET.get(name, "")
        if raw.isdigit():
            initial[name] = int(raw)
    for name, limit in (("title", 160), ("notes", 5000), ("payment", 10)):
        if request.GET.get(name):
            initial[name] = request.GET[name][:limit]
    try:
        if request.GET.get("date"):
            initial["date"] = check_day(datetime.date.fromisoformat(request.GET["date"]))
        for name in ("start", "end"):
            if request.GET.get(name):
                initial[name] = datetime.time.fromisoformat(request.GET[name])
    except (ValueError, ValidationError):
        pass
    return initial


def _free_ranges_context(space: Any, day: datetime.date | None) -> dict[str, Any]:
    if space is None or day is None:
        return {"space": space, "day": day, "ranges": None}
    tz = space.center.tz
    ranges = [(start.astimezone(tz).replace(tzinfo=None), end.astimezone(tz).replace(tzinfo=None))
              for start, end in availability.free_ranges(space, day)]  # fmt: skip
    return {"space": space, "day": day, "ranges": ranges}


def _conflict_message(exc: Conflict, booking_center: Any) -> str:
    conflict = (exc.details or {}).get("conflict") or {}
    try:
        start = datetime.datetime.fromisoformat(conflict["starts_at"]).astimezone(booking_center.tz)
        end = datetime.datetime.fromisoformat(conflict["ends_at"]).astimezone(booking_center.tz)
    except (KeyError, TypeError, ValueError):
        return exc.message
    return _("%(message)s Créneau occupé : %(day)s %(start)s–%(end)s.") % {
        "message": exc.message, "day": formats.date_format(start.date(), "SHORT_DATE_FORMAT"),
        "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
    }  # fmt: skip


@right_required("bookings.add_booking")
def booking_create(request: HttpRequest) -> HttpResponse:
    user, organization = request.user, request.organization  # type: ignore[attr-defined]
    if request.method == "POST":
        form = BookingForm(request.POST, user=user, organization=organization)
        if form.is_valid():
            try:
                booking = services.create_booking(organization=organization, by=user,  # type: ignore[arg-type]
                                                  data=form.booking_data())  # fmt: skip
            except Conflict as exc:
                if (exc.details or {}).get("conflict"):  # the slot is taken or blocked: shown with that slot
                    form.add_error("start", _conflict_message(exc, form.cleaned_data["space"].center))
                else:  # not enough credits...
                    add_domain_error(form, exc, aliases={"starts_at": "start", "ends_at": "end"})
            except DomainError as exc:
                add_domain_error(form, exc, aliases={"starts_at": "start", "ends_at": "end", "slots": "start"})
            else:
                messages.success(request, _("La réservation %(space)s du %(when)s est enregistrée (%(status)s).")
                                 % {"space": booking.space.name, "when": when(booking),
                                    "status": booking.get_status_display().lower()})  # fmt: skip
                return redirect(booking)
    else:
        form = BookingForm(initial=_prefill(request), user=user, organization=organization)
    space = form.cleaned_data.get("space") if form.is_bound and hasattr(form, "cleaned_data") else None
    day = form.cleaned_data.get("date") if form.is_bound and hasattr(form, "cleaned_data") else None
    if not form.is_bound:
        space_id, day = form.initial.get("space"), form.initial.get("date")
        space = form.fields["space"].queryset.filter(pk=space_id).first() if space_id else None
    return render(request, "bookings/bookings/create.html", {
        "form": form, "fieldsets": BookingForm.FIELDSETS, "title": _("Créer une réservation"),
        "breadcrumb": _breadcrumb(), "cancel_url": reverse("bookings:list"),
        "free_url": reverse("bookings:free_ranges"), **_free_ranges_context(space, day),
    })  # fmt: skip


@right_required("bookings.view_booking")
def free_ranges(request: HttpRequest) -> HttpResponse:
    """« Créneaux libres »: the free ranges of a space on a day (the create form's helper, loaded by HTMX)."""
    from comptoir.bookings.selectors import bookable_spaces_for

    raw_space, raw_day = request.GET.get("space", ""), request.GET.get("date", "")
    space = None
    if raw_space.isdigit():
        space = bookable_spaces_for(request.user, request.organization).filter(pk=int(raw_space)).first()  # type: ignore[arg-type, attr-defined]
    try:
        day = check_day(datetime.date.fromisoformat(raw_day)) if raw_day else None
    except (ValueError, ValidationError):
        day = None
    return render(request, "bookings/bookings/_free_ranges.html", _free_ranges_context(space, day))


# --------------------------------------------------------------------------------------------------
# A booking's page
# --------------------------------------------------------------------------------------------------
def _detail(request: HttpRequest, booking: Booking, *, consumption_form: ConsumptionForm | None = None,
            status: int = 200) -> HttpResponse:  # fmt: skip
    start, end = local_range(booking)
    holding = booking.status in Booking.HOLDING
    can_change = can(request, "bookings.change_booking")
    can_consume = (can(request, "billing.add_consumption")
                   and booking.status not in (Booking.Status.DECLINED, Booking.Status.EXPIRED))  # fmt: skip
    if can_consume and consumption_form is None:
        consumption_form = ConsumptionForm(products=selectors.consumption_products(booking.organization_id),
                                           prefix="consumption")  # fmt: skip
    consumptions = []
    if can(request, "billing.view_consumption"):
        from comptoir.billing.models import Consumption

        consumptions = list(Consumption.objects.filter(organization_id=booking.organization_id, source_id=booking.pk,
                                                       company_id=booking.company_id)
                            .exclude(pk=booking.consumption_id or 0).order_by("pk"))  # fmt: skip
    context = {
        "object": booking,
        "booking": booking,
        "title": booking_title(booking),
        "status_badge": status_badge(booking),
        "start": start,
        "end": end,
        "when": when(booking),
        "amount": amount_label(booking),
        "deadline": services.cancellation_deadline(booking).astimezone(booking.center.tz).replace(tzinfo=None),
        "can_confirm": can_change and booking.status == Booking.Status.REQUESTED,
        "can_cancel": can_change and holding,
        "consumption_form": consumption_form if can_consume else None,
        "consumptions": consumptions,
        "timeline": timeline(booking),
        "breadcrumb": _breadcrumb(),
    }
    return render(request, "bookings/bookings/detail.html", context, status=status)


@right_required("bookings.view_booking")
def booking_detail(request: HttpRequest, booking_pk: int) -> HttpResponse:
    return _detail(request, _booking(request, booking_pk))


@right_required("bookings.change_booking")
def booking_confirm(request: HttpRequest, booking_pk: int) -> HttpResponse:
    booking = _booking(request, booking_pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.confirm_booking(booking=booking, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("La réservation est confirmée."))
    return redirect(booking)


def _decision_page(request: HttpRequest, booking: Booking, form: Any, *, title: str, intro: str,
                   submit: str) -> HttpResponse:  # fmt: skip
    return render(request, "bookings/bookings/decision.html", {
        "form": form, "booking": booking, "title": title, "intro": intro, "submit_label": submit,
        "cancel_url": booking.get_absolute_url(), "breadcrumb": _breadcrumb(booking), "when": when(booking),
        "amount": amount_label(booking),
    })  # fmt: skip


@right_required("bookings.change_booking")
def booking_decline(request: HttpRequest, booking_pk: int) -> HttpResponse:
    """« Décliner » a request, with a reason sent to the member; its slot is freed."""
    booking = _booking(request, booking_pk)
    if booking.status != Booking.Status.REQUESTED and request.method != "POST":
        messages.info(request, _("Seule une demande en attente peut être déclinée."))
        return redirect(booking)
    form = DeclineForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.decline_booking(booking=booking, by=request.user,  # type: ignore[arg-type]
                                     reason=form.cleaned_data["reason"])  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("La demande est déclinée : son créneau est libéré."))
            return redirect(booking)
    return _decision_page(request, booking, form, title=_("Décliner la demande"),
                          intro=_("Le membre est prévenu par e-mail ; le créneau redevient libre."),
                          submit=_("Décliner"))  # fmt: skip


@right_required("bookings.change_booking")
def booking_cancel(request: HttpRequest, booking_pk: int) -> HttpResponse:
    """« Annuler », with « Rembourser » (in money or in credits, as the desk says)."""
    booking = _booking(request, booking_pk)
    if booking.status not in Booking.HOLDING and request.method != "POST":
        messages.info(request, _("Cette réservation est déjà annulée ou terminée."))
        return redirect(booking)
    form = CancelForm(request.POST if request.method == "POST" else None, booking=booking)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_booking(booking=booking, by=request.user,  # type: ignore[arg-type]
                                    reason=form.cleaned_data["reason"], refund=form.refund_value())  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"refund": "refund_kind"})
        else:
            messages.success(request, _("La réservation est annulée."))
            return redirect(booking)
    return _decision_page(request, booking, form, title=_("Annuler la réservation"),
                          intro=_("Le membre est prévenu par e-mail ; le créneau redevient libre."),
                          submit=_("Annuler la réservation"))  # fmt: skip


@right_required("billing.add_consumption")
def booking_consumption(request: HttpRequest, booking_pk: int) -> HttpResponse:
    """« Ajouter une consommation »: a product of kind « Consommation » and a quantity, billed with the booking."""
    booking = _booking(request, booking_pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = ConsumptionForm(request.POST, products=selectors.consumption_products(booking.organization_id),
                           prefix="consumption")  # fmt: skip
    if form.is_valid():
        try:
            consumption = services.add_consumption(booking=booking, by=request.user, data={  # type: ignore[arg-type]
                "product": form.cleaned_data["product"], "quantity": form.cleaned_data["quantity"]})  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Consommation ajoutée : %(description)s.")
                             % {"description": consumption.description})  # fmt: skip
            return redirect(booking)
    return _detail(request, booking, consumption_form=form, status=400)


@right_required("bookings.view_booking")
def booking_ics(request: HttpRequest, booking_pk: int) -> HttpResponse:
    booking = _booking(request, booking_pk)
    try:
        content = calendar.invitation(booking)
    except ValueError as exc:  # pragma: no cover - a booking always has its times
        raise Http404 from exc
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    day = timezone.localtime(booking.starts_at, booking.center.tz).date()
    response["Content-Disposition"] = f'attachment; filename="reservation-{booking.pk}-{day:%Y-%m-%d}.ics"'
    return response


urlpatterns = [
    path("", booking_list, name="list"),
    path("new/", booking_create, name="create"),
    path("free-ranges/", free_ranges, name="free_ranges"),
    path("<int:booking_pk>/", booking_detail, name="detail"),
    path("<int:booking_pk>/confirm/", booking_confirm, name="confirm"),
    path("<int:booking_pk>/decline/", booking_decline, name="decline"),
    path("<int:booking_pk>/cancel/", booking_cancel, name="cancel"),
    path("<int:booking_pk>/consumptions/", booking_consumption, name="add_consumption"),
    path("<int:booking_pk>/invitation.ics", booking_ics, name="ics"),
]
