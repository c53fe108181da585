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

# `free_space_ids` is one statement, the query a DBA would write, in SQL so that the hot path pays no query-building
# cost (`comptoir bench bookings.free_spaces`). The holding bookings overlapping [start, end) are the organization's
# bookings requested or confirmed that start in (start − 1 day, end) (a booking lasts less than a day) and end after
# the start, a request holding its slot until it expires.
HOLDING_SQL = (
    "b.organization_id = %(organization)s AND b.status IN ('requested', 'confirmed') AND b.starts_at > %(day_before)s "
    "AND b.starts_at < %(end)s AND b.ends_at > %(start)s "
    "AND (b.status = 'confirmed' OR b.expires_at IS NULL OR b.expires_at > %(now)s)"
)

# `busy`: per space, whether an exclusive booking overlaps the slot and the sum of the overlapping bookings' seats —
# one range of the index booking_org_start_idx (organization, starts_at) for all the spaces, instead of one lookup
# per space. A space is free when no exclusive booking overlaps it (a coworking area is booked exclusively as a
# whole), no active block covers it or its whole center, and, for a coworking area, when `seats` seats are left at
# every instant of the slot: one booking too wide rules an area out, the sum of the overlapping seats clears most
# others, the rest come back marked (`recount`: their capacity) and their peak is counted in Python (`peak_seats`).
# Centers sort by their names' code points (Python's order: `COLLATE "C"` on PostgreSQL, SQLite's BINARY).
BUSY_SQL = f"""busy AS (
    SELECT b.space_id, MAX(CASE WHEN b.exclusive THEN 1 ELSE 0 END) AS exclusive, SUM(b.seats) AS seats,
           MAX(b.seats) AS widest
    FROM bookings_booking b{{index}} WHERE {HOLDING_SQL} GROUP BY b.space_id
)"""
FREE_SPACES_SQL = """WITH {with_}
SELECT s.id, CASE WHEN s.kind = %(shared)s AND s.capacity - %(seats)s < u.seats THEN s.capacity END AS recount{columns}
FROM catalog_space s JOIN {centers} c ON c.id = s.center_id LEFT JOIN busy u ON u.space_id = s.id
WHERE s.organization_id = %(organization)s AND s.is_active AND s.is_bookable AND s.kind IN ({kinds}){filters}
AND COALESCE(u.exclusive, 0) = 0 AND (s.kind <> %(shared)s OR s.capacity - %(seats)s >= COALESCE(u.widest, 0))
AND NOT EXISTS (
    SELECT 1 FROM bookings_blockedslot k
    WHERE k.center_id = s.center_id AND k.cancelled_at IS NULL AND (k.space_id IS NULL OR k.space_id = s.id)
    AND k.ends_at > %(start)s AND k.starts_at < %(end)s
)
ORDER BY c.name{collate}, s.name{collate}, s.id"""

