"""API of the monthly billing runs: the preview, starting a run (at most one per month), its progress; refusals
are 4xx JSON with a stable code and change nothing; rights and tenancy."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from comptoir.billing.models import BilledPeriod, BillingProfile, BillingRun, Invoice
from comptoir.billing.services.invoices import billing_profile
from comptoir.billing.tests.test_runs import client, contract
from comptoir.core.tests.test_api import error_of

pytestmark = pytest.mark.django_db
API = "/api/v1"
PERIOD = "2026-11"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def office(org, center, admin):  # type: ignore[no-untyped-def]
    """A contract of 3,100 € a month since January 2026."""
    return contract(org, client(org, "Atelier Lumière"), center, admin, start=datetime.date(2026, 1, 1))


def state() -> tuple[int, int, int]:
    return BillingRun.objects.count(), Invoice.objects.count(), BilledPeriod.objects.count()


def test_preview_then_run(org, office, admin, api_client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    preview = api.get(f"{API}/billing-runs/preview/", {"period": PERIOD})
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert (body["period"], body["count"], body["total_excl_vat"], body["total_incl_vat"]) == (
        PERIOD, 1, "3100.00", "3720.00",
    )  # fmt: skip
    [planned] = body["invoices"]
    assert (planned["company"], planned["company_name"], planned["contract_references"]) == (
        office.company_id, "Atelier Lumière", [office.reference],
    )  # fmt: skip
    assert [(line["description"], line["amount_excl_vat"], line["period_start"], line["period_end"])
            for line in planned["lines"]] == [
        ("Bureau 12 — 01/11/2026 – 30/11/2026", "3100.00", "2026-11-01", "2026-11-30"),
    ]  # fmt: skip
    assert (planned["total_vat"], body["skipped"]) == ("620.00", [])
    assert state() == (0, 0, 0)  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/billing-runs/", {"period": PERIOD, "issue_date": "2026-11-30"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="run-1")  # fmt: skip
    assert response.status_code == 201, response.content
    started = response.json()
    assert (started["period"], started["issue_date"], started["contracts_total"]) == (PERIOD, "2026-11-30", 1)
    replay = api.post(f"{API}/billing-runs/", {"period": PERIOD, "issue_date": "2026-11-30"}, format="json",
                      HTTP_IDEMPOTENCY_KEY="run-1")  # fmt: skip
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == started

    run = api.get(f"{API}/billing-runs/{started['id']}/").json()
    assert (run["status"], run["progress_percent"], run["contracts_done"], run["invoices_created"]) == (
        "completed", 100, 1, 1,
    )  # fmt: skip
    assert (run["total_excl_vat"], run["total_incl_vat"], run["started_by"]) == ("3100.00", "3720.00", admin.pk)
    assert state() == (1, 1, 1)
    invoices = api.get(f"{API}/invoices/", {"billing_run": run["id"]}).json()["results"]
    assert [(item["status"], item["issue_date"], item["total_incl_vat"]) for item in invoices] == [
        ("issued", "2026-11-30", "3720.00"),
    ]  # fmt: skip
    assert [item["id"] for item in api.get(f"{API}/billing-runs/").json()["results"]] == [run["id"]]


def test_a_period_already_run_is_refused(org, office, admin, api_client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{API}/billing-runs/", {"period": PERIOD}, format="json").status_code == 201
    before = state()
    run = BillingRun.objects.get()
    error = error_of(api.post(f"{API}/billing-runs/", {"period": PERIOD}, format="json", HTTP_IDEMPOTENCY_KEY="again"),
                     400, "already_run")  # fmt: skip
    assert error["message"] == "La facturation de 11/2026 a déjà été faite (1 factures)."
    assert state() == before
    assert BillingRun.objects.get().finished_at == run.finished_at


def test_a_run_in_progress_is_409(org, office, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    BillingRun.objects.create(organization=org, period=datetime.date(2026, 11, 1), issue_date=timezone.localdate(),
                              contracts_total=1)  # fmt: skip
    before = state()
    error_of(api.post(f"{API}/billing-runs/", {"period": PERIOD}, format="json"), 409, "run_in_progress")
    assert state() == before


def test_a_locked_period_is_refused(org, center, office, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    billing_profile(center.legal_entity_id)
    BillingProfile.objects.filter(legal_entity_id=center.legal_entity_id).update(locked_until=timezone.localdate())
    error = error_of(api.post(f"{API}/billing-runs/", {"period": PERIOD}, format="json"), 400, "locked_period")
    assert list(error["fields"]) == ["period"]
    assert state() == (0, 0, 0)


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "2026-00", "26-11", "2026-11-01", "", "١٢٣٤-11", "2026-11\n",
                                    "1999-12", None, 202611, ["2026-11"]])  # fmt: skip
def test_a_wrong_period_is_400_at_the_field(org, admin, api_client, period):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    error = error_of(api.post(f"{API}/billing-runs/", {"period": period}, format="json"), 400, "invalid")
    assert list(error["fields"]) == ["period"]
    if isinstance(period, str):
        error = error_of(api.get(f"{API}/billing-runs/preview/", {"period": period}), 400, "invalid")
        assert list(error["fields"]) == ["period"]
    assert state() == (0, 0, 0)


def test_bad_inputs(org, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    error = error_of(api.get(f"{API}/billing-runs/preview/"), 400, "invalid")
    assert list(error["fields"]) == ["period"]
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    error_of(api.post(f"{API}/billing-runs/", {"period": PERIOD, "issue_date": tomorrow}, format="json"), 400,
             "future_date")  # fmt: skip
    error = error_of(api.post(f"{API}/billing-runs/", {"period": PERIOD, "status": "completed"}, format="json"), 400)
    assert list(error["fields"]) == ["status"]
    assert state() == (0, 0, 0)


def test_rights_and_tenancy(org, office, staff_of, api_client, admin, other_org):  # type: ignore[no-untyped-def]
    foreign = BillingRun.objects.create(organization=other_org, period=datetime.date(2026, 11, 1),
                                        issue_date=timezone.localdate())  # fmt: skip
    reception = api_client(staff_of("reception"))
    error_of(reception.get(f"{API}/billing-runs/"), 403, "forbidden")
    error_of(reception.get(f"{API}/billing-runs/preview/", {"period": PERIOD}), 403, "forbidden")
    error_of(reception.post(f"{API}/billing-runs/", {"period": PERIOD}, format="json"), 403, "forbidden")
    manager = api_client(staff_of("manager"))
    assert manager.get(f"{API}/billing-runs/").json()["results"] == []
    error_of(manager.get(f"{API}/billing-runs/{foreign.pk}/"), 404, "not_found")
    error_of(api_client(admin).get(f"{API}/billing-runs/{foreign.pk}/"), 404, "not_found")
    assert state() == (1, 0, 0)
