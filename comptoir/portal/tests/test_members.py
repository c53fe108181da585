"""Portal: "Mon entreprise" on the home page, the "Membres" page for company administrators only, and
internal notes never shown anywhere in the portal."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, reverse

from comptoir.core import tenancy
from comptoir.core.errors import RightsError
from comptoir.core.tests.factories import UserFactory
from comptoir.crm.models import Company, Contact
from comptoir.crm.selectors.portal import company_members
from comptoir.crm.tests.factories import ActionFactory, CompanyFactory, ContactFactory, NoteFactory
from comptoir.portal import urls as portal_urls

NOTE_TEXT = "Note interne : client difficile, ne jamais accorder de remise."


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, name="Atelier Lumière", kind=Company.Kind.CLIENT, number=42)


def portal_member(company, role: str, email: str, **extra):  # type: ignore[no-untyped-def]
    user = UserFactory(email=email, first_name="Margaux")
    ContactFactory(
        company=company,
        user=user,
        email=email,
        company_role=role,
        has_portal_access=True,
        first_name="Margaux",
        last_name="Lefort",
        **extra,
    )
    return user


def enter_portal(client, user, organization):  # type: ignore[no-untyped-def]
    client.force_login(user, backend="comptoir.core.auth.EmailBackend")
    session = client.session
    session[tenancy.SESSION_KEY] = organization.pk
    session.save()
    return client


def test_home_shows_each_company_of_the_member_with_its_reference_and_the_members_role(client, org, company):
    other = CompanyFactory(organization=org, name="Studio Azur", kind=Company.Kind.PROSPECT, number=7)
    user = portal_member(company, Contact.CompanyRole.ADMINISTRATOR, "margaux@lumiere.test")
    ContactFactory(company=other, user=user, email=user.email, company_role="user", has_portal_access=True)

    content = enter_portal(client, user, org).get(reverse("portal:home")).content.decode()

    # one "Mon entreprise" card per company (the menu entry of the same name links to the documents)
    assert content.count('aria-hidden="true"></i>Mon entreprise</h2>') == 2
    assert "Atelier Lumière" in content and "CL-000042" in content and "Administrateur" in content
    assert "Studio Azur" in content and "PR-000007" in content and "Utilisateur" in content


def test_company_administrator_sees_the_active_members_and_their_roles(client, org, company):
    user = portal_member(company, Contact.CompanyRole.ADMINISTRATOR, "margaux@lumiere.test")
    ContactFactory(company=company, first_name="Paul", last_name="Roux", company_role="manager")
    ContactFactory(company=company, first_name="Inès", last_name="Morel", company_role="user")
    ContactFactory(company=company, first_name="Ancien", last_name="Salarié", is_active=False)
    ContactFactory(company=CompanyFactory(organization=org), first_name="Autre", last_name="Entreprise")
    enter_portal(client, user, org)

    home = client.get(reverse("portal:home")).content.decode()
    response = client.get(reverse("portal:members"))

    assert reverse("portal:members") in home  # the menu entry
    assert response.status_code == 200
    content = response.content.decode()
    assert "Margaux Lefort" in content and "Paul Roux" in content and "Inès Morel" in content
    assert "Manager" in content and "Utilisateur" in content
    assert "Ancien Salarié" not in content and "Autre Entreprise" not in content


@pytest.mark.parametrize("role", [Contact.CompanyRole.MANAGER, Contact.CompanyRole.USER])
def test_managers_and_users_get_403_and_no_menu_entry(client, org, company, role):
    user = portal_member(company, role, "paul@lumiere.test")
    enter_portal(client, user, org)

    assert reverse("portal:members") not in client.get(reverse("portal:home")).content.decode()
    assert client.get(reverse("portal:members")).status_code == 403


def test_an_administrator_without_portal_access_or_deactivated_may_not_list_members(org, company):
    deactivated = ContactFactory(company=company, company_role="administrator", has_portal_access=True, is_active=False)
    no_access = ContactFactory(company=company, company_role="administrator", has_portal_access=False)

    for contact in (deactivated, no_access):
        with pytest.raises(RightsError):
            company_members(contact=contact)


def test_staff_in_the_portal_and_strangers_do_not_reach_the_members_page(client, org, admin, company):
    assert client.get(reverse("portal:members")).status_code == 302  # anonymous: the login page
    enter_portal(client, admin, org)  # staff may enter the portal but administer no company

    assert client.get(reverse("portal:members")).status_code == 403


def test_no_portal_page_shows_internal_notes(client, org, company):
    user = portal_member(company, Contact.CompanyRole.ADMINISTRATOR, "margaux@lumiere.test")
    NoteFactory(company=company, body=NOTE_TEXT)
    ActionFactory(company=company, title="Action interne : relancer pour impayé")
    enter_portal(client, user, org)
    pages = [
        reverse(f"portal:{pattern.name}")
        for pattern in portal_urls.urlpatterns
        if isinstance(pattern, URLPattern) and pattern.name and not pattern.pattern.converters
    ]

    rendered = 0
    for url in pages:
        response = client.get(url, follow=True)
        content = response.content.decode()
        assert NOTE_TEXT not in content, url
        assert "client difficile" not in content, url
        assert "Action interne" not in content, url
        rendered += response.status_code == 200
    assert {reverse("portal:home"), reverse("portal:members")} <= set(pages)
    assert rendered >= 2
