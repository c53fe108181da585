"""SEPA direct-debit files: the pain.008.001.02 sent to the bank, the bank's return, the GoCardless export.

Pure functions of the data (no database write), used by `comptoir.payments.services.debits`.

pain.008.001.02 (`build_pain008`)
    Made with the `sepaxml` library: one creditor (the legal entity: name, IBAN, BIC, SEPA creditor
    identifier), one payment information block per scheme (CORE / B2B) and sequence type (FRST / RCUR), one
    transaction per debit (debtor = the mandate's holder, IBAN, BIC, unique mandate reference and signature
    date; end-to-end id of the debit; the invoice's reference as remittance information). Names are reduced to
    the SEPA Latin character set. When a batch holds CORE and B2B debits, the two documents are merged into one
    (the group header's count and control sum are recomputed).

Bank return (`parse_return`), two formats, recognised by their content:

* CSV, UTF-8, separator ``;`` (``,`` accepted), one header line then one line per debit::

      end_to_end_id;status;reason_code;date
      PRLV-20270105-1-001-0001;accepted;;2027-01-05
      PRLV-20270105-1-001-0002;rejected;AM04;2027-01-07

  ``end_to_end_id``: the debit's end-to-end id (as in the pain.008); ``status``: ``accepted`` (also ``ok``,
  ``paid``, ``accepte``) or ``rejected`` (also ``rejet``, ``rejete``, ``returned``); ``reason_code``: the ISO
  20022 return reason (AC04, AM04, MD01...), required for a rejection; ``date``: the day of the bank's answer,
  ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (empty: today).

* camt.054 (any version, namespaces ignored): every ``Ntry/NtryDtls/TxDtls`` with ``Refs/EndToEndId``; a
  transaction carrying ``RtrInf`` is a rejection with its reason code (``Rsn/Cd``, else the bank's ``Rsn/Prtry``,
  else MS03), one without is accepted; the date is the entry's booking date (``BookgDt/Dt`` or ``BookgDt/DtTm``),
  else its value date.

GoCardless export (`gocardless_csv`): one line per active mandate, in the column names of GoCardless's bulk
import of customers and mandates: ``customer.company_name``, ``customer.given_name``, ``customer.family_name``,
``customer.email``, ``customer.address_line1``, ``customer.city``, ``customer.postal_code``,
``customer.country_code``, ``customer.metadata.comptoir_reference`` (CL-000123),
``customer_bank_account.account_holder_name``, ``customer_bank_account.iban``, ``customer_bank_account.bic``,
``mandate.reference`` (the RUM), ``mandate.scheme`` (``sepa_core`` / ``sepa_b2b``), ``mandate.signed_at``
(YYYY-MM-DD), ``mandate.creditor_id``.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree
from text_unidecode import unidecode

# ISO 20022 return reasons of SEPA direct debits (the usual ones), with their French labels.
MANUAL_REVERSAL = "MANUAL"  # a debit's payment reversed by the staff before the bank's return (not an ISO code)
REASON_LABELS: dict[str, Any] = {
    MANUAL_REVERSAL: gettext_lazy("Rejet enregistré à la main"),
    "AC01": gettext_lazy("IBAN incorrect"),
    "AC04": gettext_lazy("Compte clôturé"),
    "AC06": gettext_lazy("Compte bloqué"),
    "AC13": gettext_lazy("Compte d'un particulier (prélèvement B2B refusé)"),
    "AG01": gettext_lazy("Prélèvement interdit sur ce compte"),
    "AG02": gettext_lazy("Code opération invalide"),
    "AM04": gettext_lazy("Provision insuffisante"),
    "AM05": gettext_lazy("Prélèvement en double"),
    "BE05": gettext_lazy("Créancier non reconnu"),
    "CNOR": gettext_lazy("Banque du créancier non joignable"),
    "DNOR": gettext_lazy("Banque du débiteur non joignable"),
    "FF01": gettext_lazy("Format de fichier invalide"),
    "MD01": gettext_lazy("Pas de mandat valide"),
    "MD02": gettext_lazy("Données du mandat manquantes ou incorrectes"),
    "MD06": gettext_lazy("Remboursement demandé par le débiteur"),
    "MD07": gettext_lazy("Débiteur décédé"),
    "MS02": gettext_lazy("Refus du débiteur"),
    "MS03": gettext_lazy("Motif non communiqué"),
    "RC01": gettext_lazy("BIC incorrect"),
    "RR01": gettext_lazy("Identification du débiteur manquante"),
    "RR02": gettext_lazy("Nom ou adresse du débiteur manquant"),
    "RR03": gettext_lazy("Nom ou adresse du créancier manquant"),
    "RR04": gettext_lazy("Motif réglementaire"),
    "SL01": gettext_lazy("Service spécifique de la banque du débiteur"),
}

ACCEPTED_WORDS = {"accepted", "accepte", "accepté", "ok", "paid", "paye", "payé", "booked", "collected"}
REJECTED_WORDS = {"rejected", "rejete", "rejeté", "rejet", "returned", "refused", "refuse", "refusé"}
CSV_COLUMNS = ("end_to_end_id", "status", "reason_code", "date")
MAX_RETURN_BYTES = 10 * 1024 * 1024
SEPA_TEXT = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


class ReturnFileError(ValueError):
    """The bank's return file cannot be read (the message is French, shown to the user)."""


