"""The demo organization: complete, valid, idempotent, and buildable for several tenants side by side."""

from __future__ import annotations

import datetime
import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from comptoir.core import demo, rights, validators
from comptoir.core.models import AuditEntry, Center, LegalEntity, OpeningHours, Organization, StaffMembership, User

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    """Rows of every table of the project (models and many-to-many tables), to prove a rerun writes nothing."""
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            counts[model._meta.db_table] = model._base_manager.count()
    return counts


def test_demo_builds_an_operator_with_entity_centers_and_staff():
    ctx = demo.build_demo()

    organization = Organization.objects.get(slug="demo")
    assert organization.name == "Comptoir Démo"
    entity = LegalEntity.objects.get(organization=organization)
    assert entity == ctx.legal_entity
    entity.full_clean()  # every identifier passes the project's validators
    validators.validate_siren(entity.siren)
    validators.validate_siret(entity.siret)
    validators.validate_vat_number(entity.vat_number)
    validators.validate_iban(entity.iban)
    validators.validate_bic(entity.bic)
    validators.validate_sepa_creditor_id(entity.sepa_creditor_id)
    assert entity.siret.startswith(entity.siren)
    assert entity.vat_number == f"FR{(12 + 3 * (int(entity.siren) % 97)) % 97:02d}{entity.siren}"

    centers = Center.objects.filter(organization=organization).order_by("name")
    assert [(center.city, center.legal_entity_id) for center in centers] == [
        ("Bordeaux", entity.pk),
        ("Lyon", entity.pk),
        ("Paris", entity.pk),
    ]
    for center in centers:
        center.full_clean()
        assert center.address_line1 and center.postal_code
    hours = {
        center.city: [(h.weekday, h.opens_at, h.closes_at) for h in center.opening_hours.order_by("weekday")]
        for center in centers
    }
    weekdays = [(day, datetime.time(8), datetime.time(19)) for day in range(5)]
    assert hours["Lyon"] == hours["Bordeaux"] == weekdays
    assert hours["Paris"] == [*weekdays, (5, datetime.time(9), datetime.time(13))]


def test_demo_staff_hold_each_predefined_role_and_log_in_with_the_printed_password():
    demo.build_demo()
    organization = Organization.objects.get(slug="demo")

    staff = {
        membership.role.kind: membership
        for membership in StaffMembership.objects.filter(organization=organization).select_related("user", "role")
    }
    assert {kind: membership.user.email for kind, membership in staff.items()} == {
        "administrator": "admin@demo.comptoir.test",
        "manager": "manager@demo.comptoir.test",
        "reception": "reception@demo.comptoir.test",
        "technician": "technician@demo.comptoir.test",
    }
    for membership in staff.values():
        assert membership.is_active and membership.user.is_active
        assert membership.user.check_password(demo.DEMO_PASSWORD)
    assert [center.city for center in staff["reception"].centers.all()] == ["Paris"]
    assert not staff["manager"].centers.exists()
    admin = staff["administrator"].user
    assert rights.has_right(admin, "core.delete_center", organization)
    assert not rights.has_right(staff["technician"].user, "core.add_center", organization)
    # built through the services: the journal tells the story
    actions = set(AuditEntry.objects.filter(organization=organization).values_list("action", flat=True))
    assert {"organization.created", "legal_entity.created", "center.created", "staff.added"} <= actions


def test_demo_is_idempotent():
    first = demo.build_demo()
    before = row_counts()

    second = demo.build_demo()

    assert first.created["centers"] == 3
    assert second.created == {}
    assert row_counts() == before
    assert second.organization == first.organization
    assert {code: center.pk for code, center in second.centers.items()} == {
        code: center.pk for code, center in first.centers.items()
    }


def test_two_demo_tenants_side_by_side():
    call_command("demo", stdout=io.StringIO())
    call_command("demo", "--org", "acme", stdout=io.StringIO())
    call_command("demo", "--org", "acme", stdout=io.StringIO())  # and again: still no duplicate

    demo_org, acme = Organization.objects.get(slug="demo"), Organization.objects.get(slug="acme")
    assert acme.name == "Comptoir Démo (acme)"
    for organization in (demo_org, acme):
        assert Center.objects.filter(organization=organization).count() == 3
        assert LegalEntity.objects.filter(organization=organization).count() == 1
        assert StaffMembership.objects.filter(organization=organization).count() == 4
    assert OpeningHours.objects.count() == 2 * (5 + 5 + 6)
    staff_users = User.objects.filter(email__endswith="@acme.comptoir.test").exclude(email__startswith="membre@")
    assert staff_users.count() == 4  # (membre@ is the CRM's portal member)
    demo_entity = LegalEntity.objects.get(organization=demo_org)
    acme_entity = LegalEntity.objects.get(organization=acme)
    assert demo_entity.siren != acme_entity.siren and demo_entity.iban != acme_entity.iban
    # each tenant's staff stays in its tenant
    demo_admin = User.objects.get(email="admin@demo.comptoir.test")
    assert rights.is_staff_of(demo_admin, demo_org) and not rights.is_staff_of(demo_admin, acme)
    reception = StaffMembership.objects.get(organization=acme, user__email="reception@acme.comptoir.test")
    assert [center.organization_id for center in reception.centers.all()] == [acme.pk]


def test_demo_command_prints_the_staff_login():
    out = io.StringIO()

    call_command("demo", stdout=out)

    text = out.getvalue()
    assert "http://127.0.0.1:8000/accounts/login/" in text
    assert "admin@demo.comptoir.test" in text and demo.DEMO_PASSWORD in text
    assert "reception@demo.comptoir.test" in text


def test_demo_command_refuses_a_slug_that_is_not_one():
    with pytest.raises(CommandError):
        call_command("demo", "--org", "Not A Slug", stdout=io.StringIO())
    assert not Organization.objects.exists()


def test_apps_extend_the_demo_with_registered_steps(monkeypatch):
    monkeypatch.setattr(demo, "_steps", list(demo._steps))
    seen = {}

    def spaces(ctx: demo.DemoContext) -> None:
        seen["centers"] = sorted(ctx.centers)
        seen["staff"] = sorted(ctx.staff)

    demo.register_demo_step(25, spaces)
    demo.register_demo_step(25, spaces)  # registering twice runs it once

    demo.build_demo()

    assert seen == {"centers": ["bordeaux-chartrons", "lyon-part-dieu", "paris-opera"], "staff": ["administrator"]}
    assert [name for _order, name, _fn in demo.demo_steps()].count(f"{__name__}.{spaces.__qualname__}") == 1


def test_a_failing_step_leaves_nothing_behind(monkeypatch):
    monkeypatch.setattr(demo, "_steps", list(demo._steps))

    def broken(ctx: demo.DemoContext) -> None:
        raise RuntimeError("boom")

    demo.register_demo_step(99, broken)

    with pytest.raises(RuntimeError):
        demo.build_demo()
    assert not Organization.objects.exists() and not User.objects.exists()
