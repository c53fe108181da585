"""Reads of the public pages: only what an operator shows the public (active organizations and centers)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from comptoir.core.models import Center, OpeningHours, Organization


def public_organizations() -> QuerySet[Organization]:
    return Organization.objects.filter(is_active=True)


def public_centers(*, organization: Organization) -> QuerySet[Center]:
    """The organization's active centers with their opening hours (two queries, whatever their number)."""
    return (
        Center.objects.filter(organization=organization, organization__is_active=True, is_active=True)
        .prefetch_related(
            Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens_at"), to_attr="hours")
        )
        .order_by("name", "id")
    )
