"""The monthly billing run (frontmanager §7; DESIGN.md invariants 3, 4, 7, 10).

For a period (a month), every running contract not yet billed for it gets its recurring lines of the month,
billed in advance and prorated (`contract_period_lines`), the regularisation of the previous month when an
amendment changed what was due after that month was billed, and its company's unbilled consumptions of the
months before. Companies that group their invoices get one invoice per issuing legal entity, the others one
per contract. `preview_run` shows every invoice the run would create without writing anything; `start_run`
checks, journals and enqueues the run; `execute_run` does the work.

Invariant 7: a contract is billed at most once per period (`BilledPeriod`'s unique key, written in the same
transaction as its invoice), and a run that stopped half-way (killed, crashed) resumes where it stopped: the
work is done in chunks of whole companies, each chunk one transaction, so a chunk is billed completely or not
at all; the next `start_run` of the period picks up the contracts that have no `BilledPeriod` yet.

Performance (docs/bench.md, `billing.run.20000`): a chunk reads its contracts, lines, companies, customer
profiles, consumptions and the previous month's amounts in a few queries, builds the invoices in memory,
numbers and chains them with one `finalize_documents` call per legal entity (the sequence locks are held for
the chunk only, so a staff member issuing an invoice by hand waits at most the time of one chunk), and writes
each table with one statement (COPY on PostgreSQL, `executemany` on SQLite) with ids reserved beforehand. The
number of statements of a chunk does not depend on its number of contracts. PDFs are rendered on demand.

Testing aid: the environment variable COMPTOIR_RUN_CHUNK_PAUSE (seconds) makes `execute_run` sleep after each
committed chunk, so that a test can kill the process between two chunks.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, partial
from operator import attrgetter
from typing import Any, cast

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, When
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from comptoir.billing.models import (
    BilledPeriod,
    BillingProfile,
    BillingRun,
    Consumption,
    CustomerBillingProfile,
    Invoice,
    InvoiceLine,
    VatCategory,
)
from comptoir.billing.services.invoices import (
    BillingError,
    billing_profile,
    buyer_snapshot_from,
    consumption_line,
    finalize_documents,
    issue_regularisation_credit,
    payment_terms_text,
    period_label,
    seller_snapshot,
    series_for,
    vat_category_for,
)
from comptoir.billing.totals import compute_totals
from comptoir.core import journal, numbering, rights
from comptoir.core.errors import Conflict, DomainError, ValidationFailed
from comptoir.core.models import Center, LegalEntity, Organization, User
from comptoir.core.proration import month_bounds, outside, previous_month, prorate
from comptoir.crm.models import Company
from comptoir.sales.models import Contract, ContractLine, PricedLine
from comptoir.sales.selectors.contracts import pause_spans

ZERO = Decimal("0.00")
ONE = Decimal("1.000")
OPTION_KIND = PricedLine.Kind.OPTION.value
STANDARD = VatCategory.STANDARD.value
OPTION_SOURCE = InvoiceLine.Source.OPTION.value
CONTRACT_LINE_SOURCE = InvoiceLine.Source.CONTRACT_LINE.value
DEFAULT_CHUNK_SIZE = 2000
ALIVE = datetime.timedelta(minutes=2)  # a run whose heartbeat is older than this was killed: it can be resumed
CHUNK_PAUSE_ENV = "COMPTOIR_RUN_CHUNK_PAUSE"

# Called after each committed chunk with (run, chunk index from 0); tests replace it to stop a run half-way.
after_chunk: Callable[[BillingRun, int], None] = lambda run, index: None  # noqa: E731


# --------------------------------------------------------------------------------------------------
# What a run creates
# --------------------------------------------------------------------------------------------------
@dataclass
class PlannedLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: str
    amount_excl_vat: Decimal
    period_start: datetime.date | None
    period_end: datetime.date | None
    source: str


@dataclass
class PlannedInvoice:
    company_id: int
    company_name: str
    center_id: int
    center_name: str
    legal_entity_id: int
    contract_ids: list[int]
    contract_references: list[str]
    lines: list[PlannedLine]
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    kind: str = Invoice.Kind.INVOICE.value


@dataclass
class RunPreview:
    period: datetime.date
    invoices: list[PlannedInvoice] = field(default_factory=list)
    # regularisations larger than their month: credit notes of the previous month's invoices
    credit_notes: list[PlannedInvoice] = field(default_factory=list)
    # invoices the run leaves out (a regularisation larger than the month: a credit note is needed)
    skipped: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.invoices)

    @property
    def total_excl_vat(self) -> Decimal:
        return sum((invoice.total_excl_vat for invoice in self.invoices), ZERO)

    @property
    def total_incl_vat(self) -> Decimal:
        return sum((invoice.total_incl_vat for invoice in self.invoices), ZERO)


# Light rows (a model instance costs ~10 µs to build; a run reads 100,000 of them). They have the attributes
# that contract_period_lines reads.
@dataclass(slots=True)
class _ContractRow:
    pk: int
    company_id: int
    center_id: int
    legal_entity_id: int
    number: int
    start_date: datetime.date
    end_date: datetime.date | None
    payment_method: str

    @property
    def reference(self) -> str:
        return f"CT-{self.number:06d}"


CONTRACT_COLUMNS = ("pk", "company_id", "center_id", "legal_entity_id", "number", "start_date", "end_date",
                    "payment_method")  # fmt: skip


@dataclass(slots=True)
class _LineRow:
    pk: int
    contract_id: int
    kind: str
    product_id: int | None
    description: str
    vat_rate: str
    vat_exemption_reason: str
    accounting_code: str
    amount_excl_vat: Decimal
    is_recurring: bool
    start_date: datetime.date
    end_date: datetime.date | None


LINE_COLUMNS = ("pk", "contract_id", "kind", "product_id", "description", "vat_rate", "vat_exemption_reason",
                "accounting_code", "amount_excl_vat", "is_recurring", "start_date", "end_date")  # fmt: skip


@dataclass
class _Draft:
    company: Any  # _CompanyRow
    center_id: int
    legal_entity_id: int
    contracts: list[_ContractRow]
    lines: list[Any] = field(default_factory=list)  # Row (contract lines), InvoiceLine (consumption_line)
    consumption_ids: list[int] = field(default_factory=list)
    invoice: Any = None  # Row
    # a regularisation larger than the month (`_split_credit`): credited on the previous month's invoice
    credits: list[Any] = field(default_factory=list)  # Row (negative regularisation lines)
    credited_invoice_id: int | None = None


@dataclass
class _Context:
    organization: Organization
    period: datetime.date
    issue_date: datetime.date
    run: BillingRun | None
    by_id: int | None
    centers: dict[int, tuple[str, int]]  # id: (name, legal entity id)
    profiles: dict[int, BillingProfile]
    sellers: dict[int, dict[str, Any]]
    terms_texts: dict[tuple[int, str], str] = field(default_factory=dict)
    labels: dict[tuple[datetime.date, datetime.date], str] = field(default_factory=dict)
    line_defaults: dict[str, Any] = field(default_factory=lambda: column_defaults(InvoiceLine))
    invoice_defaults: dict[str, Any] = field(default_factory=lambda: column_defaults(Invoice))
    prorata: str = field(default_factory=lambda: " " + _("(prorata)"))
    now: datetime.datetime = field(default_factory=timezone.now)
    month_start: datetime.date = field(init=False)
    month_end: datetime.date = field(init=False)

    def __post_init__(self) -> None:
        self.month_start, self.month_end = month_bounds(self.period)

    @property
    def month(self) -> tuple[datetime.date, datetime.date]:
        return self.month_start, self.month_end

    @property
    def previous(self) -> tuple[datetime.date, datetime.date]:
        return month_bounds(previous_month(self.period))


def _context(
    organization: Organization, period: datetime.date, issue_date: datetime.date, run: BillingRun | None = None,
    *, write: bool = True,
) -> _Context:  # fmt: skip
    entities = list(LegalEntity.objects.filter(organization=organization).order_by("pk"))
    profiles = {
        profile.legal_entity_id: profile
        for profile in BillingProfile.objects.filter(legal_entity__in=[entity.pk for entity in entities])
    }
    sellers: dict[int, dict[str, Any]] = {}
    for entity in entities:
        if entity.pk not in profiles:  # the defaults (a preview writes nothing)
            profiles[entity.pk] = (
                billing_profile(entity) if write else BillingProfile(legal_entity=entity, organization=organization)
            )
        profiles[entity.pk].organization = organization  # finalize_documents reads it: no query per chunk
        sellers[entity.pk] = seller_snapshot(entity, profiles[entity.pk])
    centers = {
        row[0]: (row[1], row[2])
        for row in Center.objects.filter(organization=organization).values_list("pk", "name", "legal_entity_id")
    }
    return _Context(organization=organization, period=period, issue_date=issue_date, run=run,
                    by_id=run.started_by_id if run else None, centers=centers, profiles=profiles,
                    sellers=sellers)  # fmt: skip


def _day(value: datetime.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def _check_locked(ctx: _Context) -> None:
    month_start, _month_end = ctx.month
    for profile in ctx.profiles.values():
        if profile.locked_until and (ctx.issue_date <= profile.locked_until or month_start <= profile.locked_until):
            raise BillingError(
                _("La période comptable de %(entity)s est verrouillée jusqu'au %(day)s : la facturation de cette "
                  "période n'est plus possible.")
                % {"entity": ctx.sellers[profile.legal_entity_id]["name"], "day": _day(profile.locked_until)},
                code="locked_period", field="period",
            )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Planning: the invoices of a set of companies, in memory
# --------------------------------------------------------------------------------------------------
def _running_contracts(ctx: _Context) -> models.QuerySet[Contract]:
    month_start, month_end = ctx.month
    return (
        Contract.objects.filter(organization=ctx.organization, status__in=Contract.RUNNING, start_date__lte=month_end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=month_start))
        .exclude(Exists(BilledPeriod.objects.filter(contract=OuterRef("pk"), period=ctx.period)))
    )


def _unbilled_consumptions(ctx: _Context) -> models.QuerySet[Consumption]:
    return Consumption.objects.filter(organization=ctx.organization, invoice__isnull=True, date__lte=ctx.previous[1])


def _pending_companies(ctx: _Context) -> list[tuple[int, int]]:
    """(company id, contracts to bill) of every company the run still has to bill, in company order."""
    pending = dict(
        _running_contracts(ctx).values("company_id").annotate(count=Count("id")).values_list("company_id", "count")
    )
    for company_id in _unbilled_consumptions(ctx).order_by().values_list("company_id", flat=True).distinct():
        pending.setdefault(company_id, 0)
    return sorted(pending.items())


def _chunks(pending: list[tuple[int, int]], chunk_size: int) -> Iterable[list[int]]:
    """Whole companies (a grouped company's contracts make one invoice), about `chunk_size` contracts each."""
    chunk: list[int] = []
    size = 0
    for company_id, count in pending:
        chunk.append(company_id)
        size += max(1, count)
        if size >= chunk_size:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class Row:
    """A row to insert, its values as attributes named like the model's (`company_id`...): several times cheaper
    to build than a model instance. `insert_rows`, `compute_totals` and `finalize_documents` only read
    attributes, so they take these as they take instances."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values


def column_defaults(model: type[models.Model]) -> dict[str, Any]:
    """The default of every column but the primary key, by attribute name (set the callable ones yourself)."""
    return {f.attname: f.get_default() for f in model._meta.concrete_fields if not f.primary_key}


def _label(ctx: _Context, start: datetime.date, end: datetime.date) -> str:
    key = (start, end)
    label = ctx.labels.get(key)
    if label is None:
        label = ctx.labels[key] = period_label(start, end)
    return label


def _month_lines(
    ctx: _Context, contract: _ContractRow, lines: list[_LineRow], company: Any,
    pauses: Sequence[tuple[datetime.date, datetime.date]] = (),
) -> list[Row]:  # fmt: skip
    """`contract_period_lines` (comptoir.billing.services.invoices), the same lines as rows; a test holds them
    equal. The recurring lines of the month, billed in advance, prorated to the days each line (and the
    contract) runs in the month outside its pauses; nothing after the contract's end date."""
    month_start, month_end = ctx.month_start, ctx.month_end
    result = []
    for line in lines:
        if not line.is_recurring:
            continue
        start = max(line.start_date, contract.start_date, month_start)
        end = month_end
        if line.end_date and line.end_date < end:
            end = line.end_date
        if contract.end_date and contract.end_date < end:
            end = contract.end_date
        if end < start:
            continue
        for piece_start, piece_end in outside(start, end, pauses) if pauses else ((start, end),):
            amount = prorate(line.amount_excl_vat, period_start=month_start, period_end=month_end,
                             start=piece_start, end=piece_end)  # fmt: skip
            if amount == 0:
                continue
            rate, category, reason = vat_category_for(company, line.vat_rate)
            description = f"{line.description} — {_label(ctx, piece_start, piece_end)}"
            if piece_start != month_start or piece_end != month_end:
                description += ctx.prorata
            result.append(Row({
                **ctx.line_defaults, "product_id": line.product_id, "description": description[:255],
                "quantity": ONE, "unit": "month", "unit_price": amount, "discount": ZERO, "vat_rate": rate,
                "vat_category": category,
                "vat_exemption_reason": (reason or line.vat_exemption_reason) if category != STANDARD else "",
                "accounting_code": line.accounting_code, "amount_excl_vat": amount, "period_start": piece_start,
                "period_end": piece_end, "source": OPTION_SOURCE if line.kind == OPTION_KIND else CONTRACT_LINE_SOURCE,
                "contract_id": contract.pk, "contract_line_id": line.pk,
            }))  # fmt: skip
    return result


def _adjustment_lines(
    ctx: _Context, contract: _ContractRow, lines: list[_LineRow], invoiced: dict[int, Decimal], company: Any,
    pauses: Sequence[tuple[datetime.date, datetime.date]] = (),
) -> list[Row]:  # fmt: skip
    """The previous month as the lines and pauses stand now, minus what was invoiced for it (amendments and
    pauses recorded after its billing)."""
    previous_start, previous_end = ctx.previous
    result = []
    for line in lines:
        if not line.is_recurring:
            continue
        start = max(line.start_date, contract.start_date, previous_start)
        end = min(day for day in (previous_end, line.end_date, contract.end_date) if day)
        due = sum(
            (prorate(line.amount_excl_vat, period_start=previous_start, period_end=previous_end, start=piece_start,
                     end=piece_end) for piece_start, piece_end in outside(start, end, pauses)),
            ZERO,
        ) if end >= start else ZERO  # fmt: skip
        difference = due - invoiced.get(line.pk, ZERO)
        if difference == 0:
            continue
        rate, category, reason = vat_category_for(company, line.vat_rate)
        description = _("Régularisation — %(line)s — %(period)s") % {
            "line": line.description,
            "period": _label(ctx, previous_start, previous_end),
        }
        values = ctx.line_defaults.copy()
        values.update(
            product_id=line.product_id, description=description[:255], quantity=ONE, unit="month",
            unit_price=difference, discount=ZERO, vat_rate=rate, vat_category=category,
            vat_exemption_reason=(reason or line.vat_exemption_reason) if category != VatCategory.STANDARD else "",
            accounting_code=line.accounting_code, amount_excl_vat=difference, period_start=previous_start,
            period_end=previous_end, source=InvoiceLine.Source.ADJUSTMENT, contract_id=contract.pk,
            contract_line_id=line.pk,
        )  # fmt: skip
        result.append(Row(values))
    return result


@dataclass(slots=True)
class _CompanyRow:
    """What the run reads of a company: the buyer's snapshot (`buyer_snapshot_from`), its VAT (`vat_category_for`)."""

    pk: int
    kind: str
    number: int
    name: str
    legal_type: str
    siren: str
    siret: str
    vat_number: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    email: str
    subject_to_vat: bool
    group_invoices: bool
    default_payment_method: str

    @property
    def reference(self) -> str:
        return f"{Company.REFERENCE_PREFIX.get(self.kind, 'CL')}-{self.number:06d}"


COMPANY_COLUMNS = tuple(_CompanyRow.__dataclass_fields__)


def _plan(ctx: _Context, company_ids: Sequence[int], *, lock: bool) -> tuple[list[_Draft], int, list[str], list[int]]:
    """The invoices of the companies of ids company_ids[0]..company_ids[-1] for the period: (drafts with their
    lines and totals, contracts covered, skipped invoices, contracts with nothing due: paused all month).

    A constant number of queries, whatever the number of companies: the chunk is a range of company ids, and
    the contracts, lines, consumptions... are read by that range or by subqueries (no lists of ids)."""
    if not company_ids:
        return [], 0, [], []
    first, last = min(company_ids), max(company_ids)
    previous_start, previous_end = ctx.previous
    running = _running_contracts(ctx).filter(company_id__gte=first, company_id__lte=last)
    contracts = [
        _ContractRow(*row)
        for row in running.order_by("company_id", "start_date", "number", "id").values_list(*CONTRACT_COLUMNS)
    ]
    unbilled = _unbilled_consumptions(ctx).filter(company_id__gte=first, company_id__lte=last)
    companies = {
        row[0]: _CompanyRow(*row)
        for row in Company.objects.filter(organization=ctx.organization, pk__gte=first, pk__lte=last)
        .filter(Q(pk__in=running.values("company_id")) | Q(pk__in=unbilled.values("company_id")))
        .values_list(*COMPANY_COLUMNS)
    }
    customers = {
        profile.company_id: profile
        for profile in CustomerBillingProfile.objects.filter(
            organization=ctx.organization, company_id__gte=first, company_id__lte=last
        )
    }
    lines_of: dict[int, list[_LineRow]] = defaultdict(list)
    for row in (
        ContractLine.objects.filter(contract__in=running.values("pk"))
        .order_by("contract_id", "position", "id")
        .values_list(*LINE_COLUMNS)
    ):
        line = _LineRow(*row)
        lines_of[line.contract_id].append(line)
    consumptions_query = unbilled.order_by("date", "id")
    if lock:
        consumptions_query = consumptions_query.select_for_update()
    consumptions_of: dict[int, list[Consumption]] = defaultdict(list)
    for consumption in consumptions_query:
        consumptions_of[consumption.company_id].append(consumption)
    billed_before_query = BilledPeriod.objects.filter(period=previous_start, contract__in=running.values("pk"))
    billed_before = dict(billed_before_query.values_list("contract_id", "invoice_id"))
    invoiced: dict[int, Decimal] = {}
    if billed_before:
        # what was invoiced for each line's previous month: its invoice lines (the month, and regularisations),
        # minus the run's regularisation credit notes (commercial credit notes are not undone by the run)
        invoiced = dict(
            InvoiceLine.objects.filter(
                contract__in=billed_before_query.values("contract_id"), contract_line__isnull=False,
                period_start__gte=previous_start, period_start__lte=previous_end,
            )
            .filter(Q(invoice__kind=Invoice.Kind.INVOICE)
                    | Q(invoice__kind=Invoice.Kind.CREDIT_NOTE, source=InvoiceLine.Source.ADJUSTMENT))
            .exclude(invoice__status=Invoice.Status.DRAFT)
            .values("contract_line_id")
            .annotate(total=Sum(Case(When(invoice__kind=Invoice.Kind.CREDIT_NOTE, then=-F("amount_excl_vat")),
                                     default=F("amount_excl_vat"))))
            .values_list("contract_line_id", "total")
        )  # fmt: skip
    pauses = pause_spans(running, previous_start, ctx.month_end)
    contracts_of: dict[int, list[_ContractRow]] = defaultdict(list)
    for contract in contracts:
        contracts_of[contract.company_id].append(contract)

    drafts: list[_Draft] = []
    skipped: list[str] = []
    idle: list[int] = []
    for company_id in sorted(companies):
        company = companies[company_id]
        own = contracts_of.get(company_id, [])
        if company.group_invoices:
            groups: dict[int, list[_ContractRow]] = {}
            for contract in own:
                groups.setdefault(contract.legal_entity_id, []).append(contract)
            grouped = list(groups.values())
        else:
            grouped = [[contract] for contract in own]
        company_drafts = []
        for group in grouped:
            draft = _Draft(company=company, center_id=group[0].center_id, legal_entity_id=group[0].legal_entity_id,
                           contracts=group)  # fmt: skip
            for contract in group:
                contract_lines = lines_of.get(contract.pk, [])
                contract_pauses = pauses.get(contract.pk, ())
                draft.lines += _month_lines(ctx, contract, contract_lines, company, contract_pauses)
                if contract.pk in billed_before:
                    draft.lines += _adjustment_lines(ctx, contract, contract_lines, invoiced, company, contract_pauses)
            company_drafts.append(draft)
        for consumption in consumptions_of.get(company_id, []):
            target = next((d for d in company_drafts if any(c.pk == consumption.contract_id for c in d.contracts)),
                          None) or next(
                (d for d in company_drafts if any(c.center_id == consumption.center_id for c in d.contracts)), None
            )  # fmt: skip
            if target is None:
                target = next((d for d in company_drafts if not d.contracts and d.center_id == consumption.center_id),
                              None)  # fmt: skip
            if target is None:
                target = _Draft(company=company, center_id=consumption.center_id,
                                legal_entity_id=ctx.centers[consumption.center_id][1], contracts=[])  # fmt: skip
                company_drafts.append(target)
            target.lines.append(consumption_line(consumption, company))
            target.consumption_ids.append(consumption.pk)
        for draft in company_drafts:
            if not draft.lines:
                idle += [contract.pk for contract in draft.contracts]
                continue
            invoice = _invoice(ctx, draft, customers.get(company_id))
            if invoice.total_incl_vat < 0:
                invoice = _split_credit(ctx, draft, billed_before, customers.get(company_id))
                if draft.credited_invoice_id is None:
                    skipped.append(
                        _("%(company)s (%(contracts)s) : la régularisation dépasse le mois facturé, faites un avoir.")
                        % {"company": company.name, "contracts": ", ".join(c.reference for c in draft.contracts)}
                    )
                    continue
                if invoice is None:  # nothing to bill this month: only the credit note
                    idle += [contract.pk for contract in draft.contracts]
            draft.invoice = invoice
            drafts.append(draft)
    return drafts, len(contracts), skipped, idle


def _split_credit(ctx: _Context, draft: _Draft, billed_before: dict[int, int | None], customer: Any) -> Row | None:
    """A month whose regularisation is larger than what it bills (a pause or an amendment recorded after the
    previous month was invoiced): the negative regularisation lines go to a credit note of the previous month's
    invoice, the rest stays on the month's invoice (None when nothing is left). Sets draft.credits and
    draft.credited_invoice_id (left None when there is no previous invoice to credit)."""
    previous = {billed_before.get(contract.pk) for contract in draft.contracts} - {None}
    if len(previous) != 1:
        return None
    negative = [
        line for line in draft.lines if line.source == InvoiceLine.Source.ADJUSTMENT and line.amount_excl_vat < 0
    ]
    draft.credits = negative
    draft.credited_invoice_id = previous.pop()
    draft.lines = [line for line in draft.lines if not (line.source == InvoiceLine.Source.ADJUSTMENT
                                                        and line.amount_excl_vat < 0)]  # fmt: skip
    return _invoice(ctx, draft, customer) if draft.lines else None


def _terms_text(ctx: _Context, days: int, method: str) -> str:
    key = (days, method)
    if key not in ctx.terms_texts:
        ctx.terms_texts[key] = payment_terms_text(days, method)
    return ctx.terms_texts[key]


def _invoice(ctx: _Context, draft: _Draft, customer: CustomerBillingProfile | None) -> Row:
    company = draft.company
    profile = ctx.profiles[draft.legal_entity_id]
    for position, line in enumerate(draft.lines, start=1):
        line.position = position
    totals = compute_totals(draft.lines)
    method = (draft.contracts[0].payment_method if draft.contracts else "") or company.default_payment_method
    days = customer.payment_terms_days if customer and customer.payment_terms_days is not None else (
        profile.payment_terms_days
    )  # fmt: skip
    notes = ""
    if draft.contracts:
        period_start, period_end = ctx.month
        if len(draft.contracts) > 1:
            notes = _("Contrats %(references)s") % {"references": ", ".join(c.reference for c in draft.contracts)}
    else:
        period_start = min(line.period_start for line in draft.lines)
        period_end = max(line.period_end for line in draft.lines)
    values = ctx.invoice_defaults.copy()
    values.update(
        organization_id=ctx.organization.pk, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED,
        origin=Invoice.Origin.RUN if draft.contracts else Invoice.Origin.CONSUMPTIONS,
        legal_entity_id=draft.legal_entity_id, center_id=draft.center_id, company_id=company.pk,
        contract_id=draft.contracts[0].pk if len(draft.contracts) == 1 else None,
        billing_run_id=ctx.run.pk if ctx.run else None, issue_date=ctx.issue_date,
        due_date=ctx.issue_date + datetime.timedelta(days=days), period_start=period_start, period_end=period_end,
        seller=ctx.sellers[draft.legal_entity_id], buyer=buyer_snapshot_from(company, None, customer),
        buyer_reference=customer.service_code if customer else "",
        purchase_order=customer.commitment_number if customer else "", payment_method=method,
        payment_terms=_terms_text(ctx, days, method), notes=notes, total_excl_vat=totals.total_excl_vat,
        total_vat=totals.total_vat, total_incl_vat=totals.total_incl_vat, vat_breakdown=totals.vat_breakdown,
        created_by_id=ctx.by_id, created_at=ctx.now, issued_at=ctx.now,
    )  # fmt: skip
    return Row(values)


def _planned(ctx: _Context, draft: _Draft, *, credit: bool = False) -> PlannedInvoice:
    if credit:  # the credit note's lines: the negative regularisations, as positive amounts
        lines = [Row({**line.__dict__, "unit_price": -line.unit_price, "amount_excl_vat": -line.amount_excl_vat})
                 for line in draft.credits]  # fmt: skip
        totals = compute_totals(lines)
        total_excl_vat, total_vat, total_incl_vat = totals.total_excl_vat, totals.total_vat, totals.total_incl_vat
    else:
        lines = draft.lines
        invoice = cast(Row, draft.invoice)
        total_excl_vat, total_vat, total_incl_vat = invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat
    return PlannedInvoice(
        company_id=draft.company.pk, company_name=draft.company.name, center_id=draft.center_id,
        center_name=ctx.centers[draft.center_id][0], legal_entity_id=draft.legal_entity_id,
        contract_ids=[contract.pk for contract in draft.contracts],
        contract_references=[contract.reference for contract in draft.contracts],
        lines=[PlannedLine(description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                           vat_rate=line.vat_rate, amount_excl_vat=line.amount_excl_vat,
                           period_start=line.period_start, period_end=line.period_end, source=line.source)
               for line in lines],
        total_excl_vat=total_excl_vat, total_vat=total_vat, total_incl_vat=total_incl_vat,
        kind=Invoice.Kind.CREDIT_NOTE.value if credit else Invoice.Kind.INVOICE.value,
    )  # fmt: skip


def normalize_period(period: datetime.date) -> datetime.date:
    return period.replace(day=1)


def preview_run(
    *, organization: Organization, period: datetime.date, by: User | None, issue_date: datetime.date | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE, check_rights: bool = True,
) -> RunPreview:  # fmt: skip
    """Every invoice the run of `period` would create now (nothing is written)."""
    if check_rights:
        rights.require(by, "billing.view_billingrun", organization)
    period = normalize_period(period)
    ctx = _context(organization, period, issue_date or timezone.localdate(), write=False)
    preview = RunPreview(period=period)
    for company_ids in _chunks(_pending_companies(ctx), chunk_size):
        drafts, _count, skipped, _idle = _plan(ctx, company_ids, lock=False)
        preview.invoices += [_planned(ctx, draft) for draft in drafts if draft.invoice is not None]
        preview.credit_notes += [_planned(ctx, draft, credit=True) for draft in drafts if draft.credits]
        preview.skipped += skipped
    return preview


# --------------------------------------------------------------------------------------------------
# Start, execute
# --------------------------------------------------------------------------------------------------
def _period_label(period: datetime.date) -> str:
    return f"{period:%m/%Y}"


@transaction.atomic
def start_run(
    *, organization: Organization, period: datetime.date, by: User | None, issue_date: datetime.date | None = None,
    enqueue: bool = True, check_rights: bool = True,
) -> BillingRun:  # fmt: skip
    """Start (or resume, after a kill or a failure) the run of `period`; it runs in a background task
    (`run_billing_task`) once this transaction commits (at once with the immediate task backend).

    Refused: a period already billed (already_run), a run still alive (run_in_progress, 409), a locked
    accounting period (locked_period), an issue date in the future."""
    if check_rights:
        rights.require(by, "billing.add_billingrun", organization)
    period = normalize_period(period)
    today = timezone.localdate()
    if issue_date is not None and issue_date > today:
        raise ValidationFailed(_("La date d'émission ne peut pas être dans le futur."), code="future_date",
                               field="issue_date")  # fmt: skip
    run = BillingRun.objects.select_for_update().filter(organization=organization, period=period).first()
    if run is not None:
        if run.status == BillingRun.Status.COMPLETED:
            raise BillingError(
                _("La facturation de %(period)s a déjà été faite (%(count)s factures).")
                % {"period": _period_label(period), "count": run.invoices_created},
                code="already_run",
            )
        if run.status == BillingRun.Status.RUNNING and run.heartbeat_at > timezone.now() - ALIVE:
            raise Conflict(
                _("La facturation de %(period)s est en cours (%(done)s contrats sur %(total)s).")
                % {"period": _period_label(period), "done": run.contracts_done, "total": run.contracts_total},
                code="run_in_progress",
            )
    chosen_date = issue_date or (run.issue_date if run is not None else today)
    ctx = _context(organization, period, chosen_date, run)
    _check_locked(ctx)
    remaining = _running_contracts(ctx).count()
    if run is None:
        try:
            with transaction.atomic():
                run = BillingRun.objects.create(
                    organization=organization, period=period, issue_date=chosen_date, contracts_total=remaining,
                    started_by=by if getattr(by, "is_authenticated", False) else None,
                )  # fmt: skip
        except IntegrityError:
            raise Conflict(_("La facturation de %(period)s est déjà lancée.") % {"period": _period_label(period)},
                           code="run_in_progress") from None  # fmt: skip
        action = "billingrun.started"
    else:
        run.status = BillingRun.Status.RUNNING
        run.issue_date = chosen_date
        run.contracts_total = run.contracts_done + remaining
        run.error = ""
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["status", "issue_date", "contracts_total", "error", "heartbeat_at"])
        action = "billingrun.resumed"
    journal.record(actor=by, action=action, obj=run,
                   changes={"period": period.isoformat(), "issue_date": chosen_date.isoformat(),
                            "contracts_total": run.contracts_total, "contracts_done": run.contracts_done})  # fmt: skip
    if enqueue:
        from comptoir.billing import tasks

        run_id = run.pk
        transaction.on_commit(lambda: tasks.run_billing_task.enqueue(run_id=run_id))
    return run


