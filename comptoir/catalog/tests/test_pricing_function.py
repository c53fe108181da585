"""The one pricing function (frontmanager §17, DESIGN.md invariant 11): a worked example to the cent,
property tests (steps add up, the JSON snapshot round-trips, never negative), and the discount checks."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.catalog import pricing
from comptoir.catalog.models import CenterRate, PriceGridRule, Product, ProductCenterPrice, ServiceType, Space
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.catalog.tests.pricing_factories import (
    DiscountFactory,
    PriceGridFactory,
    SpaceFactory,
    allow,
    office_setup,
)
from comptoir.core.errors import ValidationFailed
from comptoir.core.tests.factories import CenterFactory

D = Decimal
TYPOLOGY, TERM, SERVICE = (
    PriceGridRule.Dimension.TYPOLOGY,
    PriceGridRule.Dimension.TERM,
    PriceGridRule.Dimension.SERVICE,
)


# --------------------------------------------------------------------------------------------------
# The worked example
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def office(org, center):
    return office_setup(
        org,
        center,
        rules={(TYPOLOGY, "private_office"): "1.10", (TERM, "6"): "0.98", (TERM, "12"): "0.95", (TERM, "24"): "0.90"},
    )


def test_worked_example_to_the_cent(org, office):
    space, _rate, _grid = office
    discount = DiscountFactory(organization=org, name="Fidélité", percent=D("10.00"))

    breakdown = pricing.office_price(space, term_months=12, discounts=[pricing.Applied(discount)])

    assert [(step.code, step.amount) for step in breakdown.steps] == [
        ("base", D("500.00")),
        ("typology", D("550.00")),
        ("term", D("522.50")),
        ("discount", D("470.25")),
    ]
    assert [step.delta for step in breakdown.steps] == [D("500.00"), D("50.00"), D("-27.50"), D("-52.25")]
    assert breakdown.unit_price == D("470.25")
    assert breakdown.steps[0].detail == "12,50 m² × 40 €"
    assert breakdown.steps[1].detail == "× 1,10"
    assert breakdown.steps[2].detail == "× 0,95"
    assert breakdown.steps[3].label == "Fidélité"
    assert breakdown.steps[3].detail == "− 10 %"
    assert breakdown.vat_rate == D("20.00")
    assert breakdown.adds_up()


def test_the_longest_term_not_above_the_commitment_wins(office):
    space, _rate, _grid = office
    assert pricing.office_price(space, term_months=5).unit_price == D("550.00")  # no term rule below 6
    assert pricing.office_price(space, term_months=6).unit_price == D("539.00")
    assert pricing.office_price(space, term_months=23).unit_price == D("522.50")
    assert pricing.office_price(space, term_months=36).unit_price == D("495.00")


def test_a_service_rule_and_an_explicit_service(org, center):
    space, _rate, _grid = office_setup(
        org, center, rules={(SERVICE, "private_office"): "1.05", (SERVICE, "domiciliation"): "0.50"}
    )
    assert pricing.office_price(space).unit_price == D("525.00")  # the office's own service
    assert pricing.office_price(space, service=ServiceType.DOMICILIATION).unit_price == D("250.00")


def test_an_inactive_grid_is_ignored(office):
    space, _rate, grid = office
    grid.is_active = False
    grid.save()
    breakdown = pricing.office_price(space, term_months=12)
    assert [step.code for step in breakdown.steps] == ["base"]
    assert breakdown.unit_price == D("500.00")


def test_a_space_without_surface_or_a_center_without_rate_is_refused(org, center):
    space = SpaceFactory(organization=org, center=center, area_m2=None)
    with pytest.raises(ValidationFailed) as no_area:
        pricing.office_price(space)
    assert no_area.value.code == "no_area"
    space.area_m2 = D("10")
    with pytest.raises(ValidationFailed) as no_rate:
        pricing.office_price(space)
    assert no_rate.value.code == "no_center_rate"
    assert "space" in no_rate.value.fields


def test_product_price_uses_the_center_override_and_the_term_coefficient(org, center):
    grid = PriceGridFactory(organization=org)
    PriceGridRule.objects.create(grid=grid, dimension=TERM, value="12", coefficient=D("0.90"))
    CenterRate.objects.create(organization=org, center=center, price_per_m2=D("40"), price_grid=grid)
    product = ProductFactory(organization=org, unit_price=D("49.00"), service_type=ServiceType.DOMICILIATION)
    ProductCenterPrice.objects.create(organization=org, product=product, center=center, unit_price=D("59.00"))
    option = ProductFactory(organization=org, kind=Product.Kind.OPTION, service_type="", unit_price=D("15.00"))

    assert pricing.product_price(product, None, term_months=12).unit_price == D("49.00")
    breakdown = pricing.product_price(product, center, term_months=12)
    assert [step.amount for step in breakdown.steps] == [D("59.00"), D("53.10")]
    assert pricing.product_price(option, center, term_months=12).unit_price == D("15.00")  # options keep their price
    assert breakdown.adds_up()


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------
money = st.decimals(min_value=D("0"), max_value=D("999.99"), places=2)
area = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)
coefficient = st.decimals(min_value=D("0.0001"), max_value=D("3"), places=4)
percent = st.decimals(min_value=D("0.01"), max_value=D("100"), places=2)


@pytest.fixture
def property_office(org, center):
    space, rate, grid = office_setup(org, center)
    discounts = [DiscountFactory(organization=org, name=f"Remise {n}") for n in range(4)]
    return space, rate, grid, discounts


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    area_m2=area,
    price_per_m2=money,
    typology=st.none() | coefficient,
    terms=st.dictionaries(st.integers(min_value=1, max_value=120), coefficient, max_size=4),
    service=st.none() | coefficient,
    term_months=st.none() | st.integers(min_value=1, max_value=120),
    rates=st.lists(percent, max_size=4),
)
def test_steps_add_up_round_trip_and_never_go_negative(
    property_office, area_m2, price_per_m2, typology, terms, service, term_months, rates
):
    space, rate, grid, discounts = property_office
    CenterRate.objects.filter(pk=rate.pk).update(price_per_m2=price_per_m2)
    grid.rules.all().delete()
    rules = [PriceGridRule(grid=grid, dimension=TERM, value=str(months), coefficient=c) for months, c in terms.items()]
    if typology is not None:
        rules.append(
            PriceGridRule(grid=grid, dimension=TYPOLOGY, value=Space.Kind.PRIVATE_OFFICE, coefficient=typology)
        )
    if service is not None:
        rules.append(PriceGridRule(grid=grid, dimension=SERVICE, value=ServiceType.PRIVATE_OFFICE, coefficient=service))
    PriceGridRule.objects.bulk_create(rules)
    space.area_m2 = area_m2
    applied = [pricing.Applied(discounts[index], value) for index, value in enumerate(rates)]

    breakdown = pricing.office_price(space, term_months=term_months, discounts=applied)

    assert breakdown.adds_up()
    assert breakdown.steps[0].amount == (area_m2 * price_per_m2).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert sum(step.delta for step in breakdown.steps) == breakdown.unit_price
    assert all(step.amount >= 0 for step in breakdown.steps)
    assert all(step.amount == step.amount.quantize(D("0.01")) for step in breakdown.steps)
    assert pricing.Breakdown.from_json(breakdown.as_json()) == breakdown
    # the snapshot is plain JSON: strings, exactly the amounts
    assert breakdown.as_json()["steps"][-1]["amount"] == str(breakdown.unit_price)
    assert len([step for step in breakdown.steps if step.code == "discount"]) == len(rates)


@settings(max_examples=200, deadline=None)
@given(base=money, coefficients=st.lists(coefficient, max_size=3), rates=st.lists(percent, max_size=5))
def test_apply_keeps_every_step_to_the_cent(base, coefficients, rates):
    """The pure part of the function, without the database: many more examples."""
    discount = pricing.Discount(name="Remise", percent=D("10"))
    steps = pricing._apply(
        [pricing.Step("base", "Base", "", base, base)],
        [("term", "Engagement", c) for c in coefficients],
        [pricing.Applied(discount, rate) for rate in rates],
    )
    breakdown = pricing.Breakdown(tuple(steps), D("20.00"))
    assert breakdown.adds_up()
    assert breakdown.unit_price >= 0
    if any(rate == 100 for rate in rates):
        assert breakdown.unit_price == 0
    assert pricing.Breakdown.from_json(breakdown.as_json()) == breakdown


def test_the_base_is_rounded_half_up(org, center):
    """1,90 m² × 446,95 € = 849,205 € → 849,21 € (half-up, not the banker's 849,20 €)."""
    space, _rate, _grid = office_setup(org, center, area="1.90", price_per_m2="446.95")
    assert pricing.office_price(space).unit_price == D("849.21")


def test_adds_up_detects_a_tampered_snapshot(office):
    space, _rate, _grid = office
    data = pricing.office_price(space, term_months=12).as_json()
    data["steps"][1]["amount"] = "551.00"
    assert not pricing.Breakdown.from_json(data).adds_up()


# --------------------------------------------------------------------------------------------------
# Discount allowance
# --------------------------------------------------------------------------------------------------
def test_a_role_may_grant_up_to_its_maximum(org, center, staff_of, admin):
    manager = staff_of("manager")
    discount = DiscountFactory(organization=org, percent=D("5.00"))
    allow(discount, "manager", "10")

    pricing.check_discounts(manager, org, [pricing.Applied(discount, D("10"))], center=center)
    pricing.check_discounts(manager, org, [pricing.Applied(discount)], center=center)  # its own 5 %
    pricing.check_discounts(admin, org, [pricing.Applied(discount, D("100"))], center=center)
    assert pricing.allowance(manager, org, discount) == D("10")
    assert pricing.allowance(admin, org, discount) == D("100")

    with pytest.raises(ValidationFailed) as beyond:
        pricing.check_discounts(manager, org, [pricing.Applied(discount, D("10.01"))], center=center)
    assert beyond.value.code == "discount_not_allowed"
    assert "discounts" in beyond.value.fields
    assert "10 %" in beyond.value.message


def test_a_reception_role_with_no_allowance_may_not_grant_it(org, center, staff_of):
    reception = staff_of("reception")
    discount = DiscountFactory(organization=org)
    allow(discount, "manager", "10")
    assert pricing.allowance(reception, org, discount) == 0
    with pytest.raises(ValidationFailed) as refused:
        pricing.check_discounts(reception, org, [pricing.Applied(discount, D("1"))], center=center)
    assert refused.value.code == "discount_not_allowed"
    assert refused.value.fields == {"discounts": [refused.value.message]}


def test_an_inactive_discount_or_one_of_another_organization_is_refused(org, other_org, center, admin):
    inactive = DiscountFactory(organization=org, is_active=False)
    foreign = DiscountFactory(organization=other_org)
    for discount in (inactive, foreign):
        with pytest.raises(ValidationFailed) as refused:
            pricing.check_discounts(admin, org, [pricing.Applied(discount)], center=center)
        assert refused.value.code == "discount_unavailable"
        assert "discounts" in refused.value.fields


def test_a_discount_limited_to_another_center_is_refused(org, center, admin):
    elsewhere = CenterFactory(organization=org, name="Lyon")
    discount = DiscountFactory(organization=org)
    discount.centers.set([elsewhere])
    pricing.check_discounts(admin, org, [pricing.Applied(discount)], center=elsewhere)
    with pytest.raises(ValidationFailed) as refused:
        pricing.check_discounts(admin, org, [pricing.Applied(discount)], center=center)
    assert refused.value.code == "discount_unavailable"
    assert "Lyon" not in refused.value.message and center.name in refused.value.message


def test_a_zero_or_negative_percent_is_refused(org, center, admin):
    discount = DiscountFactory(organization=org)
    for value in (D("0"), D("-5")):
        with pytest.raises(ValidationFailed):
            pricing.check_discounts(admin, org, [pricing.Applied(discount, value)], center=center)


def test_staff_of_another_organization_may_grant_nothing(org, center, other_admin):
    discount = DiscountFactory(organization=org)
    with pytest.raises(ValidationFailed):
        pricing.check_discounts(other_admin, org, [pricing.Applied(discount, D("1"))], center=center)


def test_a_discount_applied_twice_is_refused(org, center, staff_of):
    manager = staff_of("manager")
    discount = DiscountFactory(organization=org)
    allow(discount, "manager", "10")
    twice = [pricing.Applied(discount, D("6")), pricing.Applied(discount, D("6"))]
    with pytest.raises(ValidationFailed) as refused:
        pricing.check_discounts(manager, org, twice, center=center)
    assert refused.value.code == "duplicate_discount" and "discounts" in refused.value.fields


def test_the_function_itself_refuses_a_percent_outside_0_100_and_an_unknown_service(org, office):
    space, _rate, _grid = office
    discount = DiscountFactory(organization=org)
    for value in (D("0"), D("-10"), D("100.01")):
        with pytest.raises(ValidationFailed) as refused:
            pricing.office_price(space, discounts=[pricing.Applied(discount, value)])
        assert "discounts" in refused.value.fields
    with pytest.raises(ValidationFailed) as service:
        pricing.office_price(space, service="spa")
    assert "service" in service.value.fields


def test_a_snapshot_does_not_move_when_the_catalog_changes(org, office, admin):
    """Invariant 11: a document keeps the JSON it froze; only new prices follow the new rate and grid."""
    space, rate, grid = office
    frozen = pricing.office_price(space, term_months=12).as_json()
    rate.price_per_m2 = D("50.00")
    rate.save()
    grid.rules.filter(dimension=TERM).update(coefficient=D("0.80"))

    assert pricing.Breakdown.from_json(frozen).unit_price == D("522.50")
    assert pricing.office_price(space, term_months=12).unit_price == D("550.00")  # 625 × 1,10 × 0,80


def test_a_price_book_reads_rates_grids_and_center_prices_once_for_many_lines(
    org, center, django_assert_max_num_queries
):
    from comptoir.catalog.tests.factories import SpaceFactory

    space, _rate, _grid = office_setup(
        org, center, rules={("term", "12"): "0.95", ("typology", "private_office"): "1.10"}
    )
    spaces = [space, *(SpaceFactory(organization=org, center=center, area_m2=Decimal(10 + i)) for i in range(9))]
    product = ProductFactory(organization=org, service_type=ServiceType.DOMICILIATION)
    ProductCenterPrice.objects.create(organization=org, product=product, center=center, unit_price=Decimal("45.00"))
    for item in spaces:
        item.center = center  # loaded once, as a quote's spaces are (select_related)
    expected = [pricing.office_price(item, term_months=24) for item in spaces]
    expected.append(pricing.product_price(product, center, term_months=24))

    book = pricing.PriceBook()
    with django_assert_max_num_queries(3):  # the rate with its grid, the grid's rules, the product's price
        priced = [pricing.office_price(item, term_months=24, book=book) for item in spaces]
        priced.append(pricing.product_price(product, center, term_months=24, book=book))

    assert priced == expected
    assert priced[-1].steps[0].amount == Decimal("45.00")
