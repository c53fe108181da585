"""Back office (/manage/) and account (/accounts/) pages of the core app."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from comptoir.core import rights, services
from comptoir.core.models import ApiToken, AuditEntry, Center, LegalEntity, Organization, Role, StaffMembership, User
from comptoir.core.tests.factories import (
    CenterFactory,
    LegalEntityFactory,
    StaffFactory,
    UserFactory,
    role,
)

pytestmark = pytest.mark.django_db

CORE_MENU = {
    "manage:staff_list",
    "manage:role_matrix",
    "manage:organization_settings",
    "manage:legalentity_list",
    "manage:center_list",
    "manage:apitoken_list",
    "manage:journal_list",
}


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def menu_names(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {entry.url_name for section in response.context["menu"] for entry in section["entries"]}


@pytest.fixture
def world(org, admin, center):  # type: ignore[no-untyped-def]
    """One object of each kind in `org`, for the pages that show one."""
    services.update_center(center=center, by=admin, data={"name": "Paris Bourse"})
    reception = StaffMembership.objects.get(user=StaffFactory(organization=org, kind="reception").user)
    custom = services.create_role(organization=org, by=admin, name="Comptable", permission_names=["core.view_center"])
    token, _raw = services.create_api_token(organization=org, user=admin, by=admin, name="Compta")
    return {"center": center, "entity": center.legal_entity, "staff": reception, "role": custom, "token": token}


def page_urls(world) -> list[str]:  # type: ignore[no-untyped-def]
    center, entity, staff, custom = world["center"], world["entity"], world["staff"], world["role"]
    return [
        reverse("manage:home"),
        reverse("manage:organization_settings"),
        reverse("manage:legalentity_list"),
        reverse("manage:legalentity_create"),
        reverse("manage:legalentity_detail", args=[entity.pk]),
        reverse("manage:legalentity_edit", args=[entity.pk]),
        reverse("manage:legalentity_centers", args=[entity.pk]),
        reverse("manage:center_list"),
        reverse("manage:center_create"),
        reverse("manage:center_detail", args=[center.pk]),
        reverse("manage:center_edit", args=[center.pk]),
        reverse("manage:center_hours", args=[center.pk]),
        reverse("manage:staff_list"),
        reverse("manage:staff_create"),
        reverse("manage:staff_detail", args=[staff.pk]),
        reverse("manage:staff_edit", args=[staff.pk]),
        reverse("manage:role_matrix"),
        reverse("manage:role_create"),
        reverse("manage:role_edit", args=[custom.pk]),
        reverse("manage:role_delete", args=[custom.pk]),
        reverse("manage:apitoken_list"),
        reverse("manage:apitoken_create"),
        reverse("manage:journal_list"),
    ]


# --------------------------------------------------------------------------------------------------
# Every page, both languages
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_back_office_page_renders_for_the_administrator(language, admin, world, staff_client):
    client = staff_client(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    for url in page_urls(world):
        response = client.get(url)

        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in html(response), url
        assert menu_names(response) >= CORE_MENU, url


@pytest.mark.parametrize("language", ["fr", "en"])
def test_account_pages_render_in_both_languages(language, client):
    for url in [
        reverse("accounts:login"),
        reverse("accounts:password_reset"),
        reverse("accounts:password_reset_done"),
        reverse("accounts:password_reset_complete"),
        reverse("accounts:activate", args=["MQ", "bad-token"]),
    ]:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)

        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in html(response), url


def test_pages_speak_french_by_default_with_french_formats(admin, world, staff_client):
    client = staff_client(admin)

    response = client.get(reverse("manage:center_detail", args=[world["center"].pk]))

    page = html(response)
    assert '<html lang="fr">' in page
    assert "Tableau de bord" in page and "Historique" in page and "Fermé" in page
    assert re.search(r"\d{2}/\d{2}/\d{4}", page)  # 23/11/2026


# --------------------------------------------------------------------------------------------------
# Access: anonymous, non-staff, roles
# --------------------------------------------------------------------------------------------------
def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("manage:center_list"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={reverse('manage:center_list')}"


def test_htmx_request_of_an_anonymous_visitor_redirects_the_whole_page(client):
    response = client.get(reverse("manage:center_list"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_a_user_who_is_not_staff_gets_403(client, org):
    outsider = UserFactory()
    client.force_login(outsider, backend="comptoir.core.auth.EmailBackend")

    response = client.get(reverse("manage:home"))

    assert response.status_code == 403
    assert "Accès refusé" in html(response)


def test_staff_of_another_organization_cannot_work_in_this_one(client, org, other_admin, center):
    client.force_login(other_admin, backend="comptoir.core.auth.EmailBackend")
    session = client.session
    session["organization_id"] = org.pk  # forged: the user is not staff of org
    session.save()

    response = client.get(reverse("manage:center_detail", args=[center.pk]))

    assert response.status_code == 404  # the session falls back to their own organization


EXPECTED_MENU = {
    "administrator": CORE_MENU,
    "manager": CORE_MENU,
    "reception": {"manage:staff_list", "manage:organization_settings", "manage:center_list", "manage:apitoken_list"},
    "technician": {"manage:center_list", "manage:apitoken_list"},
}


@pytest.mark.parametrize("kind", ["administrator", "manager", "reception", "technician"])
def test_menu_shows_exactly_the_entries_the_role_allows(kind, staff_of, staff_client):
    client = staff_client(staff_of(kind))

    response = client.get(reverse("manage:home"))

    assert response.status_code == 200
    shown = {name for name in menu_names(response) if name.startswith("manage:")}
    assert shown == EXPECTED_MENU[kind]
    page = html(response)
    for name in CORE_MENU - EXPECTED_MENU[kind]:
        assert f'href="{reverse(name)}"' not in page


FORBIDDEN_PAGES = {
    "manager": ["manage:staff_create", "manage:legalentity_create", "manage:role_create"],
    "reception": [
        "manage:role_matrix",
        "manage:legalentity_list",
        "manage:journal_list",
        "manage:center_create",
        "manage:staff_create",
        "manage:apitoken_create",
    ],
    "technician": [
        "manage:staff_list",
        "manage:organization_settings",
        "manage:role_matrix",
        "manage:legalentity_list",
        "manage:journal_list",
        "manage:center_create",
    ],
}


@pytest.mark.parametrize("kind", sorted(FORBIDDEN_PAGES))
def test_pages_without_the_right_answer_403(kind, staff_of, staff_client):
    client = staff_client(staff_of(kind))

    for name in FORBIDDEN_PAGES[kind]:
        response = client.get(reverse(name))

        assert response.status_code == 403, name
        assert "Accès refusé" in html(response)


def test_posts_without_the_right_change_nothing(org, center, staff_of, staff_client):
    entity = center.legal_entity
    technician = staff_client(staff_of("technician"))
    before_centers = Center.objects.filter(organization=org).count()
    before_journal = AuditEntry.objects.count()

    responses = [
        technician.post(reverse("manage:center_create"), {"name": "Lyon", "code": "lyon", "legal_entity": entity.pk}),
        technician.post(reverse("manage:center_edit", args=[center.pk]), {"name": "Piraté", "code": "x"}),
        technician.post(reverse("manage:center_hours", args=[center.pk]), {}),
        technician.post(reverse("manage:organization_settings"), {"name": "Piraté"}),
        technician.post(reverse("manage:legalentity_edit", args=[entity.pk]), {"name": "Piraté"}),
        technician.post(
            reverse("manage:staff_create"), {"email": "new@example.test", "role": role(org, "administrator").pk}
        ),
        technician.post(reverse("manage:role_create"), {"name": "Super"}),
        technician.post(reverse("manage:apitoken_create"), {"name": "x"}),
    ]

    assert [response.status_code for response in responses] == [403] * len(responses)
    assert Center.objects.filter(organization=org).count() == before_centers
    center.refresh_from_db()
    assert center.name == "Paris Opéra"
    assert Organization.objects.get(pk=org.pk).name == "Opérateur A"
    assert LegalEntity.objects.get(pk=entity.pk).name == entity.name
    assert not User.objects.filter(email="new@example.test").exists()
    assert not Role.objects.filter(name="Super").exists()
    assert not ApiToken.objects.filter(name="x").exists()
    assert AuditEntry.objects.count() == before_journal


def test_reception_reads_the_organization_but_cannot_save_it(org, staff_of, staff_client):
    client = staff_client(staff_of("reception"))

    page = client.get(reverse("manage:organization_settings"))
    refused = client.post(reverse("manage:organization_settings"), {"name": "Piraté"})

    assert page.status_code == 200 and page.context["form"] is None
    assert "Opérateur A" in html(page)
    assert refused.status_code == 403
    assert Organization.objects.get(pk=org.pk).name == "Opérateur A"


# --------------------------------------------------------------------------------------------------
# Tenancy: every object URL answers 404 for another organization's object
# --------------------------------------------------------------------------------------------------
def _manage_object_patterns() -> list[str]:
    resolver = get_resolver()
    manage = next(
        pattern for pattern in resolver.url_patterns if getattr(pattern, "namespace", None) == "manage"
    ).url_patterns
    return [p.name for p in manage if isinstance(p, URLPattern) and "pk" in p.pattern.converters]


def test_every_object_url_hides_another_organizations_objects(org, admin, other_org, other_admin, staff_client):
    other_center = CenterFactory(organization=other_org)
    other_token, _raw = services.create_api_token(organization=other_org, user=other_admin, by=None, name="B")
    foreign = {
        "center": other_center.pk,
        "legalentity": other_center.legal_entity_id,
        "staff": StaffMembership.objects.get(user=other_admin).pk,
        "role": role(other_org, "manager").pk,
        "apitoken": other_token.pk,
    }
    client = staff_client(admin)
    names = _manage_object_patterns()

    assert len(names) >= 12
    for name in names:
        url = reverse(f"manage:{name}", args=[foreign[name.split("_")[0]]])
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"name": "x"}).status_code == 404, name
    other_center.refresh_from_db()
    other_token.refresh_from_db()
    assert other_token.revoked_at is None
    assert Role.objects.filter(pk=foreign["role"]).exists()


# --------------------------------------------------------------------------------------------------
# Organization switcher and language
# --------------------------------------------------------------------------------------------------
def test_staff_of_two_organizations_switches_between_them(org, other_org, admin, staff_client):
    StaffFactory(organization=other_org, user=admin, kind="reception")
    client = staff_client(admin)

    home = client.get(reverse("manage:home"))
    response = client.post(reverse("manage:switch_organization"), {"organization": other_org.pk})

    assert 'id="org-switcher"' in html(home)
    assert response.status_code == 302 and response["Location"] == reverse("manage:home")
    assert client.session["organization_id"] == other_org.pk
    followed = client.get(reverse("manage:home"))
    assert followed.context["current_organization"] == other_org
    assert menu_names(followed) & CORE_MENU == EXPECTED_MENU["reception"]


def test_switching_to_an_organization_one_is_not_staff_of_is_refused(org, other_org, admin, staff_client):
    client = staff_client(admin)

    response = client.post(reverse("manage:switch_organization"), {"organization": other_org.pk})
    garbage = client.post(reverse("manage:switch_organization"), {"organization": "abc"})

    assert response.status_code == 404 and garbage.status_code == 404
    assert client.session["organization_id"] == org.pk


def test_language_switch_sets_english(admin, staff_client):
    client = staff_client(admin)

    response = client.post("/i18n/setlang/", {"language": "en", "next": reverse("manage:home")})
    page = client.get(reverse("manage:home"))

    assert response.status_code == 302
    assert '<html lang="en">' in html(page)


# --------------------------------------------------------------------------------------------------
# Organization, legal entities, centers
# --------------------------------------------------------------------------------------------------
def test_organization_settings_saves_through_the_service(org, admin, staff_client):
    client = staff_client(admin)

    response = client.post(
        reverse("manage:organization_settings"),
        {"name": "Opérateur A Bis", "email": "contact@a.test", "phone": "", "website": ""},
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "Opérateur A Bis" and org.email == "contact@a.test"
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.changes["name"] == ["Opérateur A", "Opérateur A Bis"]


def test_invalid_organization_input_shows_the_error_at_the_field(org, admin, staff_client):
    client = staff_client(admin)

    response = client.post(reverse("manage:organization_settings"), {"name": "", "email": "pas-un-email"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "email"}
    org.refresh_from_db()
    assert org.name == "Opérateur A" and org.email == ""


LEGAL_ENTITY = {
    "name": "Comptoir Lyon SAS",
    "legal_form": "SAS",
    "siren": "732 829 320",
    "siret": "732 829 320 00074",
    "vat_number": "FR 44 732829320",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPPXXX",
    "sepa_creditor_id": "FR72ZZZ123456",
    "country": "FR",
    "is_active": "on",
}


def test_create_legal_entity_with_spaced_identifiers_and_a_logo(org, admin, staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    gif = (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )
    client = staff_client(admin)

    response = client.post(
        reverse("manage:legalentity_create"), {**LEGAL_ENTITY, "logo": SimpleUploadedFile("logo.gif", gif, "image/gif")}
    )

    entity = LegalEntity.objects.get(organization=org, name="Comptoir Lyon SAS")
    assert response.status_code == 302 and response["Location"] == entity.get_absolute_url()
    assert (entity.siren, entity.siret, entity.iban) == ("732829320", "73282932000074", "FR7630006000011234567890189")
    assert entity.logo.name.startswith("logos/")
    assert AuditEntry.objects.filter(action="legal_entity.created", object_id=str(entity.pk)).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siren", "123456789"),
        ("siret", "12345678900000"),
        ("vat_number", "FR00123456789"),
        ("iban", "FR00 1234"),
        ("bic", "NOPE"),
        ("sepa_creditor_id", "XX00ZZZ1"),
    ],
)
def test_invalid_identifier_is_shown_at_its_field_and_nothing_is_created(field, value, org, admin, staff_client):
    client = staff_client(admin)
    data = {**LEGAL_ENTITY, field: value}
    if field == "siren":
        data["siret"] = ""

    response = client.post(reverse("manage:legalentity_create"), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="invalid-feedback d-block"' in html(response)
    assert not LegalEntity.objects.filter(organization=org).exists()


def test_edit_legal_entity_records_only_the_changed_fields(org, admin, staff_client):
    entity = LegalEntityFactory(organization=org, name="Ancien nom SAS")
    client = staff_client(admin)
    form = client.get(reverse("manage:legalentity_edit", args=[entity.pk])).context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, "") and name != "logo"}
    data["is_active"] = "on"

    response = client.post(reverse("manage:legalentity_edit", args=[entity.pk]), {**data, "name": "Nouveau nom SAS"})

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="legal_entity.updated")
    assert entry.changes == {"name": ["Ancien nom SAS", "Nouveau nom SAS"]}


def test_center_create_then_hours_then_detail(org, admin, staff_client):
    entity = LegalEntityFactory(organization=org)
    client = staff_client(admin)

    created = client.post(
        reverse("manage:center_create"),
        {
            "name": "Lyon Part-Dieu",
            "code": "lyon-pd",
            "legal_entity": entity.pk,
            "timezone": "Europe/Paris",
            "country": "FR",
            "is_active": "on",
        },
    )
    center = Center.objects.get(organization=org, code="lyon-pd")
    hours = {
        "day0-TOTAL_FORMS": "2", "day0-INITIAL_FORMS": "0",
        "day0-0-opens_at": "08:30", "day0-0-closes_at": "12:00",
        "day0-1-opens_at": "13:30", "day0-1-closes_at": "19:00",
        **{f"day{day}-TOTAL_FORMS": "1" for day in range(1, 7)},
        **{f"day{day}-INITIAL_FORMS": "0" for day in range(1, 7)},
        "day1-0-opens_at": "09:00", "day1-0-closes_at": "18:00",
    }  # fmt: skip
    saved = client.post(reverse("manage:center_hours", args=[center.pk]), hours)
    detail = client.get(reverse("manage:center_detail", args=[center.pk]))

    assert created.status_code == 302 and created["Location"] == reverse("manage:center_hours", args=[center.pk])
    assert saved.status_code == 302
    assert list(center.opening_hours.values_list("weekday", "opens_at", "closes_at")) == [
        (0, datetime.time(8, 30), datetime.time(12)),
        (0, datetime.time(13, 30), datetime.time(19)),
        (1, datetime.time(9), datetime.time(18)),
    ]
    page = html(detail)
    assert "08:30 – 12:00" in page and "13:30 – 19:00" in page
    assert page.count("Fermé") == 5  # Wednesday to Sunday


def test_overlapping_hours_are_refused_and_change_nothing(org, admin, center, staff_client):
    client = staff_client(admin)
    before = list(center.opening_hours.values_list("weekday", "opens_at", "closes_at"))
    data = {f"day{day}-TOTAL_FORMS": "0" for day in range(7)} | {f"day{day}-INITIAL_FORMS": "0" for day in range(7)}
    data |= {
        "day2-TOTAL_FORMS": "2",
        "day2-0-opens_at": "09:00", "day2-0-closes_at": "13:00",
        "day2-1-opens_at": "12:00", "day2-1-closes_at": "18:00",
    }  # fmt: skip

    response = client.post(reverse("manage:center_hours", args=[center.pk]), data)
    reversed_interval = client.post(
        reverse("manage:center_hours", args=[center.pk]),
        data | {"day2-TOTAL_FORMS": "1", "day2-0-opens_at": "18:00", "day2-0-closes_at": "09:00"},
    )

    assert response.status_code == 200
    assert "Deux plages horaires du même jour se chevauchent." in html(response)
    assert reversed_interval.status_code == 200
    assert "L&#x27;heure de fermeture doit suivre l&#x27;heure d&#x27;ouverture." in html(reversed_interval)
    assert list(center.opening_hours.values_list("weekday", "opens_at", "closes_at")) == before


def test_duplicate_center_code_is_shown_at_the_code_field(org, admin, center, staff_client):
    client = staff_client(admin)

    response = client.post(
        reverse("manage:center_create"),
        {
            "name": "Autre",
            "code": center.code,
            "legal_entity": center.legal_entity_id,
            "timezone": "Europe/Paris",
            "country": "FR",
        },
    )

    assert response.status_code == 200
    assert len(response.context["form"].errors["code"]) == 1
    assert Center.objects.filter(organization=org).count() == 1


def test_center_form_offers_only_this_organizations_legal_entities(org, admin, other_center, staff_client):
    client = staff_client(admin)

    response = client.post(
        reverse("manage:center_create"),
        {
            "name": "X",
            "code": "x",
            "legal_entity": other_center.legal_entity_id,
            "timezone": "Europe/Paris",
            "country": "FR",
        },
    )

    assert response.status_code == 200
    assert "legal_entity" in response.context["form"].errors
    assert not Center.objects.filter(organization=org, code="x").exists()


def test_timeline_shows_who_what_when_and_before_after(org, admin, center, staff_client):
    services.update_center(
        center=center,
        by=admin,
        data={"name": "Paris Bourse", "legal_entity": LegalEntityFactory(organization=org, name="Nouvelle SAS")},
    )
    client = staff_client(admin)

    response = client.get(reverse("manage:center_detail", args=[center.pk]))

    item = response.context["timeline"][0]
    assert item.verb == "Modification" and item.who == admin.full_name
    changes = {change.label: (change.before, change.after) for change in item.changes}
    assert changes["Nom"] == ("Paris Opéra", "Paris Bourse")
    assert changes["Entité juridique"] == (center.legal_entity.name, "Nouvelle SAS")
    page = html(response)
    assert "Paris Opéra" in page and "Paris Bourse" in page and admin.full_name in page


def test_timeline_of_a_creation_lists_the_filled_fields_the_local_way(org, admin, staff_client):
    entity = LegalEntityFactory(organization=org, name="Émettrice SAS")
    center = services.create_center(
        organization=org, by=admin, data={"name": "Nantes", "code": "nantes", "legal_entity": entity}
    )
    client = staff_client(admin)

    response = client.get(reverse("manage:center_detail", args=[center.pk]))

    item = response.context["timeline"][0]
    changes = {change.label: change.after for change in item.changes}
    assert item.verb == "Création"
    assert changes["Nom"] == "Nantes" and changes["Entité juridique"] == "Émettrice SAS" and changes["Actif"] == "Oui"
    assert "Adresse" not in changes  # left empty
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", changes["Créé le"])


def test_legal_entity_centers_tab_is_loaded_by_htmx(org, admin, center, staff_client):
    client = staff_client(admin)
    url = reverse("manage:legalentity_centers", args=[center.legal_entity_id])

    detail = client.get(reverse("manage:legalentity_detail", args=[center.legal_entity_id]))
    fragment = client.get(url, HTTP_HX_REQUEST="true")

    assert f'hx-get="{url}"' in html(detail)
    assert "<html" not in html(fragment) and "Paris Opéra" in html(fragment)


# --------------------------------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------------------------------
def test_add_staff_member_sends_the_activation_email(
    org, admin, center, staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    client = staff_client(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("manage:staff_create"),
            {
                "email": "lea@example.test",
                "first_name": "Léa",
                "last_name": "Petit",
                "phone": "",
                "job_title": "Accueil",
                "role": role(org, "reception").pk,
                "centers": [center.pk],
            },
        )

    staff = StaffMembership.objects.get(organization=org, user__email="lea@example.test")
    assert response.status_code == 302 and response["Location"] == staff.get_absolute_url()
    assert list(staff.centers.all()) == [center] and staff.job_title == "Accueil"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["lea@example.test"]
    assert org.slug in mailoutbox[0].body


def test_adding_an_existing_staff_member_is_refused_at_the_email_field(org, admin, staff_client):
    client = staff_client(admin)

    response = client.post(reverse("manage:staff_create"), {"email": admin.email, "role": role(org, "manager").pk})

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Cette personne fait déjà partie du staff."]
    assert StaffMembership.objects.filter(organization=org).count() == 1


def test_nobody_changes_their_own_role_from_the_edit_page(org, admin, staff_client):
    own = StaffMembership.objects.get(user=admin, organization=org)
    client = staff_client(admin)

    response = client.post(
        reverse("manage:staff_edit", args=[own.pk]), {"role": role(org, "technician").pk, "is_active": "on"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["role"] == ["Vous ne pouvez pas changer votre propre rôle."]
    own.refresh_from_db()
    assert own.role.kind == "administrator"


def test_nobody_suspends_their_own_access(org, admin, staff_client):
    own = StaffMembership.objects.get(user=admin, organization=org)
    client = staff_client(admin)

    response = client.post(reverse("manage:staff_edit", args=[own.pk]), {"role": own.role_id})

    assert response.status_code == 200
    assert response.context["form"].errors["is_active"] == ["Vous ne pouvez pas désactiver votre propre accès."]
    own.refresh_from_db()
    assert own.is_active is True


def test_edit_staff_member_changes_role_and_centers(org, admin, center, staff_client):
    member = StaffFactory(organization=org, kind="reception")
    client = staff_client(admin)

    response = client.post(
        reverse("manage:staff_edit", args=[member.pk]),
        {"role": role(org, "manager").pk, "job_title": "Responsable", "centers": [center.pk], "is_active": "on"},
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role.kind == "manager" and member.job_title == "Responsable"
    assert list(member.centers.all()) == [center]


def test_resend_activation_is_a_post_and_sends_a_new_link(
    org, admin, staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    member = services.add_staff_member(
        organization=org, by=admin, email="x@example.test", role=role(org, "reception"), send_activation=False
    )
    client = staff_client(admin)
    url = reverse("manage:staff_resend_activation", args=[member.pk])

    refused = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)

    assert refused.status_code == 405
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and "/accounts/activate/" in mailoutbox[0].body


def test_staff_list_filters_by_role_center_and_status(org, admin, center, staff_client):
    limited = StaffFactory(organization=org, kind="reception")
    limited.centers.set([center])
    elsewhere = StaffFactory(organization=org, kind="reception")
    elsewhere.centers.set([CenterFactory(organization=org, legal_entity=center.legal_entity)])
    suspended = StaffFactory(organization=org, kind="technician", is_active=False)
    client = staff_client(admin)
    url = reverse("manage:staff_list")

    def shown(**params):  # type: ignore[no-untyped-def]
        return {row.obj.pk for row in client.get(url, params).context["rows"]}

    admin_pk = StaffMembership.objects.get(user=admin).pk
    assert shown(role=role(org, "reception").pk) == {limited.pk, elsewhere.pk}
    assert shown(center=center.pk) == {admin_pk, limited.pk, suspended.pk}  # unrestricted staff see every center
    assert shown(is_active="false") == {suspended.pk}
    assert shown(q=elsewhere.user.last_name) == {elsewhere.pk}


# --------------------------------------------------------------------------------------------------
# Staff → Droits
# --------------------------------------------------------------------------------------------------
def matrix_post(org, changes: dict[Role, set[str]]) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The matrix form as a browser would submit it: every editable role, with its ticked boxes."""
    data: dict[str, list[str]] = {"roles": []}
    for each in Role.objects.filter(organization=org).exclude(kind="administrator"):
        data["roles"].append(str(each.pk))
        data[f"role-{each.pk}"] = sorted(changes.get(each, rights.role_rights(each)))
    return data