@dataclass
class _ChunkResult:
    contracts: int
    invoices: list[int]
    total_excl_vat: Decimal
    total_incl_vat: Decimal


def _documents_render_later() -> bool:
    """PDFs are rendered on demand; with a real queue, the run also asks a worker to render them."""
    from django.tasks import task_backends
    from django.tasks.backends.immediate import ImmediateBackend

    return not isinstance(task_backends["default"], ImmediateBackend)  # (default_task_backend is a proxy)


def _schedule_delivery(invoices: Sequence[Any]) -> None:
    """After the chunk commits, deliver its invoices by their companies' methods (one query per chunk)."""
    if not invoices:
        return
    from comptoir.billing import tasks
    from comptoir.billing.services.delivery import KNOWN_METHODS

    company_ids = {invoice.company_id for invoice in invoices}
    with_methods = {
        pk
        for pk, methods in Company.objects.filter(pk__in=company_ids).values_list("pk", "invoice_delivery_methods")
        if isinstance(methods, list) and any(str(method) in KNOWN_METHODS for method in methods)
    }
    ids = [invoice.id for invoice in invoices if invoice.company_id in with_methods]
    if ids:
        transaction.on_commit(lambda: tasks.deliver_issued.enqueue(invoice_ids=ids))


def _credit_regularisations(ctx: _Context, crediting: list[_Draft], skipped: list[str]) -> list[Invoice]:
    """The regularisation credit notes of a chunk (rare: a pause or an amendment larger than the month), one by
    one through the service; one that cannot be issued (its invoice already credited) is reported, not fatal."""
    notes = []
    for draft in crediting:
        try:
            with transaction.atomic():
                notes.append(issue_regularisation_credit(invoice_id=cast(int, draft.credited_invoice_id),
                                                         lines=draft.credits, issue_date=ctx.issue_date,
                                                         by_id=ctx.by_id,
                                                         billing_run_id=ctx.run.pk if ctx.run else None))  # fmt: skip
        except DomainError as error:
            skipped.append(
                _("%(company)s (%(contracts)s) : la régularisation dépasse le mois facturé, faites un avoir.")
                % {"company": draft.company.name, "contracts": ", ".join(c.reference for c in draft.contracts)}
                + f" ({error.message})"
            )
    return notes


