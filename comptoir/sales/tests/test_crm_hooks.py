"""The CRM sees the contracts: the company lists' contracts and value columns, the client's status."""

import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.sales.models import Contract
from comptoir.sales.services import contracts as contract_services
from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory


def _running_contract(org, company, amounts=("500.00",), status=Contract.Status.ACTIVE):  # type: ignore[no-untyped-def]
    start = timezone.localdate() - datetime.timedelta(days=400)
    contract = ContractFactory(
        organization=org, company=company, status=status, start_date=start,
        commitment_end=start + datetime.timedelta(days=364),
    )  # fmt: skip
    for amount in amounts:
        ContractLineFactory(contract=contract, amount_excl_vat=Decimal(amount), unit_price=Decimal(amount))
    return contract


def test_client_list_shows_running_contracts_and_their_monthly_value_with_constant_queries(
    org, admin, staff_client, django_assert_num_queries
):
    client = staff_client(admin)
    company = CompanyFactory(organization=org, kind="client", name="Atelier Quartz")
    _running_contract(org, company, ("500.00", "49.90"))
    _running_contract(org, company, ("120.00",), status=Contract.Status.NOTICE_GIVEN)
    ended = _running_contract(org, company, ("999.00",), status=Contract.Status.ENDED)
    closed_line = ContractLineFactory(
        contract=_running_contract(org, company, ("10.00",)), amount_excl_vat=Decimal("7")
    )
    closed_line.end_date = timezone.localdate() - datetime.timedelta(days=1)
    closed_line.save()
    url = reverse("crm:client_list") + "?sort=-monthly_value"

    response = client.get(url)

    row = response.context["rows"][0].obj
    assert row.running_contract_count == 3 and row.monthly_value == Decimal("679.90")
    assert ended.status == Contract.Status.ENDED
    page = response.content.decode()
    assert "Valeur mensuelle HT" in page and "679,90\u00a0€" in page
    few = _count(client, url)
    for index in range(30):
        _running_contract(org, CompanyFactory(organization=org, kind="client", name=f"Client {index}"))
    with django_assert_num_queries(few):
        client.get(url)


def _count(client, url):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def test_a_client_without_running_contract_becomes_inactive_and_active_again_with_one(org, admin):
    company = CompanyFactory(organization=org, kind="client", status="active")
    contract = _running_contract(org, company)
    contract.end_date = timezone.localdate() - datetime.timedelta(days=2)
    contract.save()

    contract_services.end_contract(contract=contract, by=admin)

    company.refresh_from_db()
    assert company.status == Company.Status.INACTIVE

    signed = _running_contract(org, company, status=Contract.Status.SIGNED)
    signed.start_date = timezone.localdate()
    signed.commitment_end = signed.start_date + datetime.timedelta(days=364)
    signed.save()
    contract_services.activate_contracts()
    company.refresh_from_db()
    assert company.status == Company.Status.ACTIVE


def test_a_suspended_client_stays_suspended(org, admin):
    company = CompanyFactory(organization=org, kind="client", status="suspended")
    contract = _running_contract(org, company)
    contract.end_date = timezone.localdate() - datetime.timedelta(days=2)
    contract.save()

    contract_services.end_contract(contract=contract, by=admin)

    company.refresh_from_db()
    assert company.status == Company.Status.SUSPENDED
