"""`comptoir verify-ledger [--org SLUG]`: recompute the SHA-256 chain of every issued invoice and credit note
and report any tampered, missing or out-of-chain document (exit status 1 when there is one)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.billing.ledger import verify_ledger
from comptoir.core.models import Organization


class Command(BaseCommand):
    help = "Check the hash chain and the numbering of the issued invoices and credit notes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (its workspace slug).")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = None
        if options["org"]:
            organization = Organization.objects.filter(slug=options["org"]).first()
            if organization is None:
                raise CommandError(f"No organization {options['org']!r}.")
        started = time.perf_counter()
        checked, problems = verify_ledger(organization=organization, batch_size=options["batch_size"])
        elapsed = time.perf_counter() - started
        for problem in problems:
            self.stderr.write(str(problem))
        summary = f"{checked} document(s) checked in {elapsed:.1f} s, {len(problems)} problem(s)."
        if problems:
            raise CommandError(summary)
        self.stdout.write(summary)
