"""The FEC of a legal entity's sales journal (LPF art. A47 A-1): 18 TAB-separated columns, one balanced entry per
issued document, continuous numbering, customer / sales / VAT accounts from the billing profiles; the file passes
/work/shared/validators/validate_fec.py."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from comptoir.billing.documents import fec
from comptoir.billing.models import BillingProfile, CustomerBillingProfile, ExportJob
from comptoir.billing.services import exports as services
from comptoir.billing.services.invoices import credit_invoice, issue_invoice, recompute_totals
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory
from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.core.errors import ValidationFailed
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return client_company(org)


VALIDATORS = Path(settings.BASE_DIR).parent / "shared" / "validators"
DEPOSIT_REASON = "Dépôt de garantie : hors champ de la TVA"


def issue_with_lines(org, company, center, lines):  # type: ignore[no-untyped-def]
    invoice = InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)
    for position, values in enumerate(lines, start=1):
        InvoiceLineFactory(invoice=invoice, position=position, **values)
    recompute_totals(invoice)
    invoice.save()
    return issue_invoice(invoice=invoice, by=None, check_rights=False)


@pytest.fixture
def journal(org, admin, center, company):  # type: ignore[no-untyped-def]
    """An invoice with three lines on two accounts and two VAT rates, a deposit invoice, and an invoice fully
    credited, for two clients (one with its own auxiliary account); plus a draft and another organization's."""
    CustomerBillingProfile.objects.create(organization=org, company=company, auxiliary_account="411LUMIERE")
    other_client = CompanyFactory(organization=org, kind=Company.Kind.CLIENT, name="Studio Azur", siren="552100554")
    mixed = issue_with_lines(org, company, center, [
        {"description": "Bureau 12", "unit_price": Decimal("100.0000")},
        {"description": "Domiciliation", "unit_price": Decimal("200.0000"), "accounting_code": "708000"},
        {"description": "Livre", "unit_price": Decimal("10.0000"), "vat_rate": "5.50"},
    ])  # fmt: skip
    deposit = issue_with_lines(org, other_client, center, [
        {"description": "Dépôt de garantie", "unit_price": Decimal("1500.0000"), "vat_rate": "0.00",
         "vat_category": "O", "vat_exemption_reason": DEPOSIT_REASON, "source": "deposit",
         "accounting_code": "165000"},
    ])  # fmt: skip
    credited = issue_for(org, other_client, center)
    credit_note = credit_invoice(invoice=credited, by=admin)
    InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)  # a draft
    return {"mixed": mixed, "deposit": deposit, "credited": credited, "credit_note": credit_note,
            "other_client": other_client}  # fmt: skip


def build_fec(org, admin, center, django_capture_on_commit_callbacks, **parameters):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    parameters = {"date_from": today - datetime.timedelta(days=30), "date_to": today, **parameters}
    with django_capture_on_commit_callbacks(execute=True):
        job = services.request_export(organization=org, by=admin, kind="fec", parameters=parameters)
    job.refresh_from_db()
    return job


def read_rows(job: ExportJob) -> list[list[str]]:
    with job.file.open("rb") as handle:
        text = handle.read().decode("iso-8859-15")
    assert text.endswith("\r\n")
    return [line.split("\t") for line in text.split("\r\n")[:-1]]


