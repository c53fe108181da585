"""REST endpoints of blocked slots under /api/v1/blocked-slots/ (desk « Bloquer des créneaux »).

    GET  /blocked-slots/                  list (center, space, active, starts_after, ends_before)
    POST /blocked-slots/                  block one space, or every space of a center, for one or several slots
    GET  /blocked-slots/{id}/             one blocked slot
    POST /blocked-slots/{id}/unblock/     unblock it (kept, marked cancelled)

Blocking over a booking that holds its slot is refused (409 `booked`, with `error.conflict`): cancel it first.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.bookings.api import common
from comptoir.bookings.api.bookings import AwareDateTimeFilter, _centers, _spaces
from comptoir.bookings.models import BlockedSlot
from comptoir.bookings.services import blocks as services
from comptoir.catalog.models import Space
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.models import Center


class BlockedSlotApiFilter(django_filters.FilterSet):
    api_help = {
        "center": "Id of the center.",
        "space": "Id of the space (blocks of the whole center are not included).",
        "active": "true: still blocking; false: unblocked.",
        "starts_after": "Blocks ending after this instant (ISO 8601 with an offset).",
        "ends_before": "Blocks starting before this instant (ISO 8601 with an offset).",
    }
    center = django_filters.ModelChoiceFilter(queryset=_centers)
    space = django_filters.ModelChoiceFilter(queryset=_spaces)
    active = django_filters.BooleanFilter(field_name="cancelled_at", lookup_expr="isnull")
    starts_after = AwareDateTimeFilter(field_name="ends_at", lookup_expr="gt")
    ends_before = AwareDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = BlockedSlot
        fields = ["center", "space", "active", "starts_after", "ends_before"]


class BlockedSlotOut(serializers.ModelSerializer):
    space_name = serializers.SerializerMethodField(help_text="The space's name; null when the whole center is blocked.")
    is_active = serializers.BooleanField(read_only=True, help_text="Still blocking (not unblocked).")

    class Meta:
        model = BlockedSlot
        fields = ["id", "center", "space", "space_name", "starts_at", "ends_at", "reason", "is_active", "created_at",
                  "created_by", "cancelled_at", "cancelled_by"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"space": {"help_text": "Id of the space; null: every space of the center."}}

    def get_space_name(self, block: BlockedSlot) -> str | None:
        return block.space.name if block.space_id else None


class SlotIn(InSerializer):
    starts_at = common.AwareDateTimeField(help_text="Start, ISO 8601 with an offset.")
    ends_at = common.AwareDateTimeField(help_text="End, after the start.")


class BlockIn(InSerializer):
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, required=False,
                                   allow_null=True, help_text="Id of the center (default: the space's).")  # fmt: skip
    space = ScopedPrimaryKeyField(model=Space, selector=common.bookable_spaces_for, required=False, allow_null=True,
                                  help_text="Id of the space; empty: every space of the center.")  # fmt: skip
    slots = SlotIn(many=True, min_length=1, max_length=services.MAX_SLOTS, help_text="The slots to block.")
    reason = serializers.CharField(max_length=255, help_text="Why (shown on the planning): works, event...")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("center") is None and attrs.get("space") is None:
            raise serializers.ValidationError({"center": [_("Choisissez le centre ou l'espace.")]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Blocked slots, soonest first."),
    retrieve=extend_schema(summary="A blocked slot."),
)
class BlockedSlotViewSet(ApiViewSet):
    """Slots an operator makes unavailable (works, an event...): one space, or every space of a center, with a
    reason. An unblocked slot is kept, marked `cancelled_at`. Rights: `bookings.view_blockedslot`,
    `bookings.add_blockedslot`, `bookings.change_blockedslot` (unblock)."""

    model = BlockedSlot
    serializer_class = BlockedSlotOut
    filterset_class = BlockedSlotApiFilter
    cursor_ordering = ("starts_at", "id")
    required_rights = {
        "list": "bookings.view_blockedslot",
        "retrieve": "bookings.view_blockedslot",
        "create": "bookings.add_blockedslot",
        "unblock": "bookings.change_blockedslot",
    }

    def scoped_queryset(self) -> QuerySet[BlockedSlot]:
        return common.blocks_for(self.request.user, self.organization)

    @extend_schema(request=BlockIn, responses={201: BlockedSlotOut(many=True)}, summary="Block slots.",
                   description="400 `required` (the reason), `wrong_space` (not in the center), `ends_before_start`, "
                   "`too_many`; 409 `booked` when a booking holds one of the slots (with `error.conflict`).")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(BlockIn)
        space = data.get("space")
        center = data.get("center") or space.center
        made = services.block_slots(center=center, by=request.user, space=space, reason=data["reason"],
                                    slots=[(slot["starts_at"], slot["ends_at"]) for slot in data["slots"]])  # fmt: skip
        blocks = self.scoped_queryset().filter(pk__in=[block.pk for block in made]).order_by("starts_at", "id")
        return Response(self.out(blocks, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=BlockedSlotOut,
        summary="Unblock a blocked slot.",
        description="400 `already_unblocked`.",
    )
    @action(detail=True, methods=["post"])
    def unblock(self, request: Request, pk: int) -> Response:
        block = services.unblock(block=self.get_object(), by=request.user)
        return Response(self.out(self.scoped_queryset().get(pk=block.pk)).data)


ROUTES = [("blocked-slots", BlockedSlotViewSet, "blockedslot")]
