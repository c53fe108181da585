"""Availability (frontmanager §8, desk « créneaux disponibles »): when a space can be booked.

A space can be booked in a slot when it is bookable and active, the slot lies inside one of its center's opening
intervals of that day (in the center's timezone), no active blocked slot covers it, and it is under capacity: a
space holds one booking at a time, except a coworking area, which holds bookings up to its seats.

Everything is computed in the center's timezone from wall-clock opening hours, then kept in UTC: a 9:00-10:00 slot
is 9:00-10:00 local on both sides of a daylight-saving change, and a local time that does not exist (the hour
skipped in March) is never offered.

One service answers the three questions of the UI and the API, each with a constant number of queries:
- `free_ranges` / `free_slots`: the free time of one space on one day;
- `free_spaces`: the spaces free for a slot, with filters (center, kind, seats, equipment);
- `month_view`: per day of a month, how much of a space's opening time is free.

A booking lasts less than a day (it lies inside one day's opening hours), so the bookings overlapping [a, b) are
those of the space starting in (a − 1 day, b): a short range of the `booking_holding_idx` index, whatever the
history's size.
"""

from __future__ import annotations

import datetime
import itertools
import json
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.bookings.models import BlockedSlot, Booking, SpaceBooking
from comptoir.catalog.models import Space
from comptoir.core.errors import Conflict, ValidationFailed
from comptoir.core.models import Center, OpeningHours

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
MAX_BOOKING = DAY  # a booking lies inside one day's opening hours
DEFAULTS = SpaceBooking()  # a space without its own settings is booked with the defaults


