"""Gestion → Créneaux bloqués in the back office: the list (active by default, past and unblocked in a filter, a
pinned query count), « Bloquer des créneaux » (one space or the whole center, each day of a range, in the center's
timezone; refusals at the field, a booking in the way at the start), « Débloquer »; rights and tenancy."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.bookings.models import BlockedSlot
from comptoir.bookings.tests.factories import BlockedSlotFactory, BookingFactory, RoomFactory, at, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(org, center):  # type: ignore[no-untyped-def]
    return RoomFactory(organization=org, center=center, name="Salle Eiffel")


def block_data(center, **extra):  # type: ignore[no-untyped-def]
    day = next_weekday(1)
    data = {"center": center.pk, "space": "", "date_from": day.isoformat(), "date_to": "", "start": "09:00",
            "end": "12:00", "reason": "Travaux"}  # fmt: skip
    data.update(extra)
    return data


def results(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode().split('id="list-results"', 1)[1]


def test_list_shows_active_blocks_and_filters_unblocked(admin, staff_client, room):  # type: ignore[no-untyped-def]
    day = next_weekday(1)
    BlockedSlotFactory(space=room, starts_at=at(day, 9), ends_at=at(day, 11), reason="Peinture")
    BlockedSlotFactory(space=room, starts_at=at(day, 14), ends_at=at(day, 15), reason="Ancien",
                       cancelled_at=timezone.now())  # fmt: skip
    web = staff_client(admin)
    page = results(web.get(reverse("bookings:block_list")))
    assert "Peinture" in page and f"{day:%d/%m/%Y} 09:00–11:00" in page and "Ancien" not in page
    assert reverse("bookings:block_unblock", args=[BlockedSlot.objects.get(reason="Peinture").pk]) in page
    cancelled = results(web.get(reverse("bookings:block_list"), {"state": "cancelled"}))
    assert "Ancien" in cancelled and "Peinture" not in cancelled


def test_list_query_count_is_pinned(admin, staff_client, room, org, center):  # type: ignore[no-untyped-def]
    web = staff_client(admin)

    def make(count: int) -> None:
        for index in range(count):
            day = next_weekday(1) + datetime.timedelta(days=7 * index)
            BlockedSlotFactory(space=RoomFactory(organization=org, center=center), starts_at=at(day, 9),
                               ends_at=at(day, 10))  # fmt: skip

    make(3)
    web.get(reverse("bookings:block_list"))
    with CaptureQueriesContext(connection) as few:
        web.get(reverse("bookings:block_list"))
    make(27)
    with CaptureQueriesContext(connection) as many:
        web.get(reverse("bookings:block_list"))
    assert len(few) == len(many) == 9


def test_block_a_space_over_several_days(admin, staff_client, center, room):  # type: ignore[no-untyped-def]
    first = next_weekday(1)
    data = block_data(center, space=room.pk, date_to=(first + datetime.timedelta(days=2)).isoformat())
    response = staff_client(admin).post(reverse("bookings:block_create"), data)
    assert response.status_code == 302
    made = list(BlockedSlot.objects.order_by("starts_at"))
    assert [(b.starts_at, b.ends_at) for b in made] == [
        (at(first + datetime.timedelta(days=n), 9), at(first + datetime.timedelta(days=n), 12)) for n in range(3)
    ]
    assert all(b.space_id == room.pk and b.reason == "Travaux" for b in made)


def test_block_the_whole_center(admin, staff_client, center, room):  # type: ignore[no-untyped-def]
    assert staff_client(admin).post(reverse("bookings:block_create"), block_data(center)).status_code == 302
    assert BlockedSlot.objects.get().space is None


def test_block_refusals_at_the_fields(admin, staff_client, center, room, org):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    no_reason = web.post(reverse("bookings:block_create"), block_data(center, reason=""))
    assert (
        no_reason.status_code == 200
        and 'class="field mb-3 field-invalid" id="field-reason"' in no_reason.content.decode()
    )
    backwards = web.post(reverse("bookings:block_create"), block_data(center, start="12:00", end="09:00"))
    assert "La fin doit être après le début." in backwards.content.decode()
    from comptoir.core.tests.factories import CenterFactory

    elsewhere = RoomFactory(organization=org, center=CenterFactory(organization=org))
    wrong = web.post(reverse("bookings:block_create"), block_data(center, space=elsewhere.pk))
    assert "Cet espace n&#x27;est pas dans ce centre." in wrong.content.decode()
    assert not BlockedSlot.objects.exists()


def test_block_over_a_booking_is_refused_at_the_start(admin, staff_client, center, room):  # type: ignore[no-untyped-def]
    day = next_weekday(1)
    BookingFactory(space=room, starts_at=at(day, 10), ends_at=at(day, 11))
    response = staff_client(admin).post(reverse("bookings:block_create"), block_data(center, space=room.pk))
    html = response.content.decode()
    assert response.status_code == 200 and not BlockedSlot.objects.exists()
    assert "annulez d&#x27;abord cette réservation" in html.split('id="field-start"', 1)[1]


def test_unblock(admin, staff_client, room):  # type: ignore[no-untyped-def]
    block = BlockedSlotFactory(space=room)
    web = staff_client(admin)
    assert web.get(reverse("bookings:block_unblock", args=[block.pk])).status_code == 405
    assert web.post(reverse("bookings:block_unblock", args=[block.pk])).status_code == 302
    block.refresh_from_db()
    assert block.cancelled_at is not None
    web.post(reverse("bookings:block_unblock", args=[block.pk]))  # twice: a message, no 500
    assert BlockedSlot.objects.get().cancelled_at == block.cancelled_at


def test_rights(staff_of, staff_client, center, room):  # type: ignore[no-untyped-def]
    block = BlockedSlotFactory(space=room)
    technician = staff_client(staff_of("technician"))
    assert technician.get(reverse("bookings:block_list")).status_code == 403
    assert technician.post(reverse("bookings:block_unblock", args=[block.pk])).status_code == 403
    reception = staff_client(staff_of("reception"))
    assert (
        reception.post(reverse("bookings:block_create"), block_data(center, start="14:00", end="15:00")).status_code
        == 302
    )
    assert BlockedSlot.objects.count() == 2


def test_another_organizations_block_answers_404(admin, staff_client, other_org, other_center):  # type: ignore[no-untyped-def]
    foreign = BlockedSlotFactory(space=RoomFactory(organization=other_org, center=other_center))
    web = staff_client(admin)
    url = reverse("bookings:block_unblock", args=[foreign.pk])
    assert web.get(url).status_code == 404 and web.post(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.cancelled_at is None
    foreign_center = block_data(other_center)
    assert web.post(reverse("bookings:block_create"), foreign_center).status_code == 200
    assert BlockedSlot.objects.count() == 1


def test_unblock_from_the_planning_goes_back_to_it(admin, staff_client, room):  # type: ignore[no-untyped-def]
    day = next_weekday(1)
    block = BlockedSlotFactory(space=room, starts_at=at(day, 9), ends_at=at(day, 11), reason="Peinture")
    web = staff_client(admin)
    planning = reverse("bookings:planning") + f"?center={room.center_id}&date={day:%Y-%m-%d}&view=day"
    page = web.get(planning).content.decode()
    assert reverse("bookings:block_unblock", args=[block.pk]) in page and "Peinture" in page
    response = web.post(reverse("bookings:block_unblock", args=[block.pk]), {"next": planning})
    assert response.status_code == 302 and response["Location"] == planning
    block.refresh_from_db()
    assert block.cancelled_at is not None
    # an outside address is not followed
    other = BlockedSlotFactory(space=room, starts_at=at(day, 14), ends_at=at(day, 15))
    response = web.post(reverse("bookings:block_unblock", args=[other.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("bookings:block_list")
