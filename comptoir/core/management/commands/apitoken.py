"""`comptoir apitoken --org SLUG --email EMAIL [--name NAME] [--expires-days N]`: print a new API token.

Only the raw token goes to standard output (so `TOKEN=$(comptoir apitoken ...)` works); errors go to
standard error with a non-zero exit status. The token belongs to an active staff member of the
organization and carries that person's rights. Only its hash is stored: it cannot be shown again.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from comptoir.core import services
from comptoir.core.errors import DomainError
from comptoir.core.models import Organization, StaffMembership


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1 or number > 36500:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Create an API token for a staff member of an organization and print it (only the token)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Slug (workspace) of the organization.")
        parser.add_argument("--email", required=True, help="E-mail of an active staff member of the organization.")
        parser.add_argument("--name", default="CLI", help="What the token is for (default: CLI).")
        parser.add_argument(
            "--expires-days", type=positive_int, default=None, help="Expire after N days (default: never)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        if not organization.is_active:
            raise CommandError(f"The organization {organization.slug!r} is deactivated.")
        staff = (
            StaffMembership.objects.select_related("user")
            .filter(organization=organization, user__email__iexact=options["email"].strip())
            .first()
        )
        if staff is None:
            raise CommandError(f"{options['email']!r} is not a staff member of {organization.slug!r}.")
        if not staff.is_active or not staff.user.is_active:
            raise CommandError(f"{staff.user.email!r} is a deactivated staff member of {organization.slug!r}.")
        expires_at = None
        if options["expires_days"]:
            expires_at = timezone.now() + datetime.timedelta(days=options["expires_days"])
        try:
            _token, raw = services.create_api_token(
                organization=organization, user=staff.user, by=None, name=options["name"], expires_at=expires_at
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
