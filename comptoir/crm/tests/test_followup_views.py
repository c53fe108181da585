"""Back office pages of notes and actions: the Actions page, my daily list, the company tabs, tenancy."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.core.models import AuditEntry
from comptoir.core.testing import walk
from comptoir.core.tests.factories import UserFactory
from comptoir.crm.models import Action, Note
from comptoir.crm.tests.factories import (
    ActionFactory,
    CompanyFactory,
    ContactFactory,
    MarketingSourceFactory,
    NoteFactory,
)

pytestmark = pytest.mark.django_db

MY_URL_NAMES = {
    "crm:action_edit", "crm:action_complete", "crm:action_reopen", "crm:action_delete",
    "crm:company_action_create", "crm:company_actions", "crm:company_notes", "crm:company_note_create",
    "crm:note_edit", "crm:note_delete",
    "crm:marketingsource_detail", "crm:marketingsource_edit", "crm:marketingsource_deactivate",
}  # fmt: skip


def today() -> datetime.date:
    return timezone.localdate()


# --------------------------------------------------------------------------------------------------
# Tenancy: another organization's objects answer 404 on GET and POST, and nothing changes
# --------------------------------------------------------------------------------------------------
def test_other_organizations_notes_actions_and_sources_answer_404(org, other_org, admin, staff_client, api_client):
    company = CompanyFactory(organization=other_org)
    note = NoteFactory(company=company, body="Secret")
    action = ActionFactory(company=company, title="Étranger")
    source = MarketingSourceFactory(organization=other_org, name="Étrangère")
    result = walk(
        own_organization=org,
        foreign_organization=other_org,
        web_client=staff_client(admin),
        api_client=api_client(admin),
        namespaces=["crm"],
        api_prefixes=["__none__"],
        foreign_objects={"company": company, "note": note, "action": action, "marketingsource": source},
    )
    checked = {line.split(" ", 1)[0] for line in result.checked}
    assert checked >= MY_URL_NAMES
    mine = [failure for failure in result.failures if failure.split(" ", 1)[0].rstrip(":") in MY_URL_NAMES]
    assert not mine, "\n".join(mine)
    assert Note.objects.get(pk=note.pk).body == "Secret"
    action.refresh_from_db()
    source.refresh_from_db()
    assert action.title == "Étranger" and not action.is_done and source.is_active and source.name == "Étrangère"
    assert not AuditEntry.objects.filter(
        organization=other_org, action__regex=r"^(note|action|marketing_source)\."
    ).exists()


# --------------------------------------------------------------------------------------------------
# Notes: internal, never for portal users
# --------------------------------------------------------------------------------------------------
def test_portal_user_cannot_reach_notes(org, client):
    note = NoteFactory(company__organization=org)
    portal_user = UserFactory()
    ContactFactory(company=note.company, user=portal_user, has_portal_access=True)
    client.force_login(portal_user, backend="comptoir.core.auth.EmailBackend")
    session = client.session
    session["organization_id"] = org.pk
    session.save()

    for url in (
        reverse("crm:company_notes", args=[note.company_id]),
        reverse("crm:company_note_create", args=[note.company_id]),
        reverse("crm:note_edit", args=[note.pk]),
        reverse("crm:note_delete", args=[note.pk]),
    ):
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"body": "x"} if method == "post" else None)
            assert response.status_code in (302, 403), (url, method, response.status_code)
            assert note.body.encode() not in response.content
    assert Note.objects.count() == 1 and Note.objects.get().body == note.body


def test_company_notes_tab_lists_pinned_first_and_adds_by_htmx(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    NoteFactory(company=company, body="Ancienne note")
    NoteFactory(company=company, body="Note épinglée", is_pinned=True)
    client = staff_client(admin)

    response = client.get(reverse("crm:company_notes", args=[company.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="company-notes"' in html
    assert html.index("Note épinglée") < html.index("Ancienne note")

    response = client.post(
        reverse("crm:company_note_create", args=[company.pk]), {"body": "Nouvelle note"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Nouvelle note" in response.content.decode()
    note = Note.objects.get(body="Nouvelle note")
    assert note.author == admin and note.company == company


def test_empty_note_shows_the_error_and_saves_nothing(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    response = staff_client(admin).post(
        reverse("crm:company_note_create", args=[company.pk]), {"body": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    assert not Note.objects.exists()


def test_edit_and_delete_a_note(org, admin, staff_client):
    note = NoteFactory(company__organization=org, body="Avant")
    client = staff_client(admin)

    response = client.post(reverse("crm:note_edit", args=[note.pk]), {"body": "Après", "is_pinned": "on"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "Après" and note.is_pinned

    assert client.get(reverse("crm:note_delete", args=[note.pk])).status_code == 200
    response = client.post(reverse("crm:note_delete", args=[note.pk]))
    assert response.status_code == 302 and not Note.objects.exists()


def test_reception_cannot_delete_notes(org, staff_of, staff_client):
    note = NoteFactory(company__organization=org)
    client = staff_client(staff_of("reception"))
    assert client.get(reverse("crm:company_notes", args=[note.company_id])).status_code == 200
    assert client.post(reverse("crm:note_delete", args=[note.pk])).status_code == 403
    assert client.post(reverse("crm:note_edit", args=[note.pk]), {"body": "x"}).status_code == 403
    assert Note.objects.get().body == note.body


def test_technician_sees_no_notes(org, staff_of, staff_client):
    note = NoteFactory(company__organization=org)
    client = staff_client(staff_of("technician"))
    assert client.get(reverse("crm:company_notes", args=[note.company_id])).status_code == 403


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------
def test_action_list_shows_my_actions_by_default_and_marks_overdue(org, admin, staff_of, staff_client):
    company = CompanyFactory(organization=org)
    ActionFactory(company=company, assignee=admin, title="Relancer le devis", due_date=today() - datetime.timedelta(1))
    ActionFactory(company=company, assignee=admin, title="Préparer la visite", due_date=today() + datetime.timedelta(3))
    ActionFactory(company=company, assignee=staff_of("reception"), title="Action de Paul")
    ActionFactory(company=company, assignee=admin, title="Déjà faite", completed_at=timezone.now())
    client = staff_client(admin)

    html = client.get(reverse("crm:action_list")).content.decode()
    assert "Relancer le devis" in html and "Préparer la visite" in html and "Action de Paul" not in html
    assert "Déjà faite" not in html  # open actions by default
    assert html.count("action-overdue") == 1

    html = client.get(reverse("crm:action_list"), {"status": "done"}).content.decode()
    assert "Déjà faite" in html and "Relancer le devis" not in html
    html = client.get(reverse("crm:action_list"), {"status": "all"}).content.decode()
    assert "Déjà faite" in html and "Relancer le devis" in html

    html = client.get(reverse("crm:action_list"), {"assignee": "all"}).content.decode()
    assert "Action de Paul" in html

    html = client.get(reverse("crm:action_list"), {"assignee": "all", "status": "overdue"}).content.decode()
    assert "Relancer le devis" in html and "Préparer la visite" not in html and "Action de Paul" not in html

    html = client.get(
        reverse("crm:action_list"),
        {"due_after": (today() + datetime.timedelta(1)).isoformat(), "due_before": (today() + datetime.timedelta(5))},
    ).content.decode()
    assert "Préparer la visite" in html and "Relancer le devis" not in html


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("crm:action_list"), {"assignee": "all"})
    assert response.status_code == 200
    return len(queries)


def test_action_list_makes_the_same_queries_for_10_or_100_actions(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    ActionFactory.create_batch(10, company=company, assignee=admin)
    client = staff_client(admin)
    _list_queries(client)
    ten = _list_queries(client)
    ActionFactory.create_batch(90, company=company, assignee=admin)
    assert _list_queries(client) == ten


def test_daily_list_holds_overdue_and_today(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    ActionFactory(company=company, assignee=admin, title="En retard", due_date=today() - datetime.timedelta(2))
    ActionFactory(company=company, assignee=admin, title="Pour aujourd'hui", due_date=today())
    ActionFactory(company=company, assignee=admin, title="Pour demain", due_date=today() + datetime.timedelta(1))

    html = staff_client(admin).get(reverse("crm:action_today")).content.decode()

    assert "En retard" in html and "Pour aujourd&#x27;hui" in html and "Pour demain" not in html
    assert "action-overdue" in html


def test_create_an_action_from_the_company(org, admin, staff_of, staff_client):
    company = CompanyFactory(organization=org)
    assignee = staff_of("reception")
    client = staff_client(admin)
    url = reverse("crm:company_action_create", args=[company.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"title": "Rappeler", "due_date": today().isoformat(), "assignee": assignee.pk})

    assert response.status_code == 302
    action = Action.objects.get()
    assert action.company == company and action.assignee == assignee and action.created_by == admin


def test_an_outsider_cannot_be_chosen_as_assignee(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    response = staff_client(admin).post(
        reverse("crm:company_action_create", args=[company.pk]),
        {"title": "Rappeler", "due_date": today().isoformat(), "assignee": UserFactory().pk},
    )
    assert response.status_code == 200 and not Action.objects.exists()


def test_complete_and_reopen_by_htmx(org, admin, staff_client):
    action = ActionFactory(company__organization=org, assignee=admin)
    client = staff_client(admin)

    assert client.get(reverse("crm:action_complete", args=[action.pk])).status_code == 405
    response = client.post(reverse("crm:action_complete", args=[action.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f'id="action-status-{action.pk}"' in response.content.decode()
    action.refresh_from_db()
    assert action.is_done

    response = client.post(reverse("crm:action_reopen", args=[action.pk]))
    assert response.status_code == 302
    action.refresh_from_db()
    assert not action.is_done


def test_complete_redirects_to_a_safe_next_only(org, admin, staff_client):
    action = ActionFactory(company__organization=org, assignee=admin)
    response = staff_client(admin).post(
        reverse("crm:action_complete", args=[action.pk]), {"next": "https://evil.test/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "crm:company_detail", args=[action.company_id]
    )


def test_edit_and_delete_an_action(org, admin, staff_client):
    action = ActionFactory(company__organization=org, assignee=admin, title="Avant")
    client = staff_client(admin)
    response = client.post(
        reverse("crm:action_edit", args=[action.pk]),
        {"title": "Après", "due_date": action.due_date.isoformat(), "assignee": admin.pk},
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.title == "Après"

    response = client.post(reverse("crm:action_delete", args=[action.pk]))
    assert response.status_code == 302 and not Action.objects.exists()


def test_technician_may_complete_but_not_delete(org, staff_of, staff_client):
    technician = staff_of("technician")
    action = ActionFactory(company__organization=org, assignee=technician)
    client = staff_client(technician)
    assert client.post(reverse("crm:action_delete", args=[action.pk])).status_code == 403
    assert client.get(reverse("crm:company_action_create", args=[action.company_id])).status_code == 403
    assert client.post(reverse("crm:action_complete", args=[action.pk])).status_code == 302
    assert Action.objects.get().is_done


# --------------------------------------------------------------------------------------------------
# Company tab "Actions": month calendar
# --------------------------------------------------------------------------------------------------
def test_company_calendar_shows_the_month_and_navigates(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    ActionFactory(company=company, title="Visite du 10 mars", due_date=datetime.date(2026, 3, 10))
    ActionFactory(company=company, title="Visite du 2 avril", due_date=datetime.date(2026, 4, 2))
    client = staff_client(admin)
    url = reverse("crm:company_actions", args=[company.pk])

    html = client.get(url, {"month": "2026-03"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-month="2026-03"' in html and "Visite du 10 mars" in html
    assert f"{url}?month=2026-02" in html and f"{url}?month=2026-04" in html
    assert 'id="company-actions"' in html
    # overdue (in the past and open) is shown in red
    assert re.search(r'text-danger fw-semibold action-overdue"[^>]*>Visite du 10 mars', html)

    html = client.get(url, {"month": "2026-04"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-month="2026-04"' in html and "Visite du 2 avril" in html

    for garbage in ("n'importe quoi", "9999-12", "0001-01", "2026-13", "2026-00", "-5-3", "2026-03-01"):
        response = client.get(url, {"month": garbage})
        assert response.status_code == 200 and f'data-month="{today():%Y-%m}"' in response.content.decode()


def test_company_calendar_month_rolls_over_the_year(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    url = reverse("crm:company_actions", args=[company.pk])
    html = staff_client(admin).get(url, {"month": "2026-12"}, HTTP_HX_REQUEST="true").content.decode()
    assert f"{url}?month=2026-11" in html and f"{url}?month=2027-01" in html


def _calendar_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"month": "2026-03"}, HTTP_HX_REQUEST="true").status_code == 200
    return len(queries)


def test_company_actions_tab_makes_the_same_queries_for_10_or_100_actions(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    for index in range(10):
        ActionFactory(company=company, assignee=admin, due_date=datetime.date(2026, 3, 1 + index % 28))
    client = staff_client(admin)
    url = reverse("crm:company_actions", args=[company.pk])
    _calendar_queries(client, url)
    ten = _calendar_queries(client, url)
    for index in range(90):
        ActionFactory(company=company, assignee=admin, due_date=datetime.date(2026, 3, 1 + index % 28))
    assert _calendar_queries(client, url) == ten


# --------------------------------------------------------------------------------------------------
# Company page tabs and menu entries
# --------------------------------------------------------------------------------------------------
def test_company_page_has_the_notes_and_actions_tabs(org, admin, staff_of, staff_client):
    company = CompanyFactory(organization=org)
    html = staff_client(admin).get(company.get_absolute_url()).content.decode()
    assert reverse("crm:company_notes", args=[company.pk]) in html
    assert reverse("crm:company_actions", args=[company.pk]) in html

    html = staff_client(staff_of("technician")).get(company.get_absolute_url()).content.decode()
    assert reverse("crm:company_notes", args=[company.pk]) not in html
    assert reverse("crm:company_actions", args=[company.pk]) in html


def test_menu_entries_actions_and_sources(org, admin, staff_of, staff_client):
    html = staff_client(admin).get(reverse("crm:action_today")).content.decode()
    assert f'href="{reverse("crm:action_list")}"' in html and f'href="{reverse("crm:marketingsource_list")}"' in html

    html = staff_client(staff_of("reception")).get(reverse("crm:action_today")).content.decode()
    assert f'href="{reverse("crm:action_list")}"' in html and reverse("crm:marketingsource_list") not in html


def _notes_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    return len(queries)


def test_company_notes_tab_makes_the_same_queries_for_10_or_100_notes(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    NoteFactory.create_batch(10, company=company, author=admin)
    client = staff_client(admin)
    url = reverse("crm:company_notes", args=[company.pk])
    _notes_queries(client, url)
    ten = _notes_queries(client, url)
    NoteFactory.create_batch(90, company=company, author=admin)
    assert _notes_queries(client, url) == ten


def _today_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("crm:action_today")).status_code == 200
    return len(queries)


def test_daily_list_makes_the_same_queries_for_10_or_100_actions(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    ActionFactory.create_batch(10, company=company, assignee=admin, due_date=today() - datetime.timedelta(1))
    client = staff_client(admin)
    _today_queries(client)
    ten = _today_queries(client)
    ActionFactory.create_batch(90, company=company, assignee=admin, due_date=today())
    assert _today_queries(client) == ten


@pytest.mark.parametrize(
    "params",
    [
        {"assignee": "abc"},
        {"assignee": "999999"},
        {"status": "n'importe"},
        {"due_after": "32/13/2026", "due_before": "x\x00"},
        {"sort": "-nope", "cursor": "garbage", "q": "\x00"},
        {"export": "csv", "assignee": "all"},
    ],
)
def test_garbage_filters_on_the_action_list_never_give_a_500(org, admin, staff_client, params):
    ActionFactory(company__organization=org, assignee=admin, title="Rappeler")
    response = staff_client(admin).get(reverse("crm:action_list"), params)
    assert response.status_code == 200
    if response.streaming:
        content = b"".join(response.streaming_content).decode()
        assert "Rappeler" in content and "À faire" in content


def test_company_timeline_shows_added_notes_and_actions_in_french(org, admin, staff_client):
    from comptoir.crm import services

    company = CompanyFactory(organization=org)
    services.add_note(company=company, by=admin, body="Client pressé")
    services.create_action(
        organization=org,
        by=admin,
        data={"company": company, "title": "Rappeler", "due_date": today(), "assignee": admin},
    )
    html = staff_client(admin).get(company.get_absolute_url()).content.decode()
    assert "Note ajoutée" in html and "Action ajoutée" in html
