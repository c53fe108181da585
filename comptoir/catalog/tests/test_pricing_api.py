"""The pricing API: center-rates, price-grids (rules nested), discounts (allowances nested) and
POST /pricing/office/ and /pricing/product/ with the caller's discount allowance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.catalog import pricing
from comptoir.catalog.models import CenterRate, Discount, DiscountAllowance, PriceGrid, PriceGridRule, ServiceType
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.catalog.tests.pricing_factories import (
    CenterRateFactory,
    DiscountFactory,
    PriceGridFactory,
    PriceGridRuleFactory,
    SpaceFactory,
    allow,
    office_setup,
)
from comptoir.core.models import Role
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.factories import CenterFactory

D = Decimal
OFFICE = "/api/v1/pricing/office/"
PRODUCT = "/api/v1/pricing/product/"

test_pricing_api_objects_of_another_organization_answer_404 = tenancy_walk_test(
    namespaces=[], api_prefixes=["center-rates", "price-grids", "discounts", "pricing"]
)


# --------------------------------------------------------------------------------------------------
# Center rates
# --------------------------------------------------------------------------------------------------
def test_center_rates_crud(org, center, admin, api_client):
    api = api_client(admin)
    grid = PriceGridFactory(organization=org, name="Standard")
    created = api.post(
        "/api/v1/center-rates/", {"center": center.pk, "price_per_m2": "40.00", "price_grid": grid.pk}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["center_name"] == "Paris Opéra" and body["price_per_m2"] == "40.00"
    assert body["price_grid"] == grid.pk and body["price_grid_name"] == "Standard"

    listed = api.get("/api/v1/center-rates/").json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]

    patched = api.patch(f"/api/v1/center-rates/{body['id']}/", {"price_per_m2": "41.5"}, format="json")
    assert patched.status_code == 200 and patched.json()["price_per_m2"] == "41.50"
    assert patched.json()["price_grid"] == grid.pk
    replaced = api.put(f"/api/v1/center-rates/{body['id']}/", {"price_per_m2": "42"}, format="json")
    assert replaced.json()["price_grid"] is None


def test_center_rate_with_a_grid_or_center_of_another_organization(
    org, other_org, center, other_center, admin, api_client
):
    api = api_client(admin)
    foreign_grid = PriceGridFactory(organization=other_org)
    response = api.post(
        "/api/v1/center-rates/",
        {"center": center.pk, "price_per_m2": "40", "price_grid": foreign_grid.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "price_grid" in response.json()["error"]["fields"]
    response = api.post("/api/v1/center-rates/", {"center": other_center.pk, "price_per_m2": "40"}, format="json")
    assert response.status_code == 400 and "center" in response.json()["error"]["fields"]
    assert not CenterRate.objects.exists()


def test_center_rate_twice_and_bad_values(org, center, admin, api_client):
    api = api_client(admin)
    CenterRateFactory(center=center)
    response = api.post("/api/v1/center-rates/", {"center": center.pk, "price_per_m2": "40"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "duplicate"
    other = CenterFactory(organization=org)
    for value in ("-1", "abc", None, "1e400"):
        response = api.post("/api/v1/center-rates/", {"center": other.pk, "price_per_m2": value}, format="json")
        assert response.status_code == 400, value
    assert CenterRate.objects.count() == 1


def test_center_rate_rights(org, center, staff_of, api_client):
    reception = api_client(staff_of("reception"))
    rate = CenterRateFactory(center=center)
    assert reception.get("/api/v1/center-rates/").status_code == 200
    assert reception.patch(f"/api/v1/center-rates/{rate.pk}/", {"price_per_m2": "1"}, format="json").status_code == 403
    technician = api_client(staff_of("technician"))
    assert technician.get("/api/v1/center-rates/").status_code == 403
    rate.refresh_from_db()
    assert rate.price_per_m2 == D("40.00")


# --------------------------------------------------------------------------------------------------
# Price grids
# --------------------------------------------------------------------------------------------------
def test_price_grid_with_nested_rules(org, admin, api_client):
    api = api_client(admin)
    response = api.post(
        "/api/v1/price-grids/",
        {
            "name": "Standard",
            "rules": [
                {"dimension": "term", "value": "12", "coefficient": "0.95"},
                {"dimension": "typology", "value": "private_office", "coefficient": "1.1"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    grid = response.json()
    assert [(r["dimension"], r["value"], r["coefficient"]) for r in grid["rules"]] == [
        ("typology", "private_office", "1.1000"),
        ("term", "12", "0.9500"),
    ]
    added = api.post(
        f"/api/v1/price-grids/{grid['id']}/rules/",
        {"dimension": "term", "value": "24", "coefficient": "0.9"},
        format="json",
    )
    assert added.status_code == 201
    rule_id = added.json()["id"]
    patched = api.patch(f"/api/v1/price-grids/{grid['id']}/rules/{rule_id}/", {"coefficient": "0.88"}, format="json")
    assert patched.status_code == 200 and patched.json()["coefficient"] == "0.8800"
    assert api.delete(f"/api/v1/price-grids/{grid['id']}/rules/{rule_id}/").status_code == 204
    assert len(api.get(f"/api/v1/price-grids/{grid['id']}/").json()["rules"]) == 2
    assert (
        api.patch(f"/api/v1/price-grids/{grid['id']}/", {"is_active": False}, format="json").json()["is_active"]
        is False
    )


@pytest.mark.parametrize(
    ("dimension", "value"),
    [("typology", "castle"), ("term", "0"), ("term", "121"), ("term", "12m"), ("service", "spa")],
)
def test_a_rule_value_not_matching_its_dimension_is_400(org, admin, api_client, dimension, value):
    grid = PriceGridFactory(organization=org)
    response = api_client(admin).post(
        f"/api/v1/price-grids/{grid.pk}/rules/",
        {"dimension": dimension, "value": value, "coefficient": "1"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_value"
    assert "value" in response.json()["error"]["fields"]
    assert not grid.rules.exists()


def test_a_grid_created_with_a_bad_rule_is_not_created(org, admin, api_client):
    response = api_client(admin).post(
        "/api/v1/price-grids/",
        {"name": "Cassée", "rules": [{"dimension": "service", "value": "castle", "coefficient": "1"}]},
        format="json",
    )
    assert response.status_code == 400
    assert not PriceGrid.objects.exists()


def test_a_rule_of_another_grid_is_404(org, admin, api_client):
    grid = PriceGridFactory(organization=org)
    other_rule = PriceGridRuleFactory(grid=PriceGridFactory(organization=org))
    response = api_client(admin).delete(f"/api/v1/price-grids/{grid.pk}/rules/{other_rule.pk}/")
    assert response.status_code == 404
    assert PriceGridRule.objects.filter(pk=other_rule.pk).exists()


def test_price_grid_list_queries_do_not_grow(org, admin, api_client):
    api = api_client(admin)
    for _ in range(3):
        PriceGridRuleFactory(grid=PriceGridFactory(organization=org))
    api.get("/api/v1/price-grids/")  # warm the token and rights caches
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/price-grids/")
    for _ in range(20):
        PriceGridRuleFactory(grid=PriceGridFactory(organization=org))
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/price-grids/").json()["results"]) == 23
    assert len(many) == len(few)


def test_delete_a_grid(org, center, admin, api_client):
    api = api_client(admin)
    grid = PriceGridFactory(organization=org)
    rate = CenterRateFactory(center=center, price_grid=grid)
    response = api.delete(f"/api/v1/price-grids/{grid.pk}/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "grid_in_use"
    rate.price_grid = None
    rate.save()
    assert api.delete(f"/api/v1/price-grids/{grid.pk}/").status_code == 204


# --------------------------------------------------------------------------------------------------
# Discounts
# --------------------------------------------------------------------------------------------------
def test_discounts_with_nested_allowances(org, center, admin, api_client):
    api = api_client(admin)
    manager = Role.objects.get(organization=org, kind="manager")
    reception = Role.objects.get(organization=org, kind="reception")
    response = api.post(
        "/api/v1/discounts/",
        {
            "name": "Fidélité",
            "percent": "10",
            "centers": [center.pk],
            "allowances": [{"role": manager.pk, "max_percent": "10"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["centers"] == [center.pk]
    assert body["allowances"] == [{"role": manager.pk, "role_name": manager.display_name, "max_percent": "10.00"}]

    response = api.post(
        f"/api/v1/discounts/{body['id']}/allowances/", {"role": reception.pk, "max_percent": "2.5"}, format="json"
    )
    assert response.status_code == 200
    assert {a["role"]: a["max_percent"] for a in response.json()["allowances"]} == {
        manager.pk: "10.00",
        reception.pk: "2.50",
    }
    response = api.post(
        f"/api/v1/discounts/{body['id']}/allowances/", {"role": reception.pk, "max_percent": None}, format="json"
    )
    assert [a["role"] for a in response.json()["allowances"]] == [manager.pk]
    response = api.put(f"/api/v1/discounts/{body['id']}/", {"name": "Fidélité", "percent": "8"}, format="json")
    assert response.json()["centers"] == [] and response.json()["percent"] == "8.00"


def test_discount_bad_input(org, other_org, admin, api_client):
    api = api_client(admin)
    discount = DiscountFactory(organization=org)
    foreign_role = Role.objects.get(organization=other_org, kind="manager")
    response = api.post(
        f"/api/v1/discounts/{discount.pk}/allowances/", {"role": foreign_role.pk, "max_percent": "5"}, format="json"
    )
    assert response.status_code == 400 and "role" in response.json()["error"]["fields"]
    manager = Role.objects.get(organization=org, kind="manager")
    response = api.post(
        f"/api/v1/discounts/{discount.pk}/allowances/", {"role": manager.pk, "max_percent": "101"}, format="json"
    )
    assert response.status_code == 400 and "max_percent" in response.json()["error"]["fields"]
    response = api.post("/api/v1/discounts/", {"name": "X", "percent": "0"}, format="json")
    assert response.status_code == 400
    response = api.post("/api/v1/discounts/", {"name": "X", "percent": "5", "colour": "red"}, format="json")
    assert response.status_code == 400 and "colour" in response.json()["error"]["fields"]
    assert not DiscountAllowance.objects.exists()
    assert Discount.objects.count() == 1


def test_discount_rights(org, staff_of, api_client):
    reception = api_client(staff_of("reception"))
    discount = DiscountFactory(organization=org)
    manager = Role.objects.get(organization=org, kind="manager")
    assert reception.get("/api/v1/discounts/").status_code == 200
    response = reception.post(
        f"/api/v1/discounts/{discount.pk}/allowances/", {"role": manager.pk, "max_percent": "50"}, format="json"
    )
    assert response.status_code == 403
    assert reception.delete(f"/api/v1/discounts/{discount.pk}/").status_code == 403
    assert not DiscountAllowance.objects.exists()


# --------------------------------------------------------------------------------------------------
# POST /pricing/office/ and /pricing/product/
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def office(org, center):
    space, _rate, _grid = office_setup(
        org, center, rules={("typology", "private_office"): "1.10", ("term", "12"): "0.95"}
    )
    discount = DiscountFactory(organization=org, name="Fidélité", percent=D("10"))
    allow(discount, "manager", "10")
    return space, discount


def test_office_price_worked_example(office, staff_of, api_client):
    space, discount = office
    response = api_client(staff_of("manager")).post(
        OFFICE, {"space": space.pk, "term_months": 12, "discounts": [{"discount": discount.pk}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["unit_price"] == "470.25" and body["vat_rate"] == "20.00"
    assert [(s["code"], s["delta"], s["amount"]) for s in body["steps"]] == [
        ("base", "500.00", "500.00"),
        ("typology", "50.00", "550.00"),
        ("term", "-27.50", "522.50"),
        ("discount", "-52.25", "470.25"),
    ]
    assert body["steps"][0]["label"] and body["steps"][0]["detail"] == "12,50 m² × 40 €"
    # the answer is a snapshot the pricing function reads back exactly
    snapshot = {"steps": body["steps"], "vat_rate": body["vat_rate"]}
    assert pricing.Breakdown.from_json(snapshot) == pricing.office_price(
        space, term_months=12, discounts=[pricing.Applied(discount)]
    )


def test_office_price_discount_beyond_the_role_is_400(office, staff_of, api_client):
    space, discount = office
    response = api_client(staff_of("manager")).post(
        OFFICE, {"space": space.pk, "discounts": [{"discount": discount.pk, "percent": "15"}]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "discount_not_allowed" and "discounts" in error["fields"]


def test_office_price_reception_with_no_allowance_is_400(office, staff_of, api_client):
    space, discount = office
    api = api_client(staff_of("reception"))
    assert api.post(OFFICE, {"space": space.pk}, format="json").status_code == 200
    response = api.post(
        OFFICE, {"space": space.pk, "discounts": [{"discount": discount.pk, "percent": "1"}]}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "discount_not_allowed"


def test_office_price_inactive_or_other_center_discount_is_400(org, office, admin, api_client):
    space, discount = office
    api = api_client(admin)
    discount.is_active = False
    discount.save()
    response = api.post(OFFICE, {"space": space.pk, "discounts": [{"discount": discount.pk}]}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "discount_unavailable"
    elsewhere = DiscountFactory(organization=org)
    elsewhere.centers.set([CenterFactory(organization=org)])
    response = api.post(OFFICE, {"space": space.pk, "discounts": [{"discount": elsewhere.pk}]}, format="json")
    assert response.status_code == 400 and "discounts" in response.json()["error"]["fields"]


def test_office_price_bad_input_is_4xx(org, other_org, office, admin, api_client):
    space, discount = office
    api = api_client(admin)
    foreign_space = SpaceFactory(organization=other_org)
    foreign_discount = DiscountFactory(organization=other_org)
    no_rate = SpaceFactory(organization=org, center=CenterFactory(organization=org))
    cases = [
        {"space": foreign_space.pk},
        {"space": space.pk, "discounts": [{"discount": foreign_discount.pk}]},
        {"space": space.pk, "term_months": 0},
        {"space": space.pk, "term_months": 121},
        {"space": space.pk, "service": "spa"},
        {"space": space.pk, "discounts": [{"discount": discount.pk, "percent": "-5"}]},
        {"space": space.pk, "discounts": [{"discount": discount.pk, "percent": "1000"}]},
        {"space": space.pk, "discounts": "all"},
        {"space": "x"},
        {},
        {"space": no_rate.pk},
    ]
    for body in cases:
        response = api.post(OFFICE, body, format="json")
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert "error" in response.json()


def test_office_price_admin_may_grant_up_to_100(office, admin, api_client):
    space, discount = office
    response = api_client(admin).post(
        OFFICE,
        {
            "space": space.pk,
            "service": ServiceType.COWORKING,
            "discounts": [{"discount": discount.pk, "percent": "100"}],
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["unit_price"] == "0.00"


def test_product_price(org, center, office, staff_of, api_client):
    _space, discount = office
    product = ProductFactory(organization=org, unit_price=D("49.00"), service_type=ServiceType.DOMICILIATION)
    api = api_client(staff_of("manager"))
    response = api.post(
        PRODUCT,
        {
            "product": product.pk,
            "center": center.pk,
            "term_months": 12,
            "discounts": [{"discount": discount.pk, "percent": "5"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [s["amount"] for s in response.json()["steps"]] == ["49.00", "46.55", "44.22"]
    response = api.post(
        PRODUCT,
        {"product": product.pk, "center": center.pk, "discounts": [{"discount": discount.pk, "percent": "11"}]},
        format="json",
    )
    assert response.status_code == 400 and "discounts" in response.json()["error"]["fields"]
    product.is_active = False
    product.save()
    assert api.post(PRODUCT, {"product": product.pk, "center": center.pk}, format="json").status_code == 400


def test_pricing_needs_the_view_rights(office, staff_of, api_client):
    space, _discount = office
    assert api_client(staff_of("technician")).post(OFFICE, {"space": space.pk}, format="json").status_code == 403
    assert api_client(staff_of("reception")).get(OFFICE).status_code == 405


def test_office_price_of_a_space_without_surface_says_so(org, office, admin, api_client):
    space, _discount = office
    bare = SpaceFactory(organization=org, center=space.center, area_m2=None, name="Sans surface")
    response = api_client(admin).post(OFFICE, {"space": bare.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_area" and "space" in response.json()["error"]["fields"]
