"""Gestion → Planning des services (frontmanager §8): per center, a timeline with its spaces as rows and the
hours of a day (or the days of a week) as columns, showing the bookings (confirmed and requested), the blocked
slots and the contracts occupying private offices. A free cell links to « Créer une réservation » prefilled
(?space=&date=YYYY-MM-DD&start=HH:MM&end=HH:MM). « Plan 2D »: a floor plan of the center colored by occupancy at
a chosen date and time.

Server-rendered HTML (a CSS grid per row, no script); a constant number of queries whatever the number of spaces
and bookings: the centers, the opening hours, the spaces, the bookings, the blocked slots, the floor plans, and one
per occupancy provider per day shown.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.bookings.models import BlockedSlot, Booking
from comptoir.bookings.occupancy import other_states, states_at
from comptoir.bookings.services.availability import check_bookable, is_shared, opening_intervals, peak_seats
from comptoir.catalog import occupancy, svg
from comptoir.catalog.models import FloorPlan, Space
from comptoir.catalog.selectors import floorplans as floorplan_selectors
from comptoir.catalog.views.floorplans import background_url, space_url_builder
from comptoir.core.errors import DomainError
from comptoir.core.forms import StyledFormMixin, date_input, time_input
from comptoir.core.models import Center
from comptoir.core.navigation import Entry
from comptoir.core.selectors import centers_for
from comptoir.core.views.base import can, right_required

MENU = [
    Entry("operations", gettext_lazy("Planning des services"), "bookings:planning", "bookings.view_booking", 22,
          "calendar-week"),
]  # fmt: skip

STEP = datetime.timedelta(minutes=30)  # one column of the day view
DEFAULT_LINK = datetime.timedelta(hours=1)  # a free cell proposes an hour (less when the free range is shorter)
DEFAULT_HOURS = (datetime.time(8), datetime.time(19))  # the window of a closed day
DAY = datetime.timedelta(days=1)
# The spaces the planning shows, in this order (mailboxes and parking spaces are not planned).
ROW_KINDS = [
    Space.Kind.MEETING_ROOM,
    Space.Kind.DROP_IN_OFFICE,
    Space.Kind.COWORKING_AREA,
    Space.Kind.SHARED_OFFICE,
    Space.Kind.PRIVATE_OFFICE,
]
DAY_VIEW, WEEK_VIEW = "day", "week"
_PK_PLACEHOLDER = 987654321


# --------------------------------------------------------------------------------------------------
# The request's choices
# --------------------------------------------------------------------------------------------------
class PlanningForm(StyledFormMixin, forms.Form):
    center = forms.TypedChoiceField(label=gettext_lazy("Centre"), coerce=int, required=False)
    date = forms.DateField(label=gettext_lazy("Date"), widget=date_input(), required=False)
    view = forms.ChoiceField(
        label=gettext_lazy("Vue"), required=False,
        choices=[(DAY_VIEW, gettext_lazy("Jour")), (WEEK_VIEW, gettext_lazy("Semaine"))],
    )  # fmt: skip

    def __init__(self, *args: Any, centers: Sequence[Center], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["center"].choices = [(center.pk, center.name) for center in centers]


class MomentForm(StyledFormMixin, forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), widget=date_input())
    time = forms.TimeField(label=gettext_lazy("Heure"), widget=time_input())


def _centers(request: HttpRequest) -> list[Center]:
    return list(centers_for(request.user, request.organization).order_by("name", "id"))  # type: ignore[arg-type, attr-defined]


def _pick_center(centers: list[Center], raw: Any) -> Center:
    """The asked center among the viewer's (404 for another organization's or an unknown one), else the first."""
    if raw in (None, ""):
        if not centers:
            raise Http404(_("Aucun centre."))
        return centers[0]
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        raise Http404 from None
    for center in centers:
        if center.pk == wanted:
            return center
    raise Http404


# --------------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------------
@dataclass
class Item:
    """A bar (day view) or a chip (week view) on a row."""

    kind: str  # confirmed | requested | blocked | contract
    label: str
    title: str
    url: str | None = None
    unblock_url: str | None = None  # a blocked slot: « Débloquer » from the planning (desk « onglet Calendrier »)
    start: int = 1  # grid columns (1-based, after the space's name column)
    end: int = 2
    lane: int = 1
    color: str = ""


@dataclass
class Cell:
    column: int
    state: str  # free | closed | past | taken
    label: str
    url: str | None = None
    hour_start: bool = False


@dataclass
class Row:
    space: Space
    items: list[Item] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)  # week view
    lanes: int = 1
    contract: str = ""  # the state the contracts give this space (day view)
    bookable: bool = True


def _url_builder(name: str) -> Callable[[int], str] | None:
    try:
        pattern = reverse(name, args=[_PK_PLACEHOLDER])
    except NoReverseMatch:
        return None
    return lambda pk: pattern.replace(str(_PK_PLACEHOLDER), str(pk))


def create_url(space: Space, start: datetime.datetime, end: datetime.datetime, tz: Any) -> str | None:
    """« Créer une réservation » prefilled: ?space=&date=YYYY-MM-DD&start=HH:MM&end=HH:MM (center time)."""
    try:
        base = reverse("bookings:create")
    except NoReverseMatch:
        return None
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    query = {"space": space.pk, "date": f"{local_start:%Y-%m-%d}", "start": f"{local_start:%H:%M}",
             "end": f"{local_end:%H:%M}"}  # fmt: skip
    return f"{base}?{urlencode(query)}"


def _is_bookable(space: Space) -> bool:
    try:
        check_bookable(space)
    except DomainError:
        return False
    return True


def _holder(booking: Booking) -> str:
    name = booking.company.name
    if booking.contact_id:
        name = f"{name} — {booking.contact}"
    return name


def _booking_item(booking: Booking, tz: Any, booking_url: Callable[[int], str] | None) -> Item:
    start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
    status = booking.get_status_display()
    hours = f"{start:%H:%M}–{end:%H:%M}"
    title = f"{hours} · {_holder(booking)} · {status}"
    if booking.title:
        title += f" · {booking.title}"
    if booking.seats > 1:
        title += " · " + _("%(seats)s places") % {"seats": booking.seats}
    return Item(
        kind=booking.status, label=booking.company.name, title=title,
        url=booking_url(booking.pk) if booking_url else None,
    )  # fmt: skip


def _block_item(block: BlockedSlot, tz: Any) -> Item:
    start, end = block.starts_at.astimezone(tz), block.ends_at.astimezone(tz)
    same_day = start.date() == end.date()
    hours = f"{start:%H:%M}–{end:%H:%M}" if same_day else f"{start:%d/%m %H:%M} – {end:%d/%m %H:%M}"
    scope = _("tout le centre") if block.space_id is None else _("bloqué")
    return Item(kind="blocked", label=block.reason, title=f"{hours} · {block.reason} ({scope})",
                unblock_url=reverse("bookings:block_unblock", args=[block.pk]))  # fmt: skip


def _assign_lanes(items: list[Item]) -> int:
    """Overlapping bars (a coworking area holds several bookings) go on separate lanes; returns the lane count."""
    ends: list[int] = []
    for item in sorted(items, key=lambda item: (item.start, item.end)):
        for index, end in enumerate(ends):
            if end <= item.start:
                item.lane, ends[index] = index + 1, item.end
                break
        else:
            ends.append(item.end)
            item.lane = len(ends)
    return max(len(ends), 1)


def _window(center: Center, day: datetime.date, hours: list[Any]) -> tuple[datetime.datetime, datetime.datetime]:
    """The day view's time window: from the first opening to the last closing (8:00-19:00 on a closed day)."""
    intervals = opening_intervals(center, day, hours)
    if intervals:
        return intervals[0][0], max(end for _start, end in intervals)
    tz = center.tz
    return (
        datetime.datetime.combine(day, DEFAULT_HOURS[0], tzinfo=tz).astimezone(datetime.UTC),
        datetime.datetime.combine(day, DEFAULT_HOURS[1], tzinfo=tz).astimezone(datetime.UTC),
    )


