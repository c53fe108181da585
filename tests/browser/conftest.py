"""The browser tests' app server: a real gunicorn on a free port, a file SQLite database with the demo loaded.

The server runs as in production (DEBUG off, collected static files served by WhiteNoise), so a page that
references a missing static file or fails only without DEBUG fails here too.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gunicorn import serve

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# One line per staff login printed by `comptoir demo`: "  admin@demo.comptoir.test  PASSWORD  (Administrateur)".
DEMO_LOGIN_LINE = re.compile(r"^\s+(?P<email>\S+@\S+)\s+(?P<password>\S+)\s+\((?P<label>[^)]+)\)\s*$", re.MULTILINE)
DEMO_WORKSPACE = re.compile(r"workspace: (?P<slug>[a-z0-9-]+)")


@dataclass(frozen=True)
class Server:
    url: str
    workspace: str
    email: str
    password: str
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _comptoir(env: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "comptoir", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"`comptoir {' '.join(arguments)}` failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return result.stdout


def _administrator_login(demo_output: str) -> tuple[str, str, str]:
    logins = [match.groupdict() for match in DEMO_LOGIN_LINE.finditer(demo_output)]
    workspace = DEMO_WORKSPACE.search(demo_output)
    if not logins or workspace is None:
        pytest.fail(f"`comptoir demo` printed no workspace or no staff login:\n{demo_output}", pytrace=False)
    administrator = next((login for login in logins if login["label"].lower().startswith("admin")), logins[0])
    return workspace["slug"], administrator["email"], administrator["password"]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("server")
    env = {
        **{name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL", "HTTPS"}},
        "COMPTOIR_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'comptoir.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(var_dir / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TASK_BACKEND": "immediate",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    _comptoir(env, "migrate", "--noinput", "-v", "0")
    _comptoir(env, "collectstatic", "--noinput", "-v", "0")
    workspace, email, password = _administrator_login(_comptoir(env, "demo"))

    log = var_dir / "gunicorn.log"
    with serve(env, log, workers=2, threads=4) as url:
        yield Server(url=url, workspace=workspace, email=email, password=password, log=log)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Install it with `make setup`'s browser step (scripts/setup.sh --browser) or `apt-get install chromium`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, server: Server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A French desktop page of the walkthroughs; an uncaught JavaScript error fails the test. A module that sets
    `ACCEPT_DIALOGS = True` has its confirmation dialogs (« Lancer la facturation ? », hx-confirm) accepted;
    otherwise Playwright dismisses them. `Step` names the page in its failure messages."""
    from tests.browser.test_sales_walkthrough import Step, new_context

    context = new_context(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if getattr(request.module, "ACCEPT_DIALOGS", False):
        page.on("dialog", lambda dialog: dialog.accept())
    Step.page = page
    try:
        yield page
    finally:
        Step.page = None
        context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}\n{server.log_tail()}"
