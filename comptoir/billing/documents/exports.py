"""Export files of invoices and credit notes, pure functions of the data (the service feeds them in chunks):

- the desk's « Export »: a .zip with `factures.csv` (UTF-8 with BOM, `;`, French dates and decimals: opens as is
  in a French spreadsheet) and every document's PDF named by its number;
- the Chorus Pro batch: a .tar.gz of the Factur-X PDFs of public buyers' documents and a `manifeste.csv`;
  `chorus_xml_problems` checks that the embedded CII carries the buyer's SIRET, the service code (BT-10) and the
  commitment number (BT-13) before a document goes in.
"""

from __future__ import annotations

import csv
import datetime
import io
import tarfile
import time
import zipfile
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext as _

CSV_NAME = "factures.csv"
MANIFEST_NAME = "manifeste.csv"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


# --------------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------------
def cell(value: Any) -> str:
    """A spreadsheet cell: French dates and decimals, no formula injection."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES):
        text = "'" + text
    return text


def safe_filename(reference: str, suffix: str) -> str:
    name = "".join(char if char.isalnum() or char in "-_." else "_" for char in reference) or "document"
    return f"{name}{suffix}"


def csv_header() -> list[str]:
    return [
        _("Numéro"), _("Type"), _("Date d'émission"), _("Échéance"), _("Client"), _("SIREN du client"), _("Centre"),
        _("Total HT"), _("TVA"), _("Total TTC"), _("Statut"), _("Facture d'origine"),
    ]  # fmt: skip


def csv_row(invoice: Any) -> list[str]:
    buyer = invoice.buyer or {}
    siren = buyer.get("siren") or invoice.company.siren or (invoice.company.siret or "")[:9]
    return [
        cell(invoice.reference),
        cell(invoice.get_kind_display()),
        cell(invoice.issue_date),
        cell(invoice.due_date),
        cell(buyer.get("name") or invoice.company.name),
        cell(siren),
        cell(invoice.center.name),
        cell(invoice.total_excl_vat),
        cell(invoice.total_vat),
        cell(invoice.total_incl_vat),
        cell(invoice.get_status_display()),
        cell(invoice.credited_invoice.reference if invoice.credited_invoice_id else ""),
    ]


class CsvBuffer:
    """A CSV written line by line into a text buffer (UTF-8 with BOM, `;`)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.buffer.write("\ufeff")
        self.writer = csv.writer(self.buffer, delimiter=";", lineterminator="\r\n")

    def writerow(self, row: list[str]) -> None:
        self.writer.writerow(row)

    def getvalue(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------------
# The desk's export: zip of the CSV and the PDFs
# --------------------------------------------------------------------------------------------------
class ZipExport:
    """with ZipExport(file) as export: export.add(invoice, pdf) ...; the CSV is written last, into the zip."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED)
        self.csv = CsvBuffer()
        self.csv.writerow(csv_header())
        self.names: set[str] = set()

    def _unique(self, name: str) -> str:
        stem, dot, suffix = name.rpartition(".")
        candidate, index = name, 2
        while candidate in self.names:
            candidate = f"{stem}-{index}{dot}{suffix}"
            index += 1
        self.names.add(candidate)
        return candidate

    def add(self, invoice: Any, pdf: bytes) -> None:
        self.csv.writerow(csv_row(invoice))
        name = self._unique(safe_filename(invoice.reference, ".pdf"))
        self.zip.writestr(zipfile.ZipInfo(name, _zip_time()), pdf, compress_type=zipfile.ZIP_STORED)

    def __enter__(self) -> ZipExport:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.zip.writestr(zipfile.ZipInfo(CSV_NAME, _zip_time()), self.csv.getvalue(),
                              compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
        self.zip.close()


def _zip_time() -> tuple[int, int, int, int, int, int]:
    return time.localtime()[:6]  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# Chorus Pro batch
# --------------------------------------------------------------------------------------------------
def manifest_header() -> list[str]:
    return [_("Fichier"), _("Numéro"), _("Type"), _("Date d'émission"), _("Acheteur"), _("SIRET de l'acheteur"),
            _("Code service"), _("Numéro d'engagement"), _("Total TTC"), _("Résultat")]  # fmt: skip


def _texts(root: Any, path: str) -> list[str]:
    return [str(value).strip() for value in root.xpath(path, namespaces=CII_NS)]


def chorus_xml_problems(xml: bytes, *, siret: str, service_code: str, commitment_number: str) -> list[str]:
    """What the CII XML lacks for Chorus Pro: the buyer's SIRET (its legal organization or global id, scheme 0009,
    or any identifier of the buyer), the service code as BuyerReference (BT-10), the commitment number as the
    buyer's order reference (BT-13)."""
    from lxml import etree

    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return [_("Le XML Factur-X est illisible.")]
    problems = []
    buyer_ids = _texts(root, "//ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty//ram:ID/text()")
    buyer_ids += _texts(root, "//ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty//ram:GlobalID/text()")
    if not siret or siret not in buyer_ids:
        problems.append(_("Le SIRET de l'acheteur (%(siret)s) est absent du XML.") % {"siret": siret or "—"})
    references = _texts(root, "//ram:ApplicableHeaderTradeAgreement/ram:BuyerReference/text()")
    if service_code and service_code not in references:
        problems.append(_("Le code service (%(code)s) est absent du XML.") % {"code": service_code})
    orders = _texts(
        root, "//ram:ApplicableHeaderTradeAgreement/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()"
    )
    if commitment_number and commitment_number not in orders:
        problems.append(_("Le numéro d'engagement (%(number)s) est absent du XML.") % {"number": commitment_number})
    return problems


class ChorusExport:
    """with ChorusExport(file) as export: export.add(invoice, pdf) / export.skip(invoice, reason); a manifest
    (one row per document, deposited or left out with the reason) is written last."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self.tar = tarfile.open(fileobj=fileobj, mode="w:gz")  # noqa: SIM115  (closed in __exit__)
        self.manifest = CsvBuffer()
        self.manifest.writerow(manifest_header())
        self.names: set[str] = set()
        self.added = 0
        self.skipped = 0

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = int(time.time())
        info.mode = 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def _row(self, invoice: Any, name: str, result: str) -> list[str]:
        buyer = invoice.buyer or {}
        return [
            name, cell(invoice.reference), cell(invoice.get_kind_display()), cell(invoice.issue_date),
            cell(buyer.get("name") or invoice.company.name), cell(buyer.get("siret") or invoice.company.siret),
            cell(invoice.buyer_reference), cell(invoice.purchase_order), cell(invoice.total_incl_vat), result,
        ]  # fmt: skip

    def add(self, invoice: Any, pdf: bytes) -> None:
        name = safe_filename(invoice.reference, ".pdf")
        index = 2
        while name in self.names:
            name = safe_filename(f"{invoice.reference}-{index}", ".pdf")
            index += 1
        self.names.add(name)
        self._member(name, pdf)
        self.manifest.writerow(self._row(invoice, name, _("À déposer")))
        self.added += 1

    def skip(self, invoice: Any, reason: str) -> None:
        self.manifest.writerow(self._row(invoice, "", _("Écartée : %(reason)s") % {"reason": reason}))
        self.skipped += 1

    def __enter__(self) -> ChorusExport:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._member(MANIFEST_NAME, self.manifest.getvalue())
        self.tar.close()