def test_administrator_grants_a_right_through_the_matrix(org, admin, staff_client):
    manager = role(org, "manager")
    wanted = set(rights.role_rights(manager)) | {"core.add_legalentity"}
    client = staff_client(admin)

    response = client.post(reverse("manage:role_matrix"), matrix_post(org, {manager: wanted}))

    assert response.status_code == 302
    assert rights.role_rights(manager) == wanted
    entry = AuditEntry.objects.get(action="role.rights_changed")
    assert entry.changes == {"added": ["core.add_legalentity"], "removed": []}
    assert AuditEntry.objects.filter(action="role.rights_changed").count() == 1  # unchanged roles are not saved


def test_self_escalation_through_the_matrix_is_refused_and_changes_nothing(org, admin, staff_client):
    editor_role = services.create_role(
        organization=org, by=admin, name="Éditeur des droits",
        permission_names=["core.view_role", "core.change_role", "core.view_center"],
    )  # fmt: skip
    editor = StaffFactory(organization=org, role=editor_role).user
    client = staff_client(editor)
    before = {each.pk: rights.role_rights(each) for each in Role.objects.filter(organization=org)}
    forged = matrix_post(org, {editor_role: set(rights.role_rights(editor_role)) | {"core.delete_center"}})

    response = client.post(reverse("manage:role_matrix"), forged)

    assert response.status_code == 200
    assert "Vous ne pouvez pas accorder des droits que vous ne détenez pas : core.delete_center." in html(response)
    assert {each.pk: rights.role_rights(each) for each in Role.objects.filter(organization=org)} == before
    assert not AuditEntry.objects.filter(action="role.rights_changed").exists()