def reason_label(code: str) -> str:
    label = REASON_LABELS.get((code or "").upper())
    return str(label) if label is not None else _("Motif %(code)s") % {"code": code}


def sepa_text(value: str, length: int) -> str:
    """`value` in the SEPA Latin character set (accents dropped, other signs replaced by spaces), cut to `length`."""
    text = SEPA_TEXT.sub(" ", unidecode(value or ""))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:length].strip() or "-"


# --------------------------------------------------------------------------------------------------
# pain.008.001.02
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class Debit:
    end_to_end_id: str
    amount: Decimal
    sequence_type: str  # FRST, RCUR
    scheme: str  # CORE, B2B
    debtor_name: str
    iban: str
    bic: str
    mandate_reference: str
    mandate_signed_on: datetime.date
    description: str


def _document(creditor: Creditor, debits: Sequence[Debit], collection_date: datetime.date, scheme: str,
              message_id: str) -> etree._Element:  # fmt: skip
    from sepaxml import SepaDD

    config = {
        "name": sepa_text(creditor.name, 70),
        "IBAN": creditor.iban,
        "BIC": creditor.bic,
        "batch": True,
        "creditor_id": creditor.creditor_id,
        "currency": "EUR",
        "instrument": scheme,
    }
    document = SepaDD(config, schema="pain.008.001.02", clean=True)
    document.msg_id = message_id
    for debit in debits:
        document.add_payment(
            {
                "name": sepa_text(debit.debtor_name, 70),
                "IBAN": debit.iban,
                "BIC": debit.bic,
                "amount": int((debit.amount * 100).to_integral_value()),
                "type": debit.sequence_type,
                "collection_date": collection_date,
                "mandate_id": debit.mandate_reference,
                "mandate_date": debit.mandate_signed_on,
                "description": sepa_text(debit.description, 140),
                "endtoend_id": debit.end_to_end_id,
            }
        )
    return etree.fromstring(document.export(validate=False))  # validated once, whole, by lxml (`_schema`)