def day_grid(
    *, center: Center, day: datetime.date, spaces: list[Space], hours: list[Any], bookings: list[Booking],
    blocks: list[BlockedSlot], contracts: dict[int, str], now: datetime.datetime,
) -> dict[str, Any]:  # fmt: skip
    """The rows of the day view (pure: every row comes from the lists given)."""
    tz = center.tz
    start, end = _window(center, day, hours)
    count = max(1, math.ceil((end - start) / STEP))
    steps = [start + STEP * index for index in range(count)]
    intervals = opening_intervals(center, day, hours)
    booking_url = _url_builder("bookings:detail")

    def span(item_start: datetime.datetime, item_end: datetime.datetime) -> tuple[int, int] | None:
        first = max(0, math.floor((max(item_start, start) - start) / STEP))
        last = min(count, math.ceil((min(item_end, end) - start) / STEP))
        return (first + 1, last + 1) if last > first else None

    by_space: dict[int, list[Booking]] = {}
    for booking in bookings:
        by_space.setdefault(booking.space_id, []).append(booking)
    center_blocks = [block for block in blocks if block.space_id is None]
    space_blocks: dict[int, list[BlockedSlot]] = {}
    for block in blocks:
        if block.space_id is not None:
            space_blocks.setdefault(block.space_id, []).append(block)

    rows = []
    for space in spaces:
        row = Row(space=space, contract=contracts.get(space.pk, ""), bookable=_is_bookable(space))
        own = by_space.get(space.pk, [])
        own_blocks = space_blocks.get(space.pk, []) + center_blocks
        if row.contract == occupancy.OCCUPIED:
            row.items.append(Item(kind="contract", label=_("Sous contrat"), title=_("Occupé par un contrat"),
                                  start=1, end=count + 1))  # fmt: skip
        for booking in own:
            if (columns := span(booking.starts_at, booking.ends_at)) is not None:
                item = _booking_item(booking, tz, booking_url)
                item.start, item.end = columns
                row.items.append(item)
        for block in own_blocks:
            if (columns := span(block.starts_at, block.ends_at)) is not None:
                item = _block_item(block, tz)
                item.start, item.end = columns
                row.items.append(item)
        row.lanes = _assign_lanes(row.items)
        shared = is_shared(space)
        capacity = max(space.capacity or 1, 1)
        free = []
        for index, moment in enumerate(steps):
            step_end = moment + STEP
            local = moment.astimezone(tz)
            label = f"{local:%H:%M}"
            hour_start = local.minute == 0
            opened = any(a <= moment and step_end <= b for a, b in intervals)
            if not opened:
                row.cells.append(Cell(index + 1, "closed", label, hour_start=hour_start))
                free.append(False)
                continue
            taken = row.contract == occupancy.OCCUPIED or any(
                b.starts_at < step_end and b.ends_at > moment for b in own_blocks
            )
            if not taken:
                holding = [(b.starts_at, b.ends_at, b.seats if shared else capacity) for b in own]
                taken = peak_seats(holding, moment, step_end) >= (capacity if shared else 1)
            if taken:
                row.cells.append(Cell(index + 1, "taken", label, hour_start=hour_start))
                free.append(False)
            elif moment < now or not row.bookable:
                row.cells.append(Cell(index + 1, "past" if moment < now else "unbookable", label,
                                      hour_start=hour_start))  # fmt: skip
                free.append(False)
            else:
                row.cells.append(Cell(index + 1, "free", label, hour_start=hour_start))
                free.append(True)
        # a free cell proposes up to an hour of the free range it starts
        for index, cell in enumerate(row.cells):
            if cell.state != "free":
                continue
            last = index
            while last + 1 < count and free[last + 1] and steps[last + 1] + STEP - steps[index] <= DEFAULT_LINK:
                last += 1
            cell.url = create_url(space, steps[index], steps[last] + STEP, tz)
        rows.append(row)
    headers = [
        {"column": index + 1, "label": f"{moment.astimezone(tz):%H:%M}"}
        for index, moment in enumerate(steps)
        if moment.astimezone(tz).minute == 0
    ]
    return {"rows": rows, "headers": headers, "count": count}