@dataclass(frozen=True)
class Slot:
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    free_seats: int = 1

    def local(self, tz: zoneinfo.ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
        return self.starts_at.astimezone(tz), self.ends_at.astimezone(tz)


def is_shared(space: Space) -> bool:
    """A coworking area holds bookings up to its seats; every other space one booking at a time."""
    return space.kind == Space.Kind.COWORKING_AREA


def settings_of(space: Space) -> SpaceBooking:
    try:
        return space.booking
    except SpaceBooking.DoesNotExist:
        return DEFAULTS


def aware(day: datetime.date, at: datetime.time, tz: zoneinfo.ZoneInfo) -> datetime.datetime | None:
    """The instant of a wall-clock time in a timezone, or None when it does not exist that day (spring forward)."""
    moment = datetime.datetime.combine(day, at, tzinfo=tz)
    back = moment.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None
    return moment.astimezone(UTC)


class Hours(NamedTuple):
    """One opening interval (an `OpeningHours` row read as a tuple: no model instance on the hot path)."""

    weekday: int
    opens_at: datetime.time
    closes_at: datetime.time


def opening_intervals(
    center: Center, day: datetime.date, hours: Sequence[OpeningHours | Hours] | None = None
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The center's opening intervals on a day, as UTC instants ([] when closed)."""
    rows = hours if hours is not None else list(center.opening_hours.all())
    return intervals_in(center.tz, day, rows)


def intervals_in(
    tz: zoneinfo.ZoneInfo, day: datetime.date, rows: Iterable[OpeningHours | Hours]
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    intervals = []
    for row in rows:
        if row.weekday != day.weekday():
            continue
        start = aware(day, row.opens_at, tz)
        end = aware(day, row.closes_at, tz)
        if start is None:  # opens inside the skipped hour: from the first instant after it
            start = datetime.datetime.combine(day, row.opens_at, tzinfo=tz).astimezone(UTC)
        if end is None:
            end = datetime.datetime.combine(day, row.closes_at, tzinfo=tz).astimezone(UTC)
        if end > start:
            intervals.append((start, end))
    return sorted(intervals)


def _holding(space_ids: Iterable[int], start: datetime.datetime, end: datetime.datetime) -> QuerySet[Booking]:
    """The bookings holding their slot that overlap [start, end): confirmed ones, and requests not expired yet (an
    overdue request no longer holds its slot, even before the job marks it expired)."""
    return Booking.objects.filter(
        space_id__in=list(space_ids), status__in=Booking.HOLDING,
        starts_at__gt=start - MAX_BOOKING, starts_at__lt=end, ends_at__gt=start,
    ).exclude(status=Booking.Status.REQUESTED, expires_at__lte=timezone.now())  # fmt: skip


def _blocks(center_ids: Iterable[int], start: datetime.datetime, end: datetime.datetime) -> QuerySet[BlockedSlot]:
    return BlockedSlot.objects.filter(
        center_id__in=list(center_ids), cancelled_at=None, starts_at__lt=end, ends_at__gt=start
    )


def peak_seats(bookings: Iterable[tuple[datetime.datetime, datetime.datetime, int]],
               start: datetime.datetime, end: datetime.datetime) -> int:  # fmt: skip
    """The most seats taken at one instant of [start, end) by the given (start, end, seats) bookings."""
    events: list[tuple[datetime.datetime, int]] = []
    for b_start, b_end, seats in bookings:
        if b_start < end and b_end > start:
            events += [(max(b_start, start), seats), (min(b_end, end), -seats)]
    peak = current = 0
    for _moment, change in sorted(events, key=lambda event: (event[0], event[1])):
        current += change
        peak = max(peak, current)
    return peak


# --------------------------------------------------------------------------------------------------
# One space, one slot: the checks of a booking
# --------------------------------------------------------------------------------------------------
def check_bookable(space: Space) -> None:
    if not space.is_active or not space.is_bookable:
        raise ValidationFailed(_("Cet espace n'est pas réservable."), code="not_bookable", field="space")
    if space.kind in (Space.Kind.MAILBOX, Space.Kind.PRIVATE_OFFICE, Space.Kind.PARKING):
        raise ValidationFailed(_("Cet espace n'est pas réservable."), code="not_bookable", field="space")


def check_times(
    space: Space, starts_at: datetime.datetime, ends_at: datetime.datetime, *, now: datetime.datetime | None = None
) -> None:
    """Refuse a slot in the past, ending before it starts, or outside the center's opening hours."""
    if starts_at is None or ends_at is None:
        raise ValidationFailed(_("Indiquez le début et la fin."), code="required", field="starts_at")
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationFailed(_("Indiquez le fuseau horaire de l'heure."), code="naive_datetime", field="starts_at")
    if ends_at <= starts_at:
        raise ValidationFailed(_("La fin doit être après le début."), code="ends_before_start", field="ends_at")
    if starts_at < (now or timezone.now()):
        raise ValidationFailed(_("Ce créneau est déjà passé."), code="in_the_past", field="starts_at")
    center = space.center
    day = starts_at.astimezone(center.tz).date()
    if not any(open_ <= starts_at and ends_at <= close for open_, close in opening_intervals(center, day)):
        raise ValidationFailed(
            _("Le créneau doit être dans les horaires d'ouverture du centre (%(hours)s).")
            % {"hours": describe_hours(center, day) or _("fermé ce jour-là")},
            code="outside_opening_hours", field="starts_at",
        )  # fmt: skip


def describe_hours(center: Center, day: datetime.date) -> str:
    tz = center.tz
    return ", ".join(
        f"{start.astimezone(tz):%H:%M}–{end.astimezone(tz):%H:%M}" for start, end in opening_intervals(center, day)
    )


def check_free(
    space: Space, starts_at: datetime.datetime, ends_at: datetime.datetime, *, seats: int = 1,
    exclude: int | None = None,
) -> None:  # fmt: skip
    """Refuse a slot a blocked slot covers or that would exceed the space's capacity (409 with the conflicting
    slot). Called under the space's lock by the booking services, so what it reads does not change before the
    insert."""
    block = _blocks([space.center_id], starts_at, ends_at).filter(Q(space=None) | Q(space=space)).first()
    if block is not None:
        raise Conflict(
            _("Ce créneau est bloqué : %(reason)s.") % {"reason": block.reason}, code="blocked", field="starts_at",
            details={"conflict": {"starts_at": block.starts_at.isoformat(), "ends_at": block.ends_at.isoformat(),
                                  "kind": "blocked_slot"}},
        )  # fmt: skip
    holding = _holding([space.pk], starts_at, ends_at)
    if exclude:
        holding = holding.exclude(pk=exclude)
    if is_shared(space):
        if seats > space.capacity:
            raise ValidationFailed(_("Cet espace compte %(count)s places.") % {"count": space.capacity},
                                   code="over_capacity", field="seats")  # fmt: skip
        rows = list(holding.values_list("starts_at", "ends_at", "seats"))
        if peak_seats(rows, starts_at, ends_at) + seats > space.capacity:
            raise Conflict(_("Plus assez de places libres sur ce créneau."), code="slot_taken", field="starts_at",
                           details={"conflict": {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                                                 "kind": "capacity"}})  # fmt: skip
        return
    taken = holding.order_by("starts_at").first()
    if taken is not None:
        raise Conflict(
            _("Ce créneau est déjà réservé (%(start)s–%(end)s).")
            % {"start": f"{taken.starts_at.astimezone(space.center.tz):%H:%M}",
               "end": f"{taken.ends_at.astimezone(space.center.tz):%H:%M}"},
            code="slot_taken", field="starts_at",
            details={"conflict": {"starts_at": taken.starts_at.isoformat(), "ends_at": taken.ends_at.isoformat(),
                                  "kind": "booking"}},
        )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# One space, one day
# --------------------------------------------------------------------------------------------------
def _subtract(
    intervals: list[tuple[datetime.datetime, datetime.datetime]], cut: tuple[datetime.datetime, datetime.datetime]
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    result = []
    for start, end in intervals:
        if cut[1] <= start or cut[0] >= end:
            result.append((start, end))
            continue
        if cut[0] > start:
            result.append((start, cut[0]))
        if cut[1] < end:
            result.append((cut[1], end))
    return result


def free_ranges(
    space: Space, day: datetime.date, *, seats: int = 1, now: datetime.datetime | None = None
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The maximal free intervals of a space on a day (UTC instants), future only: three queries."""
    if not space.is_active or not space.is_bookable:
        return []
    center = space.center
    intervals = opening_intervals(center, day)
    if not intervals:
        return []
    start, end = intervals[0][0], intervals[-1][1]
    now = now or timezone.now()
    free = _subtract(intervals, (start - DAY, now)) if now > start else intervals
    for block in _blocks([center.pk], start, end).filter(Q(space=None) | Q(space=space)):
        free = _subtract(free, (block.starts_at, block.ends_at))
    rows = list(_holding([space.pk], start, end).values_list("starts_at", "ends_at", "seats"))
    if not is_shared(space):
        for b_start, b_end, _seats in rows:
            free = _subtract(free, (b_start, b_end))
        return free
    # A coworking area: cut the moments where fewer than `seats` seats are left.
    moments = sorted({moment for row in rows for moment in row[:2]} | {s for r in free for s in r})
    for left, right in itertools.pairwise(moments):
        if peak_seats(rows, left, right) + seats > space.capacity:
            free = _subtract(free, (left, right))
    return free


def free_slots(
    space: Space, day: datetime.date, *, minutes: int | None = None, seats: int = 1,
    now: datetime.datetime | None = None,
) -> list[Slot]:  # fmt: skip
    """The slots of `minutes` (default: the space's step) that can be booked on a day, starting every step of
    wall-clock time in the center's timezone."""
    options = settings_of(space)
    step = datetime.timedelta(minutes=options.slot_minutes)
    length = datetime.timedelta(minutes=minutes or options.slot_minutes)
    tz = space.center.tz
    slots = []
    for free_start, free_end in free_ranges(space, day, seats=seats, now=now):
        local = free_start.astimezone(tz)
        # Align the first start on the step, counted from local midnight.
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        offset = (local.replace(tzinfo=None) - midnight) % step
        cursor = local.replace(tzinfo=None) + ((step - offset) if offset else datetime.timedelta(0))
        while True:
            start = aware(cursor.date(), cursor.time(), tz)
            stop = aware((cursor + length).date(), (cursor + length).time(), tz)
            if start is None or stop is None:
                cursor += step
                if cursor.replace(tzinfo=None) >= free_end.astimezone(tz).replace(tzinfo=None):
                    break
                continue
            if stop > free_end:
                break
            slots.append(Slot(start, stop))
            cursor += step
    return slots


# --------------------------------------------------------------------------------------------------
# Many spaces, one slot
# --------------------------------------------------------------------------------------------------
def bookable_spaces(organization_id: int) -> QuerySet[Space]:
    return Space.objects.filter(
        organization_id=organization_id, is_active=True, is_bookable=True,
        kind__in=[Space.Kind.MEETING_ROOM, Space.Kind.DROP_IN_OFFICE, Space.Kind.COWORKING_AREA,
                  Space.Kind.SHARED_OFFICE],
    )  # fmt: skip


KINDS = (Space.Kind.MEETING_ROOM, Space.Kind.DROP_IN_OFFICE, Space.Kind.COWORKING_AREA, Space.Kind.SHARED_OFFICE)

# The spaces holding one booking at a time that no holding booking overlaps: the query a DBA would write, in SQL
# so that the hot path pays no query-building cost (`comptoir bench bookings.free_spaces`). The booking range
# (start − 1 day, end) walks the partial index booking_holding_idx (space_id, starts_at).
FREE_SPACES_SQL = """
SELECT s.id, s.center_id, s.kind, s.capacity, s.amenities, s.name
FROM catalog_space s
WHERE s.organization_id = %s AND s.is_active AND s.is_bookable AND s.kind IN ({kinds}) {filters}
AND NOT EXISTS (
    SELECT 1 FROM bookings_booking b
    WHERE b.space_id = s.id AND b.status IN ('requested', 'confirmed') AND b.exclusive
    AND b.starts_at > %s AND b.starts_at < %s AND b.ends_at > %s
    AND (b.status = 'confirmed' OR b.expires_at > %s)
)
AND NOT EXISTS (
    SELECT 1 FROM bookings_blockedslot k
    WHERE k.center_id = s.center_id AND k.cancelled_at IS NULL AND (k.space_id IS NULL OR k.space_id = s.id)
    AND k.ends_at > %s AND k.starts_at < %s
)
"""


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _at(moment: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def free_space_ids(
    organization_id: int, starts_at: datetime.datetime, ends_at: datetime.datetime, *, center: int | None = None,
    kind: str | None = None, capacity: int | None = None, amenities: Sequence[str] = (), seats: int = 1,
) -> list[int]:  # fmt: skip
    """The ids of the bookable spaces free for [starts_at, ends_at), with the filters, in (center, name) order.

    At most three queries whatever the number of spaces and bookings: the spaces with one NOT EXISTS over the
    holding index for those holding one booking at a time and one over the active blocks, the opening hours of
    their centers, and the overlapping bookings of the coworking areas left (their peak seats)."""
    kinds = [kind] if kind else list(KINDS)
    filters, params = "", [organization_id, *kinds]
    if center:
        filters += " AND s.center_id = %s"
        params.append(int(center))
    if capacity:
        filters += " AND s.capacity >= %s"
        params.append(int(capacity))
    params += [
        _at(starts_at - MAX_BOOKING),
        _at(ends_at),
        _at(starts_at),
        _at(timezone.now()),
        _at(starts_at),
        _at(ends_at),
    ]
    sql = FREE_SPACES_SQL.format(kinds=", ".join(["%s"] * len(kinds)), filters=filters)
    rows = _rows(sql, params)
    if amenities:
        wanted = set(amenities)
        rows = [row for row in rows if wanted <= set(_json(row[4]))]
    if not rows:
        return []
    center_ids = sorted({row[1] for row in rows})
    open_centers, center_names = _open_centers(organization_id, center_ids, starts_at, ends_at)
    rows = [row for row in rows if row[1] in open_centers]
    rows.sort(key=lambda row: (center_names[row[1]], row[5], row[0]))  # by center, then space name
    shared = [row[0] for row in rows if row[2] == Space.Kind.COWORKING_AREA]
    used: dict[int, list[tuple[datetime.datetime, datetime.datetime, int]]] = defaultdict(list)
    if shared:
        marks = ", ".join(["%s"] * len(shared))
        convert = connection.ops.convert_datetimefield_value if connection.vendor == "sqlite" else None
        for space_id, b_start, b_end, b_seats in _rows(
            f"SELECT space_id, starts_at, ends_at, seats FROM bookings_booking WHERE space_id IN ({marks}) "
            "AND status IN ('requested', 'confirmed') AND starts_at > %s AND starts_at < %s AND ends_at > %s "
            "AND (status = 'confirmed' OR expires_at > %s)",
            [*shared, _at(starts_at - MAX_BOOKING), _at(ends_at), _at(starts_at), _at(timezone.now())],
        ):
            if convert is not None:  # SQLite answers text
                b_start, b_end = (convert(value, None, connection) for value in (b_start, b_end))
            used[space_id].append((b_start, b_end, b_seats))
    return [
        row[0] for row in rows
        if row[2] != Space.Kind.COWORKING_AREA or peak_seats(used[row[0]], starts_at, ends_at) + seats <= row[3]
    ]  # fmt: skip


def _json(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(item) for item in value] if isinstance(value, list) else []


def _open_centers(
    organization_id: int, center_ids: Sequence[int], starts_at: datetime.datetime, ends_at: datetime.datetime
) -> tuple[set[int], dict[int, str]]:
    """The centers among `center_ids` open for the whole slot, and their names (one query over their opening
    hours)."""
    by_center: dict[int, tuple[str, list[Hours]]] = {}
    names: dict[int, str] = {}
    marks = ", ".join(["%s"] * len(center_ids))
    for center_id, name, tz, weekday, opens_at, closes_at in _rows(
        "SELECT h.center_id, c.name, c.timezone, h.weekday, h.opens_at, h.closes_at FROM core_openinghours h "
        f"JOIN core_center c ON c.id = h.center_id WHERE h.center_id IN ({marks})",
        list(center_ids),
    ):
        names[center_id] = name
        if isinstance(opens_at, str):  # SQLite may answer text
            opens_at, closes_at = datetime.time.fromisoformat(opens_at), datetime.time.fromisoformat(closes_at)
        by_center.setdefault(center_id, (tz, []))[1].append(Hours(weekday, opens_at, closes_at))
    result = set()
    zones: dict[str, zoneinfo.ZoneInfo] = {}
    for center_id, (tz_name, hours) in by_center.items():
        tz = zones.setdefault(tz_name, zoneinfo.ZoneInfo(tz_name))
        day = starts_at.astimezone(tz).date()
        if any(a <= starts_at and ends_at <= b for a, b in intervals_in(tz, day, hours)):
            result.add(center_id)
    return result, names


def free_spaces(
    organization_id: int, starts_at: datetime.datetime, ends_at: datetime.datetime, **filters: Any
) -> list[Space]:
    """The free spaces themselves (see `free_space_ids`), with their center and booking settings: one more query."""
    ids = free_space_ids(organization_id, starts_at, ends_at, **filters)
    found = Space.objects.select_related("center", "booking").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


# --------------------------------------------------------------------------------------------------
# One space, one month
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayState:
    day: datetime.date
    open_minutes: int
    free_minutes: int

    @property
    def state(self) -> str:
        if self.open_minutes == 0:
            return "closed"
        if self.free_minutes == 0:
            return "full"
        return "free" if self.free_minutes == self.open_minutes else "partial"


def month_view(space: Space, year: int, month: int, *, now: datetime.datetime | None = None) -> list[DayState]:
    """Per day of the month: the minutes the space is open and free (a past moment is not free). Three queries."""
    center = space.center
    first = datetime.date(year, month, 1)
    last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - DAY
    hours = list(center.opening_hours.all())
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    windows = {day: opening_intervals(center, day, hours) for day in days}
    start = min((w[0][0] for w in windows.values() if w), default=None)
    end = max((w[-1][1] for w in windows.values() if w), default=None)
    if start is None or end is None:
        return [DayState(day, 0, 0) for day in days]
    blocks = list(_blocks([center.pk], start, end).filter(Q(space=None) | Q(space=space))
                  .values_list("starts_at", "ends_at"))  # fmt: skip
    rows = list(_holding([space.pk], start, end).values_list("starts_at", "ends_at", "seats"))
    now = now or timezone.now()
    shared = is_shared(space)
    result = []
    for day in days:
        intervals = windows[day]
        open_minutes = sum(int((b - a).total_seconds() // 60) for a, b in intervals)
        free = intervals if (space.is_active and space.is_bookable) else []
        free = _subtract(free, (intervals[0][0] - DAY, now)) if free and now > intervals[0][0] else free
        for cut in blocks:
            free = _subtract(free, cut)
        if shared:
            day_rows = [row for row in rows if intervals and row[0] < intervals[-1][1] and row[1] > intervals[0][0]]
            moments = sorted({m for row in day_rows for m in row[:2]} | {s for r in free for s in r})
            for left, right in itertools.pairwise(moments):
                if peak_seats(day_rows, left, right) + 1 > space.capacity:
                    free = _subtract(free, (left, right))
        else:
            for b_start, b_end, _seats in rows:
                free = _subtract(free, (b_start, b_end))
        result.append(DayState(day, open_minutes, sum(int((b - a).total_seconds() // 60) for a, b in free)))
    return result
