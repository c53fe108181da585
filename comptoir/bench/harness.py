"""The bench harness: a separate bench database, the generated data set, timing, query counts, output.

The bench never writes to the developer's database. It derives a bench database from the configured
DATABASE_URL (or `--database-url`) and, for the duration of the run, points Django's `default`
connection at it — the way Django's test runner swaps in its test database:

- SQLite `.../comptoir.sqlite3` → `.../bench.sqlite3` (the same folder: `var/bench.sqlite3` by default);
- PostgreSQL `.../comptoir` → `.../comptoir_bench` (created when missing);
- a database whose name already contains "bench" is used as it is.

It migrates the bench database, generates the data set when the one there was made with another scale
or other generator steps (or with `--regenerate`), runs the benchmarks and restores the connection.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import dj_database_url
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from comptoir.bench import registry
from comptoir.bench.registry import BenchError, Benchmark, Case
from comptoir.core.models import Organization, Role, StaffMembership, User

SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
    ),
}
SQLITE_ENGINE = "django.db.backends.sqlite3"
JSON_KEYS = ("name", "database", "scale", "median_ms", "per_second", "raw_ratio", "queries")


# --------------------------------------------------------------------------------------------------
# The bench database
# --------------------------------------------------------------------------------------------------
def database_settings(url: str) -> dict[str, Any]:
    """Django DATABASES entry for a URL, with the options comptoir/settings.py gives the same engine."""
    params = dj_database_url.parse(url, conn_max_age=0)
    if params["ENGINE"] == SQLITE_ENGINE:
        params["OPTIONS"] = dict(SQLITE_OPTIONS)
    else:
        params.setdefault("OPTIONS", {})
        params["OPTIONS"].setdefault("server_side_binding", False)
    return params


def bench_database_settings(url: str) -> dict[str, Any]:
    """The bench database next to the database of `url` (see the module docstring)."""
    params = database_settings(url)
    name = str(params["NAME"] or "")
    if params["ENGINE"] == SQLITE_ENGINE:
        in_memory = not name or name == ":memory:" or "mode=memory" in name
        path = Path(settings.VAR_DIR) / "bench.sqlite3" if in_memory else Path(name)
        if "bench" not in path.name:
            path = path.with_name("bench.sqlite3")
        params["NAME"] = str(path)
    elif "bench" not in name:
        params["NAME"] = f"{name}_bench"
    if "bench" not in Path(params["NAME"]).name:  # never flush a database that is not a bench database
        raise BenchError(f"Refusing to run the bench in the database {params['NAME']!r}.")
    return params


def database_url(params: dict[str, Any]) -> str:
    """A URL for a DATABASES entry (for a subprocess or a message); the password is included."""
    if params["ENGINE"] == SQLITE_ENGINE:
        return f"sqlite:///{params['NAME']}"
    credentials = quote(params.get("USER") or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{params['NAME']}"


def describe(params: dict[str, Any]) -> str:
    if params["ENGINE"] == SQLITE_ENGINE:
        return f"sqlite {params['NAME']}"
    return f"postgresql {params.get('HOST') or 'localhost'}:{params.get('PORT') or 5432}/{params['NAME']}"


@contextmanager
def use_database(params: dict[str, Any]) -> Iterator[None]:
    """Point the `default` connection of this thread at another database, then restore it."""
    original_settings = connections.settings[DEFAULT_DB_ALIAS]
    original_connection = connections[DEFAULT_DB_ALIAS]
    if original_connection.in_atomic_block:
        raise BenchError("The bench cannot switch databases inside a transaction.")
    original_connection.close()
    connections.settings[DEFAULT_DB_ALIAS] = connections.configure_settings({DEFAULT_DB_ALIAS: dict(params)})[
        DEFAULT_DB_ALIAS
    ]
    del connections[DEFAULT_DB_ALIAS]
    ContentType.objects.clear_cache()  # content type ids belong to a database
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections.settings[DEFAULT_DB_ALIAS] = original_settings
        connections[DEFAULT_DB_ALIAS] = original_connection
        ContentType.objects.clear_cache()


def create_database_if_missing(params: dict[str, Any]) -> bool:
    """PostgreSQL: CREATE DATABASE when it does not exist (SQLite creates its file on connect)."""
    if params["ENGINE"] == SQLITE_ENGINE:
        Path(params["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        return False
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]])
        if cursor.fetchone():
            return False
        cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(params['NAME'])}")
    return True


def drop_database(params: dict[str, Any]) -> None:
    """Remove a bench database (used by the tests to clean up after themselves)."""
    if params["ENGINE"] == SQLITE_ENGINE:
        for suffix in ("", "-wal", "-shm"):
            Path(params["NAME"] + suffix).unlink(missing_ok=True)
        return
    with use_database(params), connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(params['NAME'])}")


# --------------------------------------------------------------------------------------------------
# The data set: generated once per (scale, generator steps), reused by later runs
# --------------------------------------------------------------------------------------------------
DATASET_TABLE = "comptoir_bench_dataset"


def dataset_signature(scale: float) -> str:
    from comptoir.bench.generator import GENERATOR_VERSION

    steps = ",".join(name for _order, name, _fn in registry.generator_steps())
    return f"v{GENERATOR_VERSION} scale={scale!r} steps={steps}"


def current_dataset() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {DATASET_TABLE} (signature TEXT NOT NULL, seconds REAL NOT NULL)")
        cursor.execute(f"SELECT signature FROM {DATASET_TABLE}")
        row = cursor.fetchone()
    return row[0] if row else None


def remember_dataset(signature: str, seconds: float) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DATASET_TABLE}")
        cursor.execute(f"INSERT INTO {DATASET_TABLE} (signature, seconds) VALUES (%s, %s)", [signature, seconds])


def prepare_dataset(*, scale: float, regenerate: bool, log: Callable[[str], None]) -> None:
    from comptoir.bench.generator import generate

    signature = dataset_signature(scale)
    if not regenerate and current_dataset() == signature:
        log(f"data set up to date ({signature})")
        return
    log("emptying the bench database (flush)")
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()  # flush made the content types again
    started = time.perf_counter()
    generate(scale=scale, log=log)
    seconds = time.perf_counter() - started
    remember_dataset(signature, seconds)
    log(f"data set generated in {seconds:.1f} s")


# --------------------------------------------------------------------------------------------------
# Raw baselines
# --------------------------------------------------------------------------------------------------
def raw_insert(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows the fastest way the database offers: COPY on PostgreSQL, executemany on SQLite.

    Values must already be in the database's form (see `connection.ops.adapt_*` for dates on SQLite).
    """
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({column_list}) VALUES ({placeholders})", rows)


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------
@dataclass
class Measurement:
    name: str
    database: str
    scale: float
    median_ms: float
    per_second: float
    raw_ratio: float | None
    queries: int
    rows: int
    repeat: int
    raw_median_ms: float | None

    def as_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in JSON_KEYS}


