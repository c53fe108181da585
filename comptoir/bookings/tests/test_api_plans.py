"""API of plans (/api/v1/plans/) and credits (/api/v1/credits/): assign a plan (its first credits granted), end it,
the balance and the ledger of a company or a member, credits given by hand; refusals are 4xx JSON and change
nothing; rights (403) and tenancy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from comptoir.bookings.models import CreditEntry, PlanAssignment
from comptoir.bookings.tests.factories import PackFactory, PlanFactory
from comptoir.core.tests.test_api import error_of
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
PLANS = "/api/v1/plans"
CREDITS = "/api/v1/credits"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, kind="client", name="Lumière SAS")


def test_assign_a_plan_grants_its_credits_and_the_balance_shows_them(org, admin, api_client, company):  # type: ignore[no-untyped-def]
    plan = PlanFactory(organization=org, name="Abonnement 10 h", credits=Decimal(10))
    api = api_client(admin)

    response = api.post(f"{PLANS}/", {"company": company.pk, "plan": plan.pk}, format="json",
                        HTTP_IDEMPOTENCY_KEY="plan-1")  # fmt: skip
    again = api.post(f"{PLANS}/", {"company": company.pk, "plan": plan.pk}, format="json",
                     HTTP_IDEMPOTENCY_KEY="plan-1")  # fmt: skip

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["company"], data["plan_name"], data["plan_type"], data["credits"], data["status"]) == (
        company.pk, "Abonnement 10 h", "subscription", "10.00", "active")  # fmt: skip
    assert again.json()["id"] == data["id"] and PlanAssignment.objects.count() == 1
    balance = api.get(f"{CREDITS}/?company={company.pk}").json()
    assert balance["balance"] == "10.00"
    assert [(row["kind"], row["amount"]) for row in balance["entries"]] == [("grant", "10.00")]
    assert balance["grants"][0]["remaining"] == "10.00" and balance["entries_truncated"] is False


def test_end_a_plan(org, admin, api_client, company):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    plan_id = api.post(f"{PLANS}/", {"company": company.pk, "plan": PlanFactory(organization=org).pk},
                       format="json").json()["id"]  # fmt: skip

    response = api.post(f"{PLANS}/{plan_id}/end/", {}, format="json")

    assert (response.json()["status"], response.json()["ends_on"]) == ("ended", timezone.localdate().isoformat())
    error_of(api.post(f"{PLANS}/{plan_id}/end/", {}, format="json"), 400, "not_active")
    assert [row["id"] for row in api.get(f"{PLANS}/?status=ended").json()["results"]] == [plan_id]
    assert api.get(f"{PLANS}/?company={company.pk}&status=active").json()["results"] == []


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"plan": "product"}, "plan", "invalid"),  # not a plan
        ({"starts_on": "2026-02-30"}, "starts_on", "invalid"),
        ({"starts_on": "2026-11-01", "ends_on": "2026-10-01"}, "ends_on", "ends_before_start"),
        ({"contact": "other"}, "contact", "wrong_contact"),
    ],
)
def test_bad_assignments_are_400_and_change_nothing(org, admin, api_client, company, change, field, code):  # type: ignore[no-untyped-def]
    from comptoir.catalog.tests.factories import ProductFactory

    values = {"company": company.pk, "plan": PackFactory(organization=org).pk}
    for key, value in change.items():
        if value == "product":
            value = ProductFactory(organization=org).pk
        elif value == "other":
            value = ContactFactory(company=CompanyFactory(organization=org)).pk
        values[key] = value

    error = error_of(api_client(admin).post(f"{PLANS}/", values, format="json"), 400, code)

    assert field in error["fields"]
    assert not PlanAssignment.objects.exists() and not CreditEntry.objects.exists()


def test_a_gesture_grants_credits_to_a_member(org, admin, api_client, company):  # type: ignore[no-untyped-def]
    member = ContactFactory(company=company)
    api = api_client(admin)

    response = api.post(f"{CREDITS}/", {"company": company.pk, "contact": member.pk, "amount": "3.50", "days": 30,
                                        "note": "Geste commercial"}, format="json")  # fmt: skip

    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["amount"], response.json()["contact"]) == (
        "grant", "3.50", member.pk)  # fmt: skip
    assert api.get(f"{CREDITS}/?company={company.pk}&contact={member.pk}").json()["balance"] == "3.50"
    assert api.get(f"{CREDITS}/?company={company.pk}").json()["balance"] == "0.00"  # the member's own


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "1e400"}, "amount"),
        ({"amount": "2", "days": 0}, "days"),
        ({"amount": "2", "contact": "other"}, "contact"),
    ],
)
def test_bad_gestures_are_400(org, admin, api_client, company, payload, field):  # type: ignore[no-untyped-def]
    if payload.get("contact") == "other":
        payload = {**payload, "contact": ContactFactory(company=CompanyFactory(organization=org)).pk}

    error = error_of(api_client(admin).post(f"{CREDITS}/", {"company": company.pk, **payload}, format="json"), 400)

    assert field in error["fields"]
    assert not CreditEntry.objects.exists()


@pytest.mark.parametrize("query", ["", "company=x", "company=99999999999999999999", "company={c}&day=2026-02-30",
                                   "company={c}&contact={other}"])  # fmt: skip
def test_bad_credit_queries_are_400(org, admin, api_client, company, query):  # type: ignore[no-untyped-def]
    other = ContactFactory(company=CompanyFactory(organization=org))
    error_of(api_client(admin).get(f"{CREDITS}/?" + query.format(c=company.pk, other=other.pk)), 400, "invalid")


def test_rights(org, staff_of, api_client, company):  # type: ignore[no-untyped-def]
    reception = api_client(staff_of("reception"))

    assert reception.get(f"{CREDITS}/?company={company.pk}").status_code == 200
    error_of(reception.post(f"{CREDITS}/", {"company": company.pk, "amount": "2"}, format="json"), 403, "forbidden")
    error_of(reception.post(f"{PLANS}/", {"company": company.pk, "plan": PackFactory(organization=org).pk},
                            format="json"), 403, "forbidden")  # fmt: skip


def test_another_organizations_company_is_unknown(other_org, admin, api_client):  # type: ignore[no-untyped-def]
    foreign = CompanyFactory(organization=other_org)

    error = error_of(api_client(admin).get(f"{CREDITS}/?company={foreign.pk}"), 400, "invalid")

    assert "company" in error["fields"]
