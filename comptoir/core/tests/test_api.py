"""REST API /api/v1/: authentication, error format, schema and docs, and each core resource."""

from __future__ import annotations

import base64
import datetime

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from comptoir.core import rights, services
from comptoir.core.models import (
    ApiToken,
    AuditEntry,
    Center,
    LegalEntity,
    Organization,
    Role,
    StaffMembership,
)
from comptoir.core.tests.factories import CenterFactory, LegalEntityFactory, StaffFactory, UserFactory, role

pytestmark = pytest.mark.django_db

API = "/api/v1"


def error_of(response, status: int, code: str | None = None) -> dict:
    """The `error` object of a 4xx answer, after checking the exact envelope."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def admin_api(admin, api_client):
    return api_client(admin)


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


# --------------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------------
def test_no_token_is_401_with_bearer_challenge(center):
    response = APIClient().get(f"{API}/centers/")

    error_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "bearer cpt_00000000_xxxxxxxx"],
)
def test_bad_authorization_headers_are_401(center, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)

    error = error_of(api.get(f"{API}/centers/"), 401)
    assert error["code"] in {"not_authenticated", "authentication_failed"}


def _token_for(user, org, **kwargs):
    token, raw = services.create_api_token(organization=org, user=user, by=None, name="t", **kwargs)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return token, api


def test_a_valid_token_works_and_records_its_last_use(org, admin, center):
    token, api = _token_for(admin, org)

    response = api.get(f"{API}/centers/")

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_expired_and_former_staff_tokens_are_401(org, admin, staff_of, center):
    revoked, revoked_api = _token_for(admin, org)
    services.revoke_api_token(token=revoked, by=admin)
    expired, expired_api = _token_for(admin, org)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    former = staff_of("manager")
    _former_token, former_api = _token_for(former, org)
    StaffMembership.objects.filter(user=former).update(is_active=False)
    inactive = staff_of("manager")
    _inactive_token, inactive_api = _token_for(inactive, org)
    type(inactive).objects.filter(pk=inactive.pk).update(is_active=False)

    for api in (revoked_api, expired_api, former_api, inactive_api):
        error_of(api.get(f"{API}/centers/"), 401, "authentication_failed")


def test_a_deactivated_organization_locks_its_tokens_out(org, admin, center):
    _token, api = _token_for(admin, org)
    Organization.objects.filter(pk=org.pk).update(is_active=False)

    error_of(api.get(f"{API}/centers/"), 401, "authentication_failed")


def test_the_token_decides_the_organization_not_the_session(org, other_org, admin, center, other_center, client):
    # the admin is also staff of the other organization, and their session works there
    StaffFactory(organization=other_org, user=admin, kind="administrator")
    client.force_login(admin, backend="comptoir.core.auth.EmailBackend")
    session = client.session
    session["organization_id"] = other_org.pk
    session.save()
    _token, raw = services.create_api_token(organization=org, user=admin, by=None, name="t")

    response = client.get(f"{API}/centers/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert [item["id"] for item in response.json()["results"]] == [center.pk]


def test_a_session_alone_does_not_authenticate_the_api(org, admin, center, client):
    client.force_login(admin, backend="comptoir.core.auth.EmailBackend")

    error_of(client.get(f"{API}/centers/"), 401, "not_authenticated")


# --------------------------------------------------------------------------------------------------
# Error format
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/centers/abc/", "/api/v1/centers/1/nope/", "/api/v1/x"]
)
def test_unknown_urls_under_the_api_are_json_404(admin_api, method, path):
    error_of(getattr(admin_api, method)(path), 404, "not_found")
    error_of(getattr(APIClient(), method)(path), 404, "not_found")


def test_a_missing_trailing_slash_gets_a_hint(admin_api):
    error = error_of(admin_api.get(f"{API}/centers"), 404, "not_found")

    assert "/api/v1/centers/" in error["message"]


def test_methods_an_endpoint_does_not_offer_are_405(admin_api, center, org):
    error_of(admin_api.delete(f"{API}/centers/{center.pk}/"), 405, "method_not_allowed")
    error_of(admin_api.put(f"{API}/organizations/{org.pk}/", {}, format="json"), 405, "method_not_allowed")
    error_of(admin_api.post(f"{API}/journal/", {}, format="json"), 405, "method_not_allowed")
    error_of(admin_api.options(f"{API}/centers/"), 405, "method_not_allowed")
    assert Center.objects.filter(pk=center.pk).exists()


def test_malformed_json_is_400_parse_error(admin_api):
    response = admin_api.generic("POST", f"{API}/centers/", b'{"name": ', content_type="application/json")

    error_of(response, 400, "parse_error")


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"name": "\\ud800"}', b'{"name": NaN}', b"\xff\xfe"],
    ids=["deep-nesting", "lone-surrogate", "nan", "not-utf8"],
)
def test_unreadable_json_is_400_parse_error(admin_api, org, body):
    response = admin_api.generic("POST", f"{API}/centers/", body, content_type="application/json")

    error_of(response, 400, "parse_error")
    assert not Center.objects.filter(organization=org).exists()


def test_an_oversized_body_is_413(admin_api):
    body = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'

    error_of(
        admin_api.generic("POST", f"{API}/centers/", body, content_type="application/json"), 413, "request_too_large"
    )


def test_domain_errors_keep_their_status_and_code():
    from comptoir.core.api.errors import exception_handler
    from comptoir.core.errors import Conflict, NotFound

    conflict = exception_handler(Conflict("Créneau déjà pris.", code="booking_conflict", field="starts_at"), {})
    missing = exception_handler(NotFound("Inconnu."), {})

    assert conflict.status_code == 409
    assert conflict.data == {
        "error": {
            "code": "booking_conflict",
            "message": "Créneau déjà pris.",
            "fields": {"starts_at": ["Créneau déjà pris."]},
        }
    }
    assert (missing.status_code, missing.data["error"]["code"]) == (404, "not_found")


def test_unsupported_media_types_are_415(admin_api):
    error_of(admin_api.post(f"{API}/centers/", "name=x", content_type="text/plain"), 415, "unsupported_media_type")
    error_of(
        admin_api.post(f"{API}/centers/", "name=x", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


def test_only_json_is_rendered(admin_api, center):
    error_of(admin_api.get(f"{API}/centers/", HTTP_ACCEPT="text/html"), 406, "not_acceptable")


def test_validation_errors_name_each_field(admin_api):
    error = error_of(admin_api.post(f"{API}/centers/", {"code": "not a slug!"}, format="json"), 400, "invalid")

    assert set(error["fields"]) == {"name", "code", "legal_entity"}
    assert all(isinstance(messages, list) and messages for messages in error["fields"].values())


def test_nested_errors_use_dotted_paths(admin_api, center):
    hours = [{"weekday": 0, "opens_at": "09:00", "closes_at": "18:00"}, {"weekday": 9, "opens_at": "x"}]

    error = error_of(admin_api.patch(f"{API}/centers/{center.pk}/", {"opening_hours": hours}, format="json"), 400)

    assert set(error["fields"]) == {"opening_hours.1.weekday", "opening_hours.1.opens_at", "opening_hours.1.closes_at"}


def test_unknown_or_read_only_keys_are_refused(admin_api, center):
    error = error_of(
        admin_api.patch(f"{API}/centers/{center.pk}/", {"name": "X", "id": 9, "nmae": "Y"}, format="json"), 400
    )

    assert set(error["fields"]) == {"id", "nmae"}
    center.refresh_from_db()
    assert center.name == "Paris Opéra"


def test_a_domain_error_keeps_its_code_and_field(admin_api, org, center):
    error = error_of(
        admin_api.post(
            f"{API}/centers/",
            {"name": "Doublon", "code": center.code, "legal_entity": center.legal_entity_id},
            format="json",
        ),
        400,
    )
    assert error["code"] in {"duplicate", "invalid"} and error["fields"]
    assert Center.objects.filter(organization=org).count() == 1

    technician_role = role(org, "technician")
    error = error_of(
        admin_api.post(f"{API}/roles/{technician_role.pk}/rights/", {"rights": ["core.nope"]}, format="json"),
        400,
        "unknown_right",
    )
    assert list(error["fields"]) == ["rights"]


def test_throttled_calls_get_429_with_retry_after(settings, admin_api, center):
    settings.API_RATE = "3/min"
    cache.clear()

    statuses = [admin_api.get(f"{API}/centers/").status_code for _ in range(3)]
    response = admin_api.get(f"{API}/centers/")

    assert statuses == [200, 200, 200]
    error_of(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_rate_limit_is_per_token(settings, org, admin, center):
    settings.API_RATE = "1/min"
    _first, first_api = _token_for(admin, org)
    _second, second_api = _token_for(admin, org)

    assert first_api.get(f"{API}/centers/").status_code == 200
    assert first_api.get(f"{API}/centers/").status_code == 429
    assert second_api.get(f"{API}/centers/").status_code == 200


# --------------------------------------------------------------------------------------------------
# Schema and docs
# --------------------------------------------------------------------------------------------------
def test_schema_is_public_openapi_3():
    response = APIClient().get(f"{API}/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")
    as_json = APIClient().get(f"{API}/schema/?format=json").json()
    assert as_json["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": as_json["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert "/api/v1/centers/{id}/" in as_json["paths"]


def test_schema_ignores_a_bad_token():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer wrong")

    assert api.get(f"{API}/schema/").status_code == 200


def test_docs_work_offline_from_local_static_files():
    response = APIClient().get(f"{API}/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/api/v1/schema/" in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"), asset


@pytest.mark.parametrize("path", [f"{API}/", f"{API}/schema/", f"{API}/docs/"])
def test_the_public_views_answer_other_methods_with_json_405(path):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(APIClient(), method)(path, {"x": 1}, format="json")
        error_of(response, 405, "method_not_allowed")
        assert "GET" in response["Allow"]


def test_api_root_points_at_schema_and_docs():
    body = APIClient().get(f"{API}/").json()

    assert body["schema"].endswith("/api/v1/schema/") and body["docs"].endswith("/api/v1/docs/")


# --------------------------------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------------------------------
def test_organizations_list_only_the_tokens_own(admin_api, org, other_org):
    body = admin_api.get(f"{API}/organizations/").json()

    assert [item["slug"] for item in body["results"]] == [org.slug]
    error_of(admin_api.get(f"{API}/organizations/{other_org.pk}/"), 404, "not_found")


def test_patch_organization_goes_through_the_service(admin_api, org):
    response = admin_api.patch(f"{API}/organizations/{org.pk}/", {"phone": "01 02 03 04 05"}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == "01 02 03 04 05"
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.changes == {"phone": ["", "01 02 03 04 05"]}


def test_the_slug_cannot_be_changed(admin_api, org):
    error = error_of(admin_api.patch(f"{API}/organizations/{org.pk}/", {"slug": "x"}, format="json"), 400)

    assert "slug" in error["fields"]
    assert Organization.objects.get(pk=org.pk).slug == "operateur-a"


# --------------------------------------------------------------------------------------------------
# Centers
# --------------------------------------------------------------------------------------------------
def test_create_center_with_opening_hours(admin_api, admin, org):
    entity = LegalEntityFactory(organization=org)
    payload = {
        "name": "Lyon Part-Dieu",
        "code": "lyon",
        "legal_entity": entity.pk,
        "city": "Lyon",
        "opening_hours": [
            {"weekday": 0, "opens_at": "14:00", "closes_at": "19:00"},
            {"weekday": 0, "opens_at": "08:30", "closes_at": "12:00"},
        ],
    }

    response = admin_api.post(f"{API}/centers/", payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    center = Center.objects.get(pk=body["id"])
    assert center.organization == org and center.legal_entity == entity
    assert body["opening_hours"] == [
        {"weekday": 0, "opens_at": "08:30", "closes_at": "12:00"},
        {"weekday": 0, "opens_at": "14:00", "closes_at": "19:00"},
    ]
    assert body["timezone"] == "Europe/Paris" and body["country"] == "FR"
    entry = AuditEntry.objects.get(action="center.created")
    assert entry.actor == admin and entry.object_id == str(center.pk)


def test_centers_refuse_another_organizations_legal_entity(admin_api, org, other_org):
    foreign = LegalEntityFactory(organization=other_org)

    error = error_of(
        admin_api.post(f"{API}/centers/", {"name": "X", "code": "x", "legal_entity": foreign.pk}, format="json"), 400
    )

    assert "legal_entity" in error["fields"]
    assert not Center.objects.filter(organization=org).exists()


def test_update_center_details_and_hours_together(admin_api, center):
    hours = [{"weekday": 5, "opens_at": "10:00", "closes_at": "13:00"}]

    response = admin_api.patch(
        f"{API}/centers/{center.pk}/", {"name": "Paris Bourse", "opening_hours": hours}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["opening_hours"] == hours
    center.refresh_from_db()
    assert center.name == "Paris Bourse"
    assert [(h.weekday, h.opens_at) for h in center.opening_hours.all()] == [(5, datetime.time(10))]
    assert set(AuditEntry.objects.filter(action__startswith="center.").values_list("action", flat=True)) == {
        "center.updated",
        "center.opening_hours_changed",
    }


def test_refused_hours_roll_back_the_other_changes(admin_api, center):
    before = list(center.opening_hours.values_list("weekday", "opens_at", "closes_at"))
    overlapping = [
        {"weekday": 0, "opens_at": "09:00", "closes_at": "13:00"},
        {"weekday": 0, "opens_at": "12:00", "closes_at": "18:00"},
    ]

    error = error_of(
        admin_api.patch(
            f"{API}/centers/{center.pk}/", {"name": "Nouveau", "opening_hours": overlapping}, format="json"
        ),
        400,
        "overlapping_hours",
    )

    assert "opening_hours" in error["fields"]
    center.refresh_from_db()
    assert center.name == "Paris Opéra"
    assert list(center.opening_hours.values_list("weekday", "opens_at", "closes_at")) == before
    assert not AuditEntry.objects.filter(action__startswith="center.").exists()


def test_put_replaces_and_requires_every_required_field(admin_api, center):
    error = error_of(admin_api.put(f"{API}/centers/{center.pk}/", {"name": "Seul"}, format="json"), 400)
    assert set(error["fields"]) == {"code", "legal_entity"}

    response = admin_api.put(
        f"{API}/centers/{center.pk}/",
        {"name": "Paris 9", "code": "paris-9", "legal_entity": center.legal_entity_id, "is_active": False},
        format="json",
    )
    assert response.status_code == 200
    center.refresh_from_db()
    assert (center.name, center.code, center.is_active) == ("Paris 9", "paris-9", False)


def test_center_filters(admin_api, org):
    entity_a = LegalEntityFactory(organization=org)
    entity_b = LegalEntityFactory(organization=org)
    lyon = CenterFactory(organization=org, legal_entity=entity_a, name="Lyon", code="lyon", city="Lyon")
    nice = CenterFactory(organization=org, legal_entity=entity_b, name="Nice", code="nice-port", city="Nice")
    closed = CenterFactory(organization=org, legal_entity=entity_b, name="Vieux", code="old", is_active=False)

    def ids(query: str) -> set[int]:
        response = admin_api.get(f"{API}/centers/?{query}")
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["results"]}

    assert ids("city=lyon") == {lyon.pk}
    assert ids("is_active=false") == {closed.pk}
    assert ids(f"legal_entity={entity_b.pk}") == {nice.pk, closed.pk}
    assert ids("search=PORT") == {nice.pk}
    assert ids("search=vieu") == {closed.pk}
    error_of(admin_api.get(f"{API}/centers/?legal_entity=999999"), 400, "invalid")


def test_staff_limited_to_some_centers_see_only_those(org, api_client, center):
    other = CenterFactory(organization=org, name="Autre", code="autre")
    manager = StaffFactory(organization=org, kind="manager")
    manager.centers.set([center])
    api = api_client(manager.user)

    assert [item["id"] for item in api.get(f"{API}/centers/").json()["results"]] == [center.pk]
    error_of(api.get(f"{API}/centers/{other.pk}/"), 404)
    error_of(api.patch(f"{API}/centers/{other.pk}/", {"name": "X"}, format="json"), 404)


def test_center_list_makes_the_same_number_of_queries_for_3_or_30_centers(admin_api, org):
    entity = LegalEntityFactory(organization=org)
    for index in range(3):
        CenterFactory(organization=org, legal_entity=entity, code=f"a{index}")
    admin_api.get(f"{API}/centers/")  # warm the caches (content types...)
    with CaptureQueriesContext(connection) as few:
        assert admin_api.get(f"{API}/centers/").status_code == 200
    for index in range(27):
        CenterFactory(organization=org, legal_entity=LegalEntityFactory(organization=org), code=f"b{index}")
    with CaptureQueriesContext(connection) as many:
        assert len(admin_api.get(f"{API}/centers/").json()["results"]) == 30
    assert len(many) == len(few)


# --------------------------------------------------------------------------------------------------
# Pagination
# --------------------------------------------------------------------------------------------------
def test_cursor_pagination_walks_every_row_once(admin_api, org):
    entity = LegalEntityFactory(organization=org)
    created = {CenterFactory(organization=org, legal_entity=entity, code=f"c{i}").pk for i in range(7)}

    seen: list[int] = []
    url = f"{API}/centers/?page_size=3"
    while url:
        body = admin_api.get(url).json()
        assert len(body["results"]) <= 3
        seen += [item["id"] for item in body["results"]]
        url = body["next"]
    assert seen == sorted(created)


def test_a_tampered_cursor_is_400(admin_api, center):
    bad_position = base64.b64encode(b"p=abc").decode()
    for cursor in ("a", "%FF", bad_position, base64.b64encode(b"r=x").decode(), base64.b64encode(b"o=-1").decode()):
        error_of(admin_api.get(f"{API}/centers/?cursor={cursor}"), 400, "invalid_cursor")


def test_page_size_is_capped(admin_api, center):
    assert admin_api.get(f"{API}/centers/?page_size=100000").status_code == 200
    assert admin_api.get(f"{API}/centers/?page_size=abc").status_code == 200


# --------------------------------------------------------------------------------------------------
# Legal entities
# --------------------------------------------------------------------------------------------------
LEGAL_ENTITY = {
    "name": "Comptoir Lyon SAS",
    "legal_form": "SAS",
    "siren": "732 829 320",
    "siret": "73282932000074",
    "vat_number": "FR44732829320",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPPXXX",
    "city": "Lyon",
}


def test_create_legal_entity_normalizes_identifiers(admin_api, org):
    response = admin_api.post(f"{API}/legal-entities/", LEGAL_ENTITY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["siren"] == "732829320" and body["iban"] == "FR7630006000011234567890189"
    assert body["center_count"] == 0 and body["logo"] is None
    assert LegalEntity.objects.get(pk=body["id"]).organization == org
    assert AuditEntry.objects.filter(action="legal_entity.created").count() == 1


def test_invalid_identifiers_are_400_at_their_field(admin_api, org):
    error = error_of(
        admin_api.post(f"{API}/legal-entities/", {**LEGAL_ENTITY, "siren": "123456789"}, format="json"), 400
    )

    assert "siren" in error["fields"]
    assert not LegalEntity.objects.filter(organization=org).exists()


def test_siret_must_start_with_siren(admin_api, org):
    error = error_of(
        admin_api.post(f"{API}/legal-entities/", {**LEGAL_ENTITY, "siret": "55208131766522"}, format="json"), 400
    )

    assert "siret" in error["fields"]


def test_update_and_search_legal_entities(admin_api, center):
    entity = center.legal_entity
    response = admin_api.patch(f"{API}/legal-entities/{entity.pk}/", {"rcs": "Paris B 732 829 320"}, format="json")
    assert response.status_code == 200
    assert response.json()["center_count"] == 1

    found = admin_api.get(f"{API}/legal-entities/?search=732829320").json()["results"]
    assert [item["id"] for item in found] == [entity.pk]
    assert admin_api.get(f"{API}/legal-entities/?search=zzz").json()["results"] == []


def test_legal_entities_offer_no_delete(admin_api, center):
    error_of(admin_api.delete(f"{API}/legal-entities/{center.legal_entity_id}/"), 405)


# --------------------------------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------------------------------
def test_add_staff_member_creates_the_account(admin_api, org, center, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_api.post(
            f"{API}/staff/",
            {
                "email": "Lea@Example.test",
                "first_name": "Léa",
                "role": role(org, "reception").pk,
                "centers": [center.pk],
                "job_title": "Accueil",
            },
            format="json",
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "lea@example.test"
    assert body["centers"] == [center.pk] and body["is_activated"] is False and body["is_active"] is True
    assert StaffMembership.objects.get(pk=body["id"]).role.kind == "reception"
    assert len(callbacks) == 1  # the activation e-mail, after commit


def test_add_staff_member_without_activation_mail(admin_api, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_api.post(
            f"{API}/staff/",
            {"email": "import@example.test", "role": role(org, "technician").pk, "send_activation": False},
            format="json",
        )

    assert response.status_code == 201
    assert callbacks == []


def test_staff_update_role_centers_and_access(admin_api, org, center, staff_of):
    member = StaffMembership.objects.get(user=staff_of("reception"), organization=org)

    response = admin_api.patch(
        f"{API}/staff/{member.pk}/",
        {"role": role(org, "manager").pk, "centers": [center.pk], "is_active": False},
        format="json",
    )

    assert response.status_code == 200
    member.refresh_from_db()
    assert member.role.kind == "manager" and not member.is_active
    assert list(member.centers.all()) == [center]


def test_staff_identity_is_not_writable_after_creation(admin_api, org, staff_of):
    member = StaffMembership.objects.get(user=staff_of("reception"), organization=org)

    error = error_of(admin_api.patch(f"{API}/staff/{member.pk}/", {"email": "x@example.test"}, format="json"), 400)

    assert "email" in error["fields"]


def test_nobody_changes_their_own_role_through_the_api(admin_api, org, admin):
    own = StaffMembership.objects.get(user=admin, organization=org)

    error_of(admin_api.patch(f"{API}/staff/{own.pk}/", {"role": role(org, "technician").pk}, format="json"), 403)

    own.refresh_from_db()
    assert own.role.kind == "administrator"


def test_staff_cannot_be_given_a_role_more_powerful_than_the_actors(org, api_client, staff_of):
    admin = StaffFactory(organization=org, kind="administrator").user
    hr_role = services.create_role(
        organization=org,
        by=admin,
        name="RH",
        permission_names=["core.view_staffmembership", "core.add_staffmembership", "core.change_staffmembership"],
    )
    hr = StaffFactory(organization=org, role=hr_role).user
    member = StaffMembership.objects.get(user=staff_of("technician"), organization=org)
    api = api_client(hr)

    error_of(
        api.patch(f"{API}/staff/{member.pk}/", {"role": role(org, "administrator").pk}, format="json"),
        403,
        "escalation",
    )
    error_of(
        api.post(f"{API}/staff/", {"email": "boss@example.test", "role": role(org, "administrator").pk}, format="json"),
        403,
        "escalation",
    )

    member.refresh_from_db()
    assert member.role.kind == "technician"
    assert not StaffMembership.objects.filter(user__email="boss@example.test").exists()


def test_staff_filters(admin_api, org, staff_of):
    reception = staff_of("reception")
    reception.first_name = "Zoé"
    reception.save()
    staff_of("technician")

    def emails(query: str) -> set[str]:
        return {item["email"] for item in admin_api.get(f"{API}/staff/?{query}").json()["results"]}

    assert emails(f"role={role(org, 'reception').pk}") == {reception.email}
    assert emails("search=zoé") == {reception.email}


# --------------------------------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------------------------------
def test_roles_show_their_rights(admin_api, org):
    roles = {item["kind"]: item for item in admin_api.get(f"{API}/roles/").json()["results"]}

    assert set(roles) == {"administrator", "manager", "reception", "technician"}
    assert [name for name in roles["technician"]["rights"] if name.startswith("core.")] == ["core.view_center"]
    assert set(roles["technician"]["rights"]) == rights.default_permission_names("technician")
    assert set(roles["manager"]["rights"]) == rights.default_permission_names("manager")
    assert "core.delete_role" in roles["administrator"]["rights"]
    assert roles["administrator"]["member_count"] == 1


def test_replace_a_roles_rights(admin_api, org):
    technician = role(org, "technician")
    wanted = {*rights.role_rights(technician), "core.change_center"}

    response = admin_api.post(f"{API}/roles/{technician.pk}/rights/", {"rights": sorted(wanted)}, format="json")

    assert response.status_code == 200
    assert response.json()["rights"] == sorted(wanted)
    assert rights.role_rights(technician) == wanted
    assert AuditEntry.objects.get(action="role.rights_changed").changes == {
        "added": ["core.change_center"],
        "removed": [],
    }


def test_unknown_rights_are_400_on_the_rights_field(admin_api, org):
    error = error_of(
        admin_api.post(f"{API}/roles/{role(org, 'technician').pk}/rights/", {"rights": ["core.fly"]}, format="json"),
        400,
        "unknown_right",
    )

    assert "rights" in error["fields"]


def test_rights_escalation_is_403_escalation_and_changes_nothing(org, api_client):
    admin = StaffFactory(organization=org, kind="administrator").user
    editor_role = services.create_role(
        organization=org, by=admin, name="Éditeur", permission_names=["core.view_role", "core.change_role"]
    )
    editor = StaffFactory(organization=org, role=editor_role).user
    technician = role(org, "technician")
    before = rights.role_rights(technician)

    error_of(
        api_client(editor).post(
            f"{API}/roles/{technician.pk}/rights/",
            {"rights": ["core.view_center", "core.delete_center"]},
            format="json",
        ),
        403,
        "escalation",
    )

    assert rights.role_rights(technician) == before
    assert not AuditEntry.objects.filter(action="role.rights_changed").exists()


def test_the_administrator_role_is_fixed(admin_api, org):
    error_of(
        admin_api.post(f"{API}/roles/{role(org, 'administrator').pk}/rights/", {"rights": []}, format="json"),
        400,
        "fixed_role",
    )


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------
def test_create_token_returns_the_raw_value_once_and_it_works(admin_api, admin, org, center):
    response = admin_api.post(f"{API}/tokens/", {"name": "Compta"}, format="json")

    assert response.status_code == 201
    body = response.json()
    raw = body["token"]
    assert raw.startswith(f"cpt_{body['prefix']}_")
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.user == admin and stored.key_hash == services.hash_token(raw) and raw not in stored.key_hash
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert fresh.get(f"{API}/centers/").status_code == 200
    listed = admin_api.get(f"{API}/tokens/{body['id']}/").json()
    assert "token" not in listed and listed["is_active"] is True


def test_tokens_list_only_the_users_own(org, admin, staff_of, api_client):
    manager = staff_of("manager")
    theirs, _raw = services.create_api_token(organization=org, user=manager, by=None, name="theirs")
    api = api_client(admin)

    names = [item["name"] for item in api.get(f"{API}/tokens/").json()["results"]]

    assert names == ["test"]
    error_of(api.get(f"{API}/tokens/{theirs.pk}/"), 404)
    error_of(api.post(f"{API}/tokens/{theirs.pk}/revoke/"), 404)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoke_a_token(org, admin):
    _token, api = _token_for(admin, org)
    other, other_api = _token_for(admin, org)

    response = api.post(f"{API}/tokens/{other.pk}/revoke/")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None and response.json()["is_active"] is False
    error_of(other_api.get(f"{API}/tokens/"), 401)
    assert AuditEntry.objects.filter(action="api_token.revoked", object_id=str(other.pk)).count() == 1


def test_token_expiry_must_be_in_the_future(admin_api):
    past = (timezone.now() - datetime.timedelta(days=1)).isoformat()

    error = error_of(admin_api.post(f"{API}/tokens/", {"name": "x", "expires_at": past}, format="json"), 400)

    assert "expires_at" in error["fields"]


# --------------------------------------------------------------------------------------------------
# Audit journal
# --------------------------------------------------------------------------------------------------
def test_journal_lists_newest_first_with_filters(admin_api, admin, org, center, other_org):
    services.update_center(center=center, by=admin, data={"name": "A"})
    services.update_center(center=center, by=admin, data={"name": "B"})
    services.update_organization(organization=org, by=admin, data={"phone": "1"})
    other_admin = StaffFactory(organization=other_org, kind="administrator").user
    services.update_organization(organization=other_org, by=other_admin, data={"phone": "2"})

    everything = [e for e in admin_api.get(f"{API}/journal/").json()["results"] if e["action"] != "api_token.created"]
    assert [entry["action"] for entry in everything] == ["organization.updated", "center.updated", "center.updated"]
    assert everything[1]["changes"] == {"name": ["A", "B"]}
    assert everything[1]["object_type"] == "core.center" and everything[1]["object_id"] == str(center.pk)
    assert everything[1]["actor"] == admin.pk

    by_object = admin_api.get(f"{API}/journal/?object_type=core.center&object_id={center.pk}").json()["results"]
    assert len(by_object) == 2
    by_action = admin_api.get(f"{API}/journal/?action=organization.updated").json()["results"]
    assert len(by_action) == 1
    error_of(admin_api.get(f"{API}/journal/?object_type=center"), 400, "invalid")


def test_journal_entries_of_another_organization_are_404(admin_api, other_org):
    other_admin = StaffFactory(organization=other_org, kind="administrator").user
    services.update_organization(organization=other_org, by=other_admin, data={"phone": "2"})
    foreign = AuditEntry.objects.get(organization=other_org, action="organization.updated")

    error_of(admin_api.get(f"{API}/journal/{foreign.pk}/"), 404)


def test_a_new_user_account_of_another_org_is_not_reachable(admin_api, other_org):
    stranger = StaffFactory(organization=other_org, user=UserFactory(), kind="administrator")

    error_of(admin_api.get(f"{API}/staff/{stranger.pk}/"), 404)
    assert Role.objects.filter(organization=other_org).exists()
