"""API of exports: ask for one, follow its progress, download its file; refusals are 4xx JSON with a stable code
and change nothing; rights and tenancy."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone

from comptoir.billing.models import ExportJob
from comptoir.billing.tests.factories import InvoiceFactory, issued_invoice
from comptoir.core.tests.factories import StaffFactory
from comptoir.core.tests.test_api import error_of

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def period() -> dict[str, str]:
    today = timezone.localdate().isoformat()
    return {"date_from": today, "date_to": today}


def test_zip_export(org, center, admin, api_client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    first, second = issued_invoice(org, center=center), issued_invoice(org, center=center)
    InvoiceFactory(organization=org, center=center)  # a draft is never exported
    body = {"kind": "zip", "all": True, **period()}

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/exports/", body, format="json", HTTP_IDEMPOTENCY_KEY="export-1")
    assert response.status_code == 201, response.content
    replay = api.post(f"{API}/exports/", body, format="json", HTTP_IDEMPOTENCY_KEY="export-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == response.json()
    assert ExportJob.objects.count() == 1
    created = response.json()
    assert (created["kind"], created["total"], created["parameters"]["date_from"]) == ("zip", 2, period()["date_from"])

    job = api.get(f"{API}/exports/{created['id']}/").json()
    assert (job["status"], job["done"], job["progress_percent"], job["error"]) == ("done", 2, 100, "")
    assert job["download_url"] == f"http://testserver{API}/exports/{created['id']}/file/"
    download = api.get(job["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith("attachment; filename=")
    names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    assert {f"{first.reference}.pdf", f"{second.reference}.pdf"} <= {name.rsplit("/", 1)[-1] for name in names}
    assert [item["id"] for item in api.get(f"{API}/exports/").json()["results"]] == [created["id"]]


def test_a_selection_and_filters(org, center, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    invoice = issued_invoice(org, center=center)
    issued_invoice(org, center=center)
    response = api.post(f"{API}/exports/", {"kind": "zip", "ids": [invoice.pk], **period()}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["total"], response.json()["parameters"]["ids"]) == (1, [invoice.pk])
    response = api.post(f"{API}/exports/", {"kind": "zip", "all": True, "company": invoice.company_id,
                                            "document_kind": "invoice", "status": "issued"}, format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    parameters = response.json()["parameters"]
    assert (parameters["company"], parameters["kind"], parameters["status"]) == (str(invoice.company_id), "invoice",
                                                                                 "issued")  # fmt: skip
    assert response.json()["total"] == 1


def test_the_file_is_404_until_done(org, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    job = ExportJob.objects.create(organization=org, kind="fec", created_by=admin, total=10, done=4,
                                   status=ExportJob.Status.RUNNING)  # fmt: skip
    body = api.get(f"{API}/exports/{job.pk}/").json()
    assert (body["status"], body["progress_percent"], body["download_url"]) == ("running", 40, None)
    error_of(api.get(f"{API}/exports/{job.pk}/file/"), 404, "not_ready")
    job.file.save("FEC.txt", ContentFile(b"JournalCode\tJournalLib\n"))
    job.status = ExportJob.Status.DONE
    job.save()
    download = api.get(f"{API}/exports/{job.pk}/file/")
    assert download.status_code == 200 and download["Content-Type"] == "text/plain; charset=utf-8"


def test_refusals_change_nothing(org, center, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    today = timezone.localdate()
    for body, field, code in [
        ({"kind": "pdf", "all": True}, "kind", "invalid"),
        ({"kind": "zip", "all": True, "date_from": "2026-02-30"}, "date_from", "invalid"),
        (
            {"kind": "zip", "all": True, "date_from": today.isoformat(), "date_to": "2020-01-01"},
            "date_to",
            "period_order",
        ),
        ({"kind": "zip", **period()}, "ids", "empty_selection"),
        ({"kind": "zip", "ids": ["x"]}, "ids.0", "invalid"),
        ({"kind": "zip", "ids": [2**64]}, "ids.0", "invalid"),
        ({"kind": "zip", "ids": list(range(1, 20_002))}, "ids", "invalid"),
        ({"kind": "fec", "date_from": today.isoformat()}, "date_from", "period_required"),
        ({"kind": "zip", "all": True, "company": 2**63}, "company", "invalid"),
        ({"kind": "zip", "all": True, "status": "draft", "surprise": 1}, "surprise", "invalid"),
    ]:
        error = error_of(api.post(f"{API}/exports/", body, format="json", HTTP_IDEMPOTENCY_KEY="k"), 400, code)
        assert list(error["fields"]) == [field], (body, error)
    error_of(api.post(f"{API}/exports/", {"kind": "zip", "all": True, **period()}, format="json"), 400, "empty_export")
    assert not ExportJob.objects.exists()


def test_rights_and_tenancy(org, center, staff_of, admin, api_client, other_org):  # type: ignore[no-untyped-def]
    issued_invoice(org, center=center)
    foreign = ExportJob.objects.create(organization=other_org, kind="zip", created_by=StaffFactory(
        organization=other_org, kind="administrator").user, status=ExportJob.Status.DONE)  # fmt: skip
    foreign.file.save("export.zip", ContentFile(b"PK"))
    technician = api_client(staff_of("technician"))
    error_of(technician.get(f"{API}/exports/"), 403, "forbidden")
    error_of(technician.post(f"{API}/exports/", {"kind": "zip", "all": True}, format="json"), 403, "forbidden")
    api = api_client(admin)
    error_of(api.get(f"{API}/exports/{foreign.pk}/"), 404, "not_found")
    error_of(api.get(f"{API}/exports/{foreign.pk}/file/"), 404, "not_found")
    assert api.get(f"{API}/exports/").json()["results"] == []
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [foreign.pk]
