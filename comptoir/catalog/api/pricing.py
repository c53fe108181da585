"""REST endpoints of office pricing under /api/v1/: center rates (price per m² and grid of each center),
price grids with their rules, discounts with the maximum each role may grant, and the pricing function
itself (`POST /pricing/office/`, `POST /pricing/product/`), which checks the caller's discount allowance.

Views hold no rules: they check shapes, call the pricing services (or `comptoir.catalog.pricing`) and
shape the answer. Every id goes through a tenant-scoped selector: another organization's is unknown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.catalog import pricing
from comptoir.catalog.models import (
    CenterRate,
    Discount,
    DiscountAllowance,
    PriceGrid,
    PriceGridRule,
    Product,
    ServiceType,
    Space,
)
from comptoir.catalog.selectors import pricing as selectors
from comptoir.catalog.services import pricing as services
from comptoir.core import rights
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import NotFound, ValidationFailed
from comptoir.core.models import Center, Organization, Role, User


def _read(right: str) -> dict[str, str]:
    return {"list": right, "retrieve": right}


def _roles(user: User, organization: Organization) -> QuerySet[Role]:
    return core_selectors.roles_for(user, organization)


def _pricing_discounts(user: User, organization: Organization) -> QuerySet[Discount]:
    """Every discount of the organization, inactive ones too: the pricing function refuses those by name."""
    if not rights.is_staff_of(user, organization):
        return Discount.objects.none()
    return Discount.objects.filter(organization=organization.pk).prefetch_related("centers")


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class CenterRateOut(serializers.ModelSerializer):
    center_name = serializers.CharField(source="center.name", read_only=True)
    price_grid_name = serializers.CharField(source="price_grid.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = CenterRate
        fields = ["id", "center", "center_name", "price_per_m2", "price_grid", "price_grid_name", "updated_at"]
        read_only_fields = fields
        extra_kwargs = {"price_per_m2": {"help_text": "Reference price per m² per month, excluding tax."}}


class CenterRateIn(InSerializer):
    price_per_m2 = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), help_text="Price per m² per month, excl. tax."
    )
    price_grid = ScopedPrimaryKeyField(
        model=PriceGrid, selector=selectors.price_grids_for, allow_null=True, required=False,
        help_text="Id of the center's price grid (null: none).",
    )  # fmt: skip


class CenterRateCreateIn(CenterRateIn):
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, help_text="Id of the center.")


class PriceGridRuleOut(serializers.ModelSerializer):
    class Meta:
        model = PriceGridRule
        fields = ["id", "dimension", "value", "coefficient"]
        read_only_fields = fields


class PriceGridRuleIn(InSerializer):
    dimension = serializers.ChoiceField(choices=PriceGridRule.Dimension.choices)
    value = serializers.CharField(
        max_length=30,
        help_text="typology: a space kind (private_office...); term: a number of months 1-120 (the rule applies "
        "from that commitment on); service: a service type (domiciliation...).",
    )
    coefficient = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=Decimal("0.0001"), max_value=Decimal("99")
    )


class PriceGridOut(serializers.ModelSerializer):
    rules = serializers.SerializerMethodField()

    class Meta:
        model = PriceGrid
        fields = ["id", "name", "description", "is_active", "created_at", "rules"]
        read_only_fields = fields

    @extend_schema_field(PriceGridRuleOut(many=True))
    def get_rules(self, grid: PriceGrid) -> list[dict[str, Any]]:
        return PriceGridRuleOut(selectors.grid_rules(grid), many=True).data


class PriceGridIn(InSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class PriceGridCreateIn(PriceGridIn):
    rules = PriceGridRuleIn(many=True, required=False, help_text="Rules created with the grid.")


class AllowanceOut(serializers.ModelSerializer):
    role_name = serializers.CharField(source="role.display_name", read_only=True)

    class Meta:
        model = DiscountAllowance
        fields = ["role", "role_name", "max_percent"]
        read_only_fields = fields


class DiscountOut(serializers.ModelSerializer):
    allowances = AllowanceOut(many=True, read_only=True)

    class Meta:
        model = Discount
        fields = ["id", "name", "percent", "centers", "is_active", "created_at", "allowances"]
        read_only_fields = fields
        extra_kwargs = {"centers": {"help_text": "Ids of the centers it is limited to (empty: every center)."}}


class AllowanceIn(InSerializer):
    role = ScopedPrimaryKeyField(model=Role, selector=_roles, help_text="Id of a staff role.")
    max_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0"), max_value=Decimal("100"), allow_null=True,
        help_text="Highest percentage the role may grant (null or 0: the role may not grant it).",
    )  # fmt: skip


class DiscountIn(InSerializer):
    name = serializers.CharField(max_length=120)
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("100"),
        help_text="Default percentage.",
    )  # fmt: skip
    centers = ScopedPrimaryKeyField(
        model=Center, selector=core_selectors.centers_for, many=True, required=False,
        help_text="Ids of the centers it is limited to (empty: every center).",
    )  # fmt: skip
    is_active = serializers.BooleanField(required=False)


class DiscountCreateIn(DiscountIn):
    allowances = AllowanceIn(many=True, required=False)


class AppliedIn(InSerializer):
    discount = ScopedPrimaryKeyField(model=Discount, selector=_pricing_discounts, help_text="Id of a discount.")
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True,
        help_text="Percentage granted (default: the discount's own).",
    )  # fmt: skip


class OfficePriceIn(InSerializer):
    space = ScopedPrimaryKeyField(model=Space, selector=selectors.spaces_for_pricing, help_text="Id of a space.")
    term_months = serializers.IntegerField(
        min_value=1, max_value=services.MAX_TERM_MONTHS, required=False, allow_null=True
    )
    service = serializers.ChoiceField(choices=ServiceType.choices, required=False, allow_null=True, allow_blank=True)
    discounts = AppliedIn(many=True, required=False, max_length=20)


class ProductPriceIn(InSerializer):
    product = ScopedPrimaryKeyField(model=Product, selector=selectors.products_for_pricing)
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, required=False, allow_null=True)
    term_months = serializers.IntegerField(
        min_value=1, max_value=services.MAX_TERM_MONTHS, required=False, allow_null=True
    )
    discounts = AppliedIn(many=True, required=False, max_length=20)


class StepOut(serializers.Serializer):
    code = serializers.CharField(help_text="base, typology, term, service or discount.")
    label = serializers.CharField()
    detail = serializers.CharField()
    delta = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="What the step adds.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Running amount after the step.")


class BreakdownOut(serializers.Serializer):
    steps = StepOut(many=True)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Monthly unit price, excl. tax.")
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=2)


# --------------------------------------------------------------------------------------------------
# Center rates
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Price per m² and price grid of each center."),
    retrieve=extend_schema(summary="A center's rate."),
)
class CenterRateViewSet(ApiViewSet):
    """Each center's reference price per m² per month (excl. tax) and its price grid — the base of an office's
    rent (the back office page Settings → Pricing → Price per center). One rate per center. Rights: `catalog.view_centerrate`,
    `catalog.add_centerrate`, `catalog.change_centerrate`."""

    model = CenterRate
    serializer_class = CenterRateOut
    required_rights = {
        **_read("catalog.view_centerrate"),
        "create": "catalog.add_centerrate",
        "update": "catalog.change_centerrate",
        "partial_update": "catalog.change_centerrate",
    }

    def scoped_queryset(self) -> QuerySet[CenterRate]:
        return selectors.center_rates_for(self.request.user, self.organization)

    @extend_schema(request=CenterRateCreateIn, responses={201: CenterRateOut}, summary="Set a center's rate.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(CenterRateCreateIn)
        center = data.pop("center")
        rate = services.create_center_rate(organization=self.organization, by=request.user, center=center, data=data)
        return Response(self.out(self.scoped_queryset().get(pk=rate.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CenterRateIn, responses=CenterRateOut, summary="Replace a center's rate.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=CenterRateIn, responses=CenterRateOut, summary="Change a center's rate.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        rate = self.get_object()
        data = self.validated(CenterRateIn, partial=partial)
        if not partial:
            data.setdefault("price_grid", None)
        rate = services.update_center_rate(rate=rate, by=self.request.user, data=data)
        return Response(self.out(self.scoped_queryset().get(pk=rate.pk)).data)


# --------------------------------------------------------------------------------------------------
# Price grids
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Price grids, with their rules."),
    retrieve=extend_schema(summary="A price grid, with its rules."),
)
class PriceGridViewSet(ApiViewSet):
    """Price grids: coefficients applied to an office's base price (surface × price per m²) by typology (space
    kind), commitment term (from a number of months on) and service. Rules are added with
    `POST /price-grids/{id}/rules/` and changed or removed at `/price-grids/{id}/rules/{rule_id}/`. Rights:
    `catalog.view_pricegrid`, `catalog.add_pricegrid`, `catalog.change_pricegrid` (rules too),
    `catalog.delete_pricegrid`."""

    model = PriceGrid
    serializer_class = PriceGridOut
    required_rights = {
        **_read("catalog.view_pricegrid"),
        "create": "catalog.add_pricegrid",
        "update": "catalog.change_pricegrid",
        "partial_update": "catalog.change_pricegrid",
        "destroy": "catalog.delete_pricegrid",
        "add_rule": "catalog.change_pricegrid",
        "rule": "catalog.change_pricegrid",
    }

    def scoped_queryset(self) -> QuerySet[PriceGrid]:
        return selectors.price_grids_with_rules(self.request.user, self.organization)

    def _fresh(self, grid: PriceGrid) -> PriceGrid:
        return self.scoped_queryset().get(pk=grid.pk)

    @extend_schema(request=PriceGridCreateIn, responses={201: PriceGridOut}, summary="Create a price grid.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(PriceGridCreateIn)
        rules = [dict(rule) for rule in data.pop("rules", [])]
        grid = services.create_price_grid(organization=self.organization, by=request.user, data=data, rules=rules)
        return Response(self.out(self._fresh(grid)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PriceGridIn, responses=PriceGridOut, summary="Replace a grid's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=PriceGridIn, responses=PriceGridOut, summary="Change some of a grid's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        grid = self.get_object()
        data = self.validated(PriceGridIn, partial=partial)
        grid = services.update_price_grid(grid=grid, by=self.request.user, data=data)
        return Response(self.out(self._fresh(grid)).data)

    @extend_schema(responses={204: None}, summary="Delete a grid no center uses (`grid_in_use` otherwise).")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_price_grid(grid=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=PriceGridRuleIn,
        responses={201: PriceGridRuleOut},
        summary="Add a rule to a grid.",
        description="The value must fit the dimension (`invalid_value`); one rule per dimension and value "
        "(`duplicate_rule`).",
    )
    @action(detail=True, methods=["post"], url_path="rules", url_name="rules")
    def add_rule(self, request: Request, pk: int) -> Response:
        grid = self.get_object()
        data = self.validated(PriceGridRuleIn)
        rule = services.add_grid_rule(grid=grid, by=request.user, data=data)
        return Response(PriceGridRuleOut(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"], request=PriceGridRuleIn, responses=PriceGridRuleOut, summary="Change a rule of a grid."
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None}, summary="Remove a rule from a grid.")
    @action(detail=True, methods=["patch", "delete"], url_path="rules/<int:rule_id>", url_name="rule")
    def rule(self, request: Request, pk: int, rule_id: int) -> Response:
        grid = self.get_object()
        rule = PriceGridRule.objects.filter(grid=grid, pk=rule_id).select_related("grid").first()
        if rule is None:
            raise NotFound(_("Règle introuvable."))
        if request.method == "DELETE":
            services.remove_grid_rule(rule=rule, by=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = self.validated(PriceGridRuleIn, partial=True)
        rule = services.update_grid_rule(rule=rule, by=request.user, data=data)
        return Response(PriceGridRuleOut(rule).data)


# --------------------------------------------------------------------------------------------------
# Discounts
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Discounts, with the maximum each role may grant."),
    retrieve=extend_schema(summary="A discount."),
)
class DiscountViewSet(ApiViewSet):
    """Discounts staff may grant on quotes: a default percentage, optionally limited to some centers, and for each
    staff role the highest percentage it may grant (`allowances`; the administrator may grant any). Set one
    role's maximum with `POST /discounts/{id}/allowances/`. Rights: `catalog.view_discount`,
    `catalog.add_discount`, `catalog.change_discount` (allowances too), `catalog.delete_discount`."""

    model = Discount
    serializer_class = DiscountOut
    required_rights = {
        **_read("catalog.view_discount"),
        "create": "catalog.add_discount",
        "update": "catalog.change_discount",
        "partial_update": "catalog.change_discount",
        "destroy": "catalog.delete_discount",
        "set_allowance": "catalog.change_discount",
    }

    def scoped_queryset(self) -> QuerySet[Discount]:
        return selectors.discounts_for(self.request.user, self.organization).prefetch_related(
            "centers", Prefetch("allowances", queryset=DiscountAllowance.objects.select_related("role"))
        )

    def _fresh(self, discount: Discount) -> Discount:
        return self.scoped_queryset().get(pk=discount.pk)

    @extend_schema(request=DiscountCreateIn, responses={201: DiscountOut}, summary="Create a discount.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(DiscountCreateIn)
        allowances = {item["role"]: item["max_percent"] for item in data.pop("allowances", [])}
        discount = services.create_discount(
            organization=self.organization, by=request.user, data=data, allowances=allowances
        )
        return Response(self.out(self._fresh(discount)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DiscountIn, responses=DiscountOut, summary="Replace a discount's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=DiscountIn, responses=DiscountOut, summary="Change some of a discount's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        discount = self.get_object()
        data = self.validated(DiscountIn, partial=partial)
        if not partial:
            data.setdefault("centers", [])
        discount = services.update_discount(discount=discount, by=self.request.user, data=data)
        return Response(self.out(self._fresh(discount)).data)

    @extend_schema(responses={204: None}, summary="Delete a discount (documents keep their frozen breakdown).")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_discount(discount=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=AllowanceIn, responses=DiscountOut, summary="Set the maximum one role may grant (null: none)."
    )
    @action(detail=True, methods=["post"], url_path="allowances", url_name="allowances")
    def set_allowance(self, request: Request, pk: int) -> Response:
        discount = self.get_object()
        data = self.validated(AllowanceIn)
        services.set_discount_allowance(
            discount=discount, by=request.user, role=data["role"], max_percent=data["max_percent"]
        )
        return Response(self.out(self._fresh(discount)).data)


# --------------------------------------------------------------------------------------------------
# The pricing function
# --------------------------------------------------------------------------------------------------
def _applied(items: list[dict[str, Any]]) -> list[pricing.Applied]:
    return [pricing.Applied(item["discount"], item.get("percent")) for item in items]


def _breakdown(breakdown: pricing.Breakdown) -> dict[str, Any]:
    return BreakdownOut(
        {"steps": breakdown.steps, "unit_price": breakdown.unit_price, "vat_rate": breakdown.vat_rate}
    ).data


class PricingViewSet(viewsets.GenericViewSet):
    """The price breakdown of an office or a catalog article, as a quote would freeze it: each step (base,
    typology, term, service, discounts) with what it adds and the running amount, rounded to the cent.
    Discounts beyond the caller's role maximum, inactive or limited to another center are refused (400,
    field `discounts`). Rights: `catalog.view_centerrate` (office), `catalog.view_product` (product)."""

    # Not an ApiViewSet: no list / retrieve routes, only the two actions.
    queryset = CenterRate.objects.none()
    serializer_class = BreakdownOut
    required_rights = {"office": "catalog.view_centerrate", "product": "catalog.view_product"}

    @property
    def organization(self) -> Organization:
        return self.request._request.organization  # type: ignore[attr-defined]

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(
        request=OfficePriceIn, responses=BreakdownOut, summary="Price of an office (surface × rate × grid − discounts)."
    )
    @action(detail=False, methods=["post"])
    def office(self, request: Request) -> Response:
        data = self.validated(OfficePriceIn)
        space = data["space"]
        applied = _applied(data.get("discounts") or [])
        pricing.check_discounts(request.user, self.organization, applied, center=space.center)
        breakdown = pricing.office_price(
            space, term_months=data.get("term_months"), service=data.get("service") or None, discounts=applied
        )
        return Response(_breakdown(breakdown))

    @extend_schema(request=ProductPriceIn, responses=BreakdownOut, summary="Price of a catalog article in a center.")
    @action(detail=False, methods=["post"])
    def product(self, request: Request) -> Response:
        data = self.validated(ProductPriceIn)
        product, center = data["product"], data.get("center")
        if not pricing.is_available(product, center):
            raise ValidationFailed(
                _("Cet article n'est pas disponible dans ce centre."), code="unavailable", field="product"
            )
        applied = _applied(data.get("discounts") or [])
        pricing.check_discounts(request.user, self.organization, applied, center=center)
        breakdown = pricing.product_price(product, center, term_months=data.get("term_months"), discounts=applied)
        return Response(_breakdown(breakdown))


ROUTES = [
    ("center-rates", CenterRateViewSet, "centerrate"),
    ("price-grids", PriceGridViewSet, "pricegrid"),
    ("discounts", DiscountViewSet, "discount"),
    ("pricing", PricingViewSet, "pricing"),
]
