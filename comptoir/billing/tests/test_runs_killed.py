"""Invariant 7: a run that stops half-way (an error, a killed process) finishes on the next start without
duplicates: every contract billed exactly once, numbers 1..N without a gap, the ledger intact."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from comptoir.billing import ledger
from comptoir.billing.models import BilledPeriod, BillingRun, Invoice
from comptoir.billing.services import runs
from comptoir.billing.tests.test_runs import MARCH, client, contract
from comptoir.core.errors import Conflict
from comptoir.core.models import AuditEntry
from comptoir.sales.models import Contract


def _contracts(org, center, by, count: int) -> list[Contract]:  # type: ignore[no-untyped-def]
    return [
        contract(org, client(org, f"Client {n:02d}"), center, by, start=datetime.date(2025, 1, 1),
                 lines=[("Bureau", "1000.00"), ("Parking", "90.00"), ("Option", "15.00"), ("Ménage", "40.00")])
        for n in range(count)
    ]  # fmt: skip


def _assert_billed_exactly_once(org, contracts: list[Contract]) -> None:  # type: ignore[no-untyped-def]
    billed = dict(BilledPeriod.objects.filter(period=MARCH).values_list("contract_id").annotate(n=Count("id")))
    assert billed == {made.pk: 1 for made in contracts}
    assert Invoice.objects.filter(organization=org, contract__isnull=False).values("contract").distinct().count() == (
        len(contracts)
    )
    numbers = sorted(Invoice.objects.filter(organization=org).values_list("number", flat=True))
    assert numbers == list(range(1, len(contracts) + 1))
    assert ledger.verify_ledger(organization=org) == (len(contracts), [])


@pytest.mark.django_db
def test_a_run_that_failed_after_a_chunk_resumes_and_completes(org, center, admin, monkeypatch):
    # given: a run that breaks after its second chunk of 3 companies
    contracts = _contracts(org, center, admin, 10)

    def crash(run: BillingRun, index: int) -> None:
        if index == 1:
            raise RuntimeError("process lost")

    monkeypatch.setattr(runs, "after_chunk", crash)
    run = runs.start_run(organization=org, period=MARCH, by=admin, issue_date=MARCH, enqueue=False)
    with pytest.raises(RuntimeError):
        runs.execute_run(run=run, chunk_size=3)
    run.refresh_from_db()
    assert (run.status, run.contracts_done, run.invoices_created) == (BillingRun.Status.FAILED, 6, 6)
    assert run.error == "RuntimeError: process lost"
    monkeypatch.setattr(runs, "after_chunk", lambda run, index: None)

    # when: started again
    resumed = runs.start_run(organization=org, period=MARCH, by=admin, enqueue=False)
    resumed = runs.execute_run(run=resumed, chunk_size=3)

    # then
    assert resumed.pk == run.pk
    assert (resumed.status, resumed.contracts_total, resumed.contracts_done, resumed.invoices_created) == (
        BillingRun.Status.COMPLETED, 10, 10, 10,
    )  # fmt: skip
    assert resumed.error == "" and resumed.issue_date == MARCH
    _assert_billed_exactly_once(org, contracts)
    actions = list(AuditEntry.objects.filter(action__startswith="billingrun.").order_by("id").values_list("action",
                                                                                                         flat=True))  # fmt: skip
    assert actions == ["billingrun.started", "billingrun.failed", "billingrun.resumed", "billingrun.completed"]


def _database_url_of_this_test() -> str:
    params = connection.settings_dict
    credentials = quote(params["USER"] or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    return f"postgres://{credentials}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_billing_run_process_completes_on_the_next_run_without_duplicates(org, center, admin, is_postgres):
    if not is_postgres:
        pytest.skip("kills a `comptoir billing-run` process that works on this test's PostgreSQL database")
    # given: `comptoir billing-run` in another process, pausing 30 s after each chunk of 4 contracts
    contracts = _contracts(org, center, admin, 12)
    env = {**os.environ, "DATABASE_URL": _database_url_of_this_test(), runs.CHUNK_PAUSE_ENV: "30"}
    command = [sys.executable, "-m", "comptoir", "billing-run", "--org", org.slug, "--period", "2026-03",
               "--issue-date", "2026-03-01", "--chunk-size", "4"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not BillingRun.objects.filter(organization=org, contracts_done__gt=0).exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the first chunk was not committed within 60 s"
            time.sleep(0.1)

        # when: killed between two chunks
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    run = BillingRun.objects.get(organization=org)
    assert (run.status, run.contracts_done, run.invoices_created) == (BillingRun.Status.RUNNING, 4, 4)
    assert Invoice.objects.filter(organization=org).count() == 4

    # then: refused while its heartbeat is fresh (it might be alive), resumed once it is two minutes old
    with pytest.raises(Conflict):
        runs.start_run(organization=org, period=MARCH, by=admin)
    BillingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=3))
    call_command("billing-run", "--org", org.slug, "--period", "2026-03", "--chunk-size", "4", verbosity=0)

    run.refresh_from_db()
    assert (run.status, run.contracts_done, run.invoices_created) == (BillingRun.Status.COMPLETED, 12, 12)
    _assert_billed_exactly_once(org, contracts)
