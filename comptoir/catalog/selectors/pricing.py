"""Reads of office pricing, scoped to the organization and to what the user may see (no N+1)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import ngettext

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
from comptoir.catalog.pricing import format_number
from comptoir.core import rights
from comptoir.core import selectors as core_selectors
from comptoir.core.models import Center, Organization, Role, User


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def center_rates_for(user: User, organization: Organization | int) -> QuerySet[CenterRate]:
    """The rates of the centers the user may see."""
    if not rights.has_right(user, "catalog.view_centerrate", organization):
        return CenterRate.objects.none()
    centers = core_selectors.centers_for(user, organization)
    return CenterRate.objects.filter(
        organization=_org_id(organization), center__in=centers.values("pk")
    ).select_related("center", "price_grid")


def centers_with_rates(user: User, organization: Organization | int) -> QuerySet[Center]:
    """Every center the user may see, with its rate and grid (None when the center has no rate yet)."""
    if not rights.has_right(user, "catalog.view_centerrate", organization):
        return Center.objects.none()
    return (
        core_selectors.centers_for(user, organization).select_related("rate", "rate__price_grid").order_by("name", "id")
    )


def price_grids_for(user: User, organization: Organization | int) -> QuerySet[PriceGrid]:
    if not rights.has_right(user, "catalog.view_pricegrid", organization):
        return PriceGrid.objects.none()
    return PriceGrid.objects.filter(organization=_org_id(organization))


def price_grid_rows(user: User, organization: Organization | int) -> QuerySet[PriceGrid]:
    """Grids with their number of rules and of centers using them (the list page)."""
    return price_grids_for(user, organization).annotate(
        rule_count=Count("rules", distinct=True), center_count=Count("centers", distinct=True)
    )


def price_grids_with_rules(user: User, organization: Organization | int) -> QuerySet[PriceGrid]:
    return price_grids_for(user, organization).prefetch_related(
        Prefetch("rules", queryset=PriceGridRule.objects.order_by("dimension", "value", "id"))
    )


def rule_value_label(rule: PriceGridRule) -> str:
    """What a rule's value means: « Bureau privatif », « dès 12 mois », « Domiciliation d'entreprise »."""
    if rule.dimension == PriceGridRule.Dimension.TERM and rule.value.isdigit():
        months = int(rule.value)
        return ngettext("dès %(months)s mois", "dès %(months)s mois", months) % {"months": months}
    labels = (
        dict(Space.Kind.choices) if rule.dimension == PriceGridRule.Dimension.TYPOLOGY else dict(ServiceType.choices)
    )
    return str(labels.get(rule.value, rule.value))


def grid_rules(grid: PriceGrid) -> list[PriceGridRule]:
    """A grid's rules (each with its `value_label`): typologies, then terms by number of months, then services."""
    order = {value: index for index, value in enumerate(PriceGridRule.Dimension.values)}
    rules = sorted(
        grid.rules.all(),
        key=lambda rule: (order.get(rule.dimension, 9), int(rule.value) if rule.value.isdigit() else 0, rule.value),
    )
    for rule in rules:
        rule.value_label = rule_value_label(rule)  # type: ignore[attr-defined]
        rule.coefficient_label = f"× {format_number(rule.coefficient)}"  # type: ignore[attr-defined]
    return rules


def discounts_for(user: User, organization: Organization | int) -> QuerySet[Discount]:
    if not rights.has_right(user, "catalog.view_discount", organization):
        return Discount.objects.none()
    return Discount.objects.filter(organization=_org_id(organization))


def discount_rows(user: User, organization: Organization | int) -> QuerySet[Discount]:
    """Discounts with their centers and allowances (roles) prefetched."""
    return discounts_for(user, organization).prefetch_related(
        "centers", Prefetch("allowances", queryset=DiscountAllowance.objects.select_related("role"))
    )


def roles_of(organization: Organization | int) -> QuerySet[Role]:
    return Role.objects.filter(organization=_org_id(organization)).order_by("id")


def discounts_for_pricing(user: User, organization: Organization | int) -> QuerySet[Discount]:
    """The active discounts a staff member may look at in the simulator (any staff member of the org)."""
    if not rights.is_staff_of(user, organization):
        return Discount.objects.none()
    return (
        Discount.objects.filter(organization=_org_id(organization), is_active=True)
        .prefetch_related("centers")
        .order_by("name", "id")
    )


def spaces_for_pricing(user: User, organization: Organization | int) -> QuerySet[Space]:
    """Active spaces of the centers the user may see (the API prices them, or says what is missing)."""
    if not rights.is_staff_of(user, organization):
        return Space.objects.none()
    centers = core_selectors.centers_for(user, organization)
    return (
        Space.objects.filter(organization=_org_id(organization), center__in=centers.values("pk"), is_active=True)
        .select_related("center")
        .order_by("center__name", "name", "id")
    )


def priced_spaces_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """Those that have a surface (the simulator's choice)."""
    return spaces_for_pricing(user, organization).filter(Q(area_m2__gt=0))


def products_for_pricing(user: User, organization: Organization | int) -> QuerySet[Product]:
    if not rights.is_staff_of(user, organization):
        return Product.objects.none()
    return Product.objects.filter(organization=_org_id(organization))


def centers_for_pricing(user: User, organization: Organization | int) -> QuerySet[Center]:
    return core_selectors.centers_for(user, organization)
