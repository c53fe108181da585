"""Rights and tenancy of every core API endpoint.

For each predefined role, each endpoint answers 2xx when the role holds the endpoint's right and 403
(`forbidden`) when it does not, and a refused write changes nothing. Every URL with an id answers 404
for another organization's object, for every method it offers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from django.core.cache import cache
from django.urls import resolve

from comptoir.core import rights, services
from comptoir.core.api.schema import generate
from comptoir.core.models import (
    ApiToken,
    AuditEntry,
    Center,
    LegalEntity,
    Organization,
    Role,
    StaffMembership,
)
from comptoir.core.tests.factories import CenterFactory, StaffFactory, role

pytestmark = pytest.mark.django_db

API = "/api/v1"
KINDS = ["administrator", "manager", "reception", "technician"]


@dataclass
class World:
    org: Organization
    center: Center
    entity: LegalEntity
    member: StaffMembership  # a technician, the target of staff writes
    own_token: ApiToken  # a second token of the acting user, the target of revoke
    entry: AuditEntry


@dataclass
class Endpoint:
    method: str
    path: str  # OpenAPI path, with {id}
    url: Callable[[World], str]
    right: str | None  # None: any staff member
    body: Callable[[World], Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/api/v1/organizations/", lambda w: f"{API}/organizations/", "core.view_organization"),
    Endpoint(
        "GET", "/api/v1/organizations/{id}/", lambda w: f"{API}/organizations/{w.org.pk}/", "core.view_organization"
    ),
    Endpoint(
        "PATCH",
        "/api/v1/organizations/{id}/",
        lambda w: f"{API}/organizations/{w.org.pk}/",
        "core.change_organization",
        lambda w: {"phone": "09 99 99 99 99"},
    ),
    Endpoint("GET", "/api/v1/legal-entities/", lambda w: f"{API}/legal-entities/", "core.view_legalentity"),
    Endpoint(
        "GET",
        "/api/v1/legal-entities/{id}/",
        lambda w: f"{API}/legal-entities/{w.entity.pk}/",
        "core.view_legalentity",
    ),
    Endpoint(
        "POST",
        "/api/v1/legal-entities/",
        lambda w: f"{API}/legal-entities/",
        "core.add_legalentity",
        lambda w: {"name": "Nouvelle entité SAS"},
    ),
    Endpoint(
        "PUT",
        "/api/v1/legal-entities/{id}/",
        lambda w: f"{API}/legal-entities/{w.entity.pk}/",
        "core.change_legalentity",
        lambda w: {"name": "Entité renommée"},
    ),
    Endpoint(
        "PATCH",
        "/api/v1/legal-entities/{id}/",
        lambda w: f"{API}/legal-entities/{w.entity.pk}/",
        "core.change_legalentity",
        lambda w: {"rcs": "Paris B 1"},
    ),
    Endpoint("GET", "/api/v1/centers/", lambda w: f"{API}/centers/", "core.view_center"),
    Endpoint("GET", "/api/v1/centers/{id}/", lambda w: f"{API}/centers/{w.center.pk}/", "core.view_center"),
    Endpoint(
        "POST",
        "/api/v1/centers/",
        lambda w: f"{API}/centers/",
        "core.add_center",
        lambda w: {"name": "Nouveau", "code": "nouveau", "legal_entity": w.entity.pk},
    ),
    Endpoint(
        "PUT",
        "/api/v1/centers/{id}/",
        lambda w: f"{API}/centers/{w.center.pk}/",
        "core.change_center",
        lambda w: {"name": "Renommé", "code": "renomme", "legal_entity": w.entity.pk},
    ),
    Endpoint(
        "PATCH",
        "/api/v1/centers/{id}/",
        lambda w: f"{API}/centers/{w.center.pk}/",
        "core.change_center",
        lambda w: {"opening_hours": [{"weekday": 6, "opens_at": "10:00", "closes_at": "12:00"}]},
    ),
    Endpoint("GET", "/api/v1/staff/", lambda w: f"{API}/staff/", "core.view_staffmembership"),
    Endpoint("GET", "/api/v1/staff/{id}/", lambda w: f"{API}/staff/{w.member.pk}/", "core.view_staffmembership"),
    Endpoint(
        "POST",
        "/api/v1/staff/",
        lambda w: f"{API}/staff/",
        "core.add_staffmembership",
        lambda w: {"email": "recrue@example.test", "role": role(w.org, "technician").pk, "send_activation": False},
    ),
    Endpoint(
        "PUT",
        "/api/v1/staff/{id}/",
        lambda w: f"{API}/staff/{w.member.pk}/",
        "core.change_staffmembership",
        lambda w: {"role": role(w.org, "reception").pk},
    ),
    Endpoint(
        "PATCH",
        "/api/v1/staff/{id}/",
        lambda w: f"{API}/staff/{w.member.pk}/",
        "core.change_staffmembership",
        lambda w: {"job_title": "Chef"},
    ),
    Endpoint("GET", "/api/v1/roles/", lambda w: f"{API}/roles/", "core.view_role"),
    Endpoint("GET", "/api/v1/roles/{id}/", lambda w: f"{API}/roles/{role(w.org, 'manager').pk}/", "core.view_role"),
    Endpoint(
        "POST",
        "/api/v1/roles/{id}/rights/",
        lambda w: f"{API}/roles/{role(w.org, 'technician').pk}/rights/",
        "core.change_role",
        lambda w: {"rights": []},
    ),
    Endpoint("GET", "/api/v1/tokens/", lambda w: f"{API}/tokens/", None),
    Endpoint("GET", "/api/v1/tokens/{id}/", lambda w: f"{API}/tokens/{w.own_token.pk}/", None),
    Endpoint("POST", "/api/v1/tokens/", lambda w: f"{API}/tokens/", "core.add_apitoken", lambda w: {"name": "Nouveau"}),
    Endpoint("POST", "/api/v1/tokens/{id}/revoke/", lambda w: f"{API}/tokens/{w.own_token.pk}/revoke/", None),
    Endpoint("GET", "/api/v1/journal/", lambda w: f"{API}/journal/", "core.view_auditentry"),
    Endpoint("GET", "/api/v1/journal/{id}/", lambda w: f"{API}/journal/{w.entry.pk}/", "core.view_auditentry"),
]


# The other apps' endpoints have their own matrices and tenancy walks (e.g. comptoir/crm/tests/test_api_rights.py).
CORE_PREFIXES = ("organizations", "legal-entities", "centers", "staff", "roles", "tokens", "journal")


def state(world: World) -> dict[str, Any]:
    """Everything a core write could change."""
    world.org.refresh_from_db()
    return {
        "organization": (world.org.name, world.org.phone),
        "centers": list(Center.objects.order_by("pk").values_list("pk", "name", "code", "is_active")),
        "hours": sorted(world.center.opening_hours.values_list("weekday", "opens_at", "closes_at")),
        "entities": list(LegalEntity.objects.order_by("pk").values_list("pk", "name", "rcs")),
        "staff": list(StaffMembership.objects.order_by("pk").values_list("pk", "role_id", "job_title", "is_active")),
        "roles": {r.pk: sorted(rights.role_rights(r)) for r in Role.objects.all()},
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        "journal": AuditEntry.objects.count(),
    }


@pytest.fixture
def world(org, admin) -> World:
    center = CenterFactory(organization=org, name="Paris", code="paris")
    member = StaffFactory(organization=org, kind="technician")
    services.update_center(center=center, by=admin, data={"name": "Paris Opéra"})
    entry = AuditEntry.objects.filter(organization=org).latest("id")
    return World(org=org, center=center, entity=center.legal_entity, member=member, own_token=None, entry=entry)  # type: ignore[arg-type]


def allowed(kind: str, right: str | None) -> bool:
    return right is None or kind == "administrator" or right in rights.default_permission_names(kind)


def test_the_matrix_covers_every_core_operation_of_the_schema():
    schema = yaml.safe_load(generate()[0])
    core_prefixes = CORE_PREFIXES
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        if path.split("/")[3] in core_prefixes
        for method in item
    }

    assert operations == {endpoint.name for endpoint in ENDPOINTS}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_each_role_gets_exactly_its_rights(world, staff_of, api_client, kind, endpoint):
    cache.clear()
    user = staff_of(kind)
    world.own_token, _raw = services.create_api_token(organization=world.org, user=user, by=None, name="cible")
    api = api_client(user)
    before = state(world)

    body = endpoint.body(world) if endpoint.body else None
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
        assert state(world) == before


def test_every_role_default_matches_what_the_matrix_assumes():
    # the matrix above derives its expectations from these defaults (rights.py)
    core_rights = {name for name in rights.default_permission_names("technician") if name.startswith("core.")}
    assert core_rights == {"core.view_center"}
    assert "core.add_apitoken" in rights.default_permission_names("manager")
    assert "core.view_staffmembership" in rights.default_permission_names("reception")


# --------------------------------------------------------------------------------------------------
# Tenancy: another organization's objects answer 404 on every endpoint with an id
# --------------------------------------------------------------------------------------------------
MODEL_OF_BASENAME = {
    "organization": Organization,
    "legalentity": LegalEntity,
    "center": Center,
    "staff": StaffMembership,
    "role": Role,
    "apitoken": ApiToken,
    "auditentry": AuditEntry,
}


def foreign_objects(other_org: Organization) -> dict[str, Any]:
    other_admin = StaffFactory(organization=other_org, kind="administrator").user
    center = CenterFactory(organization=other_org)
    services.update_center(center=center, by=other_admin, data={"name": "Ailleurs"})
    token, _raw = services.create_api_token(organization=other_org, user=other_admin, by=None, name="ailleurs")
    return {
        "organization": other_org,
        "legalentity": center.legal_entity,
        "center": center,
        "staff": StaffMembership.objects.get(user=other_admin),
        "role": role(other_org, "technician"),
        "apitoken": token,
        "auditentry": AuditEntry.objects.filter(organization=other_org).latest("id"),
    }


@pytest.mark.parametrize("kind", ["administrator", "manager"])
def test_another_organizations_objects_are_404_everywhere(org, other_org, staff_of, api_client, kind):
    foreign = foreign_objects(other_org)
    user = staff_of(kind)
    api = api_client(user)
    schema = yaml.safe_load(generate()[0])
    checked = []
    before = {name: _dump(obj) for name, obj in foreign.items()}
    for path, item in schema["paths"].items():
        if "{id}" not in path or path.split("/")[3] not in CORE_PREFIXES:
            continue
        probe = resolve(path.replace("{id}", "1"))
        basename = probe.url_name.rsplit("-", 1)[0]
        assert basename in MODEL_OF_BASENAME, probe.url_name
        url = path.replace("{id}", str(foreign[basename].pk))
        for method in item:
            cache.clear()
            response = api.generic(method.upper(), url, data="{}", content_type="application/json")
            assert response.status_code == 404 or (response.status_code == 403 and kind != "administrator"), (
                method,
                url,
                response.content,
            )
            assert response.json()["error"]["code"] in {"not_found", "forbidden"}
            checked.append(f"{method.upper()} {path}")

    assert len(checked) == sum(1 for e in ENDPOINTS if "{id}" in e.path)
    assert {name: _dump(obj) for name, obj in foreign.items()} == before


def _dump(obj: Any) -> Any:
    obj.refresh_from_db()
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_basenames_start_with_the_ui_model_keys():
    from comptoir import api_urls

    basenames = {basename for prefix, _viewset, basename in api_urls.router.registry if prefix in CORE_PREFIXES}
    assert basenames == set(MODEL_OF_BASENAME)
