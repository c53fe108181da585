"""The CRM's benchmarks: a tiny-scale smoke run of search.* and list.companies.* (JSON shape, equal query
counts, hits found), outside pytest-django's transaction like comptoir/bench/tests/test_bench.py."""

from __future__ import annotations

import io
import json
import os

import pytest
from django.core.management import call_command
from django.db import connection

from comptoir.bench import harness

JSON_KEYS = {"name", "database", "scale", "median_ms", "per_second", "raw_ratio", "queries"}


@pytest.fixture(scope="module")
def bench_url(tmp_path_factory, django_db_blocker):  # type: ignore[no-untyped-def]
    params = dict(connection.settings_dict)
    if params["ENGINE"] == harness.SQLITE_ENGINE:
        params["NAME"] = str(tmp_path_factory.mktemp("crmbench") / "bench.sqlite3")
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        base = str(params["NAME"]).removeprefix("test_")
        params["NAME"] = f"test_{base}_crm_bench{('_' + worker) if worker else ''}"
    url = harness.database_url(params)
    yield url
    with django_db_blocker.unblock():
        harness.drop_database(harness.bench_database_settings(url))


def test_smoke_search_and_company_list(bench_url, django_db_blocker, capsys):
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command(
            "bench", "--scale", "0.001", "--json", "--repeat", "3", "--only", "search,list.companies",
            "--database-url", bench_url, stdout=out,
        )  # fmt: skip

    results = {result["name"]: result for result in json.loads(out.getvalue())}
    assert set(results) == {"search.name.3chars", "search.phone.4digits", "list.companies.10", "list.companies.20000"}
    for result in results.values():
        assert set(result) == JSON_KEYS and result["database"] == connection.vendor
        assert result["median_ms"] > 0 and result["raw_ratio"] > 0
    assert results["list.companies.10"]["queries"] == results["list.companies.20000"]["queries"]
    assert results["search.name.3chars"]["per_second"] > 0  # the first query found rows
    assert "search.name.3chars p50 / p95 over 50 queries" in capsys.readouterr().err  # the p95 line
