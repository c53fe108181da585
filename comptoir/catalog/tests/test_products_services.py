"""Service catalog services: the kinds of articles and their rules, VAT, per-center availability and price,
rights, tenancy and bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.catalog.models import Product, ProductCenterPrice
from comptoir.catalog.selectors import products as selectors
from comptoir.catalog.services import products as services
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory, StaffFactory

pytestmark = pytest.mark.django_db

DOMICILIATION = {"kind": "main_service", "service_type": "domiciliation", "name": "Domiciliation commerciale",
                 "unit_price": Decimal("49.00"), "accounting_code": "706 100"}  # fmt: skip


def test_create_a_main_service(org, admin):
    product = services.create_product(organization=org, by=admin, data=DOMICILIATION)
    assert product.organization == org and product.unit == "month" and product.vat_rate == "20.00"
    assert product.accounting_code == "706100"
    assert AuditEntry.objects.filter(action="product.created", object_id=str(product.pk)).exists()


def test_a_main_service_needs_its_service_type(org, admin):
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(organization=org, by=admin, data={**DOMICILIATION, "service_type": ""})
    assert list(caught.value.fields) == ["service_type"]
    assert not Product.objects.exists()


def test_zero_vat_needs_an_exemption_reason(org, admin):
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(organization=org, by=admin, data={**DOMICILIATION, "vat_rate": "0.00"})
    assert caught.value.code == "vat_exemption_reason_required"
    assert list(caught.value.fields) == ["vat_exemption_reason"]
    assert not Product.objects.exists()
    product = services.create_product(
        organization=org, by=admin,
        data={**DOMICILIATION, "vat_rate": "0.00", "vat_exemption_reason": "Article 261 D-4° du CGI"},
    )  # fmt: skip
    assert product.vat_rate_decimal == Decimal("0.00")


def test_an_unknown_vat_rate_is_refused(org, admin):
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(organization=org, by=admin, data={**DOMICILIATION, "vat_rate": "19.60"})
    assert "vat_rate" in caught.value.fields


def test_a_consumption_is_priced_per_unit(org, admin):
    data = {"kind": "consumption", "name": "Impression couleur", "unit": "month", "unit_price": Decimal("0.15")}
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(organization=org, by=admin, data=data)
    assert list(caught.value.fields) == ["unit"]
    product = services.create_product(organization=org, by=admin, data={**data, "unit": "print"})
    assert product.get_unit_display() == "impression"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "plan_type"),
        ({"plan_type": "subscription", "credit_period": "month"}, "credits"),
        ({"plan_type": "subscription", "credits": Decimal("10")}, "credit_period"),
        ({"plan_type": "pack", "credits": Decimal("10")}, "validity_days"),
        ({"plan_type": "pack", "validity_days": 90}, "credits"),
        ({"plan_type": "domiciliation"}, "included_services"),
    ],
)
def test_a_plan_needs_what_its_type_needs(org, admin, data, field):
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(
            organization=org, by=admin, data={"kind": "plan", "name": "Formule", "unit_price": Decimal("99"), **data}
        )
    assert list(caught.value.fields) == [field]
    assert not Product.objects.exists()


def test_plans_of_each_type(org, admin):
    subscription = services.create_product(
        organization=org, by=admin,
        data={"kind": "plan", "plan_type": "subscription", "name": "Nomade 10", "credits": Decimal("10"),
              "credit_period": "month", "validity_days": 30, "unit_price": Decimal("120")},
    )  # fmt: skip
    assert subscription.validity_days is None  # not a pack: cleared
    pack = services.create_product(
        organization=org, by=admin,
        data={"kind": "plan", "plan_type": "pack", "name": "Pack 20 h", "credits": Decimal("20"),
              "validity_days": 180, "unit_price": Decimal("300")},
    )  # fmt: skip
    assert pack.credit_period == ""
    domiciliation = services.create_product(
        organization=org, by=admin,
        data={"kind": "plan", "plan_type": "domiciliation", "name": "Domiciliation + courrier",
              "included_services": "Réception du courrier\nScan", "unit_price": Decimal("39")},
    )  # fmt: skip
    assert domiciliation.plan_type == "domiciliation"


def test_switching_a_plan_to_an_option_clears_the_plan_fields(org, admin):
    plan = services.create_product(
        organization=org, by=admin,
        data={"kind": "plan", "plan_type": "pack", "name": "Pack", "credits": Decimal("5"), "validity_days": 30},
    )  # fmt: skip
    option = services.update_product(product=plan, by=admin, data={"kind": "option"})
    assert (option.plan_type, option.credits, option.validity_days) == ("", None, None)


def test_the_name_is_unique_per_kind(org, admin):
    services.create_product(organization=org, by=admin, data=DOMICILIATION)
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(organization=org, by=admin, data={**DOMICILIATION, "name": "domiciliation COMMERCIALE"})
    assert caught.value.code == "duplicate_name" and list(caught.value.fields) == ["name"]
    services.create_product(organization=org, by=admin, data={**DOMICILIATION, "kind": "option"})
    assert Product.objects.count() == 2


def test_rights_and_tenancy(org, admin, other_admin, staff_of):
    reception = staff_of("reception")
    with pytest.raises(RightsError):
        services.create_product(organization=org, by=reception, data=DOMICILIATION)
    product = services.create_product(organization=org, by=admin, data=DOMICILIATION)
    for actor in (reception, other_admin):
        with pytest.raises(RightsError):
            services.update_product(product=product, by=actor, data={"name": "Autre"})
        with pytest.raises(RightsError):
            services.set_product_active(product=product, by=actor, active=False)
    product.refresh_from_db()
    assert product.name == DOMICILIATION["name"] and product.is_active


def test_update_journals_changes_and_deactivation(org, admin):
    product = services.create_product(organization=org, by=admin, data=DOMICILIATION)
    services.update_product(product=product, by=admin, data={"unit_price": Decimal("59.00")})
    assert AuditEntry.objects.get(action="product.updated").changes == {"unit_price": ["49.00", "59.00"]}
    services.set_product_active(product=product, by=admin, active=False)
    product.refresh_from_db()
    assert not product.is_active and AuditEntry.objects.filter(action="product.deactivated").exists()


def test_delete_an_unused_article_but_not_a_used_one(org, admin):
    from comptoir.sales.tests.factories import ContractLineFactory

    unused = services.create_product(organization=org, by=admin, data=DOMICILIATION)
    services.delete_product(product=unused, by=admin)
    assert not Product.objects.filter(pk=unused.pk).exists()

    used = ProductFactory(organization=org)
    ContractLineFactory(contract__organization=org, kind="product", space=None, product=used)
    with pytest.raises(DomainError) as caught:
        services.delete_product(product=used, by=admin)
    assert caught.value.code == "in_use" and Product.objects.filter(pk=used.pk).exists()


# --------------------------------------------------------------------------------------------------
# Per center
# --------------------------------------------------------------------------------------------------
def test_center_prices_and_availability(org, admin, center):
    lyon = CenterFactory(organization=org, name="Lyon")
    product = services.create_product(
        organization=org, by=admin, data=DOMICILIATION,
        center_prices=[{"center": center, "is_available": True, "unit_price": Decimal("59.00")},
                       {"center": lyon, "is_available": False}],
    )  # fmt: skip

    assert selectors.price_in_center(product, center) == Decimal("59.00")
    assert selectors.price_in_center(product, lyon) is None
    assert selectors.price_in_center(product, CenterFactory(organization=org)) == Decimal("49.00")
    assert list(selectors.products_available_in(org, lyon)) == []
    assert list(selectors.products_available_in(org, center)) == [product]
    entry = AuditEntry.objects.get(action="product.center_prices_changed")
    assert set(entry.changes) == {"Paris Opéra", "Lyon"}

    # back to the default: the row goes away
    services.set_product_center_prices(product=product, by=admin, prices=[{"center": lyon, "is_available": True}])
    assert not ProductCenterPrice.objects.filter(center=lyon).exists()


def test_a_product_offered_only_where_it_is_switched_on(org, admin, center):
    product = services.create_product(
        organization=org, by=admin, data={**DOMICILIATION, "available_everywhere": False},
        center_prices=[{"center": center, "is_available": True}],
    )  # fmt: skip
    assert selectors.price_in_center(product, center) == Decimal("49.00")
    assert selectors.price_in_center(product, CenterFactory(organization=org)) is None


def test_center_prices_refuse_foreign_centers_duplicates_and_bad_prices(org, admin, center, other_center):
    product = services.create_product(organization=org, by=admin, data=DOMICILIATION)
    for prices in (
        [{"center": other_center, "is_available": True}],
        [{"center": center}, {"center": center}],
        [{"center": center, "unit_price": "-1"}],
        [{"center": center, "unit_price": "abc"}],
        [{"center": center, "unit_price": "1.234"}],
        [{"center": center, "unit_price": "NaN"}],
        [{"center": "not a center"}],
    ):
        with pytest.raises(ValidationFailed) as caught:
            services.set_product_center_prices(product=product, by=admin, prices=prices)
        assert list(caught.value.fields) == ["center_prices"]
    assert not ProductCenterPrice.objects.exists()


def test_staff_limited_to_centers_set_prices_of_their_centers_only(org, center):
    elsewhere = CenterFactory(organization=org)
    staff = StaffFactory(organization=org, kind="manager")
    staff.centers.set([center])
    product = ProductFactory(organization=org)
    services.set_product_center_prices(product=product, by=staff.user, prices=[{"center": center, "unit_price": "10"}])
    with pytest.raises(ValidationFailed):
        services.set_product_center_prices(product=product, by=staff.user, prices=[{"center": elsewhere}])
    assert list(ProductCenterPrice.objects.values_list("center_id", flat=True)) == [center.pk]
