"""The sales benchmarks: a tiny-scale smoke run of pricing.offers.10000, pdf.quote and pdf.contract (JSON
shape, rows, ratios to the raw baseline), outside pytest-django's transaction like comptoir/crm/tests/test_bench.py."""

from __future__ import annotations

import io
import json
import os

import pytest
from django.core.management import call_command
from django.db import connection

from comptoir.bench import harness
from comptoir.sales.bench import contract_count, priced_line_count, quote_count

JSON_KEYS = {"name", "database", "scale", "median_ms", "per_second", "raw_ratio", "queries"}


@pytest.fixture(scope="module")
def bench_url(tmp_path_factory, django_db_blocker):  # type: ignore[no-untyped-def]
    params = dict(connection.settings_dict)
    if params["ENGINE"] == harness.SQLITE_ENGINE:
        params["NAME"] = str(tmp_path_factory.mktemp("salesbench") / "bench.sqlite3")
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        base = str(params["NAME"]).removeprefix("test_")
        params["NAME"] = f"test_{base}_sales_bench{('_' + worker) if worker else ''}"
    url = harness.database_url(params)
    yield url
    with django_db_blocker.unblock():
        harness.drop_database(harness.bench_database_settings(url))


def test_the_counts_follow_the_scale():
    assert (quote_count(1), contract_count(1), priced_line_count(1)) == (1000, 100, 10_000)
    assert (quote_count(0.01), contract_count(0.01), priced_line_count(0.01)) == (10, 10, 10_000)
    assert (quote_count(0.001), priced_line_count(0.001)) == (10, 1000)


def test_smoke_pricing_and_pdfs(bench_url, django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command(
            "bench", "--scale", "0.001", "--json", "--repeat", "2",
            "--only", "pricing.offers.10000", "--only", "pdf.quote", "--only", "pdf.contract",
            "--database-url", bench_url, stdout=out,
        )  # fmt: skip

    results = {result["name"]: result for result in json.loads(out.getvalue())}
    assert set(results) == {"pricing.offers.10000", "pdf.quote", "pdf.contract"}
    for result in results.values():
        assert set(result) == JSON_KEYS and result["database"] == connection.vendor
        assert result["median_ms"] > 0 and result["raw_ratio"] > 0
    assert results["pricing.offers.10000"]["per_second"] > 0
    # one PriceBook for all the lines: rates, grids and center prices are read once, not per line
    assert results["pricing.offers.10000"]["queries"] < 50
    assert results["pdf.quote"]["queries"] <= 5 and results["pdf.contract"]["queries"] <= 5  # no N+1 per line
