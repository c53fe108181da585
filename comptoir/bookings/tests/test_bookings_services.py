"""The booking services: availability, creation with its refusals, price, credits, decisions, expiry, blocks."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction

from comptoir.billing.models import Consumption
from comptoir.bookings.models import Booking, CreditEntry
from comptoir.bookings.services import availability, blocks, credits
from comptoir.bookings.services import bookings as services
from comptoir.bookings.tests.factories import (
    BookingFactory,
    CoworkingFactory,
    PackFactory,
    PlanFactory,
    RoomFactory,
    SpaceBookingFactory,
    at,
    next_weekday,
)
from comptoir.core.errors import Conflict, RightsError, ValidationFailed
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(org, center):
    return SpaceBookingFactory(space=RoomFactory(organization=org, center=center)).space


@pytest.fixture
def company(org):
    return CompanyFactory(organization=org, kind="client", email="compta@client.test")


@pytest.fixture
def monday():
    return next_weekday(0)


def book(org, by, room, company, start, end, **extra):
    return services.create_booking(
        organization=org, by=by, data={"space": room, "company": company, "starts_at": start, "ends_at": end, **extra}
    )


def member(company, role=Contact.CompanyRole.ADMINISTRATOR):
    return ContactFactory(company=company, company_role=role, has_portal_access=True)


# --------------------------------------------------------------------------------------------------
# Creation and its refusals
# --------------------------------------------------------------------------------------------------
def test_staff_books_a_room_confirmed_and_billed_by_the_monthly_run(org, admin, room, company, monday):
    booking = book(org, admin, room, company, at(monday, 10), at(monday, 12))
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.payment == Booking.Payment.INVOICE
    assert booking.price_excl_vat == Decimal("60.00")  # 2 h × 30 € beats a half-day at 100 €
    consumption = Consumption.objects.get(pk=booking.consumption_id)
    assert (consumption.kind, consumption.source_id, consumption.amount_excl_vat) == (
        "booking",
        booking.pk,
        Decimal("60.00"),
    )
    assert consumption.date == monday and consumption.invoice_id is None


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ((10, 0), (9, 0), "ends_before_start"),
        ((7, 0), (9, 0), "outside_opening_hours"),
        ((18, 0), (20, 0), "outside_opening_hours"),
    ],
)
def test_bad_slots_are_refused_and_nothing_is_written(org, admin, room, company, monday, start, end, code):
    with pytest.raises(ValidationFailed) as refused:
        book(org, admin, room, company, at(monday, *start), at(monday, *end))
    assert refused.value.code == code and refused.value.fields
    assert not Booking.objects.exists() and not Consumption.objects.exists()


def test_past_slot_and_closed_day_are_refused(org, admin, room, company):
    past = next_weekday(0) - datetime.timedelta(days=14)
    with pytest.raises(ValidationFailed) as refused:
        book(org, admin, room, company, at(past, 10), at(past, 11))
    assert refused.value.code == "in_the_past"
    sunday = next_weekday(6)
    with pytest.raises(ValidationFailed) as refused:
        book(org, admin, room, company, at(sunday, 10), at(sunday, 11))
    assert refused.value.code == "outside_opening_hours"
    assert "fermé" in refused.value.message


def test_overlap_is_a_conflict_with_the_taken_slot(org, admin, room, company, monday):
    book(org, admin, room, company, at(monday, 10), at(monday, 12))
    with pytest.raises(Conflict) as refused:
        book(org, admin, room, company, at(monday, 11), at(monday, 13))
    assert refused.value.code == "slot_taken" and refused.value.status == 409
    assert refused.value.details["conflict"]["starts_at"] == at(monday, 10).astimezone(datetime.UTC).isoformat()
    # touching slots are fine
    assert book(org, admin, room, company, at(monday, 12), at(monday, 13)).pk
    assert Booking.objects.count() == 2


def test_blocked_slot_refuses_and_unblocking_frees_it(org, admin, room, company, center, monday):
    [block] = blocks.block_slots(center=center, by=admin, slots=[(at(monday, 9), at(monday, 11))], reason="Travaux")
    with pytest.raises(Conflict) as refused:
        book(org, admin, room, company, at(monday, 10), at(monday, 11))
    assert refused.value.code == "blocked" and "Travaux" in refused.value.message
    blocks.unblock(block=block, by=admin)
    assert book(org, admin, room, company, at(monday, 10), at(monday, 11)).pk


def test_blocking_over_a_booking_is_refused(org, admin, room, company, center, monday):
    book(org, admin, room, company, at(monday, 10), at(monday, 11))
    with pytest.raises(Conflict):
        blocks.block_slots(center=center, by=admin, space=room, slots=[(at(monday, 9), at(monday, 12))], reason="X")
    assert not room.blocked_slots.exists()


def test_coworking_area_holds_bookings_up_to_its_seats(org, admin, center, company, monday):
    area = CoworkingFactory(organization=org, center=center, capacity=3)
    book(org, admin, area, company, at(monday, 9), at(monday, 12), seats=2)
    book(org, admin, area, company, at(monday, 11), at(monday, 14), seats=1)
    with pytest.raises(Conflict):
        book(org, admin, area, company, at(monday, 11), at(monday, 12))
    # after the first booking ends, two seats are free again
    assert book(org, admin, area, company, at(monday, 12), at(monday, 13), seats=2).pk
    with pytest.raises(ValidationFailed):
        book(org, admin, area, company, at(monday, 15), at(monday, 16), seats=4)


def test_a_space_that_is_not_bookable_is_refused(org, admin, center, company, monday):
    office = RoomFactory(organization=org, center=center, is_bookable=False)
    with pytest.raises(ValidationFailed) as refused:
        book(org, admin, office, company, at(monday, 10), at(monday, 11))
    assert refused.value.code == "not_bookable"


def test_rights_and_tenancy(org, other_org, room, company, monday, staff_of):
    technician = staff_of("technician")
    with pytest.raises(RightsError):
        book(org, technician, room, company, at(monday, 10), at(monday, 11))
    stranger = CompanyFactory(organization=other_org)
    with pytest.raises(ValidationFailed):
        book(org, staff_of("administrator"), room, stranger, at(monday, 10), at(monday, 11))


# --------------------------------------------------------------------------------------------------
# Portal members and their roles
# --------------------------------------------------------------------------------------------------
def test_a_user_member_cannot_make_a_paid_booking(org, room, company, monday):
    user = member(company, Contact.CompanyRole.USER)
    with pytest.raises(RightsError) as refused:
        services.create_booking(
            organization=org,
            by=None,
            member=user,
            data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
        )
    assert refused.value.code == "paid_booking_forbidden"
    assert not Booking.objects.exists()
    manager = member(company, Contact.CompanyRole.MANAGER)
    booking = services.create_booking(
        organization=org,
        by=None,
        member=manager,
        data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
    )
    assert booking.company == company and booking.contact == manager and booking.channel == "portal"


def test_a_user_member_books_with_credits(org, admin, room, company, monday):
    user = member(company, Contact.CompanyRole.USER)
    credits.assign_plan(company=company, by=admin, data={"plan": PlanFactory(organization=org), "contact": user})
    booking = services.create_booking(
        organization=org,
        by=None,
        member=user,
        data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 12)},
    )
    assert booking.payment == Booking.Payment.CREDITS and booking.credits == Decimal("2.00")
    assert booking.status == Booking.Status.CONFIRMED
    assert credits.balance(company, user, monday) == Decimal("8.00")


def test_a_request_waits_for_the_staff_and_expires(
    org, admin, room, company, monday, django_capture_on_commit_callbacks
):
    room.booking.auto_accept = False
    room.booking.save()
    manager = member(company, Contact.CompanyRole.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.create_booking(
            organization=org,
            by=None,
            member=manager,
            data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
        )
    assert request.status == Booking.Status.REQUESTED and request.expires_at is not None
    assert request.consumption_id is None
    assert any("demande" in message.subject.lower() for message in mail.outbox)
    # the request holds its slot...
    with pytest.raises(Conflict):
        book(org, admin, room, company, at(monday, 10), at(monday, 11))
    # ...until it expires: then the slot is free again and the request is marked expired
    later = request.expires_at + datetime.timedelta(minutes=1)
    again = services.create_booking(
        organization=org,
        by=admin,
        now=later,
        data={"space": room, "company": company, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
    )
    request.refresh_from_db()
    assert request.status == Booking.Status.EXPIRED and again.status == Booking.Status.CONFIRMED


def test_confirm_and_decline(org, admin, room, company, monday, django_capture_on_commit_callbacks):
    room.booking.auto_accept = False
    room.booking.save()
    manager = member(company, Contact.CompanyRole.MANAGER)
    first = services.create_booking(
        organization=org,
        by=None,
        member=manager,
        data={"space": room, "starts_at": at(monday, 9), "ends_at": at(monday, 10)},
    )
    second = services.create_booking(
        organization=org,
        by=None,
        member=manager,
        data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.confirm_booking(booking=first, by=admin)
    assert first.status == Booking.Status.CONFIRMED and first.consumption_id and first.sequence == 1
    [message] = [m for m in mail.outbox if manager.email in m.to]
    assert message.attachments[0][0] == "invitation.ics"
    second = services.decline_booking(booking=second, by=admin, reason="Salle en maintenance")
    assert second.status == Booking.Status.DECLINED and not second.holds_slot
    with pytest.raises(services.BookingError):
        services.confirm_booking(booking=second, by=admin)


def test_expire_requests_job(org, room, company, monday):
    room.booking.auto_accept = False
    room.booking.save()
    manager = member(company, Contact.CompanyRole.MANAGER)
    request = services.create_booking(
        organization=org,
        by=None,
        member=manager,
        data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
    )
    assert services.expire_requests(now=request.expires_at - datetime.timedelta(seconds=1)) == 0
    assert services.expire_requests(now=request.expires_at) == 1
    request.refresh_from_db()
    assert request.status == Booking.Status.EXPIRED


# --------------------------------------------------------------------------------------------------
# Cancel and refund
# --------------------------------------------------------------------------------------------------
def test_member_cancels_before_the_deadline_only(org, room, company, monday):
    manager = member(company, Contact.CompanyRole.MANAGER)
    booking = services.create_booking(
        organization=org,
        by=None,
        member=manager,
        data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
    )
    late = booking.starts_at - datetime.timedelta(hours=2)
    with pytest.raises(services.BookingError) as refused:
        services.cancel_booking(booking=booking, by=None, member=manager, now=late)
    assert refused.value.code == "deadline_passed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.consumption_id
    booking = services.cancel_booking(
        booking=booking, by=None, member=manager, now=booking.starts_at - datetime.timedelta(hours=30)
    )
    assert booking.status == Booking.Status.CANCELLED and booking.refund == "money"
    assert not Consumption.objects.exists()  # not billed yet: withdrawn


def test_another_companys_member_cannot_cancel(org, room, company, monday):
    owner = member(company)
    booking = services.create_booking(
        organization=org,
        by=None,
        member=owner,
        data={"space": room, "starts_at": at(monday, 10), "ends_at": at(monday, 11)},
    )
    stranger = member(CompanyFactory(organization=org))
    with pytest.raises(RightsError):
        services.cancel_booking(booking=booking, by=None, member=stranger)


def test_credits_are_refunded_to_their_grants(org, admin, room, company, monday):
    credits.assign_plan(company=company, by=admin, data={"plan": PlanFactory(organization=org)})
    booking = book(org, admin, room, company, at(monday, 10), at(monday, 13), payment="credits")
    assert credits.balance(company, None, monday) == Decimal("7.00")
    services.cancel_booking(booking=booking, by=admin, refund="credits")
    assert credits.balance(company, None, monday) == Decimal("10.00")
    # refunding twice gives nothing more
    assert credits.refund(booking=booking, by=admin) == []


def test_staff_cancels_without_refund_keeps_the_billing(org, admin, room, company, monday):
    booking = book(org, admin, room, company, at(monday, 10), at(monday, 11))
    services.cancel_booking(booking=booking, by=admin, refund="")
    assert Consumption.objects.filter(pk=booking.consumption_id).exists()


# --------------------------------------------------------------------------------------------------
# Credits: validity, order, exactly-once renewal, never negative
# --------------------------------------------------------------------------------------------------
def test_not_enough_credits_is_refused(org, admin, room, company, monday):
    credits.assign_plan(company=company, by=admin, data={"plan": PlanFactory(organization=org, credits=Decimal(1))})
    with pytest.raises(Conflict) as refused:
        book(org, admin, room, company, at(monday, 10), at(monday, 12), payment="credits")
    assert refused.value.code == "not_enough_credits"
    assert not Booking.objects.exists()
    assert not CreditEntry.objects.filter(kind="spend").exists()


def test_credits_from_an_expired_pack_cannot_pay(org, admin, room, company):
    today = datetime.date.today()
    pack = PackFactory(organization=org, credits=Decimal(5), validity_days=3)
    credits.assign_plan(company=company, by=admin, data={"plan": pack, "starts_on": today}, today=today)
    later = next_weekday(0, after=today + datetime.timedelta(days=3))
    with pytest.raises(Conflict) as refused:
        book(org, admin, room, company, at(later, 10), at(later, 11), payment="credits")
    assert refused.value.code == "not_enough_credits"


def test_soonest_expiring_credits_are_spent_first(org, admin, room, company, monday):
    today = datetime.date.today()
    credits.gesture(company=company, contact=None, amount=Decimal(5), by=admin, note="long", days=300)
    short = credits.gesture(company=company, contact=None, amount=Decimal(2), by=admin, note="short", days=20)
    booking = book(org, admin, room, company, at(monday, 10), at(monday, 13), payment="credits")
    spends = {entry.grant_id: entry.amount for entry in booking.credit_entries.all()}
    assert spends[short.pk] == Decimal("-2.00") and sum(spends.values()) == Decimal("-3.00")
    assert today <= monday


def test_renewal_grants_each_period_once(org, admin, company):
    start = datetime.date(2026, 1, 15)
    assignment = credits.assign_plan(
        company=company, by=admin, today=start, data={"plan": PlanFactory(organization=org), "starts_on": start}
    )
    assert assignment.credit_entries.count() == 1
    for _ in range(3):
        credits.renew(today=datetime.date(2026, 3, 20))
    grants = list(assignment.credit_entries.filter(kind="grant").order_by("valid_from"))
    assert [(g.valid_from, g.valid_until) for g in grants] == [
        (datetime.date(2026, 1, 15), datetime.date(2026, 2, 14)),
        (datetime.date(2026, 2, 15), datetime.date(2026, 3, 14)),
        (datetime.date(2026, 3, 15), datetime.date(2026, 4, 14)),
    ]
    # the two past periods' unused credits are written off once
    assert CreditEntry.objects.filter(kind="expire").count() == 2
    credits.renew(today=datetime.date(2026, 3, 21))
    assert CreditEntry.objects.filter(kind="expire").count() == 2
    assert credits.balance(company, None, datetime.date(2026, 3, 20)) == Decimal("10.00")


def test_the_ledger_refuses_malformed_entries(org, company):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditEntry.objects.create(organization=org, company=company, kind="spend", amount=Decimal("5"))


def test_plan_discount_applies_to_the_price(org, admin, room, company, monday):
    plan = PlanFactory(organization=org, credits=Decimal(0), booking_discount=Decimal("25"))
    credits.assign_plan(company=company, by=admin, data={"plan": plan})
    booking = book(org, admin, room, company, at(monday, 10), at(monday, 12))
    assert booking.price_excl_vat == Decimal("45.00") and booking.discount_percent == Decimal("25.00")


def test_the_cheapest_rate_wins(room, monday):
    assert services.list_price(room, at(monday, 9), at(monday, 13)) == Decimal("100.00")
    assert services.list_price(room, at(monday, 9), at(monday, 17)) == Decimal("180.00")
    assert services.list_price(room, at(monday, 9), at(monday, 9, 30)) == Decimal("15.00")


# --------------------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------------------
def test_free_slots_and_free_spaces(org, admin, room, center, company, monday):
    other = RoomFactory(organization=org, center=center)
    book(org, admin, room, company, at(monday, 10), at(monday, 12))
    slots = availability.free_slots(room, monday, minutes=60)
    starts = [slot.starts_at.astimezone(center.tz).strftime("%H:%M") for slot in slots]
    assert "09:00" in starts and "10:00" not in starts and "11:30" not in starts and "12:00" in starts
    assert starts[0] == "08:00" and starts[-1] == "18:00"
    free = availability.free_spaces(org.pk, at(monday, 11), at(monday, 12))
    assert other in free and room not in free
    assert availability.free_spaces(org.pk, at(monday, 20), at(monday, 21)) == []


def test_free_spaces_query_count_does_not_grow(org, admin, center, company, monday, django_assert_max_num_queries):
    for _ in range(3):
        RoomFactory(organization=org, center=center)
    with django_assert_max_num_queries(5):
        availability.free_spaces(org.pk, at(monday, 10), at(monday, 11))
    for _ in range(20):
        BookingFactory(space=RoomFactory(organization=org, center=center), company=company)
    CoworkingFactory(organization=org, center=center)
    with django_assert_max_num_queries(5):
        availability.free_spaces(org.pk, at(monday, 10), at(monday, 11))


def test_month_view(org, admin, room, company, monday):
    book(org, admin, room, company, at(monday, 8), at(monday, 19))
    days = {state.day: state for state in availability.month_view(room, monday.year, monday.month)}
    assert days[monday].state == "full"
    saturday = monday + datetime.timedelta(days=5)
    if saturday.month == monday.month:
        assert days[saturday].state == "closed"


# --------------------------------------------------------------------------------------------------
# Daylight saving (Europe/Paris: 29/03/2026 and 25/10/2026)
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("day", [datetime.date(2026, 3, 29), datetime.date(2026, 10, 25)])
def test_slots_stay_on_the_wall_clock_across_dst(org, center, day):
    from comptoir.core.models import OpeningHours

    OpeningHours.objects.create(center=center, weekday=6, opens_at=datetime.time(0), closes_at=datetime.time(6))
    OpeningHours.objects.create(center=center, weekday=6, opens_at=datetime.time(8), closes_at=datetime.time(12))
    room = RoomFactory(organization=org, center=center)
    before = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    slots = availability.free_slots(room, day, minutes=60, now=before)
    local = [slot.starts_at.astimezone(center.tz) for slot in slots]
    morning = [f"{moment:%H:%M}" for moment in local if moment.hour >= 8]
    assert morning == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"]
    for slot in slots:
        if slot.starts_at.astimezone(center.tz).hour >= 8:
            assert slot.ends_at - slot.starts_at == datetime.timedelta(hours=1)
    night = [f"{moment:%H:%M}" for moment in local if moment.hour < 8]
    if day.month == 3:
        assert "02:00" not in night  # the skipped hour is never offered
    assert len(set(slot.starts_at for slot in slots)) == len(slots)


@pytest.mark.parametrize("day", [datetime.date(2026, 3, 30), datetime.date(2026, 10, 26)])
def test_opening_hours_in_utc_follow_the_offset(center, day):
    [(start, end)] = availability.opening_intervals(center, day)
    expected = 6 if day.month == 3 else 7  # 8:00 Paris = 06:00 UTC in summer, 07:00 UTC in winter
    assert start.hour == expected and (end - start) == datetime.timedelta(hours=11)


# --------------------------------------------------------------------------------------------------
# PostgreSQL: the exclusion constraint is the safety net
# --------------------------------------------------------------------------------------------------
def test_exclusion_constraint_refuses_an_overlap_written_behind_the_services(org, room, company, monday):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's exclusion constraint (SQLite serializes writers instead)")
    BookingFactory(space=room, company=company, starts_at=at(monday, 10), ends_at=at(monday, 12))
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(space=room, company=company, starts_at=at(monday, 11), ends_at=at(monday, 13))
    # a cancelled booking does not hold its slot
    BookingFactory(
        space=room, company=company, starts_at=at(monday, 11), ends_at=at(monday, 13), status=Booking.Status.CANCELLED
    )


def test_free_spaces_counts_the_seats_of_a_coworking_area(org, admin, center, company, monday):
    area = CoworkingFactory(organization=org, center=center, capacity=2, amenities=["écran"])
    assert availability.free_spaces(org.pk, at(monday, 10), at(monday, 11), seats=2) == [area]
    assert availability.free_space_ids(org.pk, at(monday, 10), at(monday, 11), amenities=["écran"]) == [area.pk]
    assert availability.free_space_ids(org.pk, at(monday, 10), at(monday, 11), amenities=["visio"]) == []
    book(org, admin, area, company, at(monday, 9), at(monday, 12))
    assert availability.free_spaces(org.pk, at(monday, 10), at(monday, 11)) == [area]
    assert availability.free_spaces(org.pk, at(monday, 10), at(monday, 11), seats=2) == []
    assert availability.free_space_ids(org.pk, at(monday, 10), at(monday, 11), kind="meeting_room") == []