def week_grid(
    *, center: Center, days: list[datetime.date], spaces: list[Space], bookings: list[Booking],
    blocks: list[BlockedSlot], contracts: dict[datetime.date, dict[int, str]], day_url: Callable[[datetime.date], str],
) -> dict[str, Any]:  # fmt: skip
    """The rows of the week view: per space and day, its chips (bookings, blocks, contract)."""
    tz = center.tz
    booking_url = _url_builder("bookings:detail")
    bounds = {
        day: (datetime.datetime.combine(day, datetime.time(), tzinfo=tz),
              datetime.datetime.combine(day + DAY, datetime.time(), tzinfo=tz))
        for day in days
    }  # fmt: skip
    rows = []
    for space in spaces:
        row = Row(space=space, bookable=_is_bookable(space))
        for day in days:
            day_start, day_end = bounds[day]
            chips = []
            state = contracts.get(day, {}).get(space.pk, "")
            if state == occupancy.OCCUPIED:
                chips.append(Item(kind="contract", label=_("Sous contrat"), title=_("Occupé par un contrat")))
            for block in blocks:
                if (block.space_id in (None, space.pk)) and block.starts_at < day_end and block.ends_at > day_start:
                    chips.append(_block_item(block, tz))
            for booking in bookings:
                if booking.space_id == space.pk and booking.starts_at < day_end and booking.ends_at > day_start:
                    item = _booking_item(booking, tz, booking_url)
                    item.label = f"{booking.starts_at.astimezone(tz):%H:%M} {booking.company.name}"
                    chips.append(item)
            row.days.append({"day": day, "items": chips, "url": day_url(day)})
        rows.append(row)
    headers = [{"day": day, "url": day_url(day)} for day in days]
    return {"rows": rows, "headers": headers}


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------
def _spaces(center: Center) -> list[Space]:
    spaces = list(
        Space.objects.filter(organization_id=center.organization_id, center=center, is_active=True, kind__in=ROW_KINDS)
        .select_related("booking")
        .order_by("name", "id")
    )
    order = {kind: index for index, kind in enumerate(ROW_KINDS)}
    return sorted(spaces, key=lambda space: (order[space.kind], space.name.lower(), space.pk))