def test_matrix_disables_rights_the_viewer_does_not_hold_and_the_administrator_column(org, admin, staff_client):
    editor_role = services.create_role(
        organization=org,
        by=admin,
        name="Éditeur",
        permission_names=["core.view_role", "core.change_role", "core.view_center"],
    )
    client = staff_client(StaffFactory(organization=org, role=editor_role).user)

    response = client.get(reverse("manage:role_matrix"))

    columns = response.context["columns"]
    boxes = {}
    for _app, modules in response.context["groups"]:
        for module in modules:
            for column, cell in zip(columns, module.cells, strict=True):
                for box in cell:
                    if box.name:
                        boxes[(column.role.kind, column.role.name, box.name)] = box
    administrator = [box for key, box in boxes.items() if key[0] == "administrator"]
    assert administrator and all(box.checked and box.disabled for box in administrator)
    assert not boxes[("custom", "Éditeur", "core.view_center")].disabled
    assert boxes[("custom", "Éditeur", "core.delete_center")].disabled
    assert boxes[("manager", "Manager", "core.change_center")].disabled  # the editor does not hold it
    assert boxes[("manager", "Manager", "core.change_center")].checked
    assert html(response).count("disabled") > 100
    labels = {module.label for _app, modules in response.context["groups"] for module in modules}
    assert {"Centres", "Collaborateurs", "Rôles", "Jetons d'API", "Journal d'activité"} <= labels


