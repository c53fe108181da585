"""Factories and helpers of the office pricing tests (the catalog's own factories are in factories.py)."""

from __future__ import annotations

from decimal import Decimal

from comptoir.catalog.models import CenterRate, Discount, DiscountAllowance, PriceGrid, PriceGridRule, Space
from comptoir.catalog.tests.factories import (
    CenterRateFactory,
    DiscountAllowanceFactory,
    DiscountFactory,
    PriceGridFactory,
    PriceGridRuleFactory,
    SpaceFactory,
)
from comptoir.core.models import Center, Organization, Role

__all__ = [
    "CenterRateFactory",
    "DiscountAllowanceFactory",
    "DiscountFactory",
    "PriceGridFactory",
    "PriceGridRuleFactory",
    "SpaceFactory",
    "allow",
    "office_setup",
]


def office_setup(
    organization: Organization,
    center: Center,
    *,
    area: str = "12.50",
    price_per_m2: str = "40.00",
    rules: dict[tuple[str, str], str] | None = None,
) -> tuple[Space, CenterRate, PriceGrid]:
    """A private office of `area` m² in `center`, whose rate is `price_per_m2` with a grid of `rules`."""
    grid = PriceGridFactory(organization=organization, name="Grille standard")
    for (dimension, value), coefficient in (rules or {}).items():
        PriceGridRule.objects.create(grid=grid, dimension=dimension, value=value, coefficient=Decimal(coefficient))
    rate = CenterRateFactory(center=center, price_per_m2=Decimal(price_per_m2), price_grid=grid)
    space = SpaceFactory(organization=organization, center=center, area_m2=Decimal(area), name="Bureau A12")
    return space, rate, grid


def allow(discount: Discount, kind: str, max_percent: str) -> DiscountAllowance:
    role = Role.objects.get(organization=discount.organization, kind=kind)
    return DiscountAllowance.objects.create(discount=discount, role=role, max_percent=Decimal(max_percent))
