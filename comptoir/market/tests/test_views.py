"""Public pages: the product home page and an operator's page with its active centers."""

from __future__ import annotations

import datetime

from django.urls import reverse

from comptoir.core.models import OpeningHours, Organization
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory
from comptoir.market import selectors


def test_home_page_says_what_comptoir_is_and_links_to_both_logins(client, db):
    response = client.get(reverse("market:home"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Le logiciel libre des espaces de travail flexibles" in content
    assert 'href="/accounts/login/"' in content
    assert f'href="{reverse("portal:login")}"' in content


def test_home_page_in_english(client, db):
    client.cookies["django_language"] = "en"

    response = client.get(reverse("market:home"))

    assert '<html lang="en">' in response.content.decode()


def test_public_centers_are_the_active_centers_of_the_organization(org, other_org):
    paris = CenterFactory(organization=org, name="Paris Opéra", code="paris")
    CenterFactory(organization=org, name="Fermé", code="ferme", is_active=False)
    CenterFactory(organization=other_org, name="Lyon", code="lyon")

    assert list(selectors.public_centers(organization=org)) == [paris]


def test_public_centers_of_an_inactive_organization_are_none(org):
    CenterFactory(organization=org)
    Organization.objects.filter(pk=org.pk).update(is_active=False)
    org.refresh_from_db()

    assert list(selectors.public_centers(organization=org)) == []


def test_organization_page_lists_active_centers_with_address_and_hours(client, org, other_org):
    center = CenterFactory(
        organization=org,
        name="Paris Opéra",
        code="paris",
        address_line1="12 rue Auber",
        postal_code="75009",
        city="Paris",
        hours=False,
    )
    OpeningHours.objects.create(center=center, weekday=0, opens_at=datetime.time(8), closes_at=datetime.time(12))
    OpeningHours.objects.create(center=center, weekday=0, opens_at=datetime.time(14), closes_at=datetime.time(19, 30))
    CenterFactory(organization=org, name="Ancien centre", code="old", is_active=False)
    CenterFactory(organization=other_org, name="Lyon Part-Dieu", code="lyon")

    response = client.get(reverse("market:organization", args=[org.slug]))

    assert response.status_code == 200
    content = response.content.decode()
    assert org.name in content
    assert "Paris Opéra" in content
    assert "12 rue Auber" in content
    assert "75009 Paris" in content
    assert "08:00–12:00, 14:00–19:30" in content
    assert content.count("fermé") == 6  # Tuesday to Sunday
    assert "Ancien centre" not in content
    assert "Lyon Part-Dieu" not in content
    assert f"?workspace={org.slug}" in content


def test_organization_page_without_centers_says_so(client, org):
    response = client.get(reverse("market:organization", args=[org.slug]))

    assert "Aucun centre n’est ouvert au public pour le moment." in response.content.decode()


def test_unknown_or_inactive_organization_answers_404(client, org):
    assert client.get(reverse("market:organization", args=["nobody"])).status_code == 404
    Organization.objects.filter(pk=org.pk).update(is_active=False)
    assert client.get(reverse("market:organization", args=[org.slug])).status_code == 404


def test_organization_page_makes_the_same_queries_for_one_or_many_centers(client, db, django_assert_num_queries):
    small, large = OrganizationFactory(slug="small"), OrganizationFactory(slug="large")
    CenterFactory(organization=small)
    for _index in range(6):
        CenterFactory(organization=large)

    client.get(reverse("market:organization", args=["small"]))  # warm-up (session, content types)
    with django_assert_num_queries(3):
        client.get(reverse("market:organization", args=["small"]))
    with django_assert_num_queries(3):
        client.get(reverse("market:organization", args=["large"]))


def test_public_pages_accept_only_safe_methods(client, org):
    assert client.post(reverse("market:home")).status_code == 405
    assert client.post(reverse("market:organization", args=[org.slug])).status_code == 405
