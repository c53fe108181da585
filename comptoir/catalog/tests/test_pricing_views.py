"""Paramètres → Pricing in the back office: prix par centre (inline HTMX edit), grilles tarifaires (rules
added and removed with HTMX), réductions (allowances per role) and the simulator."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.catalog.models import CenterRate, DiscountAllowance, PriceGrid, PriceGridRule
from comptoir.catalog.tests.pricing_factories import (
    CenterRateFactory,
    DiscountFactory,
    PriceGridFactory,
    PriceGridRuleFactory,
    allow,
    office_setup,
)
from comptoir.core.models import AuditEntry, Role
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.factories import CenterFactory

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}

test_pricing_objects_of_another_organization_answer_404 = tenancy_walk_test(namespaces=["catalog"], api_prefixes=[])


# --------------------------------------------------------------------------------------------------
# Prix par centre
# --------------------------------------------------------------------------------------------------
def test_center_rate_list_shows_every_center(org, center, admin, staff_client):
    grid = PriceGridFactory(organization=org, name="Grille Paris")
    CenterRateFactory(center=center, price_per_m2=D("40"), price_grid=grid)
    bare = CenterFactory(organization=org, name="Lyon Confluence")
    response = staff_client(admin).get(reverse("catalog:centerrate_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Paris Opéra" in html and "Lyon Confluence" in html
    assert "40,00" in html and "Grille Paris" in html
    assert reverse("catalog:centerrate_create", args=[bare.pk]) in html
    assert 'translate="no">Lyon Confluence' in html


def test_center_rate_list_menu_entries(org, admin, staff_client):
    html = staff_client(admin).get(reverse("catalog:centerrate_list")).content.decode()
    for name in ("centerrate_list", "pricegrid_list", "discount_list", "pricing_simulator"):
        assert reverse(f"catalog:{name}") in html


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_center_rate_list_queries_do_not_grow_with_rows(org, admin, staff_client):
    client = staff_client(admin)
    grid = PriceGridFactory(organization=org)
    for _ in range(3):
        CenterRateFactory(center=CenterFactory(organization=org), price_grid=grid)
    url = reverse("catalog:centerrate_list")
    client.get(url)
    few = _count_queries(client, url)
    for _ in range(20):
        CenterRateFactory(center=CenterFactory(organization=org), price_grid=PriceGridFactory(organization=org))
        CenterFactory(organization=org)
    assert _count_queries(client, url) == few


def test_inline_edit_of_a_center_rate_with_htmx(org, center, admin, staff_client):
    grid = PriceGridFactory(organization=org, name="Grille B")
    rate = CenterRateFactory(center=center, price_per_m2=D("40"))
    client = staff_client(admin)
    url = reverse("catalog:centerrate_edit", args=[rate.pk])

    form_row = client.get(url, **HTMX)
    assert form_row.status_code == 200
    html = form_row.content.decode()
    assert html.lstrip().startswith("<tr") and 'name="price_per_m2"' in html and f'hx-post="{url}"' in html

    saved = client.post(url, {"price_per_m2": "42.50", "price_grid": grid.pk}, **HTMX)
    assert saved.status_code == 200
    assert "42,50" in saved.content.decode() and "Grille B" in saved.content.decode()
    rate.refresh_from_db()
    assert (rate.price_per_m2, rate.price_grid) == (D("42.50"), grid)
    assert AuditEntry.objects.filter(action="centerrate.updated").count() == 1


def test_inline_edit_shows_errors_in_the_row_and_changes_nothing(org, center, admin, staff_client):
    rate = CenterRateFactory(center=center, price_per_m2=D("40"))
    response = staff_client(admin).post(
        reverse("catalog:centerrate_edit", args=[rate.pk]), {"price_per_m2": "-3"}, **HTMX
    )
    assert response.status_code == 200
    assert 'name="price_per_m2"' in response.content.decode()
    assert "invalid-feedback" in response.content.decode()
    rate.refresh_from_db()
    assert rate.price_per_m2 == D("40.00")


def test_create_the_rate_of_a_center_without_one(org, center, admin, staff_client):
    client = staff_client(admin)
    url = reverse("catalog:centerrate_create", args=[center.pk])
    assert 'name="price_per_m2"' in client.get(url, **HTMX).content.decode()
    response = client.post(url, {"price_per_m2": "38"}, **HTMX)
    assert response.status_code == 200
    assert CenterRate.objects.get(center=center).price_per_m2 == D("38.00")
    # without HTMX: a page, then back to the list
    other = CenterFactory(organization=org)
    response = client.post(reverse("catalog:centerrate_create", args=[other.pk]), {"price_per_m2": "20"})
    assert response.status_code == 302 and response.url == reverse("catalog:centerrate_list")
    # a center that has one already goes to its edit page
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == reverse("catalog:centerrate_edit", args=[CenterRate.objects.get(center=center).pk])


def test_cancel_returns_the_display_row(org, center, admin, staff_client):
    CenterRateFactory(center=center, price_per_m2=D("40"))
    response = staff_client(admin).get(reverse("catalog:centerrate_row", args=[center.pk]), **HTMX)
    assert response.status_code == 200 and "40,00" in response.content.decode()


def test_reception_sees_the_prices_but_does_not_edit(org, center, staff_of, staff_client):
    rate = CenterRateFactory(center=center)
    client = staff_client(staff_of("reception"))
    html = client.get(reverse("catalog:centerrate_list")).content.decode()
    assert reverse("catalog:centerrate_edit", args=[rate.pk]) not in html
    assert client.post(reverse("catalog:centerrate_edit", args=[rate.pk]), {"price_per_m2": "1"}).status_code == 403
    rate.refresh_from_db()
    assert rate.price_per_m2 == D("40.00")


def test_technician_has_no_pricing_pages(org, staff_of, staff_client):
    client = staff_client(staff_of("technician"))
    assert client.get(reverse("catalog:centerrate_list")).status_code == 403
    assert client.get(reverse("catalog:discount_list")).status_code == 403


def test_anonymous_goes_to_login(client):
    response = client.get(reverse("catalog:pricegrid_list"))
    assert response.status_code == 302 and "login" in response.url


# --------------------------------------------------------------------------------------------------
# Grilles tarifaires
# --------------------------------------------------------------------------------------------------
def test_grid_list_create_and_edit(org, admin, staff_client):
    client = staff_client(admin)
    response = client.post(
        reverse("catalog:pricegrid_create"), {"name": "Standard", "description": "", "is_active": "on"}
    )
    grid = PriceGrid.objects.get(name="Standard")
    assert response.status_code == 302 and response.url == reverse("catalog:pricegrid_detail", args=[grid.pk])
    html = client.get(reverse("catalog:pricegrid_list")).content.decode()
    assert "Standard" in html
    response = client.post(
        reverse("catalog:pricegrid_edit", args=[grid.pk]), {"name": "Standard 2026", "description": "x"}
    )
    grid.refresh_from_db()
    assert (grid.name, grid.is_active) == ("Standard 2026", False)


def test_grid_create_duplicate_name_shows_at_the_field(org, admin, staff_client):
    PriceGridFactory(organization=org, name="Standard")
    response = staff_client(admin).post(reverse("catalog:pricegrid_create"), {"name": "Standard", "is_active": "on"})
    assert response.status_code == 200
    assert "Une grille tarifaire porte déjà ce nom." in response.content.decode()
    assert PriceGrid.objects.count() == 1


def test_grid_list_queries_do_not_grow_with_rows(org, admin, staff_client):
    client = staff_client(admin)
    for _ in range(3):
        PriceGridRuleFactory(grid=PriceGridFactory(organization=org))
    url = reverse("catalog:pricegrid_list")
    client.get(url)
    few = _count_queries(client, url)
    for _ in range(25):
        PriceGridRuleFactory(grid=PriceGridFactory(organization=org))
    assert _count_queries(client, url) == few


def test_grid_detail_shows_rules_and_centers(org, center, admin, staff_client):
    _space, _rate, grid = office_setup(
        org, center, rules={("term", "12"): "0.95", ("typology", "private_office"): "1.1"}
    )
    html = staff_client(admin).get(reverse("catalog:pricegrid_detail", args=[grid.pk])).content.decode()
    assert "dès 12 mois" in html and "Bureau privatif" in html
    assert "× 0,95<" in html and "× 1,10<" in html
    assert 'translate="no">Paris Opéra' in html
    assert 'name="coefficient"' in html


def test_add_a_rule_with_htmx(org, admin, staff_client):
    grid = PriceGridFactory(organization=org)
    client = staff_client(admin)
    url = reverse("catalog:pricegrid_rule_add", args=[grid.pk])
    response = client.post(url, {"dimension": "term", "months": "24", "coefficient": "0.90"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="grid-rules"') and "dès 24 mois" in html
    assert grid.rules.get().value == "24"
    response = client.post(url, {"dimension": "typology", "value": "meeting_room", "coefficient": "1.2"}, **HTMX)
    assert "Salle de réunion" in response.content.decode()
    assert grid.rules.count() == 2


def test_a_rule_that_does_not_fit_its_dimension_shows_its_error(org, admin, staff_client):
    grid = PriceGridFactory(organization=org)
    client = staff_client(admin)
    url = reverse("catalog:pricegrid_rule_add", args=[grid.pk])
    response = client.post(url, {"dimension": "typology", "value": "domiciliation", "coefficient": "1"}, **HTMX)
    assert response.status_code == 200
    assert "Choisissez un type d'espace pour une règle de typologie." in unescape(response.content.decode())
    response = client.post(url, {"dimension": "term", "coefficient": "1"}, **HTMX)
    assert "entre 1 et 120" in response.content.decode()
    response = client.post(url, {"dimension": "term", "months": "500", "coefficient": "1"}, **HTMX)
    assert "invalid-feedback" in response.content.decode()
    assert not grid.rules.exists()
    # without HTMX: back to the page with a message
    response = client.post(url, {"dimension": "service", "value": "meeting_room", "coefficient": "1"})
    assert response.status_code == 302
    assert not grid.rules.exists()


def test_remove_a_rule_with_htmx(org, admin, staff_client):
    grid = PriceGridFactory(organization=org)
    rule = PriceGridRuleFactory(grid=grid, value="12")
    keep = PriceGridRuleFactory(grid=grid, value="24")
    client = staff_client(admin)
    url = reverse("catalog:pricegrid_rule_delete", args=[grid.pk, rule.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, **HTMX)
    assert response.status_code == 200 and "dès 24 mois" in response.content.decode()
    assert list(grid.rules.all()) == [keep]
    # a rule of another grid of the same organization is not found through this grid
    other = PriceGridRuleFactory(grid=PriceGridFactory(organization=org))
    assert client.post(reverse("catalog:pricegrid_rule_delete", args=[grid.pk, other.pk])).status_code == 404
    assert PriceGridRule.objects.filter(pk=other.pk).exists()


def test_delete_a_grid_in_use_is_refused(org, center, admin, staff_client):
    grid = PriceGridFactory(organization=org)
    CenterRateFactory(center=center, price_grid=grid)
    client = staff_client(admin)
    response = client.post(reverse("catalog:pricegrid_delete", args=[grid.pk]), follow=True)
    assert "Cette grille est utilisée par" in response.content.decode()
    assert PriceGrid.objects.filter(pk=grid.pk).exists()


# --------------------------------------------------------------------------------------------------
# Réductions
# --------------------------------------------------------------------------------------------------
def test_discount_create_and_list(org, center, admin, staff_client):
    client = staff_client(admin)
    response = client.post(
        reverse("catalog:discount_create"),
        {"name": "Fidélité", "percent": "7.5", "is_active": "on", "centers": [center.pk]},
    )
    assert response.status_code == 302
    html = client.get(reverse("catalog:discount_list")).content.decode()
    assert "Fidélité" in html and "Paris Opéra" in html


def test_discount_form_lists_centers_as_data(org, center, admin, staff_client):
    html = staff_client(admin).get(reverse("catalog:discount_create")).content.decode()
    assert f'<option value="{center.pk}" translate="no">Paris Opéra</option>' in html


def test_allowances_are_edited_on_the_discount_page(org, admin, staff_client):
    discount = DiscountFactory(organization=org, name="Fidélité")
    manager = Role.objects.get(organization=org, kind="manager")
    reception = Role.objects.get(organization=org, kind="reception")
    client = staff_client(admin)
    html = client.get(reverse("catalog:discount_detail", args=[discount.pk])).content.decode()
    assert f'name="role_{manager.pk}"' in html

    response = client.post(
        reverse("catalog:discount_allowances", args=[discount.pk]),
        {f"role_{manager.pk}": "15", f"role_{reception.pk}": ""},
    )
    assert response.status_code == 302
    assert dict(DiscountAllowance.objects.values_list("role__kind", "max_percent")) == {"manager": D("15.00")}

    response = client.post(reverse("catalog:discount_allowances", args=[discount.pk]), {f"role_{manager.pk}": "150"})
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert DiscountAllowance.objects.get().max_percent == D("15.00")
    html = client.get(reverse("catalog:discount_detail", args=[discount.pk])).content.decode()
    assert "Maximums par rôle modifiés" in html


def test_discount_list_queries_do_not_grow_with_rows(org, center, admin, staff_client):
    client = staff_client(admin)

    def make(n):
        for _ in range(n):
            discount = DiscountFactory(organization=org)
            discount.centers.set([center])
            allow(discount, "manager", "5")

    make(3)
    url = reverse("catalog:discount_list")
    client.get(url)
    few = _count_queries(client, url)
    make(25)
    assert _count_queries(client, url) == few


def test_discount_edit_and_delete(org, admin, staff_client):
    discount = DiscountFactory(organization=org, name="Été")
    client = staff_client(admin)
    client.post(reverse("catalog:discount_edit", args=[discount.pk]), {"name": "Été", "percent": "12"})
    discount.refresh_from_db()
    assert discount.percent == D("12.00") and not discount.is_active
    client.post(reverse("catalog:discount_delete", args=[discount.pk]))
    assert not type(discount).objects.filter(pk=discount.pk).exists()


# --------------------------------------------------------------------------------------------------
# Simulateur
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def priced(org, center):
    space, _rate, _grid = office_setup(
        org, center, rules={("typology", "private_office"): "1.10", ("term", "12"): "0.95"}
    )
    discount = DiscountFactory(organization=org, name="Fidélité", percent=D("10"))
    allow(discount, "manager", "10")
    return space, discount


def test_simulator_shows_the_breakdown(priced, admin, staff_client):
    space, discount = priced
    client = staff_client(admin)
    page = client.get(reverse("catalog:pricing_simulator")).content.decode()
    assert f'<option value="{space.pk}" translate="no">Paris Opéra — Bureau A12</option>' in page
    response = client.get(
        reverse("catalog:pricing_simulator"), {"space": space.pk, "term_months": "12", "apply": [discount.pk]}
    )
    html = response.content.decode()
    for amount in ("500,00", "550,00", "522,50", "470,25"):
        assert amount in html
    assert "12,50 m² × 40 €" in html and "− 10 %" in html


def test_simulator_htmx_returns_only_the_result(priced, admin, staff_client):
    space, _discount = priced
    response = staff_client(admin).get(reverse("catalog:pricing_simulator"), {"space": space.pk}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="simulation"')
    assert "550,00" in html and "<form" not in html


def test_simulator_refuses_a_discount_beyond_the_role(priced, staff_of, staff_client):
    space, discount = priced
    client = staff_client(staff_of("manager"))
    response = client.get(
        reverse("catalog:pricing_simulator"),
        {"space": space.pk, "apply": [discount.pk], f"discount_{discount.pk}": "12"},
        **HTMX,
    )
    assert "est limitée à 10 % pour votre rôle" in response.content.decode()
    response = staff_client(staff_of("reception")).get(
        reverse("catalog:pricing_simulator"), {"space": space.pk, "apply": [discount.pk]}, **HTMX
    )
    assert "Votre rôle ne permet pas" in response.content.decode()


def test_simulator_without_center_rate_says_so(org, admin, staff_client):
    from comptoir.catalog.tests.pricing_factories import SpaceFactory

    space = SpaceFactory(organization=org, name="Bureau sans prix")
    response = staff_client(admin).get(reverse("catalog:pricing_simulator"), {"space": space.pk}, **HTMX)
    assert "n'est pas défini" in unescape(response.content.decode())


def test_simulator_ignores_a_space_of_another_organization(other_org, admin, staff_client):
    from comptoir.catalog.tests.pricing_factories import SpaceFactory

    foreign = SpaceFactory(organization=other_org)
    response = staff_client(admin).get(reverse("catalog:pricing_simulator"), {"space": foreign.pk})
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()


def test_inline_edit_refuses_a_grid_of_another_organization(org, other_org, center, admin, staff_client):
    rate = CenterRateFactory(center=center, price_per_m2=D("40"))
    foreign = PriceGridFactory(organization=other_org)
    response = staff_client(admin).post(
        reverse("catalog:centerrate_edit", args=[rate.pk]), {"price_per_m2": "40", "price_grid": foreign.pk}, **HTMX
    )
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    rate.refresh_from_db()
    assert rate.price_grid is None
    assert (
        f'value="{foreign.pk}"'
        not in staff_client(admin).get(reverse("catalog:centerrate_edit", args=[rate.pk])).content.decode()
    )


def test_grid_timeline_names_rule_changes(org, admin, staff_client):
    grid = PriceGridFactory(organization=org)
    client = staff_client(admin)
    client.post(
        reverse("catalog:pricegrid_rule_add", args=[grid.pk]),
        {"dimension": "term", "months": "12", "coefficient": "0.95"},
    )
    html = client.get(reverse("catalog:pricegrid_detail", args=[grid.pk])).content.decode()
    assert "Règle ajoutée" in html and "<dt>Critère</dt>" in html and "<dt>Coefficient</dt>" in html
