"""The billing ledger benchmarks (comptoir/billing/bench_ledger.py): a tiny-scale smoke run of every benchmark
(JSON shape, rows, equal query counts of the list pair), and the generated documents pass `verify_ledger`:
numbers 1..n per series and year, the hash chain linked, the sequences at their last values. Outside
pytest-django's transaction, like comptoir/sales/tests/test_bench.py."""

from __future__ import annotations

import datetime
import io
import json
import os

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max, Min

import comptoir.billing.bench_ledger as bench_ledger
from comptoir.bench import harness
from comptoir.billing import ledger
from comptoir.billing.models import Invoice
from comptoir.core.models import Organization, Sequence

JSON_KEYS = {"name", "database", "scale", "median_ms", "per_second", "raw_ratio", "queries"}
SCALE = 0.0005
BENCHMARKS = [
    "list.invoices.10", "list.invoices.1000000", "ledger.verify", "pdf.invoice", "pdf.invoice.throughput",
    "export.zip.month",
]  # fmt: skip


@pytest.fixture(scope="module")
def bench_url(tmp_path_factory, django_db_blocker):  # type: ignore[no-untyped-def]
    params = dict(connection.settings_dict)
    if params["ENGINE"] == harness.SQLITE_ENGINE:
        params["NAME"] = str(tmp_path_factory.mktemp("ledgerbench") / "bench.sqlite3")
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        base = str(params["NAME"]).removeprefix("test_")
        params["NAME"] = f"test_{base}_ledger_bench{('_' + worker) if worker else ''}"
    url = harness.database_url(params)
    yield url
    with django_db_blocker.unblock():
        harness.drop_database(harness.bench_database_settings(url))


def test_the_counts_follow_the_scale():
    assert bench_ledger.document_count(1) == 1_000_000 and bench_ledger.credit_note_count(1) == 300
    assert bench_ledger.document_count(SCALE) == 500 and bench_ledger.credit_note_count(SCALE) == 1
    assert bench_ledger.small_month_count(1) == 100 and bench_ledger.small_month_count(SCALE) == 10


def test_smoke_every_benchmark_and_a_clean_ledger(bench_url, django_db_blocker):
    out = io.StringIO()
    only = [arg for name in BENCHMARKS for arg in ("--only", name)]
    with django_db_blocker.unblock():
        call_command(
            "bench", "--scale", str(SCALE), "--json", "--repeat", "1", *only, "--database-url", bench_url, stdout=out
        )

    results = {result["name"]: result for result in json.loads(out.getvalue())}
    assert set(results) == set(BENCHMARKS)
    for result in results.values():
        assert set(result) == JSON_KEYS and result["database"] == connection.vendor
        assert result["median_ms"] > 0 and result["raw_ratio"] > 0 and result["per_second"] > 0
    # the list's query count does not grow with the documents (the harness fails otherwise)
    assert results["list.invoices.10"]["queries"] == results["list.invoices.1000000"]["queries"]
    assert results["pdf.invoice"]["queries"] <= 10  # no query per line

    with django_db_blocker.unblock(), harness.use_database(harness.bench_database_settings(bench_url)):
        for slug, documents in [("bench", 500), ("bench-list-10", 10), ("bench-billing-small", 30)]:
            organization = Organization.objects.get(slug=slug)
            checked, problems = ledger.verify_ledger(organization=organization)
            assert (checked, problems) == (documents, [])
            issued = Invoice.objects.filter(organization=organization)
            assert not issued.filter(status=Invoice.Status.DRAFT).exists()
            # the next issue continues the chain: the sequences hold the last number of each series
            for entity_id, top in issued.values_list("legal_entity_id").annotate(top=Max("chain_index")):
                series = ledger.ledger_series(entity_id)
                assert Sequence.objects.get(organization=organization, series=series).last_value == top
            for row in issued.values("legal_entity_id", "kind", "issue_date__year").annotate(
                top=Max("number"), first=Min("number"), count=Count("id")
            ):
                assert row["first"] == 1 and row["top"] == row["count"]
                sequence = Sequence.objects.get(
                    organization=organization, series=f"{row['kind']}:{row['legal_entity_id']}",
                    scope=str(row["issue_date__year"]),
                )  # fmt: skip
                assert sequence.last_value == row["top"]
        bench = Invoice.objects.filter(organization__slug="bench")
        credit = bench.get(kind=Invoice.Kind.CREDIT_NOTE)
        assert credit.credited_invoice.status == Invoice.Status.CANCELLED
        assert credit.issue_date >= credit.credited_invoice.issue_date
        assert credit.total_incl_vat == credit.credited_invoice.total_incl_vat
        days = bench.aggregate(first=Min("issue_date"), last=Max("issue_date"))
        assert days["first"] == bench_ledger.FIRST_DAY  # 24 months, the last days of November 2026
        assert bench_ledger.LAST_DAY - datetime.timedelta(days=3) <= days["last"] <= bench_ledger.LAST_DAY
