"""`comptoir bench`: its own database, JSON output, the query-count guard, a deterministic generator.

The bench switches Django's connection to a bench database, so these tests run outside pytest-django's
per-test transaction (no `django_db` mark): they unblock database access and clean up after themselves.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from comptoir.bench import generator, harness, registry
from comptoir.bench.registry import Case
from comptoir.core.models import Center, Organization, StaffMembership

JSON_KEYS = {"name", "database", "scale", "median_ms", "per_second", "raw_ratio", "queries"}


@pytest.fixture(scope="module")
def bench_url(tmp_path_factory, django_db_blocker):  # type: ignore[no-untyped-def]
    """A database URL whose bench database belongs to this test run; dropped at the end of the module."""
    params = dict(connection.settings_dict)
    if params["ENGINE"] == harness.SQLITE_ENGINE:
        params["NAME"] = str(tmp_path_factory.mktemp("bench") / "bench.sqlite3")
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        base = str(params["NAME"]).removeprefix("test_")
        params["NAME"] = f"test_{base}_bench{('_' + worker) if worker else ''}"
    url = harness.database_url(params)
    yield url
    with django_db_blocker.unblock():
        harness.drop_database(harness.bench_database_settings(url))


def run_bench(django_db_blocker, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("bench", *args, stdout=out, verbosity=0)
    return out.getvalue()


def test_bench_database_is_never_the_configured_one(settings):
    sqlite = harness.bench_database_settings("sqlite:////srv/comptoir/var/comptoir.sqlite3")
    postgres = harness.bench_database_settings("postgres://app@db:5432/comptoir")
    named = harness.bench_database_settings("postgres://app@db:5432/comptoir_bench_h4")
    in_memory = harness.bench_database_settings("sqlite://:memory:")

    assert sqlite["NAME"] == "/srv/comptoir/var/bench.sqlite3"
    assert sqlite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert postgres["NAME"] == "comptoir_bench"
    assert postgres["OPTIONS"]["server_side_binding"] is False
    assert named["NAME"] == "comptoir_bench_h4"  # already a bench database: used as it is
    assert in_memory["NAME"] == str(Path(settings.VAR_DIR) / "bench.sqlite3")


def test_smoke_list_centers_json(bench_url, django_db_blocker):
    output = run_bench(
        django_db_blocker, "--scale", "0.001", "--json", "--only", "list.centers", "--database-url", bench_url
    )

    results = json.loads(output)  # one JSON array and nothing else on stdout
    assert [result["name"] for result in results] == ["list.centers.10", "list.centers.1000"]
    for result in results:
        assert set(result) == JSON_KEYS
        assert result["database"] == connection.vendor and result["scale"] == 0.001
        assert result["median_ms"] > 0 and result["per_second"] > 0 and result["raw_ratio"] > 0
        assert isinstance(result["queries"], int) and result["queries"] > 0
    assert results[0]["queries"] == results[1]["queries"]


def test_generate_centers_compares_bulk_create_with_raw_inserts(bench_url, django_db_blocker):
    output = run_bench(
        django_db_blocker,
        "--scale",
        "0.001",
        "--json",
        "--only",
        "generate",
        "--repeat",
        "1",
        "--database-url",
        bench_url,
    )

    (result,) = json.loads(output)
    assert result["name"] == "generate.centers"
    assert result["queries"] == 1  # 1,000 rows in one batch
    assert result["per_second"] > 1000 and result["raw_ratio"] > 0


def test_human_output_is_an_aligned_table(bench_url, django_db_blocker):
    output = run_bench(
        django_db_blocker, "--scale", "0.001", "--only", "generate", "--repeat", "1", "--database-url", bench_url
    )

    lines = output.splitlines()
    assert lines[0].startswith("Database: ")
    header, rule, row = lines[1:4]
    assert header.split()[:3] == ["benchmark", "database", "scale"]
    assert set(rule.replace(" ", "")) == {"-"} and len(rule) >= len(row.rstrip()) - 1
    assert row.startswith("generate.centers")


def test_bench_fails_when_the_query_count_grows_with_the_rows(bench_url, django_db_blocker, monkeypatch):
    monkeypatch.setattr(registry, "_benchmarks", dict(registry.benchmarks()))

    def page(queries: int):  # type: ignore[no-untyped-def]
        def build(ctx: harness.BenchContext) -> Case:
            def run() -> None:
                for _ in range(queries):
                    Organization.objects.exists()

            return Case(run=run, raw=None, rows=queries, repeat=1)

        return build

    registry.benchmark("fake.page.10")(page(2))
    registry.benchmark("fake.page.1000", same_queries_as="fake.page.10")(page(3))

    with pytest.raises(CommandError, match=r"fake.page.1000 made 3 queries but fake.page.10 made 2"):
        run_bench(django_db_blocker, "--scale", "0.001", "--only", "fake.page.1000", "--database-url", bench_url)


def test_unknown_benchmark_is_refused(bench_url, django_db_blocker):
    with pytest.raises(CommandError, match=r"No benchmark matches nothing\.here"):
        run_bench(django_db_blocker, "--only", "nothing.here", "--database-url", bench_url)


def test_bench_leaves_the_configured_database_alone(bench_url, django_db_blocker):
    with django_db_blocker.unblock():
        before = dict(connection.settings_dict)
        run_bench(
            django_db_blocker, "--scale", "0.001", "--only", "generate", "--repeat", "1", "--database-url", bench_url
        )
        assert connection.settings_dict["NAME"] == before["NAME"]
        assert connection.settings_dict["ENGINE"] == before["ENGINE"]


@pytest.mark.django_db
def test_generator_is_deterministic_and_sized_by_scale():
    def generate_and_describe() -> tuple[list[tuple[str, str, str]], list[str]]:
        with transaction.atomic():
            generator.generate(scale=0.001)
            centers = list(
                Center.objects.order_by("organization__slug", "code").values_list("organization__slug", "code", "name")
            )
            staff = list(StaffMembership.objects.order_by("user__email").values_list("user__email", flat=True))
            transaction.set_rollback(True)
        return centers, staff

    first, second = generate_and_describe(), generate_and_describe()

    assert first == second
    centers, staff = first
    sizes = generator.objects_per_tenant(0.001)
    assert sizes["bench"] == {"centers": 1, "staff": 2} and sizes["bench-list-1000"]["centers"] == 1000
    assert (
        len(centers) == 1 + 10 + 1000 + 100 + 1
    )  # + the billing bench's small tenant (comptoir/billing/bench_ledger.py)
    assert len(staff) == 2 + 10 + 1000 + 1000 + 1 + 1  # + the administrators of bench-search and bench-billing-small
    assert generator.objects_per_tenant(1)["bench"] == {"centers": 100, "staff": 2000}