def _bill_chunk(ctx: _Context, company_ids: Sequence[int]) -> _ChunkResult:
    run = cast(BillingRun, ctx.run)
    with transaction.atomic():
        planned, contract_count, skipped, idle = _plan(ctx, company_ids, lock=True)
        drafts = [draft for draft in planned if draft.invoice is not None]
        crediting = [draft for draft in planned if draft.credits]
        invoices: list[Row] = [draft.invoice for draft in drafts]
        # sequence locks in one order (credit notes' series, invoices' series, then the ledger): no deadlock
        # with a staff member issuing a document by hand
        for entity_id in sorted({draft.legal_entity_id for draft in crediting}):
            series, scope = series_for(ctx.profiles[entity_id], Invoice.Kind.CREDIT_NOTE, ctx.issue_date.year)
            numbering.next_numbers(organization=ctx.organization, series=series, scope=scope, count=0)
        if idle:  # billed with nothing due (paused all month): done for the period, regularised like the others
            write_rows(BilledPeriod._meta.db_table, ["contract_id", "period", "invoice_id"],
                       [(contract_id, ctx.period, None) for contract_id in idle])  # fmt: skip
        if drafts:
            by_entity: dict[int, list[_Draft]] = defaultdict(list)
            for draft in drafts:
                by_entity[draft.legal_entity_id].append(draft)
            for entity_id, entity_drafts in sorted(by_entity.items()):  # locks always taken in the same order
                finalize_documents(
                    profile=ctx.profiles[entity_id], kind=Invoice.Kind.INVOICE, issue_date=ctx.issue_date,
                    documents=[draft.invoice for draft in entity_drafts],
                    lines=[draft.lines for draft in entity_drafts],
                )  # fmt: skip
            lines: list[Any] = []
            billed: list[tuple[int, datetime.date, int]] = []
            consumptions: list[tuple[int, int]] = []
            for draft, invoice_id in zip(drafts, reserve_ids(Invoice, len(drafts)), strict=True):
                draft.invoice.id = invoice_id
                for line in draft.lines:
                    line.invoice_id = invoice_id
                lines += draft.lines
                billed += [(contract.pk, ctx.period, invoice_id) for contract in draft.contracts]
                consumptions += [(invoice_id, consumption_id) for consumption_id in draft.consumption_ids]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # lines of issued documents (0002_issued_documents_frozen)
                    cursor.execute("SET LOCAL comptoir.issuing = 'on'")
            insert_rows(Invoice, invoices, with_pk=True)
            insert_rows(InvoiceLine, lines)
            write_rows(BilledPeriod._meta.db_table, ["contract_id", "period", "invoice_id"], billed)
            if consumptions:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        "UPDATE billing_consumption SET invoice_id = %s WHERE id = %s AND invoice_id IS NULL",
                        consumptions,
                    )
                    if cursor.rowcount not in (-1, len(consumptions)):
                        raise BillingError(_("Des consommations ont été facturées pendant la facturation mensuelle : "
                                             "relancez-la."), code="concurrent_change")  # fmt: skip
        credit_notes = _credit_regularisations(ctx, crediting, skipped)
        result = _ChunkResult(
            contracts=contract_count,
            invoices=[invoice.id for invoice in invoices] + [note.pk for note in credit_notes],
            total_excl_vat=sum((invoice.total_excl_vat for invoice in invoices), ZERO)
            - sum((note.total_excl_vat for note in credit_notes), ZERO),
            total_incl_vat=sum((invoice.total_incl_vat for invoice in invoices), ZERO)
            - sum((note.total_incl_vat for note in credit_notes), ZERO),
        )
        BillingRun.objects.filter(pk=run.pk).update(
            contracts_done=F("contracts_done") + result.contracts,
            invoices_created=F("invoices_created") + len(result.invoices),
            total_excl_vat=F("total_excl_vat") + result.total_excl_vat,
            total_incl_vat=F("total_incl_vat") + result.total_incl_vat,
            heartbeat_at=timezone.now(),
        )
        if skipped:
            journal.record(actor=None, action="billingrun.skipped", obj=run, changes={"skipped": skipped})
        if result.invoices and _documents_render_later():
            from comptoir.billing import tasks

            ids = list(result.invoices)
            transaction.on_commit(lambda: tasks.enqueue_documents(ids))
        _schedule_delivery(invoices)  # (credit notes: delivered by their own `invoice.issued`)
    return result


