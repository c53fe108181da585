"""The catalog's benchmark floorplan.svg.200: a tiny-scale smoke run (the generated 200-space floor is
drawn, JSON shape, a raw baseline), outside pytest-django's transaction like comptoir/bench/tests."""

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
        params["NAME"] = str(tmp_path_factory.mktemp("catalogbench") / "bench.sqlite3")
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        base = str(params["NAME"]).removeprefix("test_")
        params["NAME"] = f"test_{base}_catalog_bench{('_' + worker) if worker else ''}"
    url = harness.database_url(params)
    yield url
    with django_db_blocker.unblock():
        harness.drop_database(harness.bench_database_settings(url))


def test_smoke_floorplan_svg(bench_url, django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command(
            "bench", "--scale", "0.001", "--json", "--repeat", "3", "--only", "floorplan.svg.200",
            "--database-url", bench_url, stdout=out,
        )  # fmt: skip

    [result] = json.loads(out.getvalue())
    assert set(result) == JSON_KEYS and result["name"] == "floorplan.svg.200"
    assert result["database"] == connection.vendor
    assert result["median_ms"] > 0 and result["raw_ratio"] > 0 and result["per_second"] > 0
    assert result["queries"] <= 5  # the spaces, one query per occupancy provider: never one per space