def test_unticked_rights_the_editor_cannot_touch_are_kept(org, admin, staff_client):
    editor_role = services.create_role(
        organization=org,
        by=admin,
        name="Éditeur",
        permission_names=["core.view_role", "core.change_role", "core.view_center"],
    )
    client = staff_client(StaffFactory(organization=org, role=editor_role).user)
    manager = role(org, "manager")
    before = rights.role_rights(manager)
    # the browser does not submit disabled boxes: only the rights the editor holds appear
    data = matrix_post(org, {})
    for each in Role.objects.filter(organization=org).exclude(kind="administrator"):
        data[f"role-{each.pk}"] = [name for name in data[f"role-{each.pk}"] if name in rights.role_rights(editor_role)]
    data[f"role-{manager.pk}"] = [name for name in data[f"role-{manager.pk}"] if name != "core.view_center"]

    response = client.post(reverse("manage:role_matrix"), data)

    assert response.status_code == 302
    assert rights.role_rights(manager) == before - {"core.view_center"}


def test_matrix_is_read_only_without_the_change_right(org, staff_of, staff_client):
    client = staff_client(staff_of("manager"))
    reception = role(org, "reception")
    before = rights.role_rights(reception)

    page = client.get(reverse("manage:role_matrix"))
    refused = client.post(reverse("manage:role_matrix"), matrix_post(org, {reception: set()}))

    assert page.status_code == 200 and page.context["can_change"] is False
    assert "Enregistrer les droits" not in html(page)
    assert all(not column.editable for column in page.context["columns"])
    assert refused.status_code == 403
    assert rights.role_rights(reception) == before


