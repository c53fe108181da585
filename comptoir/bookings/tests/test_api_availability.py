"""API of availability (/api/v1/availability/) and blocked slots (/api/v1/blocked-slots/): free slots of a space on
a day (also across the daylight-saving changes), spaces free for a slot with filters, the month view; bad
parameters are 400 at the parameter (never a 500); blocks made and unblocked, refused over a booking (409)."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache

from comptoir.bookings.models import BlockedSlot
from comptoir.bookings.tests.factories import (
    BlockedSlotFactory,
    BookingFactory,
    CoworkingFactory,
    RoomFactory,
    SpaceBookingFactory,
    at,
    next_weekday,
)
from comptoir.catalog.models import Space
from comptoir.core.tests.factories import CenterFactory
from comptoir.core.tests.test_api import error_of

pytestmark = pytest.mark.django_db
API = "/api/v1/availability"
BLOCKS = "/api/v1/blocked-slots"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def room(org, center):  # type: ignore[no-untyped-def]
    space = RoomFactory(organization=org, center=center, name="Salle Eiffel", capacity=8,
                        amenities=["projector", "screen"])  # fmt: skip
    SpaceBookingFactory(space=space, slot_minutes=60)
    return space


@pytest.fixture
def monday():  # type: ignore[no-untyped-def]
    return next_weekday(0)


def q(value: datetime.datetime) -> str:
    return value.isoformat().replace("+", "%2B")


# --------------------------------------------------------------------------------------------------
# Slots
# --------------------------------------------------------------------------------------------------
def test_free_slots_of_a_day_skip_bookings_and_blocks(admin, api_client, room, monday):  # type: ignore[no-untyped-def]
    BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 12))
    BlockedSlotFactory(space=room, starts_at=at(monday, 14), ends_at=at(monday, 15))

    response = api_client(admin).get(f"{API}/slots/?space={room.pk}&date={monday.isoformat()}")

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["space"], data["timezone"], data["minutes"]) == (room.pk, "Europe/Paris", 60)
    starts = [slot["local_start"] for slot in data["slots"]]
    assert starts == ["08:00", "09:00", "12:00", "13:00", "15:00", "16:00", "17:00", "18:00"]
    assert datetime.datetime.fromisoformat(data["slots"][0]["starts_at"]) == at(monday, 8)


def test_slots_of_a_given_length_and_seats(org, admin, api_client, center, monday):  # type: ignore[no-untyped-def]
    area = CoworkingFactory(organization=org, center=center, capacity=3)
    BookingFactory(space=area, seats=2, starts_at=at(monday, 8), ends_at=at(monday, 18), exclusive=False)
    api = api_client(admin)

    one = api.get(f"{API}/slots/?space={area.pk}&date={monday.isoformat()}&minutes=120&seats=1").json()
    two = api.get(f"{API}/slots/?space={area.pk}&date={monday.isoformat()}&minutes=120&seats=2").json()

    assert [s["local_start"] for s in one["slots"]][:2] == ["08:00", "08:30"] and one["minutes"] == 120
    assert two["slots"] == []  # 2 of 3 seats taken 8:00-18:00, and 18:00-19:00 is shorter than 2 hours


@pytest.mark.parametrize(
    ("day", "offset"),
    [(datetime.date(2027, 3, 29), "+02:00"), (datetime.date(2027, 11, 1), "+01:00")],
    ids=["after-march-change", "after-october-change"],
)
def test_slots_stay_on_the_wall_clock_across_daylight_saving(admin, api_client, room, day, offset):  # type: ignore[no-untyped-def]
    data = api_client(admin).get(f"{API}/slots/?space={room.pk}&date={day.isoformat()}").json()

    assert data["slots"][0]["local_start"] == "08:00"
    assert datetime.datetime.fromisoformat(data["slots"][0]["starts_at"]) == datetime.datetime.fromisoformat(
        f"{day.isoformat()}T08:00:00{offset}")  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date=2026-13-45", "date"),
        ("date=9999-12-31", "date"),
        ("space=99999999999999999999999", "space"),
        ("space=x", "space"),
        ("minutes=0", "minutes"),
        ("minutes=1e400", "minutes"),
        ("seats=-1", "seats"),
    ],
)
def test_bad_slot_parameters_are_400_at_the_parameter(admin, api_client, room, monday, query, field):  # type: ignore[no-untyped-def]
    base = {"space": str(room.pk), "date": monday.isoformat()}
    name, value = query.split("=", 1)
    base[name] = value
    url = f"{API}/slots/?" + "&".join(f"{k}={v}" for k, v in base.items())

    error = error_of(api_client(admin).get(url), 400, "invalid")

    assert field in error["fields"]


def test_slots_of_a_space_that_is_not_bookable_are_400(org, admin, api_client, center, monday):  # type: ignore[no-untyped-def]
    office = RoomFactory(organization=org, center=center, kind=Space.Kind.PRIVATE_OFFICE)

    error = error_of(api_client(admin).get(f"{API}/slots/?space={office.pk}&date={monday}"), 400, "not_bookable")

    assert "space" in error["fields"]


# --------------------------------------------------------------------------------------------------
# Spaces
# --------------------------------------------------------------------------------------------------
def test_free_spaces_for_a_slot_with_filters(org, admin, api_client, center, room, monday):  # type: ignore[no-untyped-def]
    busy = RoomFactory(organization=org, center=center, name="Salle Louvre", capacity=12)
    BookingFactory(space=busy, starts_at=at(monday, 9), ends_at=at(monday, 11))
    small = RoomFactory(organization=org, center=center, name="Salle Orsay", capacity=4)
    elsewhere = RoomFactory(organization=org, center=CenterFactory(organization=org, name="Lyon"), name="Salle Lyon")
    api = api_client(admin)
    slot = f"starts_at={q(at(monday, 10))}&ends_at={q(at(monday, 11))}"

    def names(extra: str = "") -> list[str]:
        response = api.get(f"{API}/spaces/?{slot}{extra}")
        assert response.status_code == 200, response.content
        assert response.json()["count"] == len(response.json()["spaces"])
        return [space["name"] for space in response.json()["spaces"]]

    assert set(names()) == {"Salle Eiffel", "Salle Orsay", "Salle Lyon"}
    assert set(names(f"&center={center.pk}")) == {"Salle Eiffel", "Salle Orsay"}
    assert names(f"&center={center.pk}&capacity=6") == ["Salle Eiffel"]
    assert names("&kind=coworking_area") == []
    assert small.pk and elsewhere.pk
    closed = api.get(f"{API}/spaces/?starts_at={q(at(monday, 6))}&ends_at={q(at(monday, 7))}").json()
    assert closed["spaces"] == []


@pytest.mark.parametrize(
    "query",
    [
        "starts_at=2026-11-23T10:00:00&ends_at=2026-11-23T11:00:00",  # naive
        "starts_at=lundi&ends_at=mardi",
        "starts_at=2026-11-23T11:00:00Z&ends_at=2026-11-23T10:00:00Z",
        "starts_at=2026-11-23T10:00:00Z&ends_at=2026-11-25T10:00:00Z",
        "starts_at=2026-11-23T10:00:00Z&ends_at=2026-11-23T11:00:00Z&kind=mailbox",
        "starts_at=2026-11-23T10:00:00Z&ends_at=2026-11-23T11:00:00Z&center=99999999999999999999",
        "starts_at=2026-11-23T10:00:00Z&ends_at=2026-11-23T11:00:00Z&capacity=-3",
        "ends_at=2026-11-23T11:00:00Z",
    ],
)
def test_bad_spaces_parameters_are_400(admin, api_client, query):  # type: ignore[no-untyped-def]
    error_of(api_client(admin).get(f"{API}/spaces/?{query}"), 400, "invalid")


# --------------------------------------------------------------------------------------------------
# Month
# --------------------------------------------------------------------------------------------------
def test_month_view(admin, api_client, room, monday):  # type: ignore[no-untyped-def]
    BookingFactory(space=room, starts_at=at(monday, 8), ends_at=at(monday, 19))
    month = f"{monday:%Y-%m}"

    data = api_client(admin).get(f"{API}/month/?space={room.pk}&month={month}").json()

    assert data["month"] == month
    days = {row["date"]: row for row in data["days"]}
    assert days[monday.isoformat()]["state"] == "full"
    assert days[(monday + datetime.timedelta(days=5)).isoformat()]["state"] == "closed"  # Saturday
    assert days[(monday + datetime.timedelta(days=1)).isoformat()]["open_minutes"] == 660


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "1999-12", "x", "2026-11-01", ""])
def test_bad_month_is_400(admin, api_client, room, month):  # type: ignore[no-untyped-def]
    error = error_of(api_client(admin).get(f"{API}/month/?space={room.pk}&month={month}"), 400, "invalid")

    assert "month" in error["fields"]


def test_availability_needs_the_booking_right(staff_of, api_client, room, monday):  # type: ignore[no-untyped-def]
    error_of(api_client(staff_of("technician")).get(f"{API}/slots/?space={room.pk}&date={monday}"), 403)


def test_another_organizations_space_is_unknown(other_org, admin, api_client, monday):  # type: ignore[no-untyped-def]
    foreign = RoomFactory(organization=other_org)

    error = error_of(api_client(admin).get(f"{API}/slots/?space={foreign.pk}&date={monday}"), 400, "invalid")

    assert "space" in error["fields"]


# --------------------------------------------------------------------------------------------------
# Blocked slots
# --------------------------------------------------------------------------------------------------
def test_block_slots_then_unblock(admin, api_client, center, room, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    tuesday = monday + datetime.timedelta(days=1)

    response = api.post(f"{BLOCKS}/", {"space": room.pk, "reason": "Travaux", "slots": [
        {"starts_at": at(monday, 9).isoformat(), "ends_at": at(monday, 12).isoformat()},
        {"starts_at": at(tuesday, 9).isoformat(), "ends_at": at(tuesday, 12).isoformat()},
    ]}, format="json")  # fmt: skip

    assert response.status_code == 201, response.content
    made = response.json()
    assert [(row["space"], row["center"], row["reason"], row["is_active"]) for row in made] == [
        (room.pk, center.pk, "Travaux", True)] * 2  # fmt: skip
    slots = api.get(f"{API}/slots/?space={room.pk}&date={monday}").json()["slots"]
    assert [slot["local_start"] for slot in slots][:2] == ["08:00", "12:00"]

    unblocked = api.post(f"{BLOCKS}/{made[0]['id']}/unblock/", format="json")
    assert (unblocked.status_code, unblocked.json()["is_active"]) == (200, False)
    error_of(api.post(f"{BLOCKS}/{made[0]['id']}/unblock/", format="json"), 400, "already_unblocked")
    assert [row["id"] for row in api.get(f"{BLOCKS}/?active=true").json()["results"]] == [made[1]["id"]]


def test_block_a_whole_center(admin, api_client, center, room, monday):  # type: ignore[no-untyped-def]
    response = api_client(admin).post(f"{BLOCKS}/", {"center": center.pk, "reason": "Fermeture", "slots": [
        {"starts_at": at(monday, 8).isoformat(), "ends_at": at(monday, 19).isoformat()}]}, format="json")  # fmt: skip

    assert response.status_code == 201, response.content
    assert response.json()[0]["space"] is None
    assert BlockedSlot.objects.get().space is None


def test_blocking_over_a_booking_is_409_and_blocks_nothing(admin, api_client, room, monday):  # type: ignore[no-untyped-def]
    BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 11))

    response = api_client(admin).post(f"{BLOCKS}/", {"space": room.pk, "reason": "Travaux", "slots": [
        {"starts_at": at(monday, 9).isoformat(), "ends_at": at(monday, 12).isoformat()}]}, format="json")  # fmt: skip

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "booked"
    assert response.json()["error"]["conflict"]["kind"] == "booking"
    assert not BlockedSlot.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"reason": "x", "slots": []}, "slots"),
        ({"reason": "", "slots": "S"}, "reason"),
        (
            {"reason": "x", "slots": [{"starts_at": "2026-11-23T10:00:00", "ends_at": "2026-11-23T11:00:00"}]},
            "slots.0.starts_at",
        ),
        ({"reason": "x", "slots": [{"starts_at": "2026-11-23T11:00:00Z", "ends_at": "2026-11-23T10:00:00Z"}]}, "slots"),
    ],
)
def test_bad_blocks_are_400(admin, api_client, room, payload, field):  # type: ignore[no-untyped-def]
    error = error_of(api_client(admin).post(f"{BLOCKS}/", {"space": room.pk, **payload}, format="json"), 400)

    assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), error
    assert not BlockedSlot.objects.exists()


def test_a_block_needs_a_center_or_a_space(admin, api_client):  # type: ignore[no-untyped-def]
    error = error_of(api_client(admin).post(f"{BLOCKS}/", {"reason": "x", "slots": [
        {"starts_at": "2026-11-23T10:00:00Z", "ends_at": "2026-11-23T11:00:00Z"}]}, format="json"), 400)  # fmt: skip

    assert "center" in error["fields"]
