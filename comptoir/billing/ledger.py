"""The ledger of issued documents: numbers, the SHA-256 chain, and its verification (`comptoir verify-ledger`).

Each legal entity's issued invoices and credit notes form one chain in issue order (`chain_index` 1, 2, ...):
a document's `record_hash` is the SHA-256 of its canonical content (parties, dates, totals, every line) and
of the previous document's hash. Changing any frozen value of any row, deleting a row or inserting one
breaks the chain at that point; `verify_ledger` recomputes it from the database and reports where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

from django.db.models import Max

from comptoir.core.models import LegalEntity, Organization
from comptoir.core.models import Sequence as NumberSequence

LINE_FIELDS = ("position", "description", "quantity", "unit", "unit_price", "discount", "vat_rate", "vat_category",
               "vat_exemption_reason", "amount_excl_vat", "period_start", "period_end")  # fmt: skip
INVOICE_FIELDS = ("kind", "legal_entity_id", "company_id", "reference", "number", "issue_date", "due_date",
                  "period_start", "period_end", "currency", "total_excl_vat", "total_vat", "total_incl_vat",
                  "credited_invoice_id", "seller", "buyer", "buyer_reference", "purchase_order", "chain_index",
                  "previous_hash")  # fmt: skip


def ledger_series(legal_entity_id: int) -> str:
    return f"ledger:{legal_entity_id}"


# How each field is written into the canonical form (the hash must not depend on how a database returns a value:
# Decimal places, dates, the key order of a JSON object).
def _same(value: Any) -> Any:
    return value


def _day(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _amount(places: int) -> Callable[[Any], Any]:
    spec = f".{places}f"

    def convert(value: Any) -> Any:
        return None if value is None else format(Decimal(value), spec)

    return convert


_encoded_objects: dict[int, tuple[Any, str]] = {}


def _object(value: Any) -> str:
    """A JSON object with sorted keys. The monthly run hashes thousands of documents sharing one seller and a few
    buyers (the same dict objects, never changed once built): their encodings are kept by identity."""
    cached = _encoded_objects.get(id(value))
    if cached is not None and cached[0] is value:
        return cached[1]
    encoded = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if len(_encoded_objects) >= 512:
        _encoded_objects.clear()
    _encoded_objects[id(value)] = (value, encoded)
    return encoded


_CONVERTERS = {"issue_date": _day, "due_date": _day, "period_start": _day, "period_end": _day,
               "total_excl_vat": _amount(2), "total_vat": _amount(2), "total_incl_vat": _amount(2),
               "quantity": _amount(3), "unit_price": _amount(4), "discount": _amount(2),
               "amount_excl_vat": _amount(2), "seller": _object, "buyer": _object}  # fmt: skip
INVOICE_CONVERTERS = tuple(_CONVERTERS.get(name, _same) for name in INVOICE_FIELDS)
LINE_CONVERTERS = tuple(_CONVERTERS.get(name, _same) for name in LINE_FIELDS)
_invoice_items, _invoice_attrs = itemgetter(*INVOICE_FIELDS), attrgetter(*INVOICE_FIELDS)
_line_items, _line_attrs = itemgetter(*LINE_FIELDS), attrgetter(*LINE_FIELDS)


def canonical(invoice: Any, lines: Iterable[Any]) -> bytes:
    """The bytes that a document's hash covers: its INVOICE_FIELDS and each line's LINE_FIELDS, in that order.
    `invoice` and the lines are mappings (rows read back by `verify_ledger`) or objects (models, the run's rows)."""
    values = (_invoice_items if isinstance(invoice, dict) else _invoice_attrs)(invoice)
    body: list[Any] = [convert(value) for convert, value in zip(INVOICE_CONVERTERS, values, strict=True)]
    body.append(
        [
            [convert(value) for convert, value in zip(LINE_CONVERTERS, (_line_items if isinstance(line, dict)
                                                                          else _line_attrs)(line), strict=True)]
            for line in lines
        ]
    )  # fmt: skip
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def record_hash(invoice: Any, lines: Iterable[Any]) -> str:
    return hashlib.sha256(canonical(invoice, lines)).hexdigest()


def as_values(obj: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


@dataclass
class Problem:
    legal_entity_id: int
    reference: str
    kind: str  # tampered | missing | broken_link | unexpected
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] entity {self.legal_entity_id} {self.reference}: {self.detail}"


def _batches(entity_id: int, size: int) -> Iterator[tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]]:
    from comptoir.billing.models import Invoice, InvoiceLine

    last = 0
    while True:
        rows = list(
            Invoice.objects.filter(legal_entity_id=entity_id, chain_index__gt=last)
            .order_by("chain_index")
            .values("id", *INVOICE_FIELDS, "record_hash")[:size]
        )
        if not rows:
            return
        lines: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
        for line in (
            InvoiceLine.objects.filter(invoice_id__in=list(lines))
            .order_by("invoice_id", "position", "id")
            .values("invoice_id", *LINE_FIELDS)
            .iterator(chunk_size=size * 8)
        ):
            lines[line["invoice_id"]].append(line)
        yield rows, lines
        last = rows[-1]["chain_index"]


