"""REST endpoints of the floor plans under /api/v1/floor-plans/: the plans (list, retrieve, create, update),
their SVG image colored by the spaces' state on a day, their background file and the shapes of their spaces.

Views hold no rules: they check the input's shape, call the floor plan services (the same as the back
office) and shape the answer. Querysets come from the tenant-scoped selector: another organization's plan
answers 404.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import parsers, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.catalog.models import FloorPlan
from comptoir.catalog.selectors import floorplans as selectors
from comptoir.catalog.services import floorplans as services
from comptoir.catalog.views.floorplans import background_response, plan_svg, svg_response
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.parsers import JSONParser
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Center


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class FloorPlanOut(serializers.ModelSerializer):
    space_count = serializers.IntegerField(read_only=True, help_text="Spaces of this center and floor.")
    drawn_count = serializers.IntegerField(read_only=True, help_text="Of which drawn on the plan.")
    has_background = serializers.SerializerMethodField(help_text="Whether a background file was uploaded.")
    background_url = serializers.SerializerMethodField(help_text="GET the background file (or null).")
    svg_url = serializers.SerializerMethodField(help_text="GET the plan as SVG (`?date=YYYY-MM-DD`).")

    class Meta:
        model = FloorPlan
        fields = [
            "id", "center", "floor", "name", "width", "height", "has_background", "background_url", "svg_url",
            "space_count", "drawn_count", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_has_background(self, plan: FloorPlan) -> bool:
        return bool(plan.background)

    def get_background_url(self, plan: FloorPlan) -> str | None:
        return reverse("api:floorplan-background", args=[plan.pk]) if plan.background else None

    def get_svg_url(self, plan: FloorPlan) -> str:
        return reverse("api:floorplan-svg", args=[plan.pk])


class FloorPlanIn(InSerializer):
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, help_text="Center id.")
    floor = serializers.IntegerField(min_value=-5, max_value=200, help_text="Floor number (0: ground floor).")
    name = serializers.CharField(max_length=120, allow_blank=True, required=False, help_text="Name (optional).")
    width = serializers.IntegerField(min_value=10, max_value=100_000, required=False, help_text="Plan width.")
    height = serializers.IntegerField(min_value=10, max_value=100_000, required=False, help_text="Plan height.")
    background = serializers.FileField(
        required=False, help_text="PNG, JPEG or SVG, 5 MB at most (multipart/form-data)."
    )
    remove_background = serializers.BooleanField(required=False, help_text="True removes the current background.")


class ShapesIn(InSerializer):
    shapes = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="{space id: [[x, y], ...] (3 to 200 points inside the plan) or null (erase)}.",
    )


class ShapesOut(serializers.Serializer):
    shapes = serializers.DictField(
        child=serializers.JSONField(allow_null=True), help_text="{space id: [[x, y], ...] or null} of the floor."
    )


class SvgRenderer(renderers.BaseRenderer):
    media_type = "image/svg+xml"
    format = "svg"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, str | bytes):
            return data.encode() if isinstance(data, str) else data
        return renderers.JSONRenderer().render(data)  # an error envelope


class FileRenderer(renderers.BaseRenderer):
    media_type = "*/*"
    format = "file"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)


DATE_PARAMETER = OpenApiParameter(
    "date", OpenApiTypes.DATE, description="The day whose occupancy colors the plan (default: today)."
)


def _day(request: Request) -> datetime.date:
    raw = request.query_params.get("date")
    if not raw:
        from django.utils import timezone

        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(_("Date invalide (AAAA-MM-JJ attendu)."), code="invalid", field="date") from exc


# --------------------------------------------------------------------------------------------------
# ViewSet
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Floor plans of the centers."),
    retrieve=extend_schema(summary="A floor plan."),
)
class FloorPlanViewSet(ApiViewSet):
    """Floor plans ("Gestion → Plans"): one per floor of a center, with an optional background (PNG,
    JPEG or SVG) and the polygons of the floor's spaces. `svg` draws the plan colored by each space's state
    on a day (free, occupied, reserved, unavailable); `shapes` reads and saves the polygons (all or nothing).
    Rights: `catalog.view_floorplan`, `catalog.add_floorplan`, `catalog.change_floorplan`."""

    model = FloorPlan
    serializer_class = FloorPlanOut
    parser_classes = [JSONParser, parsers.MultiPartParser]
    required_rights = {
        "list": "catalog.view_floorplan",
        "retrieve": "catalog.view_floorplan",
        "svg": "catalog.view_floorplan",
        "background": "catalog.view_floorplan",
        "shapes": "catalog.view_floorplan",
        "create": "catalog.add_floorplan",
        "update": "catalog.change_floorplan",
        "partial_update": "catalog.change_floorplan",
    }

    def scoped_queryset(self) -> QuerySet[FloorPlan]:
        return selectors.floor_plans_for(self.request.user, self.organization)

    def _fresh(self, plan: FloorPlan) -> FloorPlan:
        return self.scoped_queryset().get(pk=plan.pk)

    @extend_schema(request={"application/json": FloorPlanIn, "multipart/form-data": FloorPlanIn},
                   responses={201: FloorPlanOut}, summary="Create the plan of a floor.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(FloorPlanIn)
        background = data.pop("background", None)
        data.pop("remove_background", None)
        plan = services.create_floor_plan(
            organization=self.organization, by=request.user, data=data, background=background
        )
        return Response(self.out(self._fresh(plan)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"application/json": FloorPlanIn, "multipart/form-data": FloorPlanIn},
                   responses=FloorPlanOut, summary="Replace a plan's details.")  # fmt: skip
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request={"application/json": FloorPlanIn, "multipart/form-data": FloorPlanIn},
                   responses=FloorPlanOut, summary="Change some of a plan's details.")  # fmt: skip
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        plan = self.get_object()
        data = self.validated(FloorPlanIn, partial=partial)
        background = data.pop("background", None)
        remove = bool(data.pop("remove_background", False))
        plan = services.update_floor_plan(
            plan=plan, by=self.request.user, data=data, background=background, remove_background=remove
        )
        return Response(self.out(self._fresh(plan)).data)

    @extend_schema(
        parameters=[DATE_PARAMETER],
        responses={(200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.STR, description="The SVG image.")},
        summary="The plan as an SVG image, each space colored by its state on the day.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, SvgRenderer])
    def svg(self, request: Request, pk: int) -> HttpResponse:
        plan = self.get_object()
        return svg_response(plan_svg(plan, _day(request), api=True)[0])

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
        summary="The plan's background file (PNG, JPEG or SVG); 404 when there is none.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, FileRenderer])
    def background(self, request: Request, pk: int) -> HttpResponse:
        return background_response(self.get_object())

    @extend_schema(methods=["GET"], responses=ShapesOut, summary="The polygons of the floor's spaces.")
    @extend_schema(
        methods=["PUT"],
        request=ShapesIn,
        responses=ShapesOut,
        summary="Save the polygons of some of the floor's spaces (null erases one); all or nothing.",
    )
    @action(detail=True, methods=["get", "put"])
    def shapes(self, request: Request, pk: int) -> Response:
        plan = self.get_object()
        if request.method == "PUT":
            data = self.validated(ShapesIn)
            plan = services.save_shapes(plan=plan, by=request.user, shapes=data["shapes"])
        spaces = selectors.plan_spaces(plan).values_list("id", "shape")
        return Response({"shapes": {str(space_id): shape for space_id, shape in spaces}})

    def get_permissions(self) -> list[Any]:
        # PUT on shapes needs the change right (GET only the view right).
        if self.action == "shapes" and self.request.method == "PUT":
            self.required_rights = {**self.required_rights, "shapes": "catalog.change_floorplan"}
        return super().get_permissions()


ROUTES = [("floor-plans", FloorPlanViewSet, "floorplan")]
