"""Finance → Exports (desk « Documents »): the zip of factures.csv + every PDF, the Chorus Pro batch, built in the
background with their progress, the page with its selection, the jobs table and the download."""

from __future__ import annotations

import csv
import datetime
import io
import tarfile
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from comptoir.billing.models import CustomerBillingProfile, ExportJob, Invoice
from comptoir.billing.services import exports as services
from comptoir.billing.services.invoices import BillingError, credit_invoice
from comptoir.billing.tests.factories import InvoiceFactory
from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return client_company(org)


def period(**extra):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    return {"date_from": (today - datetime.timedelta(days=30)).isoformat(), "date_to": today.isoformat(), **extra}


def run(org, by, kind, parameters, capture):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        job = services.request_export(organization=org, by=by, kind=kind, parameters=parameters)
    job.refresh_from_db()
    return job


def content(job: ExportJob) -> bytes:
    with job.file.open("rb") as handle:
        return handle.read()


@pytest.fixture
def documents(org, admin, center, company):  # type: ignore[no-untyped-def]
    invoice = issue_for(org, company, center)
    credited = issue_for(org, company, center)
    credit_note = credit_invoice(invoice=credited, by=admin)
    draft = InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)
    return {"invoice": invoice, "credited": credited, "credit_note": credit_note, "draft": draft}


