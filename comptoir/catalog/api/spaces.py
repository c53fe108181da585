"""REST endpoints of the catalog's spaces under /api/v1/spaces/: list, read, create, change, (de)activate,
delete, and their photos. Views hold no rules: they check the input's shape and call the spaces services."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.catalog import filters
from comptoir.catalog.models import Space, SpacePhoto
from comptoir.catalog.selectors import spaces as selectors
from comptoir.catalog.services import spaces as services
from comptoir.core.api.filters import TEXT_MAX_LENGTH
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, scoped
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Center


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class SpacePhotoOut(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Address of the image file.")

    class Meta:
        model = SpacePhoto
        fields = ["id", "url", "caption", "position"]
        read_only_fields = fields

    def get_url(self, photo: SpacePhoto) -> str:
        url = photo.image.url if photo.image else ""
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None and url else url


class SpaceOut(serializers.ModelSerializer):
    photos = SpacePhotoOut(many=True, read_only=True, help_text="Photos in display order.")
    center_name = serializers.CharField(source="center.name", read_only=True)

    class Meta:
        model = Space
        fields = [
            "id", "center", "center_name", "name", "kind", "floor", "area_m2", "capacity", "description",
            "amenities", "is_bookable", "is_active", "shape", "photos", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"shape": {"help_text": "Polygon on the floor plan ([[x, y], ...]), set by the floor plans."}}


class SpaceIn(InSerializer):
    center = scoped(Center, "centers_for", help_text="Id of the center (one you may work in).")
    name = serializers.CharField(max_length=120, help_text="Name, unique in its center.")
    kind = serializers.ChoiceField(choices=Space.Kind.choices)
    floor = serializers.IntegerField(min_value=-5, max_value=200, required=False)
    area_m2 = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, allow_null=True, required=False,
        help_text="Area in m²; required for offices (private, shared, drop-in).",
    )  # fmt: skip
    capacity = serializers.IntegerField(min_value=1, max_value=100000, required=False, help_text="Desks or people.")
    description = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    amenities = serializers.ListField(
        child=serializers.CharField(max_length=services.MAX_AMENITY_LENGTH),
        max_length=services.MAX_AMENITIES,
        required=False,
        help_text="Amenities: suggested keys (wifi, screen, videoconference, whiteboard, air_conditioning, "
        "furnished, window, phone, accessible, storage) or free text.",
    )
    is_bookable = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class SpacePhotoIn(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP image, 5 MB at most.")
    caption = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SpacePhotoRefIn(InSerializer):
    photo = serializers.IntegerField(min_value=1, help_text="Id of one of the space's photos.")


class SpacePhotoOrderIn(InSerializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100, help_text="Every photo id, in the new order."
    )


class SpaceFilter(filters.SpaceFilter):
    api_help = {
        "center": "Id of the center.",
        "kind": "private_office, shared_office, coworking_area, meeting_room, drop_in_office, mailbox or parking.",
        "floor": "Floor number.",
        "is_bookable": "true: bookable spaces only; false: the others.",
        "is_active": "true: active spaces; false: deactivated ones.",
    }
    search = django_filters.CharFilter(
        method="filter_search", max_length=TEXT_MAX_LENGTH, help_text="Part of the name or of the description."
    )

    class Meta(filters.SpaceFilter.Meta):
        fields = [*filters.SpaceFilter.Meta.fields, "search"]

    def filter_search(self, queryset: QuerySet[Space], name: str, value: str) -> QuerySet[Space]:
        value = value.replace("\x00", "").strip()
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value)) if value else queryset


class PhotoUploadParser(parsers.MultiPartParser):
    """multipart/form-data with an `image` part."""


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Spaces of the centers you may work in."),
    retrieve=extend_schema(summary="A space, with its photos."),
)
class SpaceViewSet(ApiViewSet):
    """Spaces ("Gestion → Espaces"): offices, shared offices, coworking areas, meeting rooms, drop-in offices,
    mailboxes and parking places of each center, with area, capacity, amenities and photos. Staff limited to
    some centers see and change only those centers' spaces. A space used by a document cannot be deleted:
    deactivate it. Rights: `catalog.view_space`, `catalog.add_space`, `catalog.change_space` (also
    (de)activation and photos), `catalog.delete_space`."""

    model = Space
    serializer_class = SpaceOut
    filterset_class = SpaceFilter
    required_rights = {
        "list": "catalog.view_space",
        "retrieve": "catalog.view_space",
        "create": "catalog.add_space",
        "update": "catalog.change_space",
        "partial_update": "catalog.change_space",
        "destroy": "catalog.delete_space",
        "deactivate": "catalog.change_space",
        "reactivate": "catalog.change_space",
        "add_photo": "catalog.change_space",
        "remove_photo": "catalog.change_space",
        "reorder_photos": "catalog.change_space",
    }

    def scoped_queryset(self) -> QuerySet[Space]:
        return selectors.space_with_photos(selectors.spaces_for(self.request.user, self.organization))

    def _fresh(self, space: Space) -> Space:
        return self.scoped_queryset().get(pk=space.pk)

    @extend_schema(request=SpaceIn, responses={201: SpaceOut}, summary="Create a space.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(SpaceIn)
        space = services.create_space(organization=self.organization, by=request.user, data=data)
        return Response(self.out(self._fresh(space)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SpaceIn, responses=SpaceOut, summary="Replace a space's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=SpaceIn, responses=SpaceOut, summary="Change some of a space's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        space = self.get_object()
        data = self.validated(SpaceIn, partial=partial)
        space = services.update_space(space=space, by=self.request.user, data=data)
        return Response(self.out(self._fresh(space)).data)

    @extend_schema(
        responses={204: None},
        summary="Delete a space nothing refers to.",
        description="Refused (400 `in_use`) when a quote, contract or booking names it: deactivate it instead.",
    )
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_space(space=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=SpaceOut, summary="Deactivate a space (no longer offered).")
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: int) -> Response:
        space = services.set_space_active(space=self.get_object(), by=request.user, active=False)
        return Response(self.out(self._fresh(space)).data)

    @extend_schema(request=None, responses=SpaceOut, summary="Reactivate a deactivated space.")
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: int) -> Response:
        space = services.set_space_active(space=self.get_object(), by=request.user, active=True)
        return Response(self.out(self._fresh(space)).data)

    @extend_schema(
        request={"multipart/form-data": SpacePhotoIn},
        responses={201: SpaceOut},
        summary="Add a photo (JPEG, PNG or WebP, 5 MB at most) after the others.",
    )
    @action(detail=True, methods=["post"], url_path="photos", url_name="photos", parser_classes=[PhotoUploadParser])
    def add_photo(self, request: Request, pk: int) -> Response:
        space = self.get_object()
        serializer = SpacePhotoIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        services.add_space_photo(space=space, by=request.user, image=data["image"], caption=data.get("caption", ""))
        return Response(self.out(self._fresh(space)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SpacePhotoRefIn, responses=SpaceOut, summary="Remove one of the space's photos.")
    @action(detail=True, methods=["post"], url_path="photos/remove", url_name="photos-remove")
    def remove_photo(self, request: Request, pk: int) -> Response:
        space = self.get_object()
        data = self.validated(SpacePhotoRefIn)
        photo = space.photos.filter(pk=data["photo"]).first()
        if photo is None:
            raise ValidationFailed(_("Photo introuvable."), code="not_found", field="photo")
        services.remove_space_photo(photo=photo, by=request.user)
        return Response(self.out(self._fresh(space)).data)

    @extend_schema(request=SpacePhotoOrderIn, responses=SpaceOut, summary="Put the space's photos in a new order.")
    @action(detail=True, methods=["post"], url_path="photos/reorder", url_name="photos-reorder")
    def reorder_photos(self, request: Request, pk: int) -> Response:
        space = self.get_object()
        data = self.validated(SpacePhotoOrderIn)
        services.reorder_space_photos(space=space, by=request.user, order=data["order"])
        return Response(self.out(self._fresh(space)).data)


ROUTES = [("spaces", SpaceViewSet, "space")]
