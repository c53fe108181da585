"""What `comptoir bench` knows: benchmarks and data-generation steps, registered by each app.

An app adds to the bench in its own `bench.py` (imported by `discover()`):

    # comptoir/billing/bench.py
    from comptoir.bench.registry import Case, benchmark, register_generator_step

    def invoices(gen):                       # GeneratorContext: scale, seeded rng, tenants, bulk helpers
        gen.bulk_create(Invoice, (... for i in range(gen.scaled(1_000_000))))

    register_generator_step(200, invoices)

    @benchmark("list.invoices.1000", same_queries_as="list.invoices.10")
    def list_invoices_1000(ctx):             # BenchContext: scale, tenants, logged-in clients
        return Case(run=..., raw=..., rows=50)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.utils.module_loading import module_has_submodule

if TYPE_CHECKING:
    from comptoir.bench.generator import GeneratorContext
    from comptoir.bench.harness import BenchContext


@dataclass
class Case:
    """One piece of work to measure, and the same work done by the database alone.

    - `run()`: the work through Django (ORM, services, a page through the test client);
    - `raw()`: the equivalent raw SQL (or COPY) on the same connection, the baseline of `raw_ratio`;
    - `rows`: how many rows one run produces or shows (for rows/s);
    - `check(result)`: raises `BenchError` when `run()`'s result is wrong (a 404, missing rows...); may
      return the number of rows really produced or shown, which then replaces `rows`;
    - `in_rollback`: run each repetition in a transaction rolled back afterwards (insert benchmarks);
    - `repeat`: default number of timed repetitions (`--repeat` overrides).
    """

    run: Callable[[], Any]
    raw: Callable[[], Any] | None
    rows: int
    check: Callable[[Any], int | None] | None = None
    in_rollback: bool = False
    repeat: int = 20


@dataclass(frozen=True)
class Benchmark:
    name: str
    build: Callable[[BenchContext], Case]
    description: str = ""
    # The bench fails when this benchmark's query count differs from the named one's (10 rows vs 1,000 rows).
    same_queries_as: str | None = None


class BenchError(Exception):
    """A benchmark could not run or gave a wrong result; the command exits non-zero with this message."""


_benchmarks: dict[str, Benchmark] = {}
GeneratorStep = Callable[["GeneratorContext"], None]
_generator_steps: list[tuple[int, str, GeneratorStep]] = []


def benchmark(
    name: str, *, description: str = "", same_queries_as: str | None = None
) -> Callable[[Callable[[BenchContext], Case]], Callable[[BenchContext], Case]]:
    """Register `build(ctx) -> Case` under `name` (dotted: `list.centers.1000`)."""

    def register(build: Callable[[BenchContext], Case]) -> Callable[[BenchContext], Case]:
        _benchmarks[name] = Benchmark(
            name=name,
            build=build,
            description=description or (build.__doc__ or "").strip().split("\n")[0],
            same_queries_as=same_queries_as,
        )
        return build

    return register


def register_generator_step(order: int, fn: GeneratorStep) -> GeneratorStep:
    """Add `fn(gen)` to the data generator, run after the steps of lower `order` (core: 0-99)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    if not any(registered == name for _order, registered, _fn in _generator_steps):
        _generator_steps.append((order, name, fn))
    return fn


def discover() -> None:
    """Import the core benchmarks and every Comptoir app's `bench` module (each registers its own)."""
    importlib.import_module("comptoir.bench.core")
    for config in apps.get_app_configs():
        if config.name.startswith("comptoir.") and module_has_submodule(config.module, "bench"):
            importlib.import_module(f"{config.name}.bench")


def benchmarks() -> dict[str, Benchmark]:
    discover()
    return dict(sorted(_benchmarks.items()))


def generator_steps() -> list[tuple[int, str, GeneratorStep]]:
    discover()
    return sorted(_generator_steps, key=lambda step: step[0])


def select(only: list[str]) -> list[Benchmark]:
    """The benchmarks named (exactly, or by a dotted prefix: `list.centers` → `list.centers.10`, `.1000`),
    plus the partner each one's query count is compared with."""
    registered = benchmarks()
    if not only:
        chosen = list(registered)
    else:
        chosen = [name for name in registered if any(name == want or name.startswith(want + ".") for want in only)]
        if not chosen:
            raise BenchError(f"No benchmark matches {', '.join(only)}; known: {', '.join(registered)}")
    for name in list(chosen):
        partner = registered[name].same_queries_as
        if partner and partner not in chosen:
            chosen.append(partner)
    return [registered[name] for name in sorted(chosen, key=list(registered).index)]
