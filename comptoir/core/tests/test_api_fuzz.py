"""No input gives a 500: every operation of the OpenAPI schema is sent malformed bodies, wrong types,
huge and odd strings, unknown ids, odd query strings and random JSON (hypothesis).

Each answer must be < 500, and a 4xx must carry the `{"error": {...}}` envelope. The Django test client
re-raises any exception a view lets through, so a crash fails the test with its traceback.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir import api_urls
from comptoir.core import services, testing
from comptoir.core.api.schema import generate
from comptoir.core.models import AuditEntry, StaffMembership
from comptoir.core.tests.factories import CenterFactory, StaffFactory, role

pytestmark = pytest.mark.django_db

JSON = "application/json"

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**63, -(2**63) - 1, 10**30, 1e308,
    "", " ", "x" * 20_000, "\x00", "a\x00b", "é" * 300, "<script>alert(1)</script>", "../../etc/passwd",
    "' OR 1=1 --", "2026-13-45", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "25:61", "24:00",
    "1e400", "NaN", "-0", "0x10", "١٢٣",
    [], {}, [None], [1, 2, 3], ["x"], [{}], [[1]], {"a": {"b": [1]}}, list(range(2000)),
    [{"weekday": 0}], [{"weekday": 0, "opens_at": "09:00", "closes_at": "08:00"}],
    [{"weekday": 7, "opens_at": "09:00", "closes_at": "18:00"}], [{"weekday": "0", "opens_at": 9, "closes_at": None}],
]  # fmt: skip

# Per field: one value of each kind that has broken APIs before (types, sizes, NUL, dates, nested lists).
FIELD_VALUES: list[Any] = [
    None, True, 1.5, 2**63, -1, "", "x" * 20_000, "a\x00b", "é" * 300, "2026-13-45", "9999-12-31T23:59:59-14:00",
    "25:61", [], {}, [None], ["x"], [[1]], list(range(2000)), {"a": {"b": [1]}},
    [{"weekday": 0}], [{"weekday": "0", "opens_at": 9, "closes_at": None}],
]  # fmt: skip

RAW_BODIES: list[tuple[bytes, str]] = [
    (b"", JSON),
    (b"{", JSON),
    (b"null", JSON),
    (b"[]", JSON),
    (b'"text"', JSON),
    (b"123", JSON),
    (b"true", JSON),
    (b"\xff\xfe\x00\x01", JSON),
    (b"[" * 100_000 + b"]" * 100_000, JSON),
    (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, JSON),
    (b'{"name": "\\ud800", "email": "\\udfff@x.test"}', JSON),
    (b'{"name": NaN}', JSON),
    (b'{"name": Infinity}', JSON),
    (b'{"name": "x", "name": "y"}', JSON),
    (b"{}", "application/json; charset=klingon"),
    (b"{}", "application/json; charset=utf-16"),
    (b"name=x&code=y", "application/x-www-form-urlencoded"),
    (b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n', "multipart/form-data; boundary=b"),
    (b"<center/>", "application/xml"),
    (b'{"name": "x"}', "text/plain"),
    (b'{"name": "x"}', ""),
    (b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}', JSON),
]

ODD_QUERY_VALUES = [
    "", "x", "-1", "0", "1.5", "1e400", "99999999999999999999999", "true", "TRUE", "\x00", "a\x00b", "%",
    "é", "x" * 5000, "../", "' OR 1=1 --", "[]", "{}", "0001-01-01", "9999-12-31", "2026-02-30",
]  # fmt: skip

ODD_IDS = ["0", "99999999999999999999999999", "9223372036854775808", "1.0", "-1", "%00", "1%20"]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):  # type: ignore[no-untyped-def]
    settings.API_RATE = ""  # thousands of requests: the rate limit is tested elsewhere
    cache.clear()


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = yaml.safe_load(generate()[0])
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("security"):  # the public schema and docs take no input worth fuzzing
                found.append((method.upper(), path, operation))
    return found


def request_fields(operation: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    body = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema")
    if not body:
        return []
    name = body["$ref"].rsplit("/", 1)[-1]
    return sorted(schema["components"]["schemas"][name].get("properties", {}))


SCHEMA: dict[str, Any] = {}


def schema() -> dict[str, Any]:
    if not SCHEMA:
        SCHEMA.update(yaml.safe_load(generate()[0]))
    return SCHEMA


OPERATIONS = operations()


@pytest.fixture
def fuzz_world(org, admin, api_client):  # type: ignore[no-untyped-def]
    """An administrator's client and an object of each kind to put in `{id}` (never the acting token)."""
    center = CenterFactory(organization=org)
    member = StaffFactory(organization=org, kind="technician")
    target_token, _raw = services.create_api_token(organization=org, user=admin, by=None, name="cible")
    services.update_center(center=center, by=admin, data={"name": "Fuzz"})
    ids = {
        "organizations": org.pk,
        "legal-entities": center.legal_entity_id,
        "centers": center.pk,
        "staff": member.pk,
        "roles": role(org, "technician").pk,
        "tokens": target_token.pk,
        "journal": AuditEntry.objects.filter(organization=org).latest("id").pk,
    }
    # the other apps' resources: the object their factories register for the tenancy walker (key = basename)
    testing._autodiscover()
    for prefix, _viewset, basename in api_urls.router.registry:
        if prefix not in ids and basename in testing._factories:
            ids[prefix] = testing._factories[basename](org).pk
    return api_client(admin), ids, admin