# PostgreSQL: the centers open for the whole slot, from their opening hours on the slot's local day. The timezone
# arithmetic runs once per timezone (z): the slot's local start, its day and weekday, and whether the UTC offset
# stays the same from 26 hours before the slot to 26 hours after (then the day has no DST change and wall-clock
# comparisons are exact). On a DST day an opening time is converted as `intervals_in` does (Python's fold=0): a
# time the clocks skip or repeat takes the offset in force before the change, that is the offset of the day
# before when the time read with it exists (PostgreSQL alone takes the later offset for a repeated time).
_BEFORE = "(((($) - interval '24 hours') AT TIME ZONE z.tz) + interval '24 hours')"
_UTC = f"(CASE WHEN ({_BEFORE} AT TIME ZONE z.tz) = ($) THEN {_BEFORE} ELSE (($) AT TIME ZONE z.tz) END)"
_OPENS, _CLOSES = _UTC.replace("$", "z.day + h.opens_at"), _UTC.replace("$", "z.day + h.closes_at")
OPEN_CENTERS_PG = f"""z AS MATERIALIZED (
    SELECT t.tz, t.ls, t.ls::date AS day, EXTRACT(ISODOW FROM t.ls)::int - 1 AS weekday,
           t.ls - %(start_utc)s::timestamp AS off,
           (%(before)s::timestamptz AT TIME ZONE t.tz) - %(before_utc)s::timestamp = t.ls - %(start_utc)s::timestamp
           AND (%(after)s::timestamptz AT TIME ZONE t.tz) - %(after_utc)s::timestamp
               = t.ls - %(start_utc)s::timestamp AS steady
    FROM (
        SELECT d.tz, %(start)s::timestamptz AT TIME ZONE d.tz AS ls
        FROM (SELECT DISTINCT timezone AS tz FROM core_center WHERE organization_id = %(organization)s) d
    ) t
), open_centers AS MATERIALIZED (
    SELECT c.id, c.name FROM core_center c JOIN z ON z.tz = c.timezone
    WHERE c.organization_id = %(organization)s AND EXISTS (
        SELECT 1 FROM core_openinghours h
        WHERE h.center_id = c.id AND h.weekday = z.weekday AND CASE WHEN z.steady
            THEN z.day + h.opens_at <= z.ls AND %(end_utc)s::timestamp + z.off <= z.day + h.closes_at
            ELSE {_OPENS} <= %(start)s::timestamptz AND %(end)s::timestamptz <= {_CLOSES} AND {_CLOSES} > {_OPENS}
        END
    )
), """

# SQLite has no timezones: the opening hours are checked by `_sqlite_open` (registered on the connection), once per
# center of the organization, given the center's opening intervals as text.
OPEN_CENTERS_SQLITE = (
    " AND s.center_id IN (SELECT o.id FROM core_center o WHERE o.organization_id = %(organization)s "
    "AND comptoir_open(o.timezone, (SELECT group_concat(h.weekday || ' ' || h.opens_at || ' ' || h.closes_at, ',') "
    "FROM core_openinghours h WHERE h.center_id = o.id), %(start)s, %(end)s))"
)

_STATEMENTS: dict[tuple[Any, ...], str] = {}
_OPEN_AT: dict[tuple[Any, ...], int] = {}


def _statement(vendor: str, kinds: int, center: bool, capacity: bool, amenities: bool) -> str:
    key = (vendor, kinds, center, capacity, amenities)
    sql = _STATEMENTS.get(key)
    if sql is None:
        postgresql = vendor == "postgresql"
        sql = _STATEMENTS[key] = FREE_SPACES_SQL.format(
            # SQLite, without statistics, would walk the partial index per space instead
            with_=(OPEN_CENTERS_PG if postgresql else "")
            + BUSY_SQL.replace("{index}", "" if postgresql else " INDEXED BY booking_org_start_idx"),
            columns=", s.amenities" if amenities else "",
            centers="open_centers" if postgresql else "core_center",
            kinds=", ".join(f"%(kind{index})s" for index in range(kinds)),
            filters=(" AND s.center_id = %(center)s" if center else "")
            + (" AND s.capacity >= %(capacity)s" if capacity else "")
            + ("" if postgresql else OPEN_CENTERS_SQLITE),
            collate=' COLLATE "C"' if postgresql else "",
        )
    return sql


def _sqlite_open(tz_name: str, hours: str | None, starts_at: str, ends_at: str) -> int:
    """1 when [starts_at, ends_at) (naive UTC, as SQLite stores it) lies inside one of the opening intervals
    ("weekday opens closes", comma-separated) of a center in `tz_name` on the slot's local day, else 0: as
    `intervals_in`, remembered (the centers of an organization share few timezones and hours)."""
    key = (tz_name, hours, starts_at, ends_at)
    found = _OPEN_AT.get(key)
    if found is None:
        if len(_OPEN_AT) > 4096:
            _OPEN_AT.clear()
        start = datetime.datetime.fromisoformat(starts_at).replace(tzinfo=UTC)
        end = datetime.datetime.fromisoformat(ends_at).replace(tzinfo=UTC)
        tz = zoneinfo.ZoneInfo(tz_name)
        rows = []
        for interval in (hours or "").split(","):
            if interval:
                weekday, opens_at, closes_at = interval.split(" ")
                rows.append(Hours(int(weekday), datetime.time.fromisoformat(opens_at),
                                  datetime.time.fromisoformat(closes_at)))  # fmt: skip
        day = start.astimezone(tz).date()
        found = _OPEN_AT[key] = int(any(a <= start and end <= b for a, b in intervals_in(tz, day, rows)))
    return found


