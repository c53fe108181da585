"""Pipeline services and selectors: opportunities (stages, positions, probability), activities, the board."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from comptoir.core import events
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory, StaffFactory
from comptoir.crm import selectors, services
from comptoir.crm.models import Activity, Opportunity
from comptoir.crm.tests.factories import (
    ActivityFactory,
    CompanyFactory,
    MarketingSourceFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db


def column(org, stage):  # type: ignore[no-untyped-def]
    return list(
        Opportunity.objects.filter(organization=org, stage=stage).order_by("position").values_list("title", "position")
    )


# --------------------------------------------------------------------------------------------------
# create / update
# --------------------------------------------------------------------------------------------------
def test_create_defaults_the_probability_by_stage_and_appends_to_the_column(org, admin, center):
    company = CompanyFactory(organization=org)
    source = MarketingSourceFactory(organization=org)

    first = services.create_opportunity(
        company=company,
        by=admin,
        data={"title": "Bureau 4 postes", "estimated_amount": Decimal("2400.00"), "owner": admin, "center": center,
              "marketing_source": source},
    )  # fmt: skip
    second = services.create_opportunity(
        company=company, by=admin, data={"title": "Salle", "probability": 33}, stage=Opportunity.Stage.QUOTE_SENT
    )
    third = services.create_opportunity(company=company, by=admin, data={"title": "Domiciliation"})

    assert (first.stage, first.probability, first.position) == ("lead", 10, 0)
    assert (second.stage, second.probability, second.position) == ("quote_sent", 33, 0)
    assert third.position == 1
    entry = AuditEntry.objects.for_object(first).get(action="opportunity.created")
    assert entry.changes["stage"] == "lead" and entry.changes["estimated_amount"] == "2400.00"


def test_create_refuses_rows_of_another_organization_and_an_owner_who_is_not_staff(org, other_org, admin, other_center):
    company = CompanyFactory(organization=org)
    outsider = StaffFactory(organization=other_org).user

    with pytest.raises(ValidationFailed) as by_center:
        services.create_opportunity(company=company, by=admin, data={"title": "X", "center": other_center})
    with pytest.raises(ValidationFailed) as by_owner:
        services.create_opportunity(company=company, by=admin, data={"title": "X", "owner": outsider})
    with pytest.raises(ValidationFailed) as by_source:
        services.create_opportunity(
            company=company,
            by=admin,
            data={"title": "X", "marketing_source": MarketingSourceFactory(organization=other_org)},
        )

    assert "center" in by_center.value.fields and "owner" in by_owner.value.fields
    assert "marketing_source" in by_source.value.fields
    assert not Opportunity.objects.filter(organization=org).exists()


def test_update_keeps_the_stage_and_journals_the_changes(org, admin):
    opportunity = OpportunityFactory(company__organization=org, probability=10)

    services.update_opportunity(opportunity=opportunity, by=admin, data={"title": "Nouveau", "probability": 70})

    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.probability, opportunity.stage) == ("Nouveau", 70, "lead")
    entry = AuditEntry.objects.for_object(opportunity).get(action="opportunity.updated")
    assert entry.changes["probability"] == [10, 70]
    with pytest.raises(ValidationFailed) as exc:
        services.update_opportunity(opportunity=opportunity, by=admin, data={"stage": "won"})
    assert exc.value.code == "unknown_field"


# --------------------------------------------------------------------------------------------------
# move
# --------------------------------------------------------------------------------------------------
def test_moving_stage_is_journaled_with_before_and_after_and_sets_the_default_probability(org, admin):
    opportunity = OpportunityFactory(company__organization=org, probability=15)

    services.move_opportunity(opportunity=opportunity, by=admin, stage="contract_sent")

    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.probability, opportunity.closed_at) == ("contract_sent", 80, None)
    entry = AuditEntry.objects.for_object(opportunity).get(action="opportunity.stage_changed")
    assert entry.changes == {"stage": ["lead", "contract_sent"], "probability": [15, 80]}


def test_lost_without_a_reason_is_refused_at_its_field_and_changes_nothing(org, admin):
    opportunity = OpportunityFactory(company__organization=org, stage="qualified", probability=25, position=0)
    journal_before = AuditEntry.objects.count()

    with pytest.raises(ValidationFailed) as exc:
        services.move_opportunity(opportunity=opportunity, by=admin, stage="lost", lost_reason="   ")

    assert exc.value.code == "lost_reason_required" and list(exc.value.fields) == ["lost_reason"]
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.probability, opportunity.closed_at, opportunity.lost_reason) == (
        "qualified", 25, None, "",
    )  # fmt: skip
    assert AuditEntry.objects.count() == journal_before


def test_lost_with_a_reason_closes_and_reopening_clears_it(org, admin):
    opportunity = OpportunityFactory(company__organization=org, stage="quote_sent")

    services.move_opportunity(opportunity=opportunity, by=admin, stage="lost", lost_reason="Trop cher")
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.probability, opportunity.lost_reason) == ("lost", 0, "Trop cher")
    assert opportunity.closed_at is not None

    services.move_opportunity(opportunity=opportunity, by=admin, stage="lead")
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.probability, opportunity.lost_reason, opportunity.closed_at) == (
        "lead", 10, "", None,
    )  # fmt: skip


def test_won_closes_and_publishes_the_event_once(org, admin):
    opportunity = OpportunityFactory(company__organization=org, stage="contract_sent")
    received = []

    def handler(*, opportunity, by):  # type: ignore[no-untyped-def]
        received.append((opportunity.pk, opportunity.stage, by))

    events.subscribe("opportunity.won", handler)
    try:
        services.move_opportunity(opportunity=opportunity, by=admin, stage="won")
        services.move_opportunity(opportunity=opportunity, by=admin, stage="won", position=0)
    finally:
        events.unsubscribe("opportunity.won", handler)

    opportunity.refresh_from_db()
    assert received == [(opportunity.pk, "won", admin)]
    assert opportunity.closed_at is not None and opportunity.probability == 100
    assert opportunity.company.kind == "prospect"  # the sales app converts, not the pipeline


def test_positions_stay_consistent_when_reordering_and_moving(org, admin):
    company = CompanyFactory(organization=org)
    a, b, c = (services.create_opportunity(company=company, by=admin, data={"title": t}) for t in "ABC")
    x = services.create_opportunity(company=company, by=admin, data={"title": "X"}, stage="qualified")

    services.move_opportunity(opportunity=c, by=admin, stage="lead", position=0)
    assert column(org, "lead") == [("C", 0), ("A", 1), ("B", 2)]
    assert AuditEntry.objects.for_object(c).get(action="opportunity.reordered").changes == {"position": [2, 0]}

    services.move_opportunity(opportunity=a, by=admin, stage="qualified", position=0)
    assert column(org, "lead") == [("C", 0), ("B", 1)]
    assert column(org, "qualified") == [("A", 0), ("X", 1)]

    services.move_opportunity(opportunity=b, by=admin, stage="qualified", position=99)
    assert column(org, "qualified") == [("A", 0), ("X", 1), ("B", 2)]
    assert column(org, "lead") == [("C", 0)]
    assert x.pk


@pytest.mark.parametrize(
    ("kind", "allowed"), [("administrator", True), ("manager", True), ("reception", False), ("technician", False)]
)
def test_rights_per_predefined_role_for_opportunities(org, staff_of, kind, allowed):
    user = staff_of(kind)
    company = CompanyFactory(organization=org)
    opportunity = OpportunityFactory(company=company)

    if allowed:
        services.create_opportunity(company=company, by=user, data={"title": "Y"})
        services.move_opportunity(opportunity=opportunity, by=user, stage="qualified")
        assert Opportunity.objects.filter(organization=org).count() == 2
    else:
        with pytest.raises(RightsError):
            services.create_opportunity(company=company, by=user, data={"title": "Y"})
        with pytest.raises(RightsError):
            services.move_opportunity(opportunity=opportunity, by=user, stage="qualified")
        opportunity.refresh_from_db()
        assert opportunity.stage == "lead" and Opportunity.objects.filter(organization=org).count() == 1


def test_staff_of_another_organization_cannot_move(org, other_admin):
    opportunity = OpportunityFactory(company__organization=org)

    with pytest.raises(RightsError):
        services.move_opportunity(opportunity=opportunity, by=other_admin, stage="won")

    opportunity.refresh_from_db()
    assert opportunity.stage == "lead"


# --------------------------------------------------------------------------------------------------
# activities
# --------------------------------------------------------------------------------------------------
def test_plan_complete_and_delete_an_activity(org, admin):
    opportunity = OpportunityFactory(company__organization=org)
    when = datetime.datetime(2026, 11, 23, 9, 30, tzinfo=datetime.UTC)

    activity = services.plan_activity(
        company=opportunity.company, by=admin, opportunity=opportunity, data={"kind": "visit", "scheduled_at": when}
    )
    assert (activity.status, activity.staff, activity.opportunity) == ("planned", admin, opportunity)

    services.complete_activity(activity=activity, by=admin, notes="Visite faite, devis à envoyer")
    activity.refresh_from_db()
    assert activity.status == "done" and activity.done_at is not None
    assert activity.notes == "Visite faite, devis à envoyer"
    with pytest.raises(DomainError) as exc:
        services.complete_activity(activity=activity, by=admin)
    assert exc.value.code == "already_done"

    services.delete_activity(activity=activity, by=admin)
    assert not Activity.objects.filter(pk=activity.pk).exists()
    assert AuditEntry.objects.filter(action="activity.deleted", object_id=str(activity.pk)).count() == 1


def test_an_activity_refuses_an_opportunity_of_another_company_and_a_non_staff(org, other_org, admin):
    company = CompanyFactory(organization=org)
    foreign_opportunity = OpportunityFactory(company__organization=org)
    outsider = StaffFactory(organization=other_org).user
    when = datetime.datetime(2026, 11, 23, 9, 30, tzinfo=datetime.UTC)

    with pytest.raises(ValidationFailed) as by_opportunity:
        services.plan_activity(company=company, by=admin, opportunity=foreign_opportunity, data={"scheduled_at": when})
    with pytest.raises(ValidationFailed) as by_staff:
        services.plan_activity(company=company, by=admin, data={"scheduled_at": when, "staff": outsider})

    assert "opportunity" in by_opportunity.value.fields and "staff" in by_staff.value.fields
    assert not Activity.objects.filter(organization=org).exists()


@pytest.mark.parametrize(
    ("kind", "can_add", "can_delete"),
    [("administrator", True, True), ("manager", True, True), ("reception", True, False), ("technician", False, False)],
)
def test_rights_per_predefined_role_for_activities(org, staff_of, kind, can_add, can_delete):
    user = staff_of(kind)
    activity = ActivityFactory(company__organization=org)
    when = datetime.datetime(2026, 11, 23, 9, 30, tzinfo=datetime.UTC)

    if can_add:
        services.plan_activity(company=activity.company, by=user, data={"scheduled_at": when})
    else:
        with pytest.raises(RightsError):
            services.plan_activity(company=activity.company, by=user, data={"scheduled_at": when})
    if can_delete:
        services.delete_activity(activity=activity, by=user)
    else:
        with pytest.raises(RightsError):
            services.delete_activity(activity=activity, by=user)
    assert Activity.objects.filter(pk=activity.pk).exists() is not can_delete


# --------------------------------------------------------------------------------------------------
# selectors
# --------------------------------------------------------------------------------------------------
def test_board_figures_per_stage(org, admin):
    company = CompanyFactory(organization=org)
    OpportunityFactory(company=company, stage="lead", estimated_amount=Decimal("100.00"))
    OpportunityFactory(company=company, stage="lead", estimated_amount=Decimal("250.50"))
    OpportunityFactory(company=company, stage="won", estimated_amount=Decimal("900.00"))
    OpportunityFactory(company__organization=OpportunityFactory().organization)  # another organization

    board = {col.stage: col for col in selectors.opportunity_board(admin, org)}

    assert list(board) == ["lead", "qualified", "quote_sent", "visit_planned", "contract_sent", "won", "lost"]
    assert (board["lead"].count, board["lead"].total, len(board["lead"].cards)) == (2, Decimal("350.50"), 2)
    assert (board["won"].count, board["won"].total) == (1, Decimal("900.00"))
    assert (board["lost"].count, board["lost"].total, board["lost"].cards) == (0, Decimal("0.00"), [])


def test_stage_figures_is_one_query(org, admin, django_assert_num_queries):
    for stage in ("lead", "won", "lost"):
        OpportunityFactory(company__organization=org, stage=stage)
    queryset = selectors.opportunities_for(admin, org)

    with django_assert_num_queries(1):
        figures = selectors.stage_figures(queryset)

    assert set(figures) == {"lead", "won", "lost"}


def test_my_activities_today_follow_the_centers_timezone_day(org, admin):
    CenterFactory(organization=org, name="Nouméa", code="noumea", timezone="Pacific/Noumea")  # UTC+11
    company = CompanyFactory(organization=org)
    other = StaffFactory(organization=org).user
    # 2026-11-23 20:00 UTC is already 2026-11-24 07:00 in Nouméa
    now = datetime.datetime(2026, 11, 23, 20, 0, tzinfo=datetime.UTC)
    noumea = zoneinfo.ZoneInfo("Pacific/Noumea")
    today_early = ActivityFactory(
        company=company, staff=admin, scheduled_at=datetime.datetime(2026, 11, 24, 0, 30, tzinfo=noumea)
    )
    today_late = ActivityFactory(
        company=company, staff=admin, scheduled_at=datetime.datetime(2026, 11, 24, 23, 30, tzinfo=noumea)
    )
    ActivityFactory(company=company, staff=admin, scheduled_at=datetime.datetime(2026, 11, 23, 23, 59, tzinfo=noumea))
    ActivityFactory(company=company, staff=admin, scheduled_at=datetime.datetime(2026, 11, 25, 0, 0, tzinfo=noumea))
    ActivityFactory(company=company, staff=admin, status="done", scheduled_at=now)
    ActivityFactory(company=company, staff=other, scheduled_at=now)

    found = list(selectors.my_activities_today(admin, org, now=now))

    assert found == [today_early, today_late]
