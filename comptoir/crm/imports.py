"""CSV import of companies (with their main contact) and of members of existing companies.

`import_companies(organization=, by=, file=, dry_run=)` reads the whole file, checks every row and
returns an `ImportReport` (rows read, rows valid, each error with its line, column and French reason).
Nothing is imported unless `dry_run` is False *and* no row has an error: all the rows go in one
transaction, through `services.create_company` / `services.add_contact` (rights, validation, journal),
and a dry run runs the very same code inside a transaction that is rolled back.

Format (docs/api.md, "CSV import"): UTF-8 with or without BOM, `;` or `,` separators, one header line
with French or English column names (any case, accents optional). A row with a company reference
(`référence`, PR-/CL-) adds a member to that existing company; any other row creates a company.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.models import Organization, User
from comptoir.crm import selectors, services
from comptoir.crm.models import Company

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024

# canonical name → accepted headers (compared without accents, case or surrounding spaces)
COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("référence", "reference", "référence entreprise", "company reference"),
    "name": ("raison sociale", "nom de l'entreprise", "entreprise", "name", "company", "company name", "legal name"),
    "siret": ("siret",),
    "vat_number": ("tva", "n° de tva", "numéro de tva", "tva intracommunautaire", "vat", "vat number"),
    "email": ("e-mail", "email", "courriel"),
    "phone": ("téléphone", "telephone", "tél", "phone"),
    "address_line1": ("adresse", "address", "address line 1"),
    "postal_code": ("code postal", "cp", "postal code", "zip", "zip code"),
    "city": ("ville", "city"),
    "center": ("centre", "code centre", "center", "center code", "centre code"),
    "contact_first_name": ("contact prénom", "prénom du contact", "contact first name", "first name"),
    "contact_last_name": ("contact nom", "nom du contact", "contact last name", "last name"),
    "contact_email": ("contact e-mail", "contact email", "e-mail du contact"),
    "contact_phone": ("contact téléphone", "contact telephone", "contact phone", "téléphone du contact"),
}
COMPANY_COLUMNS = ("siret", "vat_number", "email", "phone", "address_line1", "postal_code", "city")
CONTACT_COLUMNS = {"first_name": "contact_first_name", "last_name": "contact_last_name",
                   "email": "contact_email", "phone": "contact_phone"}  # fmt: skip


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower().replace("’", "'"))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).replace("_", " ").split())


HEADER_INDEX = {_plain(header): name for name, headers in COLUMNS.items() for header in headers}


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]  # canonical name → value
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    headers: list[str] = field(default_factory=list)  # the file's headers, as written
    columns: dict[str, str] = field(default_factory=dict)  # canonical name → header as written
    rows: list[ImportRow] = field(default_factory=list)
    file_errors: list[RowError] = field(default_factory=list)
    companies_created: int = 0
    contacts_created: int = 0

    @property
    def rows_read(self) -> int:
        return len(self.rows)

    @property
    def rows_valid(self) -> int:
        return sum(1 for row in self.rows if not row.errors)

    @property
    def errors(self) -> list[RowError]:
        return [*self.file_errors, *(error for row in self.rows for error in row.errors)]

    @property
    def is_valid(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def imported(self) -> bool:
        return not self.dry_run and self.is_valid

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "companies_created": self.companies_created,
            "contacts_created": self.contacts_created,
            "errors": [error.as_dict() for error in self.errors],
        }


class _Rollback(Exception):
    pass


def decode(file: IO[bytes] | bytes | str) -> str:
    raw: Any = file if isinstance(file, bytes | str) else file.read(MAX_BYTES + 1)
    if isinstance(raw, str):
        return raw.lstrip("\ufeff")
    if len(raw) > MAX_BYTES:
        raise DomainError(_("Fichier trop volumineux (5 Mo au plus)."), code="file_too_large", field="file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(
            _("Le fichier doit être encodé en UTF-8 (enregistrez-le en « CSV UTF-8 »)."), code="encoding", field="file"
        ) from exc


def read_rows(report: ImportReport, text: str) -> None:
    """Parse the CSV into the report's rows (canonical names); unknown columns are reported."""
    if "\x00" in text:
        raise DomainError(_("Ce fichier n'est pas un fichier CSV."), code="not_csv", field="file")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DomainError(_("Le fichier est vide."), code="empty", field="file")
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        report.headers = [cell.strip() for cell in header]
        positions: dict[str, int] = {}
        for index, cell in enumerate(report.headers):
            name = HEADER_INDEX.get(_plain(cell))
            if name is None:
                if cell:
                    report.file_errors.append(RowError(1, cell[:100], _("Colonne inconnue.")))
                continue
            if name in positions:
                report.file_errors.append(RowError(1, cell[:100], _("Colonne en double.")))
                continue
            positions[name] = index
            report.columns[name] = cell
        if "name" not in positions and "reference" not in positions:
            report.file_errors.append(
                RowError(1, "", _("Colonne « raison sociale » (ou « référence ») introuvable dans l'en-tête."))
            )
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(report.rows) >= MAX_ROWS:
                raise DomainError(
                    _("Trop de lignes : %(count)d au plus par import.") % {"count": MAX_ROWS}, code="too_many_rows",
                    field="file",
                )  # fmt: skip
            values = {name: row[index].strip() if index < len(row) else "" for name, index in positions.items()}
            report.rows.append(ImportRow(line=reader.line_num, values=values))
    except csv.Error as exc:
        raise DomainError(
            _("Fichier CSV illisible : %(error)s.") % {"error": exc}, code="not_csv", field="file"
        ) from exc


