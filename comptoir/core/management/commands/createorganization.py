"""`comptoir createorganization --slug SLUG --name NAME --admin-email EMAIL`: a new operator account.

Creates the organization with its predefined roles and its first administrator, who receives the
activation e-mail (a link to choose a password; the workspace slug is in it).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from comptoir.core import services
from comptoir.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an operator organization with its first administrator (who gets the activation e-mail)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--slug", required=True, help="workspace identifier, e.g. 'bureaux-lumiere'")
        parser.add_argument("--name", required=True, help="the operator's name")
        parser.add_argument("--admin-email", required=True, help="e-mail of the first administrator")
        parser.add_argument("--admin-first-name", default="")
        parser.add_argument("--admin-last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                organization = services.create_organization(name=options["name"], slug=options["slug"])
                staff = services.add_first_administrator(
                    organization=organization,
                    email=options["admin_email"],
                    first_name=options["admin_first_name"],
                    last_name=options["admin_last_name"],
                )
        except DomainError as exc:
            details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        self.stdout.write(f"Organization '{organization.slug}' created; activation e-mail sent to {staff.user.email}.")
