"""`comptoir bench`: performance figures on generated data, each beside the same work done in raw SQL.

- `registry.py`: benchmarks (`@benchmark`) and data-generation steps (`register_generator_step`), which
  every app adds in its own `bench.py`;
- `generator.py`: the deterministic data set (core tables; the tenants later apps fill);
- `harness.py`: the separate bench database, timing, query counts, table and JSON output;
- `core.py`: the core benchmarks (bulk insert of centers, list pages at 10 and 1,000 rows).

See docs/bench.md.
"""