def test_create_rename_and_delete_a_custom_role(org, admin, staff_client):
    client = staff_client(admin)

    created = client.post(
        reverse("manage:role_create"), {"name": "Comptable", "description": "", "copy_from": role(org, "technician").pk}
    )
    custom = Role.objects.get(organization=org, name="Comptable")
    copied = rights.role_rights(custom)
    renamed = client.post(
        reverse("manage:role_edit", args=[custom.pk]), {"name": "Comptabilité", "description": "Factures"}
    )
    confirm = client.get(reverse("manage:role_delete", args=[custom.pk]))
    deleted = client.post(reverse("manage:role_delete", args=[custom.pk]))

    assert created.status_code == 302 and copied == rights.role_rights(role(org, "technician")) != frozenset()
    assert renamed.status_code == 302
    assert confirm.status_code == 200 and "Comptabilité" in html(confirm)
    assert deleted.status_code == 302
    assert not Role.objects.filter(pk=custom.pk).exists()
    assert [e.action for e in AuditEntry.objects.filter(object_id=str(custom.pk)).order_by("id")] == [
        "role.created",
        "role.updated",
        "role.deleted",
    ]


def test_a_predefined_role_cannot_be_deleted(org, admin, staff_client):
    client = staff_client(admin)
    technician = role(org, "technician")

    response = client.post(reverse("manage:role_delete", args=[technician.pk]), follow=True)

    assert "Un rôle prédéfini ne peut pas être supprimé." in html(response)
    assert Role.objects.filter(pk=technician.pk).exists()