def execute_run(
    *, run: BillingRun, chunk_size: int = DEFAULT_CHUNK_SIZE, progress: Callable[[BillingRun], None] | None = None
) -> BillingRun:
    """Bill the contracts of the run's period that are not billed yet, chunk by chunk (each chunk commits on
    its own). Safe to call twice: a completed run is left as it is, a stopped one resumes."""
    run = BillingRun.objects.select_related("organization").get(pk=run.pk)
    if run.status == BillingRun.Status.COMPLETED:
        return run
    pause = float(os.environ.get(CHUNK_PAUSE_ENV) or 0)
    try:
        ctx = _context(run.organization, run.period, run.issue_date, run)
        _check_locked(ctx)
        for index, company_ids in enumerate(_chunks(_pending_companies(ctx), chunk_size)):
            _bill_chunk(ctx, company_ids)
            if progress is not None:
                run.refresh_from_db()
                progress(run)
            after_chunk(run, index)
            if pause:
                time.sleep(pause)
        with transaction.atomic():
            BillingRun.objects.filter(pk=run.pk).update(
                status=BillingRun.Status.COMPLETED, finished_at=timezone.now(), heartbeat_at=timezone.now(), error=""
            )
            run.refresh_from_db()
            journal.record(actor=run.started_by, action="billingrun.completed", obj=run,
                           changes={"period": run.period.isoformat(), "contracts_done": run.contracts_done,
                                    "invoices_created": run.invoices_created,
                                    "total_excl_vat": run.total_excl_vat,
                                    "total_incl_vat": run.total_incl_vat})  # fmt: skip
    except Exception as exc:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        with transaction.atomic():
            BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.FAILED, error=message[:2000],
                                                        heartbeat_at=timezone.now())  # fmt: skip
            run.refresh_from_db()
            journal.record(actor=None, action="billingrun.failed", obj=run,
                           changes={"error": message[:500], "contracts_done": run.contracts_done})  # fmt: skip
        raise
    return run


