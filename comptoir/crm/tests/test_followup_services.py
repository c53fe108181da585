"""CRM follow-up services: notes, actions (dated tasks), marketing sources; rights per predefined role."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import StaffFactory, UserFactory
from comptoir.crm import selectors, services
from comptoir.crm.models import Action, MarketingSource, Note
from comptoir.crm.tests.factories import (
    ActionFactory,
    CompanyFactory,
    ContactFactory,
    MarketingSourceFactory,
    NoteFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 23)


# --------------------------------------------------------------------------------------------------
# Notes
# --------------------------------------------------------------------------------------------------
def test_add_note_records_its_author_and_the_journal(org, admin):
    company = CompanyFactory(organization=org)

    note = services.add_note(company=company, by=admin, body="  Client sensible au prix.  ", is_pinned=True)

    assert note.author == admin and note.body == "Client sensible au prix." and note.is_pinned
    assert note.organization_id == org.pk
    assert AuditEntry.objects.for_object(note).filter(action="note.created").exists()
    assert AuditEntry.objects.for_object(company).filter(action="company.note_added").exists()


def test_an_empty_note_is_refused_at_its_field(org, admin):
    company = CompanyFactory(organization=org)

    with pytest.raises(ValidationFailed) as exc:
        services.add_note(company=company, by=admin, body="   ")

    assert "body" in exc.value.fields and not Note.objects.exists()


def test_update_and_delete_note(org, admin):
    note = NoteFactory(company__organization=org, body="Avant")

    note = services.update_note(note=note, by=admin, data={"body": "Après", "is_pinned": True})
    assert note.body == "Après" and note.is_pinned
    entry = AuditEntry.objects.for_object(note).get(action="note.updated")
    assert entry.changes["body"] == ["Avant", "Après"]

    services.delete_note(note=note, by=admin)
    assert not Note.objects.filter(pk=note.pk).exists()
    assert AuditEntry.objects.filter(action="note.deleted", object_id=str(note.pk)).exists()


def test_reception_adds_notes_but_may_not_change_or_delete_them(org, staff_of):
    reception = staff_of("reception")
    note = NoteFactory(company__organization=org, body="Avant")

    services.add_note(company=note.company, by=reception, body="Rappeler lundi")
    with pytest.raises(RightsError):
        services.update_note(note=note, by=reception, data={"body": "Piraté"})
    with pytest.raises(RightsError):
        services.delete_note(note=note, by=reception)

    note.refresh_from_db()
    assert note.body == "Avant"


@pytest.mark.parametrize("kind", ["technician"])
def test_roles_without_the_note_right_cannot_add_notes(org, staff_of, kind):
    company = CompanyFactory(organization=org)
    with pytest.raises(RightsError):
        services.add_note(company=company, by=staff_of(kind), body="x")
    assert not Note.objects.exists()


def test_staff_of_another_organization_cannot_add_a_note(org, other_admin):
    company = CompanyFactory(organization=org)
    with pytest.raises(RightsError):
        services.add_note(company=company, by=other_admin, body="x")
    assert not Note.objects.exists()


def test_notes_for_gives_nothing_to_a_portal_user(org, admin):
    note = NoteFactory(company__organization=org)
    portal_user = UserFactory()
    ContactFactory(company=note.company, user=portal_user, has_portal_access=True)

    assert list(selectors.notes_for(admin, org)) == [note]
    assert list(selectors.notes_for(portal_user, org)) == []


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------
def test_create_action_for_a_staff_member(org, admin, staff_of):
    assignee = staff_of("reception")
    company = CompanyFactory(organization=org)

    action = services.create_action(
        organization=org,
        by=admin,
        data={"company": company, "title": " Rappeler ", "due_date": TODAY, "assignee": assignee},
    )

    assert action.title == "Rappeler" and action.created_by == admin and action.assignee == assignee
    assert AuditEntry.objects.for_object(action).filter(action="action.created").exists()
    assert AuditEntry.objects.for_object(company).get(action="company.action_added").changes == {"action": "Rappeler"}


def test_create_action_without_company(org, admin):
    action = services.create_action(
        organization=org, by=admin, data={"title": "Commander du café", "due_date": TODAY, "assignee": admin}
    )
    assert action.company is None


@pytest.mark.parametrize("who", ["outsider", "other_staff", "missing"])
def test_assignee_must_be_staff_of_the_organization(org, other_org, admin, who):
    assignee = {
        "outsider": lambda: UserFactory(),
        "other_staff": lambda: StaffFactory(organization=other_org).user,
        "missing": lambda: None,
    }[who]()

    with pytest.raises(ValidationFailed) as exc:
        services.create_action(organization=org, by=admin, data={"title": "X", "due_date": TODAY, "assignee": assignee})

    assert "assignee" in exc.value.fields and not Action.objects.exists()


def test_company_of_another_organization_is_refused(org, other_org, admin):
    foreign = CompanyFactory(organization=other_org)
    with pytest.raises(ValidationFailed) as exc:
        services.create_action(
            organization=org, by=admin, data={"company": foreign, "title": "X", "due_date": TODAY, "assignee": admin}
        )
    assert "company" in exc.value.fields and not Action.objects.exists()


def test_complete_and_reopen_action(org, admin):
    action = ActionFactory(company__organization=org)

    action = services.complete_action(action=action, by=admin)
    assert action.is_done
    with pytest.raises(DomainError) as exc:
        services.complete_action(action=action, by=admin)
    assert exc.value.code == "already_done"

    action = services.reopen_action(action=action, by=admin)
    assert not action.is_done
    with pytest.raises(DomainError) as exc:
        services.reopen_action(action=action, by=admin)
    assert exc.value.code == "not_done"
    assert list(AuditEntry.objects.for_object(action).values_list("action", flat=True).order_by("id")) == [
        "action.completed",
        "action.reopened",
    ]


def test_update_action_refuses_a_foreign_assignee_and_changes_nothing(org, admin):
    action = ActionFactory(company__organization=org, title="Avant")
    with pytest.raises(ValidationFailed):
        services.update_action(action=action, by=admin, data={"title": "Après", "assignee": UserFactory()})
    action.refresh_from_db()
    assert action.title == "Avant"


def test_technician_completes_actions_but_may_not_create_or_delete(org, staff_of):
    technician = staff_of("technician")
    action = ActionFactory(company__organization=org)

    services.complete_action(action=action, by=technician)
    with pytest.raises(RightsError):
        services.create_action(
            organization=org, by=technician, data={"title": "X", "due_date": TODAY, "assignee": technician}
        )
    with pytest.raises(RightsError):
        services.delete_action(action=action, by=technician)
    assert Action.objects.count() == 1


def test_manager_deletes_an_action(org, staff_of):
    action = ActionFactory(company__organization=org)
    services.delete_action(action=action, by=staff_of("manager"))
    assert not Action.objects.exists()


def test_daily_list_holds_my_overdue_and_today_actions_only(org, staff_of):
    me = staff_of("reception")
    company = CompanyFactory(organization=org)
    overdue = ActionFactory(company=company, assignee=me, due_date=TODAY - datetime.timedelta(days=3))
    today = ActionFactory(company=company, assignee=me, due_date=TODAY)
    ActionFactory(company=company, assignee=me, due_date=TODAY + datetime.timedelta(days=1))
    ActionFactory(company=company, assignee=me, due_date=TODAY, completed_at=timezone.now())
    ActionFactory(company=company, due_date=TODAY)  # someone else's

    assert list(selectors.actions_for_day(me, org, TODAY)) == [overdue, today]
    assert overdue.is_overdue(TODAY) and not today.is_overdue(TODAY)


# --------------------------------------------------------------------------------------------------
# Marketing sources
# --------------------------------------------------------------------------------------------------
def test_create_marketing_source(org, admin):
    source = services.create_marketing_source(
        organization=org,
        by=admin,
        data={"name": " Salon  SIMI ", "channel": "trade_show", "cost": Decimal("1500.00"), "cost_period": "one_off"},
    )
    assert source.name == "Salon SIMI" and source.cost == Decimal("1500.00")
    assert AuditEntry.objects.for_object(source).filter(action="marketing_source.created").exists()


def test_duplicate_source_name_is_refused_at_the_name_in_french(org, admin):
    MarketingSourceFactory(organization=org, name="LinkedIn")
    other = MarketingSourceFactory(organization=org, name="Google")

    with pytest.raises(ValidationFailed) as exc:
        services.create_marketing_source(organization=org, by=admin, data={"name": "linkedin"})
    assert exc.value.code == "duplicate_name"
    assert exc.value.fields["name"] == ["Une source marketing de votre organisation porte déjà ce nom."]

    with pytest.raises(ValidationFailed):
        services.update_marketing_source(source=other, by=admin, data={"name": "LINKEDIN"})
    other.refresh_from_db()
    assert other.name == "Google" and MarketingSource.objects.filter(organization=org).count() == 2


def test_same_source_name_in_another_organization_is_fine(org, other_org, admin, other_admin):
    services.create_marketing_source(organization=org, by=admin, data={"name": "LinkedIn"})
    services.create_marketing_source(organization=other_org, by=other_admin, data={"name": "LinkedIn"})


def test_negative_cost_is_refused(org, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.create_marketing_source(organization=org, by=admin, data={"name": "X", "cost": Decimal("-1")})
    assert "cost" in exc.value.fields and not MarketingSource.objects.exists()


def test_deactivate_and_reactivate_source(org, admin):
    source = MarketingSourceFactory(organization=org)
    source = services.deactivate_marketing_source(source=source, by=admin)
    assert not source.is_active
    source = services.deactivate_marketing_source(source=source, by=admin, active=True)
    assert source.is_active


@pytest.mark.parametrize("kind", ["reception", "technician"])
def test_only_managers_and_administrators_manage_sources(org, staff_of, kind):
    user = staff_of(kind)
    source = MarketingSourceFactory(organization=org, name="Avant")
    with pytest.raises(RightsError):
        services.create_marketing_source(organization=org, by=user, data={"name": "X"})
    with pytest.raises(RightsError):
        services.update_marketing_source(source=source, by=user, data={"name": "Après"})
    with pytest.raises(RightsError):
        services.deactivate_marketing_source(source=source, by=user)
    source.refresh_from_db()
    assert source.name == "Avant" and source.is_active and MarketingSource.objects.count() == 1


def test_manager_manages_sources(org, staff_of):
    manager = staff_of("manager")
    source = services.create_marketing_source(organization=org, by=manager, data={"name": "Flyers"})
    services.update_marketing_source(source=source, by=manager, data={"cost": Decimal("10.00")})
