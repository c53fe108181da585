"""Gestion → Planning des services: the day and week timelines, the free cells' links, the « Plan 2D » at a date
and time, rights, other organizations, and a query count that does not grow with spaces or bookings."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from comptoir.bookings.models import Booking
from comptoir.bookings.tests.factories import (
    BlockedSlotFactory,
    BookingFactory,
    CoworkingFactory,
    RoomFactory,
    at,
    next_weekday,
)
from comptoir.catalog.models import Space
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory
from comptoir.core.testing import tenancy_walk_test
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.sales.models import Contract
from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


@pytest.fixture
def monday():
    return next_weekday(0)


def planning(client, center, day, view="day"):
    return client.get(reverse("bookings:planning"), {"center": center.pk, "date": day.isoformat(), "view": view})


def test_the_day_view_shows_the_center_spaces_bookings_requests_and_blocks(org, admin, staff_client, center, monday):
    room = RoomFactory(organization=org, center=center, name="Salle Eiffel")
    other = RoomFactory(organization=org, center=center, name="Salle Orsay")
    SpaceFactory(organization=org, center=center, kind=Space.Kind.MAILBOX, name="Boîte 12")
    BookingFactory(space=room, company=CompanyFactory(organization=org, name="Acme Conseil"),
                   starts_at=at(monday, 10), ends_at=at(monday, 12))  # fmt: skip
    BookingFactory(space=other, company=CompanyFactory(organization=org, name="Bêta Studio"),
                   status=Booking.Status.REQUESTED, starts_at=at(monday, 14), ends_at=at(monday, 15))  # fmt: skip
    BookingFactory(space=other, company=CompanyFactory(organization=org, name="Annulée SA"),
                   status=Booking.Status.CANCELLED, starts_at=at(monday, 9), ends_at=at(monday, 10))  # fmt: skip
    BlockedSlotFactory(space=room, starts_at=at(monday, 16), ends_at=at(monday, 18), reason="Peinture")

    page = planning(staff_client(admin), center, monday).content.decode()

    assert "Salle Eiffel" in page and "Salle Orsay" in page
    assert "Boîte 12" not in page  # mailboxes are not planned
    assert re.search(r'class="planning-bar planning-confirmed"[^>]*grid-column: 6 / 10;[^>]*>.*?Acme Conseil', page)
    assert re.search(r'class="planning-bar planning-requested"[^>]*grid-column: 14 / 16;.*?Bêta Studio', page)
    assert re.search(r'class="planning-bar planning-blocked[^"]*"[^>]*grid-column: 18 / 22;[^>]*>'
                     r'(<span class="text-truncate">)?Peinture', page)  # fmt: skip
    assert "Annulée SA" not in page
    assert "08:00" in page and "18:00" in page


def test_a_free_cell_links_to_the_prefilled_booking_form(org, admin, staff_client, center, monday):
    try:
        create = reverse("bookings:create")
    except NoReverseMatch:
        pytest.skip("the booking form (bookings:create) is not there yet")
    room = RoomFactory(organization=org, center=center)
    BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 10, 30))

    page = planning(staff_client(admin), center, monday).content.decode()

    # a free hour from 9:00; from 9:30 only half an hour is free before the booking
    assert f'href="{create}?space={room.pk}&amp;date={monday:%Y-%m-%d}&amp;start=09%3A00&amp;end=10%3A00"' in page
    assert f'href="{create}?space={room.pk}&amp;date={monday:%Y-%m-%d}&amp;start=09%3A30&amp;end=10%3A00"' in page
    assert "start=10%3A00" not in page  # taken
    assert "start=18%3A30&amp;end=19%3A00" in page  # the last half hour before closing


def test_a_coworking_area_stays_free_until_its_seats_are_taken(org, admin, staff_client, center, monday):
    try:
        reverse("bookings:create")
    except NoReverseMatch:
        pytest.skip("the booking form (bookings:create) is not there yet")
    area = CoworkingFactory(organization=org, center=center, capacity=2)
    BookingFactory(space=area, exclusive=False, starts_at=at(monday, 9), ends_at=at(monday, 11))
    BookingFactory(space=area, exclusive=False, starts_at=at(monday, 10), ends_at=at(monday, 12))

    page = planning(staff_client(admin), center, monday).content.decode()

    assert "start=09%3A00" in page  # one seat left
    assert "start=10%3A00" not in page and "start=10%3A30" not in page  # both seats taken
    assert "start=11%3A00" in page
    assert "--planning-lanes: 2" in page  # the overlapping bookings on two lanes


def test_a_private_office_under_contract_shows_as_occupied_all_day(org, admin, staff_client, center, monday):
    contract = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                               start_date=monday - datetime.timedelta(days=30))  # fmt: skip
    office = ContractLineFactory(contract=contract, space=SpaceFactory(organization=org, center=center,
                                                                       name="Bureau 204")).space  # fmt: skip

    page = planning(staff_client(admin), center, monday).content.decode()

    assert "Bureau 204" in page
    assert re.search(r'class="planning-bar planning-contract"[^>]*grid-column: 2 / 24;[^>]*>Sous contrat', page)
    assert f"space={office.pk}" not in page


def test_the_week_view_lists_each_day_bookings(org, admin, staff_client, center, monday):
    room = RoomFactory(organization=org, center=center)
    BookingFactory(space=room, company=CompanyFactory(organization=org, name="Acme Conseil"),
                   starts_at=at(monday + datetime.timedelta(days=2), 9), ends_at=at(monday + datetime.timedelta(days=2), 10))  # fmt: skip
    BookingFactory(space=room, company=CompanyFactory(organization=org, name="Hors semaine"),
                   starts_at=at(monday + datetime.timedelta(days=7), 9), ends_at=at(monday + datetime.timedelta(days=7), 10))  # fmt: skip

    page = planning(staff_client(admin), center, monday + datetime.timedelta(days=3), "week").content.decode()

    assert "09:00 Acme Conseil" in page
    assert "Hors semaine" not in page
    assert f"date={monday + datetime.timedelta(days=2):%Y-%m-%d}&amp;view=day" in page


def test_a_closed_day_and_a_bad_date_answer_without_error(org, admin, staff_client, center, monday):
    RoomFactory(organization=org, center=center)
    web = staff_client(admin)
    sunday = monday + datetime.timedelta(days=6)

    closed = planning(web, center, sunday)
    bad = web.get(reverse("bookings:planning"), {"center": center.pk, "date": "31/02/2026", "view": "year"})

    assert closed.status_code == 200 and "Centre fermé ce jour" in closed.content.decode()
    assert "start=" not in closed.content.decode()
    assert bad.status_code == 200


def test_the_planning_query_count_does_not_grow_with_spaces_or_bookings(org, admin, staff_client, center, monday,
                                                                       django_assert_num_queries):  # fmt: skip
    web = staff_client(admin)

    def fill(count):
        for index in range(count):
            room = RoomFactory(organization=org, center=center)
            BookingFactory(space=room, starts_at=at(monday, 9 + index % 8), ends_at=at(monday, 10 + index % 8),
                           status=Booking.Status.REQUESTED if index % 2 else Booking.Status.CONFIRMED)  # fmt: skip
            BlockedSlotFactory(space=room, starts_at=at(monday, 18), ends_at=at(monday, 19))
        ContractLineFactory(contract=ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                                                     start_date=monday), space=SpaceFactory(organization=org, center=center))  # fmt: skip

    def count(view):
        planning(web, center, monday, view)  # warm the session and the caches
        with CaptureQueriesContext(connection) as queries:
            assert planning(web, center, monday, view).status_code == 200
        return len(queries)

    fill(2)
    small = {view: count(view) for view in ("day", "week")}
    fill(20)
    large = {view: count(view) for view in ("day", "week")}

    assert large == small
    # session, user, organization, membership, staff centers; centers, opening hours, spaces, bookings, blocked
    # slots, floor plans; one per other occupancy provider per day shown (contracts); the menu's organizations
    assert small == {"day": 13, "week": 19}
    with django_assert_num_queries(13):
        planning(web, center, monday)


def test_the_planning_needs_the_booking_view_right(org, staff_of, staff_client, center, monday):
    web = staff_client(staff_of("technician"))

    assert planning(web, center, monday).status_code == 403


def test_another_organizations_center_answers_404(org, admin, staff_client, center, other_center, monday):
    web = staff_client(admin)

    assert planning(web, other_center, monday).status_code == 404
    assert web.get(reverse("bookings:planning"), {"center": "abc"}).status_code == 404


def test_the_floor_plan_at_a_time_colors_booked_requested_blocked_and_free_spaces(org, admin, staff_client, center,
                                                                                  monday):  # fmt: skip
    plan = FloorPlanFactory(organization=org, center=center, floor=1)
    booked, asked, blocked, free = (RoomFactory(organization=org, center=center, floor=1, shape=SQUARE)
                                    for _ in range(4))  # fmt: skip
    BookingFactory(space=booked, starts_at=at(monday, 10), ends_at=at(monday, 12))
    BookingFactory(space=asked, status=Booking.Status.REQUESTED, starts_at=at(monday, 10), ends_at=at(monday, 11))
    BlockedSlotFactory(space=blocked, starts_at=at(monday, 9), ends_at=at(monday, 12))
    web = staff_client(admin)
    url = reverse("bookings:planning_floorplan", args=[plan.pk])

    at_ten = web.get(url, {"date": monday.isoformat(), "time": "10:30"}).content.decode()
    at_noon = web.get(url, {"date": monday.isoformat(), "time": "12:00"}).content.decode()

    assert f'data-space="{booked.pk}" data-state="occupied"' in at_ten
    assert f'data-space="{asked.pk}" data-state="reserved"' in at_ten
    assert f'data-space="{blocked.pk}" data-state="unavailable"' in at_ten
    assert f'data-space="{free.pk}" data-state="free"' in at_ten
    assert at_noon.count('data-state="free"') == 4  # every slot ends at noon


def test_the_floor_plan_of_another_organization_answers_404(admin, staff_client, other_org):
    plan = FloorPlanFactory(organization=other_org)

    answer = staff_client(admin).get(reverse("bookings:planning_floorplan", args=[plan.pk]))

    assert answer.status_code == 404


test_other_organizations_planning_objects_answer_404 = tenancy_walk_test(namespaces=["bookings"])
