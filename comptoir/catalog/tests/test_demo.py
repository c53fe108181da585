"""The catalog's demo data: spaces drawn on a plan per floor in each center, prices, the service catalog and
discounts; deterministic and idempotent (a second run creates nothing)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.apps import apps

from comptoir.catalog import pricing
from comptoir.catalog.demo import GRID_NAME, PLAN_HEIGHT, PLAN_WIDTH, plan_layout
from comptoir.catalog.models import (
    CenterRate,
    Discount,
    FloorPlan,
    PriceGridRule,
    Product,
    ProductCenterPrice,
    Space,
)
from comptoir.core import demo
from comptoir.core.models import Role

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def test_catalog_demo_builds_spaces_plans_prices_catalog_and_discounts_and_a_rerun_creates_nothing():
    first = demo.build_demo()
    organization = first.organization
    assert first.created["spaces"] == 51 and first.created["floor plans"] == 6
    before = row_counts()

    second = demo.build_demo()

    assert second.created == {}
    assert row_counts() == before

    # spaces: every kind in each of the 3 centers, private offices of various areas on 2 floors
    spaces = Space.objects.filter(organization=organization)
    for center in first.centers.values():
        of_center = spaces.filter(center=center)
        assert set(of_center.values_list("kind", flat=True)) == set(Space.Kind.values)
        offices = of_center.filter(kind=Space.Kind.PRIVATE_OFFICE)
        assert set(offices.values_list("floor", flat=True)) == {0, 1}
        assert len(set(offices.values_list("area_m2", flat=True))) >= 8
    assert not spaces.filter(kind__in=["private_office", "shared_office", "drop_in_office"], area_m2__isnull=True)

    # a plan per floor, every space drawn inside it, no two polygons overlapping
    plans = FloorPlan.objects.filter(organization=organization)
    assert Counter(plans.values_list("center_id", flat=True)) == {center.pk: 2 for center in first.centers.values()}
    for plan in plans:
        on_floor = list(spaces.filter(center=plan.center, floor=plan.floor))
        boxes = []
        for space in on_floor:
            assert space.shape is not None, space.name
            xs, ys = [p[0] for p in space.shape], [p[1] for p in space.shape]
            assert 0 <= min(xs) < max(xs) <= plan.width and 0 <= min(ys) < max(ys) <= plan.height
            boxes.append((min(xs), min(ys), max(xs), max(ys)))
        for index, (x0, y0, x1, y1) in enumerate(boxes):
            for a0, b0, a1, b1 in boxes[index + 1 :]:
                assert x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0

    # a price per m² and the grid (typology, terms 3/12/24/36, services) in every center
    rates = CenterRate.objects.filter(organization=organization).select_related("price_grid")
    assert rates.count() == 3 and {rate.price_grid.name for rate in rates} == {GRID_NAME}
    rules = PriceGridRule.objects.filter(grid__organization=organization)
    assert set(rules.filter(dimension="term").values_list("value", flat=True)) == {"3", "12", "24", "36"}
    assert rules.filter(dimension="typology").count() >= 3 and rules.filter(dimension="service").count() >= 3
    office = spaces.get(center=first.centers["paris-opera"], name="Bureau 102")
    three, thirty_six = (pricing.office_price(office, term_months=m) for m in (3, 36))
    assert three.adds_up() and thirty_six.adds_up()
    assert three.unit_price == Decimal("18") * Decimal("48.00") * Decimal("1.10")
    assert thirty_six.unit_price < three.unit_price

    # the service catalog: main services of every type, options, consumptions, the three kinds of plan
    products = Product.objects.filter(organization=organization)
    assert set(products.filter(kind="main_service").values_list("service_type", flat=True)) == {
        "domiciliation", "private_office", "coworking", "nomad", "parking",
    }  # fmt: skip
    assert products.filter(kind="option").count() >= 4
    consumption_units = set(products.filter(kind="consumption").values_list("unit", flat=True))
    assert {"print", "drink", "hour"} <= consumption_units
    assert set(products.filter(kind="plan").values_list("plan_type", flat=True)) == {
        "subscription", "pack", "domiciliation",
    }  # fmt: skip
    vat_rates = set(products.values_list("vat_rate", flat=True))
    assert {"20.00", "10.00", "0.00"} <= vat_rates
    assert all(p.vat_exemption_reason for p in products.filter(vat_rate="0.00"))
    parking = products.get(name="Place de parking")
    assert pricing.product_unit_price(parking, first.centers["paris-opera"]) == Decimal("180.00")
    assert pricing.product_unit_price(parking, first.centers["lyon-part-dieu"]) == Decimal("95.00")
    locker = products.get(name="Casier sécurisé")
    assert not pricing.is_available(locker, first.centers["bordeaux-chartrons"])
    assert ProductCenterPrice.objects.filter(organization=organization).count() == 3

    # discounts with a maximum per role, one limited to a center
    discounts = Discount.objects.filter(organization=organization)
    assert discounts.count() == 3
    manager = Role.objects.get(organization=organization, kind=Role.Kind.MANAGER)
    reception = Role.objects.get(organization=organization, kind=Role.Kind.RECEPTION)
    commercial = discounts.get(name="Remise commerciale")
    assert pricing.allowance(first.staff["manager"], organization, commercial) == Decimal("10")
    assert pricing.allowance(first.staff["reception"], organization, commercial) == Decimal("5")
    assert commercial.allowances.filter(role=manager).exists() and commercial.allowances.filter(role=reception)
    launch = discounts.get(name="Offre de lancement Bordeaux")
    assert [center.code for center in launch.centers.all()] == ["bordeaux-chartrons"]


def test_the_layout_is_a_tidy_grid_inside_the_plan():
    shapes = plan_layout([("A", Decimal(10)), ("B", Decimal(40)), ("C", Decimal(20))])

    assert list(shapes) == ["A", "B", "C"]
    for shape in shapes.values():
        assert len(shape) == 4
        assert all(0 <= x <= PLAN_WIDTH and 0 <= y <= PLAN_HEIGHT for x, y in shape)
    width = {name: shape[1][0] - shape[0][0] for name, shape in shapes.items()}
    assert width["B"] > width["A"]  # a larger room is drawn wider
