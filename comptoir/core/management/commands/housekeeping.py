"""`comptoir housekeeping`: daily clean-up (run it from cron or a scheduler once a day).

Removes stored API answers of Idempotency-Key requests older than 24 hours (a client retrying after
that gets a fresh execution, as documented in docs/api.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from comptoir.core.api.idempotency import purge_expired


class Command(BaseCommand):
    help = "Daily clean-up: purge Idempotency-Key records older than 24 hours."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_expired()
        self.stdout.write(f"idempotency records purged: {deleted}")
