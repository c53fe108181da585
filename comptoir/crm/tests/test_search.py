"""Global search: companies and contacts by name, e-mail, phone fragment, reference; tenancy, rights,
the SQLite FTS triggers, the API and the header's drop-down. Runs on SQLite (FTS5) and PostgreSQL (pg_trgm)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.core import search as global_search
from comptoir.core import services as core_services
from comptoir.core.tests.factories import CenterFactory, StaffFactory
from comptoir.crm import services
from comptoir.crm.models import Company, Contact
from comptoir.crm.search import search_crm
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dupont(org, admin):
    company = services.create_company(
        organization=org,
        by=admin,
        data={"name": "Société Atelier Dupont", "phone": "01 45 67 89 10", "email": "bonjour@atelier-dupont.test"},
        main_contact={
            "first_name": "Jeanne",
            "last_name": "Dupont",
            "email": "jeanne.dupont@atelier-dupont.test",
            "mobile": "+33 6 12 34 56 78",
        },
    )
    return company


def labels(hits):
    return [hit["label"] for hit in hits]


def test_a_contact_is_found_by_a_phone_fragment_in_any_formatting(org, admin, dupont):
    for query in ("12 34", "1234", "06 12", "0612", "+33 6 12", "06.12.34"):
        found = search_crm(user=admin, organization=org, query=query)
        assert labels(found["contact"]) == ["Jeanne Dupont"], query


def test_a_company_is_found_by_its_phone_its_name_and_its_email_case_insensitively(org, admin, dupont):
    assert labels(search_crm(user=admin, organization=org, query="45 67")["company"]) == ["Société Atelier Dupont"]
    assert labels(search_crm(user=admin, organization=org, query="ATELIER")["company"]) == ["Société Atelier Dupont"]
    assert labels(search_crm(user=admin, organization=org, query="société")["company"]) == ["Société Atelier Dupont"]
    assert labels(search_crm(user=admin, organization=org, query="bonjour@")["company"]) == ["Société Atelier Dupont"]
    # accents must match (documented): no unaccent index
    assert search_crm(user=admin, organization=org, query="societe atelier")["company"] == []


def test_a_contact_is_found_by_full_name_and_email_fragment(org, admin, dupont):
    assert labels(search_crm(user=admin, organization=org, query="jeanne dup")["contact"]) == ["Jeanne Dupont"]
    assert labels(search_crm(user=admin, organization=org, query="e.dupont@ate")["contact"]) == ["Jeanne Dupont"]
    hit = search_crm(user=admin, organization=org, query="dupont")["contact"][0]
    assert hit["sublabel"] == "Société Atelier Dupont · jeanne.dupont@atelier-dupont.test"
    assert hit["reference"] == dupont.reference


def test_a_reference_finds_the_company_also_after_conversion(org, admin):
    for _ in range(41):
        CompanyFactory(organization=org, number=Company.objects.filter(organization=org).count() + 1000)
    company = services.create_company(organization=org, by=admin, data={"name": "Cabinet Martin"})
    company.number = 42
    company.save(update_fields=["number"])
    assert labels(search_crm(user=admin, organization=org, query="PR-000042")["company"]) == ["Cabinet Martin"]

    services.convert_to_client(company=company, by=admin)

    for query in ("CL-000042", "cl-42", "CL 000042", "000042", "PR-000042"):
        hits = search_crm(user=admin, organization=org, query=query)["company"]
        assert hits[0]["label"] == "Cabinet Martin" and hits[0]["reference"] == "CL-000042", query


def test_another_organizations_rows_are_never_found(org, admin, other_org, other_admin, dupont):
    twin = services.create_company(
        organization=other_org, by=other_admin, data={"name": "Société Atelier Dupont", "phone": "01 45 67 89 10"},
        main_contact={"first_name": "Jeanne", "last_name": "Dupont", "mobile": "06 12 34 56 78"},
    )  # fmt: skip

    for query in ("atelier", "12 34", "45 67", "jeanne", twin.reference):
        found = search_crm(user=admin, organization=org, query=query)
        assert {hit["reference"] for hit in found["company"] + found["contact"]} <= {dupont.reference}, query
        theirs = search_crm(user=other_admin, organization=other_org, query=query)
        assert {hit["reference"] for hit in theirs["company"] + theirs["contact"]} <= {twin.reference}, query
    # staff of the other organization asking about this one sees nothing
    assert search_crm(user=other_admin, organization=org, query="atelier") == {"company": [], "contact": []}


def test_rights_and_center_restrictions_are_respected(org, admin, dupont):
    paris, lyon = CenterFactory(organization=org), CenterFactory(organization=org)
    in_lyon = CompanyFactory(organization=org, name="Atelier Lyonnais", center=lyon, number=900)
    ContactFactory(company=in_lyon, first_name="Paul", last_name="Atelier")
    limited = StaffFactory(organization=org, kind="reception")
    limited.centers.set([paris])
    role = core_services.create_role(organization=org, by=admin, name="Sans CRM", permission_names=[])
    blind = StaffFactory(organization=org, kind="reception", role=role).user

    everything = search_crm(user=admin, organization=org, query="atelier")
    restricted = search_crm(user=limited.user, organization=org, query="atelier")

    assert labels(everything["company"]) == ["Atelier Lyonnais", "Société Atelier Dupont"]
    assert labels(restricted["company"]) == ["Société Atelier Dupont"]  # no center: every staff member sees it
    assert "Paul Atelier" in labels(everything["contact"]) and "Paul Atelier" not in labels(restricted["contact"])
    assert search_crm(user=blind, organization=org, query="atelier") == {"company": [], "contact": []}


def test_the_index_follows_updates_and_deletions(org, admin, dupont):
    contact = Contact.objects.get(company=dupont)
    contact.last_name, contact.mobile_digits = "Lefèvre", "0799887766"
    contact.save()

    assert search_crm(user=admin, organization=org, query="dupont j")["contact"] == []
    assert labels(search_crm(user=admin, organization=org, query="lefèvre")["contact"]) == ["Jeanne Lefèvre"]
    assert labels(search_crm(user=admin, organization=org, query="99 88")["contact"]) == ["Jeanne Lefèvre"]
    assert search_crm(user=admin, organization=org, query="12 34 56")["contact"] == []

    contact.delete()
    assert search_crm(user=admin, organization=org, query="lefèvre")["contact"] == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM crm_search WHERE crm_search MATCH '\"lefèvre\"'")
            assert cursor.fetchone()[0] == 0


def test_more_hits_than_the_limit_say_more_without_counting(org, admin):
    for index in range(12):
        CompanyFactory(organization=org, name=f"Coworking {index:02d}", number=100 + index)

    groups = global_search.search(user=admin, organization=org, query="cowork", limit_per_kind=8)

    assert [(group.kind, len(group.hits), group.count_label) for group in groups] == [("company", 8, "8+")]


def test_short_and_special_queries_are_safe(org, admin, dupont):
    assert global_search.search(user=admin, organization=org, query="a") == []
    assert labels(search_crm(user=admin, organization=org, query="at")["company"]) == ["Société Atelier Dupont"]
    for query in ("%", "_", "\\", '"', "'", "a\x00b", "%%%", "*", "NEAR(a b)", "x" * 500):
        search_crm(user=admin, organization=org, query=query)  # no error
    assert search_crm(user=admin, organization=org, query="%%%")["company"] == []


def test_the_query_count_does_not_grow_with_the_hits(org, admin):
    def queries(query: str) -> int:
        user = type(admin).objects.get(pk=admin.pk)  # no rights cached
        with CaptureQueriesContext(connection) as captured:
            global_search.search(user=user, organization=org, query=query)
        return len(captured)

    ContactFactory(company=CompanyFactory(organization=org, name="Bureau 1", number=1), last_name="Bureau")
    queries("bureau")  # warm the process-wide caches (content types, permissions)
    few = queries("bureau")
    for index in range(20):
        company = CompanyFactory(organization=org, name=f"Bureau {index + 2}", number=index + 2)
        ContactFactory(company=company, last_name=f"Bureau{index}")
    assert queries("bureau") == few == 5  # staff membership, centers; companies; contacts; their companies
    # (an administrator holds every right: no query for them)


def test_the_header_dropdown_and_the_results_page(org, admin, dupont, staff_client):
    client = staff_client(admin)

    dropdown = client.get(reverse("manage:search"), {"q": "12 34", "dropdown": "1"}, HTTP_HX_REQUEST="true")
    page = client.get(reverse("manage:search"), {"q": "dupont"})

    assert dropdown.status_code == 200 and "Jeanne Dupont" in dropdown.content.decode()
    assert "<html" not in dropdown.content.decode()
    assert page.status_code == 200 and "Société Atelier Dupont" in page.content.decode()
    assert 'hx-get="/manage/search/?dropdown=1"' in page.content.decode()  # the header's box


def test_the_results_page_needs_staff(org, client, dupont, other_admin, staff_client):
    assert client.get(reverse("manage:search"), {"q": "dupont"}).status_code == 302
    other = staff_client(other_admin, other_admin.staff_memberships.get().organization)
    assert "Dupont" not in other.get(reverse("manage:search"), {"q": "dupont"}).content.decode()


def test_the_api_serves_the_same_search(org, admin, dupont, api_client, staff_of):
    response = api_client(admin).get("/api/v1/search/", {"q": "+33 6 12"})

    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "+33 6 12"
    assert [(group["kind"], [hit["label"] for hit in group["results"]]) for group in body["groups"]] == [
        ("contact", ["Jeanne Dupont"])
    ]
    assert api_client(admin).get("/api/v1/search/", {"q": "x"}).json() == {"query": "x", "groups": []}
    assert api_client(staff_of("technician")).get("/api/v1/search/", {"q": "dupont"}).status_code == 200
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/search/", {"q": "dupont"}).status_code == 401


def test_sqlite_triggers_dropped_by_a_table_rebuild_are_recreated_after_migrate(org, admin, dupont):
    from comptoir.crm.search import repair_sqlite_index

    if connection.vendor != "sqlite":
        assert repair_sqlite_index(using="default") == []
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER crm_contact_search_update")
    Contact.objects.filter(company=dupont).update(last_name="Lefèvre")  # not indexed: no trigger

    assert repair_sqlite_index(using="default") == ["crm_contact_search_update"]
    assert labels(search_crm(user=admin, organization=org, query="lefèvre")["contact"]) == ["Jeanne Lefèvre"]
    assert repair_sqlite_index(using="default") == []
