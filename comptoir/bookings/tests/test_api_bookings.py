"""API of bookings (/api/v1/bookings/): create → 201 (or 409 with the taken slot), Idempotency-Key, list with filters
and a fixed query count, confirm / decline / cancel with refund, consumptions; bad input is 4xx JSON at the field
and changes nothing; rights (403) and tenancy (404)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.billing.models import Consumption
from comptoir.bookings.models import BlockedSlot, Booking, CalendarFeed, CreditEntry, PlanAssignment
from comptoir.bookings.services import bookings as services
from comptoir.bookings.services import credits
from comptoir.bookings.tests.factories import (
    BlockedSlotFactory,
    BookingFactory,
    CoworkingFactory,
    PackFactory,
    RoomFactory,
    SpaceBookingFactory,
    at,
    next_weekday,
)
from comptoir.core import testing
from comptoir.core.tests.test_api import error_of
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/bookings"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def room(org, center):  # type: ignore[no-untyped-def]
    return SpaceBookingFactory(space=RoomFactory(organization=org, center=center, name="Salle Eiffel")).space


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, kind="client", name="Lumière SAS")


@pytest.fixture
def monday():  # type: ignore[no-untyped-def]
    return next_weekday(0)


def body(room, company, start, end, **extra):  # type: ignore[no-untyped-def]
    return {"space": room.pk, "company": company.pk, "starts_at": start.isoformat(), "ends_at": end.isoformat(),
            **extra}  # fmt: skip


def conflict_of(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert {"code", "message", "fields", "conflict"} <= set(error)
    return error


# --------------------------------------------------------------------------------------------------
# Create
# --------------------------------------------------------------------------------------------------
def test_create_books_the_slot_billed_by_the_monthly_run(admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)

    response = api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 12), title="Comité"), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["space"], data["space_name"], data["company"], data["company_name"]) == (
        room.pk, "Salle Eiffel", company.pk, "Lumière SAS")  # fmt: skip
    assert (data["status"], data["payment"], data["channel"], data["price_excl_vat"]) == (
        "confirmed", "invoice", "api", "60.00")  # fmt: skip
    assert datetime.datetime.fromisoformat(data["starts_at"]) == at(monday, 10)
    assert data["uid"].endswith("@comptoir")
    booking = Booking.objects.get(pk=data["id"])
    assert booking.consumption is not None and booking.consumption.unit_price == Decimal("60.00")


def test_create_prepaid_issues_the_invoice_at_once(admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    from comptoir.billing.models import Invoice

    response = api_client(admin).post(f"{API}/", body(room, company, at(monday, 10), at(monday, 12), payment="prepaid"),
                                      format="json")  # fmt: skip

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["payment"], data["consumption"]) == ("confirmed", "prepaid", None)
    invoice = Invoice.objects.get(pk=data["invoice"])
    assert (invoice.status, invoice.origin, invoice.total_excl_vat) == ("issued", "online", Decimal("60.00"))


def test_a_taken_slot_is_409_with_the_conflicting_slot_and_nothing_is_written(admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    first = api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 11)), format="json")
    assert first.status_code == 201

    error = conflict_of(api.post(f"{API}/", body(room, company, at(monday, 10, 30), at(monday, 12)), format="json"))

    assert error["code"] == "slot_taken"
    conflict = error["conflict"]
    assert conflict["kind"] == "booking"
    assert datetime.datetime.fromisoformat(conflict["starts_at"]) == at(monday, 10)
    assert datetime.datetime.fromisoformat(conflict["ends_at"]) == at(monday, 11)
    assert "starts_at" in error["fields"]
    assert Booking.objects.count() == 1


def test_a_blocked_slot_is_409_blocked(admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    BlockedSlotFactory(space=room, starts_at=at(monday, 9), ends_at=at(monday, 13), reason="Travaux")
    api = api_client(admin)

    error = conflict_of(api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 11)), format="json"))

    assert (error["code"], error["conflict"]["kind"]) == ("blocked", "blocked_slot")
    assert Booking.objects.count() == 0


def test_the_same_idempotency_key_makes_one_booking(admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    payload = body(room, company, at(monday, 14), at(monday, 15))

    first = api.post(f"{API}/", payload, format="json", HTTP_IDEMPOTENCY_KEY="rsv-1")
    again = api.post(f"{API}/", payload, format="json", HTTP_IDEMPOTENCY_KEY="rsv-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"starts_at": "2026-11-23T10:00:00"}, "starts_at", "invalid"),  # naive: refused, not guessed
        ({"starts_at": "2026-13-45T10:00:00+01:00"}, "starts_at", "invalid"),
        ({"starts_at": "9999-12-31T23:59:59-14:00"}, "starts_at", "invalid"),
        ({"space": 99999999999999999999}, "space", "invalid"),
        ({"space": "x"}, "space", "invalid"),
        ({"seats": 0}, "seats", "invalid"),
        ({"payment": "cash"}, "payment", "invalid"),
        ({"unknown": 1}, "unknown", "invalid"),
    ],
)
def test_bad_input_is_400_at_the_field(admin, api_client, room, company, monday, change, field, code):  # type: ignore[no-untyped-def]
    api = api_client(admin)

    error = error_of(api.post(f"{API}/", {**body(room, company, at(monday, 10), at(monday, 11)), **change},
                              format="json"), 400, code)  # fmt: skip

    assert field in error["fields"]
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ((0, 11), (0, 10), "ends_before_start"),
        ((0, 7), (0, 9), "outside_opening_hours"),
        ((5, 10), (5, 11), "outside_opening_hours"),  # a Saturday: closed
        ((-14, 10), (-14, 11), "in_the_past"),
    ],
)
def test_refusals_of_the_service_are_400_with_their_code(admin, api_client, room, company, monday, start, end, code):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    starts_at = at(monday + datetime.timedelta(days=start[0]), start[1])
    ends_at = at(monday + datetime.timedelta(days=end[0]), end[1])

    error_of(api.post(f"{API}/", body(room, company, starts_at, ends_at), format="json"), 400, code)

    assert Booking.objects.count() == 0


def test_a_holder_with_credits_pays_in_credits(org, admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    credits.assign_plan(company=company, by=admin, data={"plan": PackFactory(organization=org, credits=Decimal(5),
                                                                             validity_days=60)})  # fmt: skip
    api = api_client(admin)

    data = api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 12)), format="json").json()

    assert (data["payment"], data["credits"], data["price_excl_vat"]) == ("credits", "2.00", "0.00")
    assert credits.balance(company, None, monday) == Decimal("3.00")


def test_a_coworking_area_holds_bookings_up_to_its_seats(org, admin, api_client, center, company, monday):  # type: ignore[no-untyped-def]
    area = CoworkingFactory(organization=org, center=center, capacity=3)
    api = api_client(admin)

    ok = api.post(f"{API}/", body(area, company, at(monday, 9), at(monday, 17), seats=2), format="json")
    full = api.post(f"{API}/", body(area, company, at(monday, 10), at(monday, 11), seats=2), format="json")

    assert ok.status_code == 201
    assert conflict_of(full)["conflict"]["kind"] == "capacity"


# --------------------------------------------------------------------------------------------------
# List and retrieve
# --------------------------------------------------------------------------------------------------
def test_list_filters(org, admin, api_client, room, center, company, monday):  # type: ignore[no-untyped-def]
    other_room = RoomFactory(organization=org, center=center)
    member = ContactFactory(company=company)
    mine = BookingFactory(space=room, company=company, contact=member, starts_at=at(monday, 10),
                          ends_at=at(monday, 11))  # fmt: skip
    other = BookingFactory(space=other_room, company=CompanyFactory(organization=org), status="cancelled",
                           starts_at=at(monday + datetime.timedelta(days=1), 10),
                           ends_at=at(monday + datetime.timedelta(days=1), 11))  # fmt: skip
    api = api_client(admin)

    def ids(query: str) -> list[int]:
        response = api.get(f"{API}/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [other.pk, mine.pk]  # latest start first
    assert ids(f"space={room.pk}") == [mine.pk]
    assert ids(f"company={company.pk}") == [mine.pk]
    assert ids(f"contact={member.pk}") == [mine.pk]
    assert ids("status=cancelled") == [other.pk]
    assert ids(f"center={center.pk}") == [other.pk, mine.pk]
    after = at(monday, 12).isoformat().replace("+", "%2B")
    assert ids(f"starts_after={after}") == [other.pk]
    assert ids(f"ends_before={after}") == [mine.pk]


@pytest.mark.parametrize("query", ["starts_after=2026-11-23T10:00:00", "starts_after=lundi", "space=99999999999999999999",
                                   "status=done", "ends_before=0001-01-01T00:00:00%2B14:00"])  # fmt: skip
def test_bad_list_filters_are_400(admin, api_client, query):  # type: ignore[no-untyped-def]
    error_of(api_client(admin).get(f"{API}/?{query}"), 400, "invalid")


def test_list_query_count_does_not_grow_with_rows(org, admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"{API}/").status_code == 200
        return len(queries)

    count()  # warm: the token's first use, the rights cache
    for hour in (9, 10, 11):
        BookingFactory(space=room, company=company, contact=ContactFactory(company=company),
                       starts_at=at(monday, hour), ends_at=at(monday, hour, 30))  # fmt: skip
    few = count()
    for day in range(1, 5):
        for hour in range(8, 18):
            BookingFactory(space=RoomFactory(organization=org, center=room.center), company=CompanyFactory(
                organization=org), starts_at=at(monday + datetime.timedelta(days=day), hour),
                ends_at=at(monday + datetime.timedelta(days=day), hour, 30))  # fmt: skip
    assert count() == few


# --------------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------------
def _request(org, room, company, monday, hour=10):  # type: ignore[no-untyped-def]
    room.booking.auto_accept = False
    room.booking.save()
    member = ContactFactory(company=company, company_role="administrator", has_portal_access=True)
    return services.create_booking(organization=org, by=None, member=member, data={
        "space": room, "starts_at": at(monday, hour), "ends_at": at(monday, hour + 1)})  # fmt: skip


def test_confirm_and_decline_a_request(org, admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    first, second = _request(org, room, company, monday, 10), _request(org, room, company, monday, 14)
    assert first.status == second.status == "requested"
    api = api_client(admin)

    confirmed = api.post(f"{API}/{first.pk}/confirm/", format="json")
    declined = api.post(f"{API}/{second.pk}/decline/", {"reason": "Salle en travaux"}, format="json")

    assert (confirmed.status_code, confirmed.json()["status"], confirmed.json()["sequence"]) == (200, "confirmed", 1)
    assert (declined.json()["status"], declined.json()["reason"]) == ("declined", "Salle en travaux")
    error_of(api.post(f"{API}/{first.pk}/confirm/", format="json"), 400, "not_requested")
    error_of(api.post(f"{API}/{second.pk}/decline/", {}, format="json"), 400, "not_requested")
    error_of(api.post(f"{API}/{first.pk}/decline/", {"reason": ["x"]}, format="json"), 400, "invalid")


def test_cancel_refunds_as_chosen_and_twice_is_400(org, admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    booking_id = api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 11)), format="json").json()["id"]

    response = api.post(f"{API}/{booking_id}/cancel/", {"reason": "Annulé par le client", "refund": "money"},
                        format="json")  # fmt: skip

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["refund"]) == ("cancelled", "money")
    assert not Consumption.objects.filter(source_id=booking_id).exists()  # withdrawn before billing
    error_of(api.post(f"{API}/{booking_id}/cancel/", {}, format="json"), 400, "not_cancellable")
    error_of(api.post(f"{API}/{booking_id}/cancel/", {"refund": "cash"}, format="json"), 400, "invalid")


def test_cancel_a_booking_paid_in_credits_gives_them_back(org, admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    credits.assign_plan(company=company, by=admin, data={"plan": PackFactory(organization=org, credits=Decimal(5))})
    api = api_client(admin)
    booking_id = api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 12)), format="json").json()["id"]

    api.post(f"{API}/{booking_id}/cancel/", {"refund": "credits"}, format="json")

    assert credits.balance(company, None, monday) == Decimal("5.00")
    assert CreditEntry.objects.filter(kind="refund", booking_id=booking_id).exists()


def test_add_a_consumption(org, admin, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    booking_id = api.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 11)), format="json").json()["id"]

    response = api.post(f"{API}/{booking_id}/consumptions/", {"description": "Café x 4", "quantity": "4",
                                                              "unit_price": "2.50", "vat_rate": "10"}, format="json")  # fmt: skip

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["description"], data["amount_excl_vat"], data["company"], data["source_id"]) == (
        "Café x 4", "10.00", company.pk, booking_id)  # fmt: skip
    assert data["date"] == monday.isoformat()


# --------------------------------------------------------------------------------------------------
# Rights and tenancy
# --------------------------------------------------------------------------------------------------
def test_rights(org, staff_of, api_client, room, company, monday):  # type: ignore[no-untyped-def]
    technician = api_client(staff_of("technician"))
    reception = api_client(staff_of("reception"))

    error_of(technician.get(f"{API}/"), 403, "forbidden")
    error_of(technician.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 11)), format="json"), 403)
    assert reception.post(f"{API}/", body(room, company, at(monday, 10), at(monday, 11)), format="json").status_code \
        == 201  # fmt: skip


def test_another_organizations_booking_is_404_and_unchanged(other_org, admin, api_client):  # type: ignore[no-untyped-def]
    foreign = BookingFactory(space=RoomFactory(organization=other_org))
    api = api_client(admin)

    error_of(api.get(f"{API}/{foreign.pk}/"), 404, "not_found")
    error_of(api.post(f"{API}/{foreign.pk}/cancel/", {}, format="json"), 404, "not_found")
    error_of(api.post(f"{API}/", body(foreign.space, foreign.company, at(next_weekday(0), 10),
                                      at(next_weekday(0), 11)), format="json"), 400)  # fmt: skip
    foreign.refresh_from_db()
    assert foreign.status == "confirmed"
    assert api.get(f"{API}/").json()["results"] == []


OWN_ROUTES = ("api:booking-", "api:blockedslot-", "api:plan-", "api:calendarfeed-", "bookings:calendarfeed_")


def test_bookings_api_objects_of_another_organization_answer_404(org, other_org, admin, staff_client, api_client):  # type: ignore[no-untyped-def]
    # tenancy_walk_test, kept to this area's routes (the walker also reports other areas' routes in progress)
    testing._autodiscover()
    foreign = {key: testing._factories[key](other_org) for key in ("booking", "blockedslot", "plan", "calendarfeed")}

    def state() -> tuple:  # type: ignore[type-arg]
        return (list(Booking.objects.filter(organization=other_org).values_list("status", "sequence")),
                list(BlockedSlot.objects.filter(organization=other_org).values_list("cancelled_at", flat=True)),
                list(PlanAssignment.objects.filter(organization=other_org).values_list("status", "ends_on")),
                list(CalendarFeed.objects.filter(organization=other_org).values_list("revoked_at", flat=True)),
                CreditEntry.objects.filter(organization=other_org).count())  # fmt: skip

    before = state()
    result = testing.walk(own_organization=org, foreign_organization=other_org, web_client=staff_client(admin),
                          api_client=api_client(admin), namespaces=["bookings"], foreign_objects=foreign,
                          api_prefixes=["bookings", "blocked-slots", "plans", "calendar-feeds"])  # fmt: skip

    mine = [line for line in result.checked if line.startswith(OWN_ROUTES)]
    assert len({line.split(" ")[0] for line in mine}) >= 12, mine
    assert not [line for line in result.failures if line.startswith(OWN_ROUTES)], result.failures
    assert state() == before