def test_copying_rights_one_does_not_hold_is_refused_at_the_field(org, admin, staff_client):
    creator_role = services.create_role(
        organization=org, by=admin, name="Créateur", permission_names=["core.view_role", "core.add_role"]
    )
    client = staff_client(StaffFactory(organization=org, role=creator_role).user)

    response = client.post(reverse("manage:role_create"), {"name": "Super", "copy_from": role(org, "manager").pk})

    assert response.status_code == 200
    assert "copy_from" in response.context["form"].errors
    assert not Role.objects.filter(name="Super").exists()


# --------------------------------------------------------------------------------------------------
# API tokens and journal
# --------------------------------------------------------------------------------------------------
def test_api_token_is_shown_once_then_only_its_prefix(org, admin, staff_client):
    client = staff_client(admin)

    created = client.post(reverse("manage:apitoken_create"), {"name": "Compta", "expires_at": "2099-12-31"})
    raw = created.context["raw"]
    listing = client.get(reverse("manage:apitoken_list"))

    token = ApiToken.objects.get(organization=org, name="Compta")
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    assert raw in html(created) and raw not in html(listing)
    assert f"cpt_{token.prefix}_" in html(listing)
    assert token.key_hash == services.hash_token(raw)
    assert token.expires_at.date() == datetime.date(2099, 12, 31)


