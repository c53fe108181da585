"""The committed OpenAPI schema (docs/openapi.yaml) and the API's command-line tools."""

from __future__ import annotations

import datetime
import re

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from rest_framework.test import APIClient

from comptoir.core.api.schema import SCHEMA_FILE, UPDATE_COMMAND, generate
from comptoir.core.management.commands.apitoken import Command as ApiTokenCommand
from comptoir.core.models import ApiToken, AuditEntry, StaffMembership
from comptoir.core.services import hash_token

TOKEN_PATTERN = re.compile(r"^cpt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


def test_the_committed_schema_is_up_to_date():
    text, problems = generate()

    assert problems == [], "\n".join(problems)
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert text == committed, (
        f"docs/openapi.yaml differs from the schema the code generates: run `{UPDATE_COMMAND}` "
        "(or `comptoir spectacular --lang en --file docs/openapi.yaml`) and commit docs/openapi.yaml."
    )


def test_the_schema_does_not_depend_on_the_language():
    # so that compiled or missing .mo catalogs never change it
    with translation.override("fr"):
        french = generate()[0]
    with translation.override("en"):
        english = generate()[0]

    assert french == english
    assert not re.search(r"[éèàêçôû]", french)


def test_every_authenticated_operation_documents_bearer_auth_and_its_errors():
    schema = yaml.safe_load(generate()[0])

    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/schema/" not in schema["paths"] and "/api/v1/docs/" not in schema["paths"]
    for path, item in schema["paths"].items():
        assert path.startswith("/api/v1/")
        for method, operation in item.items():
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"
            }
            if "{id}" in path:
                assert "404" in operation["responses"], (method, path)


def test_create_operations_document_the_idempotency_key():
    schema = yaml.safe_load(generate()[0])

    idempotent = {
        path
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }

    assert idempotent == {
        "/api/v1/centers/", "/api/v1/legal-entities/", "/api/v1/staff/", "/api/v1/tokens/",
        "/api/v1/companies/", "/api/v1/contacts/", "/api/v1/job-functions/", "/api/v1/opportunities/",
        "/api/v1/activities/", "/api/v1/notes/", "/api/v1/actions/", "/api/v1/marketing-sources/",
        "/api/v1/spaces/", "/api/v1/products/", "/api/v1/floor-plans/", "/api/v1/center-rates/",
        "/api/v1/price-grids/", "/api/v1/discounts/", "/api/v1/terms/",
        "/api/v1/quotes/", "/api/v1/quotes/{id}/send/", "/api/v1/quotes/{id}/accept/",
        "/api/v1/contracts/", "/api/v1/contracts/{id}/amend/", "/api/v1/contracts/{id}/pause/",
        "/api/v1/signatures/", "/api/v1/signatures/{id}/confirm/",
        "/api/v1/invoices/", "/api/v1/invoices/{id}/lines/", "/api/v1/invoices/{id}/issue/",
        "/api/v1/invoices/{id}/credit/", "/api/v1/consumptions/", "/api/v1/consumptions/invoice/",
        "/api/v1/billing-runs/", "/api/v1/exports/",
        "/api/v1/payments/", "/api/v1/payments/{id}/allocate/", "/api/v1/payments/{id}/reverse/", "/api/v1/payment-links/",
        "/api/v1/mandates/", "/api/v1/debit-batches/", "/api/v1/debit-batches/{id}/send/", "/api/v1/debit-batches/{id}/return/",
        "/api/v1/reminders/",
        "/api/v1/bookings/", "/api/v1/bookings/{id}/cancel/", "/api/v1/bookings/{id}/consumptions/",
        "/api/v1/blocked-slots/", "/api/v1/plans/", "/api/v1/credits/", "/api/v1/calendar-feeds/",
    }  # fmt: skip
    create = schema["paths"]["/api/v1/centers/"]["post"]
    assert {"409", "422"} <= set(create["responses"])
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]


@pytest.mark.django_db
def test_apischema_check_passes_and_writes_to_a_file(tmp_path):
    call_command("apischema", "--check")

    target = tmp_path / "openapi.yaml"
    call_command("apischema", "--file", str(target))
    assert target.read_text(encoding="utf-8") == SCHEMA_FILE.read_text(encoding="utf-8")

    target.write_text("openapi: 3.0.3\n", encoding="utf-8")
    with pytest.raises(CommandError, match="apischema"):
        call_command("apischema", "--check", "--file", str(target))


# --------------------------------------------------------------------------------------------------
# comptoir apitoken
# --------------------------------------------------------------------------------------------------
def _keep_the_test_connection(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """run_from_argv (the real command-line path: stderr, exit status) closes every connection when done."""
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)


@pytest.mark.django_db
def test_apitoken_prints_only_a_working_token(org, admin, center, capsys):
    call_command("apitoken", "--org", org.slug, "--email", admin.email.upper(), "--name", "Compta")

    out = capsys.readouterr().out
    raw = out.strip()
    assert out == raw + "\n" and TOKEN_PATTERN.match(raw), out
    token = ApiToken.objects.get(key_hash=hash_token(raw))
    assert (token.user, token.organization, token.name, token.expires_at) == (admin, org, "Compta", None)
    entry = AuditEntry.objects.get(action="api_token.created")
    assert entry.actor is None and entry.actor_label == "system"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/centers/").status_code == 200


@pytest.mark.django_db
def test_apitoken_expires_days(org, admin, capsys):
    call_command("apitoken", "--org", org.slug, "--email", admin.email, "--expires-days", "30")

    token = ApiToken.objects.get(key_hash=hash_token(capsys.readouterr().out.strip()))
    assert abs(token.expires_at - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(minutes=1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--org", "nope", "--email", "{email}"], "No organization"),
        (["--org", "{org}", "--email", "nobody@example.test"], "not a staff member"),
        (["--org", "{other_org}", "--email", "{email}"], "not a staff member"),
        (["--org", "{org}", "--email", "{inactive}"], "deactivated"),
    ],
)
def test_apitoken_errors_go_to_stderr_with_a_non_zero_exit(
    org, other_org, admin, staff_of, capsys, monkeypatch, arguments, message
):
    _keep_the_test_connection(monkeypatch)
    inactive = staff_of("manager")
    StaffMembership.objects.filter(user=inactive).update(is_active=False)
    values = {"org": org.slug, "other_org": other_org.slug, "email": admin.email, "inactive": inactive.email}
    argv = ["comptoir", "apitoken", *[argument.format(**values) for argument in arguments]]

    with pytest.raises(SystemExit) as exit_info:
        ApiTokenCommand().run_from_argv(argv)

    captured = capsys.readouterr()
    assert exit_info.value.code != 0
    assert captured.out == ""
    assert message in captured.err
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_apitoken_refuses_a_bad_expiry(org, admin, capsys, monkeypatch):
    _keep_the_test_connection(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        ApiTokenCommand().run_from_argv(
            ["comptoir", "apitoken", "--org", org.slug, "--email", admin.email, "--expires-days", "0"]
        )

    assert exit_info.value.code != 0
    assert capsys.readouterr().out == ""
