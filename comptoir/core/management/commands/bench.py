"""`comptoir bench`: measure on generated data, in a separate bench database (see docs/bench.md)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.bench import harness, registry
from comptoir.bench.registry import BenchError


class Command(BaseCommand):
    help = (
        "Run the performance benchmarks on generated data in a bench database (never the configured one): "
        "median time, rows/s, ratio to the same work in raw SQL, query count."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, default=1.0, help="Data volume; 1.0 = DESIGN.md's scale (100 centers...)."
        )
        parser.add_argument(
            "--only",
            action="append",
            default=[],
            metavar="NAME",
            help="Run only this benchmark or dotted prefix (list.centers); repeat or comma-separate for several.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON array of results and nothing else.")
        parser.add_argument(
            "--database-url",
            default=None,
            help="Database next to which the bench database is made (default: DATABASE_URL). "
            "SQLite: bench.sqlite3 in the same folder; PostgreSQL: <name>_bench; a name containing 'bench' is used as is.",
        )
        parser.add_argument(
            "--repeat", type=int, default=None, help="Timed runs per benchmark (default: per benchmark)."
        )
        parser.add_argument("--regenerate", action="store_true", help="Generate the data set again even if up to date.")
        parser.add_argument("--list", action="store_true", help="List the benchmarks and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for name, bench in registry.benchmarks().items():
                self.stdout.write(f"{name:<28} {bench.description}")
            return
        if options["scale"] <= 0:
            raise CommandError("--scale must be positive.")
        if options["repeat"] is not None and options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1.")
        only = [name.strip() for value in options["only"] for name in value.split(",") if name.strip()]
        verbose = options["verbosity"] >= 1

        def log(message: str) -> None:
            if verbose:
                sys.stderr.write(f"bench: {message}\n")
                sys.stderr.flush()

        try:
            outcome = harness.run(
                scale=options["scale"],
                only=only,
                url=options["database_url"],
                repeat=options["repeat"],
                regenerate=options["regenerate"],
                log=log,
            )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc

        if options["json"]:
            self.stdout.write(harness.as_json(outcome.measurements))
        else:
            self.stdout.write(f"Database: {outcome.database}\n")
            harness.as_table(outcome.measurements, self.stdout)
        if outcome.failures:
            raise CommandError("the bench failed:\n  " + "\n  ".join(outcome.failures))