def _sqlite_functions() -> None:
    """Register `comptoir_open` once on the current SQLite connection (again after a reconnection)."""
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "comptoir_functions", None) is not raw:
        raw.create_function("comptoir_open", 4, _sqlite_open, deterministic=True)
        connection.comptoir_functions = raw


def _at(moment: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def free_space_ids(
    organization_id: int, starts_at: datetime.datetime, ends_at: datetime.datetime, *, center: int | None = None,
    kind: str | None = None, capacity: int | None = None, amenities: Sequence[str] = (), seats: int = 1,
) -> list[int]:  # fmt: skip
    """The ids of the bookable spaces free for [starts_at, ends_at), with the filters, in (center name, space name,
    id) order: one query whatever the number of spaces and bookings (see FREE_SPACES_SQL), two when a coworking
    area's overlapping bookings sum to more seats than it has left (their peak is then counted)."""
    kinds = [kind] if kind else list(KINDS)
    postgresql = connection.vendor == "postgresql"
    now = timezone.now()
    params: dict[str, Any] = {
        "organization": organization_id, "center": int(center) if center else None,
        "capacity": int(capacity) if capacity else None, "seats": int(seats), "shared": Space.Kind.COWORKING_AREA,
        "day_before": _at(starts_at - MAX_BOOKING), "start": _at(starts_at), "end": _at(ends_at),
        "now": _at(now),
    }  # fmt: skip
    params.update((f"kind{index}", value) for index, value in enumerate(kinds))
    if postgresql:
        start_utc = starts_at.astimezone(UTC).replace(tzinfo=None)
        margin = datetime.timedelta(hours=26)
        params.update(start_utc=start_utc, end_utc=ends_at.astimezone(UTC).replace(tzinfo=None),
                      before=starts_at - margin, before_utc=start_utc - margin, after=starts_at + margin,
                      after_utc=start_utc + margin)  # fmt: skip
    else:
        _sqlite_functions()
    sql = _statement(connection.vendor, len(kinds), bool(center), bool(capacity), bool(amenities))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if amenities:
        wanted = set(amenities)
        rows = [row for row in rows if wanted <= set(_json(row[2]))]
    if not any(row[1] for row in rows):
        return [row[0] for row in rows]
    full = _full_areas({row[0]: row[1] for row in rows if row[1]}, organization_id, starts_at, ends_at, seats, now)
    return [row[0] for row in rows if row[0] not in full]


def _full_areas(
    capacity: dict[int, int], organization_id: int, starts_at: datetime.datetime, ends_at: datetime.datetime,
    seats: int, now: datetime.datetime,
) -> set[int]:  # fmt: skip
    """Among coworking areas (id: capacity) whose overlapping bookings sum to more than the seats left, those short
    of seats at some instant of the slot (one more query: their overlapping bookings)."""
    used: dict[int, list[tuple[datetime.datetime, datetime.datetime, int]]] = defaultdict(list)
    for space_id, b_start, b_end, b_seats in (
        Booking.objects.filter(
            space_id__in=list(capacity), organization_id=organization_id, status__in=Booking.HOLDING,
            starts_at__gt=starts_at - MAX_BOOKING, starts_at__lt=ends_at, ends_at__gt=starts_at,
        )
        .filter(Q(status=Booking.Status.CONFIRMED) | Q(expires_at=None) | Q(expires_at__gt=now))
        .values_list("space_id", "starts_at", "ends_at", "seats")
    ):  # fmt: skip
        used[space_id].append((b_start, b_end, b_seats))
    return {pk for pk in capacity if peak_seats(used[pk], starts_at, ends_at) + seats > capacity[pk]}


def _json(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(item) for item in value] if isinstance(value, list) else []


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
