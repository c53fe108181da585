"""`comptoir housekeeping`: daily clean-up and date-driven changes (run it from cron once a day).

Purges stored answers of Idempotency-Key requests older than 24 hours (a client retrying after that gets
a fresh execution, as documented in docs/api.md), then runs the jobs the apps registered with
`comptoir.core.housekeeping.register_daily` (quotes past their validity expire, contracts start...).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from comptoir.core.api.idempotency import purge_expired
from comptoir.core.housekeeping import daily_jobs


class Command(BaseCommand):
    help = "Daily clean-up: purge old Idempotency-Key records, then run the apps' daily jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_expired()
        self.stdout.write(f"idempotency records purged: {deleted}")
        for name, job in daily_jobs().items():
            with transaction.atomic():
                count = job()
            self.stdout.write(f"{name}: {count}")
