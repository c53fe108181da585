"""Reads of the catalog's spaces that depend on who asks: tenant-scoped, center-restricted, without N+1."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from comptoir.catalog.models import FloorPlan, Space, SpacePhoto
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def spaces_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """The organization's spaces in the centers the staff member may work in."""
    if not rights.has_right(user, "catalog.view_space", organization):
        return Space.objects.none()
    qs = Space.objects.filter(organization=_org_id(organization)).select_related("center")
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


def space_rows_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """The space list's rows, with their number of photos (one query whatever the number of rows)."""
    photos = SpacePhoto.objects.filter(space=OuterRef("pk")).order_by().values("space").annotate(total=Count("pk"))
    return spaces_for(user, organization).annotate(
        photo_count=Coalesce(Subquery(photos.values("total"), output_field=IntegerField()), 0)
    )


def space_with_photos(qs: QuerySet[Space]) -> QuerySet[Space]:
    return qs.prefetch_related(Prefetch("photos", queryset=SpacePhoto.objects.order_by("position", "id")))


def space_photos_for(user: User, organization: Organization | int) -> QuerySet[SpacePhoto]:
    return SpacePhoto.objects.filter(space__in=spaces_for(user, organization)).select_related("space__center")


def floor_plan_of(space: Space) -> FloorPlan | None:
    """The plan of the space's floor in its center, if one was drawn."""
    return FloorPlan.objects.filter(center_id=space.center_id, floor=space.floor).first()