@functools.cache
def _schema() -> etree.XMLSchema:
    """The pain.008.001.02 XSD shipped with sepaxml, compiled once by lxml (C, fast: sepaxml's own validation with
    xmlschema costs about a millisecond per debit)."""
    import sepaxml

    return etree.XMLSchema(etree.parse(str(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd")))


def build_pain008(*, creditor: Creditor, debits: Sequence[Debit], collection_date: datetime.date,
                  message_id: str) -> bytes:  # fmt: skip
    """The pain.008.001.02 XML of the debits (validated against the XSD by sepaxml)."""
    if not debits:
        raise ValueError("no debit")
    message_id = sepa_text(message_id, 35).replace(" ", "-")
    schemes = sorted({debit.scheme for debit in debits})
    roots = [
        _document(creditor, [d for d in debits if d.scheme == scheme], collection_date, scheme, message_id)
        for scheme in schemes
    ]
    root = roots[0]
    if len(roots) > 1:
        namespace = etree.QName(root).namespace
        initiation = root[0]
        for other in roots[1:]:
            for block in other[0].findall(f"{{{namespace}}}PmtInf"):
                initiation.append(block)
        header = initiation.find(f"{{{namespace}}}GrpHdr")
        header.find(f"{{{namespace}}}NbOfTxs").text = str(len(debits))
        total = sum((debit.amount for debit in debits), Decimal("0"))
        header.find(f"{{{namespace}}}CtrlSum").text = f"{total:.2f}"
    _schema().assertValid(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --------------------------------------------------------------------------------------------------
# The bank's return
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReturnLine:
    end_to_end_id: str
    accepted: bool
    reason_code: str
    on: datetime.date | None


def _date(value: str) -> datetime.date | None:
    value = (value or "").strip()
    if not value:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(value[:10], pattern).date()
        except ValueError:
            continue
    raise ReturnFileError(_("Date illisible : « %(value)s » (AAAA-MM-JJ ou JJ/MM/AAAA).") % {"value": value[:20]})


def _parse_csv(text: str) -> list[ReturnLine]:
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:  # a field over the csv module's limit, a stray quote...
        raise ReturnFileError(_("Fichier CSV illisible : %(error)s") % {"error": str(exc)[:200]}) from None
    if not rows:
        raise ReturnFileError(_("Le fichier est vide."))
    header = [cell.strip().lower().lstrip("\ufeff") for cell in rows[0]]
    missing = [name for name in ("end_to_end_id", "status") if name not in header]
    if missing:
        raise ReturnFileError(
            _("Colonnes attendues : %(columns)s (séparateur « ; »).") % {"columns": ";".join(CSV_COLUMNS)}
        )
    index = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    lines = []
    for number, row in enumerate(rows[1:], start=2):

        def cell(name: str, row: list[str] = row) -> str:
            position = index.get(name)
            return row[position].strip() if position is not None and position < len(row) else ""

        end_to_end_id = cell("end_to_end_id")
        status = unidecode(cell("status")).lower()
        if not end_to_end_id:
            raise ReturnFileError(_("Ligne %(line)s : identifiant de bout en bout manquant.") % {"line": number})
        reason = cell("reason_code").upper()
        if status in {unidecode(word) for word in ACCEPTED_WORDS}:
            accepted = True
        elif status in {unidecode(word) for word in REJECTED_WORDS}:
            accepted = False
            if not reason:
                raise ReturnFileError(_("Ligne %(line)s : indiquez le code motif du rejet.") % {"line": number})
        else:
            raise ReturnFileError(
                _("Ligne %(line)s : statut « %(status)s » inconnu (accepted ou rejected).")
                % {"line": number, "status": cell("status")[:20]}
            )
        lines.append(ReturnLine(end_to_end_id, accepted, "" if accepted else reason[:10], _date(cell("date"))))
    return lines


def _local(element: etree._Element, path: str) -> list[etree._Element]:
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    return element.xpath(steps)


def _text(element: etree._Element, path: str) -> str:
    found = _local(element, path)
    return (found[0].text or "").strip() if found else ""


def _parse_camt(data: bytes) -> list[ReturnLine]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ReturnFileError(_("XML illisible : %(error)s") % {"error": str(exc)[:200]}) from None
    lines = []
    for entry in root.xpath("//*[local-name()='Ntry']"):
        day = _text(entry, "BookgDt/Dt") or _text(entry, "BookgDt/DtTm") or _text(entry, "ValDt/Dt")
        on = _date(day) if day else None
        for detail in _local(entry, "NtryDtls/TxDtls"):
            end_to_end_id = _text(detail, "Refs/EndToEndId")
            if not end_to_end_id or end_to_end_id == "NOTPROVIDED":
                continue
            # a return carries its reason as an ISO code (Cd) or a bank's proprietary one (Prtry)
            reason = (_text(detail, "RtrInf/Rsn/Cd") or _text(detail, "RtrInf/Rsn/Prtry")).upper()
            if not reason and _local(detail, "RtrInf"):
                reason = "MS03"  # a return without a stated reason: « motif non communiqué »
            lines.append(ReturnLine(end_to_end_id, not reason, reason[:10], on))
    if not lines:
        raise ReturnFileError(_("Aucune opération avec un identifiant de bout en bout dans ce fichier camt.054."))
    return lines


def parse_return(data: bytes) -> list[ReturnLine]:
    """The lines of a bank return (CSV or camt.054, see the module's docstring); ReturnFileError if unreadable."""
    if not data or not data.strip():
        raise ReturnFileError(_("Le fichier est vide."))
    if len(data) > MAX_RETURN_BYTES:
        raise ReturnFileError(_("Fichier trop volumineux (10 Mo au plus)."))
    head = data.lstrip()[:1]
    if head == b"<":
        return _parse_camt(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return _parse_csv(text)


# --------------------------------------------------------------------------------------------------
# GoCardless
# --------------------------------------------------------------------------------------------------
GOCARDLESS_COLUMNS = (
    "customer.company_name",
    "customer.given_name",
    "customer.family_name",
    "customer.email",
    "customer.address_line1",
    "customer.city",
    "customer.postal_code",
    "customer.country_code",
    "customer.metadata.comptoir_reference",
    "customer_bank_account.account_holder_name",
    "customer_bank_account.iban",
    "customer_bank_account.bic",
    "mandate.reference",
    "mandate.scheme",
    "mandate.signed_at",
    "mandate.creditor_id",
)


def gocardless_csv(rows: Iterable[dict[str, str]]) -> str:
    """The CSV (comma-separated, UTF-8) of the rows, keyed by GOCARDLESS_COLUMNS."""
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=GOCARDLESS_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in GOCARDLESS_COLUMNS})
    return output.getvalue()
