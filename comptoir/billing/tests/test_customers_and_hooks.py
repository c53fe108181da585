"""A client's invoicing data (the company's "Facturation" tab), the deletion refusal of a company with invoices,
and invoices in the global search."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from comptoir.billing.hooks import search_invoices
from comptoir.billing.models import CustomerBillingProfile
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import issued_invoice
from comptoir.core.errors import DomainError, RightsError
from comptoir.core.tests.factories import CenterFactory, role
from comptoir.crm.services import companies as company_services
from comptoir.crm.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_tab_saves_the_chorus_fields(org, admin, staff_client):
    company = CompanyFactory(organization=org, siret="44306184100047", siren="443061841")
    client = staff_client(admin)
    url = reverse("billing:company_billing_settings", args=[company.pk])
    response = client.get(url)
    assert response.status_code == 200 and "Code service (Chorus Pro)" in response.content.decode()
    response = client.post(url, {"is_public_entity": "on", "service_code": "SERV-01", "commitment_number": "EJ123",
                                 "auxiliary_account": "", "payment_terms_days": "45"})  # fmt: skip
    assert response.status_code == 200 and "Paramètres de facturation enregistrés." in response.content.decode()
    profile = CustomerBillingProfile.objects.get(company=company)
    assert (profile.is_public_entity, profile.service_code, profile.payment_terms_days) == (True, "SERV-01", 45)
    draft = services.create_invoice(by=admin, company=company, center=CenterFactory(organization=org))
    assert (draft.buyer_reference, draft.purchase_order) == ("SERV-01", "EJ123")
    assert draft.payment_terms.startswith("Paiement à 45 jours")


def test_public_entity_needs_a_siret_and_payment_terms_are_capped(org, admin, staff_client):
    company = CompanyFactory(organization=org, siret="")
    client = staff_client(admin)
    url = reverse("billing:company_billing_settings", args=[company.pk])
    response = client.post(url, {"is_public_entity": "on", "payment_terms_days": "90"})
    body = response.content.decode()
    assert response.status_code == 200 and "invalid-feedback" in body
    assert not CustomerBillingProfile.objects.exists()
    with pytest.raises(DomainError) as exc:
        services.update_customer_profile(company=company, by=admin, data={"is_public_entity": True})
    assert exc.value.code == "siret_required"
    assert not CustomerBillingProfile.objects.exists()


def test_staff_without_the_company_right_sees_but_cannot_change(org, staff_of, staff_client, other_org):
    company = CompanyFactory(organization=org)
    role(org, "technician").permissions.add(Permission.objects.get(content_type__app_label="billing",
                                                                   codename="view_invoice"))  # fmt: skip
    reception = staff_of("technician")
    client = staff_client(reception)
    url = reverse("billing:company_billing_settings", args=[company.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"service_code": "X"})
    assert not CustomerBillingProfile.objects.exists()
    with pytest.raises(RightsError):
        services.update_customer_profile(company=company, by=reception, data={"service_code": "X"})
    stranger = CompanyFactory(organization=other_org)
    assert client.get(reverse("billing:company_billing_settings", args=[stranger.pk])).status_code == 404


def test_company_with_invoices_cannot_be_deleted(org, admin):
    invoice = issued_invoice(org)
    with pytest.raises(DomainError) as exc:
        company_services.delete_company(company=invoice.company, by=admin)
    assert "factures" in exc.value.message


def test_search_finds_invoices_by_number_within_the_organization(org, admin, other_org, other_admin):
    invoice = issued_invoice(org)
    issued_invoice(other_org)
    year = invoice.issue_date.year
    assert [hit["reference"] for hit in search_invoices(admin, org, f"FA-{year}", 5)] == [invoice.reference]
    assert [hit["reference"] for hit in search_invoices(admin, org, "01", 5)] == [invoice.reference]
    assert search_invoices(admin, org, "999", 5) == []
    assert [hit["url"] for hit in search_invoices(other_admin, other_org, "01", 5)] != [
        reverse("billing:invoice_detail", args=[invoice.pk])
    ]


def test_contract_page_has_an_invoices_tab(org, admin, staff_client, other_org):
    from decimal import Decimal

    from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory

    contract = ContractFactory(organization=org, deposit=Decimal("800.00"))
    ContractLineFactory(contract=contract)
    deposit, first_month = services.issue_first_invoices(contract=contract)
    elsewhere = issued_invoice(org)
    client = staff_client(admin)
    tab_url = reverse("billing:contract_invoices", args=[contract.pk])
    assert f'hx-get="{tab_url}"' in client.get(contract.get_absolute_url()).content.decode()
    tab = client.get(tab_url).content.decode()
    assert deposit.get_absolute_url() in tab and first_month.get_absolute_url() in tab
    assert elsewhere.get_absolute_url() not in tab
    foreign = ContractFactory(organization=other_org)
    assert client.get(reverse("billing:contract_invoices", args=[foreign.pk])).status_code == 404


def test_member_page_has_a_consumptions_tab_with_only_theirs(org, admin, staff_client, center):
    from comptoir.billing.models import Consumption
    from comptoir.billing.tests.factories import ConsumptionFactory
    from comptoir.crm.tests.factories import ContactFactory

    company = CompanyFactory(organization=org, kind="client")
    member, colleague = ContactFactory(company=company), ContactFactory(company=company)
    theirs = ConsumptionFactory(organization=org, company=company, center=center, contact=member, description="Café")
    ConsumptionFactory(organization=org, company=company, center=center, contact=colleague, description="Thé")
    client = staff_client(admin)
    tab_url = f"{reverse('billing:company_consumptions', args=[company.pk])}?member={member.pk}"
    assert f'hx-get="{tab_url}"' in client.get(reverse("crm:contact_detail", args=[member.pk])).content.decode()
    tab = client.get(tab_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Café" in tab and "Thé" not in tab and f'value="{member.pk}" selected' in tab
    created = client.post(
        reverse("billing:company_consumption_create", args=[company.pk]) + f"?member={member.pk}",
        {"consumption-center": center.pk, "consumption-contact": member.pk, "consumption-description": "Impressions",
         "consumption-date": "2026-12-01", "consumption-quantity": "10", "consumption-unit_price": "0.15",
         "consumption-vat_rate": "20.00"},
        HTTP_HX_REQUEST="true",
    ).content.decode()  # fmt: skip
    assert "Impressions" in created and "Thé" not in created
    assert Consumption.objects.filter(contact=member).count() == 2
    invoiced = client.post(reverse("billing:company_consumptions_invoice", args=[company.pk]),
                           {"consumptions": [theirs.pk]})  # fmt: skip
    assert invoiced.status_code == 302
    theirs.refresh_from_db()
    assert theirs.invoice is not None and theirs.invoice.contact_id == member.pk
