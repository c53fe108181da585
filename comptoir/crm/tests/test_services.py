"""CRM services: companies, conversion, contacts, deletion rules, job functions."""

import pytest

from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.crm import capabilities, services
from comptoir.crm.models import Company, Contact, JobFunction
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

SIRET = "73282932000074"


def test_a_new_organization_gets_the_default_job_functions():
    from comptoir.core import services as core_services

    organization = core_services.create_organization(name="Acme", slug="acme-crm")

    assert list(JobFunction.objects.filter(organization=organization).values_list("name", flat=True)) == [
        "Direction", "Commercial", "Technique", "Administratif", "Facturation",
    ]  # fmt: skip


def test_create_prospect_numbers_it_and_makes_the_main_contact_its_first_member(org, admin):
    company = services.create_company(
        organization=org,
        by=admin,
        data={"name": "Atelier Dupont", "phone": "06 12 34 56 78"},
        main_contact={"first_name": "Jeanne", "last_name": "Dupont", "email": "Jeanne@Dupont.test"},
    )
    second = services.create_company(organization=org, by=admin, data={"name": "Studio B"})

    assert company.reference == "PR-000001" and second.reference == "PR-000002"
    assert company.status == "prospect" and company.phone_digits == "0612345678"
    member = company.contacts.get()
    assert member.is_main and member.company_role == "administrator" and member.email == "jeanne@dupont.test"
    assert AuditEntry.objects.for_object(company).filter(action="company.created").exists()


def test_conversion_keeps_the_number_and_is_refused_twice(org, admin):
    company = services.create_company(organization=org, by=admin, data={"name": "Atelier Dupont"})

    company = services.convert_to_client(company=company, by=admin)

    assert company.reference == "CL-000001" and company.kind == "client" and company.status == "active"
    entry = AuditEntry.objects.for_object(company).get(action="company.converted")
    assert entry.changes["reference"] == ["PR-000001", "CL-000001"]
    with pytest.raises(DomainError) as exc:
        services.convert_to_client(company=company, by=admin)
    assert exc.value.code == "already_client"


def test_duplicate_siret_is_refused_at_its_field_and_changes_nothing(org, admin):
    services.create_company(organization=org, by=admin, data={"name": "A", "siret": SIRET})

    with pytest.raises(ValidationFailed) as exc:
        services.create_company(organization=org, by=admin, data={"name": "B", "siret": "732 829 320 00074"})

    assert exc.value.code == "duplicate_siret" and "siret" in exc.value.fields
    assert Company.objects.filter(organization=org).count() == 1


def test_same_siret_in_another_organization_is_fine(org, other_org, admin, other_admin):
    services.create_company(organization=org, by=admin, data={"name": "A", "siret": SIRET})
    services.create_company(organization=other_org, by=other_admin, data={"name": "A", "siret": SIRET})


@pytest.mark.parametrize(
    ("field", "value"),
    [("siret", "12345678901234"), ("vat_number", "FR00123"), ("email", "pas-un-email"), ("phone", "12")],
)
def test_invalid_identifiers_are_refused_at_their_field(org, admin, field, value):
    with pytest.raises(ValidationFailed) as exc:
        services.create_company(organization=org, by=admin, data={"name": "X", field: value})
    assert field in exc.value.fields
    assert not Company.objects.filter(organization=org).exists()


def test_individual_customer_is_created_in_one_step(org, admin):
    company = services.create_individual_customer(
        organization=org, by=admin, person={"first_name": "Léo", "last_name": "Martin", "email": "leo@free.test"}
    )
    assert company.is_individual and company.name == "Léo Martin"
    assert company.contacts.get().email == "leo@free.test"


def test_deleting_a_company_with_history_is_refused_with_the_reason(org, admin):
    company = CompanyFactory(organization=org)
    OpportunityFactory(company=company)

    with pytest.raises(DomainError) as exc:
        services.delete_company(company=company, by=admin)

    assert exc.value.code == "has_history" and "opportunités" in exc.value.message
    assert Company.objects.filter(pk=company.pk).exists()
    services.archive_company(company=company, by=admin)
    company.refresh_from_db()
    assert company.is_archived


def test_reception_cannot_delete_companies(org, staff_of):
    company = CompanyFactory(organization=org)
    with pytest.raises(RightsError):
        services.delete_company(company=company, by=staff_of("reception"))
    assert Company.objects.filter(pk=company.pk).exists()


def test_activate_contact_account_sends_the_activation_with_the_workspace(
    org, admin, mailoutbox, django_capture_on_commit_callbacks
):
    contact = ContactFactory(company__organization=org, email="membre@client.test")

    with django_capture_on_commit_callbacks(execute=True):
        contact = services.activate_contact_account(contact=contact, by=admin)

    assert contact.user.email == "membre@client.test" and contact.has_portal_access
    assert len(mailoutbox) == 1 and org.slug in mailoutbox[0].body


def test_duplicate_member_email_in_a_company_is_refused(org, admin):
    company = CompanyFactory(organization=org)
    services.add_contact(company=company, by=admin, data={"last_name": "A", "email": "a@x.test"})
    with pytest.raises(ValidationFailed) as exc:
        services.add_contact(company=company, by=admin, data={"last_name": "B", "email": "A@x.test"})
    assert "email" in exc.value.fields
    assert Contact.objects.filter(company=company).count() == 1


@pytest.mark.parametrize(
    ("role", "documents", "paid_bookings", "incidents"),
    [("administrator", True, True, True), ("manager", False, True, True), ("user", False, False, True)],
)
def test_capability_table_follows_frontmanager_roles(org, role, documents, paid_bookings, incidents):
    contact = ContactFactory(company__organization=org, company_role=role, has_portal_access=True)

    assert capabilities.can(contact, "view_documents") is documents
    assert capabilities.can(contact, "make_paid_bookings") is paid_bookings
    assert capabilities.can(contact, "report_incidents") is incidents
    contact.has_portal_access = False
    assert capabilities.capabilities_of(contact) == frozenset()
