"""`comptoir demo [--org SLUG]`: build (or complete) a demo organization and print its staff logins.

Idempotent: running it again creates nothing new. See comptoir/core/demo.py for the data and for how
each app adds its own objects.

The output is read by scripts/run.sh and tests/browser/conftest.py: keep "(workspace: SLUG)" and one
"  EMAIL  PASSWORD  (Role)" line per staff login
(the client portal's logins that apps add follow, in the same form, after "Client portal: log in at URL").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils.text import slugify

from comptoir.core.demo import DEMO_PASSWORD, DEMO_SLUG, build_demo, login_url, staff_logins
from comptoir.core.errors import DomainError


class Command(BaseCommand):
    help = "Build the demo organization (centers, staff...) and print the staff logins. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", default=DEMO_SLUG, help=f"Workspace slug of the demo tenant (default: {DEMO_SLUG})."
        )
        parser.add_argument("--name", default=None, help="Organization name (default: « Comptoir Démo »).")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password of the demo staff accounts.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["org"]
        if slugify(slug) != slug:
            raise CommandError(f"--org must be a slug (lowercase letters, digits, hyphens): {slug!r}")
        try:
            ctx = build_demo(
                slug=slug,
                name=options["name"],
                password=options["password"],
                stdout=self.stdout if options["verbosity"] >= 2 else None,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} ({exc.code}: {exc.fields})") from exc

        created = ", ".join(f"{kind}: {count}" for kind, count in sorted(ctx.created.items())) or "nothing, up to date"
        self.stdout.write(f"Demo organization « {ctx.organization.name} » (workspace: {ctx.organization.slug})")
        self.stdout.write(f"  created: {created}")
        self.stdout.write(f"  centers: {', '.join(center.name for center in ctx.centers.values())}")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Log in at {login_url()}"))
        width = max(len(email) for _label, email, _password in staff_logins(ctx))
        for label, email, password in staff_logins(ctx):
            self.stdout.write(f"  {email:<{width}}  {password}  ({label})")
        if ctx.portal_logins:
            self.stdout.write("")
            self.stdout.write(
                self.style.SUCCESS(f"Client portal: log in at {settings.SITE_URL}{reverse('portal:login')}")
            )
            for label, email, password in ctx.portal_logins:
                self.stdout.write(f"  {email:<{width}}  {password}  ({label})")
