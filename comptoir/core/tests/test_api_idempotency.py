"""Idempotency-Key on the API's create endpoints: replay, reuse, in progress, purge, real threads."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from comptoir.core import services
from comptoir.core.api import idempotency
from comptoir.core.api.idempotency import idempotent
from comptoir.core.models import ApiToken, AuditEntry, Center, IdempotencyRecord, LegalEntity, StaffMembership
from comptoir.core.tests.factories import LegalEntityFactory, StaffFactory, role

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()


def post(api: APIClient, url: str, body: dict, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(url, body, format="json", **headers)


def center_body(org) -> dict:
    entity = LegalEntity.objects.filter(organization=org).first() or LegalEntityFactory(organization=org)
    return {"name": "Lyon", "code": "lyon", "legal_entity": entity.pk}


# (url, body builder, model whose rows the request creates)
CREATE_ENDPOINTS = {
    "centers": (f"{API}/centers/", center_body, Center),
    "legal-entities": (
        f"{API}/legal-entities/",
        lambda org: {"name": "Comptoir Lyon SAS", "city": "Lyon"},
        LegalEntity,
    ),
    "staff": (
        f"{API}/staff/",
        lambda org: {"email": "new@example.test", "role": role(org, "reception").pk, "send_activation": False},
        StaffMembership,
    ),
    "tokens": (f"{API}/tokens/", lambda org: {"name": "Intégration"}, ApiToken),
}


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(CREATE_ENDPOINTS))
def test_same_key_same_body_replays_without_a_second_side_effect(org, admin, api_client, endpoint):
    url, build, model = CREATE_ENDPOINTS[endpoint]
    api = api_client(admin)
    body = build(org)
    rows_before = model.objects.count()
    journal_before = AuditEntry.objects.count()

    first = post(api, url, body, "key-1")
    second = post(api, url, body, "key-1")

    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert model.objects.count() == rows_before + 1
    assert AuditEntry.objects.count() == journal_before + 1
    if endpoint == "tokens":
        # the raw token is shown once: never stored, so the replay has null there
        assert first.json()["token"] and second.json()["token"] is None
        assert {**first.json(), "token": None} == second.json()
        assert first.json()["token"] not in str(IdempotencyRecord.objects.get().response_body)
    else:
        assert second.json() == first.json()


@pytest.mark.django_db
def test_one_decorator_makes_any_action_idempotent(org, admin):
    # given an action of a later module that creates a document (here a stand-in that counts its calls)
    calls: list[str] = []

    class InvoiceViewSet(viewsets.ViewSet):
        authentication_classes: list = []
        permission_classes: list = []

        @action(detail=True, methods=["post"])
        @idempotent
        def issue(self, request, pk=None):
            calls.append(pk)
            return Response({"number": f"FA-{len(calls)}"}, status=201)

    view = InvoiceViewSet.as_view({"post": "issue"})

    def issue(key: str, body: dict):
        request = APIRequestFactory().post("/api/v1/invoices/7/issue/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        request.organization = org
        force_authenticate(request, user=admin)
        return view(request, pk="7")

    # when the same call is retried, then reused for another body
    first, retry = issue("k", {"date": "2026-01-31"}), issue("k", {"date": "2026-01-31"})
    reused = issue("k", {"date": "2026-02-28"})

    # then the action ran once
    assert calls == ["7"]
    assert (first.status_code, first.data) == (201, {"number": "FA-1"})
    assert (retry.status_code, retry.data, retry["Idempotent-Replayed"]) == (201, {"number": "FA-1"}, "true")
    assert reused.status_code == 422


@pytest.mark.django_db
def test_json_formatting_does_not_change_the_fingerprint(org, admin, api_client):
    api = api_client(admin)
    entity = LegalEntityFactory(organization=org)
    compact = f'{{"name":"Lyon","code":"lyon","legal_entity":{entity.pk}}}'
    spaced = f'{{ "legal_entity": {entity.pk},\n  "code": "lyon", "name": "Lyon" }}'

    first = api.generic("POST", f"{API}/centers/", compact, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    second = api.generic("POST", f"{API}/centers/", spaced, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert Center.objects.filter(organization=org).count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_or_path_is_422(org, admin, api_client):
    api = api_client(admin)
    body = center_body(org)
    assert post(api, f"{API}/centers/", body, "key-1").status_code == 201

    other_body = post(api, f"{API}/centers/", {**body, "code": "lyon-2"}, "key-1")
    other_path = post(api, f"{API}/tokens/", {"name": "x"}, "key-1")

    for response in (other_body, other_path):
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Center.objects.filter(organization=org).count() == 1
    assert not ApiToken.objects.filter(name="x").exists()


@pytest.mark.django_db
def test_without_a_key_nothing_is_recorded(org, admin, api_client):
    api = api_client(admin)

    assert post(api, f"{API}/centers/", center_body(org), None).status_code == 201
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_refused_request_does_not_spend_its_key(org, admin, api_client):
    api = api_client(admin)
    body = center_body(org)

    refused = post(api, f"{API}/centers/", {**body, "code": "not a slug!"}, "key-1")
    corrected = post(api, f"{API}/centers/", body, "key-1")

    assert refused.status_code == 400
    assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected
    assert IdempotencyRecord.objects.get().status_code == 201


@pytest.mark.django_db
def test_a_rights_refusal_does_not_spend_the_key_either(org, staff_of, api_client):
    technician = staff_of("technician")
    api = api_client(technician)

    assert post(api, f"{API}/tokens/", {"name": "x"}, "key-1").status_code == 403
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_keys_are_scoped_to_the_user_and_the_organization(org, other_org, admin, api_client):
    other_user = StaffFactory(organization=org, kind="administrator").user
    other_org_admin = StaffFactory(organization=other_org, kind="administrator").user
    LegalEntityFactory(organization=other_org)

    mine = post(api_client(admin), f"{API}/centers/", center_body(org), "shared-key")
    colleague = post(api_client(other_user), f"{API}/centers/", {**center_body(org), "code": "lyon-2"}, "shared-key")
    elsewhere = post(api_client(other_org_admin, other_org), f"{API}/centers/", center_body(other_org), "shared-key")

    assert [r.status_code for r in (mine, colleague, elsewhere)] == [201, 201, 201]
    assert not any(r.has_header("Idempotent-Replayed") for r in (mine, colleague, elsewhere))
    assert IdempotencyRecord.objects.count() == 3


@pytest.mark.django_db
def test_a_request_still_running_with_the_key_gives_409(org, admin, api_client):
    api = api_client(admin)
    body = center_body(org)
    # the first request has claimed the key and is still running (its answer is not stored yet)
    IdempotencyRecord.objects.create(
        organization=org,
        user=admin,
        key="key-1",
        method="POST",
        path=f"{API}/centers/",
        fingerprint=_fingerprint_of(api, body),
    )

    response = post(api, f"{API}/centers/", body, "key-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert not Center.objects.filter(organization=org).exists()


def _fingerprint_of(api: APIClient, body: dict) -> str:
    """The fingerprint the server computes for this POST."""
    django_request = RequestFactory().post(f"{API}/centers/", body, content_type="application/json")
    return idempotency.fingerprint(Request(django_request, parsers=[JSONParser()]))


@pytest.mark.django_db
def test_an_abandoned_claim_is_taken_over(org, admin, api_client):
    api = api_client(admin)
    body = center_body(org)
    IdempotencyRecord.objects.create(
        organization=org,
        user=admin,
        key="key-1",
        method="POST",
        path=f"{API}/centers/",
        fingerprint=_fingerprint_of(api, body),
        created_at=timezone.now() - idempotency.ABANDONED_AFTER - datetime.timedelta(seconds=1),
    )

    response = post(api, f"{API}/centers/", body, "key-1")

    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Center.objects.filter(organization=org).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "a b", "é", "x" * 256, "tab\there"])
def test_malformed_keys_are_400(org, admin, api_client, key):
    response = post(api_client(admin), f"{API}/centers/", center_body(org), key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Center.objects.filter(organization=org).exists()


@pytest.mark.django_db
def test_records_older_than_24_hours_are_purged_and_their_keys_reusable(org, admin, api_client):
    api = api_client(admin)
    body = center_body(org)
    assert post(api, f"{API}/centers/", body, "old-key").status_code == 201
    assert post(api, f"{API}/centers/", {**body, "code": "recent"}, "recent-key").status_code == 201
    IdempotencyRecord.objects.filter(key="old-key").update(created_at=timezone.now() - datetime.timedelta(hours=25))

    # an expired key is a new key: the request runs again instead of being replayed
    reused = post(api, f"{API}/centers/", {**body, "code": "other"}, "old-key")
    assert reused.status_code == 201 and "Idempotent-Replayed" not in reused

    IdempotencyRecord.objects.filter(key="old-key").update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert idempotency.purge_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent-key"]
    assert idempotency.purge_expired(now=timezone.now() + datetime.timedelta(hours=25)) == 1
    assert not IdempotencyRecord.objects.exists()


# --------------------------------------------------------------------------------------------------
# Real threads on PostgreSQL
# --------------------------------------------------------------------------------------------------
def _in_thread(target, results: dict, name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = target()
        except BaseException as exc:  # surfaced by the assertions below
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_request_with_the_same_key_gets_409_then_the_replay(org, admin, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("concurrency test for PostgreSQL")
    _token, raw = services.create_api_token(organization=org, user=admin, by=None, name="t")
    body = center_body(org)
    entered, release = threading.Event(), threading.Event()
    original = services.create_center

    def slow_create_center(**kwargs):
        entered.set()
        assert release.wait(10)
        return original(**kwargs)

    monkeypatch.setattr(services, "create_center", slow_create_center)

    def call():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return post(api, f"{API}/centers/", body, "same-key")

    results: dict = {}
    first = _in_thread(call, results, "first")
    assert entered.wait(10)
    second = _in_thread(call, results, "second")  # arrives while the first one is inside the service
    second.join(10)
    release.set()
    first.join(10)
    third = _in_thread(call, results, "third")
    third.join(10)

    assert results["second"].status_code == 409
    assert results["second"].json()["error"]["code"] == "idempotency_in_progress"
    assert results["first"].status_code == 201
    assert results["third"].status_code == 201 and results["third"]["Idempotent-Replayed"] == "true"
    assert results["third"].json() == results["first"].json()
    assert Center.objects.filter(organization=org).count() == 1
    assert AuditEntry.objects.filter(action="center.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_the_same_key_act_once(org, admin):
    """Four threads, one key: one request acts, the others wait (409) or get the replay — on both databases."""
    _token, raw = services.create_api_token(organization=org, user=admin, by=None, name="t")
    body = center_body(org)
    barrier = threading.Barrier(4)

    def call():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        barrier.wait(10)
        return post(api, f"{API}/centers/", body, "same-key")

    results: dict = {}
    threads = [_in_thread(call, results, f"t{index}") for index in range(4)]
    for thread in threads:
        thread.join(20)

    responses = list(results.values())
    assert all(not isinstance(r, BaseException) for r in responses), responses
    fresh = [r for r in responses if r.status_code == 201 and not r.has_header("Idempotent-Replayed")]
    others = [r for r in responses if r not in fresh]
    assert len(fresh) == 1
    assert all(r.status_code == 409 or (r.status_code == 201 and r["Idempotent-Replayed"] == "true") for r in others), [
        (r.status_code, r.content) for r in others
    ]
    assert Center.objects.filter(organization=org).count() == 1


def test_housekeeping_command_purges_old_records(org, admin):
    from io import StringIO

    from django.core.management import call_command

    old = IdempotencyRecord.objects.create(
        organization=org, user=admin, key="old", method="POST", path="/api/v1/centers/", fingerprint="x"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))
    IdempotencyRecord.objects.create(
        organization=org, user=admin, key="new", method="POST", path="/api/v1/centers/", fingerprint="y"
    )
    out = StringIO()

    call_command("housekeeping", stdout=out)

    assert "purged: 1" in out.getvalue()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
