"""Finance → Paiements → « Importer un relevé »: the button on the payments list (only with the right), the upload
form and its format, the result (figures, unmatched lines, empty state), a re-import that records nothing new,
refusals at the file field that change nothing (header, encoding, size, future date), rights (403), CSRF, tenancy,
and a file that never touches the disk."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client
from django.urls import reverse

from comptoir.billing.models import Invoice
from comptoir.core.models import AuditEntry
from comptoir.payments import forms_imports
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.services.payments import credit_balance
from comptoir.payments.tests.factories import ClientCompanyFactory, invoice_of

pytestmark = pytest.mark.django_db
URL = "/manage/payments/import/"
TODAY = datetime.date.today()


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return ClientCompanyFactory(organization=org, name="Atelier Lumière")


@pytest.fixture
def invoice(company, center):  # type: ignore[no-untyped-def]
    return invoice_of(company, center=center)  # 120,00 € incl. VAT


def statement(*lines: str, header: str = "date;montant;libelle;payeur") -> SimpleUploadedFile:
    content = (header + "\n" + "\n".join(lines) + "\n").encode()
    return SimpleUploadedFile("releve.csv", content, content_type="text/csv")


def state() -> tuple:  # type: ignore[type-arg]
    return (Payment.objects.count(), Allocation.objects.count(),
            list(Invoice.objects.order_by("pk").values_list("amount_paid", "payment_status")),
            AuditEntry.objects.filter(action="payments.statement_imported").count())  # fmt: skip


def field_errors(html: str) -> str:
    start = html.index('id="field-file"')
    return html[start : html.index("</form>", start)]


# --------------------------------------------------------------------------------------------------
# The button and the page
# --------------------------------------------------------------------------------------------------
def test_the_payments_list_offers_the_import_to_who_may_record_payments(admin, staff_of, staff_client):  # type: ignore[no-untyped-def]
    page = staff_client(admin).get(reverse("payments:payment_list")).content.decode()
    assert f'href="{URL}"' in page and "Importer un relevé" in page
    assert "Nouveau paiement" in page

    reception = staff_client(staff_of("reception")).get(reverse("payments:payment_list"))
    assert reception.status_code == 200
    assert URL not in reception.content.decode() and "Importer un relevé" not in reception.content.decode()


def test_the_list_results_partial_still_answers_without_the_page(admin, staff_client):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    partial = web.get(reverse("payments:payment_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results")
    html = partial.content.decode()
    assert partial.status_code == 200 and 'id="list-results"' in html
    assert "<html" not in html and "Importer un relevé" not in html


def test_the_page_explains_the_format_with_an_example(admin, staff_client):  # type: ignore[no-untyped-def]
    response = staff_client(admin).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html and 'name="file"' in html
    assert "date;montant;libelle;payeur" in html
    assert "05/12/2026;1 234,56;VIR SEPA ATELIER LUMIERE FA-2026-000123;ATELIER LUMIERE" in html
    assert "20 Mo au plus" in html
    assert 'id="import-result"' not in html


# --------------------------------------------------------------------------------------------------
# The import and its result
# --------------------------------------------------------------------------------------------------
def test_import_records_and_shows_the_result_with_the_unmatched_lines(admin, staff_client, company, center, invoice):  # type: ignore[no-untyped-def]
    other = invoice_of(company, center=center)  # the same legal entity: the next number
    day = TODAY.strftime("%d/%m/%Y")
    upload = statement(
        f"{day};150,00;VIR SEPA {invoice.reference} LOYER;ATELIER",
        f"{day};50,00;VIR {other.reference} ACOMPTE;ATELIER",
        f"{day};200,00;VIREMENT SANS REFERENCE;INCONNU",
        f"{day};-35,00;PRLV FRAIS BANCAIRES;BANQUE",
    )

    response = staff_client(admin).post(URL, {"file": upload})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="import-lines">3<' in html
    assert 'id="import-recorded">2<' in html
    assert 'id="import-already">0<' in html
    assert 'id="import-allocated">170,00\u00a0€<' in html
    assert 'id="import-credit">30,00\u00a0€<' in html
    assert '<td class="text-end">4</td><td translate="no">VIREMENT SANS REFERENCE</td>' in html
    assert "Pas de numéro de facture dans le libellé" in html
    assert 'id="import-all-matched"' not in html
    invoice.refresh_from_db()
    other.refresh_from_db()
    assert (invoice.payment_status, other.payment_status) == ("paid", "partially_paid")
    assert credit_balance(company) == Decimal("30.00")
    assert Payment.objects.get(allocations__invoice=invoice).created_by == admin


def test_posting_the_same_statement_again_records_nothing_new(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    line = f"{TODAY:%Y-%m-%d};120.00;VIR {invoice.reference};ATELIER"
    first = web.post(URL, {"file": statement(line)})
    assert 'id="import-recorded">1<' in first.content.decode()
    assert 'id="import-all-matched"' in first.content.decode()  # the empty state: every line matched
    before = state()

    again = web.post(URL, {"file": statement(line)})  # a reload of the result posts the same file

    html = again.content.decode()
    assert again.status_code == 200
    assert 'id="import-recorded">0<' in html and 'id="import-already">1<' in html
    assert 'id="import-allocated">0,00\u00a0€<' in html
    assert "Ce relevé a déjà été importé" in html
    assert state()[:3] == before[:3]


def test_an_invoice_number_of_another_organization_is_not_paid(admin, staff_client, other_org):  # type: ignore[no-untyped-def]
    foreign = invoice_of(ClientCompanyFactory(organization=other_org))
    response = staff_client(admin).post(URL, {"file": statement(f"{TODAY:%d/%m/%Y};120,00;VIR {foreign.reference};")})
    html = response.content.decode()
    assert 'id="import-recorded">0<' in html and "Aucune facture émise ne correspond" in html
    foreign.refresh_from_db()
    assert foreign.amount_paid == Decimal("0.00") and Payment.objects.count() == 0


# --------------------------------------------------------------------------------------------------
# Refusals: at the file field, nothing changed
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"jour;somme;texte\n01/12/2026;10,00;VIR\n", "Le fichier doit commencer par la ligne d'en-tête"),
        (b"date;montant;libelle\nhier;10,00;VIR\n", "Ligne 2 : date ou montant illisible"),
        ("date;montant;libelle\n01/12/2026;10,00;VIR ÉTÉ\n".encode("latin-1"), "encodé en UTF-8"),
        (b"date;montant;libelle\n01/12/2026;10,00;VIR \x00\n", "n'est pas un CSV lisible"),
        (b"", "Le fichier soumis est vide."),
    ],
)
def test_an_unreadable_file_is_refused_at_its_field(admin, staff_client, invoice, content, message):  # type: ignore[no-untyped-def]
    before = state()
    upload = SimpleUploadedFile("releve.csv", content, content_type="text/csv")

    response = staff_client(admin).post(URL, {"file": upload})

    assert response.status_code == 400
    assert message in field_errors(response.content.decode()).replace("&#x27;", "'")
    assert 'id="import-result"' not in response.content.decode()
    assert state() == before


def test_a_future_transfer_refuses_the_whole_file(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    before = state()
    tomorrow = TODAY + datetime.timedelta(days=1)
    upload = statement(
        f"{TODAY:%d/%m/%Y};60,00;VIR {invoice.reference};", f"{tomorrow:%d/%m/%Y};60,00;VIR {invoice.reference};"
    )

    response = staff_client(admin).post(URL, {"file": upload})

    assert response.status_code == 400
    assert "Ligne 3 : un paiement ne peut pas être daté dans le futur." in field_errors(response.content.decode())
    assert state() == before


def test_a_file_over_20_mb_is_refused_at_its_field(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    before = state()
    line = f"{TODAY:%d/%m/%Y};1,00;VIR SANS REFERENCE;\n".encode()
    content = b"date;montant;libelle;payeur\n" + line * (20 * 1024 * 1024 // len(line) + 1)
    assert len(content) > 20 * 1024 * 1024

    response = staff_client(admin).post(URL, {"file": SimpleUploadedFile("releve.csv", content)})

    assert response.status_code == 400
    assert "Fichier trop volumineux : 20 Mo au plus." in field_errors(response.content.decode())
    assert state() == before


def test_the_file_is_kept_in_memory_never_written_to_disk(admin, staff_client, invoice, settings, monkeypatch):  # type: ignore[no-untyped-def]
    # given: Django's default handlers would spill anything above 10 bytes into a temporary file
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10

    def no_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the statement went to a temporary file")

    monkeypatch.setattr(TemporaryFileUploadHandler, "new_file", no_disk)

    response = staff_client(admin).post(URL, {"file": statement(f"{TODAY:%d/%m/%Y};120,00;VIR {invoice.reference};")})

    assert response.status_code == 200 and 'id="import-recorded">1<' in response.content.decode()


def test_the_handler_drops_the_content_of_a_file_over_the_limit_and_any_second_file(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(forms_imports, "MAX_STATEMENT_BYTES", 8)
    handler = forms_imports.StatementUploadHandler()
    handler.new_file("file", "a.csv", "text/csv", None)
    handler.receive_data_chunk(b"12345", 0)
    handler.receive_data_chunk(b"6789", 5)
    big = handler.file_complete(9)
    handler.new_file("file", "b.csv", "text/csv", None)
    handler.receive_data_chunk(b"12", 0)
    assert (big.size, big.read()) == (9, b"")
    assert handler.file_complete(2) is None


# --------------------------------------------------------------------------------------------------
# Rights and CSRF
# --------------------------------------------------------------------------------------------------
def test_staff_without_the_right_get_403_and_nothing_is_imported(staff_of, staff_client, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(staff_of("reception"))
    before = state()
    assert web.get(URL).status_code == 403
    assert web.post(URL, {"file": statement(f"{TODAY:%d/%m/%Y};120,00;VIR {invoice.reference};")}).status_code == 403
    assert state() == before


def test_anonymous_is_sent_to_the_login_page(client):  # type: ignore[no-untyped-def]
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_post_needs_the_csrf_token(org, admin, invoice):  # type: ignore[no-untyped-def]
    web = Client(enforce_csrf_checks=True)
    web.force_login(admin, backend="comptoir.core.auth.EmailBackend")
    session = web.session
    session["organization_id"] = org.pk
    session.save()
    before = state()

    refused = web.post(URL, {"file": statement(f"{TODAY:%d/%m/%Y};120,00;VIR {invoice.reference};")})

    assert refused.status_code == 403 and state() == before
    page = web.get(URL)
    token = page.cookies["csrftoken"].value
    accepted = web.post(URL, {"file": statement(f"{TODAY:%d/%m/%Y};120,00;VIR {invoice.reference};"),
                              "csrfmiddlewaretoken": token})  # fmt: skip
    assert accepted.status_code == 200 and Payment.objects.count() == 1