@dataclass
class BenchContext:
    """What a benchmark's `build(ctx)` gets: the scale and the generated tenants."""

    scale: float
    log: Callable[[str], None] = lambda message: None
    _organizations: dict[str, Organization] = field(default_factory=dict)

    def organization(self, slug: str) -> Organization:
        if slug not in self._organizations:
            try:
                self._organizations[slug] = Organization.objects.get(slug=slug)
            except Organization.DoesNotExist as exc:
                raise BenchError(f"The bench data set has no organization {slug!r}: run with --regenerate.") from exc
        return self._organizations[slug]

    def administrator(self, slug: str) -> User:
        staff = (
            StaffMembership.objects.filter(organization=self.organization(slug), role__kind=Role.Kind.ADMINISTRATOR)
            .select_related("user")
            .order_by("id")
            .first()
        )
        if staff is None:
            raise BenchError(f"The bench organization {slug!r} has no administrator.")
        return staff.user

    def staff_client(self, slug: str) -> Client:
        """A test client logged in as the tenant's administrator, working in that tenant."""
        client = Client()
        client.force_login(self.administrator(slug), backend="comptoir.core.auth.EmailBackend")
        session = client.session
        session["organization_id"] = self.organization(slug).pk
        session.save()
        return client


def _timed(fn: Callable[[], Any], *, repeat: int, in_rollback: bool) -> list[float]:
    """Milliseconds of each of `repeat` runs (garbage collector paused, as timeit does)."""
    timings = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            if in_rollback:
                with transaction.atomic():
                    started = time.perf_counter_ns()
                    fn()
                    elapsed = time.perf_counter_ns() - started
                    transaction.set_rollback(True)
            else:
                started = time.perf_counter_ns()
                fn()
                elapsed = time.perf_counter_ns() - started
            timings.append(elapsed / 1e6)
    finally:
        gc.enable()
    return timings


def _counted(fn: Callable[[], Any], *, in_rollback: bool) -> tuple[Any, int]:
    """One warm-up run that also counts the queries."""
    if in_rollback:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            result = fn()
            transaction.set_rollback(True)
    else:
        with CaptureQueriesContext(connection) as queries:
            result = fn()
    return result, len(queries)


