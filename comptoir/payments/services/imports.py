"""Bank statement import (« Importer un relevé »): the transfers received, matched to invoices by the invoice
number their label carries, recorded as payments and allocated in bulk.

A statement is a CSV file (UTF-8, `;` separated, a header line), one credit per line:

    date;montant;libelle;payeur
    05/12/2026;1 234,56;VIR SEPA ATELIER LUMIERE FA-2026-000123;ATELIER LUMIERE

(`date` as DD/MM/YYYY or YYYY-MM-DD, `montant` with a comma or a point, `payeur` optional; debits — negative
amounts — are ignored.) Each line whose label names an issued invoice of the organization with something left to
pay becomes a transfer payment of that invoice's company, allocated to it up to its remaining amount (the rest of
the transfer is the company's credit balance). Lines that name no payable invoice are reported, not recorded.

Idempotent: each line's fingerprint (date, amount, label, payer and its rank among identical lines) is the
payment's `provider_reference`, unique per organization: importing the same statement twice records nothing new.

Performance (`comptoir bench`, `payments.import.100000`): per chunk of lines, a constant number of statements —
the invoices read and locked by reference, the fingerprints already imported, ids reserved, payments and
allocations written with one statement each (COPY on PostgreSQL), the invoices' settlement updated with one
`executemany` through billing's `settle_many`, one journal entry.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.billing.models import Invoice
from comptoir.billing.services.invoices import settle_many
from comptoir.billing.services.runs import column_defaults, db_rows, reserve_ids, write_rows
from comptoir.core import journal, rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.payments.models import Allocation, Method, Payment, Provider

ZERO = Decimal("0.00")
REFERENCE = re.compile(r"\b(?:FA|AV)-(?:\d{4}-)?\d{3,}\b", re.IGNORECASE)
FINGERPRINT_PREFIX = "releve:"
CHUNK = 5000
MAX_LINES = 200_000


@dataclass(frozen=True)
class TransferLine:
    booked_on: datetime.date
    amount: Decimal
    label: str
    payer: str = ""


@dataclass
class ImportResult:
    lines: int = 0
    recorded: int = 0
    already_imported: int = 0
    allocated: Decimal = ZERO
    credit: Decimal = ZERO
    unmatched: list[tuple[int, str, str]] = field(default_factory=list)  # (line number, label, reason)


def _date(value: str) -> datetime.date:
    value = value.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(value)


def _amount(value: str) -> Decimal:
    text = value.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
    amount = Decimal(text.replace(",", "."))
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise InvalidOperation(value)
    return amount


def parse_statement(content: bytes | str) -> list[TransferLine]:
    """The credits of a statement CSV (format in the module's docstring); a line that cannot be read refuses the
    whole file with its line number (nothing is imported from a file half understood)."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = next(reader, None)
    if not header or [cell.strip().lower() for cell in header[:3]] != ["date", "montant", "libelle"]:
        raise ValidationFailed(_("Le fichier doit commencer par la ligne d'en-tête « date;montant;libelle;payeur »."),
                               code="invalid_header", field="file")  # fmt: skip
    lines = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            raise ValidationFailed(_("Ligne %(line)s : trois colonnes au moins (date;montant;libelle).")
                                   % {"line": number}, code="invalid_line", field="file")  # fmt: skip
        try:
            booked_on, amount = _date(row[0]), _amount(row[1])
        except (ValueError, InvalidOperation):
            raise ValidationFailed(_("Ligne %(line)s : date ou montant illisible (« %(date)s », « %(amount)s »).")
                                   % {"line": number, "date": row[0][:20], "amount": row[1][:20]},
                                   code="invalid_line", field="file") from None  # fmt: skip
        if amount > 0:
            lines.append(
                TransferLine(booked_on, amount, row[2].strip()[:140], (row[3].strip() if len(row) > 3 else "")[:200])
            )
        if len(lines) > MAX_LINES:
            raise ValidationFailed(_("Un relevé de %(count)s lignes au plus.") % {"count": MAX_LINES},
                                   code="too_many_lines", field="file")  # fmt: skip
    return lines


def fingerprints(lines: Iterable[TransferLine]) -> list[str]:
    """One stable fingerprint per line; identical lines of one statement are told apart by their rank."""
    seen: Counter[tuple[Any, ...]] = Counter()
    result = []
    for line in lines:
        key = (line.booked_on.isoformat(), str(line.amount), line.label, line.payer)
        seen[key] += 1
        digest = hashlib.sha256("|".join([*key, str(seen[key])]).encode()).hexdigest()[:40]
        result.append(FINGERPRINT_PREFIX + digest)
    return result


def import_transfers(
    *, organization: Organization, by: User | None, lines: Sequence[TransferLine], check_rights: bool = True,
    today: datetime.date | None = None, chunk_size: int = CHUNK,
) -> ImportResult:  # fmt: skip
    """Record and allocate the statement's transfers (see the module's docstring), chunk by chunk."""
    if check_rights:
        rights.require(by, "payments.add_payment", organization)
    today = today or timezone.localdate()
    future = next((index for index, line in enumerate(lines) if line.booked_on > today), None)
    if future is not None:
        raise ValidationFailed(_("Ligne %(line)s : un paiement ne peut pas être daté dans le futur.")
                               % {"line": future + 2}, code="future_date", field="file")  # fmt: skip
    result = ImportResult(lines=len(lines))
    prints = fingerprints(lines)
    for start in range(0, len(lines), chunk_size):
        _import_chunk(organization, by, lines[start : start + chunk_size], prints[start : start + chunk_size],
                      start, result)  # fmt: skip
    with transaction.atomic():
        journal.record(actor=by, action="payments.statement_imported", obj=organization, changes={
            "lines": result.lines, "recorded": result.recorded, "already_imported": result.already_imported,
            "allocated": result.allocated, "credit": result.credit, "unmatched": len(result.unmatched),
        })  # fmt: skip
    return result


def _import_chunk(
    organization: Organization, by: User | None, lines: Sequence[TransferLine], prints: Sequence[str], offset: int,
    result: ImportResult,
) -> None:  # fmt: skip
    with transaction.atomic():
        wanted: dict[int, str] = {}
        for index, line in enumerate(lines):
            found = REFERENCE.search(line.label)
            if found:
                wanted[index] = found.group(0).upper()
        candidates: dict[str, list[Invoice]] = {}
        for invoice in (
            Invoice.objects.select_for_update()
            .filter(organization=organization, reference__in=set(wanted.values()), kind=Invoice.Kind.INVOICE,
                    status=Invoice.Status.ISSUED)
            .order_by("pk")
        ):  # fmt: skip
            candidates.setdefault(invoice.reference, []).append(invoice)
        done = set(
            Payment.objects.filter(
                organization=organization, provider=Provider.MANUAL, provider_reference__in=prints
            ).values_list("provider_reference", flat=True)
        )
        payments: list[Payment] = []
        allocations: list[tuple[int, Invoice, Decimal]] = []  # (payment index, invoice, amount)
        remaining = {invoice.pk: invoice.amount_due for group in candidates.values() for invoice in group}
        for index, line in enumerate(lines):
            number = offset + index + 2
            if prints[index] in done:
                result.already_imported += 1
                continue
            reference = wanted.get(index)
            if not reference or reference not in candidates:
                result.unmatched.append((number, line.label, _("aucune facture émise ne correspond") if reference
                                         else _("pas de numéro de facture dans le libellé")))  # fmt: skip
                continue
            open_ones = [invoice for invoice in candidates[reference] if remaining[invoice.pk] > 0]
            if len(open_ones) > 1:  # the same number in two legal entities' series: the amount decides
                open_ones = [invoice for invoice in open_ones if remaining[invoice.pk] == line.amount] or open_ones
            if not open_ones:
                result.unmatched.append((number, line.label, _("la facture %(reference)s est déjà payée")
                                         % {"reference": reference}))  # fmt: skip
                continue
            if len(open_ones) > 1:
                result.unmatched.append((number, line.label, _("plusieurs factures portent le numéro %(reference)s")
                                         % {"reference": reference}))  # fmt: skip
                continue
            invoice = open_ones[0]
            amount = min(line.amount, remaining[invoice.pk])
            remaining[invoice.pk] -= amount
            allocations.append((len(payments), invoice, amount))
            payments.append(Payment(
                organization_id=organization.pk, company_id=invoice.company_id, legal_entity_id=invoice.legal_entity_id,
                method=Method.TRANSFER, amount=line.amount, received_on=line.booked_on, reference=line.label,
                payer=line.payer, provider=Provider.MANUAL, provider_reference=prints[index],
                status=Payment.Status.RECEIVED, created_by_id=by.pk if getattr(by, "is_authenticated", False) else None,
                created_at=timezone.now(),
            ))  # fmt: skip
            result.allocated += amount
            result.credit += line.amount - amount
        if not payments:
            return
        for payment, payment_id in zip(payments, reserve_ids(Payment, len(payments)), strict=True):
            payment.pk = payment.id = payment_id
        columns, rows = db_rows(Payment, payments, with_pk=True)
        write_rows(Payment._meta.db_table, columns, rows)
        defaults = column_defaults(Allocation)
        made = []
        for payment_index, invoice, amount in allocations:
            allocation = Allocation(**{**defaults, "payment_id": payments[payment_index].pk, "invoice_id": invoice.pk,
                                       "amount": amount, "created_by_id": payments[payment_index].created_by_id})  # fmt: skip
            allocation.created_at = timezone.now()
            made.append(allocation)
        columns, rows = db_rows(Allocation, made)
        write_rows(Allocation._meta.db_table, columns, rows)
        paid: dict[int, tuple[Invoice, Decimal, datetime.date]] = {}
        for payment_index, invoice, amount in allocations:
            _invoice, current, _day = paid.get(invoice.pk, (invoice, invoice.amount_paid, datetime.date.min))
            paid[invoice.pk] = (invoice, current + amount, max(_day, payments[payment_index].received_on))
        settle_many(paid=list(paid.values()))
        result.recorded += len(payments)