def _planning_url(center: Center, day: datetime.date, view: str) -> str:
    return f"{reverse('bookings:planning')}?{urlencode({'center': center.pk, 'date': day.isoformat(), 'view': view})}"


@right_required("bookings.view_booking")
def planning(request: HttpRequest) -> HttpResponse:
    """« Planning des services »: ?center=<id>&date=YYYY-MM-DD&view=day|week."""
    centers = _centers(request)
    form = PlanningForm(request.GET or None, centers=centers)
    center = _pick_center(centers, request.GET.get("center"))
    tz = center.tz
    now = timezone.now()
    today = now.astimezone(tz).date()
    day, view = today, DAY_VIEW
    if form.is_bound:
        form.is_valid()  # a bad value shows at its field; the rest of the choices still apply
        cleaned = getattr(form, "cleaned_data", {})
        day = cleaned.get("date") or today
        view = cleaned.get("view") or DAY_VIEW
    else:
        form = PlanningForm(initial={"center": center.pk, "date": day, "view": view}, centers=centers)
    hours = list(center.opening_hours.all())
    spaces = _spaces(center)
    if view == WEEK_VIEW:
        first = day - datetime.timedelta(days=day.weekday())
        days = [first + datetime.timedelta(days=offset) for offset in range(7)]
        range_start = datetime.datetime.combine(first, datetime.time(), tzinfo=tz)
        range_end = datetime.datetime.combine(first + 7 * DAY, datetime.time(), tzinfo=tz)
        previous_day, next_day = day - 7 * DAY, day + 7 * DAY
    else:
        days = [day]
        range_start, range_end = _window(center, day, hours)
        previous_day, next_day = day - DAY, day + DAY
    ids = [space.pk for space in spaces]
    bookings = list(
        Booking.objects.filter(organization_id=center.organization_id, center=center, space_id__in=ids,
                               status__in=Booking.HOLDING, starts_at__lt=range_end, ends_at__gt=range_start)
        .select_related("company", "contact").order_by("starts_at", "pk")
    )  # fmt: skip
    blocks = list(
        BlockedSlot.objects.filter(organization_id=center.organization_id, center=center, cancelled_at=None,
                                   starts_at__lt=range_end, ends_at__gt=range_start).order_by("starts_at", "pk")
    )  # fmt: skip
    context: dict[str, Any] = {
        "title": _("Planning des services"),
        "form": form,
        "center": center,
        "centers": centers,
        "day": day,
        "view": view,
        "can_unblock": can(request, "bookings.change_blockedslot"),
        "today_url": _planning_url(center, today, view),
        "previous_url": _planning_url(center, previous_day, view),
        "next_url": _planning_url(center, next_day, view),
        "day_view_url": _planning_url(center, day, DAY_VIEW),
        "week_view_url": _planning_url(center, day, WEEK_VIEW),
        "floorplans": list(
            FloorPlan.objects.filter(organization_id=center.organization_id, center=center).order_by("floor", "name")
        ),
        "moment": {"date": day.isoformat(), "time": f"{now.astimezone(tz):%H:00}" if day == today else "10:00"},
        "legend": [
            ("confirmed", _("Réservation confirmée")),
            ("requested", _("Demande en attente")),
            ("blocked", _("Créneau bloqué")),
            ("contract", _("Occupé par un contrat")),
            ("free", _("Libre : cliquez pour réserver")),
            ("closed", _("Fermé")),
        ],
    }
    if view == WEEK_VIEW:
        contracts = {one: other_states(spaces, one) for one in days}
        context.update(week_grid(
            center=center, days=days, spaces=spaces, bookings=bookings, blocks=blocks, contracts=contracts,
            day_url=lambda one: _planning_url(center, one, DAY_VIEW),
        ))  # fmt: skip
        context["period_label"] = _("Semaine du %(first)s au %(last)s") % {
            "first": formats.date_format(days[0], "SHORT_DATE_FORMAT"),
            "last": formats.date_format(days[-1], "SHORT_DATE_FORMAT"),
        }
    else:
        context.update(day_grid(
            center=center, day=day, spaces=spaces, hours=hours, bookings=bookings, blocks=blocks,
            contracts=other_states(spaces, day), now=now,
        ))  # fmt: skip
        context["period_label"] = formats.date_format(day, "l j F Y").capitalize()
        context["is_closed"] = not opening_intervals(center, day, hours)
    return render(request, "bookings/planning/planning.html", context)


