"""The « Consommations » tab of a company: by center, select and « Générer une facture », add, delete, rights."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.billing.models import Consumption, Invoice
from comptoir.billing.tests.factories import ConsumptionFactory
from comptoir.catalog.models import Product
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.core.tests.factories import CenterFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def company(org, center):  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, kind=Company.Kind.CLIENT, center=center)


def consumption(org, company, center, **kwargs):  # type: ignore[no-untyped-def]
    return ConsumptionFactory(organization=org, company=company, center=center, **kwargs)


def tab_url(company):  # type: ignore[no-untyped-def]
    return reverse("billing:company_consumptions", args=[company.pk])


def test_tab_lists_consumptions_by_center_with_constant_queries(org, center, company, admin, staff_client):
    web = staff_client(admin)
    lyon = CenterFactory(organization=org, legal_entity=center.legal_entity, name="Lyon")
    consumption(org, company, center, description="Cafés")
    consumption(org, company, lyon, description="Impressions couleur")
    with CaptureQueriesContext(connection) as few:
        response = web.get(tab_url(company), **HTMX)
    groups = response.context["groups"]
    assert [(group_center.name, [row.description for row in rows]) for group_center, rows in groups] == sorted(
        [(center.name, ["Cafés"]), ("Lyon", ["Impressions couleur"])]
    )
    for _ in range(28):
        consumption(org, company, lyon)
    with CaptureQueriesContext(connection) as many:
        web.get(tab_url(company), **HTMX)
    assert len(few) == len(many)
    assert "consumptions" in [tab.key for tab in web.get(company.get_absolute_url()).context["tabs"]]


def test_select_all_of_a_center_checks_its_unbilled_consumptions(org, center, company, admin, staff_client):
    first = consumption(org, company, center)
    second = consumption(org, company, center)
    lyon = CenterFactory(organization=org, legal_entity=center.legal_entity, name="Lyon")
    elsewhere = consumption(org, company, lyon)
    web = staff_client(admin)
    response = web.get(tab_url(company), {"toggled": center.pk, "select_all": center.pk,
                                          "consumptions": [elsewhere.pk]}, **HTMX)  # fmt: skip
    assert response.context["selected"] == {first.pk, second.pk, elsewhere.pk}
    assert response.context["all_selected"] == {center.pk, lyon.pk}
    cleared = web.get(tab_url(company), {"toggled": center.pk, "consumptions": [first.pk, elsewhere.pk]}, **HTMX)
    assert cleared.context["selected"] == {elsewhere.pk}


def test_generate_an_invoice_of_the_selection(org, center, company, admin, staff_client):
    first = consumption(org, company, center, description="Cafés", amount_excl_vat=Decimal("3.00"),
                        quantity=Decimal("2"), unit_price=Decimal("1.50"))  # fmt: skip
    second = consumption(org, company, center, description="Impressions")
    left = consumption(org, company, center)
    response = staff_client(admin).post(reverse("billing:company_consumptions_invoice", args=[company.pk]),
                                        {"consumptions": [first.pk, second.pk]})  # fmt: skip
    invoice = Invoice.objects.get()
    assert response["Location"] == invoice.get_absolute_url()
    assert invoice.status == Invoice.Status.DRAFT and invoice.total_excl_vat == Decimal("4.50")
    assert set(Consumption.objects.filter(invoice=invoice).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert Consumption.objects.get(pk=left.pk).invoice_id is None


def test_a_selection_mixing_centers_is_refused_with_the_service_message(org, center, company, admin, staff_client):
    lyon = CenterFactory(organization=org, legal_entity=center.legal_entity, name="Lyon")
    first, second = consumption(org, company, center), consumption(org, company, lyon)
    response = staff_client(admin).post(reverse("billing:company_consumptions_invoice", args=[company.pk]),
                                        {"consumptions": [first.pk, second.pk]}, **HTMX)  # fmt: skip
    assert response.context["selection_error"] == (
        "Sélectionnez les consommations d'une seule entreprise et d'un seul centre."
    )
    assert response.context["selected"] == {first.pk, second.pk}
    assert Invoice.objects.count() == 0 and Consumption.objects.filter(invoice__isnull=False).count() == 0


def test_an_empty_or_foreign_selection_is_refused(org, other_org, center, company, admin, staff_client):
    web = staff_client(admin)
    url = reverse("billing:company_consumptions_invoice", args=[company.pk])
    empty = web.post(url, {}, **HTMX)
    assert empty.context["selection_error"] == "Sélectionnez au moins une consommation."
    foreign = ConsumptionFactory(organization=other_org)
    refused = web.post(url, {"consumptions": [foreign.pk]}, **HTMX)
    assert refused.context["selection_error"] == "Consommation inconnue."
    assert Invoice.objects.count() == 0 and Consumption.objects.get(pk=foreign.pk).invoice_id is None


def test_add_a_consumption_of_a_product_and_a_free_one(org, center, company, admin, staff_client):
    product = ProductFactory(organization=org, kind=Product.Kind.CONSUMPTION, name="Café", unit_price=Decimal("1.20"),
                             vat_rate="10.00", unit=Product.Unit.DRINK)  # fmt: skip
    member = ContactFactory(organization=org, company=company)
    web = staff_client(admin)
    url = reverse("billing:company_consumption_create", args=[company.pk])
    web.post(url, {"consumption-center": center.pk, "consumption-product": product.pk, "consumption-date": "2026-12-01",
                   "consumption-quantity": "3", "consumption-contact": member.pk}, **HTMX)  # fmt: skip
    web.post(url, {"consumption-center": center.pk, "consumption-description": "Badge perdu",
                   "consumption-date": "2026-12-02", "consumption-quantity": "1", "consumption-unit_price": "15",
                   "consumption-vat_rate": "20.00"})  # fmt: skip
    rows = list(Consumption.objects.order_by("date").values_list("description", "amount_excl_vat", "vat_rate",
                                                                 "contact_id"))  # fmt: skip
    assert rows == [("Café", Decimal("3.60"), "10.00", member.pk), ("Badge perdu", Decimal("15.00"), "20.00", None)]


def test_add_refusals_show_at_the_field(org, center, company, admin, staff_client):
    response = staff_client(admin).post(
        reverse("billing:company_consumption_create", args=[company.pk]),
        {"consumption-center": center.pk, "consumption-date": "2026-12-01", "consumption-quantity": "1",
         "consumption-unit_price": "10", "consumption-vat_rate": "20.00"},
        **HTMX,
    )  # fmt: skip
    assert response.context["form"].errors == {"description": ["Indiquez la désignation de la ligne."]}
    zero = staff_client(admin).post(
        reverse("billing:company_consumption_create", args=[company.pk]),
        {"consumption-center": center.pk, "consumption-description": "Formation", "consumption-date": "2026-12-01",
         "consumption-quantity": "1", "consumption-unit_price": "10", "consumption-vat_rate": "0.00"},
        **HTMX,
    )  # fmt: skip
    assert list(zero.context["form"].errors) == ["vat_exemption_reason"]
    assert Consumption.objects.count() == 0


def test_delete_an_unbilled_consumption_but_not_a_billed_one(org, center, company, admin, staff_client):
    web = staff_client(admin)
    unbilled = consumption(org, company, center)
    invoice = Invoice.objects.create(organization=org, legal_entity=center.legal_entity, center=center, company=company)
    billed = consumption(org, company, center, invoice=invoice)
    web.post(reverse("billing:consumption_delete", args=[unbilled.pk]), **HTMX)
    response = web.post(reverse("billing:consumption_delete", args=[billed.pk]), follow=True)
    assert "Cette consommation est déjà facturée." in response.content.decode()
    assert list(Consumption.objects.values_list("pk", flat=True)) == [billed.pk]


def test_rights_and_tenancy(org, other_org, center, company, staff_of, staff_client):
    mine = consumption(org, company, center)
    technician = staff_client(staff_of("technician"))
    assert technician.get(tab_url(company)).status_code == 403
    reception = staff_client(staff_of("reception"))
    page = reception.get(tab_url(company), **HTMX).content.decode()
    assert "Ajouter une consommation" in page and "Générer une facture" not in page
    assert reception.post(reverse("billing:consumption_delete", args=[mine.pk])).status_code == 403
    assert reception.post(reverse("billing:company_consumptions_invoice", args=[company.pk]),
                          {"consumptions": [mine.pk]}).status_code == 403  # fmt: skip
    foreign = ConsumptionFactory(organization=other_org)
    admin_web = staff_client(staff_of("administrator"))
    assert admin_web.get(tab_url(foreign.company)).status_code == 404
    assert admin_web.post(reverse("billing:consumption_delete", args=[foreign.pk])).status_code == 404
    assert admin_web.get(reverse("billing:consumption_company", args=[foreign.pk])).status_code == 404
    assert admin_web.post(reverse("billing:company_consumption_create", args=[foreign.company_id]),
                          {"consumption-description": "X"}).status_code == 404  # fmt: skip
    assert Consumption.objects.filter(pk__in=[mine.pk, foreign.pk]).count() == 2