# --------------------------------------------------------------------------------------------------
# Bulk writes: one statement per table (COPY on PostgreSQL, executemany on SQLite)
# --------------------------------------------------------------------------------------------------
def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys of `model`'s table, taken inside the caller's transaction.

    PostgreSQL: from the table's identity sequence. SQLite: after the highest id ever given (AUTOINCREMENT);
    the transaction already holds SQLite's write lock (immediate transactions), so no one else takes them."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])  # fmt: skip
            return sorted(row[0] for row in cursor.fetchall())
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"coalesce((SELECT max(id) FROM {quoted}), 0))",
            [table],
        )
        last = cursor.fetchone()[0]
    return list(range(last + 1, last + 1 + count))


def _json_converter(encoder: Any) -> Callable[[Any], str | None]:
    last: list[Any] = [None, None]  # the seller's snapshot is the same object for the invoices of an entity

    def convert(value: Any) -> str | None:
        if value is None:
            return None
        if value is last[0]:
            return last[1]
        text = json.dumps(value, cls=encoder)
        if isinstance(value, dict) and len(value) > 10:
            last[0], last[1] = value, text
        return text

    return convert


@lru_cache(maxsize=32)
def _columns(model: type[models.Model], with_pk: bool, vendor: str) -> tuple[list[str], Any, list[tuple[int, Any]]]:
    """(columns, a getter of the attribute values, [(index, converter)] of the values to convert)."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    converters: list[tuple[int, Any]] = []
    for index, model_field in enumerate(fields):
        kind = model_field.get_internal_type()
        if kind == "JSONField":
            converters.append((index, partial(_json_converter, model_field.encoder)))  # type: ignore[attr-defined]
        elif kind == "FileField":
            converters.append((index, lambda value: getattr(value, "name", value) or ""))
        elif kind == "DateTimeField":
            converters.append((index, lambda value: connection.ops.adapt_datetimefield_value(value)))
    return [f.column for f in fields], attrgetter(*[f.attname for f in fields]), converters


def db_rows(model: type[models.Model], objects: Sequence[models.Model], *, with_pk: bool = False) -> tuple[
    list[str], list[Sequence[Any]]
]:  # fmt: skip
    """(columns, one row of values in the database's form per object), read from the objects' attributes."""
    columns, getter, converters = _columns(model, with_pk, connection.vendor)
    # JSON converters remember their last big value: made anew for each call
    converters = [(index, convert() if isinstance(convert, partial) else convert) for index, convert in converters]
    if not converters:
        return columns, [getter(obj) for obj in objects]
    rows = []
    for obj in objects:
        row = list(getter(obj))
        for index, convert in converters:
            row[index] = convert(row[index])
        rows.append(row)
    return columns, rows


def write_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """One statement: COPY on PostgreSQL, executemany (one prepared INSERT) on SQLite."""
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({column_list}) VALUES ({placeholders})", rows)


def insert_rows(model: type[models.Model], objects: Sequence[models.Model], *, with_pk: bool = False) -> None:
    """Insert `objects` in one statement, bypassing the ORM's per-object work (no signals, no save()).

    Values are read from the objects' attributes (defaults included); they must already be valid."""
    if objects:
        columns, rows = db_rows(model, objects, with_pk=with_pk)
        write_rows(model._meta.db_table, columns, rows)
