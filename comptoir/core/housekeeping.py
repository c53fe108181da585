"""Daily jobs run by `comptoir housekeeping` (cron or a scheduler, once a day).

An app registers its jobs when imported (typically from its services module):

    from comptoir.core.housekeeping import register_daily
    register_daily("quotes expired", expire_quotes)   # a callable taking no argument, returning a count

Each job runs in its own transaction and is idempotent: running housekeeping twice a day does no harm.
"""

from __future__ import annotations

from collections.abc import Callable

Job = Callable[[], int]
_jobs: dict[str, Job] = {}


def register_daily(name: str, job: Job) -> None:
    _jobs[name] = job


def daily_jobs() -> dict[str, Job]:
    return dict(_jobs)