def measure(bench: Benchmark, ctx: BenchContext, *, repeat: int | None = None) -> Measurement:
    case: Case = bench.build(ctx)
    repeat = repeat or case.repeat
    result, queries = _counted(case.run, in_rollback=case.in_rollback)
    rows = case.rows
    if case.check is not None and (shown := case.check(result)) is not None:
        rows = shown
    median_ms = statistics.median(_timed(case.run, repeat=repeat, in_rollback=case.in_rollback))
    raw_median_ms = None
    if case.raw is not None:
        _counted(case.raw, in_rollback=case.in_rollback)
        raw_median_ms = statistics.median(_timed(case.raw, repeat=repeat, in_rollback=case.in_rollback))
    return Measurement(
        name=bench.name,
        database=connection.vendor,
        scale=ctx.scale,
        median_ms=round(median_ms, 3),
        per_second=round(rows / (median_ms / 1000), 1) if median_ms > 0 else 0.0,
        raw_ratio=round(median_ms / raw_median_ms, 2) if raw_median_ms else None,
        queries=queries,
        rows=rows,
        repeat=repeat,
        raw_median_ms=round(raw_median_ms, 3) if raw_median_ms is not None else None,
    )


# --------------------------------------------------------------------------------------------------
# A run
# --------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    database: str
    measurements: list[Measurement]
    failures: list[str]


def run(
    *,
    scale: float = 1.0,
    only: list[str] | None = None,
    url: str | None = None,
    repeat: int | None = None,
    regenerate: bool = False,
    log: Callable[[str], None] | None = None,
) -> Outcome:
    """Select the benchmarks, prepare the bench database and its data, measure, compare query counts."""
    log = log or (lambda message: None)
    chosen = registry.select(only or [])
    params = bench_database_settings(url or settings.DATABASE_URL)
    measurements: list[Measurement] = []
    failures: list[str] = []
    # Pages render as in production except static files, which are not collected for the bench.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with use_database(params), override_settings(STORAGES=storages, DEBUG=False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: STATIC_ROOT not collected
        if create_database_if_missing(params):
            log(f"created the database {params['NAME']}")
        log(f"bench database: {describe(params)}")
        call_command("migrate", interactive=False, verbosity=0, stdout=sys.stderr)
        prepare_dataset(scale=scale, regenerate=regenerate, log=log)
        ctx = BenchContext(scale=scale, log=log)
        for bench in chosen:
            log(f"running {bench.name}")
            try:
                measurements.append(measure(bench, ctx, repeat=repeat))
            except BenchError as exc:
                failures.append(f"{bench.name}: {exc}")
        failures.extend(compare_query_counts(chosen, measurements))
    return Outcome(database=describe(params), measurements=measurements, failures=failures)


def compare_query_counts(chosen: list[Benchmark], measurements: list[Measurement]) -> list[str]:
    by_name = {measurement.name: measurement for measurement in measurements}
    failures = []
    for bench in chosen:
        if bench.same_queries_as and bench.name in by_name and bench.same_queries_as in by_name:
            mine, theirs = by_name[bench.name], by_name[bench.same_queries_as]
            if mine.queries != theirs.queries:
                failures.append(
                    f"{mine.name} made {mine.queries} queries but {theirs.name} made {theirs.queries}: "
                    "the query count must not grow with the number of rows (an N+1 query?)"
                )
    return failures


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------
def as_json(measurements: list[Measurement]) -> str:
    return json.dumps([measurement.as_json() for measurement in measurements], ensure_ascii=False)


def as_table(measurements: list[Measurement], out: TextIO) -> None:
    header = ["benchmark", "database", "scale", "rows", "median ms", "rows/s", "raw ms", "× raw", "queries"]
    lines = [
        [
            m.name,
            m.database,
            f"{m.scale:g}",
            f"{m.rows:,}",
            f"{m.median_ms:,.3f}",
            f"{m.per_second:,.0f}",
            "—" if m.raw_median_ms is None else f"{m.raw_median_ms:,.3f}",
            "—" if m.raw_ratio is None else f"{m.raw_ratio:,.1f}",
            str(m.queries),
        ]
        for m in measurements
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    for index, row in enumerate([header, *lines]):
        cells = [cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        out.write("  ".join(cells).rstrip() + "\n")
        if index == 0:
            out.write("  ".join("-" * width for width in widths) + "\n")
