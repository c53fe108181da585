"""The billing demo data: 18 months of history (monthly runs, first invoices, consumptions, an amendment and its
regularisation, an ended contract, credit notes, an invoice of selected consumptions); idempotent; its ledger
verifies and every issued document passes validate_cii.py (the issue's done-when)."""

from __future__ import annotations

import datetime
import itertools
from collections import Counter

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from comptoir.billing import ledger
from comptoir.billing.demo import (
    CONTRACTS,
    GROUPED,
    PUBLIC_COMMITMENT_NUMBER,
    PUBLIC_SERVICE_CODE,
    history_months,
    pick_companies,
)
from comptoir.billing.models import BillingRun, Consumption, CustomerBillingProfile, Invoice, InvoiceLine
from comptoir.billing.tests.validators_batch import assert_all_valid_cii
from comptoir.core import demo
from comptoir.crm.demo import PORTAL_COMPANY_NAME
from comptoir.crm.models import Company
from comptoir.sales.models import Contract, ContractPause

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The demo, built once for the module's tests (each test runs in a savepoint of this transaction), with the
    test settings of the autouse fixture (fast password hasher, media in a temporary folder)."""
    test_settings = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                                      MEDIA_ROOT=tmp_path_factory.mktemp("media"))  # fmt: skip
    with django_db_blocker.unblock(), test_settings, transaction.atomic():
        yield demo.build_demo()
        transaction.set_rollback(True)


def test_the_history_has_a_completed_run_every_month_and_a_rerun_creates_nothing(built):
    organization = built.organization
    today = timezone.localdate()
    months = history_months(today)
    assert len(months) == 19 and months[-1] == today.replace(day=1)
    assert built.created["billing runs"] == 19
    assert built.created["history contracts"] == len(CONTRACTS) == 14
    before = row_counts()

    second = demo.build_demo()

    assert second.created == {}
    assert row_counts() == before
    runs = list(BillingRun.objects.filter(organization=organization).order_by("period"))
    assert [(run.period, run.issue_date, run.status) for run in runs] == [
        (month, month, BillingRun.Status.COMPLETED) for month in months
    ]
    for run in runs:
        created = Invoice.objects.filter(billing_run=run)
        assert run.invoices_created == created.count() >= 3, run
        assert run.progress_percent == 100
        assert set(created.values_list("issue_date", flat=True)) == {run.period}
    issued = Invoice.objects.filter(organization=organization).exclude(status=Invoice.Status.DRAFT)
    months_with_invoices = {(day.year, day.month) for day in issued.values_list("issue_date", flat=True)}
    assert {(month.year, month.month) for month in months} <= months_with_invoices
    assert not Invoice.objects.filter(organization=organization, status=Invoice.Status.DRAFT).exists()


def test_the_history_covers_the_billing_cases(built):
    organization = built.organization
    today = timezone.localdate()
    months = history_months(today)
    roles = pick_companies(built.slug, today)
    invoices = Invoice.objects.filter(organization=organization).exclude(status=Invoice.Status.DRAFT)

    # first invoices at signature: a deposit and a first month for every contract signed since (not the imported)
    signed_since = [spec for spec in CONTRACTS if not spec.imported]
    history = Contract.objects.filter(organization=organization, quote__isnull=True)
    assert history.count() == 14
    assert invoices.filter(origin=Invoice.Origin.DEPOSIT, contract__in=history).count() == len(signed_since) - 2
    assert invoices.filter(origin=Invoice.Origin.FIRST_MONTH, contract__in=history).count() == len(signed_since)
    # (the freelancer's nomad formula and the later domiciliation have no deposit)

    # the sales demo's contracts signed today have their deposit and first-month invoices, dated today
    for contract in Contract.objects.filter(organization=organization, quote__isnull=False, status="signed"):
        origins = sorted(invoices.filter(contract=contract).values_list("origin", flat=True))
        assert origins in (["deposit", "first_month"], ["first_month"]), (contract, origins)
        assert set(invoices.filter(contract=contract).values_list("issue_date", flat=True)) == {today}

    # a company with two contracts that groups its invoices: one invoice with both contracts' lines
    grouped = Company.objects.get(organization=organization, name=roles[GROUPED[1]])
    assert grouped.group_invoices and grouped.contracts.count() == 2
    grouped_invoices = (
        invoices.filter(company=grouped, origin=Invoice.Origin.RUN)
        .annotate(contracts=Count("lines__contract_id", distinct=True))
        .filter(contracts=2)
    )
    assert grouped_invoices.count() >= 10
    assert all(invoice.contract_id is None for invoice in grouped_invoices)

    # the amendment mid-history: the next run regularises the month it changed
    amendment_month = months[10]
    regularisations = InvoiceLine.objects.filter(invoice__in=invoices, source=InvoiceLine.Source.ADJUSTMENT)

    assert set(regularisations.values_list("invoice__billing_run__period", flat=True)) == {amendment_month, months[12]}
    amended = regularisations.filter(invoice__billing_run__period=amendment_month)
    assert sorted(line.amount_excl_vat > 0 for line in amended) == [False, True]

    # the pause recorded after its month was billed: the next run credits its days (more than what the month
    # bills: on a credit note of the previous month's invoice), and bills its own month around the pause; the
    # other pause is planned for next month
    paused_contract = ContractPause.objects.get(reason__startswith="Congé").contract
    credited = regularisations.filter(invoice__billing_run__period=months[12])
    assert credited and all(line.contract_id == paused_contract.pk and line.amount_excl_vat > 0 for line in credited)
    note = credited[0].invoice
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.credited_invoice.period_start == months[11]
    pieces = InvoiceLine.objects.filter(contract_id=paused_contract.pk, invoice__billing_run__period=months[12],
                                        source=InvoiceLine.Source.CONTRACT_LINE).order_by("period_start")  # fmt: skip
    assert pieces[0].period_start == months[12].replace(day=10) and pieces[0].description.endswith("(prorata)")
    planned = ContractPause.objects.get(reason__startswith="Travaux")
    assert planned.start_date.replace(day=1) > months[-1] and planned.cancelled_at is None

    # the contract ended six months ago: billed up to its last day, not after
    ended = history.get(status=Contract.Status.ENDED)
    assert ended.end_date == months[12].replace(day=15)
    last = InvoiceLine.objects.filter(contract_id=ended.pk, invoice__kind="invoice").order_by("-period_end").first()
    assert last.period_end == ended.end_date

    # credit notes: a full one (the invoice is cancelled) and partial ones (the invoice stays issued)
    credit_notes = invoices.filter(kind=Invoice.Kind.CREDIT_NOTE, origin=Invoice.Origin.CREDIT).select_related(
        "credited_invoice"
    )
    assert credit_notes.count() == 3
    statuses = Counter(note.credited_invoice.status for note in credit_notes)
    assert statuses == {Invoice.Status.CANCELLED: 1, Invoice.Status.ISSUED: 2}
    for note in credit_notes:
        assert note.reference.startswith(f"AV-{note.issue_date.year}-")
        assert note.issue_date >= note.credited_invoice.issue_date

    # consumptions: billed by the runs and by « Générer une facture », and this month's waiting for the next run
    consumptions = Consumption.objects.filter(organization=organization)
    billed, unbilled = consumptions.filter(invoice__isnull=False), consumptions.filter(invoice__isnull=True)
    assert billed.count() >= 50 and unbilled.count() >= 2
    assert all(consumption.date >= months[-1] for consumption in unbilled)
    assert billed.filter(invoice__origin=Invoice.Origin.RUN).count() >= 48
    manual = invoices.get(origin=Invoice.Origin.CONSUMPTIONS)
    assert manual.issue_date == today and manual.lines.count() == 2 and manual.consumptions.count() == 2
    assert set(consumptions.values_list("product__name", flat=True)) >= {
        "Impression noir et blanc", "Boisson chaude", "Salle de réunion (heure)",
        "Affranchissement du courrier (débours)",
    }  # fmt: skip

    # the public entity's invoices carry its Chorus Pro service code and commitment number
    public = Company.objects.get(organization=organization, name=roles["public"])
    profile = CustomerBillingProfile.objects.get(company=public)
    assert profile.is_public_entity and public.siret
    public_invoices = invoices.filter(company=public)
    assert public_invoices.count() >= 10
    assert set(public_invoices.values_list("buyer_reference", "purchase_order")) == {
        (PUBLIC_SERVICE_CODE, PUBLIC_COMMITMENT_NUMBER)
    }

    # a freelancer, and the portal member's company (its documents in « Mes factures et avoirs »)
    individual = Company.objects.get(organization=organization, name=roles["individual"])
    assert individual.is_individual and invoices.filter(company=individual).count() >= 10
    assert invoices.filter(company__name=PORTAL_COMPANY_NAME).count() >= 19


def test_the_ledger_verifies_and_numbers_follow_the_issue_dates(built):
    organization = built.organization
    checked, problems = ledger.verify_ledger(organization=organization)

    issued = Invoice.objects.filter(organization=organization).exclude(status=Invoice.Status.DRAFT)
    assert problems == []
    assert checked == issued.count() >= 180
    for kind in (Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE):
        rows = list(issued.filter(kind=kind).order_by("legal_entity", "chain_index")
                    .values_list("legal_entity", "issue_date", "reference"))  # fmt: skip
        for (entity, day, reference), (next_entity, next_day, next_reference) in itertools.pairwise(rows):
            if entity == next_entity:
                assert day <= next_day, f"{next_reference} ({next_day}) is numbered after {reference} ({day})"
    dates = list(issued.order_by("legal_entity", "chain_index").values_list("issue_date", flat=True))
    assert dates == sorted(dates)


def test_every_issued_document_of_the_demo_passes_validate_cii(built, tmp_path):
    from comptoir.billing.documents.cii import invoice_cii

    documents = Invoice.objects.filter(organization=built.organization).exclude(status=Invoice.Status.DRAFT)
    paths, french_businesses, without_siren = [], [], set()
    for invoice in documents.select_related("credited_invoice").order_by("id"):
        path = tmp_path / f"{invoice.reference}.xml"
        path.write_bytes(invoice_cii(invoice))
        paths.append(path)
        buyer = invoice.buyer or {}
        if buyer.get("is_business") and (buyer.get("country") or "FR") == "FR":
            french_businesses.append(path)
            if not buyer.get("siren"):
                without_siren.add(buyer.get("name"))
    assert len(paths) >= 180 and len(french_businesses) >= 120

    assert_all_valid_cii(paths, fr_ctc_paths=french_businesses)
    assert without_siren == set()  # (BR-FR-11 says the same, above)


def test_the_companies_are_deterministic_and_distinct():
    today = timezone.localdate()
    roles, again = pick_companies("demo", today), pick_companies("demo", today)

    assert roles == again
    assert len(set(roles.values())) == len(roles) == 13
    assert roles["portal"] == PORTAL_COMPANY_NAME and roles["public"].startswith("Institut ")
    assert {spec.company for spec in CONTRACTS} == set(roles)
    assert history_months(datetime.date(2026, 12, 6))[0] == datetime.date(2025, 6, 1)
