"""Benchmarks of billing: the monthly run.

Generator step (order 300), in the `bench` tenant: 20,000 × scale running contracts (status active, started
1 January 2026, one per company of the CRM step, round-robin over the first centers), 4 recurring lines each;
one company in ten groups its invoices (it then has one invoice for its contracts of one legal entity); one
contract in fifty is paused from the 10th to the 19th of the month of generation.

- `billing.run.20000`: one full run of the current month through `start_run` + `execute_run` (plan, number,
  chain, insert, `BilledPeriod`, progress, journal), in a transaction rolled back after each repetition. Raw
  baseline: the same number of invoices with 4 lines each written by the database alone on the same
  connection (COPY on PostgreSQL, executemany on SQLite), rows prepared beforehand.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from comptoir.bench.generator import EPOCH, SCALED_TENANT, GeneratorContext
from comptoir.bench.harness import BenchContext
from comptoir.bench.registry import BenchError, Case, benchmark, register_generator_step
from comptoir.billing.models import BillingProfile, BillingRun, Invoice, InvoiceLine
from comptoir.billing.services import runs
from comptoir.billing.services.invoices import buyer_snapshot_from, seller_snapshot
from comptoir.core.models import Center, Organization, StaffMembership
from comptoir.crm.models import Company
from comptoir.sales.models import Contract, ContractLine, ContractPause, PricedLine

RUN_CONTRACTS = 20_000
NUMBER_FROM = 2_000_000
START = datetime.date(2026, 1, 1)
LINES = [  # (description, monthly amounts to pick from, VAT rate)
    ("Bureau privatif", ("850.00", "1200.00", "1650.00", "2400.00"), "20.00"),
    ("Services bureau", ("35.00", "70.00", "105.00"), "20.00"),
    ("Parking", ("95.00", "120.00"), "20.00"),
    ("Option ménage", ("40.00", "55.00", "80.00"), "20.00"),
]


def run_contract_count(scale: float) -> int:
    return max(10, round(RUN_CONTRACTS * scale))


def _db_values(instance: Any) -> dict[str, Any]:
    columns, rows = runs.db_rows(type(instance), [instance])
    return dict(zip(columns, rows[0], strict=True))


def _insert(gen: GeneratorContext, model: type[Any], template: Any, rows: list[dict[str, Any]]) -> None:
    values = _db_values(template)
    columns = list(values)
    for start in range(0, len(rows), 20_000):
        runs.write_rows(model._meta.db_table, columns,
                        [tuple(row.get(c, values[c]) for c in columns) for row in rows[start : start + 20_000]])  # fmt: skip
    gen.log(f"  {model._meta.db_table}: {len(rows):,} rows")


def run_data(gen: GeneratorContext) -> None:
    organization = gen.tenants.get(SCALED_TENANT) or Organization.objects.filter(slug=SCALED_TENANT).first()
    if organization is None:
        return
    centers = list(Center.objects.filter(organization=organization).order_by("id").values_list("id", "legal_entity_id"))
    companies = list(Company.objects.filter(organization=organization).order_by("id").values_list("id", flat=True))
    if not centers or not companies:
        raise BenchError("The bench tenant has no centers or companies (the core and CRM steps did not run).")
    admin_id = (
        StaffMembership.objects.filter(organization=organization, role__kind="administrator")
        .order_by("id")
        .values_list("user_id", flat=True)
        .first()
    )
    rng = gen.rng("billing:run")
    count = run_contract_count(gen.scale)
    Company.objects.filter(pk__in=companies[::10]).update(group_invoices=True)
    centers = centers[:20]
    template = Contract(organization=organization, number=0, company_id=companies[0], legal_entity_id=centers[0][1],
                        center_id=centers[0][0], status=Contract.Status.ACTIVE, service_type="private_office",
                        start_date=START, commitment_end=datetime.date(2026, 12, 31), payment_method="direct_debit",
                        created_by_id=admin_id, created_at=EPOCH, updated_at=EPOCH, signed_at=EPOCH)  # fmt: skip
    rows = []
    for index in range(count):
        center_id, entity_id = centers[index % len(centers)]
        rows.append({"number": NUMBER_FROM + index, "company_id": companies[index % len(companies)],
                     "center_id": center_id, "legal_entity_id": entity_id})  # fmt: skip
    _insert(gen, Contract, template, rows)
    contract_ids = list(
        Contract.objects.filter(organization=organization, number__gte=NUMBER_FROM)
        .order_by("number")
        .values_list("id", flat=True)
    )
    line_template = ContractLine(contract_id=contract_ids[0], kind=PricedLine.Kind.SERVICE, description="",
                                 unit_price=Decimal(0), amount_excl_vat=Decimal(0), start_date=START)  # fmt: skip
    line_rows = []
    for contract_id in contract_ids:
        for position, (description, amounts, rate) in enumerate(LINES, start=1):
            amount = Decimal(rng.choice(amounts))
            line_rows.append({"contract_id": contract_id, "description": description, "unit_price": amount,
                              "amount_excl_vat": amount, "vat_rate": rate, "position": position})  # fmt: skip
    _insert(gen, ContractLine, line_template, line_rows)
    # one contract in 50 paused ten days of the current month (its lines billed in two prorated pieces)
    month = timezone.localdate().replace(day=1)
    pause_template = ContractPause(contract_id=contract_ids[0], start_date=month.replace(day=10),
                                   end_date=month.replace(day=19), created_by_id=admin_id, created_at=EPOCH)  # fmt: skip
    _insert(gen, ContractPause, pause_template, [{"contract_id": contract_id} for contract_id in contract_ids[::50]])


register_generator_step(300, run_data)


@benchmark("billing.run.20000")
def billing_run(ctx: BenchContext) -> Case:
    """One monthly run of 20,000 × scale contracts (4 lines each) through start_run + execute_run."""
    organization = ctx.organization(SCALED_TENANT)
    today = timezone.localdate()
    period = today.replace(day=1)
    contracts = Contract.objects.filter(organization=organization, number__gte=NUMBER_FROM)
    expected_contracts = contracts.count()
    if not expected_contracts:
        raise BenchError("The bench data set has no billing contracts: run with --regenerate.")
    if BillingRun.objects.filter(organization=organization, period=period).exists():
        raise BenchError(f"The bench tenant already has a run for {period:%Y-%m}: run with --regenerate.")
    preview = runs.preview_run(organization=organization, period=period, by=None, issue_date=today,
                               check_rights=False)  # fmt: skip
    expected_invoices = preview.count

    def run() -> BillingRun:
        started = runs.start_run(organization=organization, period=period, by=None, issue_date=today, enqueue=False,
                                 check_rights=False)  # fmt: skip
        return runs.execute_run(run=started)

    def check(result: BillingRun) -> int:
        if result.status != BillingRun.Status.COMPLETED or result.invoices_created != expected_invoices:
            raise BenchError(f"billing.run.20000: {result.status}, {result.invoices_created} invoices "
                             f"(expected {expected_invoices}) {result.error}")  # fmt: skip
        if result.total_excl_vat != preview.total_excl_vat:
            raise BenchError("billing.run.20000: the run's total differs from its preview")
        return result.invoices_created

    return Case(run=run, raw=_raw_invoices(organization, expected_invoices, today), rows=expected_invoices,
                check=check, in_rollback=True, repeat=3)  # fmt: skip


def _raw_invoices(organization: Organization, count: int, today: datetime.date) -> Any:
    """The same number of issued invoices, 4 lines each, prepared in memory and written by the database alone."""
    center = Center.objects.filter(organization=organization).select_related("legal_entity").order_by("id").first()
    companies = list(Company.objects.filter(organization=organization).order_by("id")[:1000])
    if center is None or not companies:
        raise BenchError("The bench tenant has no centers or companies: run with --regenerate.")
    entity = center.legal_entity
    profile = BillingProfile.objects.filter(legal_entity=entity).first() or BillingProfile(legal_entity=entity)
    seller = seller_snapshot(entity, profile)  # the same snapshots as the run's: the same bytes to write
    buyers = [buyer_snapshot_from(company, None, None) for company in companies]
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM billing_invoice")
        first_id = cursor.fetchone()[0] + 10_000_000
    now = timezone.now()
    invoices, lines = [], []
    for index in range(count):
        invoice = Invoice(
            pk=first_id + index, organization=organization, status=Invoice.Status.ISSUED, origin=Invoice.Origin.RUN,
            legal_entity_id=center.legal_entity_id, center=center, company_id=companies[index % len(companies)].pk,
            number=9_000_000 + index, reference=f"RAW-{index:07d}", issue_date=today, due_date=today,
            period_start=today.replace(day=1), period_end=today, seller=seller, buyer=buyers[index % len(buyers)],
            payment_method="direct_debit", payment_terms="Paiement à 30 jours, prélèvement sepa",
            total_excl_vat=Decimal("1000.00"), total_vat=Decimal("200.00"), total_incl_vat=Decimal("1200.00"),
            vat_breakdown=[{"category": "S", "rate": "20.00", "base": "1000.00", "vat": "200.00"}],
            record_hash="0" * 64, issued_at=now,
        )  # fmt: skip
        invoices.append(invoice)
        lines += [
            InvoiceLine(invoice_id=invoice.pk, position=position, description=f"{description} — 01/12/2026 – 31/12/2026",
                        unit="month", unit_price=Decimal("250.00"), amount_excl_vat=Decimal("250.00"),
                        period_start=today.replace(day=1), period_end=today, source="contract_line",
                        accounting_code="706000", contract_id=None)
            for position, (description, _amounts, _rate) in enumerate(LINES, start=1)
        ]  # fmt: skip
    invoice_columns, invoice_rows = runs.db_rows(Invoice, invoices, with_pk=True)
    line_columns, line_rows = runs.db_rows(InvoiceLine, lines)

    def raw() -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL comptoir.issuing = 'on'")
        runs.write_rows("billing_invoice", invoice_columns, invoice_rows)
        runs.write_rows("billing_invoiceline", line_columns, line_rows)

    return raw


# The ledger's benchmarks (1,000,000 issued documents: list page, verify-ledger, Factur-X rendering, zip export)
from comptoir.billing import bench_ledger  # noqa: E402, F401
