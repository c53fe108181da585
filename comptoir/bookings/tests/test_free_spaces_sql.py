"""`free_space_ids` in one statement (issue 7): the same answer as the rules written in Python, on both databases.

The reference below applies the availability rules one space at a time with the ORM and the Python helpers
(`opening_intervals`, `peak_seats`); the statement must give the same ids in the same order: the filters, the
opening hours in each center's timezone (DST days included), blocks, exclusive bookings, the seats of coworking
areas (the sum of the overlapping bookings' seats first, the exact peak when the sum is over), requests holding
their slot until they expire.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from comptoir.bookings.models import BlockedSlot, Booking
from comptoir.bookings.services import availability
from comptoir.bookings.tests.factories import BlockedSlotFactory, BookingFactory, CoworkingFactory, RoomFactory, at
from comptoir.bookings.tests.factories import next_weekday as weekday_after
from comptoir.catalog.models import Space
from comptoir.catalog.tests.factories import SpaceFactory
from comptoir.core.models import OpeningHours
from comptoir.core.tests.factories import CenterFactory
from comptoir.crm.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
H = datetime.timedelta(hours=1)


def reference(organization_id, start, end, *, center=None, kind=None, capacity=None, amenities=(), seats=1):
    """The free spaces by the rules, one space at a time."""
    spaces = (
        availability.bookable_spaces(organization_id).select_related("center").prefetch_related("center__opening_hours")
    )
    if center:
        spaces = spaces.filter(center_id=center)
    if kind:
        spaces = spaces.filter(kind=kind)
    if capacity:
        spaces = spaces.filter(capacity__gte=capacity)
    now = timezone.now()
    blocks = list(BlockedSlot.objects.filter(organization_id=organization_id, cancelled_at=None, starts_at__lt=end,
                                             ends_at__gt=start))  # fmt: skip
    holding = [
        booking for booking in Booking.objects.filter(organization_id=organization_id, status__in=Booking.HOLDING)
        if booking.starts_at < end and booking.ends_at > start
        and (booking.status == Booking.Status.CONFIRMED or booking.expires_at > now)
    ]  # fmt: skip
    free = []
    for space in spaces:
        day = start.astimezone(space.center.tz).date()
        if not any(a <= start and end <= b for a, b in availability.opening_intervals(space.center, day)):
            continue
        if not set(amenities) <= {str(item) for item in space.amenities or []}:
            continue
        if any(block.center_id == space.center_id and block.space_id in (None, space.pk) for block in blocks):
            continue
        mine = [booking for booking in holding if booking.space_id == space.pk]
        if any(booking.exclusive for booking in mine):
            continue
        taken = [(booking.starts_at, booking.ends_at, booking.seats) for booking in mine]
        if availability.is_shared(space) and availability.peak_seats(taken, start, end) + seats > space.capacity:
            continue
        free.append(space)
    free.sort(key=lambda space: (space.center.name, space.name, space.pk))
    return [space.pk for space in free]


def book(space, start, end, **extra):
    company = CompanyFactory(organization=space.organization)
    extra.setdefault("exclusive", not availability.is_shared(space))
    return BookingFactory(space=space, company=company, starts_at=start, ends_at=end, **extra)


# --------------------------------------------------------------------------------------------------
# Bookings, blocks, seats, filters, order
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def monday():
    return weekday_after(0)


@pytest.fixture
def world(org, center, monday):
    """Centers whose names sort differently by code point and by locale, spaces of every kind and state, and a
    Monday of bookings and blocks."""
    centers = [center] + [CenterFactory(organization=org, name=name) for name in ("Zoo", "Zèbre", "abc", "Éclat")]
    spaces = []
    for index, place in enumerate(centers):
        spaces += [
            RoomFactory(organization=org, center=place, name=f"Salle B{index}", capacity=4, amenities=["écran"]),
            RoomFactory(organization=org, center=place, name=f"salle a{index}", capacity=10,
                        amenities=["écran", "visio"]),
            CoworkingFactory(organization=org, center=place, name=f"Open space {index}", capacity=3),
        ]  # fmt: skip
    room, big, area = spaces[0], spaces[1], spaces[2]
    SpaceFactory(organization=org, center=center, name="Bureau privé", is_bookable=True)  # never free: its kind
    RoomFactory(organization=org, center=center, name="Salle fermée", is_active=False)
    RoomFactory(organization=org, center=center, name="Salle interne", is_bookable=False)
    RoomFactory(organization=org, center=center, kind=Space.Kind.DROP_IN_OFFICE, name="Bureau passage")
    now = timezone.now()
    book(room, at(monday, 9), at(monday, 10))
    book(room, at(monday, 11), at(monday, 12), status=Booking.Status.CANCELLED)
    book(room, at(monday, 13), at(monday, 14), status=Booking.Status.REQUESTED, expires_at=now - H)  # overdue
    book(room, at(monday, 15), at(monday, 16), status=Booking.Status.REQUESTED, expires_at=now + H)  # pending
    book(big, at(monday, 0) - 3 * H, at(monday, 10))  # from the evening before
    # The area (3 seats): 2 + 2 back to back (the sum says 4, the peak 2), 1 more from 10:30 to 11:30.
    book(area, at(monday, 9), at(monday, 10), seats=2)
    book(area, at(monday, 10), at(monday, 11), seats=2)
    book(area, at(monday, 10, 30), at(monday, 11, 30), seats=1)
    book(area, at(monday, 12), at(monday, 13), seats=1, exclusive=True)  # the whole area
    book(area, at(monday, 14), at(monday, 15), seats=3, status=Booking.Status.REQUESTED, expires_at=now - H)
    book(spaces[5], at(monday, 9), at(monday, 18), seats=3)  # another center's area, full
    book(spaces[8], at(monday, 16), at(monday, 17), seats=1)
    book(spaces[8], at(monday, 16, 30), at(monday, 17, 30), seats=2)
    BlockedSlotFactory(space=spaces[3], starts_at=at(monday, 8), ends_at=at(monday, 9))
    BlockedSlotFactory(
        space=None, center=centers[2], organization=org, starts_at=at(monday, 17), ends_at=at(monday, 18)
    )
    BlockedSlotFactory(space=spaces[4], starts_at=at(monday, 10), ends_at=at(monday, 12), cancelled_at=now)
    return {"centers": centers, "spaces": spaces}


def test_one_query_in_code_point_order(org, world, monday, django_assert_num_queries):
    with django_assert_num_queries(1):  # the full area of "Zoo" (one booking of 3 seats) is ruled out in SQL
        ids = availability.free_space_ids(org.pk, at(monday, 11, 30), at(monday, 12, 30))
    assert ids == reference(org.pk, at(monday, 11, 30), at(monday, 12, 30))
    names = list(Space.objects.filter(pk__in=ids).values_list("center__name", "name", "id"))
    assert [row[2] for row in sorted(names)] == ids
    centers = list(dict.fromkeys(row[0] for row in sorted(names)))
    assert centers == ["Paris Opéra", "Zoo", "Zèbre", "abc", "Éclat"]  # code points, not the locale's order


def test_a_coworking_area_the_sum_overcounts_is_free_by_its_peak(org, world, monday, django_assert_num_queries):
    area = world["spaces"][2]
    # 9:00-11:00: 2 seats then 2 seats, back to back: 4 by the sum, 2 at the peak, so 1 seat is left.
    with django_assert_num_queries(2):  # the sum is over: the area's bookings are read to count the peak
        assert area.pk in availability.free_space_ids(org.pk, at(monday, 9), at(monday, 10, 30))
    assert area.pk not in availability.free_space_ids(org.pk, at(monday, 9), at(monday, 10, 30), seats=2)
    # 10:30-11:00: 2 + 1 seats at once, the area is full.
    assert area.pk not in availability.free_space_ids(org.pk, at(monday, 9, 30), at(monday, 11))
    # an exclusive booking takes the whole area; an overdue request holds nothing
    assert area.pk not in availability.free_space_ids(org.pk, at(monday, 12, 30), at(monday, 13))
    assert area.pk in availability.free_space_ids(org.pk, at(monday, 14), at(monday, 15), seats=3)


@pytest.mark.parametrize("seats", [1, 2, 3, 4])
def test_every_slot_of_the_day_matches_the_rules(org, world, monday, seats):
    for minutes in (30, 60, 150):
        start = at(monday, 7)
        while start < at(monday, 20):
            end = start + datetime.timedelta(minutes=minutes)
            assert availability.free_space_ids(org.pk, start, end, seats=seats) == reference(
                org.pk, start, end, seats=seats
            ), (start, end)
            start += datetime.timedelta(minutes=30)


@pytest.mark.parametrize(
    "filters",
    [{"kind": Space.Kind.COWORKING_AREA}, {"kind": Space.Kind.DROP_IN_OFFICE}, {"capacity": 5},
     {"amenities": ["visio"]}, {"amenities": ["écran", "visio"]}, {"amenities": ["absent"]}, {"center": "center"},
     {"center": "center", "kind": Space.Kind.MEETING_ROOM, "capacity": 4, "amenities": ["écran"]}],
)  # fmt: skip
def test_the_filters_match_the_rules(org, world, monday, filters):
    if filters.get("center") == "center":
        filters = {**filters, "center": world["centers"][2].pk}
    for start in (at(monday, 8), at(monday, 9, 30), at(monday, 16, 30), at(monday, 17), at(monday, 19)):
        end = start + H
        assert availability.free_space_ids(org.pk, start, end, **filters) == reference(org.pk, start, end, **filters)


def test_another_organization_and_a_closed_day(org, other_org, world, monday):
    assert availability.free_space_ids(other_org.pk, at(monday, 8), at(monday, 9)) == []
    sunday = monday - datetime.timedelta(days=1)
    assert availability.free_space_ids(org.pk, at(sunday, 10), at(sunday, 11)) == []


# --------------------------------------------------------------------------------------------------
# Opening hours in each center's timezone, on the days the clocks change
# --------------------------------------------------------------------------------------------------
ZONES = ["Europe/Paris", "America/Santiago", "Australia/Lord_Howe", "America/New_York", "Asia/Tokyo"]
# Intervals that start or end inside the skipped or repeated hour of these zones (02:00 in Paris and New York,
# midnight in Santiago, a half-hour at 02:00 in Lord Howe).
HOURS = [(0, 0, 0, 30), (0, 30, 1, 45), (1, 45, 2, 15), (2, 15, 2, 45), (2, 45, 3, 30), (3, 30, 6, 0),
         (8, 0, 12, 0), (22, 30, 23, 15), (23, 15, 23, 59)]  # fmt: skip


def changes(tz: zoneinfo.ZoneInfo, since: datetime.datetime, days: int = 400) -> list[datetime.datetime]:
    """The instants (UTC, to the hour) at which the zone's UTC offset changes."""
    found, moment = [], since
    offset = moment.astimezone(tz).utcoffset()
    for _hour in range(days * 24):
        moment += H
        current = moment.astimezone(tz).utcoffset()
        if current != offset:
            found.append(moment)
            offset = current
    return found


