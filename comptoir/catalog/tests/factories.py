"""Factories of the catalog (factory_boy); each registers its tenant object for the tenancy walker."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from comptoir.catalog.models import (
    CenterRate,
    Discount,
    DiscountAllowance,
    FloorPlan,
    PriceGrid,
    PriceGridRule,
    Product,
    ServiceType,
    Space,
)
from comptoir.core.models import Role
from comptoir.core.testing import register_tenant_object
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory


class SpaceFactory(DjangoModelFactory):
    class Meta:
        model = Space

    organization = factory.SubFactory(OrganizationFactory)
    center = factory.SubFactory(CenterFactory, organization=factory.SelfAttribute("..organization"))
    name = factory.Sequence(lambda n: f"Bureau {n + 1}")
    kind = Space.Kind.PRIVATE_OFFICE
    floor = 1
    area_m2 = Decimal("12.50")
    capacity = 2


class FloorPlanFactory(DjangoModelFactory):
    class Meta:
        model = FloorPlan

    organization = factory.SubFactory(OrganizationFactory)
    center = factory.SubFactory(CenterFactory, organization=factory.SelfAttribute("..organization"))
    floor = 1


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    kind = Product.Kind.MAIN_SERVICE
    service_type = ServiceType.DOMICILIATION
    name = factory.Sequence(lambda n: f"Article {n + 1}")
    unit = Product.Unit.MONTH
    unit_price = Decimal("49.00")
    accounting_code = "706000"


class PriceGridFactory(DjangoModelFactory):
    class Meta:
        model = PriceGrid

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Grille {n + 1}")


class PriceGridRuleFactory(DjangoModelFactory):
    class Meta:
        model = PriceGridRule

    grid = factory.SubFactory(PriceGridFactory)
    dimension = PriceGridRule.Dimension.TERM
    value = "12"
    coefficient = Decimal("0.95")


class CenterRateFactory(DjangoModelFactory):
    class Meta:
        model = CenterRate

    organization = factory.SelfAttribute("center.organization")
    center = factory.SubFactory(CenterFactory)
    price_per_m2 = Decimal("40.00")


class DiscountFactory(DjangoModelFactory):
    class Meta:
        model = Discount

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Remise {n + 1}")
    percent = Decimal("10.00")


class DiscountAllowanceFactory(DjangoModelFactory):
    class Meta:
        model = DiscountAllowance

    discount = factory.SubFactory(DiscountFactory)
    role = factory.LazyAttribute(
        lambda o: Role.objects.get(organization=o.discount.organization, kind=Role.Kind.MANAGER)
    )
    max_percent = Decimal("10.00")


register_tenant_object("space", lambda organization: SpaceFactory(organization=organization))
register_tenant_object("floorplan", lambda organization: FloorPlanFactory(organization=organization))
register_tenant_object("product", lambda organization: ProductFactory(organization=organization))
register_tenant_object("pricegrid", lambda organization: PriceGridFactory(organization=organization))
register_tenant_object(
    "centerrate", lambda organization: CenterRateFactory(center=CenterFactory(organization=organization))
)
register_tenant_object("discount", lambda organization: DiscountFactory(organization=organization))
register_tenant_object(  # the grid rule URLs (`pricegrid_rule_delete`, API `pricegrid-rule`) take a `rule_id`
    "rule", lambda organization: PriceGridRuleFactory(grid=PriceGridFactory(organization=organization))
)
