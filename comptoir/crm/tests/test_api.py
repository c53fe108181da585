"""CRM REST API: companies (create with a main contact, filters, conversion, archiving, status, deletion
rules), contacts (members) and job functions."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory, StaffFactory
from comptoir.core.tests.test_api import error_of
from comptoir.crm import services
from comptoir.crm.models import Company, Contact, JobFunction
from comptoir.crm.tests.factories import NoteFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
SIRET = "73282932000074"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_api(admin, api_client):
    return api_client(admin)


def _company(org, admin, **data):
    return services.create_company(organization=org, by=admin, data={"name": "Atelier Dupont", **data})


# --------------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------------
def test_create_a_prospect_with_its_main_contact(org, admin, admin_api, center):
    response = admin_api.post(
        f"{API}/companies/",
        {
            "name": "Atelier Dupont",
            "siret": "732 829 320 00074",
            "phone": "06 12 34 56 78",
            "center": center.pk,
            "invoice_delivery_methods": ["email_pdf"],
            "main_contact": {"first_name": "Jeanne", "last_name": "Dupont", "email": "Jeanne@Dupont.test"},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "PR-000001" and body["kind"] == "prospect" and body["status"] == "prospect"
    assert body["siret"] == SIRET and body["center"] == center.pk
    assert body["invoice_delivery_methods"] == ["email_pdf"]
    member = Contact.objects.get(company_id=body["id"])
    assert member.is_main and member.company_role == "administrator" and member.email == "jeanne@dupont.test"
    assert AuditEntry.objects.filter(action="company.created", object_id=str(body["id"])).exists()


def test_create_a_client_directly(admin_api):
    response = admin_api.post(f"{API}/companies/", {"name": "Client direct", "kind": "client"}, format="json")

    assert response.status_code == 201
    assert response.json()["reference"] == "CL-000001" and response.json()["status"] == "active"


@pytest.mark.parametrize(
    ("field", "value"),
    [("siret", "12345678901234"), ("vat_number", "FR00123"), ("email", "pas-un-email"), ("phone", "12"), ("name", "")],
)
def test_invalid_company_fields_are_refused_at_their_field(org, admin_api, field, value):
    response = admin_api.post(f"{API}/companies/", {"name": "X", field: value}, format="json")

    error = error_of(response, 400, "invalid")
    assert field in error["fields"]
    assert not Company.objects.filter(organization=org).exists()


def test_duplicate_siret_is_a_400_at_the_field(org, admin, admin_api):
    _company(org, admin, siret=SIRET)

    error = error_of(admin_api.post(f"{API}/companies/", {"name": "B", "siret": SIRET}, format="json"), 400)

    assert error["code"] == "duplicate_siret" and "siret" in error["fields"]
    assert Company.objects.filter(organization=org).count() == 1


def test_main_contact_errors_come_back_under_its_path_and_nothing_is_created(org, admin_api):
    response = admin_api.post(
        f"{API}/companies/", {"name": "A", "main_contact": {"last_name": "", "email": "x"}}, format="json"
    )

    error = error_of(response, 400, "invalid")
    assert "main_contact.last_name" in error["fields"] and "main_contact.email" in error["fields"]
    assert not Company.objects.filter(organization=org).exists()


def test_another_organizations_center_is_unknown(org, admin_api, other_center):
    error = error_of(admin_api.post(f"{API}/companies/", {"name": "A", "center": other_center.pk}, format="json"), 400)

    assert "center" in error["fields"]


def test_list_filters(org, admin, admin_api, center):
    prospect = _company(org, admin, name="Atelier Dupont", phone="06 12 34 56 78", center=center)
    client = services.convert_to_client(company=_company(org, admin, name="Boulangerie Martin"), by=admin)
    archived = services.archive_company(company=_company(org, admin, name="Ancienne SARL"), by=admin)

    def names(query: str) -> list[str]:
        response = admin_api.get(f"{API}/companies/?{query}")
        assert response.status_code == 200, response.content
        return sorted(item["name"] for item in response.json()["results"])

    assert names("kind=client") == [client.name]
    assert names("status=prospect") == sorted([prospect.name, archived.name])
    assert names(f"center={center.pk}") == [prospect.name]
    assert names("archived=true") == [archived.name]
    assert names("archived=false") == sorted([prospect.name, client.name])
    assert names("search=dupont") == [prospect.name]
    assert names("search=06 12 34") == [prospect.name]
    assert names(f"search={client.reference}") == [client.name]


def test_patch_and_put_change_the_details(org, admin, admin_api):
    company = _company(org, admin)

    response = admin_api.patch(f"{API}/companies/{company.pk}/", {"sector": "Conseil"}, format="json")
    assert response.status_code == 200 and response.json()["sector"] == "Conseil"

    response = admin_api.put(f"{API}/companies/{company.pk}/", {"name": "Atelier Dupont & fils"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Atelier Dupont & fils"


def test_kind_and_unknown_fields_cannot_be_patched(org, admin, admin_api):
    company = _company(org, admin)

    error = error_of(admin_api.patch(f"{API}/companies/{company.pk}/", {"kind": "client"}, format="json"), 400)

    assert "kind" in error["fields"]
    company.refresh_from_db()
    assert company.kind == "prospect"


def test_convert_then_convert_again_is_already_client(org, admin, admin_api):
    company = _company(org, admin)

    response = admin_api.post(f"{API}/companies/{company.pk}/convert/", {}, format="json")
    assert response.status_code == 200 and response.json()["reference"] == "CL-000001"

    error_of(admin_api.post(f"{API}/companies/{company.pk}/convert/", {}, format="json"), 400, "already_client")
    assert AuditEntry.objects.filter(action="company.converted").count() == 1


def test_archive_unarchive_and_status(org, admin, admin_api):
    company = _company(org, admin)

    error_of(admin_api.post(f"{API}/companies/{company.pk}/status/", {"status": "suspended"}, format="json"), 400)
    assert admin_api.post(f"{API}/companies/{company.pk}/convert/", {}, format="json").status_code == 200
    response = admin_api.post(f"{API}/companies/{company.pk}/status/", {"status": "suspended"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    error_of(admin_api.post(f"{API}/companies/{company.pk}/status/", {"status": "prospect"}, format="json"), 400)

    response = admin_api.post(f"{API}/companies/{company.pk}/archive/")
    assert response.status_code == 200 and response.json()["is_archived"] is True
    response = admin_api.post(f"{API}/companies/{company.pk}/unarchive/")
    assert response.status_code == 200 and response.json()["is_archived"] is False


def test_delete_a_company_without_history(org, admin, admin_api):
    company = _company(org, admin)

    assert admin_api.delete(f"{API}/companies/{company.pk}/").status_code == 204
    assert not Company.objects.filter(pk=company.pk).exists()


def test_delete_a_company_with_history_is_refused_with_the_reason(org, admin, admin_api):
    company = _company(org, admin)
    OpportunityFactory(company=company)

    error = error_of(admin_api.delete(f"{API}/companies/{company.pk}/"), 400, "has_history")

    assert "opportunités" in error["message"]
    assert Company.objects.filter(pk=company.pk).exists()


def test_create_is_idempotent(org, admin_api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "company-1"}
    first = admin_api.post(f"{API}/companies/", {"name": "Une fois"}, format="json", **headers)
    second = admin_api.post(f"{API}/companies/", {"name": "Une fois"}, format="json", **headers)

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert Company.objects.filter(organization=org).count() == 1


def test_staff_limited_to_a_center_see_its_companies_and_those_without_center(org, admin, api_client, center):
    elsewhere = CenterFactory(organization=org, code="ailleurs")
    mine = _company(org, admin, name="Chez moi", center=center)
    _company(org, admin, name="Ailleurs", center=elsewhere)
    floating = _company(org, admin, name="Sans centre")
    limited = StaffFactory(organization=org, kind="manager")
    limited.centers.set([center])

    response = api_client(limited.user).get(f"{API}/companies/")

    assert sorted(item["id"] for item in response.json()["results"]) == sorted([mine.pk, floating.pk])


# --------------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------------
def test_add_patch_activate_and_delete_a_member(org, admin, admin_api, mailoutbox):
    company = _company(org, admin)
    function = JobFunction.objects.create(organization=org, name="Facturation")

    response = admin_api.post(
        f"{API}/contacts/",
        {"company": company.pk, "last_name": "Martin", "email": "paul@martin.test", "job_function": function.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    contact_id = response.json()["id"]
    assert response.json()["is_main"] is True  # the company's first member

    response = admin_api.patch(f"{API}/contacts/{contact_id}/", {"company_role": "manager"}, format="json")
    assert response.status_code == 200 and response.json()["company_role"] == "manager"

    listed = admin_api.get(f"{API}/contacts/?company={company.pk}").json()["results"]
    assert [item["id"] for item in listed] == [contact_id]

    response = admin_api.post(f"{API}/contacts/{contact_id}/activate/")
    assert response.status_code == 200 and response.json()["has_account"] is True
    error_of(admin_api.delete(f"{API}/contacts/{contact_id}/"), 400, "has_account")


def test_delete_a_member_without_account(org, admin, admin_api):
    company = _company(org, admin)
    contact = services.add_contact(company=company, by=admin, data={"last_name": "Martin"})

    assert admin_api.delete(f"{API}/contacts/{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_a_member_of_another_organizations_company_cannot_be_added(org, admin_api, other_org, other_admin):
    foreign = services.create_company(organization=other_org, by=other_admin, data={"name": "Ailleurs"})

    error = error_of(admin_api.post(f"{API}/contacts/", {"company": foreign.pk, "last_name": "X"}, format="json"), 400)

    assert "company" in error["fields"]
    assert not Contact.objects.filter(company=foreign).exists()


def test_activation_needs_an_email(org, admin, admin_api):
    contact = services.add_contact(company=_company(org, admin), by=admin, data={"last_name": "Sans mail"})

    error = error_of(admin_api.post(f"{API}/contacts/{contact.pk}/activate/"), 400, "email_required")

    assert "email" in error["fields"]


# --------------------------------------------------------------------------------------------------
# Job functions
# --------------------------------------------------------------------------------------------------
def test_job_functions_create_rename_and_refuse_duplicates(org, admin_api):
    response = admin_api.post(f"{API}/job-functions/", {"name": "Juridique", "position": 9}, format="json")
    assert response.status_code == 201 and response.json()["position"] == 9
    function_id = response.json()["id"]

    error_of(admin_api.post(f"{API}/job-functions/", {"name": "juridique"}, format="json"), 400, "duplicate")
    response = admin_api.patch(f"{API}/job-functions/{function_id}/", {"name": "Juridique et RH"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Juridique et RH"


# --------------------------------------------------------------------------------------------------
# Notes are internal: the API is for staff tokens only
# --------------------------------------------------------------------------------------------------
def test_a_portal_user_gets_no_token_and_nothing_from_the_crm_api(org, admin):
    from rest_framework.test import APIClient

    from comptoir.core import services as core_services
    from comptoir.core.errors import ValidationFailed
    from comptoir.core.models import ApiToken

    company = _company(org, admin)
    NoteFactory(company=company, body="Secret interne")
    contact = services.add_contact(company=company, by=admin, data={"last_name": "Client", "email": "c@client.test"})
    contact = services.activate_contact_account(contact=contact, by=admin)

    with pytest.raises(ValidationFailed):  # tokens are for staff only
        core_services.create_api_token(organization=org, user=contact.user, by=None, name="x")
    # even a token row forged in the database for the portal user is refused
    raw = "cpt_0badc0de_" + "x" * 43
    ApiToken.objects.create(
        organization=org, user=contact.user, name="forgé", prefix="0badc0de", key_hash=core_services.hash_token(raw)
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    for path in ("companies", "contacts", "job-functions", f"companies/{company.pk}"):
        response = api.get(f"{API}/{path}/")
        assert response.status_code == 401, (path, response.content)
        assert b"Secret interne" not in response.content
