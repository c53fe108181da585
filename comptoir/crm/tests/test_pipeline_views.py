"""Pipeline pages: kanban board (HTMX move), lists, fiche, forms, activities, home widget, rights, tenancy."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.core.models import AuditEntry
from comptoir.crm.models import Activity, Opportunity
from comptoir.crm.tests.factories import ActivityFactory, CompanyFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "board"}


def add_opportunities(org, count):  # type: ignore[no-untyped-def]
    company = CompanyFactory(organization=org)
    stages = list(Opportunity.Stage.values)
    for number in range(count):
        OpportunityFactory(company=company, stage=stages[number % len(stages)], position=number,
                           closed_at=timezone.now())  # fmt: skip


def count_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


# --------------------------------------------------------------------------------------------------
# tenancy: every object URL answers 404 for another organization's object, on GET and POST
# --------------------------------------------------------------------------------------------------
OBJECT_URLS = [
    ("crm:opportunity_detail", "opportunity"),
    ("crm:opportunity_edit", "opportunity"),
    ("crm:opportunity_move", "opportunity"),
    ("crm:opportunity_activity_create", "opportunity"),
    ("crm:company_opportunity_create", "company"),
    ("crm:company_opportunities", "company"),
    ("crm:company_activity_create", "company"),
    ("crm:company_activities", "company"),
    ("crm:activity_edit", "activity"),
    ("crm:activity_complete", "activity"),
    ("crm:activity_delete", "activity"),
]


@pytest.mark.parametrize(("name", "kind"), OBJECT_URLS)
def test_another_organizations_object_answers_404_and_changes_nothing(org, other_org, admin, staff_client, name, kind):
    activity = ActivityFactory(company__organization=other_org, opportunity=None)
    opportunity = OpportunityFactory(company=activity.company, stage="qualified")
    target = {"activity": activity, "opportunity": opportunity, "company": activity.company}[kind]
    client = staff_client(admin)
    url = reverse(name, args=[target.pk])
    journal_before = AuditEntry.objects.filter(organization=other_org).count()

    get = client.get(url)
    post = client.post(url, {"stage": "won", "title": "X", "scheduled_at": "2026-11-23T10:00", "kind": "call"})

    assert (get.status_code, post.status_code) == (404, 404)
    opportunity.refresh_from_db()
    activity.refresh_from_db()
    assert (opportunity.stage, opportunity.title != "X", activity.status) == ("qualified", True, "planned")
    assert AuditEntry.objects.filter(organization=other_org).count() == journal_before


# --------------------------------------------------------------------------------------------------
# rights per predefined role
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "board", "move", "create", "activities", "complete"),
    [
        ("administrator", 200, 302, 200, 200, 302),
        ("manager", 200, 302, 200, 200, 302),
        ("reception", 200, 403, 403, 200, 302),
        ("technician", 403, 403, 403, 403, 403),
    ],
)
def test_pages_per_predefined_role(org, staff_of, staff_client, kind, board, move, create, activities, complete):
    user = staff_of(kind)
    opportunity = OpportunityFactory(company__organization=org)
    activity = ActivityFactory(company=opportunity.company, staff=user)
    client = staff_client(user)

    assert client.get(reverse("crm:opportunity_board")).status_code == board
    assert client.get(reverse("crm:opportunity_list")).status_code == board
    assert client.get(reverse("crm:opportunity_detail", args=[opportunity.pk])).status_code == board
    assert client.post(reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": "won"}).status_code == move
    url = reverse("crm:company_opportunity_create", args=[opportunity.company.pk])
    assert client.get(url).status_code == create
    assert client.get(reverse("crm:activity_list")).status_code == activities
    assert client.post(reverse("crm:activity_complete", args=[activity.pk])).status_code == complete

    opportunity.refresh_from_db()
    activity.refresh_from_db()
    assert opportunity.stage == ("won" if move == 302 else "lead")
    assert activity.status == ("done" if complete == 302 else "planned")


def test_anonymous_is_sent_to_the_login_page(client, org):
    response = client.get(reverse("crm:opportunity_board"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


# --------------------------------------------------------------------------------------------------
# board and HTMX move
# --------------------------------------------------------------------------------------------------
def test_board_shows_columns_with_counts_and_totals(org, admin, staff_client):
    company = CompanyFactory(organization=org, name="Atelier Dupont")
    OpportunityFactory(company=company, title="Bureau 4 postes", estimated_amount=Decimal("1200.00"), position=0)
    OpportunityFactory(company=company, title="Salle", estimated_amount=Decimal("300.50"), position=1)

    response = staff_client(admin).get(reverse("crm:opportunity_board"))

    assert response.status_code == 200
    lead = response.context["columns"][0]
    assert (lead.stage, lead.count, lead.total) == ("lead", 2, Decimal("1500.50"))
    assert [card.title for card in lead.cards] == ["Bureau 4 postes", "Salle"]
    content = response.content.decode()
    assert "Bureau 4 postes" in content and "vendor/sortablejs/Sortable.min.js" in content
    assert 'id="lost-modal"' in content


def test_board_makes_the_same_queries_for_10_or_100_opportunities(org, admin, staff_client, django_assert_num_queries):
    client = staff_client(admin)
    url = reverse("crm:opportunity_board")
    add_opportunities(org, 10)
    client.get(url)
    with_10 = count_queries(client, url)
    add_opportunities(org, 90)

    with django_assert_num_queries(with_10):
        response = client.get(url)

    assert sum(column.count for column in response.context["columns"]) == 100


def test_htmx_move_returns_the_board_with_new_counts(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    first = OpportunityFactory(company=company, title="A", position=0)
    OpportunityFactory(company=company, title="B", position=1)

    response = staff_client(admin).post(
        reverse("crm:opportunity_move", args=[first.pk]), {"stage": "quote_sent", "position": "0"}, **HTMX
    )

    assert response.status_code == 200
    columns = {column.stage: column for column in response.context["columns"]}
    assert (columns["lead"].count, columns["quote_sent"].count) == (1, 1)
    assert response.content.decode().lstrip().startswith('<div id="board"')
    first.refresh_from_db()
    assert (first.stage, first.probability, first.position) == ("quote_sent", 40, 0)
    assert AuditEntry.objects.for_object(first).get(action="opportunity.stage_changed").changes["stage"] == [
        "lead", "quote_sent",
    ]  # fmt: skip


def test_htmx_move_to_lost_without_reason_shows_the_error_on_the_card_and_changes_nothing(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org, stage="qualified")

    response = staff_client(admin).post(
        reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": "lost", "lost_reason": ""}, **HTMX
    )

    assert response.status_code == 200
    assert response.context["error"] == "Indiquez la raison de la perte."
    assert response.context["error_card"] == opportunity.pk
    opportunity.refresh_from_db()
    assert opportunity.stage == "qualified"


def test_plain_move_from_the_card_select_redirects_to_the_board(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org)

    response = staff_client(admin).post(
        reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": "lost", "lost_reason": "Trop cher"}
    )

    assert response.status_code == 302 and response["Location"] == reverse("crm:opportunity_board")
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.lost_reason) == ("lost", "Trop cher")


def test_move_refuses_get(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org)
    assert staff_client(admin).get(reverse("crm:opportunity_move", args=[opportunity.pk])).status_code == 405


# --------------------------------------------------------------------------------------------------
# lists
# --------------------------------------------------------------------------------------------------
def test_opportunity_list_makes_the_same_queries_for_10_or_100(org, admin, staff_client, django_assert_num_queries):
    client = staff_client(admin)
    url = reverse("crm:opportunity_list")
    add_opportunities(org, 10)
    client.get(url)
    with_10 = count_queries(client, url)
    add_opportunities(org, 90)

    with django_assert_num_queries(with_10):
        response = client.get(url)

    assert response.context["count"] == 100 and len(response.context["rows"]) == 50


def test_opportunity_list_filters_by_stage_and_exports_csv(org, admin, staff_client):
    company = CompanyFactory(organization=org, name="Atelier Dupont")
    OpportunityFactory(company=company, title="Bureau", stage="won")
    OpportunityFactory(company=company, title="Salle", stage="lead")
    client = staff_client(admin)

    response = client.get(reverse("crm:opportunity_list"), {"stage": "won"})
    export = client.get(reverse("crm:opportunity_list"), {"stage": "won", "export": "csv"})

    assert [row.obj.title for row in response.context["rows"]] == ["Bureau"]
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Bureau;Atelier Dupont;Contrat signé;")


def test_activity_list_shows_mine_by_default(org, admin, staff_of, staff_client):
    colleague = staff_of("manager")
    company = CompanyFactory(organization=org)
    mine = ActivityFactory(company=company, staff=admin)
    theirs = ActivityFactory(company=company, staff=colleague)
    client = staff_client(admin)

    default = client.get(reverse("crm:activity_list"))
    everyone = client.get(reverse("crm:activity_list"), {"scope": "all"})

    assert [row.obj for row in default.context["rows"]] == [mine]
    assert {row.obj for row in everyone.context["rows"]} == {mine, theirs}


def test_activity_list_makes_the_same_queries_for_10_or_100(org, admin, staff_client, django_assert_num_queries):
    client = staff_client(admin)
    url = reverse("crm:activity_list")
    opportunity = OpportunityFactory(company__organization=org)
    ActivityFactory.create_batch(10, company=opportunity.company, opportunity=opportunity, staff=admin)
    client.get(url)
    with_10 = count_queries(client, url)
    ActivityFactory.create_batch(90, company=opportunity.company, opportunity=opportunity, staff=admin)

    with django_assert_num_queries(with_10):
        response = client.get(url)

    assert response.context["count"] == 100


# --------------------------------------------------------------------------------------------------
# forms, fiche, company tabs
# --------------------------------------------------------------------------------------------------
def test_add_an_opportunity_from_the_company_page(org, admin, center, staff_client):
    company = CompanyFactory(organization=org)
    client = staff_client(admin)
    url = reverse("crm:company_opportunity_create", args=[company.pk])

    response = client.post(url, {"title": "Bureau 6 postes", "stage": "qualified", "estimated_amount": "3000",
                                 "probability": "", "owner": admin.pk, "center": center.pk})  # fmt: skip

    opportunity = Opportunity.objects.get(company=company)
    assert response.status_code == 302 and response["Location"] == opportunity.get_absolute_url()
    assert (opportunity.stage, opportunity.probability, opportunity.owner, opportunity.center) == (
        "qualified", 25, admin, center,
    )  # fmt: skip
    detail = client.get(opportunity.get_absolute_url())
    assert detail.status_code == 200 and "Bureau 6 postes" in detail.content.decode()


def test_edit_an_opportunity(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org, probability=10)

    response = staff_client(admin).post(
        reverse("crm:opportunity_edit", args=[opportunity.pk]),
        {"title": "Renommée", "estimated_amount": "10", "probability": "60"},
    )

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.probability, opportunity.estimated_amount) == ("Renommée", 60, Decimal("10"))


def test_company_tabs_list_its_opportunities_and_activities(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org, title="Domiciliation")
    ActivityFactory(company=opportunity.company, opportunity=opportunity, notes="Rappeler lundi")
    client = staff_client(admin)

    tab = client.get(reverse("crm:company_opportunities", args=[opportunity.company.pk]))
    activities = client.get(reverse("crm:company_activities", args=[opportunity.company.pk]))

    assert "Domiciliation" in tab.content.decode()
    assert "Rappeler lundi" in activities.content.decode()


def test_plan_edit_complete_and_delete_an_activity(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org)
    client = staff_client(admin)

    response = client.post(
        reverse("crm:opportunity_activity_create", args=[opportunity.pk]),
        {"kind": "visit", "scheduled_at": "2026-11-24T10:30", "staff": admin.pk, "notes": ""},
    )
    activity = Activity.objects.get(opportunity=opportunity)
    assert response.status_code == 302 and response["Location"] == opportunity.get_absolute_url()
    assert (activity.kind, activity.company, activity.staff) == ("visit", opportunity.company, admin)

    client.post(
        reverse("crm:activity_edit", args=[activity.pk]),
        {"kind": "call", "scheduled_at": "2026-11-24T11:00", "staff": admin.pk, "notes": "Appel"},
    )
    client.post(reverse("crm:activity_complete", args=[activity.pk]), {"notes": "OK pour visite"})
    activity.refresh_from_db()
    assert (activity.kind, activity.status, activity.notes) == ("call", "done", "OK pour visite")

    client.post(reverse("crm:activity_delete", args=[activity.pk]))
    assert not Activity.objects.filter(pk=activity.pk).exists()


# --------------------------------------------------------------------------------------------------
# home page widget
# --------------------------------------------------------------------------------------------------
def test_home_shows_my_activities_of_the_day_with_a_done_button(org, admin, center, staff_client):
    company = CompanyFactory(organization=org, name="Atelier Dupont")
    today = ActivityFactory(company=company, staff=admin, scheduled_at=timezone.now())
    ActivityFactory(company=company, staff=admin, scheduled_at=timezone.now() + datetime.timedelta(days=3))
    client = staff_client(admin)

    response = client.get(reverse("manage:home"))

    content = response.content.decode()
    assert "Mes activités du jour" in content
    assert reverse("crm:activity_complete", args=[today.pk]) in content
    assert content.count("Atelier Dupont") == 1

    done = client.post(reverse("crm:activity_complete", args=[today.pk]), HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and "Aucune activité prévue aujourd" in done.content.decode()


def test_home_hides_the_widget_without_the_right(org, staff_of, staff_client):
    response = staff_client(staff_of("technician")).get(reverse("manage:home"))
    assert "Mes activités du jour" not in response.content.decode()


def test_the_fiche_shows_the_stage_change_in_its_timeline(org, admin, staff_client):
    opportunity = OpportunityFactory(company__organization=org, title="Bureau 2 postes")
    client = staff_client(admin)
    client.post(reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": "visit_planned"})

    response = client.get(reverse("crm:opportunity_detail", args=[opportunity.pk]))

    item = response.context["timeline"][0]
    changes = {change.label: (change.before, change.after) for change in item.changes}
    assert item.verb == "Changement d'étape"
    assert changes == {"Étape": ("Lead", "Visite planifiée"), "Probabilité (%)": (10, 55)}


def test_the_company_page_has_the_opportunities_and_activities_tabs(org, admin, staff_client):
    company = CompanyFactory(organization=org)

    shown = staff_client(admin).get(reverse("crm:company_detail", args=[company.pk])).content.decode()

    assert reverse("crm:company_opportunities", args=[company.pk]) in shown
    assert reverse("crm:company_activities", args=[company.pk]) in shown


def test_dashboard_widgets_are_shown_in_order_and_hidden_when_their_context_is_none(rf):
    from comptoir.core import dashboard

    saved = dict(dashboard._widgets)
    try:
        dashboard._widgets.clear()
        dashboard.register_widget("b.html", lambda request: {"n": 2}, order=20)
        dashboard.register_widget("a.html", lambda request: {"n": 1}, order=10)
        dashboard.register_widget("hidden.html", lambda request: None, order=5)

        shown = dashboard.widgets_for(rf.get("/"))
    finally:
        dashboard._widgets.clear()
        dashboard._widgets.update(saved)

    assert shown == [{"template_name": "a.html", "context": {"n": 1}}, {"template_name": "b.html", "context": {"n": 2}}]


def test_filtering_the_opportunity_list_by_htmx_returns_its_results(org, admin, staff_client):
    """The list extends manage/list.html without its own results partial: the base one answers (no 500)."""
    OpportunityFactory(company__organization=org, title="Bureau 6 postes")
    response = staff_client(admin).get(reverse("crm:opportunity_list"), {"q": "Bureau"}, HTTP_HX_REQUEST="true",
                                       HTTP_HX_TARGET="list-results")  # fmt: skip
    assert response.status_code == 200
    assert "Bureau 6 postes" in response.content.decode() and "<html" not in response.content.decode()
