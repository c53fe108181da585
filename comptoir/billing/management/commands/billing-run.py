"""`comptoir billing-run --org SLUG --period YYYY-MM [--issue-date YYYY-MM-DD] [--chunk-size N]`: the monthly run
of one organization, in this process, with its progress; it resumes a run that stopped half-way.

Exit status 1 with the (French) reason when the run is refused (already done, in progress, locked period) or
fails. Django finds a command by its file name, so this file's name is the command's (`billing-run`).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from comptoir.billing.models import BillingRun
from comptoir.billing.services.runs import DEFAULT_CHUNK_SIZE, execute_run, start_run
from comptoir.core.errors import DomainError
from comptoir.core.models import Organization
from comptoir.core.proration import parse_period


class Command(BaseCommand):
    verbosity = 1
    help = "Monthly billing run of an organization for a month (resumes a run that stopped half-way)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organization's workspace slug.")
        parser.add_argument("--period", required=True, help="The month billed, YYYY-MM.")
        parser.add_argument("--issue-date", help="Issue date of the invoices, YYYY-MM-DD (default: today).")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                            help="Contracts per transaction (default %(default)s).")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(_("Organisation inconnue : %(slug)s.") % {"slug": options["org"]})
        try:
            period = parse_period(options["period"])
        except ValueError:
            raise CommandError(_("Indiquez un mois au format AAAA-MM (ex. 2027-01).")) from None
        issue_date = None
        if options["issue_date"]:
            try:
                issue_date = datetime.date.fromisoformat(options["issue_date"])
            except ValueError:
                raise CommandError(_("Indiquez une date au format AAAA-MM-JJ.")) from None
        if options["chunk_size"] < 1:
            raise CommandError(_("La taille des lots doit être d'au moins 1."))
        self.verbosity = options["verbosity"]
        started = time.perf_counter()
        try:
            run = start_run(organization=organization, period=period, by=None, issue_date=issue_date, enqueue=False,
                            check_rights=False)  # fmt: skip
            self._progress(run)
            run = execute_run(run=run, chunk_size=options["chunk_size"], progress=self._progress)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except Exception as exc:
            raise CommandError(f"{type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{organization.slug} {period:%Y-%m}: {run.get_status_display()} — {run.contracts_done} contrat(s), "
            f"{run.invoices_created} facture(s), {run.total_excl_vat} € HT, {run.total_incl_vat} € TTC "
            f"({elapsed:.1f} s)"
        )

    def _progress(self, run: BillingRun) -> None:
        if self.verbosity >= 1:
            self.stdout.write(
                f"  {run.contracts_done}/{run.contracts_total} contrat(s), {run.invoices_created} facture(s)"
            )
