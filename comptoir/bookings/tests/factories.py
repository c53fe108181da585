"""Factories of the bookings app, and its objects for the tenancy walker."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from comptoir.bookings.models import BlockedSlot, Booking, CalendarFeed, PlanAssignment, SpaceBooking
from comptoir.catalog.models import Product, Space
from comptoir.catalog.tests.factories import ProductFactory, SpaceFactory
from comptoir.core.testing import register_tenant_object
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory


class RoomFactory(SpaceFactory):
    """A bookable meeting room (open 8:00-19:00 Monday to Friday, the center factory's hours)."""

    name = factory.Sequence(lambda n: f"Salle {n + 1}")
    kind = Space.Kind.MEETING_ROOM
    capacity = 8
    is_bookable = True


class CoworkingFactory(SpaceFactory):
    name = factory.Sequence(lambda n: f"Open space {n + 1}")
    kind = Space.Kind.COWORKING_AREA
    capacity = 3
    is_bookable = True


class SpaceBookingFactory(DjangoModelFactory):
    class Meta:
        model = SpaceBooking

    space = factory.SubFactory(RoomFactory)
    organization = factory.SelfAttribute("space.organization")
    hour_price = Decimal("30.00")
    half_day_price = Decimal("100.00")
    day_price = Decimal("180.00")


class PlanFactory(ProductFactory):
    kind = Product.Kind.PLAN
    service_type = ""
    plan_type = Product.PlanType.SUBSCRIPTION
    credits = Decimal("10")
    credit_period = Product.CreditPeriod.MONTH
    unit_price = Decimal("190.00")


class PackFactory(PlanFactory):
    plan_type = Product.PlanType.PACK
    credit_period = ""
    validity_days = 30
    unit = Product.Unit.UNIT


def next_weekday(weekday: int = 0, *, after: datetime.date | None = None) -> datetime.date:
    """The next given weekday (0 = Monday) strictly after `after` (today by default)."""
    day = (after or timezone.localdate()) + datetime.timedelta(days=1)
    while day.weekday() != weekday:
        day += datetime.timedelta(days=1)
    return day


def at(day: datetime.date, hour: int, minute: int = 0, tz: str = "Europe/Paris") -> datetime.datetime:
    import zoneinfo

    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zoneinfo.ZoneInfo(tz))


class BookingFactory(DjangoModelFactory):
    """A bare confirmed booking row (no price, no credits); go through the services for the rules."""

    class Meta:
        model = Booking

    space = factory.SubFactory(RoomFactory)
    organization = factory.SelfAttribute("space.organization")
    center = factory.SelfAttribute("space.center")
    company = factory.SubFactory(CompanyFactory, organization=factory.SelfAttribute("..organization"))
    starts_at = factory.LazyFunction(lambda: at(next_weekday(0), 10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=1))
    status = Booking.Status.CONFIRMED
    payment = Booking.Payment.FREE


class BlockedSlotFactory(DjangoModelFactory):
    class Meta:
        model = BlockedSlot

    space = factory.SubFactory(RoomFactory)
    organization = factory.SelfAttribute("space.organization")
    center = factory.SelfAttribute("space.center")
    starts_at = factory.LazyFunction(lambda: at(next_weekday(1), 9))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=2))
    reason = "Travaux"


class PlanAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = PlanAssignment

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    plan = factory.SubFactory(PlanFactory, organization=factory.SelfAttribute("..organization"))
    starts_on = factory.LazyFunction(timezone.localdate)


class CalendarFeedFactory(DjangoModelFactory):
    """A member's feed (its raw token is unknown: go through services.feeds.create_feed for one to read)."""

    class Meta:
        model = CalendarFeed

    contact = factory.SubFactory(ContactFactory)
    organization = factory.SelfAttribute("contact.organization")
    token_hash = factory.Sequence(lambda n: f"{n:064x}")


register_tenant_object("booking", lambda organization: BookingFactory(
    space=RoomFactory(organization=organization, center=CenterFactory(organization=organization))))  # fmt: skip
register_tenant_object("blockedslot", lambda organization: BlockedSlotFactory(
    space=RoomFactory(organization=organization, center=CenterFactory(organization=organization))))  # fmt: skip
register_tenant_object("plan", lambda organization: PlanAssignmentFactory(
    company=CompanyFactory(organization=organization)))  # fmt: skip
register_tenant_object("calendarfeed", lambda organization: CalendarFeedFactory(
    contact=ContactFactory(company=CompanyFactory(organization=organization))))  # fmt: skip
register_tenant_object("spacebooking", lambda organization: SpaceBookingFactory(  # the API's id is the space's
    space=RoomFactory(organization=organization, center=CenterFactory(organization=organization))).space)  # fmt: skip
__all__ = ["CenterFactory", "ContactFactory", "OrganizationFactory"]
