"""Client portal: login with workspace + e-mail + password, one generic error, tenancy, login required."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from comptoir.core import tenancy
from comptoir.core.models import Organization
from comptoir.core.tests.factories import UserFactory
from comptoir.portal.views import WORKSPACE_COOKIE

GENERIC_ERROR = "Espace de travail, e-mail ou mot de passe incorrect."


@pytest.fixture
def member(org):  # type: ignore[no-untyped-def]
    """A member of a client company of `org` (registered the way the crm app registers contacts)."""
    user = UserFactory(email="claire.dupont@client.test", first_name="Claire")

    def is_member(candidate, organization):  # type: ignore[no-untyped-def]
        return candidate.pk == user.pk and organization.pk == org.pk

    tenancy.register_portal_access(is_member)
    yield user
    tenancy._portal_access_checks.remove(is_member)


def post_login(client, *, workspace: str, email: str, password: str, next_url: str = ""):  # type: ignore[no-untyped-def]
    url = reverse("portal:login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"workspace": workspace, "email": email, "password": password, "next": next_url})


def test_member_logs_in_and_sees_the_home_page(client, org, member, password):
    response = post_login(client, workspace=org.slug, email=member.email, password=password)

    assert response.status_code == 302
    assert response.url == reverse("portal:home")
    assert client.session[tenancy.SESSION_KEY] == org.pk
    assert response.cookies[WORKSPACE_COOKIE].value == org.slug
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200
    content = home.content.decode()
    assert "Bonjour Claire" in content
    assert org.name in content
    assert "vos contrats à signer" in content


def test_login_accepts_workspace_and_email_in_any_case(client, org, member, password):
    response = post_login(client, workspace=f"  {org.slug.upper()} ", email=member.email.upper(), password=password)

    assert response.status_code == 302
    assert client.session[tenancy.SESSION_KEY] == org.pk


def test_staff_of_the_organization_may_enter_its_portal(client, org, admin, password):
    response = post_login(client, workspace=org.slug, email=admin.email, password=password)

    assert response.status_code == 302
    assert "Ouvrir le back office" in client.get(reverse("portal:home")).content.decode()


def test_login_returns_to_a_safe_next_page_only(client, org, member, password):
    home = reverse("portal:home")

    assert post_login(client, workspace=org.slug, email=member.email, password=password, next_url=home).url == home
    client.logout()
    response = post_login(
        client, workspace=org.slug, email=member.email, password=password, next_url="https://evil.example/portal/"
    )
    assert response.url == home


@pytest.mark.parametrize(
    ("workspace", "email", "password_value"),
    [
        ("unknown-workspace", "claire.dupont@client.test", None),
        ("operateur-a", "nobody@client.test", None),
        ("operateur-a", "claire.dupont@client.test", "wrong-password-123"),
    ],
    ids=["wrong workspace", "wrong e-mail", "wrong password"],
)
def test_wrong_workspace_email_or_password_give_the_same_error(client, org, member, password, workspace, email, password_value):  # fmt: skip
    response = post_login(client, workspace=workspace, email=email, password=password_value or password)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [GENERIC_ERROR]
    assert not response.context["form"].errors.get("workspace")
    assert not response.context["form"].errors.get("email")
    assert GENERIC_ERROR in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert tenancy.SESSION_KEY not in client.session


def test_failed_logins_are_counted_by_axes(client, org, member, password):
    post_login(client, workspace=org.slug, email=member.email, password="wrong-password-123")
    post_login(client, workspace="unknown-workspace", email=member.email, password=password)

    assert AccessAttempt.objects.get(username=member.email).failures_since_start == 2


def test_member_of_organization_a_cannot_enter_the_portal_of_b(client, org, other_org, member, password):
    response = post_login(client, workspace=other_org.slug, email=member.email, password=password)

    assert response.context["form"].non_field_errors() == [GENERIC_ERROR]
    assert "_auth_user_id" not in client.session


def test_staff_of_organization_a_cannot_enter_the_portal_of_b(client, org, other_org, admin, password):
    response = post_login(client, workspace=other_org.slug, email=admin.email, password=password)

    assert response.context["form"].non_field_errors() == [GENERIC_ERROR]
    assert "_auth_user_id" not in client.session


def test_a_session_pointing_at_another_organization_does_not_show_it(client, org, other_org, admin, password):
    post_login(client, workspace=org.slug, email=admin.email, password=password)
    session = client.session
    session[tenancy.SESSION_KEY] = other_org.pk
    session.save()

    content = client.get(reverse("portal:home")).content.decode()

    assert other_org.name not in content
    assert org.name in content


def test_an_inactive_organization_cannot_be_entered(client, org, member, password):
    Organization.objects.filter(pk=org.pk).update(is_active=False)

    response = post_login(client, workspace=org.slug, email=member.email, password=password)

    assert response.context["form"].non_field_errors() == [GENERIC_ERROR]


def test_home_requires_login(client, db):
    response = client.get(reverse("portal:home"))

    assert response.status_code == 302
    assert response.url == f"{reverse('portal:login')}?next={reverse('portal:home')}"


def test_a_signed_in_user_without_portal_access_is_sent_to_the_login(client, db):
    outsider = UserFactory()
    client.force_login(outsider, backend="comptoir.core.auth.EmailBackend")

    response = client.get(reverse("portal:home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("portal:login"))


def test_logout_requires_post_and_ends_the_session(client, org, member, password):
    post_login(client, workspace=org.slug, email=member.email, password=password)

    assert client.get(reverse("portal:logout")).status_code == 405
    response = client.post(reverse("portal:logout"))

    assert response.status_code == 302
    assert response.url == reverse("portal:login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("portal:home")).status_code == 302


def test_login_page_prefills_the_workspace_from_the_link_or_the_cookie(client, db):
    assert 'value="demo"' in client.get(reverse("portal:login") + "?workspace=demo").content.decode()
    client.cookies[WORKSPACE_COOKIE] = "operateur-a"
    assert 'value="operateur-a"' in client.get(reverse("portal:login")).content.decode()


def test_signed_in_member_opening_the_login_page_goes_home(client, org, member, password):
    post_login(client, workspace=org.slug, email=member.email, password=password)

    response = client.get(reverse("portal:login"))

    assert response.status_code == 302
    assert response.url == reverse("portal:home")


def test_home_page_in_english(client, org, member, password):
    post_login(client, workspace=org.slug, email=member.email, password=password)
    client.cookies["django_language"] = "en"

    response = client.get(reverse("portal:home"))

    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()


def test_repeated_failures_lock_the_portal_login_out_even_with_the_right_password(client, org, member, password, settings):  # fmt: skip
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, workspace=org.slug, email=member.email, password="wrong-password-123")

    response = post_login(client, workspace=org.slug, email=member.email, password=password)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
