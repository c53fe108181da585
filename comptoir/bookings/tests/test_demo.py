"""The bookings demo: spaces configured, plans and credits, bookings over the history and the next month,
requests, a declined and a cancelled booking, a maintenance block, the portal member's credits and bookings."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from comptoir.bookings.demo import CANCELLED, DECLINED, MAINTENANCE, ON_REQUEST_ROOM
from comptoir.bookings.models import BlockedSlot, Booking, CreditEntry, PlanAssignment, SpaceBooking
from comptoir.bookings.services import credits
from comptoir.core import demo
from comptoir.crm.demo import PORTAL_MEMBER_LOCAL_PART
from comptoir.crm.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):  # type: ignore[no-untyped-def]
    test_settings = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                                      MEDIA_ROOT=tmp_path_factory.mktemp("media"))  # fmt: skip
    with django_db_blocker.unblock(), test_settings, transaction.atomic():
        yield demo.build_demo()
        transaction.set_rollback(True)


def test_the_spaces_are_configured_with_one_room_on_request(built):
    settings = SpaceBooking.objects.filter(organization=built.organization).select_related("space")
    kinds = {row.space.kind for row in settings}
    assert kinds == {"meeting_room", "drop_in_office", "coworking_area"}
    assert all(row.space.is_bookable and row.hour_price and row.day_price for row in settings)
    on_request = [row for row in settings if not row.auto_accept]
    assert len(on_request) == 1 and on_request[0].space.name == ON_REQUEST_ROOM


def test_bookings_over_the_history_and_the_next_month_with_every_status(built):
    organization = built.organization
    now = timezone.now()
    bookings = Booking.objects.filter(organization=organization)
    assert bookings.filter(starts_at__lt=now, status=Booking.Status.CONFIRMED).count() >= 40
    assert bookings.filter(starts_at__gt=now, status=Booking.Status.CONFIRMED).count() >= 20
    assert bookings.filter(starts_at__lt=now - timezone.timedelta(days=40)).exists()
    assert bookings.filter(starts_at__gt=now + timezone.timedelta(days=20)).exists()
    assert bookings.filter(status=Booking.Status.REQUESTED).count() >= 2
    assert bookings.get(status=Booking.Status.DECLINED).reason == DECLINED
    cancelled = bookings.get(status=Booking.Status.CANCELLED)
    assert cancelled.reason == CANCELLED and cancelled.refund == Booking.Refund.CREDITS
    assert CreditEntry.objects.filter(booking=cancelled, kind=CreditEntry.Kind.REFUND).exists()
    assert {"credits", "invoice"} <= set(bookings.values_list("payment", flat=True))
    assert bookings.filter(space__kind="coworking_area").exists()
    assert bookings.filter(channel=Booking.Channel.PORTAL).exists()
    # never two holding bookings overlapping on a room
    holding = list(bookings.filter(status__in=Booking.HOLDING, exclusive=True).order_by("space_id", "starts_at"))
    for before, after in itertools.pairwise(holding):
        assert before.space_id != after.space_id or before.ends_at <= after.starts_at


def test_plans_credits_and_a_maintenance_block(built):
    organization = built.organization
    plans = PlanAssignment.objects.filter(organization=organization).select_related("plan")
    assert {"Abonnement Flex 10", "Pack 20 heures de salle"} <= {assignment.plan.name for assignment in plans}
    assert CreditEntry.objects.filter(organization=organization, kind=CreditEntry.Kind.SPEND).count() >= 10
    block = BlockedSlot.objects.get(organization=organization, reason=MAINTENANCE)
    assert block.space is not None and block.cancelled_at is None and block.starts_at > timezone.now()


def test_the_portal_member_has_credits_and_upcoming_bookings(built):
    member = Contact.objects.get(organization=built.organization,
                                 email=f"{PORTAL_MEMBER_LOCAL_PART}@{built.email_domain}")  # fmt: skip
    assert credits.balance(member.company, member) > 0
    upcoming = Booking.objects.filter(contact=member, starts_at__gt=timezone.now(), status__in=Booking.HOLDING)
    assert upcoming.count() >= 3
    assert upcoming.filter(payment=Booking.Payment.CREDITS).exists()


def test_building_twice_adds_no_booking(built):
    count = Booking.objects.filter(organization=built.organization).count()
    again = demo.build_demo()
    assert Booking.objects.filter(organization=built.organization).count() == count
    assert "bookings" not in again.created


def test_the_portal_member_paid_an_office_up_front_and_bought_a_pack_online(built):
    member = Contact.objects.get(organization=built.organization,
                                 email__startswith=f"{PORTAL_MEMBER_LOCAL_PART}@")  # fmt: skip
    assert SpaceBooking.objects.filter(organization=built.organization, prepayment=True,
                                       space__kind="drop_in_office").exists()  # fmt: skip
    prepaid_booking = Booking.objects.select_related("invoice").get(company=member.company, payment="prepaid")
    assert prepaid_booking.status == Booking.Status.CONFIRMED
    assert (prepaid_booking.invoice.origin, prepaid_booking.invoice.payment_status) == ("online", "paid")
    bought = PlanAssignment.objects.select_related("invoice").get(company=member.company, invoice__isnull=False)
    assert bought.status == PlanAssignment.Status.ACTIVE and bought.invoice.payment_status == "paid"
    assert CreditEntry.objects.filter(assignment=bought, kind="grant").count() == 1
