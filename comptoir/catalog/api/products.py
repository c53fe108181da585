"""REST endpoints of the service catalog under /api/v1/products/: main services, monthly options,
consumptions and plans, with their availability and price per center (a nested list written through the
products services)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.catalog import filters
from comptoir.catalog.models import Product, ProductCenterPrice, ServiceType, VatRate
from comptoir.catalog.selectors import products as selectors
from comptoir.catalog.services import products as services
from comptoir.core.api.filters import TEXT_MAX_LENGTH
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, scoped
from comptoir.core.api.views import ApiViewSet
from comptoir.core.models import Center


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class ProductCenterPriceOut(serializers.ModelSerializer):
    center_name = serializers.CharField(source="center.name", read_only=True)

    class Meta:
        model = ProductCenterPrice
        fields = ["center", "center_name", "is_available", "unit_price"]
        read_only_fields = fields
        extra_kwargs = {"unit_price": {"help_text": "Price excluding tax in this center; null: the catalog price."}}


class ProductOut(serializers.ModelSerializer):
    center_prices = ProductCenterPriceOut(
        many=True, read_only=True, help_text="Centers with their own availability or price (the others follow "
        "`available_everywhere` and the catalog price).",
    )  # fmt: skip

    class Meta:
        model = Product
        fields = ["id", *services.PRODUCT_FIELDS, "center_prices", "created_at"]
        read_only_fields = fields


class ProductCenterPriceIn(InSerializer):
    center = scoped(Center, "centers_for", help_text="Id of a center you may work in.")
    is_available = serializers.BooleanField(default=True)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, allow_null=True, required=False, default=None,
        help_text="Price excluding tax in this center; null: the catalog price.",
    )  # fmt: skip


class ProductIn(InSerializer):
    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    service_type = serializers.ChoiceField(
        choices=ServiceType.choices, allow_blank=True, required=False, help_text="Required for a main service."
    )
    plan_type = serializers.ChoiceField(
        choices=Product.PlanType.choices, allow_blank=True, required=False, help_text="Required for a plan."
    )
    name = serializers.CharField(max_length=160, help_text="Unique per kind in the organization.")
    description = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    unit = serializers.ChoiceField(choices=Product.Unit.choices, required=False)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, help_text="Price excluding tax."
    )
    vat_rate = serializers.ChoiceField(
        choices=VatRate.choices, required=False, help_text="20.00, 10.00, 5.50, 2.10 or 0.00 (needs a reason)."
    )
    vat_exemption_reason = serializers.CharField(max_length=200, allow_blank=True, required=False)
    accounting_code = serializers.CharField(max_length=20, allow_blank=True, required=False)
    credits = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, allow_null=True, required=False,
        help_text="Plans: credits per period (subscription) or of the pack.",
    )  # fmt: skip
    credit_period = serializers.ChoiceField(
        choices=Product.CreditPeriod.choices, allow_blank=True, required=False, help_text="Subscription: renewal."
    )
    validity_days = serializers.IntegerField(
        min_value=1, max_value=36500, allow_null=True, required=False, help_text="Pack: days its credits last."
    )
    booking_discount = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False,
        help_text="Plans: discount (%) of its holders on paid bookings.",
    )  # fmt: skip
    included_services = serializers.CharField(
        allow_blank=True, required=False, max_length=5000, help_text="Domiciliation: included services, one per line."
    )
    available_everywhere = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    center_prices = ProductCenterPriceIn(
        many=True, required=False, max_length=services.MAX_CENTER_PRICES,
        help_text="Availability / price per center; centers not listed keep their settings.",
    )  # fmt: skip


class ProductFilter(filters.ProductFilter):
    api_help = {
        "kind": "main_service, option, consumption or plan.",
        "service_type": "Main services: domiciliation, private_office, coworking, nomad or parking.",
        "plan_type": "Plans: subscription, pack or domiciliation.",
        "is_active": "true: active articles; false: deactivated ones.",
    }
    center = django_filters.ModelChoiceFilter(
        queryset=filters._centers, method="filter_center", help_text="Id of a center: articles available there."
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=TEXT_MAX_LENGTH, help_text="Part of the name or the accounting code."
    )

    class Meta(filters.ProductFilter.Meta):
        fields = [*filters.ProductFilter.Meta.fields, "center", "search"]

    def filter_center(self, queryset: QuerySet[Product], name: str, value: Center | None) -> QuerySet[Product]:
        if value is None:
            return queryset
        rows = ProductCenterPrice.objects.filter(center=value)
        return queryset.filter(
            Q(available_everywhere=True) | Q(pk__in=rows.filter(is_available=True).values("product_id"))
        ).exclude(pk__in=rows.filter(is_available=False).values("product_id"))

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        value = value.replace("\x00", "").strip()
        return queryset.filter(Q(name__icontains=value) | Q(accounting_code__icontains=value)) if value else queryset


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="The service catalog."),
    retrieve=extend_schema(summary="An article of the catalog, with its per-center settings."),
)
class ProductViewSet(ApiViewSet):
    """The service catalog ("Gestion → Catalogue de services"): main services (domiciliation, private office,
    coworking, nomad, parking), monthly options, consumptions (per print, drink, hour...) and plans
    (subscription with credits per period, pack of credits with a validity, domiciliation with its included
    services), each with its VAT rate (0 % needs an exemption reason), accounting code, and availability /
    price per center. Rights: `catalog.view_product`, `catalog.add_product`, `catalog.change_product`
    (also (de)activation and center prices), `catalog.delete_product`."""

    model = Product
    serializer_class = ProductOut
    filterset_class = ProductFilter
    required_rights = {
        "list": "catalog.view_product",
        "retrieve": "catalog.view_product",
        "create": "catalog.add_product",
        "update": "catalog.change_product",
        "partial_update": "catalog.change_product",
        "destroy": "catalog.delete_product",
        "deactivate": "catalog.change_product",
        "reactivate": "catalog.change_product",
    }

    def scoped_queryset(self) -> QuerySet[Product]:
        return selectors.products_with_prices(selectors.products_for(self.request.user, self.organization))

    def _fresh(self, product: Product) -> Product:
        return self.scoped_queryset().get(pk=product.pk)

    @staticmethod
    def _split(data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
        prices = data.pop("center_prices", None)
        return data, [dict(item) for item in prices] if prices is not None else None

    @extend_schema(request=ProductIn, responses={201: ProductOut}, summary="Create an article.")
    @idempotent
    def create(self, request: Request) -> Response:
        data, prices = self._split(self.validated(ProductIn))
        product = services.create_product(
            organization=self.organization, by=request.user, data=data, center_prices=prices
        )
        return Response(self.out(self._fresh(product)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductIn, responses=ProductOut, summary="Replace an article's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=ProductIn, responses=ProductOut, summary="Change some of an article's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        product = self.get_object()
        data, prices = self._split(self.validated(ProductIn, partial=partial))
        product = services.update_product(product=product, by=self.request.user, data=data, center_prices=prices)
        return Response(self.out(self._fresh(product)).data)

    @extend_schema(
        responses={204: None},
        summary="Delete an article no document refers to.",
        description="Refused (400 `in_use`) when a quote, contract or invoice names it: deactivate it instead.",
    )
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_product(product=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ProductOut, summary="Deactivate an article (no longer offered).")
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: int) -> Response:
        product = services.set_product_active(product=self.get_object(), by=request.user, active=False)
        return Response(self.out(self._fresh(product)).data)

    @extend_schema(request=None, responses=ProductOut, summary="Reactivate a deactivated article.")
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: int) -> Response:
        product = services.set_product_active(product=self.get_object(), by=request.user, active=True)
        return Response(self.out(self._fresh(product)).data)


ROUTES = [("products", ProductViewSet, "product")]
