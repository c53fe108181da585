"""API of the bank statement import (POST /api/v1/payments/import-statement/, multipart `file`): the figures and the
unmatched lines, a re-import that records nothing new, 400 at `file` for a bad file with nothing changed, 403
without the right, tenancy."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.billing.models import Invoice
from comptoir.core.tests.test_api import error_of
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.tests.factories import ClientCompanyFactory, invoice_of

pytestmark = pytest.mark.django_db
URL = "/api/v1/payments/import-statement/"
TODAY = datetime.date.today()


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def invoice(org, center):  # type: ignore[no-untyped-def]
    return invoice_of(ClientCompanyFactory(organization=org, name="Atelier Lumière"), center=center)


def upload(*lines: str, header: str = "date;montant;libelle;payeur") -> SimpleUploadedFile:
    return SimpleUploadedFile("releve.csv", (header + "\n" + "\n".join(lines) + "\n").encode(), "text/csv")


def state() -> tuple:  # type: ignore[type-arg]
    return (Payment.objects.count(), Allocation.objects.count(),
            list(Invoice.objects.order_by("pk").values_list("amount_paid", "payment_status")))  # fmt: skip


def test_import_answers_the_figures_and_the_unmatched_lines(admin, api_client, invoice):  # type: ignore[no-untyped-def]
    day = f"{TODAY:%d/%m/%Y}"
    file = upload(f"{day};150,00;VIR SEPA {invoice.reference};ATELIER", f"{day};80,00;VIREMENT INCONNU;X",
                  f"{day};-10,00;FRAIS;BANQUE")  # fmt: skip

    response = api_client(admin).post(URL, {"file": file}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "lines": 2, "recorded": 1, "already_imported": 0, "allocated": "120.00", "credit": "30.00",
        "unmatched": [{"line": 3, "label": "VIREMENT INCONNU", "reason": "pas de numéro de facture dans le libellé"}],
    }  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    assert Payment.objects.get().created_by == admin


def test_the_same_statement_twice_records_nothing_new(admin, api_client, invoice):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    line = f"{TODAY:%Y-%m-%d};120.00;VIR {invoice.reference};"
    assert api.post(URL, {"file": upload(line)}, format="multipart").json()["recorded"] == 1
    before = state()

    again = api.post(URL, {"file": upload(line)}, format="multipart")

    assert again.status_code == 200
    assert (again.json()["recorded"], again.json()["already_imported"], again.json()["allocated"]) == (0, 1, "0.00")
    assert state() == before


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"jour;somme;texte\n", "invalid_header"),
        (b"date;montant;libelle\n01/12/2026;dix;VIR\n", "invalid_line"),
        ("date;montant;libelle\n01/12/2026;10,00;VIR ÉTÉ\n".encode("latin-1"), "invalid_encoding"),
        (b"date;montant;libelle\n01/12/2026;10,00;VIR \x00\n", "invalid_file"),
    ],
)
def test_a_bad_file_is_400_at_file_and_changes_nothing(admin, api_client, invoice, content, code):  # type: ignore[no-untyped-def]
    before = state()
    response = api_client(admin).post(URL, {"file": SimpleUploadedFile("r.csv", content)}, format="multipart")
    error = error_of(response, 400, code)
    assert list(error["fields"]) == ["file"]
    assert state() == before


def test_a_future_line_is_400_at_file(admin, api_client, invoice):  # type: ignore[no-untyped-def]
    tomorrow = TODAY + datetime.timedelta(days=1)
    response = api_client(admin).post(URL, {"file": upload(f"{tomorrow:%d/%m/%Y};120,00;VIR {invoice.reference};")},
                                      format="multipart")  # fmt: skip
    assert list(error_of(response, 400, "future_date")["fields"]) == ["file"]
    assert Payment.objects.count() == 0


def test_a_missing_file_or_a_json_body_is_refused(admin, api_client, invoice):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    assert list(error_of(api.post(URL, {}, format="multipart"), 400, "required")["fields"]) == ["file"]
    assert api.post(URL, {"file": "x"}, format="json").status_code == 415
    assert Payment.objects.count() == 0


def test_a_file_over_20_mb_is_refused(admin, api_client, invoice):  # type: ignore[no-untyped-def]
    line = f"{TODAY:%d/%m/%Y};1,00;VIR SANS REFERENCE;\n".encode()
    content = b"date;montant;libelle;payeur\n" + line * (20 * 1024 * 1024 // len(line) + 1)
    response = api_client(admin).post(URL, {"file": SimpleUploadedFile("r.csv", content)}, format="multipart")
    assert list(error_of(response, 400, "too_large")["fields"]) == ["file"]
    assert Payment.objects.count() == 0


def test_rights_and_tenancy(admin, staff_of, other_admin, other_org, api_client, invoice):  # type: ignore[no-untyped-def]
    line = f"{TODAY:%d/%m/%Y};120,00;VIR {invoice.reference};"
    error_of(api_client(staff_of("reception")).post(URL, {"file": upload(line)}, format="multipart"), 403)
    assert api_client(admin).get(URL).status_code == 405

    # another organization's staff: the invoice number matches nothing of theirs
    foreign = api_client(other_admin, other_org).post(URL, {"file": upload(line)}, format="multipart")
    assert foreign.status_code == 200 and foreign.json()["recorded"] == 0
    assert foreign.json()["unmatched"][0]["reason"] == "aucune facture émise ne correspond"
    assert state()[0] == 0
    unauthenticated = api_client(admin).__class__().post(URL, {"file": upload(line)}, format="multipart")
    assert unauthenticated.status_code in (401, 403) and Payment.objects.count() == 0
