"""The bookings' answer to the floor plans: per day (the catalog registry's provider) and at one instant."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from comptoir.bookings import occupancy as booking_occupancy
from comptoir.bookings.models import Booking
from comptoir.bookings.tests.factories import BlockedSlotFactory, BookingFactory, RoomFactory, at, next_weekday
from comptoir.catalog import occupancy
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory
from comptoir.core.tests.factories import CenterFactory
from comptoir.sales.models import Contract
from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db
SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


@pytest.fixture
def monday():
    return next_weekday(0)


def test_the_provider_is_registered_in_the_catalog_registry():
    assert booking_occupancy.provider in occupancy.providers()


def test_a_confirmed_booking_occupies_its_day_and_a_request_reserves_it(org, center, monday,
                                                                        django_assert_num_queries):  # fmt: skip
    booked, asked, cancelled, other_day, free = (RoomFactory(organization=org, center=center) for _ in range(5))
    BookingFactory(space=booked, starts_at=at(monday, 10), ends_at=at(monday, 11))
    BookingFactory(space=asked, status=Booking.Status.REQUESTED, starts_at=at(monday, 15), ends_at=at(monday, 16))
    BookingFactory(space=cancelled, status=Booking.Status.CANCELLED, starts_at=at(monday, 9), ends_at=at(monday, 10))
    BookingFactory(space=other_day, starts_at=at(monday + datetime.timedelta(days=1), 9),
                   ends_at=at(monday + datetime.timedelta(days=1), 10))  # fmt: skip
    ids = [space.pk for space in (booked, asked, cancelled, other_day, free)]

    with django_assert_num_queries(1):
        answer = booking_occupancy.provider(ids, monday)

    assert answer == {booked.pk: occupancy.OCCUPIED, asked.pk: occupancy.RESERVED}
    assert booking_occupancy.provider([], monday) == {}


def test_the_day_is_the_centers_local_day(org, monday):
    tokyo = CenterFactory(organization=org, timezone="Asia/Tokyo")
    room = RoomFactory(organization=org, center=tokyo)
    # 8:00-9:00 in Tokyo on Monday is Sunday 23:00-24:00 UTC
    BookingFactory(space=room, starts_at=at(monday, 8, tz="Asia/Tokyo"), ends_at=at(monday, 9, tz="Asia/Tokyo"))

    assert booking_occupancy.provider([room.pk], monday) == {room.pk: occupancy.OCCUPIED}
    assert booking_occupancy.provider([room.pk], monday - datetime.timedelta(days=1)) == {}


def test_the_catalog_floor_plan_page_shows_a_booked_room_as_occupied(org, admin, staff_client, center, monday):
    plan = FloorPlanFactory(organization=org, center=center, floor=1)
    room = RoomFactory(organization=org, center=center, floor=1, shape=SQUARE)
    BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 11))

    page = staff_client(admin).get(plan.get_absolute_url(), {"date": monday.isoformat()}).content.decode()

    assert f'data-space="{room.pk}" data-state="occupied"' in page


def test_at_an_instant_contracts_bookings_and_blocks_combine(org, center, monday):
    office = ContractLineFactory(
        contract=ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                                 start_date=monday - datetime.timedelta(days=10)),
        space=SpaceFactory(organization=org, center=center),
    ).space  # fmt: skip
    room = RoomFactory(organization=org, center=center)
    inactive = RoomFactory(organization=org, center=center, is_active=False)
    BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 11))
    spaces = [office, room, inactive]

    at_ten = booking_occupancy.states_at(spaces, at(monday, 10, 30), center=center)
    at_noon = booking_occupancy.states_at(spaces, at(monday, 12), center=center)
    BlockedSlotFactory(space=None, center=center, organization=org, starts_at=at(monday, 11, 30),
                       ends_at=at(monday, 13), reason="Alarme")  # fmt: skip
    blocked = booking_occupancy.states_at(spaces, at(monday, 12), center=center)

    assert at_ten == {office.pk: occupancy.OCCUPIED, room.pk: occupancy.OCCUPIED, inactive.pk: occupancy.UNAVAILABLE}
    assert at_noon == {office.pk: occupancy.OCCUPIED, room.pk: occupancy.FREE, inactive.pk: occupancy.UNAVAILABLE}
    assert set(blocked.values()) == {occupancy.UNAVAILABLE}


def test_other_states_leave_the_bookings_out(org, center, monday):
    room = RoomFactory(organization=org, center=center)
    BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 11))

    assert booking_occupancy.other_states([room], monday) == {}
    assert occupancy.states([room], monday) == {room.pk: occupancy.OCCUPIED}


def test_the_planning_links_to_the_floor_plan_at_a_time(org, admin, staff_client, center, monday):
    plan = FloorPlanFactory(organization=org, center=center, floor=2)

    page = staff_client(admin).get(reverse("bookings:planning"), {"center": center.pk,
                                                                   "date": monday.isoformat()}).content.decode()  # fmt: skip

    assert f"{reverse('bookings:planning_floorplan', args=[plan.pk])}?date={monday:%Y-%m-%d}&amp;time=10:00" in page
