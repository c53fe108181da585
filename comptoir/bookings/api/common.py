"""What the bookings API resources share: tenant-scoped reads (the token's user and organization, restricted to
the staff member's centers) and the input fields that turn client values into objects or refuse them at the field.

Every related id goes through a selector, so another organization's id is "does not exist", like an unknown one.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from comptoir.bookings.models import BlockedSlot, Booking, CreditEntry, PlanAssignment
from comptoir.catalog.models import Product, Space
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids

# Dates an API client may send: anything outside is refused at the field, never an overflow further down.
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)


def org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def _centers(qs: QuerySet, user: User, organization: Organization | int, field: str = "center_id") -> QuerySet:
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(**{f"{field}__in": restricted})
    return qs


def bookings_for(user: User, organization: Organization | int) -> QuerySet[Booking]:
    """The organization's bookings in the staff member's centers (`bookings.view_booking`)."""
    if not rights.has_right(user, "bookings.view_booking", organization):
        return Booking.objects.none()
    qs = Booking.objects.filter(organization_id=org_id(organization)).select_related(
        "space", "center", "company", "contact", "contract"
    )
    return _centers(qs, user, organization)


def blocks_for(user: User, organization: Organization | int) -> QuerySet[BlockedSlot]:
    if not rights.has_right(user, "bookings.view_blockedslot", organization):
        return BlockedSlot.objects.none()
    qs = BlockedSlot.objects.filter(organization_id=org_id(organization)).select_related("center", "space")
    return _centers(qs, user, organization)


def plans_for(user: User, organization: Organization | int) -> QuerySet[PlanAssignment]:
    """Plan assignments of the companies of the staff member's centers (and of companies without a center)."""
    if not rights.has_right(user, "bookings.view_planassignment", organization):
        return PlanAssignment.objects.none()
    qs = PlanAssignment.objects.filter(organization_id=org_id(organization)).select_related(
        "company", "contact", "plan"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(Q(company__center_id__in=restricted) | Q(company__center__isnull=True))
    return qs


def credit_entries_for(user: User, organization: Organization | int) -> QuerySet[CreditEntry]:
    if not rights.has_right(user, "bookings.view_creditentry", organization):
        return CreditEntry.objects.none()
    return CreditEntry.objects.filter(organization_id=org_id(organization))


def bookable_spaces_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """The spaces a booking, a block or a feed may name: the organization's, in the staff member's centers (whether
    one is bookable is the services' to say, with its own message)."""
    if not rights.is_staff_of(user, organization):
        return Space.objects.none()
    qs = Space.objects.filter(organization_id=org_id(organization)).select_related("center", "booking")
    return _centers(qs, user, organization)


def plan_products_for(user: User, organization: Organization | int) -> QuerySet[Product]:
    if not rights.is_staff_of(user, organization):
        return Product.objects.none()
    return Product.objects.filter(organization_id=org_id(organization), kind=Product.Kind.PLAN)


# --------------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------------
class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its offset (2026-11-23T14:30:00+01:00 or …Z): a time without one is refused rather
    than guessed (which timezone: the server's, the center's?)."""

    default_error_messages = {
        "naive": _("Indiquez le fuseau horaire (par exemple 2026-11-23T14:30:00+01:00)."),
        "range": _("Date hors des limites (2000 à 2999)."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime.datetime:
        if isinstance(value, str):
            parsed = _parse_instant(value)
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        try:
            result = super().to_internal_value(value)
        except OverflowError:
            self.fail("range")
        if not FIRST_DAY <= result.date() <= LAST_DAY:
            self.fail("range")
        return result


def _parse_instant(value: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


class BoundedDateField(serializers.DateField):
    default_error_messages = {"range": _("Date hors des limites (2000 à 2999).")}

    def to_internal_value(self, value: Any) -> datetime.date:
        result = super().to_internal_value(value)
        if not FIRST_DAY <= result <= LAST_DAY:
            self.fail("range")
        return result


def money(value: Any) -> str:
    return f"{value:.2f}"