def validate(job: ExportJob, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = VALIDATORS / "validate_fec.py"
    assert script.is_file(), f"The FEC validator is missing: {script} (the shared validators must be installed)"
    target = tmp_path / services.download_name(job)
    with job.file.open("rb") as handle, target.open("wb") as out:
        shutil.copyfileobj(handle, out)
    return subprocess.run([sys.executable, str(script), str(target)], capture_output=True, text=True, timeout=60)


def test_the_fec_passes_the_validator_and_each_entry_balances(
    org, admin, center, company, journal, tmp_path, django_capture_on_commit_callbacks
):
    job = build_fec(org, admin, center, django_capture_on_commit_callbacks)

    assert job.status == ExportJob.Status.DONE, job.error
    assert services.download_name(job) == f"{center.legal_entity.siren}FEC{timezone.localdate():%Y%m%d}.txt"
    result = validate(job, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESULT: VALID (0 error(s), 0 warning(s))" in result.stdout
    rows = read_rows(job)
    assert rows[0] == fec.COLUMNS
    totals: dict[str, Decimal] = {}
    for row in rows[1:]:
        totals[row[2]] = (
            totals.get(row[2], Decimal(0)) + Decimal(row[11].replace(",", ".")) - Decimal(row[12].replace(",", "."))
        )
    assert totals == {"1": 0, "2": 0, "3": 0, "4": 0}  # four documents, numbered continuously, each balanced
    assert job.done == job.total == 4


def test_the_entries_use_the_customer_sales_deposit_and_vat_accounts(
    org, admin, center, company, journal, django_capture_on_commit_callbacks
):
    job = build_fec(org, admin, center, django_capture_on_commit_callbacks)
    rows = read_rows(job)[1:]
    day = f"{timezone.localdate():%Y%m%d}"
    mixed, deposit, credited, credit_note = (journal[key] for key in ("mixed", "deposit", "credited", "credit_note"))
    other_aux = "411" + journal["other_client"].reference.replace("-", "")

    def entry(number: str) -> list[tuple[str, ...]]:
        # (CompteNum, CompAuxNum, CompAuxLib, PieceRef, Debit, Credit)
        return [(r[4], r[6], r[7], r[8], r[11], r[12]) for r in rows if r[2] == number]

    assert entry("1") == [
        ("411000", "411LUMIERE", "Atelier Lumière", mixed.reference, "370,55", "0,00"),
        ("706000", "", "", mixed.reference, "0,00", "110,00"),
        ("708000", "", "", mixed.reference, "0,00", "200,00"),
        ("4457120", "", "", mixed.reference, "0,00", "60,00"),
        ("4457155", "", "", mixed.reference, "0,00", "0,55"),
    ]
    assert entry("2") == [
        ("411000", other_aux, "Studio Azur", deposit.reference, "1500,00", "0,00"),
        ("165000", "", "", deposit.reference, "0,00", "1500,00"),
    ]
    assert entry("3") == [
        ("411000", other_aux, "Studio Azur", credited.reference, "120,00", "0,00"),
        ("706000", "", "", credited.reference, "0,00", "100,00"),
        ("4457120", "", "", credited.reference, "0,00", "20,00"),
    ]
    assert entry("4") == [  # the credit note reverses its invoice
        ("411000", other_aux, "Studio Azur", credit_note.reference, "0,00", "120,00"),
        ("706000", "", "", credit_note.reference, "100,00", "0,00"),
        ("4457120", "", "", credit_note.reference, "20,00", "0,00"),
    ]
    first = rows[0]
    assert first[:4] == ["VE", "Journal des ventes", "1", day]
    assert (first[5], first[9], first[10], first[15], first[13], first[14], first[16], first[17]) == (
        "Clients",
        day,
        f"Facture {mixed.reference} Atelier Lumière",
        day,
        "",
        "",
        "",
        "",
    )
    assert rows[-1][10] == f"Avoir {credit_note.reference} Studio Azur"


def test_the_profiles_accounts_and_journal_are_used(
    org, admin, center, company, journal, django_capture_on_commit_callbacks
):
    BillingProfile.objects.filter(legal_entity=center.legal_entity).update(
        customer_account="411100", sales_account="706100", vat_account_prefix="445710", sales_journal="VT"
    )
    rows = read_rows(build_fec(org, admin, center, django_capture_on_commit_callbacks))[1:]

    assert {row[0] for row in rows} == {"VT"}
    assert [row[4] for row in rows if row[2] == "1"] == ["411100", "706100", "708000", "44571020", "44571055"]


def test_the_fec_takes_only_the_period_of_the_entity_and_never_a_draft(
    org, admin, center, company, other_org, other_center, django_capture_on_commit_callbacks
):
    old = InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)
    InvoiceLineFactory(invoice=old)
    recompute_totals(old)
    old.save()
    issue_invoice(invoice=old, by=None, check_rights=False, issue_date=timezone.localdate() - datetime.timedelta(40))
    current = issue_for(org, company, center)
    InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)  # a draft
    foreign = CompanyFactory(organization=other_org, kind=Company.Kind.CLIENT)
    issue_for(other_org, foreign, other_center)

    job = build_fec(org, admin, center, django_capture_on_commit_callbacks)

    assert {row[8] for row in read_rows(job)[1:]} == {current.reference}
    assert [row[2] for row in read_rows(job)[1:]] == ["1", "1", "1"]


def test_the_fec_needs_a_period_and_a_siren_and_changes_nothing_when_refused(org, admin, center, journal):
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as no_period:
        services.request_export(organization=org, by=admin, kind="fec", parameters={"date_to": today})
    assert no_period.value.code == "period_required"
    center.legal_entity.siren = ""
    center.legal_entity.save()
    with pytest.raises(ValidationFailed) as no_siren:
        services.request_export(organization=org, by=admin, kind="fec",
                                parameters={"date_from": today, "date_to": today})  # fmt: skip
    assert no_siren.value.code == "no_siren"
    assert ExportJob.objects.count() == 0


def test_amounts_dates_accounts_and_text_follow_the_format() -> None:
    assert fec.amount(Decimal("1234.5")) == "1234,50"
    assert fec.amount(Decimal("-0.55")) == "0,55"
    assert fec.vat_account("44571", "20.00") == "4457120"
    assert fec.vat_account("44571", "5.50") == "4457155"
    assert fec.vat_account("44571", "2.10") == "4457121"
    assert fec.vat_account("44571", "10.00") == "4457110"
    assert fec.auxiliary_account("", "CL-000123") == "411CL000123"
    assert fec.auxiliary_account("411ACME", "CL-000123") == "411ACME"
    assert fec.filename("732829320", datetime.date(2026, 12, 31)) == "732829320FEC20261231.txt"
    assert fec.text("L’atelier\tdu\ncoin – Œuvre") == "L'atelier du coin - Œuvre"
