"""`comptoir apischema`: write the OpenAPI schema of /api/v1/ to docs/openapi.yaml (`--check`: compare only).

The committed docs/openapi.yaml is the API's contract; a test fails when the code no longer produces
it. After changing an endpoint or a serializer, run `comptoir apischema` and commit the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.core.api.schema import SCHEMA_FILE, generate


class Command(BaseCommand):
    help = "Write the OpenAPI schema to docs/openapi.yaml (--check: fail when the file is out of date)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(SCHEMA_FILE), help="Where to write it (default: %(default)s).")
        parser.add_argument("--check", action="store_true", help="Do not write; exit 1 when the file differs.")

    def handle(self, *args: Any, **options: Any) -> None:
        text, problems = generate()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError("The schema generator reported problems (see above); fix them first.")
        path = Path(options["file"])
        if options["check"]:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                raise CommandError(f"{path} is out of date: run `comptoir apischema` and commit it.")
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
