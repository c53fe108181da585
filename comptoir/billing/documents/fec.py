"""The FEC (Fichier des Écritures Comptables, LPF art. A47 A-1) of a legal entity's sales journal: pure functions
of the documents (the service `comptoir.billing.services.exports` feeds them in chunks).

One entry per issued invoice or credit note, numbered continuously (EcritureNum), dated its issue date:
- the customer on the collective account (`BillingProfile.customer_account`, 411000) with the auxiliary account
  (`CustomerBillingProfile.auxiliary_account`, else "411" + the company's reference) in CompAuxNum / CompAuxLib;
- the sales per account: each line's accounting code, else the profile's sales account (the deposit lines on the
  deposit account), summed per account;
- the VAT per rate on `vat_account_prefix` + the rate (4457120 for 20 %, 4457155 for 5,5 %).
An invoice debits the customer and credits the rest; a credit note is the reverse. Every entry balances
because the document's totals are the sums of its lines and of its VAT groups (EN 16931).

Flat file: TAB separated, the 18 field names on the first line, dates AAAAMMJJ, amounts with a comma and no
thousands separator, CRLF, ISO-8859-15 (characters it lacks are replaced by their closest ASCII form).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

COLUMNS = [
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
    "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
    "ValidDate", "Montantdevise", "Idevise",
]  # fmt: skip
SEPARATOR = "\t"
NEWLINE = "\r\n"
ENCODING = "iso-8859-15"
ZERO = Decimal("0.00")
JOURNAL_LABEL = "Journal des ventes"
CUSTOMER_LABEL = "Clients"
ACCOUNT_LABELS = {
    "165": "Dépôts et cautionnements reçus",
    "704": "Travaux",
    "706": "Prestations de services",
    "707": "Ventes de marchandises",
    "708": "Produits des activités annexes",
    "752": "Revenus des immeubles",
}
LABEL_MAX = 200


@dataclass(frozen=True)
class FecLine:
    journal_code: str
    entry_number: str
    entry_date: datetime.date
    account: str
    account_label: str
    piece_ref: str
    piece_date: datetime.date
    label: str
    debit: Decimal
    credit: Decimal
    valid_date: datetime.date
    auxiliary_number: str = ""
    auxiliary_label: str = ""
    journal_label: str = JOURNAL_LABEL


@dataclass(frozen=True)
class Accounts:
    """The accounts of a legal entity (its BillingProfile)."""

    journal_code: str
    customer: str
    sales: str
    deposit: str
    vat_prefix: str


def filename(siren: str, closing_date: datetime.date) -> str:
    """<SIREN>FEC<AAAAMMJJ>.txt, the closing date of the period."""
    return f"{siren}FEC{closing_date:%Y%m%d}.txt"


def text(value: Any) -> str:
    """A field: no separator, no line break, nothing ISO-8859-15 cannot encode."""
    cleaned = re.sub(r"[\t\r\n|]+", " ", str(value or "")).strip()
    try:
        cleaned.encode(ENCODING)
    except UnicodeEncodeError:
        cleaned = "".join(_latin9(char) for char in cleaned)
    return cleaned


def _latin9(char: str) -> str:
    try:
        char.encode(ENCODING)
        return char
    except UnicodeEncodeError:
        folded = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
        return folded or {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}.get(
            char, "?"
        )


def amount(value: Decimal) -> str:
    """1234,50: a comma, two decimals, no thousands separator, never negative (the side says the sign)."""
    return f"{abs(value):.2f}".replace(".", ",")


def day(value: datetime.date | None) -> str:
    return f"{value:%Y%m%d}" if value else ""


def vat_account(prefix: str, rate: Decimal | str) -> str:
    """44571 + 20 % → 4457120; 5,5 % → 4457155; 2,1 % → 4457121."""
    digits = f"{Decimal(str(rate)):.2f}".rstrip("0").rstrip(".").replace(".", "")
    return f"{prefix}{digits}"


def account_label(account: str, accounts: Accounts) -> str:
    if account == accounts.customer:
        return CUSTOMER_LABEL
    if account.startswith(accounts.vat_prefix):
        return "TVA collectée"
    return ACCOUNT_LABELS.get(account[:3], "Produits")


def auxiliary_account(auxiliary: str, company_reference: str) -> str:
    """The customer's auxiliary account: its billing profile's, else 411 + its reference (CL-000123 → 411CL000123)."""
    return auxiliary or "411" + re.sub(r"[^0-9A-Za-z]", "", company_reference)


def invoice_entry(
    *,
    number: int,
    accounts: Accounts,
    reference: str,
    is_credit_note: bool,
    issue_date: datetime.date,
    customer_name: str,
    customer_auxiliary: str,
    total_incl_vat: Decimal,
    lines: Iterable[tuple[str, Decimal]],
    vat_groups: Iterable[tuple[Decimal | str, Decimal]],
) -> list[FecLine]:
    """The lines of one document's entry. `lines` are (accounting code or "", net amount excl. VAT) — a deposit
    line already carries the deposit account — and `vat_groups` (rate, VAT amount)."""
    kind = "Avoir" if is_credit_note else "Facture"
    label = text(f"{kind} {reference} {customer_name}")[:LABEL_MAX]
    entry = str(number)

    def line(account: str, value: Decimal, *, customer: bool = False) -> FecLine:
        # invoices: customer debit, the rest credit; credit notes: the reverse; a negative sum changes side.
        debit_side = customer != is_credit_note
        if value < 0:
            debit_side, value = not debit_side, -value
        return FecLine(
            journal_code=accounts.journal_code,
            entry_number=entry,
            entry_date=issue_date,
            account=account,
            account_label=account_label(account, accounts),
            piece_ref=reference,
            piece_date=issue_date,
            label=label,
            debit=value if debit_side else ZERO,
            credit=ZERO if debit_side else value,
            valid_date=issue_date,
            auxiliary_number=text(customer_auxiliary) if customer else "",
            auxiliary_label=text(customer_name)[:LABEL_MAX] if customer else "",
        )

    result = [line(accounts.customer, total_incl_vat, customer=True)]
    per_account: dict[str, Decimal] = {}
    for code, net in lines:
        account = (code or "").strip() or accounts.sales
        per_account[account] = per_account.get(account, ZERO) + net
    for account, total in per_account.items():
        if total:
            result.append(line(account, total))
    per_rate: dict[str, Decimal] = {}
    for rate, vat in vat_groups:
        account = vat_account(accounts.vat_prefix, rate)
        per_rate[account] = per_rate.get(account, ZERO) + Decimal(str(vat))
    for account, total in per_rate.items():
        if total:
            result.append(line(account, total))
    return result


def header() -> str:
    return SEPARATOR.join(COLUMNS) + NEWLINE


def render_line(row: FecLine) -> str:
    values = [
        text(row.journal_code), text(row.journal_label), row.entry_number, day(row.entry_date), text(row.account),
        text(row.account_label), row.auxiliary_number, row.auxiliary_label, text(row.piece_ref), day(row.piece_date),
        row.label, amount(row.debit), amount(row.credit), "", "", day(row.valid_date), "", "",
    ]  # fmt: skip
    return SEPARATOR.join(values) + NEWLINE


def encode(chunk: str) -> bytes:
    return chunk.encode(ENCODING, errors="replace")


def is_balanced(rows: Iterable[FecLine]) -> bool:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.entry_number] = totals.get(row.entry_number, ZERO) + row.debit - row.credit
    return all(value == 0 for value in totals.values())