@pytest.fixture
def zoned(org):
    rooms = {}
    for name in ZONES:
        place = CenterFactory(organization=org, name=f"Centre {name}", timezone=name, hours=False)
        OpeningHours.objects.bulk_create(
            OpeningHours(center=place, weekday=day, opens_at=datetime.time(a, b), closes_at=datetime.time(c, d))
            for day in range(7) for a, b, c, d in HOURS
        )  # fmt: skip
        rooms[name] = RoomFactory(organization=org, center=place, name="Salle")
    return rooms


def open_rooms(rooms, hours, start, end):
    free = []
    for room in sorted(rooms.values(), key=lambda room: room.center.name):
        tz = room.center.tz
        if any(a <= start and end <= b for a, b in availability.intervals_in(tz, start.astimezone(tz).date(), hours)):
            free.append(room.pk)
    return free


@pytest.mark.parametrize("zone", ZONES[:4])
def test_opening_hours_on_dst_days_match_python(org, zoned, zone):
    hours = [availability.Hours(day, datetime.time(a, b), datetime.time(c, d)) for day in range(7)
             for a, b, c, d in HOURS]  # fmt: skip
    since = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    transitions = changes(zoneinfo.ZoneInfo(zone), since)
    assert len(transitions) >= 2
    for change in transitions[:2]:
        start, index = change - 26 * H, 0
        while start < change + 26 * H:
            end = start + datetime.timedelta(minutes=(15, 45, 90)[index % 3])
            assert availability.free_space_ids(org.pk, start, end) == open_rooms(zoned, hours, start, end), start
            start, index = start + datetime.timedelta(minutes=15), index + 1


def test_a_repeated_hour_counts_from_its_first_occurrence(org, zoned):
    """25/10/2026, Paris: 02:15 happens twice (00:15 and 01:15 UTC); Python's fold=0 reads the first one, where
    PostgreSQL's AT TIME ZONE alone would take the second (and open 01:45-02:15 until 01:15 UTC)."""
    paris = zoned["Europe/Paris"].pk

    def free(day, hour, minute, minutes):
        start = datetime.datetime(2026, day[0], day[1], hour, minute, tzinfo=UTC)
        return paris in availability.free_space_ids(org.pk, start, start + datetime.timedelta(minutes=minutes))

    assert free((10, 25), 0, 15, 30)  # 02:15-02:45 local, first occurrence
    assert not free((10, 25), 0, 0, 30)  # across the end of 01:45-02:15 (00:15 UTC) and the start of 02:15-02:45
    assert free((10, 24), 23, 45, 30)  # 01:45-02:15 local = 23:45-00:15 UTC
    # 29/03/2026: 02:15 does not exist; 02:15-02:45 reads 01:15-01:45 UTC (the winter offset)
    assert free((3, 29), 1, 15, 30)
    assert not free((3, 29), 1, 0, 30)
