"""The CRM's demo data: 200 valid companies with members, a portal member, the pipeline; idempotent, deterministic."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from comptoir.core import demo, tenancy, validators
from comptoir.core.models import AuditEntry, Organization, User
from comptoir.crm import capabilities
from comptoir.crm.demo import plan_companies
from comptoir.crm.models import Action, Activity, Company, Contact, MarketingSource, Note, Opportunity

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def test_crm_demo_builds_companies_members_pipeline_and_a_portal_member_and_a_rerun_creates_nothing():
    first = demo.build_demo()
    organization = first.organization
    before = row_counts()

    second = demo.build_demo()

    assert second.created == {}
    assert row_counts() == before

    sources = MarketingSource.objects.filter(organization=organization)
    assert sorted(sources.values_list("name", flat=True)) == sorted(
        ["Site web", "Salon Bureaux & Co", "Bouche-à-oreille", "LinkedIn", "Apporteur d'affaires"]
    )
    assert sources.filter(cost__gt=0).count() == 4

    companies = Company.objects.filter(organization=organization)
    assert companies.count() == 200
    kinds = Counter(companies.values_list("kind", flat=True))
    assert 100 <= kinds["client"] <= 140 and kinds["prospect"] == 200 - kinds["client"]
    assert companies.filter(legal_type=Company.LegalType.INDIVIDUAL).count() >= 3
    assert companies.filter(status=Company.Status.SUSPENDED).exists()
    assert companies.filter(status=Company.Status.INACTIVE).exists()
    assert companies.filter(is_archived=True).exists()
    assert companies.filter(kind=Company.Kind.CLIENT, converted_at__isnull=False).count() == kinds["client"]
    with_siret = companies.exclude(siret="")
    assert with_siret.count() >= 50
    for company in with_siret:
        validators.validate_siret(company.siret)
        validators.validate_siren(company.siren)
        validators.validate_vat_number(company.vat_number)
        assert company.siret.startswith(company.siren)
    staff_ids = {user.pk for user in first.staff.values()}
    centers = {center.pk: center.city for center in first.centers.values()}
    for company in companies:
        assert company.account_manager_id in staff_ids
        assert centers[company.center_id] == company.city
    # clients were converted from prospects: the journal says so
    conversions = AuditEntry.objects.filter(organization=organization, action="company.converted").count()
    assert conversions == kinds["client"]

    members = Counter(Contact.objects.filter(organization=organization).values_list("company_id", flat=True))
    assert set(members) == set(companies.values_list("pk", flat=True))
    assert max(members.values()) <= 5  # 1-4 members (+ the portal member)
    assert Contact.objects.filter(organization=organization, is_main=True).count() == 200
    assert (
        not Contact.objects.filter(organization=organization, job_function__isnull=True)
        .exclude(email__startswith="membre@")
        .exists()
    )
    assert set(Contact.objects.filter(organization=organization).values_list("company_role", flat=True)) == {
        "administrator", "manager", "user",
    }  # fmt: skip

    # the pipeline: every stage, lost ones with a reason; activities done, today and to come; notes; actions
    stages = set(Opportunity.objects.filter(organization=organization).values_list("stage", flat=True))
    assert stages == set(Opportunity.Stage.values)
    assert not Opportunity.objects.filter(organization=organization, stage="lost", lost_reason="").exists()
    today = timezone.localdate()
    activities = Activity.objects.filter(organization=organization)
    assert activities.filter(status=Activity.Status.DONE).exists()
    for kind in ("administrator", "manager"):
        assert activities.filter(
            staff=first.staff[kind], status=Activity.Status.PLANNED, scheduled_at__date=today
        ).exists()
    assert activities.filter(scheduled_at__date__gt=today).exists()
    assert Note.objects.filter(organization=organization).count() >= 50
    actions = Action.objects.filter(organization=organization, completed_at__isnull=True)
    assert actions.filter(due_date__lt=today).exists() and actions.filter(due_date=today).exists()


def test_the_demo_portal_member_is_a_company_administrator_who_enters_the_portal():
    ctx = demo.build_demo()

    user = User.objects.get(email="membre@demo.comptoir.test")
    assert user.is_active and user.check_password(demo.DEMO_PASSWORD)
    contact = Contact.objects.get(user=user)
    assert contact.company.kind == Company.Kind.CLIENT
    assert contact.company_role == Contact.CompanyRole.ADMINISTRATOR and contact.has_portal_access
    assert capabilities.can(contact, "manage_members")
    assert tenancy.can_enter_portal(user, ctx.organization)
    assert ctx.portal_logins == [
        (f"Membre, administrateur de « {contact.company.name} »", user.email, demo.DEMO_PASSWORD)
    ]


def test_the_demo_command_prints_the_portal_login_and_a_second_tenant_gets_its_own():
    out = io.StringIO()
    call_command("demo", stdout=out)
    call_command("demo", "--org", "acme", stdout=io.StringIO())

    text = out.getvalue()
    assert "/portal/login/" in text
    assert "membre@demo.comptoir.test" in text
    acme = Organization.objects.get(slug="acme")
    assert Company.objects.filter(organization=acme).count() == 200
    assert Contact.objects.get(email="membre@acme.comptoir.test").organization_id == acme.pk


def test_the_plan_is_deterministic_and_per_tenant():
    today = timezone.localdate()
    first, again, other = plan_companies("demo", today), plan_companies("demo", today), plan_companies("acme", today)

    assert [plan.data for plan in first] == [plan.data for plan in again]
    assert [plan.name for plan in first] != [plan.name for plan in other]
    assert len({plan.name for plan in first}) == 200
