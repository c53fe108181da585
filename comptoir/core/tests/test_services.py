"""Core services: rights, self-escalation, validation, journal, numbering."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from comptoir.core import journal, numbering, rights, services
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry, Center, Role, StaffMembership
from comptoir.core.tests.factories import LegalEntityFactory, StaffFactory, role

pytestmark = pytest.mark.django_db


def test_create_organization_seeds_the_four_predefined_roles():
    organization = services.create_organization(name="Acme", slug="acme")

    kinds = set(Role.objects.filter(organization=organization).values_list("kind", flat=True))
    assert kinds == {"administrator", "reception", "manager", "technician"}
    assert AuditEntry.objects.filter(action="organization.created", organization=organization).count() == 1


def test_administrator_holds_every_right_and_technician_only_views_centers(org, admin, staff_of):
    technician = staff_of("technician")

    assert rights.has_right(admin, "core.delete_role", org)
    assert rights.has_right(technician, "core.view_center", org)
    assert not rights.has_right(technician, "core.add_center", org)
    assert not rights.has_right(technician, "core.view_staffmembership", org)


def test_rights_do_not_leak_to_another_organization(org, other_org, admin):
    assert not rights.has_right(admin, "core.view_center", other_org)


def test_create_center_checks_right_and_journals(org, admin, staff_of):
    entity = LegalEntityFactory(organization=org)
    data = {"name": "Lyon", "code": "lyon", "legal_entity": entity, "timezone": "Europe/Paris"}

    with pytest.raises(RightsError):
        services.create_center(organization=org, by=staff_of("reception"), data=data)
    assert not Center.objects.filter(organization=org).exists()

    center = services.create_center(
        organization=org, by=admin, data=data, opening_hours=[(0, datetime.time(9), datetime.time(18))]
    )
    assert center.opening_hours.count() == 1
    entry = AuditEntry.objects.for_object(center).get()
    assert entry.action == "center.created" and entry.actor == admin and entry.changes["code"] == "lyon"


def test_center_refuses_legal_entity_of_another_organization(org, other_org, admin):
    foreign_entity = LegalEntityFactory(organization=other_org)

    with pytest.raises(ValidationFailed) as exc:
        services.create_center(
            organization=org, by=admin, data={"name": "X", "code": "x", "legal_entity": foreign_entity}
        )
    assert "legal_entity" in exc.value.fields
    assert not Center.objects.filter(organization=org).exists()


def test_invalid_identifiers_are_refused_at_their_field(org, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.create_legal_entity(
            organization=org, by=admin, data={"name": "Bad", "siren": "123456789", "iban": "FR00 1234"}
        )
    assert set(exc.value.fields) >= {"siren", "iban"}


def test_update_center_records_before_and_after(org, admin, center):
    services.update_center(center=center, by=admin, data={"name": "Paris Bourse"})

    entry = AuditEntry.objects.for_object(center).get(action="center.updated")
    assert entry.changes == {"name": ["Paris Opéra", "Paris Bourse"]}


def test_opening_hours_overlap_is_refused_and_changes_nothing(org, admin, center):
    before = list(center.opening_hours.values_list("weekday", "opens_at", "closes_at"))
    with pytest.raises(ValidationFailed):
        services.set_opening_hours(
            center=center,
            by=admin,
            intervals=[(0, datetime.time(9), datetime.time(13)), (0, datetime.time(12), datetime.time(18))],
        )
    assert list(center.opening_hours.values_list("weekday", "opens_at", "closes_at")) == before


def test_nobody_grants_a_right_they_do_not_hold(org, staff_of):
    # given a custom role that may edit roles but does not hold core.delete_center
    editor_role = services.create_role(
        organization=org,
        by=StaffFactory(organization=org, kind="administrator").user,
        name="Éditeur des droits",
        permission_names=["core.view_role", "core.change_role", "core.view_center"],
    )
    editor = StaffFactory(organization=org, role=editor_role).user

    # when the editor tries to give their own role a right they do not hold
    with pytest.raises(RightsError) as exc:
        services.set_role_rights(
            role=editor_role,
            by=editor,
            permission_names=[*rights.role_rights(editor_role), "core.delete_center"],
        )

    # then it is refused and nothing changed
    assert exc.value.code == "escalation"
    assert "core.delete_center" not in rights.role_rights(editor_role)
    assert not AuditEntry.objects.filter(action="role.rights_changed").exists()


def test_a_staff_member_cannot_be_given_a_more_powerful_role(org, staff_of):
    manager = staff_of("manager")
    reception = StaffMembership.objects.get(user=staff_of("reception"), organization=org)
    # the manager has no right to edit staff at all by default
    with pytest.raises(RightsError):
        services.update_staff_member(staff=reception, by=manager, data={"role": role(org, "administrator")})


def test_nobody_changes_their_own_role(org, admin):
    own = StaffMembership.objects.get(user=admin, organization=org)
    with pytest.raises(RightsError):
        services.update_staff_member(staff=own, by=admin, data={"role": role(org, "technician")})


def test_administrator_role_cannot_be_edited(org, admin):
    with pytest.raises(DomainError) as exc:
        services.set_role_rights(role=role(org, "administrator"), by=admin, permission_names=[])
    assert exc.value.code == "fixed_role"


def test_add_staff_member_creates_account_and_sends_activation(
    org, admin, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        staff = services.add_staff_member(
            organization=org,
            by=admin,
            email="Nouveau@Example.test",
            role=role(org, "reception"),
            first_name="Léa",
        )

    assert staff.user.email == "nouveau@example.test"
    assert not staff.user.has_usable_password()
    assert len(mailoutbox) == 1
    assert org.slug in mailoutbox[0].body
    assert "/accounts/activate/" in mailoutbox[0].body
    assert "nouveau@example.test" in mailoutbox[0].body  # the login is spelled out


def test_audit_journal_is_append_only(org, admin):
    entry = journal.record(actor=admin, action="test.recorded", obj=org)
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    # and at the database level, bypassing the ORM
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("UPDATE core_auditentry SET action = 'forged' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action != "forged"


def test_numbering_has_no_gap(org):
    with transaction.atomic():
        first = numbering.next_number(organization=org, series="CL")
        block = numbering.next_numbers(organization=org, series="CL", count=3)
    assert first == 1 and list(block) == [2, 3, 4]


@pytest.mark.django_db(transaction=True)
def test_numbering_outside_a_transaction_is_refused(org):
    with pytest.raises(RuntimeError):
        numbering.next_number(organization=org, series="CL")


def test_duplicate_membership_is_refused(org, admin):
    with pytest.raises(ValidationFailed):
        services.add_staff_member(organization=org, by=admin, email=admin.email, role=role(org, "manager"))
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMembership.objects.create(organization=org, user=admin, role=role(org, "manager"))


def test_first_administrator_of_a_new_organization(mailoutbox, django_capture_on_commit_callbacks):
    organization = services.create_organization(name="Bureaux Lumière", slug="bureaux-lumiere")

    with django_capture_on_commit_callbacks(execute=True):
        staff = services.add_first_administrator(organization=organization, email="Direction@Lumiere.test")

    assert staff.role.kind == "administrator"
    assert rights.has_right(staff.user, "core.change_role", organization)
    assert len(mailoutbox) == 1 and "bureaux-lumiere" in mailoutbox[0].body
    with pytest.raises(DomainError) as exc:
        services.add_first_administrator(organization=organization, email="other@lumiere.test")
    assert exc.value.code == "has_administrator"
    assert StaffMembership.objects.filter(organization=organization).count() == 1


def test_createorganization_command(mailoutbox):
    from django.core.management import call_command

    call_command("createorganization", slug="atelier", name="L'Atelier", admin_email="admin@atelier.test")

    staff = StaffMembership.objects.get(organization__slug="atelier")
    assert staff.user.email == "admin@atelier.test" and staff.role.kind == "administrator"
