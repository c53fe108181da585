"""CRM REST API: opportunities (move between stages), activities (complete), internal notes, actions
(complete, reopen) and marketing sources (statistics)."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from comptoir.core.models import AuditEntry
from comptoir.core.tests.test_api import error_of
from comptoir.crm import services
from comptoir.crm.models import Action, Activity, MarketingSource, Note, Opportunity

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org, admin):
    return services.create_company(organization=org, by=admin, data={"name": "Atelier Dupont"})


@pytest.fixture
def admin_api(admin, api_client):
    return api_client(admin)


def test_opportunity_create_move_and_lost_reason(admin_api, company):
    response = admin_api.post(
        f"{API}/opportunities/",
        {"company": company.pk, "title": "Bureau 4 postes", "estimated_amount": "1800.00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stage"] == "lead" and body["probability"] == 10 and body["estimated_amount"] == "1800.00"

    moved = admin_api.post(f"{API}/opportunities/{body['id']}/move/", {"stage": "quote_sent"}, format="json")
    assert moved.status_code == 200 and moved.json()["stage"] == "quote_sent" and moved.json()["probability"] == 40
    assert AuditEntry.objects.filter(object_id=str(body["id"]), action__startswith="opportunity.").count() >= 2

    error = error_of(admin_api.post(f"{API}/opportunities/{body['id']}/move/", {"stage": "lost"}, format="json"), 400)
    assert "lost_reason" in error["fields"]
    lost = admin_api.post(
        f"{API}/opportunities/{body['id']}/move/", {"stage": "lost", "lost_reason": "Trop cher"}, format="json"
    )
    assert lost.status_code == 200 and lost.json()["is_open"] is False

    listed = admin_api.get(f"{API}/opportunities/?stage=lost&company={company.pk}").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]


def test_activity_plan_complete_twice_and_delete(admin, admin_api, company):
    when = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = admin_api.post(
        f"{API}/activities/", {"company": company.pk, "kind": "visit", "scheduled_at": when}, format="json"
    )
    assert response.status_code == 201, response.content
    activity_id = response.json()["id"]
    assert response.json()["staff"] == admin.pk and response.json()["status"] == "planned"

    done = admin_api.post(f"{API}/activities/{activity_id}/complete/", {"notes": "Visite faite"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["notes"] == "Visite faite"
    error_of(admin_api.post(f"{API}/activities/{activity_id}/complete/", {}, format="json"), 400, "already_done")

    assert admin_api.delete(f"{API}/activities/{activity_id}/").status_code == 204
    assert not Activity.objects.filter(pk=activity_id).exists()


def test_notes_are_staff_only_and_follow_the_rights(org, admin, admin_api, company, staff_of, api_client):
    response = admin_api.post(f"{API}/notes/", {"company": company.pk, "body": "Sensible au prix"}, format="json")
    assert response.status_code == 201 and response.json()["author"] == admin.pk
    note_id = response.json()["id"]

    assert admin_api.patch(f"{API}/notes/{note_id}/", {"is_pinned": True}, format="json").json()["is_pinned"] is True
    # a technician (no crm.view_note) gets 403, and never the note's text
    response = api_client(staff_of("technician")).get(f"{API}/notes/")
    assert response.status_code == 403 and b"Sensible" not in response.content

    assert admin_api.delete(f"{API}/notes/{note_id}/").status_code == 204
    assert not Note.objects.filter(pk=note_id).exists()


def test_actions_create_complete_reopen(admin, admin_api, company):
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = admin_api.post(
        f"{API}/actions/",
        {"company": company.pk, "title": "Rappeler", "due_date": due, "assignee": admin.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    action_id = response.json()["id"]

    assert admin_api.post(f"{API}/actions/{action_id}/complete/").json()["is_done"] is True
    assert admin_api.get(f"{API}/actions/?is_done=true").json()["results"][0]["id"] == action_id
    assert admin_api.post(f"{API}/actions/{action_id}/reopen/").json()["is_done"] is False
    assert admin_api.delete(f"{API}/actions/{action_id}/").status_code == 204
    assert not Action.objects.filter(pk=action_id).exists()


def test_an_action_needs_a_staff_assignee(admin_api, other_admin):
    due = timezone.localdate().isoformat()
    error = error_of(
        admin_api.post(f"{API}/actions/", {"title": "X", "due_date": due, "assignee": other_admin.pk}, format="json"),
        400,
    )
    assert "assignee" in error["fields"]


def test_marketing_sources_and_their_statistics(org, admin, admin_api):
    response = admin_api.post(
        f"{API}/marketing-sources/", {"name": "Salon", "channel": "trade_show", "cost": "300.00"}, format="json"
    )
    assert response.status_code == 201, response.content
    source_id = response.json()["id"]
    source = MarketingSource.objects.get(pk=source_id)
    company = services.create_company(organization=org, by=admin, data={"name": "Lead", "marketing_source": source})
    opportunity = services.create_opportunity(
        company=company, by=admin, data={"title": "Bureau", "marketing_source": source}
    )
    services.move_opportunity(opportunity=opportunity, by=admin, stage=Opportunity.Stage.WON)

    today = timezone.localdate()
    response = admin_api.get(f"{API}/marketing-sources/stats/?start={today.replace(day=1)}&end={today}")

    assert response.status_code == 200, response.content
    (row,) = response.json()
    assert row["source"] == source_id and row["name"] == "Salon" and row["won"] == 1 and row["leads"] >= 1
    error_of(admin_api.get(f"{API}/marketing-sources/stats/?start={today}&end=2000-01-01"), 400)
    error_of(admin_api.get(f"{API}/marketing-sources/stats/"), 400)
