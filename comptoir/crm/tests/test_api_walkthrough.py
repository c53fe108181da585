"""frontmanager §1-4 and §18 through the API alone, as an integrator would follow them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from comptoir.core.models import AuditEntry
from comptoir.crm.models import Company

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def ok(response, status=200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    return response.json()


def test_the_frontmanager_walkthrough_through_the_api(org, admin, api_client, center, mailoutbox):
    api = api_client(admin)

    # §18: a marketing source
    source = ok(api.post(f"{API}/marketing-sources/", {"name": "Salon Bureaux & Co", "channel": "trade_show",
                                                         "cost": "1200.00", "cost_period": "one_off"}, format="json"), 201)  # fmt: skip
    # §1: the company, with its main contact, who becomes its first member
    company = ok(
        api.post(
            f"{API}/companies/",
            {
                "name": "Atelier Lumière",
                "center": center.pk,
                "marketing_source": source["id"],
                "main_contact": {"first_name": "Jeanne", "last_name": "Dupont", "email": "jeanne@lumiere.test"},
            },
            format="json",
        ),
        201,
    )
    assert company["reference"] == "PR-000001"
    members = ok(api.get(f"{API}/contacts/?company={company['id']}"))["results"]
    assert [(m["email"], m["company_role"], m["is_main"]) for m in members] == [
        ("jeanne@lumiere.test", "administrator", True)
    ]

    # §2: a new member with a role, then "Activer le compte"
    member = ok(api.post(f"{API}/contacts/", {"company": company["id"], "first_name": "Paul", "last_name": "Martin",
                                               "email": "paul@lumiere.test", "company_role": "manager"}, format="json"), 201)  # fmt: skip
    ok(api.post(f"{API}/contacts/{member['id']}/activate/", format="json"))
    assert (
        any("paul@lumiere.test" in message.to for message in mailoutbox)
        or AuditEntry.objects.filter(action="contact.account_activated").exists()
    )

    # §3: an opportunity, moved through the sales cycle
    opportunity = ok(api.post(f"{API}/opportunities/", {"company": company["id"], "title": "Bureau 4 postes",
                                                         "estimated_amount": "1800.00", "marketing_source": source["id"]},
                              format="json"), 201)  # fmt: skip
    for stage in ["qualified", "visit_planned", "quote_sent", "contract_sent"]:
        moved = ok(api.post(f"{API}/opportunities/{opportunity['id']}/move/", {"stage": stage}, format="json"))
        assert moved["stage"] == stage

    # §4: an activity on the opportunity, then done
    activity = ok(api.post(f"{API}/activities/", {"company": company["id"], "opportunity": opportunity["id"],
                                                   "kind": "visit", "scheduled_at": timezone.now().isoformat(),
                                                   "staff": admin.pk}, format="json"), 201)  # fmt: skip
    ok(api.post(f"{API}/activities/{activity['id']}/complete/", {"notes": "Visite du 3e étage."}, format="json"))

    # signed: the opportunity is won, the prospect converted into a client (same number)
    ok(api.post(f"{API}/opportunities/{opportunity['id']}/move/", {"stage": "won"}, format="json"))
    converted = ok(api.post(f"{API}/companies/{company['id']}/convert/", format="json"))
    assert converted["reference"] == "CL-000001"
    assert Company.objects.get(pk=company["id"]).kind == "client"

    # §18: the source's statistics show the lead and the win
    today = timezone.localdate()
    (row,) = ok(api.get(f"{API}/marketing-sources/stats/?start={today.replace(day=1)}&end={today}"))
    assert row["name"] == "Salon Bureaux & Co" and row["won"] == 1 and row["leads"] >= 1

    # the company's timeline recorded every step
    actions = set(AuditEntry.objects.for_object(Company.objects.get(pk=company["id"])).values_list("action", flat=True))
    assert {"company.created", "company.member_added", "company.converted"} <= actions