def verify_ledger(*, organization: Organization | None = None, batch_size: int = 2000) -> tuple[int, list[Problem]]:
    """Recompute every chain; returns (documents checked, problems found)."""
    from comptoir.billing.models import Invoice

    entities = LegalEntity.objects.all().order_by("pk")
    if organization is not None:
        entities = entities.filter(organization=organization)
    checked = 0
    problems: list[Problem] = []
    for entity in entities.only("pk", "organization_id"):
        expected_index = 1
        previous = ""
        for rows, lines in _batches(entity.pk, batch_size):
            for row in rows:
                checked += 1
                reference = row["reference"] or f"#{row['id']}"
                if row["chain_index"] != expected_index:
                    problems.append(Problem(entity.pk, reference, "missing",
                                            f"documents {expected_index} to {row['chain_index'] - 1} of the chain are missing"))  # fmt: skip
                if row["previous_hash"] != previous:
                    problems.append(Problem(entity.pk, reference, "broken_link",
                                            "the previous document's hash does not match"))  # fmt: skip
                computed = record_hash(row, lines[row["id"]])
                if computed != row["record_hash"]:
                    problems.append(Problem(entity.pk, reference, "tampered",
                                            "its content does not match its SHA-256"))  # fmt: skip
                previous = row["record_hash"]
                expected_index = row["chain_index"] + 1
        last_issued = (
            NumberSequence.objects.filter(organization_id=entity.organization_id, series=ledger_series(entity.pk))
            .values_list("last_value", flat=True)
            .first()
            or 0
        )
        if last_issued >= expected_index:
            problems.append(Problem(entity.pk, "", "missing",
                                    f"documents {expected_index} to {last_issued} of the chain are missing"))  # fmt: skip
        # Numbers: each series (kind, year) runs 1..n with no gap.
        for kind, year, count, top in _series_counts(entity.pk):
            if count != top:
                problems.append(Problem(entity.pk, f"{kind} {year or ''}".strip(), "missing",
                                        f"{top - count} number(s) missing in the series (highest {top}, {count} documents)"))  # fmt: skip
        issued_drafts = Invoice.objects.filter(legal_entity_id=entity.pk, chain_index__isnull=True).exclude(
            status=Invoice.Status.DRAFT
        )
        for reference in issued_drafts.values_list("reference", flat=True)[:20]:
            problems.append(Problem(entity.pk, reference, "unexpected", "issued without a place in the chain"))
    return checked, problems


def _series_counts(entity_id: int) -> list[tuple[str, int | None, int, int]]:
    from django.db.models import Count
    from django.db.models.functions import ExtractYear

    from comptoir.billing.models import BillingProfile, Invoice

    yearly = (
        BillingProfile.objects.filter(legal_entity_id=entity_id).values_list("numbering", flat=True).first()
        or BillingProfile.Numbering.YEARLY
    ) == BillingProfile.Numbering.YEARLY
    issued = Invoice.objects.filter(legal_entity_id=entity_id, number__isnull=False)
    if yearly:
        rows = issued.values("kind", year=ExtractYear("issue_date")).annotate(count=Count("id"), top=Max("number"))
        return [(row["kind"], row["year"], row["count"], row["top"]) for row in rows]
    rows = issued.values("kind").annotate(count=Count("id"), top=Max("number"))
    return [(row["kind"], None, row["count"], row["top"]) for row in rows]
