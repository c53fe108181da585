"""« Formules et crédits » (a company's tab) and « Formules attribuées » (the list): assigning, ending, giving
credits, the balance and the ledger; refusals at their field with nothing changed; rights; other organizations;
pinned query counts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.bookings.models import CreditEntry, PlanAssignment
from comptoir.bookings.services import credits
from comptoir.bookings.tests.factories import BookingFactory, PackFactory, PlanAssignmentFactory, PlanFactory
from comptoir.core.models import AuditEntry
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def company(org):
    return CompanyFactory(organization=org, name="Acme Conseil", kind="client")


def tab(client, company):
    return client.get(reverse("bookings:company_plans", args=[company.pk]))


def test_the_company_page_has_the_plans_tab(org, admin, staff_client, company):
    page = staff_client(admin).get(company.get_absolute_url()).content.decode()

    assert reverse("bookings:company_plans", args=[company.pk]) in page
    assert "Formules et crédits" in page


def test_the_tab_shows_plans_balance_and_ledger(org, admin, staff_client, company):
    alice = ContactFactory(company=company, first_name="Alice", last_name="Martin")
    plan = PlanFactory(organization=org, name="Abonnement Nomade", credits=Decimal("10"))
    credits.assign_plan(company=company, by=admin, data={"plan": plan})
    credits.grant_gesture(company=company, by=admin, data={"amount": "3", "contact": alice, "note": "Bienvenue"})
    booking = BookingFactory(space__organization=org, company=company)
    grant = CreditEntry.objects.get(company=company, contact=None, kind=CreditEntry.Kind.GRANT)
    CreditEntry.objects.create(organization=org, company=company, kind=CreditEntry.Kind.SPEND, amount=Decimal("-2.5"),
                               grant=grant, booking=booking, note="Réservation")  # fmt: skip

    page = tab(staff_client(admin), company).content.decode()

    assert "Abonnement Nomade" in page and "Toute l&#x27;entreprise" in page
    assert 'data-balance="company">7,50<' in page
    assert f'data-balance="{alice.pk}">3<' in page
    assert "Bienvenue" in page and "-2,50" in page and "+10" in page
    assert reverse("bookings:detail", args=[booking.pk]) in page
    assert f"du {TODAY:%d/%m/%Y}" in page


def test_assigning_a_plan_grants_its_first_credits(org, admin, staff_client, company):
    plan = PlanFactory(organization=org, credits=Decimal("8"))
    alice = ContactFactory(company=company)

    answer = staff_client(admin).post(reverse("bookings:company_plan_assign", args=[company.pk]),
                                      {"plan": plan.pk, "contact": alice.pk, "starts_on": TODAY.isoformat()})  # fmt: skip

    assert answer.status_code == 302 and answer["Location"].endswith("?tab=plans")
    assignment = PlanAssignment.objects.get(company=company)
    assert (assignment.plan, assignment.contact, assignment.starts_on) == (plan, alice, TODAY)
    assert credits.balance(company, alice, TODAY) == Decimal("8.00")
    assert AuditEntry.objects.filter(action="plan.assigned").count() == 1


def test_assigning_a_pack_by_htmx_answers_the_tab(org, admin, staff_client, company):
    pack = PackFactory(organization=org, credits=Decimal("20"), validity_days=30)

    answer = staff_client(admin).post(reverse("bookings:company_plan_assign", args=[company.pk]),
                                      {"plan": pack.pk, "starts_on": TODAY.isoformat()}, HTTP_HX_REQUEST="true")  # fmt: skip

    assert answer.status_code == 200
    assert 'id="company-plans"' in answer.content.decode()
    assert PlanAssignment.objects.get(company=company).ends_on == TODAY + datetime.timedelta(days=29)


def test_an_inactive_plan_or_another_companys_member_is_refused_at_its_field(org, admin, staff_client, company):
    inactive = PlanFactory(organization=org, is_active=False)
    active = PlanFactory(organization=org)
    stranger = ContactFactory(company=CompanyFactory(organization=org))
    web = staff_client(admin)
    url = reverse("bookings:company_plan_assign", args=[company.pk])

    first = web.post(url, {"plan": inactive.pk, "starts_on": TODAY.isoformat()})
    second = web.post(url, {"plan": active.pk, "contact": stranger.pk, "starts_on": TODAY.isoformat()})
    third = web.post(url, {"plan": active.pk, "starts_on": TODAY.isoformat(),
                           "ends_on": (TODAY - datetime.timedelta(days=3)).isoformat()})  # fmt: skip

    assert first.status_code == second.status_code == third.status_code == 400
    assert "Sélectionnez un choix valide" in first.content.decode()  # not among the plans on offer
    assert "Sélectionnez un choix valide" in second.content.decode()
    assert "La fin doit être après le début." in third.content.decode()
    assert not PlanAssignment.objects.exists() and not CreditEntry.objects.exists()


def test_ending_a_plan(org, admin, staff_client, company):
    assignment = PlanAssignmentFactory(company=company, starts_on=TODAY - datetime.timedelta(days=40))
    web = staff_client(admin)

    answer = web.post(reverse("bookings:plan_end", args=[assignment.pk]), {"ends_on": TODAY.isoformat()})
    again = web.post(reverse("bookings:plan_end", args=[assignment.pk]), {"ends_on": TODAY.isoformat()},
                     follow=True)  # fmt: skip

    assignment.refresh_from_db()
    assert answer.status_code == 302
    assert (assignment.status, assignment.ends_on) == (PlanAssignment.Status.ENDED, TODAY)
    assert "Cette formule est déjà terminée." in again.content.decode()


def test_ending_needs_post(org, admin, staff_client, company):
    assignment = PlanAssignmentFactory(company=company)

    assert staff_client(admin).get(reverse("bookings:plan_end", args=[assignment.pk])).status_code == 405


def test_giving_credits(org, admin, staff_client, company):
    web = staff_client(admin)
    url = reverse("bookings:company_credit_grant", args=[company.pk])

    answer = web.post(url, {"amount": "5", "days": "30", "note": "Geste"})
    refused = web.post(url, {"amount": "0", "days": "30"})
    too_long = web.post(url, {"amount": "2", "days": "99999"})

    assert answer.status_code == 302
    entry = CreditEntry.objects.get()
    assert (entry.amount, entry.valid_until, entry.note) == (Decimal("5.00"), TODAY + datetime.timedelta(days=30),
                                                             "Geste")  # fmt: skip
    assert refused.status_code == 400 and "Le nombre de crédits doit être positif." in refused.content.decode()
    assert too_long.status_code == 400
    assert CreditEntry.objects.count() == 1


def test_reception_sees_the_tab_but_cannot_assign_or_give(org, staff_of, staff_client, company):
    plan = PlanFactory(organization=org)
    web = staff_client(staff_of("reception"))

    page = tab(web, company)
    assign = web.post(reverse("bookings:company_plan_assign", args=[company.pk]),
                      {"plan": plan.pk, "starts_on": TODAY.isoformat()})  # fmt: skip
    give = web.post(reverse("bookings:company_credit_grant", args=[company.pk]), {"amount": "5", "days": "30"})

    assert page.status_code == 200 and "Attribuer une formule" not in page.content.decode()
    assert "Offrir des crédits" not in page.content.decode()
    assert assign.status_code == give.status_code == 403
    assert not PlanAssignment.objects.exists() and not CreditEntry.objects.exists()


def test_a_technician_cannot_open_the_tab_or_the_list(org, staff_of, staff_client, company):
    web = staff_client(staff_of("technician"))

    assert tab(web, company).status_code == 403
    assert web.get(reverse("bookings:plan_list")).status_code == 403


def test_another_organizations_company_and_assignment_answer_404(org, admin, staff_client, other_org):
    foreign = CompanyFactory(organization=other_org)
    assignment = PlanAssignmentFactory(company=foreign)
    plan = PlanFactory(organization=other_org)
    web = staff_client(admin)

    answers = [
        tab(web, foreign),
        web.post(reverse("bookings:company_plan_assign", args=[foreign.pk]), {"plan": plan.pk}),
        web.post(reverse("bookings:company_credit_grant", args=[foreign.pk]), {"amount": "5", "days": "3"}),
        web.post(reverse("bookings:plan_end", args=[assignment.pk])),
        web.get(reverse("bookings:plan_end", args=[assignment.pk])),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assignment.refresh_from_db()
    assert assignment.status == PlanAssignment.Status.ACTIVE
    assert PlanAssignment.objects.count() == 1 and not CreditEntry.objects.filter(company=foreign).exists()


def test_the_list_shows_and_filters_assignments(org, admin, staff_client, company, other_org):
    other = CompanyFactory(organization=org, name="Bêta Studio")
    PlanAssignmentFactory(company=company, plan=PlanFactory(organization=org, name="Abonnement Nomade"))
    ended = PlanAssignmentFactory(company=other, plan=PackFactory(organization=org, name="Pack 10 heures"),
                                  status=PlanAssignment.Status.ENDED)  # fmt: skip
    PlanAssignmentFactory(company=CompanyFactory(organization=other_org),
                          plan=PlanFactory(organization=other_org, name="Formule étrangère"))  # fmt: skip
    web = staff_client(admin)

    everything = web.get(reverse("bookings:plan_list")).content.decode()
    only_ended = web.get(reverse("bookings:plan_list"), {"status": "ended"}).content.decode()

    assert "Abonnement Nomade" in everything and "Pack 10 heures" in everything
    assert "Formule étrangère" not in everything
    assert f"{company.get_absolute_url()}?tab=plans" not in only_ended
    assert f"{other.get_absolute_url()}?tab=plans" in only_ended
    assert ended.pk


def test_the_list_and_the_tab_make_the_same_number_of_queries_for_3_or_30_rows(org, admin, staff_client, company,
                                                                               django_assert_num_queries):  # fmt: skip
    web = staff_client(admin)

    def fill(count):
        for _index in range(count):
            contact = ContactFactory(company=company)
            credits.assign_plan(company=company, by=admin, data={"plan": PlanFactory(organization=org),
                                                                  "contact": contact})  # fmt: skip
            credits.grant_gesture(company=company, by=admin, data={"amount": "1", "contact": contact})
            PlanAssignmentFactory(company=CompanyFactory(organization=org))

    def count(url):
        web.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert web.get(url).status_code == 200
        return len(queries)

    urls = [reverse("bookings:plan_list"), reverse("bookings:company_plans", args=[company.pk])]
    fill(3)
    small = [count(url) for url in urls]
    fill(27)
    large = [count(url) for url in urls]

    assert large == small
    # the list: session, user, organization, membership, staff centers, count, rows, menu, the plan filter's choices;
    # the tab: the company, assignments, grants valid today and their uses, the ledger, the forms' choices
    assert small == [9, 14]
    with django_assert_num_queries(9):
        web.get(urls[0])


def test_the_menu_lists_the_planning_and_the_assigned_plans(org, admin, staff_of, staff_client):
    page = staff_client(admin).get(reverse("bookings:plan_list")).content.decode()

    assert "Planning des services" in page and reverse("bookings:planning") in page
    assert "Formules attribuées" in page