def test_api_token_with_a_past_expiry_is_refused_at_the_field(org, admin, staff_client):
    client = staff_client(admin)

    response = client.post(reverse("manage:apitoken_create"), {"name": "Vieux", "expires_at": "2001-01-01"})

    assert response.status_code == 200
    assert response.context["form"].errors["expires_at"] == ["La date d'expiration doit être dans le futur."]
    assert not ApiToken.objects.filter(name="Vieux").exists()


def test_revoke_own_token_and_not_someone_elses_without_the_right(org, admin, staff_of, staff_client):
    manager = staff_of("manager")
    own, _raw = services.create_api_token(organization=org, user=manager, by=manager, name="Mien")
    admins, _raw = services.create_api_token(organization=org, user=admin, by=admin, name="Admin")
    rights_without_delete = set(rights.role_rights(role(org, "manager"))) - {"core.delete_apitoken"}
    services.set_role_rights(role=role(org, "manager"), by=admin, permission_names=rights_without_delete)
    client = staff_client(manager)

    revoked = client.post(reverse("manage:apitoken_revoke", args=[own.pk]))
    refused = client.post(reverse("manage:apitoken_revoke", args=[admins.pk]), follow=True)

    own.refresh_from_db()
    admins.refresh_from_db()
    assert revoked.status_code == 302 and own.revoked_at is not None
    assert "Vous n&#x27;avez pas le droit d&#x27;effectuer cette action." in html(refused)
    assert admins.revoked_at is None


def test_reception_sees_only_their_own_tokens(org, admin, staff_of, staff_client):
    services.create_api_token(organization=org, user=admin, by=admin, name="Jeton admin")
    client = staff_client(staff_of("reception"))

    response = client.get(reverse("manage:apitoken_list"))

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "Jeton admin" not in html(response)
    assert response.context["page"].create_url is None


def test_journal_filters_by_action_actor_and_dates(org, admin, center, staff_of, staff_client):
    manager = staff_of("manager")
    services.update_center(center=center, by=manager, data={"name": "Paris Bourse"})
    client = staff_client(admin)
    url = reverse("manage:journal_list")

    def actions(**params):  # type: ignore[no-untyped-def]
        response = client.get(url, params)
        assert response.status_code == 200
        return [row.obj.action for row in response.context["rows"]]

    today = datetime.date.today()
    assert actions(action="center.updated") == ["center.updated"]
    assert actions(action="center") == ["center.updated"]
    assert actions(actor=manager.pk) == ["center.updated"]
    assert actions(date_to=(today - datetime.timedelta(days=3)).isoformat()) == []
    assert "center.updated" in actions(date_from=(today - datetime.timedelta(days=1)).isoformat())
    assert actions(date_from="0001-01-01", date_to="9999-12-31", actor="abc")  # ignored, never a 500


# --------------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------------
def test_login_enters_the_first_staff_organization(client, org, admin, password):
    response = client.post(reverse("accounts:login"), {"username": admin.email.upper(), "password": password})

    assert response.status_code == 302 and response["Location"] == reverse("manage:home")
    assert client.session["organization_id"] == org.pk
    assert client.get(reverse("manage:home")).status_code == 200


def test_login_follows_a_safe_next_only(client, admin, password):
    safe = client.post(
        reverse("accounts:login"), {"username": admin.email, "password": password, "next": "/manage/staff/"}
    )
    client.logout()
    unsafe = client.post(
        reverse("accounts:login"), {"username": admin.email, "password": password, "next": "https://evil.test/"}
    )

    assert safe["Location"] == "/manage/staff/"
    assert unsafe["Location"] == reverse("manage:home")


def test_wrong_password_shows_an_error(client, admin):
    response = client.post(reverse("accounts:login"), {"username": admin.email, "password": "mauvais"})

    assert response.status_code == 200
    assert "E-mail ou mot de passe incorrect." in html(response)
    assert "_auth_user_id" not in client.session