@right_required("bookings.view_booking", "catalog.view_floorplan")
def planning_floorplan(request: HttpRequest, floorplan_pk: int) -> HttpResponse:
    """« Plan 2D »: the floor plan colored by occupancy at a date and time (?date=YYYY-MM-DD&time=HH:MM)."""
    plan = get_object_or_404(
        floorplan_selectors.floor_plans_for(request.user, request.organization).select_related("center"),  # type: ignore[arg-type, attr-defined]
        pk=floorplan_pk,
    )
    center = plan.center
    tz = center.tz
    now = timezone.now().astimezone(tz)
    day, at = now.date(), now.time().replace(second=0, microsecond=0)
    form = MomentForm(request.GET if "date" in request.GET else None,
                      initial={"date": day, "time": at.strftime("%H:%M")})  # fmt: skip
    if form.is_bound and form.is_valid():
        day, at = form.cleaned_data["date"], form.cleaned_data["time"]
    moment = datetime.datetime.combine(day, at, tzinfo=tz).astimezone(datetime.UTC)
    spaces = floorplan_selectors.plan_space_rows(plan)
    states = states_at(spaces, moment, center=center)
    image = svg.render(plan, spaces, states, space_url=space_url_builder(), background_url=background_url(plan))
    counts = dict.fromkeys(occupancy.STATES, 0)
    for space in spaces:
        if space.shape:
            counts[states[space.pk]] += 1
    legend = [
        {"state": state, "label": occupancy.LABELS[state], "color": svg.COLORS[state], "count": counts[state]}
        for state in occupancy.STATES
    ]
    others = list(
        FloorPlan.objects.filter(organization_id=plan.organization_id, center=center).order_by("floor", "name")
    )
    return render(
        request,
        "bookings/planning/floorplan.html",
        {
            "title": _("Plan 2D — %(plan)s") % {"plan": plan},
            "plan": plan,
            "plans": others,
            "form": form,
            "day": day,
            "at": at,
            "svg": mark_safe(image),  # escaped by svg.render
            "legend": legend,
            "planning_url": _planning_url(center, day, DAY_VIEW),
            "breadcrumb": [(_("Planning des services"), _planning_url(center, day, DAY_VIEW))],
        },
    )


urlpatterns = [
    path("planning/", planning, name="planning"),
    path("planning/floorplans/<int:floorplan_pk>/", planning_floorplan, name="planning_floorplan"),
]
