"""Gestion → Catalogue de services: list with kind tabs, filters and French prices, constant queries,
forms with errors at their field, the page, per-center prices, deactivation, rights."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.catalog.models import Product, ProductCenterPrice
from comptoir.catalog.services import products as services
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.core.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db

NBSP, NNBSP = "\u00a0", "\u202f"


def form_data(**extra):
    return {"kind": "main_service", "name": "Bureau privatif", "service_type": "private_office",
            "description": "", "is_active": "on", "unit_price": "1234,56", "unit": "month", "vat_rate": "20.00",
            "vat_exemption_reason": "", "accounting_code": "706000", "plan_type": "", "credits": "",
            "credit_period": "", "validity_days": "", "included_services": "", "available_everywhere": "on",
            **extra}  # fmt: skip


def test_empty_list(org, admin, staff_client):
    response = staff_client(admin).get(reverse("catalog:product_list"))
    html = response.content.decode()
    assert response.status_code == 200 and "Aucun article ne correspond." in html
    assert reverse("catalog:product_create") in html


def test_list_shows_french_prices_vat_and_kind_tabs(org, admin, staff_client):
    ProductFactory(organization=org, name="Bureau 12 m²", service_type="private_office", unit_price=Decimal("1234.56"))
    ProductFactory(organization=org, kind="consumption", service_type="", name="Impression", unit="print",
                   unit_price=Decimal("0.15"), vat_rate="5.50")  # fmt: skip
    client = staff_client(admin)
    html = client.get(reverse("catalog:product_list")).content.decode()
    assert f"1{NNBSP}234,56{NBSP}€ HT / mois" in html and "TVA 20 %" in html
    assert f"0,15{NBSP}€ HT / impression" in html and "TVA 5,5 %" in html
    assert "Consommation" in html and "Formule" in html  # the tabs

    consumptions = client.get(reverse("catalog:product_list"), {"kind": "consumption"})
    assert [row.obj.name for row in consumptions.context["rows"]] == ["Impression"]
    services_only = client.get(reverse("catalog:product_list"), {"service_type": "private_office"})
    assert [row.obj.name for row in services_only.context["rows"]] == ["Bureau 12 m²"]


def test_list_filters_inactive_and_search(org, admin, staff_client):
    ProductFactory(organization=org, name="Domiciliation", is_active=False)
    ProductFactory(organization=org, name="Parking", service_type="parking", accounting_code="706300")
    client = staff_client(admin)
    assert [
        r.obj.name for r in client.get(reverse("catalog:product_list"), {"is_active": "false"}).context["rows"]
    ] == ["Domiciliation"]
    assert [r.obj.name for r in client.get(reverse("catalog:product_list"), {"q": "706300"}).context["rows"]] == [
        "Parking"
    ]


def test_csv_export(org, admin, staff_client):
    ProductFactory(organization=org, name="Parking", service_type="parking", unit_price=Decimal("80.00"))
    response = staff_client(admin).get(reverse("catalog:product_list"), {"export": "csv"})
    content = b"".join(response.streaming_content).decode()
    assert "Nom;Type;Service / formule;Prix;Unité;TVA" in content
    assert "Parking;Service principal;Parking;80,00;mois;20 %;706000" in content


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("catalog:product_list")).status_code == 200
    return len(queries)


def test_list_makes_the_same_queries_for_5_or_60_articles(org, admin, staff_client, center):
    for _index in range(5):
        ProductFactory(organization=org)
    client = staff_client(admin)
    _queries(client)
    five = _queries(client)
    for _index in range(55):
        product = ProductFactory(organization=org)
        ProductCenterPrice.objects.create(organization=org, product=product, center=center, unit_price=Decimal("1"))
    assert _queries(client) == five


def test_create_from_the_form(org, admin, staff_client):
    response = staff_client(admin).post(reverse("catalog:product_create"), form_data())
    product = Product.objects.get()
    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert product.unit_price == Decimal("1234.56") and product.service_type == "private_office"


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"vat_rate": "0.00"}, "vat_exemption_reason",
         "Un motif d'exonération est obligatoire quand le taux de TVA est nul (ex. « Article 261 D-4° du CGI »)."),
        ({"service_type": ""}, "service_type", "Un service principal demande son type de service."),
        ({"kind": "plan", "plan_type": ""}, "plan_type", "Choisissez le type de formule."),
        ({"kind": "plan", "plan_type": "pack", "credits": "10"}, "validity_days",
         "Indiquez la durée de validité du pack (en jours)."),
        ({"kind": "plan", "plan_type": "subscription", "credit_period": "month"}, "credits",
         "Indiquez le nombre de crédits de la formule."),
    ],
)  # fmt: skip
def test_the_form_shows_errors_at_their_field(org, admin, staff_client, extra, field, message):
    response = staff_client(admin).post(reverse("catalog:product_create"), form_data(**extra))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert f'id="field-{field}"' in response.content.decode()
    assert not Product.objects.exists()


def test_a_duplicate_name_shows_at_the_name(org, admin, staff_client):
    ProductFactory(organization=org, name="Bureau privatif")
    response = staff_client(admin).post(reverse("catalog:product_create"), form_data())
    assert response.context["form"].errors["name"] == ["Un article de ce type porte déjà ce nom."]
    assert Product.objects.count() == 1


def test_edit(org, admin, staff_client):
    product = ProductFactory(organization=org, name="Domiciliation")
    data = form_data(name="Domiciliation", service_type="domiciliation", unit_price="59,00")
    response = staff_client(admin).post(reverse("catalog:product_edit", args=[product.pk]), data)
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.unit_price == Decimal("59.00")


def test_the_page_shows_prices_plan_details_centers_and_history(org, admin, staff_client, center):
    lyon = CenterFactory(organization=org, name="Lyon")
    product = services.create_product(
        organization=org, by=admin,
        data={"kind": "plan", "plan_type": "domiciliation", "name": "Domiciliation Premium",
              "unit_price": Decimal("39.90"), "included_services": "Réception du courrier\nNumérisation"},
        center_prices=[{"center": lyon, "is_available": False}, {"center": center, "unit_price": Decimal("45")}],
    )  # fmt: skip
    html = staff_client(admin).get(product.get_absolute_url()).content.decode()
    assert "Domiciliation Premium" in html and f"39,90{NBSP}€ HT / mois" in html
    assert "Numérisation" in html and f"45,00{NBSP}€ HT / mois" in html
    assert "Prix par centre modifiés" in html and "Création" in html


def test_set_center_prices_from_the_table(org, admin, staff_client, center):
    lyon = CenterFactory(organization=org, name="Lyon")
    product = ProductFactory(organization=org)
    client = staff_client(admin)
    page = client.get(reverse("catalog:product_prices", args=[product.pk]))
    assert page.status_code == 200 and "Lyon" in page.content.decode()
    lines = page.context["rows"]
    data = {"centers-TOTAL_FORMS": "2", "centers-INITIAL_FORMS": "2"}
    for index, (line, _form) in enumerate(lines):
        data[f"centers-{index}-center_id"] = str(line.center.pk)
        if line.center == center:
            data[f"centers-{index}-is_available"] = "on"
            data[f"centers-{index}-unit_price"] = "55,50"
    response = client.post(reverse("catalog:product_prices", args=[product.pk]), data)
    assert response.status_code == 302
    rows = {row.center_id: row for row in ProductCenterPrice.objects.filter(product=product)}
    assert rows[center.pk].unit_price == Decimal("55.50") and rows[center.pk].is_available
    assert rows[lyon.pk].is_available is False and rows[lyon.pk].unit_price is None


def test_center_prices_with_a_bad_price_change_nothing(org, admin, staff_client, center):
    product = ProductFactory(organization=org)
    data = {"centers-TOTAL_FORMS": "1", "centers-INITIAL_FORMS": "1", "centers-0-center_id": str(center.pk),
            "centers-0-is_available": "on", "centers-0-unit_price": "-5"}  # fmt: skip
    response = staff_client(admin).post(reverse("catalog:product_prices", args=[product.pk]), data)
    assert response.status_code == 400 and not ProductCenterPrice.objects.exists()


def test_center_prices_ignore_a_foreign_center(org, admin, staff_client, other_center):
    product = ProductFactory(organization=org)
    data = {"centers-TOTAL_FORMS": "1", "centers-INITIAL_FORMS": "1", "centers-0-center_id": str(other_center.pk),
            "centers-0-unit_price": "5"}  # fmt: skip
    staff_client(admin).post(reverse("catalog:product_prices", args=[product.pk]), data)
    assert not ProductCenterPrice.objects.exists()


def test_deactivate_and_delete(org, admin, staff_client):
    product = ProductFactory(organization=org)
    client = staff_client(admin)
    client.post(reverse("catalog:product_deactivate", args=[product.pk]))
    product.refresh_from_db()
    assert not product.is_active
    assert client.post(reverse("catalog:product_delete", args=[product.pk])).status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()


def test_rights_on_the_pages(org, staff_client, staff_of):
    product = ProductFactory(organization=org)
    reception = staff_client(staff_of("reception"))
    page = reception.get(product.get_absolute_url())
    assert page.status_code == 200 and reverse("catalog:product_edit", args=[product.pk]) not in page.content.decode()
    assert reception.get(reverse("catalog:product_create")).status_code == 403
    assert reception.post(reverse("catalog:product_deactivate", args=[product.pk])).status_code == 403
    assert reception.get(reverse("catalog:product_prices", args=[product.pk])).status_code == 403
    technician = staff_client(staff_of("technician"))  # no catalog.view_product
    assert technician.get(reverse("catalog:product_list")).status_code == 403
    product.refresh_from_db()
    assert product.is_active