def test_lockout_after_five_failed_logins_answers_429(client, admin, password):
    url = reverse("accounts:login")

    statuses = [client.post(url, {"username": admin.email, "password": f"faux-{n}"}).status_code for n in range(5)]
    locked = client.post(url, {"username": admin.email, "password": password})

    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "Trop de tentatives, réessayez dans 15 minutes." in html(locked)
    assert locked["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(client, admin, staff_client):
    client = staff_client(admin)

    confirm = client.get(reverse("accounts:logout"))
    response = client.post(reverse("accounts:logout"))

    assert confirm.status_code == 200 and "_auth_user_id" not in Client().session
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_activation_end_to_end(org, admin, staff_client, mailoutbox, django_capture_on_commit_callbacks):
    # given an administrator who adds a collaborator
    with django_capture_on_commit_callbacks(execute=True):
        staff_client(admin).post(
            reverse("manage:staff_create"),
            {"email": "nina@example.test", "first_name": "Nina", "role": role(org, "reception").pk},
        )
    path = re.search(r"/accounts/activate/[^/\s]+/[^/\s]+/", mailoutbox[0].body).group(0)
    visitor = Client()

    # when the collaborator follows the link and chooses a password
    form = visitor.get(path)
    weak = visitor.post(path, {"new_password1": "court", "new_password2": "court"})
    done = visitor.post(
        path, {"new_password1": "Un-mot-de-passe-solide-2026", "new_password2": "Un-mot-de-passe-solide-2026"}
    )
    welcome = visitor.get(done["Location"])

    # then the account is active, the collaborator is logged in, and told the workspace
    nina = User.objects.get(email="nina@example.test")
    assert form.status_code == 200 and "nina@example.test" in html(form)
    assert weak.status_code == 200 and "new_password2" in weak.context["form"].errors
    assert done.status_code == 302 and done["Location"] == reverse("accounts:activation_done")
    assert nina.has_usable_password() and nina.check_password("Un-mot-de-passe-solide-2026")
    assert visitor.session["_auth_user_id"] == str(nina.pk)
    assert visitor.session["organization_id"] == org.pk
    assert org.slug in html(welcome)
    assert visitor.get(reverse("manage:home")).status_code == 200
    assert AuditEntry.objects.filter(action="user.password_set", actor=nina).count() == 1
    # and the link does not work twice
    again = Client().get(path)
    assert "Lien invalide ou expiré" in html(again)
    assert reverse("accounts:password_reset") in html(again)


def test_forged_activation_links_show_the_invalid_page(client, admin):
    for path in [
        reverse("accounts:activate", args=["MQ", "1-abc"]),
        reverse("accounts:activate", args=["!!!", "x"]),
        reverse("accounts:activate", args=["OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk", "x"]),
    ]:
        response = client.get(path)
        posted = client.post(
            path, {"new_password1": "Un-mot-de-passe-solide", "new_password2": "Un-mot-de-passe-solide"}
        )

        assert response.status_code == 200 and "Lien invalide ou expiré" in html(response)
        assert posted.status_code == 200 and "Lien invalide ou expiré" in html(posted)


def test_password_reset_names_the_workspace_and_also_activates(
    client, org, admin, mailoutbox, django_capture_on_commit_callbacks
):
    services.add_staff_member(
        organization=org, by=admin, email="tom@example.test", role=role(org, "technician"), send_activation=False
    )

    sent = client.post(reverse("accounts:password_reset"), {"email": "TOM@example.test"})
    link = re.search(r"/accounts/password/reset/[^/\s]+/[^/\s]+/", mailoutbox[0].body).group(0)
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "Encore-un-mot-2026", "new_password2": "Encore-un-mot-2026"})

    assert sent.status_code == 302 and sent["Location"] == reverse("accounts:password_reset_done")
    assert "operateur-a" in mailoutbox[0].body and "tom@example.test" in mailoutbox[0].body
    assert done.status_code == 302 and done["Location"] == reverse("accounts:password_reset_complete")
    assert User.objects.get(email="tom@example.test").check_password("Encore-un-mot-2026")
    assert client.session["organization_id"] == org.pk


def test_password_reset_of_an_unknown_email_says_the_same_and_sends_nothing(client, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": "personne@example.test"})

    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert mailoutbox == []


# --------------------------------------------------------------------------------------------------
# Error pages
# --------------------------------------------------------------------------------------------------
def test_404_page_keeps_the_shell(admin, staff_client):
    response = staff_client(admin).get(reverse("manage:center_detail", args=[999999]))

    assert response.status_code == 404
    assert "Page introuvable" in html(response) and 'id="sidebar"' in html(response)


def test_out_of_range_ids_answer_404_never_500(org, admin, staff_client):
    client = staff_client(admin)
    huge = "9" * 30

    detail = client.get(f"/manage/settings/centers/{huge}/")
    switch = client.post(reverse("manage:switch_organization"), {"organization": huge})
    filtered = client.get(reverse("manage:staff_list"), {"role": huge, "center": "-1", "is_active": "x"})

    assert detail.status_code == 404 and switch.status_code == 404
    assert filtered.status_code == 200


GARBAGE = {
    "q": "\x00'\"<script>",
    "sort": "-nope",
    "cursor": "zz",
    "role": "-1",
    "center": "abc",
    "is_active": "2",
    "legal_entity": "9" * 25,
    "action": "\x00",
    "actor": "x",
    "date_from": "31/02/2026",
    "date_to": "abc",
    "status": "zz",
    "name": "\x00" * 3,
    "email": "@",
    "code": "é é",
    "timezone": "Mars/Olympus",
    "country": "ZZ",
    "siren": "x" * 500,
    "logo": "not-a-file",
    "copy_from": "1e9",
    "expires_at": "9999-99-99",
    "roles": ["x", "-1"],
    "day0-TOTAL_FORMS": "x",
}


def test_garbage_input_never_gives_a_500(admin, world, staff_client):
    client = staff_client(admin)

    for url in page_urls(world):
        for response in (
            client.get(url, GARBAGE),
            client.get(url, {**GARBAGE, "export": "csv"}),
            client.post(url, GARBAGE),
        ):
            if response.streaming:
                b"".join(response.streaming_content)
            assert response.status_code < 500, url


def test_500_template_renders_without_context():
    from django.template.loader import get_template

    assert "Une erreur est survenue" in get_template("500.html").render()
