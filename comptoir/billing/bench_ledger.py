"""Benchmarks of billing at volume: the invoice list, the ledger verification, the Factur-X PDF, the zip export.

Generator step (order 320), issued documents with a valid numbering and hash chain, written by COPY
(PostgreSQL) or executemany (SQLite) in chunks — never through the services, but so that `verify_ledger`
finds nothing to say:

- `bench`: 1,000,000 × scale issued documents of 4 lines each over the 24 months from December 2024 to
  November 2026, spread over the tenant's legal entities in proportion to their centers; a few hundred
  (300 × scale) are credit notes that cancel an earlier invoice of the same entity;
- `bench-list-10`: 10 issued invoices (the invoice list with 10 rows);
- `bench-billing-small`: a small operator (1 center, 100 clients, an administrator) with 100 invoices a month
  (10 below scale 0.01) from September to November 2026, whose October is exported.

Per legal entity the documents are in issue-date order: `chain_index` 1..n, `previous_hash` linked, the
`record_hash` computed by `comptoir.billing.ledger.record_hash`; numbers run 1..n per (kind, year) in the same
order; the `core.Sequence` rows (`invoice:<entity>` / `credit_note:<entity>` per year, `ledger:<entity>`)
hold the last values, so that the next issue continues the chain.

Benchmarks:

- `list.invoices.10` / `list.invoices.1000000`: GET `billing:invoice_list` as the tenant's administrator
  (10 invoices vs the first page of 1,000,000 × scale); raw = the keyset SELECT of one page;
- `ledger.verify`: `verify_ledger(organization=bench)` over every generated document; raw = the same
  invoice rows and their lines streamed by keyset batches of 2,000;
- `pdf.invoice`: one Factur-X PDF (`invoice_pdf`) per timed run over 100 documents; raw = Typst compiling
  a minimal one-page document;
- `pdf.invoice.throughput`: 200 Factur-X PDFs rendered by a pool of 2 processes (fork, the bench database
  reconnected in each worker): rows/s is invoices per second on 2 cores; raw = the same pool compiling 200
  minimal Typst documents;
- `export.zip.month`: the zip export (CSV + every PDF) of one month of `bench-billing-small` through
  `build_export`. The PDFs not stored yet are rendered and stored before (logged on the progress output), as
  the task that follows every issue does: the runs zip the stored PDFs. Raw = the SELECT of the
  month's documents and reading their stored PDFs.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import io
import itertools
import json
import multiprocessing
import random
import time
import weakref
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

import django
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Max
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from comptoir.bench.generator import BENCH_PASSWORD, SCALED_TENANT, GeneratorContext, _centers, _legal_entities, _staff
from comptoir.bench.harness import BenchContext
from comptoir.bench.registry import BenchError, Case, benchmark, register_generator_step
from comptoir.billing import ledger
from comptoir.billing.models import ExportJob, Invoice, InvoiceLine, VatCategory
from comptoir.core import services as core_services
from comptoir.core.models import Center, LegalEntity, Organization
from comptoir.core.models import Sequence as NumberSequence
from comptoir.crm.models import Company

LEDGER_STEP_ORDER = 320
LIST_TENANT_10 = "bench-list-10"
SMALL_TENANT = "bench-billing-small"
DOCUMENTS = 1_000_000
CREDIT_NOTES = 300
LINES_PER_DOCUMENT = 4
FIRST_DAY = datetime.date(2024, 12, 1)
LAST_DAY = datetime.date(2026, 11, 30)  # 24 months, before the bench's "today" (a run continues the chains)
SMALL_FIRST_DAY = datetime.date(2026, 9, 1)
EXPORT_MONTH = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
SMALL_COMPANIES = 100
CHUNK = 20_000  # documents per COPY / executemany
PAGE_SIZE = 50
RESULTS_MARKER = 'id="list-results"'
PDF_SAMPLE = 100
THROUGHPUT_PDFS = 200
THROUGHPUT_WORKERS = 2
VERIFY_BATCH = 2000
CENT = Decimal("0.01")
PAYMENT_TERMS = "Paiement à 30 jours, virement"


def small_month_count(scale: float) -> int:
    """Invoices a month of `bench-billing-small` (the export of one month)."""
    return 100 if scale >= 0.01 else 10


def pdf_sample_count(scale: float) -> int:
    """Documents of `pdf.invoice` (one per timed run) and of `pdf.invoice.throughput` (10 below scale 0.01)."""
    return PDF_SAMPLE if scale >= 0.01 else 10


def throughput_count(scale: float) -> int:
    return THROUGHPUT_PDFS if scale >= 0.01 else 20


def document_count(scale: float) -> int:
    return max(20, round(DOCUMENTS * scale))


def credit_note_count(scale: float) -> int:
    return max(1, round(CREDIT_NOTES * scale))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------------
# Line sets: what a document bills, priced once per (price set, month) and copied
# --------------------------------------------------------------------------------------------------
OFFICE_PRICES = [Decimal(price) for price in ("450.00", "620.00", "780.50", "910.00", "1250.00", "1480.00",
                                               "1890.00", "2350.00", "2975.50", "3400.00")]  # fmt: skip
SERVICE_PRICES = [Decimal(price) for price in ("35.00", "42.50", "55.00")]
OPTION_PRICES = [("Parking", Decimal("95.00")), ("Casier", Decimal("15.00")), ("Domiciliation", Decimal("49.00")),
                 ("Ligne téléphonique", Decimal("29.90"))]  # fmt: skip
PRINT_PRICES = [Decimal("0.1500"), Decimal("0.0800"), Decimal("0.4500")]


@dataclass
class LineSet:
    """The 4 lines of a document for one month: hash values, rows without the invoice id, totals."""

    hash_lines: list[dict[str, Any]]
    rows: list[tuple[Any, ...]]
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    vat_breakdown: list[dict[str, str]]
    breakdown_json: str = ""
    canonical: dict[str, str] = field(default_factory=dict)  # the lines and totals as ledger.canonical writes them

    def __post_init__(self) -> None:
        self.breakdown_json = json.dumps(self.vat_breakdown)
        convert = dict(zip(ledger.INVOICE_FIELDS, ledger.INVOICE_CONVERTERS, strict=True))
        lines = [
            [converter(line[name]) for converter, name in zip(ledger.LINE_CONVERTERS, ledger.LINE_FIELDS, strict=True)]
            for line in self.hash_lines
        ]
        self.canonical = {"lines": _json(lines)} | {
            name: _json(convert[name](getattr(self, name)))
            for name in ("total_excl_vat", "total_vat", "total_incl_vat")
        }


def _converted(name: str, value: Any) -> Any:
    """A document field as `ledger.canonical` converts it before encoding (a seller or buyer: its own JSON)."""
    return ledger.INVOICE_CONVERTERS[ledger.INVOICE_FIELDS.index(name)](value)


def _json(value: Any) -> str:
    """JSON as `ledger.canonical` writes it."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


