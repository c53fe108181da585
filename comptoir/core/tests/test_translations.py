"""The English catalog (comptoir/locale/en/LC_MESSAGES/django.po) is complete and up to date.

(a) every entry is translated and none is fuzzy;
(b) every translatable string of the source code is in the catalog: `makemessages` is run on a copy of the
    `comptoir` package in a temporary folder (never on the real catalog) and its msgids are compared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parents[2]  # comptoir/
LOCALE = PACKAGE / "locale"
CATALOG = LOCALE / "en" / "LC_MESSAGES" / "django.po"
SOURCE_SUFFIXES = {".py", ".html", ".txt", ".js"}
SKIPPED_DIRS = {"tests", "locale", "__pycache__", "node_modules"}  # as the --ignore options of `make messages`
UPDATE_COMMAND = (
    "make messages  (.venv/bin/comptoir makemessages -l en --ignore=node_modules --ignore=var "
    "--ignore=.venv --ignore=tests --ignore=docs --no-obsolete), then translate the new entries"
)

Key = tuple[str | None, str, str | None]  # (msgctxt, msgid, msgid_plural)


def keys(po: polib.POFile) -> set[Key]:
    return {(entry.msgctxt, entry.msgid, entry.msgid_plural or None) for entry in po if not entry.obsolete}


def describe(key: Key) -> str:
    context, msgid, plural = key
    text = repr(msgid) + (f" (plural {plural!r})" if plural else "")
    return f"[{context}] {text}" if context else text


def test_every_entry_of_the_english_catalog_is_translated():
    po = polib.pofile(str(CATALOG))

    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]

    assert len(po) > 0
    assert not untranslated, f"{len(untranslated)} untranslated entries in {CATALOG.name}: {untranslated}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries in {CATALOG.name} (check them, then drop the flag): {fuzzy}"


def _copy_sources(destination: Path) -> None:
    for path in PACKAGE.rglob("*"):
        relative = path.relative_to(PACKAGE)
        if path.is_file() and path.suffix in SOURCE_SUFFIXES and not SKIPPED_DIRS & set(relative.parts[:-1]):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _extract(package_copy: Path, domain: str) -> Path:
    """Run makemessages in the copy, without settings: it writes to the copy's own locale/ folder."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext is missing: install the gettext tools (`make setup` does)", pytrace=False)
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "-d", domain, "--no-obsolete"],
        cwd=package_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    return package_copy / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"


def test_the_english_catalog_has_every_translatable_string_of_the_source(tmp_path):
    package_copy = tmp_path / "comptoir"
    _copy_sources(package_copy)
    (package_copy / "locale" / "en" / "LC_MESSAGES").mkdir(parents=True)

    problems = []
    for domain in ("django", "djangojs"):
        extracted = _extract(package_copy, domain)
        catalog = LOCALE / "en" / "LC_MESSAGES" / f"{domain}.po"
        if not extracted.exists():  # nothing to translate in this domain (djangojs: no gettext() in the JS)
            continue
        if not catalog.exists():
            problems.append(f"{catalog.relative_to(PACKAGE.parent)} is missing")
            continue
        missing = sorted(keys(polib.pofile(str(extracted))) - keys(polib.pofile(str(catalog))), key=str)
        if missing:
            problems.append(
                f"{len(missing)} msgid(s) of the source missing from {catalog.relative_to(PACKAGE.parent)}:\n"
                + "\n".join(f"  {describe(key)}" for key in missing)
            )

    assert not problems, "\n".join(problems) + f"\nTo update the catalog, run: {UPDATE_COMMAND}"
