"""Rights of every CRM API endpoint, per predefined role: the same as the back office (crm/rights.py).

For each role, each operation answers 2xx when the role holds the operation's right and 403
(`forbidden`) when it does not, and a refused write changes nothing.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from comptoir.core import rights
from comptoir.core.api.schema import generate
from comptoir.core.models import AuditEntry, User
from comptoir.crm import services
from comptoir.crm.models import Action, Activity, Company, Contact, JobFunction, MarketingSource, Note, Opportunity

pytestmark = pytest.mark.django_db

API = "/api/v1"
KINDS = ["administrator", "manager", "reception", "technician"]
CRM_PREFIXES = (
    "companies", "contacts", "job-functions", "opportunities", "activities", "notes", "actions", "marketing-sources",
)  # fmt: skip


@dataclass
class World:
    admin: User
    company: Company  # a prospect with one member, an opportunity, an activity, a note and an action
    client: Company
    empty: Company  # no history: may be deleted
    contact: Contact
    function: JobFunction
    opportunity: Opportunity
    activity: Activity
    note: Note
    action: Action
    done_action: Action
    source: MarketingSource


@pytest.fixture
def world(org, admin) -> World:
    company = services.create_company(
        organization=org, by=admin, data={"name": "Atelier"}, main_contact={"last_name": "Dupont", "email": "d@a.test"}
    )
    client = services.convert_to_client(
        company=services.create_company(organization=org, by=admin, data={"name": "Client"}), by=admin
    )
    empty = services.create_company(organization=org, by=admin, data={"name": "Vide"})
    due = timezone.localdate() + datetime.timedelta(days=2)
    action_data = {"title": "Rappeler", "due_date": due, "assignee": admin, "company": company}
    done_action = services.create_action(organization=org, by=admin, data=action_data)
    services.complete_action(action=done_action, by=admin)
    return World(
        admin=admin,
        company=company,
        client=client,
        empty=empty,
        contact=company.contacts.get(),
        function=JobFunction.objects.filter(organization=org).first()
        or JobFunction.objects.create(organization=org, name="Commercial"),
        opportunity=services.create_opportunity(company=company, by=admin, data={"title": "Bureau"}),
        activity=services.plan_activity(company=company, by=admin, data={"scheduled_at": timezone.now()}),
        note=services.add_note(company=company, by=admin, body="Interne"),
        action=services.create_action(organization=org, by=admin, data=action_data),
        done_action=done_action,
        source=services.create_marketing_source(organization=org, by=admin, data={"name": "Salon"}),
    )


@dataclass
class Endpoint:
    method: str
    path: str  # OpenAPI path, with {id}
    url: Callable[[World], str]
    right: str
    body: Callable[[World], Any] | None = None
    multipart: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def _crud(prefix: str, model_key: str, target: Callable[[World], Any], create: Callable[[World], Any],
          put: Callable[[World], Any], patch: Callable[[World], Any], delete: bool) -> list[Endpoint]:  # fmt: skip
    right = f"crm.%s_{model_key}"
    one = lambda w: f"{API}/{prefix}/{target(w).pk}/"  # noqa: E731
    endpoints = [
        Endpoint("GET", f"/api/v1/{prefix}/", lambda w: f"{API}/{prefix}/", right % "view"),
        Endpoint("GET", f"/api/v1/{prefix}/{{id}}/", one, right % "view"),
        Endpoint("POST", f"/api/v1/{prefix}/", lambda w: f"{API}/{prefix}/", right % "add", create),
        Endpoint("PUT", f"/api/v1/{prefix}/{{id}}/", one, right % "change", put),
        Endpoint("PATCH", f"/api/v1/{prefix}/{{id}}/", one, right % "change", patch),
    ]
    if delete:
        endpoints.append(Endpoint("DELETE", f"/api/v1/{prefix}/{{id}}/", one, right % "delete"))
    return endpoints


def _action(prefix: str, name: str, target: Callable[[World], Any], right: str, body: Any = None) -> Endpoint:
    return Endpoint(
        "POST", f"/api/v1/{prefix}/{{id}}/{name}/", lambda w: f"{API}/{prefix}/{target(w).pk}/{name}/", right,
        (lambda w: body) if body is not None else None,
    )  # fmt: skip


def _when() -> str:
    return (timezone.now() + datetime.timedelta(days=1)).isoformat()


def _due() -> str:
    return (timezone.localdate() + datetime.timedelta(days=5)).isoformat()


CSV = "raison sociale;ville\nImportée;Paris\n"

ENDPOINTS = [
    *[
        e if e.method != "DELETE" else Endpoint("DELETE", e.path, lambda w: f"{API}/companies/{w.empty.pk}/", e.right)
        for e in _crud(
            "companies",
            "company",
            lambda w: w.company,
            lambda w: {"name": "Nouvelle"},
            lambda w: {"name": "Renommée"},
            lambda w: {"sector": "Conseil"},
            True,
        )
    ],
    _action("companies", "convert", lambda w: w.company, "crm.change_company", {}),
    _action("companies", "archive", lambda w: w.company, "crm.change_company"),
    _action("companies", "unarchive", lambda w: w.company, "crm.change_company"),
    _action("companies", "status", lambda w: w.client, "crm.change_company", {"status": "suspended"}),
    Endpoint(
        "POST",
        "/api/v1/companies/import/",
        lambda w: f"{API}/companies/import/?dry_run=0",
        "crm.add_company",
        lambda w: {"file": SimpleUploadedFile("a.csv", CSV.encode())},
        multipart=True,
    ),
    *_crud(
        "contacts",
        "contact",
        lambda w: w.contact,
        lambda w: {"company": w.company.pk, "last_name": "Martin"},
        lambda w: {"last_name": "Durand"},
        lambda w: {"first_name": "Léa"},
        True,
    ),
    _action("contacts", "activate", lambda w: w.contact, "crm.change_contact"),
    _action("contacts", "make-main", lambda w: w.contact, "crm.change_contact"),
    *_crud(
        "job-functions",
        "jobfunction",
        lambda w: w.function,
        lambda w: {"name": "Juridique"},
        lambda w: {"name": "Direction générale"},
        lambda w: {"position": 7},
        False,
    ),
    *_crud(
        "opportunities",
        "opportunity",
        lambda w: w.opportunity,
        lambda w: {"company": w.company.pk, "title": "Salle"},
        lambda w: {"title": "Bureau 2"},
        lambda w: {"estimated_amount": "900.00"},
        False,
    ),
    _action("opportunities", "move", lambda w: w.opportunity, "crm.change_opportunity", {"stage": "qualified"}),
    *_crud(
        "activities",
        "activity",
        lambda w: w.activity,
        lambda w: {"company": w.company.pk, "scheduled_at": _when()},
        lambda w: {"scheduled_at": _when()},
        lambda w: {"notes": "Compte rendu"},
        True,
    ),
    _action("activities", "complete", lambda w: w.activity, "crm.change_activity", {}),
    *_crud(
        "notes",
        "note",
        lambda w: w.note,
        lambda w: {"company": w.company.pk, "body": "Nouvelle note"},
        lambda w: {"body": "Réécrite"},
        lambda w: {"is_pinned": True},
        True,
    ),
    *_crud(
        "actions",
        "action",
        lambda w: w.action,
        lambda w: {"title": "Relancer", "due_date": _due(), "assignee": w.admin.pk},
        lambda w: {"title": "Relancer", "due_date": _due(), "assignee": w.admin.pk},
        lambda w: {"details": "Avant vendredi"},
        True,
    ),
    _action("actions", "complete", lambda w: w.action, "crm.change_action"),
    _action("actions", "reopen", lambda w: w.done_action, "crm.change_action"),
    *_crud(
        "marketing-sources",
        "marketingsource",
        lambda w: w.source,
        lambda w: {"name": "Radio"},
        lambda w: {"name": "Salon 2026"},
        lambda w: {"cost": "150.00"},
        False,
    ),
    Endpoint(
        "GET",
        "/api/v1/marketing-sources/stats/",
        lambda w: f"{API}/marketing-sources/stats/?start=2026-01-01&end=2026-12-31",
        "crm.view_marketingsource",
    ),
]


def state() -> dict[str, Any]:
    """Everything a CRM write could change."""
    models = (Company, Contact, JobFunction, Opportunity, Activity, Note, Action, MarketingSource)
    return {
        **{model.__name__: sorted(map(str, model.objects.values_list())) for model in models},
        "journal": AuditEntry.objects.count(),
    }


def allowed(kind: str, right: str) -> bool:
    return kind == "administrator" or right in rights.default_permission_names(kind)


def test_the_matrix_covers_every_crm_operation_of_the_schema():
    schema = yaml.safe_load(generate()[0])
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        if path.split("/")[3] in CRM_PREFIXES
        for method in item
    }

    assert operations == {endpoint.name for endpoint in ENDPOINTS}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_each_role_gets_exactly_its_rights(world, staff_of, api_client, kind, endpoint):
    cache.clear()
    api = api_client(staff_of(kind))
    before = state()

    body = endpoint.body(world) if endpoint.body else None
    if endpoint.multipart:
        response = api.post(endpoint.url(world), body, format="multipart")
    else:
        response = api.generic(
            endpoint.method,
            endpoint.url(world),
            data=None if body is None else json.dumps(body),
            content_type="application/json",
        )

    if allowed(kind, endpoint.right):
        assert 200 <= response.status_code < 300, (kind, endpoint.name, response.content)
    else:
        assert response.status_code == 403, (kind, endpoint.name, response.content)
        assert response.json()["error"]["code"] == "forbidden"
        assert state() == before


def test_the_defaults_the_matrix_relies_on():
    assert "crm.view_note" not in rights.default_permission_names("technician")
    assert "crm.delete_company" not in rights.default_permission_names("reception")
    assert "crm.change_action" in rights.default_permission_names("technician")