def _column(report: ImportReport, name: str) -> str:
    return report.columns.get(name, COLUMNS[name][0])


def _add_errors(report: ImportReport, row: ImportRow, exc: DomainError, mapping: dict[str, str]) -> None:
    if not exc.fields:
        row.errors.append(RowError(row.line, "", exc.message))
        return
    already = {error.column for error in row.errors}
    for field_name, messages in exc.fields.items():
        column = mapping.get(field_name)
        label = _column(report, column) if column else ""
        if label and label in already:
            continue  # reported by the import's own check (missing name, SIRET already in the file...)
        for message in messages:
            row.errors.append(RowError(row.line, label, str(message)))


def _check_duplicates(report: ImportReport, organization: Organization) -> None:
    """Duplicate SIRETs in the file, or already used in the organization."""
    first_line: dict[str, int] = {}
    sirets = {row.values.get("siret", "").replace(" ", "").replace(".", "") for row in report.rows} - {""}
    existing = set(Company.objects.filter(organization=organization, siret__in=sirets).values_list("siret", flat=True))
    for row in report.rows:
        if row.values.get("reference"):
            continue
        siret = row.values.get("siret", "").replace(" ", "").replace(".", "")
        if not siret:
            continue
        if siret in existing:
            row.errors.append(
                RowError(row.line, _column(report, "siret"), _("Une entreprise de votre organisation a déjà ce SIRET."))
            )
        elif siret in first_line:
            row.errors.append(
                RowError(
                    row.line, _column(report, "siret"),
                    _("SIRET en double dans le fichier (déjà à la ligne %(line)d).") % {"line": first_line[siret]},
                )
            )  # fmt: skip
        else:
            first_line[siret] = row.line


def _contact_data(values: dict[str, str]) -> dict[str, str]:
    return {name: values[column] for name, column in CONTACT_COLUMNS.items() if values.get(column)}


def _import_row(report: ImportReport, row: ImportRow, *, organization: Organization, by: User, centers: dict) -> None:
    values = row.values
    contact = _contact_data(values)
    contact_mapping = {name: column for name, column in CONTACT_COLUMNS.items()}
    if values.get("reference"):
        reference = values["reference"].upper().replace(" ", "")
        prefix, _dash, number = reference.partition("-")
        company = None
        if prefix in ("PR", "CL") and number.isdigit() and len(number) <= 9:
            kind = Company.Kind.PROSPECT if prefix == "PR" else Company.Kind.CLIENT
            company = selectors.companies_for(by, organization).filter(kind=kind, number=int(number)).first()
        if company is None:
            row.errors.append(RowError(row.line, _column(report, "reference"), _("Entreprise inconnue.")))
            return
        if not contact.get("last_name"):
            row.errors.append(
                RowError(row.line, _column(report, "contact_last_name"), _("Le nom du contact est obligatoire."))
            )
            return
        try:
            with transaction.atomic():
                services.add_contact(company=company, by=by, data=contact)
        except DomainError as exc:
            _add_errors(report, row, exc, contact_mapping)
            return
        report.contacts_created += 1
        return
    if not values.get("name"):
        row.errors.append(RowError(row.line, _column(report, "name"), _("La raison sociale est obligatoire.")))
    data: dict[str, Any] = {"name": values.get("name", "")}
    data.update({name: values[name] for name in COMPANY_COLUMNS if values.get(name)})
    if values.get("center"):
        center = centers.get(values["center"].lower())
        if center is None:
            row.errors.append(RowError(row.line, _column(report, "center"), _("Code de centre inconnu.")))
        else:
            data["center"] = center
    if contact and not contact.get("last_name"):
        row.errors.append(
            RowError(row.line, _column(report, "contact_last_name"), _("Le nom du contact est obligatoire."))
        )
    # the service checks the rest (SIRET, VAT number, e-mail, phone...): every field's errors at once
    mapping = {name: name for name in (*COMPANY_COLUMNS, "name", "center")}
    try:
        with transaction.atomic():
            company = services.create_company(organization=organization, by=by, data=data)
    except DomainError as exc:
        _add_errors(report, row, exc, mapping)
        return
    if row.errors:
        return
    report.companies_created += 1
    if contact:
        try:
            with transaction.atomic():
                services.add_contact(company=company, by=by, data={"company_role": "administrator", **contact},
                                     is_main=True)  # fmt: skip
        except DomainError as exc:
            _add_errors(report, row, exc, contact_mapping)
            return
        report.contacts_created += 1


def import_companies(
    *, organization: Organization, by: User, file: IO[bytes] | bytes | str, dry_run: bool
) -> ImportReport:
    """Check every row and import them all (not dry_run, no error) or nothing; see the module's docstring."""
    from comptoir.core import rights

    rights.require(by, "crm.add_company", organization)
    report = ImportReport(dry_run=dry_run)
    read_rows(report, decode(file))
    if not report.rows and not report.file_errors:
        report.file_errors.append(RowError(1, "", _("Le fichier ne contient aucune ligne de données.")))
    if report.file_errors:
        return report
    centers = {c.code.lower(): c for c in core_selectors.centers_for(by, organization)}
    _check_duplicates(report, organization)
    try:
        with transaction.atomic():
            for row in report.rows:
                if not row.errors:
                    _import_row(report, row, organization=organization, by=by, centers=centers)
            if dry_run or report.errors:
                raise _Rollback
    except _Rollback:
        pass
    if not report.imported:
        report.companies_created = report.contacts_created = 0
    return report