SELF_CHECK_EVERY = 5000  # also the first 50 documents of every chain


def _month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following - datetime.timedelta(days=1)


def _line_columns() -> list[str]:
    columns = [f.attname for f in InvoiceLine._meta.concrete_fields if not f.primary_key]
    expected = {"invoice_id", "position", "product_id", "description", "quantity", "unit", "unit_price", "discount",
                "vat_rate", "vat_category", "vat_exemption_reason", "accounting_code", "amount_excl_vat",
                "period_start", "period_end", "source", "contract_id", "contract_line_id", "source_id"}  # fmt: skip
    if set(columns) != expected:
        raise BenchError("billing_invoiceline's columns changed: update comptoir/billing/bench_ledger.py")
    return columns


def _line_set(variant: int, month: datetime.date, line_columns: list[str], source: str) -> LineSet:
    start, end = _month_bounds(month)
    period = f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"
    office = OFFICE_PRICES[variant % len(OFFICE_PRICES)]
    service = SERVICE_PRICES[variant // len(OFFICE_PRICES) % len(SERVICE_PRICES)]
    option_name, option_price = OPTION_PRICES[variant % len(OPTION_PRICES)]
    prints = PRINT_PRICES[variant % len(PRINT_PRICES)]
    pages = Decimal(37 + 11 * (variant % 17))
    specs = [
        (f"Bureau privatif — {period}", Decimal("1.000"), "month", office, InvoiceLine.Source.CONTRACT_LINE, start, end),
        (f"Services bureau — {period}", Decimal("2.000"), "month", service, InvoiceLine.Source.CONTRACT_LINE,
         start, end),
        (f"Option {option_name} — {period}", Decimal("1.000"), "month", option_price, InvoiceLine.Source.OPTION,
         start, end),
        (f"Impressions — {start:%m/%Y}", pages.quantize(Decimal("0.001")), "unit", prints,
         InvoiceLine.Source.CONSUMPTION, start, end),
    ]  # fmt: skip
    hash_lines, rows = [], []
    total = Decimal("0.00")
    for position, (description, quantity, unit, unit_price, line_source, period_start, period_end) in enumerate(
        specs, start=1
    ):
        unit_price = unit_price.quantize(Decimal("0.0001"))
        amount = _cents(quantity * unit_price)
        total += amount
        values = {
            "position": position,
            "product_id": None,
            "description": description,
            "quantity": quantity,
            "unit": unit,
            "unit_price": unit_price,
            "discount": Decimal("0.00"),
            "vat_rate": "20.00",
            "vat_category": VatCategory.STANDARD.value,
            "vat_exemption_reason": "",
            "accounting_code": "706000",
            "amount_excl_vat": amount,
            "period_start": period_start,
            "period_end": period_end,
            "source": source or line_source,
            "contract_id": None,
            "contract_line_id": None,
            "source_id": None,
        }
        hash_lines.append({name: values[name] for name in ledger.LINE_FIELDS})
        rows.append(tuple(values[column] for column in line_columns[1:]))  # invoice_id is the first column
    total = _cents(total)
    vat = _cents(total * Decimal(20) / 100)
    breakdown = [{"category": "S", "rate": "20.00", "base": f"{total:.2f}", "vat": f"{vat:.2f}",
                  "exemption_reason": ""}]  # fmt: skip
    return LineSet(hash_lines, rows, total, vat, total + vat, breakdown)


# --------------------------------------------------------------------------------------------------
# Writing rows: COPY on PostgreSQL, executemany on SQLite
# --------------------------------------------------------------------------------------------------
class Writer:
    """Buffers invoice and line rows and writes them in chunks."""

    def __init__(self, invoice_columns: list[str], line_columns: list[str]) -> None:
        self.invoice_columns = invoice_columns
        self.line_columns = line_columns
        self.invoices: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.written = 0
        self.timings = {"invoices": 0.0, "lines": 0.0, "foreign keys": 0.0}
        self.postgresql = connection.vendor == "postgresql"

    def add(self, invoice: tuple[Any, ...], lines: list[tuple[Any, ...]]) -> None:
        self.invoices.append(invoice)
        self.lines.extend(lines)
        if len(self.invoices) >= CHUNK:
            self.flush()

    def _write(self, cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        quote = connection.ops.quote_name
        names = ", ".join(quote(column) for column in columns)
        if self.postgresql:
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)

    def flush(self) -> None:
        if not self.invoices:
            return
        with connection.cursor() as cursor:
            started = time.perf_counter()
            self._write(cursor, Invoice._meta.db_table, self.invoice_columns, self.invoices)
            self.timings["invoices"] += time.perf_counter() - started
            started = time.perf_counter()
            self._write(cursor, InvoiceLine._meta.db_table, self.line_columns, self.lines)
            self.timings["lines"] += time.perf_counter() - started
            if self.postgresql:  # check the deferred foreign keys of this chunk now: no queue of pending events
                started = time.perf_counter()
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                self.timings["foreign keys"] += time.perf_counter() - started
        self.written += len(self.invoices)
        self.invoices, self.lines = [], []

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


BULK_LOAD = 50_000  # from this many documents, PostgreSQL's secondary indexes are dropped and built after the load


def _drop_indexes() -> list[str]:
    """Drop the secondary indexes of the invoices and lines (PostgreSQL); returns their definitions."""
    tables = [Invoice._meta.db_table, InvoiceLine._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%s) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


def _create_indexes(definitions: list[str]) -> None:
    if not definitions:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)


