"""Finance → Facturation: the month picker, the preview, « Lancer la facturation », the progress polled by HTMX,
the history, rights and tenancy."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from comptoir.billing.models import BillingRun, Invoice
from comptoir.billing.views.runs import next_month
from comptoir.sales.models import Contract
from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
NEXT = next_month(TODAY)
HTMX = {"HTTP_HX_REQUEST": "true"}


def running_contract(org, center):  # type: ignore[no-untyped-def]
    start = TODAY.replace(day=1) - datetime.timedelta(days=62)
    contract = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE, start_date=start)
    ContractLineFactory(contract=contract, start_date=start)
    return contract


def test_next_month():
    assert next_month(datetime.date(2026, 12, 6)) == datetime.date(2027, 1, 1)
    assert next_month(datetime.date(2027, 1, 31)) == datetime.date(2027, 2, 1)


def test_page_defaults_to_next_month_and_shows_the_empty_history(org, admin, staff_client):
    response = staff_client(admin).get(reverse("billing:run_list"))
    assert response.context["form"].initial["period"] == NEXT
    assert f'value="{NEXT:%Y-%m}"' in response.content.decode()
    assert "Aucune facturation mensuelle pour le moment." in response.content.decode()


def test_preview_lists_the_invoices_and_totals(org, center, admin, staff_client):
    contract = running_contract(org, center)
    response = staff_client(admin).get(reverse("billing:run_list"), {"period": f"{NEXT:%Y-%m}"})
    preview = response.context["preview"]
    assert preview.count == 1
    planned = preview.invoices[0]
    assert planned.company_name == contract.company.name and planned.contract_references == [contract.reference]
    page = response.content.decode()
    assert "1 facture à créer" in page and "Lancer la facturation" in page
    assert Invoice.objects.count() == 0  # a preview writes nothing


def test_a_bad_period_is_refused_at_the_field(org, admin, staff_client):
    response = staff_client(admin).get(reverse("billing:run_list"), {"period": "2027-13"})
    assert response.context["form"].errors["period"] and response.context["preview"] is None


def test_start_the_run_then_follow_its_progress(org, center, admin, staff_client, django_capture_on_commit_callbacks):
    running_contract(org, center)
    web = staff_client(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(reverse("billing:run_start"), {"period": f"{NEXT:%Y-%m}"})
    run = BillingRun.objects.get()
    assert response["Location"] == run.get_absolute_url()
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED and run.invoices_created == 1
    progress = web.get(reverse("billing:run_progress", args=[run.pk]), **HTMX).content.decode()
    assert 'id="run-progress"' in progress and "100 %" in progress and "every 1s" not in progress
    page = web.get(run.get_absolute_url()).content.decode()
    assert f"?billing_run={run.pk}" in page
    history = web.get(reverse("billing:run_list")).content.decode()
    assert f'?billing_run={run.pk}">1</a>' in history
    listed = web.get(reverse("billing:invoice_list"), {"billing_run": run.pk}).context["rows"]
    assert [row.obj.billing_run_id for row in listed] == [run.pk]


def test_a_running_run_polls_every_second(org, admin, staff_client):
    run = BillingRun.objects.create(organization=org, period=NEXT, issue_date=TODAY, contracts_total=4,
                                    contracts_done=1)  # fmt: skip
    progress = staff_client(admin).get(reverse("billing:run_progress", args=[run.pk]), **HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in progress and "25 %" in progress and "<html" not in progress


def test_a_period_already_billed_is_refused_with_the_message(org, admin, staff_client):
    BillingRun.objects.create(organization=org, period=NEXT, issue_date=TODAY, status=BillingRun.Status.COMPLETED,
                              invoices_created=3, total_incl_vat=Decimal("10"))  # fmt: skip
    response = staff_client(admin).post(reverse("billing:run_start"), {"period": f"{NEXT:%Y-%m}"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"La facturation de {NEXT:%m/%Y} a déjà été faite (3 factures)."
    ]
    assert BillingRun.objects.count() == 1


def test_rights_and_tenancy(org, other_org, staff_of, staff_client):
    foreign = BillingRun.objects.create(organization=other_org, period=NEXT, issue_date=TODAY)
    assert staff_client(staff_of("reception")).get(reverse("billing:run_list")).status_code == 403
    technician = staff_client(staff_of("technician"))
    assert technician.post(reverse("billing:run_start"), {"period": f"{NEXT:%Y-%m}"}).status_code == 403
    admin = staff_client(staff_of("administrator"))
    assert admin.get(reverse("billing:run_detail", args=[foreign.pk])).status_code == 404
    assert admin.get(reverse("billing:run_progress", args=[foreign.pk])).status_code == 404
    assert admin.get(reverse("billing:run_start")).status_code == 405
    assert BillingRun.objects.filter(organization=org).count() == 0