# --------------------------------------------------------------------------------------------------
# Zip of the CSV and the PDFs
# --------------------------------------------------------------------------------------------------
def test_the_zip_holds_one_csv_row_and_one_pdf_per_document(
    org, admin, center, company, documents, other_org, other_center, django_capture_on_commit_callbacks
):
    foreign_company = CompanyFactory(organization=other_org, kind=Company.Kind.CLIENT)
    issue_for(other_org, foreign_company, other_center)

    job = run(org, admin, "zip", period(all=True), django_capture_on_commit_callbacks)

    assert (job.status, job.total, job.done, job.error) == (ExportJob.Status.DONE, 3, 3, "")
    archive = zipfile.ZipFile(io.BytesIO(content(job)))
    invoice, credited, credit_note = documents["invoice"], documents["credited"], documents["credit_note"]
    assert sorted(archive.namelist()) == sorted(
        ["factures.csv", f"{invoice.reference}.pdf", f"{credited.reference}.pdf", f"{credit_note.reference}.pdf"]
    )
    for document in (invoice, credited, credit_note):
        assert archive.read(f"{document.reference}.pdf").startswith(b"%PDF")
    raw = archive.read("factures.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    day = timezone.localdate().strftime("%d/%m/%Y")
    assert rows[0] == ["Numéro", "Type", "Date d'émission", "Échéance", "Client", "SIREN du client", "Centre",
                       "Total HT", "TVA", "Total TTC", "Statut", "Facture d'origine"]  # fmt: skip
    assert rows[1:] == [
        [invoice.reference, "Facture", day, invoice.due_date.strftime("%d/%m/%Y"), "Atelier Lumière", "443061841",
         center.name, "100,00", "20,00", "120,00", "Émise", ""],
        [credited.reference, "Facture", day, credited.due_date.strftime("%d/%m/%Y"), "Atelier Lumière", "443061841",
         center.name, "100,00", "20,00", "120,00", "Annulée par avoir", ""],
        [credit_note.reference, "Avoir", day, day, "Atelier Lumière", "443061841", center.name, "100,00", "20,00",
         "120,00", "Émise", credited.reference],
    ]  # fmt: skip
    assert services.download_name(job).startswith("factures-") and job.finished_at is not None
    assert AuditEntry.objects.filter(action="export.requested").count() == 1


def test_a_selection_and_the_filters_narrow_the_export(
    org, admin, center, company, documents, django_capture_on_commit_callbacks
):
    selected = run(org, admin, "zip", period(ids=[str(documents["invoice"].pk), str(documents["draft"].pk)]),
                   django_capture_on_commit_callbacks)  # fmt: skip
    searched = run(org, admin, "zip", period(all=True, q=documents["credit_note"].reference),
                   django_capture_on_commit_callbacks)  # fmt: skip

    assert sorted(zipfile.ZipFile(io.BytesIO(content(selected))).namelist()) == sorted(
        ["factures.csv", f"{documents['invoice'].reference}.pdf"]  # never a draft, even selected
    )
    assert sorted(zipfile.ZipFile(io.BytesIO(content(searched))).namelist()) == sorted(
        ["factures.csv", f"{documents['credit_note'].reference}.pdf"]
    )


def test_refused_requests_record_nothing(org, admin, center, company, documents, staff_of):
    cases = [
        (admin, "zip", period(), ValidationFailed, "empty_selection"),
        (admin, "pdf", period(all=True), ValidationFailed, "unknown_kind"),
        (admin, "zip", {"date_from": "2026-12-31", "date_to": "2026-01-01", "all": True}, ValidationFailed,
         "period_order"),
        (admin, "zip", {"date_from": "2001-01-01", "date_to": "2001-01-31", "all": True}, BillingError,
         "empty_export"),
        (admin, "chorus_pro", period(all=True), BillingError, "empty_export"),  # no public buyer
        (admin, "zip", {"date_from": "hier", "all": True}, ValidationFailed, "invalid_date"),
        (staff_of("technician"), "zip", period(all=True), RightsError, "forbidden"),
    ]  # fmt: skip
    for user, kind, parameters, error, code in cases:
        with pytest.raises(error) as refused:
            services.request_export(organization=org, by=user, kind=kind, parameters=parameters)
        assert refused.value.code == code, (kind, parameters)
    assert ExportJob.objects.count() == 0


def test_a_job_is_built_once_and_a_failure_says_why(
    org, admin, center, company, documents, monkeypatch, django_capture_on_commit_callbacks
):
    job = run(org, admin, "zip", period(all=True), django_capture_on_commit_callbacks)
    name = job.file.name
    assert services.build_export(job_id=job.pk).file.name == name  # done: not redone

    from comptoir.billing.documents import render

    def broken(invoice, **options):  # type: ignore[no-untyped-def]
        raise RuntimeError("Typst est indisponible")

    monkeypatch.setattr(render, "ensure_pdf", broken)
    failed = run(org, admin, "zip", period(all=True), django_capture_on_commit_callbacks)
    assert (failed.status, failed.error, bool(failed.file)) == (
        ExportJob.Status.FAILED,
        "Typst est indisponible",
        False,
    )


def test_a_staff_member_limited_to_a_center_exports_only_its_documents(
    org, admin, center, company, documents, django_capture_on_commit_callbacks
):
    from comptoir.core.tests.factories import StaffFactory

    elsewhere = CenterFactory(organization=org, name="Lyon")
    other = issue_for(org, CompanyFactory(organization=org, kind=Company.Kind.CLIENT, siret=""), elsewhere)
    staff = StaffFactory(organization=org, kind="manager")
    staff.centers.set([elsewhere])

    job = run(org, staff.user, "zip", period(all=True), django_capture_on_commit_callbacks)

    assert zipfile.ZipFile(io.BytesIO(content(job))).namelist() == [f"{other.reference}.pdf", "factures.csv"]
    assert list(services.exports_visible_to(staff.user, org)) == [job]
    assert set(services.exports_visible_to(admin, org)) == {job}


# --------------------------------------------------------------------------------------------------
# Chorus Pro
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def public_buyer(org):  # type: ignore[no-untyped-def]
    buyer = CompanyFactory(
        organization=org, name="Mairie de Lyon", kind=Company.Kind.CLIENT, siren="216901231",
        siret="21690123100011", address_line1="1 place de la Comédie", postal_code="69001", city="Lyon",
    )  # fmt: skip
    CustomerBillingProfile.objects.create(organization=org, company=buyer, is_public_entity=True,
                                          service_code="FACTURES", commitment_number="EJ-1")  # fmt: skip
    return buyer


def test_the_chorus_batch_takes_public_buyers_only_and_lists_what_it_leaves_out(
    org, admin, center, company, public_buyer, django_capture_on_commit_callbacks
):
    incomplete = issue_for(org, public_buyer, center, buyer_reference="FACTURES")  # no commitment number
    private = issue_for(org, company, center)

    job = run(org, admin, "chorus_pro", period(all=True), django_capture_on_commit_callbacks)

    assert (job.status, job.total, job.done) == (ExportJob.Status.DONE, 1, 1)
    assert job.error == "1 document(s) écarté(s) : voir le manifeste (manifeste.csv)."
    assert services.download_name(job) == f"chorus-pro-{timezone.localdate():%Y%m%d}-{job.pk}.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(content(job)), mode="r:gz") as archive:
        assert archive.getnames() == ["manifeste.csv"]
        manifest = archive.extractfile("manifeste.csv").read().decode("utf-8-sig")  # type: ignore[union-attr]
    rows = list(csv.reader(io.StringIO(manifest), delimiter=";"))
    assert rows[0][:3] == ["Fichier", "Numéro", "Type"]
    assert rows[1] == ["", incomplete.reference, "Facture", timezone.localdate().strftime("%d/%m/%Y"),
                       "Mairie de Lyon", "21690123100011", "FACTURES", "", "120,00",
                       "Écartée : Le numéro d'engagement manque sur la facture."]  # fmt: skip
    assert private.reference not in manifest


def test_the_chorus_batch_holds_the_facturx_pdf_with_siret_service_code_and_commitment(
    org, admin, center, public_buyer, django_capture_on_commit_callbacks
):
    from comptoir.billing.documents.render import stored_cii

    deposited = issue_for(org, public_buyer, center, buyer_reference="FACTURES", purchase_order="EJ-2026-0042")

    job = run(org, admin, "chorus_pro", period(all=True), django_capture_on_commit_callbacks)

    with tarfile.open(fileobj=io.BytesIO(content(job)), mode="r:gz") as archive:
        names = sorted(archive.getnames())
        manifest = archive.extractfile("manifeste.csv").read().decode("utf-8-sig")  # type: ignore[union-attr]
        pdf = archive.extractfile(f"{deposited.reference}.pdf").read() if len(names) == 2 else b""  # type: ignore[union-attr]
    assert names == sorted([f"{deposited.reference}.pdf", "manifeste.csv"]), manifest
    assert pdf.startswith(b"%PDF")
    xml = stored_cii(deposited).decode()
    assert "21690123100011" in xml and "<ram:BuyerReference>FACTURES<" in xml and ">EJ-2026-0042<" in xml
    assert list(csv.reader(io.StringIO(manifest), delimiter=";"))[1][9] == "À déposer"


def test_the_chorus_check_reads_siret_service_code_and_commitment_in_the_cii() -> None:
    from comptoir.billing.documents.exports import chorus_xml_problems

    ns = (
        'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"'
    )
    xml = (
        f"<rsm:CrossIndustryInvoice {ns}><rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeAgreement>"
        "<ram:BuyerReference>FACTURES</ram:BuyerReference><ram:BuyerTradeParty>"
        '<ram:GlobalID schemeID="0009">21690123100011</ram:GlobalID><ram:Name>Mairie</ram:Name></ram:BuyerTradeParty>'
        "<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>EJ-1</ram:IssuerAssignedID>"
        "</ram:BuyerOrderReferencedDocument></ram:ApplicableHeaderTradeAgreement></rsm:SupplyChainTradeTransaction>"
        "</rsm:CrossIndustryInvoice>"
    ).encode()

    assert chorus_xml_problems(xml, siret="21690123100011", service_code="FACTURES", commitment_number="EJ-1") == []
    assert chorus_xml_problems(xml, siret="21690123100029", service_code="AUTRE", commitment_number="EJ-2") == [
        "Le SIRET de l'acheteur (21690123100029) est absent du XML.",
        "Le code service (AUTRE) est absent du XML.",
        "Le numéro d'engagement (EJ-2) est absent du XML.",
    ]
    assert chorus_xml_problems(b"<oops", siret="1", service_code="", commitment_number="") == [
        "Le XML Factur-X est illisible."
    ]


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------
def test_the_exports_page_lists_issued_documents_with_the_export_buttons(
    org, admin, center, company, documents, staff_client
):
    client = staff_client(admin)
    response = client.get(reverse("billing:export_list"))
    page = response.content.decode()

    assert response.status_code == 200
    assert reverse("billing:export_list") in client.get(reverse("manage:home")).content.decode()  # menu
    assert documents["invoice"].reference in page and documents["credit_note"].reference in page
    assert f'name="ids" value="{documents["invoice"].pk}"' in page
    assert f'value="{documents["draft"].pk}" form="export-form"' not in page
    for label in ("Exporter (ZIP)", "FEC", "Chorus Pro", "Toutes les factures de la période"):
        assert label in page
    searched = client.get(reverse("billing:export_list"), {"q": documents["credit_note"].reference}).content.decode()
    assert documents["credit_note"].reference in searched
    assert f'name="ids" value="{documents["invoice"].pk}"' not in searched


def test_requesting_an_export_shows_the_job_until_its_file_is_downloaded(
    org, admin, center, company, documents, staff_client, django_capture_on_commit_callbacks
):
    client = staff_client(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("billing:export_request") + "?" + "&".join(f"{k}={v}" for k, v in period().items()),
            {"export": "zip", "all": "1"},
            HTTP_HX_REQUEST="true",
        )
    job = ExportJob.objects.get()
    answer = response.content.decode()
    jobs = client.get(reverse("billing:export_jobs")).content.decode()

    assert response.status_code == 200
    assert (
        "Export demandé (3 documents)" in answer
        and "Brouillon" not in client.get(reverse("billing:export_list")).content.decode()
    )
    assert 'hx-trigger="every 2s"' in answer  # the test's transaction held the build back: still pending
    assert reverse("billing:export_download", args=[job.pk]) in jobs
    assert 'hx-trigger="every 2s"' not in jobs  # done: no more polling
    download = client.get(reverse("billing:export_download", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith(f'attachment; filename="{services.download_name(job)}"')
    assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()[-1] == "factures.csv"


def test_a_refused_request_is_shown_in_the_page_and_a_running_job_polls(
    org, admin, center, company, documents, staff_client
):
    client = staff_client(admin)
    refused = client.post(reverse("billing:export_request"), {"export": "zip"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "Cochez des documents" in refused.content.decode()

    plain = client.post(reverse("billing:export_request"), {"export": "zip", "all": "1"})  # no commit: pending
    assert plain.status_code == 302 and plain["Location"] == reverse("billing:export_list")
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.PENDING
    polling = client.get(reverse("billing:export_jobs")).content.decode()
    assert 'hx-trigger="every 2s"' in polling
    assert client.get(reverse("billing:export_download", args=[job.pk])).status_code == 404  # not ready


def test_exports_are_404_for_another_organization_and_403_without_the_right(
    org, admin, other_admin, other_org, center, company, documents, staff_client, staff_of,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    job = run(org, admin, "zip", period(all=True), django_capture_on_commit_callbacks)

    outsider = staff_client(other_admin, other_org)
    assert outsider.get(reverse("billing:export_download", args=[job.pk])).status_code == 404
    assert job.get_kind_display() not in outsider.get(reverse("billing:export_jobs")).content.decode()
    technician = staff_client(staff_of("technician"))
    for name, args in (("export_list", []), ("export_jobs", []), ("export_download", [job.pk])):
        assert technician.get(reverse(f"billing:{name}", args=args)).status_code == 403
    assert technician.post(reverse("billing:export_request"), {"export": "zip", "all": "1"}).status_code == 403
    assert ExportJob.objects.count() == 1
    assert Invoice.objects.filter(organization=org).count() == 4
