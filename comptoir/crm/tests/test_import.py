"""CSV import of companies and members: a dry run reports every bad row and imports nothing; a confirmed
import creates everything; one bad row blocks the whole file."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.core.errors import DomainError, RightsError
from comptoir.core.models import AuditEntry
from comptoir.crm import imports, services
from comptoir.crm.models import Company, Contact

pytestmark = pytest.mark.django_db

API = "/api/v1"
SIRET_A = "73282932000074"
SIRET_B = "44306184100047"

GOOD = (
    "Raison sociale;SIRET;TVA;E-mail;Téléphone;Adresse;Code postal;Ville;Centre;"
    "Contact prénom;Contact nom;Contact e-mail;Contact téléphone\n"
    f"Atelier Dupont;{SIRET_A};FR44732829320;contact@dupont.test;06 12 34 56 78;1 rue de la Paix;75002;Paris;"
    "paris-opera;Jeanne;Dupont;jeanne@dupont.test;06 11 22 33 44\n"
    f"Boulangerie Martin;{SIRET_B};;;;;;Paris;;;;;\n"
)


def run(org, admin, text: str | bytes, *, dry_run: bool) -> imports.ImportReport:
    return imports.import_companies(organization=org, by=admin, file=text, dry_run=dry_run)


def errors_of(report: imports.ImportReport) -> list[tuple[int, str]]:
    return [(error.line, error.column) for error in report.errors]


def test_a_dry_run_reports_and_imports_nothing(org, admin, center):
    report = run(org, admin, GOOD, dry_run=True)

    assert (report.rows_read, report.rows_valid, report.errors) == (2, 2, [])
    assert report.dry_run and not report.imported
    assert not Company.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(action="company.created").exists()


def test_a_confirmed_import_creates_every_company_and_main_contact(org, admin, center):
    report = run(org, admin, GOOD, dry_run=False)

    assert report.imported and (report.companies_created, report.contacts_created) == (2, 1)
    dupont = Company.objects.get(organization=org, siret=SIRET_A)
    assert (dupont.reference, dupont.center, dupont.postal_code, dupont.vat_number) == (
        "PR-000001", center, "75002", "FR44732829320",
    )  # fmt: skip
    member = dupont.contacts.get()
    assert (member.first_name, member.email, member.is_main, member.company_role) == (
        "Jeanne", "jeanne@dupont.test", True, "administrator",
    )  # fmt: skip
    assert Company.objects.get(organization=org, siret=SIRET_B).contacts.count() == 0
    assert AuditEntry.objects.filter(action="company.created").count() == 2


def test_the_dry_run_reports_each_bad_row_with_its_line_column_and_reason(org, admin, center):
    services.create_company(organization=org, by=admin, data={"name": "Déjà là", "siret": SIRET_B})
    text = (
        "raison sociale,siret,tva,e-mail,téléphone,centre,contact nom,contact e-mail\n"
        f"Bonne,{SIRET_A},,,,,,\n"  # 2: fine
        f"Doublon fichier,{SIRET_A},,,,,,\n"  # 3: same SIRET as line 2
        f"Doublon base,{SIRET_B},,,,,,\n"  # 4: SIRET already in the organization
        "SIRET faux,12345678901234,,,,,,\n"  # 5
        "TVA fausse,,FR00123,,,,,\n"  # 6
        "Mail faux,,,pas-un-mail,,,,\n"  # 7
        "Tel faux,,,,12,,,\n"  # 8
        "Centre inconnu,,,,,nulle-part,,\n"  # 9
        ",,,,,,,\n"  # blank line: skipped
        ",,,x@y.test,,,,\n"  # 11: no name
        "Contact faux,,,,,,Durand,pas-un-mail\n"  # 12
    )

    report = run(org, admin, text, dry_run=True)

    assert report.rows_read == 10 and report.rows_valid == 1
    assert errors_of(report) == [
        (3, "siret"), (4, "siret"), (5, "siret"), (6, "tva"), (7, "e-mail"), (8, "téléphone"), (9, "centre"),
        (11, "raison sociale"), (12, "contact e-mail"),
    ]  # fmt: skip
    messages = {error.line: error.message for error in report.errors}
    assert "ligne 2" in messages[3] and "déjà ce SIRET" in messages[4] and "obligatoire" in messages[11]
    assert Company.objects.filter(organization=org).count() == 1


def test_a_single_bad_row_blocks_the_whole_import(org, admin, center):
    text = GOOD + "Mauvaise;;;pas-un-mail;;;;;;;;;\n"

    report = run(org, admin, text, dry_run=False)

    assert not report.imported and errors_of(report) == [(4, "E-mail")]
    assert (report.companies_created, report.contacts_created) == (0, 0)
    assert not Company.objects.filter(organization=org).exists()
    assert not Contact.objects.filter(organization=org).exists()


def test_bom_english_headers_and_members_of_existing_companies(org, admin):
    existing = services.create_company(organization=org, by=admin, data={"name": "Existante"})
    text = (
        "\ufeffCompany name,City,Reference,Contact first name,Contact last name,Contact email\n"
        "New Ltd,Lyon,,Ann,Smith,ann@new.test\n"
        f",,{existing.reference},Bob,Jones,bob@existing.test\n"
    ).encode()

    report = run(org, admin, text, dry_run=False)

    assert report.imported, report.errors
    assert existing.contacts.get().email == "bob@existing.test"
    assert Company.objects.get(organization=org, name="New Ltd").contacts.get().last_name == "Smith"


def test_an_unknown_reference_and_an_unknown_column_are_reported(org, admin):
    report = run(org, admin, "référence;contact nom\nPR-999999;Durand\n", dry_run=True)
    assert errors_of(report) == [(2, "référence")]

    report = run(org, admin, "raison sociale;couleur\nA;bleu\n", dry_run=True)
    assert errors_of(report) == [(1, "couleur")]


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "empty"), (b"\xff\xfe\x00r\x00a", "encoding"), (b"nom\x00;x\n", "not_csv")],
)
def test_unreadable_files_are_refused(org, admin, content, code):
    with pytest.raises(DomainError) as exc:
        run(org, admin, content, dry_run=True)
    assert exc.value.code == code


def test_the_import_needs_the_right_to_add_companies(org, staff_of):
    with pytest.raises(RightsError):
        run(org, staff_of("technician"), GOOD, dry_run=True)


# --------------------------------------------------------------------------------------------------
# API: POST /api/v1/companies/import/
# --------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("entreprises.csv", text.encode("utf-8"), content_type="text/csv")


def test_api_dry_run_then_import(org, admin, api_client, center):
    api = api_client(admin)

    response = api.post(f"{API}/companies/import/?dry_run=1", {"file": upload(GOOD)}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "dry_run": True, "rows_read": 2, "rows_valid": 2, "companies_created": 0, "contacts_created": 0, "errors": [],
    }  # fmt: skip
    assert not Company.objects.filter(organization=org).exists()

    response = api.post(f"{API}/companies/import/?dry_run=0", {"file": upload(GOOD)}, format="multipart")
    assert response.status_code == 201 and response.json()["companies_created"] == 2
    assert Company.objects.filter(organization=org).count() == 2


def test_api_reports_bad_rows_and_imports_nothing(org, admin, api_client):
    response = api_client(admin).post(
        f"{API}/companies/import/?dry_run=0", {"file": upload("raison sociale;siret\nA;123\n")}, format="multipart"
    )

    assert response.status_code == 200
    assert response.json()["errors"] == [
        {"line": 2, "column": "siret", "message": response.json()["errors"][0]["message"]}
    ]
    assert not Company.objects.filter(organization=org).exists()


def test_api_without_a_file_or_with_json_is_a_4xx(admin, api_client):
    api = api_client(admin)

    response = api.post(f"{API}/companies/import/", {"other": "x"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["error"]["fields"]
    assert api.post(f"{API}/companies/import/", {"file": "x"}, format="json").status_code == 415


def test_api_import_needs_the_add_right(staff_of, api_client):
    response = api_client(staff_of("technician")).post(
        f"{API}/companies/import/", {"file": upload(GOOD)}, format="multipart"
    )
    assert response.status_code == 403
