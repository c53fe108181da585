"""Pricing services: center rates, price grids and their rules, discounts and their allowances per role.
Rights, tenancy, validation (a refusal changes nothing) and the journal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.catalog.models import CenterRate, Discount, DiscountAllowance, PriceGrid, PriceGridRule
from comptoir.catalog.services import pricing as services
from comptoir.catalog.tests.pricing_factories import (
    CenterRateFactory,
    DiscountFactory,
    PriceGridFactory,
    PriceGridRuleFactory,
    allow,
)
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry, Role

D = Decimal


def _journal(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# --------------------------------------------------------------------------------------------------
# Center rates
# --------------------------------------------------------------------------------------------------
def test_create_then_update_a_center_rate(org, center, admin):
    grid = PriceGridFactory(organization=org)
    rate = services.create_center_rate(
        organization=org, by=admin, center=center, data={"price_per_m2": D("40.00"), "price_grid": grid}
    )
    assert (rate.center, rate.price_per_m2, rate.price_grid) == (center, D("40.00"), grid)
    [created] = _journal("centerrate.created")
    assert created.changes["price_per_m2"] == [None, "40.00"]

    rate = services.update_center_rate(rate=rate, by=admin, data={"price_per_m2": D("42.50"), "price_grid": None})
    rate.refresh_from_db()
    assert (rate.price_per_m2, rate.price_grid) == (D("42.50"), None)
    [updated] = _journal("centerrate.updated")
    assert updated.changes["price_per_m2"] == ["40.00", "42.50"]
    assert updated.changes["price_grid"] == [grid.pk, None]


def test_set_center_rate_creates_or_updates(org, center, admin):
    services.set_center_rate(organization=org, by=admin, center=center, data={"price_per_m2": D("30")})
    services.set_center_rate(organization=org, by=admin, center=center, data={"price_per_m2": D("31")})
    assert CenterRate.objects.get(center=center).price_per_m2 == D("31.00")


def test_one_rate_per_center(org, center, admin):
    CenterRateFactory(center=center)
    with pytest.raises(ValidationFailed) as refused:
        services.create_center_rate(organization=org, by=admin, center=center, data={"price_per_m2": D("1")})
    assert refused.value.code == "duplicate"
    assert CenterRate.objects.filter(center=center).count() == 1


def test_a_grid_of_another_organization_is_refused(org, other_org, center, admin):
    foreign = PriceGridFactory(organization=other_org)
    with pytest.raises(ValidationFailed) as refused:
        services.create_center_rate(
            organization=org, by=admin, center=center, data={"price_per_m2": D("40"), "price_grid": foreign}
        )
    assert "price_grid" in refused.value.fields
    assert not CenterRate.objects.exists()

    rate = CenterRateFactory(center=center)
    with pytest.raises(ValidationFailed):
        services.update_center_rate(rate=rate, by=admin, data={"price_grid": foreign})
    rate.refresh_from_db()
    assert rate.price_grid is None
    assert not _journal("centerrate.updated")


def test_a_center_of_another_organization_is_refused(org, other_center, admin):
    with pytest.raises(ValidationFailed) as refused:
        services.create_center_rate(organization=org, by=admin, center=other_center, data={"price_per_m2": D("1")})
    assert "center" in refused.value.fields


@pytest.mark.parametrize("value", [D("-1"), "abc", None])
def test_a_bad_price_per_m2_is_refused(org, center, admin, value):
    with pytest.raises(ValidationFailed) as refused:
        services.create_center_rate(organization=org, by=admin, center=center, data={"price_per_m2": value})
    assert "price_per_m2" in refused.value.fields
    assert not CenterRate.objects.exists()


def test_rights_on_center_rates(org, center, staff_of):
    reception, manager = staff_of("reception"), staff_of("manager")
    with pytest.raises(RightsError):
        services.create_center_rate(organization=org, by=reception, center=center, data={"price_per_m2": D("1")})
    rate = services.create_center_rate(organization=org, by=manager, center=center, data={"price_per_m2": D("1")})
    with pytest.raises(RightsError):
        services.update_center_rate(rate=rate, by=reception, data={"price_per_m2": D("2")})
    rate.refresh_from_db()
    assert rate.price_per_m2 == D("1.00")


# --------------------------------------------------------------------------------------------------
# Price grids and rules
# --------------------------------------------------------------------------------------------------
def test_create_a_grid_with_rules(org, admin):
    grid = services.create_price_grid(
        organization=org,
        by=admin,
        data={"name": " Standard ", "description": "Paris"},
        rules=[
            {"dimension": "typology", "value": "private_office", "coefficient": D("1.10")},
            {"dimension": "term", "value": "012", "coefficient": D("0.95")},
        ],
    )
    assert grid.name == "Standard"
    assert sorted(grid.rules.values_list("dimension", "value", "coefficient")) == [
        ("term", "12", D("0.9500")),
        ("typology", "private_office", D("1.1000")),
    ]
    assert len(_journal("pricegrid.created")) == 1
    assert len(_journal("pricegrid.rule_added")) == 2


def test_grid_names_are_unique_per_organization(org, other_org, admin):
    PriceGridFactory(organization=org, name="Standard")
    PriceGridFactory(organization=other_org, name="Premium")
    services.create_price_grid(organization=org, by=admin, data={"name": "Premium"})
    with pytest.raises(ValidationFailed) as refused:
        services.create_price_grid(organization=org, by=admin, data={"name": "Standard"})
    assert "name" in refused.value.fields


@pytest.mark.parametrize(
    ("dimension", "value"),
    [
        ("typology", "castle"),
        ("typology", "12"),
        ("term", "0"),
        ("term", "121"),
        ("term", "douze"),
        ("term", "-3"),
        ("term", "1.5"),
        ("service", "spa"),
        ("service", "private_office_"),
    ],
)
def test_a_rule_value_must_fit_its_dimension(org, admin, dimension, value):
    grid = PriceGridFactory(organization=org)
    with pytest.raises(ValidationFailed) as refused:
        services.add_grid_rule(grid=grid, by=admin, data={"dimension": dimension, "value": value, "coefficient": "1"})
    assert refused.value.code == "invalid_value"
    assert "value" in refused.value.fields
    assert not grid.rules.exists()
    assert not _journal("pricegrid.rule_added")


@pytest.mark.parametrize(
    ("dimension", "value", "stored"),
    [("typology", "meeting_room", "meeting_room"), ("term", " 36 ", "36"), ("term", "120", "120"),
     ("service", "domiciliation", "domiciliation")],
)  # fmt: skip
def test_valid_rule_values(org, admin, dimension, value, stored):
    grid = PriceGridFactory(organization=org)
    rule = services.add_grid_rule(
        grid=grid, by=admin, data={"dimension": dimension, "value": value, "coefficient": "0,9"}
    )
    assert (rule.value, rule.coefficient) == (stored, D("0.9"))


def test_bad_dimension_coefficient_or_duplicate(org, admin):
    grid = PriceGridFactory(organization=org)
    with pytest.raises(ValidationFailed) as dimension:
        services.add_grid_rule(grid=grid, by=admin, data={"dimension": "size", "value": "1", "coefficient": "1"})
    assert "dimension" in dimension.value.fields
    for coefficient in ("0", "-1", "100", "abc", "1.00001"):
        with pytest.raises(ValidationFailed) as bad:
            services.add_grid_rule(
                grid=grid, by=admin, data={"dimension": "term", "value": "12", "coefficient": coefficient}
            )
        assert "coefficient" in bad.value.fields, coefficient
    services.add_grid_rule(grid=grid, by=admin, data={"dimension": "term", "value": "12", "coefficient": "0.95"})
    with pytest.raises(ValidationFailed) as duplicate:
        services.add_grid_rule(grid=grid, by=admin, data={"dimension": "term", "value": "12", "coefficient": "0.9"})
    assert duplicate.value.code == "duplicate_rule"
    assert grid.rules.get().coefficient == D("0.9500")


def test_update_and_remove_a_rule(org, admin):
    grid = PriceGridFactory(organization=org)
    rule = PriceGridRuleFactory(grid=grid, dimension="term", value="12", coefficient=D("0.95"))
    PriceGridRuleFactory(grid=grid, dimension="term", value="24", coefficient=D("0.90"))

    services.update_grid_rule(rule=rule, by=admin, data={"coefficient": "0.93"})
    rule.refresh_from_db()
    assert rule.coefficient == D("0.93")
    with pytest.raises(ValidationFailed):
        services.update_grid_rule(rule=rule, by=admin, data={"value": "24"})  # taken
    with pytest.raises(ValidationFailed):
        services.update_grid_rule(rule=rule, by=admin, data={"dimension": "typology"})  # "12" is not a kind
    rule.refresh_from_db()
    assert (rule.dimension, rule.value) == ("term", "12")

    services.remove_grid_rule(rule=rule, by=admin)
    assert list(grid.rules.values_list("value", flat=True)) == ["24"]
    [removed] = _journal("pricegrid.rule_removed")
    assert removed.changes["value"] == "12"
    assert removed.object_id == str(grid.pk)


def test_rule_rights(org, staff_of):
    reception = staff_of("reception")
    grid = PriceGridFactory(organization=org)
    rule = PriceGridRuleFactory(grid=grid)
    with pytest.raises(RightsError):
        services.add_grid_rule(grid=grid, by=reception, data={"dimension": "term", "value": "6", "coefficient": "1"})
    with pytest.raises(RightsError):
        services.remove_grid_rule(rule=rule, by=reception)
    assert grid.rules.count() == 1


def test_a_grid_in_use_is_not_deleted(org, center, admin):
    grid = PriceGridFactory(organization=org)
    CenterRateFactory(center=center, price_grid=grid)
    with pytest.raises(DomainError) as refused:
        services.delete_price_grid(grid=grid, by=admin)
    assert refused.value.code == "grid_in_use"
    assert center.name in refused.value.message
    CenterRate.objects.update(price_grid=None)
    services.delete_price_grid(grid=grid, by=admin)
    assert not PriceGrid.objects.exists()


# --------------------------------------------------------------------------------------------------
# Discounts and allowances
# --------------------------------------------------------------------------------------------------
def test_create_a_discount_limited_to_a_center_with_allowances(org, center, admin):
    manager_role = Role.objects.get(organization=org, kind="manager")
    discount = services.create_discount(
        organization=org,
        by=admin,
        data={"name": "Fidélité", "percent": D("10"), "centers": [center]},
        allowances={manager_role: D("15")},
    )
    assert list(discount.centers.all()) == [center]
    assert discount.allowances.get().max_percent == D("15.00")
    assert _journal("discount.created")[0].changes["centers"] == [center.pk]
    assert _journal("discount.allowances_changed")[0].changes == {manager_role.name: [None, "15"]}


def test_update_a_discount(org, center, admin):
    discount = DiscountFactory(organization=org, percent=D("10"))
    services.update_discount(discount=discount, by=admin, data={"is_active": False, "centers": [center]})
    discount.refresh_from_db()
    assert not discount.is_active
    [entry] = _journal("discount.updated")
    assert entry.changes == {"is_active": [True, False], "centers": [[], [center.pk]]}


@pytest.mark.parametrize("percent", [D("0"), D("100.01"), D("-5")])
def test_a_bad_discount_percent_is_refused(org, admin, percent):
    with pytest.raises(ValidationFailed) as refused:
        services.create_discount(organization=org, by=admin, data={"name": "X", "percent": percent})
    assert "percent" in refused.value.fields
    assert not Discount.objects.exists()


def test_discount_centers_and_roles_of_another_organization_are_refused(org, other_org, other_center, admin):
    with pytest.raises(ValidationFailed) as centers:
        services.create_discount(
            organization=org, by=admin, data={"name": "X", "percent": D("5"), "centers": [other_center]}
        )
    assert "centers" in centers.value.fields
    discount = DiscountFactory(organization=org)
    foreign_role = Role.objects.get(organization=other_org, kind="manager")
    with pytest.raises(ValidationFailed) as role:
        services.set_discount_allowance(discount=discount, by=admin, role=foreign_role, max_percent=D("5"))
    assert "role" in role.value.fields
    assert not DiscountAllowance.objects.exists()


def test_allowances_are_set_changed_and_removed(org, admin):
    discount = DiscountFactory(organization=org)
    manager = Role.objects.get(organization=org, kind="manager")
    reception = Role.objects.get(organization=org, kind="reception")
    services.set_discount_allowances(discount=discount, by=admin, allowances={manager: D("10"), reception: "2,5"})
    assert dict(discount.allowances.values_list("role__kind", "max_percent")) == {
        "manager": D("10.00"),
        "reception": D("2.50"),
    }
    services.set_discount_allowances(discount=discount, by=admin, allowances={manager: D("12"), reception: None})
    assert dict(discount.allowances.values_list("role__kind", "max_percent")) == {"manager": D("12.00")}
    services.set_discount_allowance(discount=discount, by=admin, role=manager, max_percent=0)
    assert not discount.allowances.exists()
    assert len(_journal("discount.allowances_changed")) == 3


@pytest.mark.parametrize("value", [D("100.01"), D("-1"), "abc", D("10.001")])
def test_an_allowance_above_100_or_malformed_is_refused(org, admin, value):
    discount = DiscountFactory(organization=org)
    allow(discount, "manager", "5")
    manager = Role.objects.get(organization=org, kind="manager")
    with pytest.raises(ValidationFailed) as refused:
        services.set_discount_allowance(discount=discount, by=admin, role=manager, max_percent=value)
    assert "max_percent" in refused.value.fields
    assert discount.allowances.get().max_percent == D("5.00")


def test_discount_rights(org, staff_of):
    reception = staff_of("reception")
    discount = DiscountFactory(organization=org)
    manager_role = Role.objects.get(organization=org, kind="manager")
    with pytest.raises(RightsError):
        services.create_discount(organization=org, by=reception, data={"name": "X", "percent": D("5")})
    with pytest.raises(RightsError):
        services.set_discount_allowance(discount=discount, by=reception, role=manager_role, max_percent=D("50"))
    with pytest.raises(RightsError):
        services.delete_discount(discount=discount, by=reception)
    assert Discount.objects.count() == 1 and not DiscountAllowance.objects.exists()


def test_staff_of_another_organization_changes_nothing(org, center, other_admin):
    grid = PriceGridFactory(organization=org)
    with pytest.raises(RightsError):
        services.update_price_grid(grid=grid, by=other_admin, data={"name": "Pirate"})
    with pytest.raises(RightsError):
        services.create_center_rate(organization=org, by=other_admin, center=center, data={"price_per_m2": D("1")})
    grid.refresh_from_db()
    assert grid.name != "Pirate"


def test_a_discount_is_deleted_with_its_allowances(org, admin):
    discount = DiscountFactory(organization=org)
    allow(discount, "manager", "5")
    services.delete_discount(discount=discount, by=admin)
    assert not Discount.objects.exists() and not DiscountAllowance.objects.exists()
    assert _journal("discount.deleted")[0].changes == {"name": discount.name}


def test_rules_of_another_center_are_untouched(org, admin):
    """Removing a rule touches only its grid."""
    grid_a, grid_b = PriceGridFactory(organization=org), PriceGridFactory(organization=org)
    rule_a = PriceGridRuleFactory(grid=grid_a)
    PriceGridRuleFactory(grid=grid_b)
    services.remove_grid_rule(rule=rule_a, by=admin)
    assert PriceGridRule.objects.filter(grid=grid_b).count() == 1


def test_discount_names_are_unique_per_organization(org, admin):
    DiscountFactory(organization=org, name="Fidélité")
    other = DiscountFactory(organization=org, name="Parrainage")
    with pytest.raises(ValidationFailed) as created:
        services.create_discount(organization=org, by=admin, data={"name": "Fidélité ", "percent": D("5")})
    assert created.value.code == "duplicate" and "name" in created.value.fields
    with pytest.raises(ValidationFailed) as renamed:
        services.update_discount(discount=other, by=admin, data={"name": "Fidélité"})
    assert "name" in renamed.value.fields
    other.refresh_from_db()
    assert other.name == "Parrainage"
