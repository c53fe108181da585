"""Benchmarks of payments (issue 6), on the billing ledger's generated invoices (`comptoir/billing/bench_ledger.py`).

- `payments.import.100000`: a bank statement of 100,000 × scale transfers, each naming an open invoice of the
  tenant's largest legal entity, through `import_transfers` (parse excluded: the lines are built beforehand):
  match, record, allocate, settle, in chunks of 5,000, in a transaction rolled back after each repetition. Raw
  baseline: the same payments and allocations written by the database alone (COPY on PostgreSQL, executemany on
  SQLite) and the invoices' settlement updated by one statement (`write_settlements`), rows prepared beforehand.
- `payments.aging.1000000`: the receivables aging per company on today over the 1,000,000 × scale generated
  invoices (`receivables_aging`, one aggregate query); raw = the same sums per company and bucket in plain SQL.
- `sepa.pain008.10000`: a pain.008.001.02 of 10,000 × scale debits built by `build_pain008` (sepaxml, XSD
  validated); raw = reading as many invoice rows.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from comptoir.bench.generator import SCALED_TENANT
from comptoir.bench.harness import BenchContext
from comptoir.bench.registry import BenchError, Case, benchmark
from comptoir.billing.models import Invoice
from comptoir.billing.services import runs
from comptoir.billing.services.invoices import write_settlements
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.services.imports import TransferLine, fingerprints, import_transfers


def import_count(scale: float) -> int:
    return max(10, int(100_000 * scale))


@benchmark("payments.import.100000")
def payments_import(ctx: BenchContext) -> Case:
    """A bank statement of 100,000 × scale transfers matched, recorded and allocated."""
    organization = ctx.organization(SCALED_TENANT)
    entity = (
        Invoice.objects.filter(organization=organization, kind=Invoice.Kind.INVOICE)
        .values("legal_entity_id").annotate(count=Count("id")).order_by("-count").values_list("legal_entity_id", flat=True)
        .first()
    )  # fmt: skip
    wanted = import_count(ctx.scale)
    invoices = list(
        Invoice.objects.filter(organization=organization, legal_entity_id=entity, kind=Invoice.Kind.INVOICE,
                               status=Invoice.Status.ISSUED, amount_paid=0)
        .order_by("id")
        .values_list("id", "reference", "total_incl_vat", "amount_credited", "company_id", "issue_date")[:wanted]
    )  # fmt: skip
    if len(invoices) < wanted:
        raise BenchError(
            f"payments.import.100000: {len(invoices)} open invoices, {wanted} wanted: run with --regenerate."
        )
    today = timezone.localdate()
    lines = [
        TransferLine(booked_on=min(issued + datetime.timedelta(days=20), today), amount=total - credited,
                     label=f"VIR SEPA {reference} LOYER", payer="CLIENT")
        for _id, reference, total, credited, _company, issued in invoices
    ]  # fmt: skip

    def run() -> Any:
        return import_transfers(organization=organization, by=None, lines=lines, check_rights=False, today=today)

    def check(result: Any) -> int:
        if result.recorded != wanted or result.unmatched:
            raise BenchError(f"payments.import.100000: {result.recorded} recorded, {len(result.unmatched)} unmatched "
                             f"(expected {wanted}): {result.unmatched[:3]}")  # fmt: skip
        return int(result.recorded)

    return Case(run=run, raw=_raw(organization, invoices, lines), rows=wanted, check=check, in_rollback=True,
                repeat=3)  # fmt: skip


def _raw(organization: Any, invoices: list[tuple[Any, ...]], lines: list[TransferLine]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM payments_payment")
        first_id = cursor.fetchone()[0] + 10_000_000
    now = timezone.now()
    prints = fingerprints(lines)
    payments, allocations, settled = [], [], []
    for index, ((invoice_id, _reference, _total, _credited, company_id, _issued), line) in enumerate(
        zip(invoices, lines, strict=True)
    ):
        payments.append(Payment(
            pk=first_id + index, organization_id=organization.pk, company_id=company_id, method="transfer",
            amount=line.amount, received_on=line.booked_on, reference=line.label, payer=line.payer,
            provider="manual", provider_reference=prints[index], status="received", created_at=now,
        ))  # fmt: skip
        allocations.append(Allocation(payment_id=first_id + index, invoice_id=invoice_id, amount=line.amount,
                                      created_at=now))  # fmt: skip
        settled.append((line.amount, "paid", line.booked_on, invoice_id))
    payment_columns, payment_rows = runs.db_rows(Payment, payments, with_pk=True)
    allocation_columns, allocation_rows = runs.db_rows(Allocation, allocations)

    def raw() -> None:
        runs.write_rows(Payment._meta.db_table, payment_columns, payment_rows)
        runs.write_rows(Allocation._meta.db_table, allocation_columns, allocation_rows)
        write_settlements(settled)  # the fastest statement each database has (see its docstring)

    return raw


# --------------------------------------------------------------------------------------------------
# The receivables aging over the ledger's invoices
# --------------------------------------------------------------------------------------------------
@benchmark("payments.aging.1000000")
def payments_aging(ctx: BenchContext) -> Case:
    """The receivables aging (per company, 5 buckets) over the 1,000,000 × scale generated invoices."""
    from comptoir.core.models import StaffMembership
    from comptoir.payments.services.reports import receivables_aging

    organization = ctx.organization(SCALED_TENANT)
    admin = (
        StaffMembership.objects.filter(organization=organization, role__kind="administrator").select_related("user")
        .order_by("id").first()
    )  # fmt: skip
    if admin is None:
        raise BenchError("The bench tenant has no administrator: run with --regenerate.")
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(total_incl_vat - amount_credited - amount_paid), 0) FROM billing_invoice "
            "WHERE organization_id = %s AND kind = 'invoice' AND status = 'issued' "
            "AND total_incl_vat - amount_credited - amount_paid > 0 AND issue_date <= %s",
            [organization.pk, today],
        )
        open_count, open_total = cursor.fetchone()

    def run() -> Any:
        return receivables_aging(user=admin.user, organization=organization, on=today)

    def raw() -> None:  # the same open invoices summed per company and bucket by the database alone
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT company_id, "
                + ", ".join(
                    f"sum(CASE WHEN {condition} THEN total_incl_vat - amount_credited - amount_paid ELSE 0 END)"
                    for condition in ("due_date >= %(on)s", "due_date BETWEEN %(d30)s AND %(d1)s",
                                      "due_date BETWEEN %(d60)s AND %(d31)s", "due_date BETWEEN %(d90)s AND %(d61)s",
                                      "due_date < %(d90)s")
                )
                + " FROM billing_invoice WHERE organization_id = %(org)s AND kind = 'invoice' AND status = 'issued' "
                "AND total_incl_vat - amount_credited - amount_paid > 0 AND issue_date <= %(on)s GROUP BY company_id",
                {"org": organization.pk, "on": today, **{f"d{days}": today - datetime.timedelta(days=days)
                                                          for days in (1, 30, 31, 60, 61, 90)}},
            )  # fmt: skip
            cursor.fetchall()

    def check(result: Any) -> int:
        if result.count != open_count or result.total != open_total:
            raise BenchError(f"payments.aging: {result.count} invoices, {result.total} € (expected {open_count}, "
                             f"{open_total} €)")  # fmt: skip
        return int(result.count)

    return Case(run=run, raw=raw, rows=open_count, check=check, repeat=5)


# --------------------------------------------------------------------------------------------------
# A pain.008 file of 10,000 debits
# --------------------------------------------------------------------------------------------------
@benchmark("sepa.pain008.10000")
def sepa_pain008(ctx: BenchContext) -> Case:
    """The pain.008.001.02 of 10,000 × scale debits (sepaxml, validated against its XSD), from rows read before.
    Raw: the database reading the same number of invoice rows (what a batch reads before building its file)."""
    from comptoir.payments.sepa import Creditor, Debit, build_pain008

    organization = ctx.organization(SCALED_TENANT)
    count = max(10, int(10_000 * ctx.scale))
    rows = list(
        Invoice.objects.filter(organization=organization, kind=Invoice.Kind.INVOICE)
        .order_by("id").values_list("id", "reference", "total_incl_vat")[:count]
    )  # fmt: skip
    creditor = Creditor(name="Comptoir Bench SAS", iban="FR7630006000011234567890189", bic="AGRIFRPP",
                        creditor_id="FR72ZZZ123456")  # fmt: skip
    signed = datetime.date(2025, 1, 1)
    debits = [
        Debit(end_to_end_id=f"PRLV-BENCH-{pk}", amount=amount, sequence_type="RCUR" if index % 5 else "FRST",
              scheme="CORE", debtor_name=f"Client {index}", iban="FR7630006000011234567890189", bic="AGRIFRPP",
              mandate_reference=f"RUM-BENCH-{index:06d}", mandate_signed_on=signed, description=f"Facture {reference}")
        for index, (pk, reference, amount) in enumerate(rows)
    ]  # fmt: skip
    collection = timezone.localdate() + datetime.timedelta(days=7)

    def run() -> bytes:
        return build_pain008(creditor=creditor, debits=debits, collection_date=collection, message_id="BENCH-1")

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, reference, total_incl_vat, company_id, legal_entity_id, due_date FROM billing_invoice "
                "WHERE organization_id = %s AND kind = 'invoice' ORDER BY id LIMIT %s",
                [organization.pk, count],
            )
            cursor.fetchall()

    def check(result: bytes) -> int:
        found = result.count(b"<DrctDbtTxInf>")
        if found != len(debits):
            raise BenchError(f"sepa.pain008: {found} debits in the file, {len(debits)} expected")
        return found

    return Case(run=run, raw=raw, rows=len(debits), check=check, repeat=3)
