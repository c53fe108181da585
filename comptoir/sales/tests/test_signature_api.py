"""API: an integrator drives the e-signature for the signer (start, accept terms, send code, confirm,
read the evidence); rights, eligibility, 429 with Retry-After, the error envelope, tenancy."""

from __future__ import annotations

import pytest

from comptoir.core.testing import tenancy_walk_test
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.sales.models import Contract, Signature
from comptoir.sales.tests.test_signature_service import awaiting_contract, last_code, signer_of, wrong

test_other_organizations_objects_answer_404 = tenancy_walk_test(namespaces=[], api_prefixes=["signatures"])

UA = {"HTTP_USER_AGENT": "Integrator/2.0", "REMOTE_ADDR": "198.51.100.4"}


@pytest.fixture
def contract(org):  # type: ignore[no-untyped-def]
    return awaiting_contract(org)


@pytest.fixture
def signer(contract):  # type: ignore[no-untyped-def]
    return signer_of(contract.company)


def test_the_whole_signature_through_the_api(api_client, admin, contract, signer):
    api = api_client(admin)
    started = api.post("/api/v1/signatures/", {"contract": contract.pk, "signer": signer.pk}, format="json", **UA)
    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["status"] == "pending" and body["document_sha256"] == contract.document_sha256
    assert [event["kind"] for event in body["events"]] == ["viewed"]
    assert body["events"][0]["ip_address"] == "198.51.100.4"
    url = f"/api/v1/signatures/{body['id']}/"

    too_early = api.post(url + "send-code/", **UA)
    assert too_early.status_code == 400 and too_early.json()["error"]["code"] == "terms_not_accepted"
    assert api.post(url + "accept-terms/", **UA).json()["terms_version"] == contract.terms.version
    sent = api.post(url + "send-code/", **UA)
    assert sent.status_code == 200 and sent.json()["code_sent"] is True
    assert sent.json()["phone"].endswith("78") and "12 34 56" not in sent.json()["phone"]

    again = api.post(url + "send-code/", **UA)
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "too_many_codes"
    assert 0 < int(again["Retry-After"]) <= 60

    code = last_code()
    bad = api.post(url + "confirm/", {"code": wrong(code)}, format="json", **UA)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "wrong_code" and "code" in bad.json()["error"]["fields"]

    done = api.post(url + "confirm/", {"code": code}, format="json", **UA)
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "signed" and done.json()["contract_status"] == "signed"
    assert done.json()["user_agent"] == "Integrator/2.0"
    contract.refresh_from_db()
    assert done.json()["signed_document_sha256"] == contract.signed_document_sha256 != ""

    replay = api.post(url + "confirm/", {"code": code}, format="json")
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "already_signed"
    evidence = api.get(url).json()
    assert [event["kind"] for event in evidence["events"]] == [
        "viewed", "terms_accepted", "code_sent", "code_failed", "signed",
    ]  # fmt: skip
    assert "code_hash" not in evidence


def test_a_manager_contact_is_not_an_eligible_signer(api_client, admin, contract):
    manager = signer_of(contract.company, role=Contact.CompanyRole.MANAGER)
    response = api_client(admin).post(
        "/api/v1/signatures/", {"contract": contract.pk, "signer": manager.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Signature.objects.exists()


def test_a_signer_of_another_company_is_refused(api_client, admin, org, contract):
    stranger = signer_of(CompanyFactory(organization=org))
    response = api_client(admin).post(
        "/api/v1/signatures/", {"contract": contract.pk, "signer": stranger.pk}, format="json"
    )
    assert response.status_code == 404


def test_bad_input_answers_400_never_500(api_client, admin, contract, signer):
    api = api_client(admin)
    for payload in ({}, {"contract": "x", "signer": signer.pk}, {"contract": contract.pk, "signer": 10**9}):
        response = api.post("/api/v1/signatures/", payload, format="json")
        assert response.status_code == 400, payload
        assert "error" in response.json()
    signature = api.post("/api/v1/signatures/", {"contract": contract.pk, "signer": signer.pk}, format="json").json()
    for code in ({}, {"code": ""}, {"code": "abc"}, {"code": 12}):
        response = api.post(f"/api/v1/signatures/{signature['id']}/confirm/", code, format="json")
        assert response.status_code == 400, code


def test_rights_read_needs_view_and_steps_need_change(api_client, staff_of, contract, signer):
    reception = api_client(staff_of("reception"))  # sales.view_contract only
    response = reception.post("/api/v1/signatures/", {"contract": contract.pk, "signer": signer.pk}, format="json")
    assert response.status_code == 403
    assert reception.get("/api/v1/signatures/").status_code == 200


def test_a_signed_contract_cannot_be_started_again(api_client, admin, contract, signer):
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.SIGNED)
    response = api_client(admin).post(
        "/api/v1/signatures/", {"contract": contract.pk, "signer": signer.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "already_signed"


def test_wrong_codes_sent_with_idempotency_keys_still_count_and_lock(api_client, admin, contract, signer):
    api = api_client(admin)
    signature = api.post("/api/v1/signatures/", {"contract": contract.pk, "signer": signer.pk}, format="json").json()
    url = f"/api/v1/signatures/{signature['id']}/"
    api.post(url + "accept-terms/")
    api.post(url + "send-code/")
    code = last_code()
    for attempt in range(5):
        response = api.post(
            url + "confirm/", {"code": wrong(code)}, format="json", HTTP_IDEMPOTENCY_KEY=f"try-{attempt}"
        )
        assert response.status_code == 400
    assert response.json()["error"]["code"] == "locked"
    assert Signature.objects.get(pk=signature["id"]).status == Signature.Status.LOCKED
    final = api.post(url + "confirm/", {"code": code}, format="json", HTTP_IDEMPOTENCY_KEY="try-right")
    assert final.status_code == 400 and final.json()["error"]["code"] == "locked"