def url_for(path: str, ids: dict[str, int], object_id: str | None = None) -> str:
    if "{id}" not in path:
        return path
    resource = path.split("/")[3]
    return path.replace("{id}", object_id if object_id is not None else str(ids[resource]))


def check(response: Any, context: Any) -> None:
    assert response.status_code < 500, (context, response.status_code, response.content[:500])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, (context, body)
        assert {"code", "message", "fields"} <= set(body["error"]), (context, body)  # a 409 may add "conflict"
        assert isinstance(body["error"]["fields"], dict)


def send(api: Any, method: str, url: str, body: bytes | None, content_type: str = JSON, **extra: Any) -> Any:
    return api.generic(method, url, data=body or b"", content_type=content_type, **extra)


def still_staff(admin: Any) -> None:
    """The fuzzing must not have locked the administrator out (their own access cannot be removed)."""
    assert StaffMembership.objects.filter(user=admin, is_active=True).exists()


WRITE_OPERATIONS = [op for op in OPERATIONS if op[0] in {"POST", "PUT", "PATCH"}]
LIST_OPERATIONS = [op for op in OPERATIONS if op[0] == "GET" and "{id}" not in op[1]]
ID_OPERATIONS = [op for op in OPERATIONS if "{id}" in op[1]]


def test_the_fuzzed_operations_cover_the_api():
    assert len(WRITE_OPERATIONS) >= 13 and len(LIST_OPERATIONS) >= 7 and len(ID_OPERATIONS) >= 16


@pytest.mark.parametrize(
    ("method", "path", "operation"), WRITE_OPERATIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_malformed_bodies_never_give_a_500(fuzz_world, method, path, operation):
    api, ids, admin = fuzz_world
    url = url_for(path, ids)
    for body, content_type in RAW_BODIES:
        check(send(api, method, url, body, content_type), (method, path, body[:60], content_type))
    for body in ODD_VALUES:
        check(send(api, method, url, json.dumps(body).encode()), (method, path, body))
    still_staff(admin)


@pytest.mark.parametrize(
    ("method", "path", "operation"), WRITE_OPERATIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_field_with_odd_values_never_gives_a_500(fuzz_world, method, path, operation):
    api, ids, admin = fuzz_world
    url = url_for(path, ids)
    fields = request_fields(operation, schema())
    for field in [*fields, "unknown_field"]:
        for index, value in enumerate(FIELD_VALUES):
            # with an Idempotency-Key too, for the create endpoints (the key must be released on refusal)
            for key in (None, f"fuzz-{field}") if method == "POST" and index % 3 == 0 else (None,):
                extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
                response = send(api, method, url, json.dumps({field: value}).encode(), **extra)
                check(response, (method, path, field, value if not isinstance(value, str) else value[:40]))
    still_staff(admin)


@pytest.mark.parametrize(("method", "path", "operation"), ID_OPERATIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_unknown_and_odd_ids_are_404(fuzz_world, method, path, operation):
    api, ids, _admin = fuzz_world
    for object_id in ODD_IDS:
        response = send(api, method, url_for(path, ids, object_id), b"{}")
        check(response, (method, path, object_id))
        assert response.status_code in {400, 404}, (method, path, object_id, response.status_code)


@pytest.mark.parametrize(
    ("method", "path", "operation"), LIST_OPERATIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_odd_query_strings_never_give_a_500(fuzz_world, method, path, operation):
    api, _ids, _admin = fuzz_world
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"] + ["ordering", "format"]
    for name in names:
        for value in ODD_QUERY_VALUES:
            response = api.get(f"{path}?{quote(name)}={quote(value, safe='')}")
            check(response, (path, name, value[:40]))
    check(api.get(f"{path}?cursor={'A' * 10_000}&page_size=-5"), path)


@pytest.mark.parametrize("header", ["Bearer \x00", "Bearer " + "x" * 10_000, "Bearer é", "\x00", "Bearer a\tb"])
def test_odd_authorization_headers_are_401(fuzz_world, header):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/v1/centers/")
    check(response, header[:20])
    assert response.status_code == 401


# --------------------------------------------------------------------------------------------------
# Random JSON documents (hypothesis), keyed by each operation's own field names
# --------------------------------------------------------------------------------------------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300)
    | st.sampled_from([v for v in ODD_VALUES if not isinstance(v, list | dict)])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)


def documents_for(fields: list[str]) -> st.SearchStrategy[Any]:
    keyed = st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields)) if fields else st.just({})
    return st.one_of(keyed, keyed, json_values)


@pytest.mark.parametrize(
    ("method", "path", "operation"), WRITE_OPERATIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_random_json_documents_never_give_a_500(fuzz_world, method, path, operation):
    api, ids, admin = fuzz_world
    url = url_for(path, ids)
    fields = request_fields(operation, schema())

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(document=documents_for(fields))
    def run(document: Any) -> None:
        check(send(api, method, url, json.dumps(document).encode()), (method, path, document))

    run()
    still_staff(admin)
