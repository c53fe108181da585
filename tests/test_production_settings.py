"""The production configuration passes Django's deployment checks with no warning."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Variables of the developer's or CI's environment that would change the security settings under test.
SECURITY_VARIABLES = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT",
    "BEHIND_PROXY", "CSRF_TRUSTED_ORIGINS", "STATIC_MANIFEST",
}  # fmt: skip


def deploy_check(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in SECURITY_VARIABLES}
    env.update(COMPTOIR_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="comptoir.settings", **variables)
    return subprocess.run(
        [sys.executable, "-m", "comptoir", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def production(**overrides: str) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "comptoir.example.com",
        "HTTPS": "1",
        **overrides,
    }


def test_production_settings_pass_the_deploy_checks_without_warning(tmp_path):
    result = deploy_check(tmp_path, **production())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stderr + result.stdout


def test_deploy_checks_catch_a_site_served_without_https(tmp_path):
    variables = production()
    del variables["HTTPS"]

    result = deploy_check(tmp_path, **variables)

    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, result.stderr


def test_passwords_are_hashed_with_argon2():
    """The test suite swaps in a fast hasher (conftest.py); the project's own settings use Argon2."""
    import comptoir.settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
