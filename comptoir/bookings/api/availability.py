"""REST endpoints of availability under /api/v1/availability/ (issue 7 items 1 and 11).

    GET /availability/slots/?space=&date=&minutes=&seats=                    free slots of a space on a day
    GET /availability/spaces/?starts_at=&ends_at=&center=&kind=&capacity=&seats=&amenities=
                                                                             spaces free for a slot
    GET /availability/month/?space=&month=YYYY-MM                            per day: open and free minutes

One service answers (comptoir.bookings.services.availability), with a constant number of queries; slots are
expanded in the center's timezone (right across daylight-saving changes) and answered as UTC instants with their
local rendering. Bad parameters are 400 at the parameter, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.bookings.api import common
from comptoir.bookings.services import availability
from comptoir.catalog.models import Space
from comptoir.core import selectors as core_selectors
from comptoir.core.api.serializers import ScopedPrimaryKeyField
from comptoir.core.models import Center, Organization
from comptoir.core.selectors import allowed_center_ids

MONTH = re.compile(r"^(?P<year>2\d{3})-(?P<month>0[1-9]|1[0-2])$")
MAX_AMENITIES = 20
BOOKABLE_KINDS = [Space.Kind.MEETING_ROOM, Space.Kind.DROP_IN_OFFICE, Space.Kind.COWORKING_AREA,
                  Space.Kind.SHARED_OFFICE]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------------
def _space_field() -> ScopedPrimaryKeyField:
    return ScopedPrimaryKeyField(model=Space, selector=common.bookable_spaces_for, help_text="Id of the space.")


class SlotsQuery(serializers.Serializer):
    space = _space_field()
    date = common.BoundedDateField(help_text="The day (YYYY-MM-DD), in the center's calendar.")
    minutes = serializers.IntegerField(required=False, min_value=5, max_value=1440,
                                       help_text="Length of each slot (default: the space's step).")  # fmt: skip
    seats = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1,
                                     help_text="Seats wanted (a coworking area).")  # fmt: skip

    def validate_space(self, space: Space) -> Space:
        availability.check_bookable(space)
        return space


class SpacesQuery(serializers.Serializer):
    starts_at = common.AwareDateTimeField(help_text="Start of the slot, ISO 8601 with an offset.")
    ends_at = common.AwareDateTimeField(help_text="End of the slot, ISO 8601 with an offset.")
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, required=False,
                                   help_text="Id of a center.")  # fmt: skip
    kind = serializers.ChoiceField(choices=BOOKABLE_KINDS, required=False,
                                   help_text="meeting_room, drop_in_office, coworking_area or shared_office.")  # fmt: skip
    capacity = serializers.IntegerField(required=False, min_value=1, max_value=100000,
                                        help_text="At least this many people.")  # fmt: skip
    seats = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1,
                                     help_text="Seats wanted (a coworking area).")  # fmt: skip
    amenities = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                      help_text="Equipment every space must have, comma-separated (projector,screen).")  # fmt: skip

    def validate_amenities(self, value: str) -> list[str]:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if len(items) > MAX_AMENITIES or any(len(item) > 100 or "\x00" in item for item in items):
            raise serializers.ValidationError(_("Au plus %(count)d équipements.") % {"count": MAX_AMENITIES})
        return items

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": [_("La fin doit être après le début.")]})
        if attrs["ends_at"] - attrs["starts_at"] > availability.MAX_BOOKING:
            raise serializers.ValidationError({"ends_at": [_("Un créneau dure au plus une journée.")]})
        return attrs


class MonthQuery(serializers.Serializer):
    space = _space_field()
    month = serializers.CharField(max_length=7, help_text="The month, YYYY-MM.")

    def validate_month(self, value: str) -> tuple[int, int]:
        match = MONTH.match(value)
        if match is None:
            raise serializers.ValidationError(_("Mois invalide : AAAA-MM, par exemple 2026-11."))
        return int(match["year"]), int(match["month"])


# --------------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------------
class SlotOut(serializers.Serializer):
    starts_at = serializers.DateTimeField(help_text="UTC instant.")
    ends_at = serializers.DateTimeField(help_text="UTC instant.")
    local_start = serializers.CharField(help_text="Start in the center's timezone, HH:MM.")
    local_end = serializers.CharField(help_text="End in the center's timezone, HH:MM.")


class SlotsOut(serializers.Serializer):
    space = serializers.IntegerField()
    date = serializers.DateField()
    timezone = serializers.CharField(help_text="The center's IANA timezone.")
    minutes = serializers.IntegerField(help_text="Length of each slot.")
    slots = SlotOut(many=True)


class FreeSpaceOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    center = serializers.IntegerField()
    center_name = serializers.CharField()
    capacity = serializers.IntegerField()
    amenities = serializers.ListField(child=serializers.CharField())


class FreeSpacesOut(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    count = serializers.IntegerField()
    spaces = FreeSpaceOut(many=True)


class DayOut(serializers.Serializer):
    date = serializers.DateField()
    state = serializers.ChoiceField(choices=["closed", "full", "free", "partial"])
    open_minutes = serializers.IntegerField()
    free_minutes = serializers.IntegerField()


class MonthOut(serializers.Serializer):
    space = serializers.IntegerField()
    month = serializers.CharField()
    days = DayOut(many=True)


# --------------------------------------------------------------------------------------------------
# The viewset
# --------------------------------------------------------------------------------------------------
class AvailabilityViewSet(viewsets.GenericViewSet):
    """Availability of the bookable spaces: the free slots of a space on a day, the spaces free for a slot (with
    filters), and a month's overview of a space. A space is free when it is bookable and active, its center is open
    (per weekday, in its timezone), no blocked slot covers the time and it is under capacity (a coworking area
    holds bookings up to its seats). Right `bookings.view_booking`."""

    # Questions, not a collection of objects: no list or detail route, no pagination, no filter backend.
    model = Space
    queryset = Space.objects.none()
    pagination_class = None
    filter_backends: list[type] = []
    required_rights = {"slots": "bookings.view_booking", "spaces": "bookings.view_booking",
                       "month": "bookings.view_booking"}  # fmt: skip

    @property
    def organization(self) -> Organization:
        return self.request._request.organization  # type: ignore[attr-defined]

    def _query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        query = serializer_class(data=self.request.query_params.dict(), context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)

    @extend_schema(parameters=[SlotsQuery], responses=SlotsOut, summary="Free slots of a space on a day.")
    @action(detail=False, methods=["get"])
    def slots(self, request: Request) -> Response:
        query = self._query(SlotsQuery)
        space, day = query["space"], query["date"]
        minutes = query.get("minutes") or availability.settings_of(space).slot_minutes
        tz = space.center.tz
        slots = availability.free_slots(space, day, minutes=minutes, seats=query["seats"])
        rows = []
        for slot in slots:
            start, end = slot.local(tz)
            rows.append({"starts_at": slot.starts_at, "ends_at": slot.ends_at, "local_start": f"{start:%H:%M}",
                         "local_end": f"{end:%H:%M}"})  # fmt: skip
        return Response(SlotsOut({"space": space.pk, "date": day, "timezone": str(tz), "minutes": minutes,
                                  "slots": rows}).data)  # fmt: skip

    @extend_schema(parameters=[SpacesQuery], responses=FreeSpacesOut, summary="Spaces free for a slot.")
    @action(detail=False, methods=["get"])
    def spaces(self, request: Request) -> Response:
        query = self._query(SpacesQuery)
        center = query.get("center")
        found = availability.free_spaces(
            self.organization.pk, query["starts_at"], query["ends_at"], center=center.pk if center else None,
            kind=query.get("kind") or None, capacity=query.get("capacity"), amenities=query.get("amenities") or (),
            seats=query["seats"],
        )  # fmt: skip
        restricted = allowed_center_ids(request.user, self.organization)  # type: ignore[arg-type]
        if restricted is not None:
            found = [space for space in found if space.center_id in restricted]
        rows = [{"id": space.pk, "name": space.name, "kind": space.kind, "center": space.center_id,
                 "center_name": space.center.name, "capacity": space.capacity,
                 "amenities": [str(item) for item in (space.amenities or [])]} for space in found]  # fmt: skip
        return Response(FreeSpacesOut({"starts_at": query["starts_at"], "ends_at": query["ends_at"],
                                       "count": len(rows), "spaces": rows}).data)  # fmt: skip

    @extend_schema(parameters=[MonthQuery], responses=MonthOut, summary="A month's overview of a space.")
    @action(detail=False, methods=["get"])
    def month(self, request: Request) -> Response:
        query = self._query(MonthQuery)
        space, (year, month) = query["space"], query["month"]
        days = availability.month_view(space, year, month)
        return Response(MonthOut({"space": space.pk, "month": f"{year:04d}-{month:02d}", "days": [
            {"date": day.day, "state": day.state, "open_minutes": day.open_minutes, "free_minutes": day.free_minutes}
            for day in days]}).data)  # fmt: skip


ROUTES = [("availability", AvailabilityViewSet, "availability")]
