"""Reads of bookings and blocked slots that depend on who asks: tenant-scoped, limited to the viewer's centers,
with what a list shows selected in the same query (a list page makes a fixed number of queries).

Shared by the back office pages (comptoir.bookings.views.bookings / blocks); the API may use them too.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from comptoir.bookings.models import BlockedSlot, Booking
from comptoir.bookings.services import availability
from comptoir.catalog.models import Product, Space
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def bookings_for(user: User, organization: Organization | int) -> QuerySet[Booking]:
    """Staff with `bookings.view_booking` see the organization's bookings of their centers."""
    if not rights.has_right(user, "bookings.view_booking", organization):
        return Booking.objects.none()
    qs = Booking.objects.filter(organization_id=_org_id(organization)).select_related(
        "center", "space", "company", "contact", "contract", "consumption", "invoice", "created_by", "decided_by"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


def blocks_for(user: User, organization: Organization | int) -> QuerySet[BlockedSlot]:
    """Staff with `bookings.view_blockedslot` see the organization's blocked slots of their centers."""
    if not rights.has_right(user, "bookings.view_blockedslot", organization):
        return BlockedSlot.objects.none()
    qs = BlockedSlot.objects.filter(organization_id=_org_id(organization)).select_related(
        "center", "space", "created_by", "cancelled_by"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


def bookable_spaces_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """The bookable, active spaces of the viewer's centers (the create form's choices)."""
    qs = availability.bookable_spaces(_org_id(organization)).select_related("center")
    if not rights.is_staff_of(user, organization):
        return qs.none()
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs.order_by("center__name", "name", "pk")


def spaces_of_centers_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """Every space of the viewer's centers (the list's and the blocks' space filter)."""
    qs = Space.objects.filter(organization_id=_org_id(organization)).select_related("center")
    if not rights.is_staff_of(user, organization):
        return qs.none()
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs.order_by("center__name", "name", "pk")


def consumption_products(organization: Organization | int) -> QuerySet[Product]:
    """The catalog's active products of kind « Consommation » (drinks, prints, equipment)."""
    return Product.objects.filter(
        organization_id=_org_id(organization), kind=Product.Kind.CONSUMPTION, is_active=True
    ).order_by("name", "pk")


def active_blocks_query() -> Q:
    return Q(cancelled_at=None)
