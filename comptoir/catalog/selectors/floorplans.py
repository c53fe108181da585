"""Reads of the floor plans: tenant-scoped, limited to the viewer's centers, a constant number of queries."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from comptoir.catalog.models import FloorPlan, Space
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids

__all__ = ["SpaceRow", "floor_plans_for", "plan_space_rows", "plan_spaces"]


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def _space_count(**filters: object) -> Coalesce:
    spaces = (
        Space.objects.filter(center_id=OuterRef("center_id"), floor=OuterRef("floor"), **filters)
        .order_by()
        .values("center_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(spaces, output_field=IntegerField()), Value(0))


def floor_plans_for(user: User, organization: Organization | int) -> QuerySet[FloorPlan]:
    """The plans of the organization's centers the user sees, with `space_count` and `drawn_count`."""
    if not rights.has_right(user, "catalog.view_floorplan", organization):
        return FloorPlan.objects.none()
    qs = (
        FloorPlan.objects.filter(organization=_org_id(organization))
        .select_related("center")
        .annotate(space_count=_space_count(), drawn_count=_space_count(shape__isnull=False))
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


def plan_spaces(plan: FloorPlan) -> QuerySet[Space]:
    """The spaces of the plan's center and floor, drawn or not (by name)."""
    return Space.objects.filter(
        organization_id=plan.organization_id, center_id=plan.center_id, floor=plan.floor
    ).order_by("name", "id")


class SpaceRow(NamedTuple):
    """What a plan's drawing needs of a space (lighter than a model instance: the SVG of a 200-space floor
    is drawn on every view of the plan)."""

    pk: int
    name: str
    shape: Any
    is_active: bool


def plan_space_rows(plan: FloorPlan) -> list[SpaceRow]:
    """The plan's spaces as SpaceRow (one query)."""
    return [SpaceRow(*row) for row in plan_spaces(plan).values_list("id", "name", "shape", "is_active")]