# --------------------------------------------------------------------------------------------------
# Issued documents of a tenant
# --------------------------------------------------------------------------------------------------
@dataclass
class EntityPlan:
    entity: LegalEntity
    centers: list[Center]
    documents: int
    credit_notes: int
    seller: dict[str, Any] = field(default_factory=dict)


def _plans(organization: Organization, count: int, credit_notes: int) -> list[EntityPlan]:
    centers = list(Center.objects.filter(organization=organization).select_related("legal_entity").order_by("id"))
    if not centers:
        raise BenchError(f"The bench tenant {organization.slug!r} has no centers.")
    by_entity: dict[int, list[Center]] = {}
    for center in centers:
        by_entity.setdefault(center.legal_entity_id, []).append(center)
    plans = [EntityPlan(group[0].legal_entity, group, 0, 0) for _id, group in sorted(by_entity.items())]
    # documents in proportion to the centers, the rounding left to the first entity
    for plan in plans:
        plan.documents = count * len(plan.centers) // len(centers)
        plan.credit_notes = credit_notes * len(plan.centers) // len(centers)
    plans[0].documents += count - sum(plan.documents for plan in plans)
    plans[0].credit_notes += credit_notes - sum(plan.credit_notes for plan in plans)
    for plan in plans:
        plan.credit_notes = min(plan.credit_notes, max(0, (plan.documents - 1) // 2))
    return [plan for plan in plans if plan.documents]


def _db_datetime(value: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if connection.vendor == "sqlite" else value


@dataclass
class Context:
    """What every entity's chain shares: the tenant's companies and buyers, the line sets, the row template."""

    organization: Organization
    companies: list[Company]
    buyers: list[dict[str, Any]]
    buyer_json: list[str]
    invoice_columns: list[str]
    template: dict[str, Any]
    invoice_sets: dict[tuple[int, datetime.date], LineSet]
    credit_sets: dict[tuple[int, datetime.date], LineSet]
    first_day: datetime.date
    days: int
    stamps: dict[datetime.date, Any] = field(default_factory=dict)
    buyer_canonical: list[str] = field(default_factory=list)
    iso_dates: dict[datetime.date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.buyer_canonical = [_json(_converted("buyer", buyer)) for buyer in self.buyers]

    def dates(self, day: datetime.date) -> str:
        text = self.iso_dates.get(day)
        if text is None:
            text = self.iso_dates[day] = f'"{day.isoformat()}"'
        return text

    def stamp(self, day: datetime.date) -> Any:
        if day not in self.stamps:
            self.stamps[day] = _db_datetime(datetime.datetime.combine(day, datetime.time(6), tzinfo=datetime.UTC))
        return self.stamps[day]


class Chain:
    """One legal entity's documents in issue order: numbers per (kind, year), chain index, linked hashes."""

    def __init__(self, ctx: Context, plan: EntityPlan, rng: random.Random, first_id: int) -> None:
        from comptoir.billing.services.invoices import billing_profile, seller_snapshot

        self.ctx, self.plan = ctx, plan
        self.profile = billing_profile(plan.entity)
        self.seller = json.loads(json.dumps(seller_snapshot(plan.entity, self.profile)))
        self.seller_json = json.dumps(self.seller, ensure_ascii=False)
        self.constant = {
            "legal_entity_id": str(plan.entity.pk), "seller": _json(_converted("seller", self.seller)), "currency": '"EUR"',
            "buyer_reference": '""', "purchase_order": '""',
        }  # fmt: skip
        self.invoices = plan.documents - plan.credit_notes
        self.invoice_base, self.credit_base = first_id, first_id + self.invoices
        # the choices of every invoice, drawn first: a credit note copies its invoice's
        variants = len({variant for variant, _month in ctx.invoice_sets})
        self.company_of = [rng.randrange(len(ctx.companies)) for _ in range(self.invoices)]
        self.center_of = [rng.randrange(len(plan.centers)) for _ in range(self.invoices)]
        self.variant_of = [rng.randrange(variants) for _ in range(self.invoices)]
        credited = rng.sample(range(max(1, self.invoices - 1)), plan.credit_notes) if plan.credit_notes else []
        self.credits_before: dict[int, list[tuple[int, int]]] = {}  # invoice position -> [(credit note n, invoice)]
        for number, position in enumerate(sorted(credited)):
            slot = min(self.invoices - 1, position + rng.randint(1, max(1, self.invoices // 50)))
            self.credits_before.setdefault(slot, []).append((number, position))
        self.cancelled = set(credited)
        self.references: dict[int, str] = {}
        self.counters: dict[tuple[str, int], int] = {}
        self.previous = ""
        self.chain_index = 0

    def day_of(self, position: int) -> datetime.date:
        return self.ctx.first_day + datetime.timedelta(days=position * self.ctx.days // self.invoices)

    def documents(self) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
        for position in range(self.invoices):
            issue_date = self.day_of(position)
            for number, credited in self.credits_before.get(position, ()):
                yield self.emit(self.credit_base + number, position, issue_date, credited)
            yield self.emit(self.invoice_base + position, position, issue_date, None)

    def emit(
        self, doc_id: int, position: int, issue_date: datetime.date, credited: int | None
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        from comptoir.billing.services.invoices import reference_for

        ctx = self.ctx
        is_credit = credited is not None
        origin = credited if credited is not None else position
        kind = Invoice.Kind.CREDIT_NOTE if is_credit else Invoice.Kind.INVOICE
        company = self.company_of[origin]
        period_start, period_end = _month_bounds(self.day_of(origin))
        line_set = (ctx.credit_sets if is_credit else ctx.invoice_sets)[(self.variant_of[origin], period_start)]
        year = issue_date.year
        number = self.counters[(kind, year)] = self.counters.get((kind, year), 0) + 1
        reference = reference_for(self.profile, kind, number, year)
        if not is_credit and position in self.cancelled:
            self.references[position] = reference
        self.chain_index += 1
        dates = ctx.dates
        due_date = issue_date if is_credit else issue_date + datetime.timedelta(days=30)
        credited_id = self.invoice_base + origin if is_credit else None
        company_id = ctx.companies[company].pk
        pieces = {
            "buyer": ctx.buyer_canonical[company],
            "chain_index": str(self.chain_index),
            "company_id": str(company_id),
            "credited_invoice_id": "null" if credited_id is None else str(credited_id),
            "due_date": dates(due_date),
            "issue_date": dates(issue_date),
            "kind": _json(kind),
            "number": str(number),
            "period_end": dates(period_end),
            "period_start": dates(period_start),
            "previous_hash": _json(self.previous),
            "reference": _json(reference),
        }
        pieces.update(self.constant)
        pieces.update(line_set.canonical)
        body = ",".join(pieces[name] for name in ledger.INVOICE_FIELDS)
        canonical = f"[{body},{line_set.canonical['lines']}]".encode()
        values = {
            "kind": kind, "legal_entity_id": self.plan.entity.pk, "company_id": company_id, "reference": reference,
            "number": number, "issue_date": issue_date, "due_date": due_date, "period_start": period_start,
            "period_end": period_end, "total_excl_vat": line_set.total_excl_vat, "total_vat": line_set.total_vat,
            "total_incl_vat": line_set.total_incl_vat, "credited_invoice_id": credited_id,
            "chain_index": self.chain_index, "previous_hash": self.previous,
        }  # fmt: skip
        if self.chain_index <= 50 or self.chain_index % SELF_CHECK_EVERY == 0:
            expected = ledger.canonical(
                values | {"seller": self.seller, "buyer": ctx.buyers[company], "currency": "EUR",
                          "buyer_reference": "", "purchase_order": ""},
                line_set.hash_lines,
            )  # fmt: skip
            if canonical != expected:
                at = next((n for n, (a, b) in enumerate(zip(canonical, expected, strict=False)) if a != b), 0)
                raise BenchError(
                    "The generated documents' hash content differs from ledger.canonical (update "
                    f"comptoir/billing/bench_ledger.py): {canonical[at - 40 : at + 40]!r} vs {expected[at - 40 : at + 40]!r}"
                )
        record = hashlib.sha256(canonical).hexdigest()
        self.previous = record
        stamp = ctx.stamp(issue_date)
        row = dict(ctx.template)
        row.update(values)
        row.update(
            id=doc_id,
            status=Invoice.Status.CANCELLED if not is_credit and position in self.cancelled else Invoice.Status.ISSUED,
            origin=Invoice.Origin.CREDIT if is_credit else Invoice.Origin.MANUAL,
            center_id=self.plan.centers[self.center_of[origin]].pk,
            seller=self.seller_json,
            buyer=ctx.buyer_json[company],
            vat_breakdown=line_set.breakdown_json,
            payment_terms="" if is_credit else PAYMENT_TERMS,
            notes=f"Avoir sur la facture {self.references[origin]}" if is_credit else "",
            record_hash=record,
            created_at=stamp,
            issued_at=stamp,
        )
        return tuple(row[column] for column in ctx.invoice_columns), [(doc_id, *line) for line in line_set.rows]

    def sequences(self) -> list[NumberSequence]:
        organization, entity_id = self.ctx.organization, self.plan.entity.pk
        rows = [
            NumberSequence(organization=organization, series=f"{kind}:{entity_id}", scope=str(year), last_value=last)
            for (kind, year), last in sorted(self.counters.items())
        ]
        rows.append(NumberSequence(organization=organization, series=ledger.ledger_series(entity_id),
                                   last_value=self.chain_index))  # fmt: skip
        return rows


def issue_documents(
    gen: GeneratorContext,
    organization: Organization,
    *,
    count: int,
    credit_notes: int,
    first_day: datetime.date,
    last_day: datetime.date,
    purpose: str,
) -> int:
    """`count` issued documents (of which `credit_notes` credit notes) of `organization`, chained per entity."""
    from comptoir.billing.services.invoices import buyer_snapshot_from

    started = time.perf_counter()
    rng = gen.rng(purpose)
    companies = list(Company.objects.filter(organization=organization).order_by("id"))
    if not companies:
        raise BenchError(f"The bench tenant {organization.slug!r} has no companies (the CRM step did not run).")
    buyers = [json.loads(json.dumps(buyer_snapshot_from(company, None, None))) for company in companies]
    line_columns = _line_columns()
    invoice_columns = ["id"] + [f.attname for f in Invoice._meta.concrete_fields if not f.primary_key]
    template = {f.attname: f.get_default() for f in Invoice._meta.concrete_fields if not f.primary_key}
    template.update(organization_id=organization.pk, currency="EUR", payment_method="transfer", pdf="",
                    pdf_sha256="", notes="", buyer_reference="", purchase_order="", billing_run_id=None,
                    contract_id=None, contact_id=None, created_by_id=None)  # fmt: skip
    days = (last_day - first_day).days + 1
    months = sorted({_month_bounds(first_day + datetime.timedelta(days=day))[0] for day in range(days)})
    variants = range(40)
    ctx = Context(
        organization=organization, companies=companies, buyers=buyers,
        buyer_json=[json.dumps(buyer, ensure_ascii=False) for buyer in buyers],
        invoice_columns=invoice_columns, template=template,
        invoice_sets={(v, m): _line_set(v, m, line_columns, "") for v in variants for m in months},
        credit_sets={(v, m): _line_set(v, m, line_columns, InvoiceLine.Source.CREDIT) for v in variants for m in months},
        first_day=first_day, days=days,
    )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL comptoir.issuing = 'on'")  # lines of issued documents (migration 0002)
    bulk = connection.vendor == "postgresql" and count >= BULK_LOAD
    indexes = _drop_indexes() if bulk else []
    next_id = (Invoice.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    writer = Writer(invoice_columns, line_columns)
    sequences: list[NumberSequence] = []
    for plan in _plans(organization, count, credit_notes):
        chain = Chain(ctx, plan, rng, next_id)
        next_id += plan.documents
        for invoice, lines in chain.documents():
            writer.add(invoice, lines)
        writer.flush()
        sequences.extend(chain.sequences())
    NumberSequence.objects.bulk_create(sequences)
    index_started = time.perf_counter()
    _create_indexes(indexes)
    index_seconds = time.perf_counter() - index_started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL comptoir.issuing = 'off'")
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('billing_invoice', 'id'), (SELECT max(id) FROM billing_invoice))"
            )
    elapsed = time.perf_counter() - started
    gen.log(
        f"  billing_invoice: {writer.written:,} issued documents ({writer.written * LINES_PER_DOCUMENT:,} lines) "
        f"of {organization.slug} in {elapsed:.1f} s ({writer.written / max(elapsed, 1e-9):,.0f}/s; "
        f"writing {writer.seconds:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in writer.timings.items())}), "
        f"indexes {index_seconds:.1f} s, hashing and rows {elapsed - writer.seconds - index_seconds:.1f} s)"
    )
    return writer.written


def _small_tenant(gen: GeneratorContext) -> Organization:
    from comptoir.crm.bench import _companies_and_contacts

    organization = core_services.create_organization(name=f"Bench {SMALL_TENANT}", slug=SMALL_TENANT)
    gen.tenants[SMALL_TENANT] = organization
    rng = gen.rng(f"billing:{SMALL_TENANT}")
    entities = _legal_entities(gen, organization, count=1)
    centers = _centers(gen, rng, organization, entities, count=1)
    _staff(gen, rng, organization, centers, count=1, admin_password=make_password(BENCH_PASSWORD))
    _companies_and_contacts(gen, organization.pk, companies=SMALL_COMPANIES, contacts=0, purpose="billing:small")
    return organization


def ledger_data(gen: GeneratorContext) -> None:
    tenants = {slug: gen.tenants.get(slug) or Organization.objects.filter(slug=slug).first()
               for slug in (SCALED_TENANT, LIST_TENANT_10)}  # fmt: skip
    if tenants[SCALED_TENANT] is None or tenants[LIST_TENANT_10] is None:
        return
    issue_documents(
        gen, tenants[SCALED_TENANT], count=document_count(gen.scale), credit_notes=credit_note_count(gen.scale),
        first_day=FIRST_DAY, last_day=LAST_DAY, purpose="billing:ledger",
    )  # fmt: skip
    issue_documents(gen, tenants[LIST_TENANT_10], count=10, credit_notes=0, first_day=FIRST_DAY, last_day=LAST_DAY,
                    purpose="billing:list-10")  # fmt: skip
    small = _small_tenant(gen)
    issue_documents(gen, small, count=3 * small_month_count(gen.scale), credit_notes=0, first_day=SMALL_FIRST_DAY,
                    last_day=LAST_DAY, purpose="billing:small")  # fmt: skip


register_generator_step(LEDGER_STEP_ORDER, ledger_data)


# --------------------------------------------------------------------------------------------------
# list.invoices.*
# --------------------------------------------------------------------------------------------------
def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _page_sql() -> str:
    return (
        f"SELECT i.id, i.reference, i.kind, i.status, i.issue_date, i.due_date, i.total_excl_vat, i.total_incl_vat, "
        f"co.id, co.name, ce.name, le.name, cr.reference FROM {_q(Invoice._meta.db_table)} i "
        f"JOIN {_q(Company._meta.db_table)} co ON co.id = i.company_id "
        f"JOIN {_q(Center._meta.db_table)} ce ON ce.id = i.center_id "
        f"JOIN {_q(LegalEntity._meta.db_table)} le ON le.id = i.legal_entity_id "
        f"LEFT JOIN {_q(Invoice._meta.db_table)} cr ON cr.id = i.credited_invoice_id "
        "WHERE i.organization_id = %s ORDER BY i.issue_date DESC NULLS FIRST, i.id DESC LIMIT %s"
    )


def _invoice_list_case(ctx: BenchContext, slug: str) -> Case:
    try:
        url = reverse("billing:invoice_list")
    except NoReverseMatch as exc:
        raise BenchError("the page 'billing:invoice_list' does not exist") from exc
    organization = ctx.organization(slug)
    expected = list(
        Invoice.objects.filter(organization=organization)
        .order_by("-issue_date", "-id")
        .values_list("reference", flat=True)[:PAGE_SIZE]
    )
    if not expected:
        raise BenchError(f"The bench tenant {slug!r} has no invoices: run with --regenerate.")
    client = ctx.staff_client(slug)
    sql = _page_sql()

    def run() -> HttpResponse:
        return client.get(url)

    def check(response: HttpResponse) -> int:
        if response.status_code != 200:
            raise BenchError(f"GET {url} as the administrator of {slug} answered {response.status_code}")
        body = response.content.decode()
        start = body.find(RESULTS_MARKER)
        body = body[start:] if start >= 0 else body
        shown = sum(1 for reference in expected if html.escape(reference) in body)
        if shown != len(expected):
            raise BenchError(f"GET {url} shows {shown} of the {len(expected)} newest documents of {slug}")
        return shown

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, [organization.pk, len(expected)])
            return len(cursor.fetchall())

    return Case(run=run, raw=raw, rows=len(expected), check=check, repeat=20)


@benchmark("list.invoices.10")
def list_invoices_10(ctx: BenchContext) -> Case:
    """Invoice list page of an operator with 10 issued invoices."""
    return _invoice_list_case(ctx, LIST_TENANT_10)


@benchmark("list.invoices.1000000", same_queries_as="list.invoices.10")
def list_invoices_1000000(ctx: BenchContext) -> Case:
    """Invoice list page (first page, newest first) of an operator with 1,000,000 × scale documents."""
    return _invoice_list_case(ctx, SCALED_TENANT)


# --------------------------------------------------------------------------------------------------
# ledger.verify
# --------------------------------------------------------------------------------------------------
@benchmark("ledger.verify")
def ledger_verify(ctx: BenchContext) -> Case:
    """verify_ledger over every issued document of the bench tenant (hashes, links, numbers)."""
    organization = ctx.organization(SCALED_TENANT)
    documents = Invoice.objects.filter(organization=organization, chain_index__isnull=False).count()
    if not documents:
        raise BenchError("The bench tenant has no issued documents: run with --regenerate.")
    entity_ids = list(LegalEntity.objects.filter(organization=organization).order_by("pk").values_list("pk", flat=True))
    invoice_table, line_table = _q(Invoice._meta.db_table), _q(InvoiceLine._meta.db_table)
    invoice_sql = (
        f"SELECT id, {', '.join(_q(name) for name in ledger.INVOICE_FIELDS)}, record_hash FROM {invoice_table} "
        "WHERE legal_entity_id = %s AND chain_index > %s ORDER BY chain_index LIMIT %s"
    )
    line_sql = (
        f"SELECT invoice_id, {', '.join(_q(name) for name in ledger.LINE_FIELDS)} FROM {line_table} "
        "WHERE invoice_id IN ({marks}) ORDER BY invoice_id, position, id"
    )
    chain_column = 1 + ledger.INVOICE_FIELDS.index("chain_index")

    def run() -> tuple[int, list[ledger.Problem]]:
        return ledger.verify_ledger(organization=organization)

    def raw() -> int:
        rows_read = 0
        with connection.cursor() as cursor:
            for entity_id in entity_ids:
                last = 0
                while True:
                    cursor.execute(invoice_sql, [entity_id, last, VERIFY_BATCH])
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    ids = [row[0] for row in rows]
                    cursor.execute(line_sql.format(marks=", ".join(["%s"] * len(ids))), ids)
                    cursor.fetchall()
                    rows_read += len(rows)
                    last = rows[-1][chain_column]
        return rows_read

    def check(result: tuple[int, list[ledger.Problem]]) -> int:
        checked, problems = result
        if problems:
            raise BenchError(f"verify_ledger found {len(problems)} problem(s), first: {problems[0]}")
        if checked != documents:
            raise BenchError(f"verify_ledger checked {checked} documents instead of {documents}")
        return checked

    return Case(run=run, raw=raw, rows=documents, check=check, repeat=3)


# --------------------------------------------------------------------------------------------------
# pdf.invoice, pdf.invoice.throughput
# --------------------------------------------------------------------------------------------------
def _sample_ids(organization: Organization, count: int) -> list[int]:
    """`count` documents spread along the first entity's chain, with a credit note."""
    entity_id = LegalEntity.objects.filter(organization=organization).order_by("pk").values_list("pk", flat=True)[0]
    issued = Invoice.objects.filter(legal_entity_id=entity_id, chain_index__isnull=False)
    top = issued.aggregate(top=Max("chain_index"))["top"] or 0
    step = max(1, top // count)
    indexes = list(range(1, top + 1, step))[:count]
    ids = list(issued.filter(chain_index__in=indexes).order_by("chain_index").values_list("pk", flat=True))
    credit = issued.filter(kind=Invoice.Kind.CREDIT_NOTE).order_by("chain_index").values_list("pk", flat=True).first()
    if credit is not None and credit not in ids:
        ids[-1:] = [credit]
    if not ids:
        raise BenchError("The bench tenant has no issued documents: run with --regenerate.")
    return ids


def _check_pdf(pdf: bytes) -> int:
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise BenchError("pdf.invoice: not a PDF")
    import facturx

    _name, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    if not xml or b"CrossIndustryInvoice" not in xml:
        raise BenchError("pdf.invoice: no Factur-X XML embedded")
    return 1


@benchmark("pdf.invoice")
def pdf_invoice(ctx: BenchContext) -> Case:
    """One Factur-X PDF (PDF/A-3b + CII) per run, over 100 issued documents; median per document."""
    from comptoir.billing.documents.pdf import invoice_pdf
    from comptoir.sales.bench import _raw_typst

    ids = _sample_ids(ctx.organization(SCALED_TENANT), pdf_sample_count(ctx.scale))
    invoices = list(Invoice.objects.filter(pk__in=ids).order_by("pk"))
    cycle = itertools.cycle(invoices)

    def run() -> bytes:
        return invoice_pdf(next(cycle))

    return Case(run=run, raw=_raw_typst(), rows=1, check=_check_pdf, repeat=len(invoices))


_worker_database: list[Any] = []  # in a worker: the context that points Django at the bench database


def _use_bench_database(database: dict[str, Any]) -> None:
    """In a spawned worker (Django set up by the pool's initializer): use the bench database, once."""
    if not _worker_database:
        from comptoir.bench.harness import use_database

        context = use_database(database)
        context.__enter__()
        _worker_database.append(context)


def _render_chunk(database: dict[str, Any], ids: list[int]) -> int:
    """In a worker process: render the Factur-X PDFs of `ids` (not stored)."""
    from comptoir.billing.documents.pdf import invoice_pdf

    _use_bench_database(database)
    rendered = 0
    for invoice in Invoice.objects.filter(pk__in=ids):
        if invoice_pdf(invoice).startswith(b"%PDF"):
            rendered += 1
    return rendered


def _compile_minimal(_database: dict[str, Any], count: int) -> int:
    from comptoir.sales.bench import _raw_typst

    compile_once = _raw_typst()
    for _ in range(count):
        compile_once()
    return count


def _warm_up(database: dict[str, Any], _item: int) -> int:
    from comptoir.billing.documents import pdf  # noqa: F401 - imports Typst and factur-x before the timed runs

    _use_bench_database(database)
    connection.ensure_connection()
    return 0


class Pool:
    """2 spawned worker processes (Typst's threads forbid forking the bench), started once and kept for every
    run, as long-running task workers are; each sets Django up (`DJANGO_SETTINGS_MODULE` is inherited) and
    opens the bench database."""

    def __init__(self) -> None:
        self.executor: ProcessPoolExecutor | None = None
        self.database = dict(connection.settings_dict)

    def map(self, fn: Callable[[dict[str, Any], Any], int], items: list[Any]) -> int:
        if self.executor is None:
            self.executor = ProcessPoolExecutor(
                THROUGHPUT_WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=django.setup
            )
            weakref.finalize(self, self.executor.shutdown, wait=True, cancel_futures=True)
            list(self.executor.map(partial(_warm_up, self.database), range(THROUGHPUT_WORKERS * 2)))
        return sum(self.executor.map(partial(fn, self.database), items))


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@benchmark("pdf.invoice.throughput")
def pdf_invoice_throughput(ctx: BenchContext) -> Case:
    """200 Factur-X PDFs by 2 worker processes: rows/s is invoices per second on 2 cores."""
    ids = _sample_ids(ctx.organization(SCALED_TENANT), throughput_count(ctx.scale))
    chunks = list(_chunks(ids, 5))
    pool = Pool()

    def run() -> int:
        return pool.map(_render_chunk, chunks)

    def raw() -> int:
        return pool.map(_compile_minimal, [5] * len(chunks))

    def check(rendered: int) -> int:
        if rendered != len(ids):
            raise BenchError(f"pdf.invoice.throughput rendered {rendered} PDFs instead of {len(ids)}")
        return rendered

    return Case(run=run, raw=raw, rows=len(ids), check=check, repeat=3)


# --------------------------------------------------------------------------------------------------
# export.zip.month
# --------------------------------------------------------------------------------------------------
@benchmark("export.zip.month")
def export_zip_month(ctx: BenchContext) -> Case:
    """The zip export (CSV + the stored PDFs) of one month of a small operator (100 invoices)."""
    from comptoir.billing.documents.render import ensure_pdf
    from comptoir.billing.services.exports import build_export

    organization = ctx.organization(SMALL_TENANT)
    admin = ctx.administrator(SMALL_TENANT)
    first, last = EXPORT_MONTH
    month = Invoice.objects.filter(organization=organization, issue_date__gte=first, issue_date__lte=last)
    expected = month.exclude(status=Invoice.Status.DRAFT).count()
    if not expected:
        raise BenchError(f"The bench tenant {SMALL_TENANT!r} has no invoices in {first:%m/%Y}: run with --regenerate.")
    parameters = {"date_from": first.isoformat(), "date_to": last.isoformat(), "language": "fr"}
    # the PDFs are rendered and stored after issue (render_documents_task): do it once for the month's documents
    # that have none yet, so that every run, the counted one included, zips stored PDFs
    started, rendered = time.perf_counter(), 0
    for invoice in month.filter(pdf="").exclude(status=Invoice.Status.DRAFT).order_by("pk"):
        ensure_pdf(invoice)
        rendered += 1
    if rendered:
        ctx.log(f"export.zip.month: {rendered} PDFs rendered and stored first in {time.perf_counter() - started:.2f} s")
    state: dict[str, Any] = {"job": None}

    def forget_previous() -> None:
        job = state["job"]
        if job is not None:
            if job.file:
                job.file.delete(save=False)
            job.delete()
            state["job"] = None

    def run() -> ExportJob:
        forget_previous()
        job = ExportJob.objects.create(organization=organization, kind=ExportJob.Kind.ZIP, parameters=parameters,
                                       created_by=admin, total=expected)  # fmt: skip
        job = build_export(job_id=job.pk)
        state["job"] = job
        return job

    def raw() -> int:
        pdf_names = list(month.exclude(status=Invoice.Status.DRAFT).order_by("issue_date", "chain_index")
                         .values_list("reference", "pdf"))  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT i.reference, i.kind, i.issue_date, i.due_date, co.name, ce.name, i.total_excl_vat, "
                f"i.total_vat, i.total_incl_vat, i.status, i.pdf FROM {_q(Invoice._meta.db_table)} i "
                f"JOIN {_q(Company._meta.db_table)} co ON co.id = i.company_id "
                f"JOIN {_q(Center._meta.db_table)} ce ON ce.id = i.center_id "
                "WHERE i.organization_id = %s AND i.issue_date BETWEEN %s AND %s AND i.status <> 'draft' "
                "ORDER BY i.issue_date, i.legal_entity_id, i.chain_index, i.id",
                [organization.pk, first, last],
            )
            rows = cursor.fetchall()
        storage = Invoice._meta.get_field("pdf").storage
        for _reference, name in pdf_names:
            if name:
                with storage.open(name, "rb") as handle:
                    handle.read()
        return len(rows)

    def check(job: ExportJob) -> int:
        if job.status != ExportJob.Status.DONE or not job.file:
            raise BenchError(f"export.zip.month: the export ended {job.status}: {job.error}")
        with job.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
            names = archive.namelist()
            pdfs = [name for name in names if name.endswith(".pdf")]
            csv_rows = archive.read("factures.csv").decode("utf-8-sig").strip().splitlines()
        if len(pdfs) != expected or len(csv_rows) != expected + 1:
            raise BenchError(f"export.zip.month: {len(pdfs)} PDFs and {len(csv_rows) - 1} CSV rows, not {expected}")
        return expected

    return Case(run=run, raw=raw, rows=expected, check=check, repeat=5)
