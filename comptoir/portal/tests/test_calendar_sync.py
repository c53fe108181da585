"""Portal « Synchroniser avec mon agenda »: a member's own private subscription address, shown once, renewed (the
earlier one stops) or cut; every company role may; another membership's id answers 404."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from comptoir.bookings.models import CalendarFeed
from comptoir.bookings.tests.ics_checks import strict_parse
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.portal.tests.test_bookings_portal import enter, member_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():  # the feed's reads are counted per address
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user_member(client, org, center):
    user, contact = member_of(CompanyFactory(organization=org, center=center), Contact.CompanyRole.USER)
    enter(client, user, org)
    return contact


def test_a_member_syncs_their_calendar_and_the_address_answers_an_icalendar(client, user_member):
    listing = client.get(reverse("portal:bookings")).content.decode()
    assert "Synchroniser avec mon agenda" in listing and "Aucune synchronisation." in listing

    response = client.post(reverse("portal:booking_calendar"), {"member": user_member.pk})

    assert response.status_code == 200
    url = response.context["url"]
    assert response.context["webcal"].startswith("webcal://") and url.endswith(".ics")
    feed = CalendarFeed.objects.get()
    assert feed.contact == user_member and feed.revoked_at is None
    client.logout()
    ics = client.get(url.split("testserver", 1)[1])
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    strict_parse(ics.content)


def test_a_new_address_stops_the_old_one_and_cutting_stops_it_all(client, user_member):
    first = client.post(reverse("portal:booking_calendar")).context["url"].split("testserver", 1)[1]
    second = client.post(reverse("portal:booking_calendar")).context["url"].split("testserver", 1)[1]
    assert "Synchronisation active depuis le" in client.get(reverse("portal:bookings")).content.decode()

    assert client.get(first).status_code == 404 and client.get(second).status_code == 200

    response = client.post(reverse("portal:booking_calendar_stop"), follow=True)
    assert "La synchronisation est coupée" in response.content.decode()
    assert client.get(second).status_code == 404
    assert not CalendarFeed.objects.filter(revoked_at=None).exists()


def test_another_membership_or_a_get_is_refused_and_creates_nothing(client, org, user_member):
    stranger = member_of(CompanyFactory(organization=org), Contact.CompanyRole.ADMINISTRATOR)[1]

    assert client.post(reverse("portal:booking_calendar"), {"member": stranger.pk}).status_code == 404
    assert client.get(reverse("portal:booking_calendar")).status_code == 405
    assert client.get(reverse("portal:booking_calendar_stop")).status_code == 405
    assert not CalendarFeed.objects.exists()
