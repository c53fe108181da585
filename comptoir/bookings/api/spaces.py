"""REST endpoints of the booking settings of the bookable spaces under /api/v1/booking-settings/.

    GET   /booking-settings/           every bookable space with its settings (center, kind)
    GET   /booking-settings/{id}/      one space's settings ({id}: the space's id)
    PATCH /booking-settings/{id}/      change some of them

A space without settings of its own answers the defaults (`uses_defaults`: true); its first change creates them.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.bookings.api.bookings import _centers
from comptoir.bookings.services import availability
from comptoir.bookings.services import spaces as services
from comptoir.catalog.models import Space, VatRate
from comptoir.core.api.serializers import InSerializer
from comptoir.core.api.views import ApiViewSet

KIND_CHOICES = [(kind.value, kind.label) for kind in availability.KINDS]


class BookingSettingsApiFilter(django_filters.FilterSet):
    api_help = {"center": "Id of the center.", "kind": "meeting_room, drop_in_office, coworking_area or shared_office."}
    center = django_filters.ModelChoiceFilter(queryset=_centers)
    kind = django_filters.ChoiceFilter(choices=KIND_CHOICES)

    class Meta:
        model = Space
        fields = ["center", "kind"]


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class BookingSettingsOut(serializers.Serializer):
    space = serializers.IntegerField(source="pk", help_text="Id of the space (the {id} of this resource).")
    space_name = serializers.CharField(source="name")
    center = serializers.IntegerField(source="center_id", help_text="Id of the space's center.")
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    capacity = serializers.IntegerField()
    uses_defaults = serializers.BooleanField(help_text="The space has no settings of its own: these are the defaults.")
    auto_accept = serializers.BooleanField(
        help_text="A request is confirmed at once; otherwise it waits for the staff."
    )
    request_hours = serializers.IntegerField(help_text="Hours the staff have to answer a request before it expires.")
    prepayment = serializers.BooleanField(help_text="A paid booking made in the portal is paid by card when made.")
    cancellation_hours = serializers.IntegerField(help_text="A member may cancel until this many hours before start.")
    hour_price = _money(allow_null=True, help_text="Price per hour excl. VAT; null: none.")
    half_day_price = _money(allow_null=True, help_text="Price per half day excl. VAT; null: none.")
    day_price = _money(allow_null=True, help_text="Price per day excl. VAT; null: none.")
    vat_rate = serializers.ChoiceField(choices=VatRate.choices)
    credits_per_hour = serializers.DecimalField(max_digits=12, decimal_places=2,
                                                help_text="Credits per booked hour (0: not payable in credits).")  # fmt: skip
    slot_minutes = serializers.IntegerField(help_text="Step of the offered slots, in minutes.")
    color = serializers.CharField(help_text="#rrggbb")

    def to_representation(self, space: Space) -> dict[str, Any]:
        row = availability.settings_of(space)
        data: dict[str, Any] = {}
        for field in self._readable_fields:
            name = field.field_name
            if name == "uses_defaults":
                data[name] = not row.pk
                continue
            value = field.get_attribute(row if name in services.SETTINGS_FIELDS else space)
            data[name] = None if value is None else field.to_representation(value)
        return data


def _whole(name: str, help_text: str) -> serializers.IntegerField:
    low, high = services.integer_bounds(name)
    return serializers.IntegerField(required=False, min_value=low, max_value=high, help_text=help_text)


class BookingSettingsIn(InSerializer):
    auto_accept = serializers.BooleanField(required=False)
    request_hours = _whole("request_hours", "Hours to answer a request (1 to 720).")
    prepayment = serializers.BooleanField(required=False)
    cancellation_hours = _whole("cancellation_hours", "Cancellation deadline, hours before start (0 to 720).")
    hour_price = _money(required=False, allow_null=True, min_value=0, help_text="Excl. VAT; null: none.")
    half_day_price = _money(required=False, allow_null=True, min_value=0, help_text="Excl. VAT; null: none.")
    day_price = _money(required=False, allow_null=True, min_value=0, help_text="Excl. VAT; null: none.")
    vat_rate = serializers.ChoiceField(choices=VatRate.choices, required=False)
    credits_per_hour = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    slot_minutes = _whole("slot_minutes", "Step of the offered slots (5 to 240 minutes).")
    color = serializers.CharField(max_length=7, required=False, help_text="#rrggbb")


@extend_schema_view(
    list=extend_schema(summary="The bookable spaces with their booking settings."),
    retrieve=extend_schema(summary="A bookable space's booking settings ({id}: the space's id)."),
)
class BookingSettingsViewSet(ApiViewSet):
    """How each bookable space (meeting room, drop-in office, coworking area, shared office) is booked and priced:
    prices per hour, half day and day, VAT rate, credits per hour, automatic acceptance or a request the staff
    answer within `request_hours`, payment at booking, cancellation deadline, slot step, color. The id is the
    space's. Rights: `catalog.view_space`, `catalog.change_space` to change them."""

    model = Space
    serializer_class = BookingSettingsOut
    filterset_class = BookingSettingsApiFilter
    cursor_ordering = "id"
    required_rights = {
        "list": "catalog.view_space",
        "retrieve": "catalog.view_space",
        "partial_update": "catalog.change_space",
    }

    def scoped_queryset(self) -> QuerySet[Space]:
        return services.settings_rows_for(self.request.user, self.organization)

    @extend_schema(request=BookingSettingsIn, responses=BookingSettingsOut, summary="Change some booking settings.",
                   description="Only the fields sent change. 400 at the field: `invalid`, `out_of_range`, "
                   "`unknown_field` (the settings of a space are created by their first change).")  # fmt: skip
    def partial_update(self, request: Request, pk: int) -> Response:
        space = self.get_object()
        data = self.validated(BookingSettingsIn, partial=True)
        services.update_settings(space=space, by=request.user, data=data)
        return Response(self.out(self.scoped_queryset().get(pk=space.pk)).data)


ROUTES = [("booking-settings", BookingSettingsViewSet, "spacebooking")]
