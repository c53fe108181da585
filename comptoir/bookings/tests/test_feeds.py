"""Calendar feeds (issue 7 item 9): a member's or a space's private subscription URL (token stored hashed), the
public .ics (strict, the right bookings, 30 days back to a year ahead), revocation (404 at once), the rate limit,
the API (/api/v1/calendar-feeds/) and the staff page with « Révoquer »; rights and tenancy."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from comptoir.bookings.models import CalendarFeed
from comptoir.bookings.services import feeds as services
from comptoir.bookings.tests.factories import BookingFactory, RoomFactory, at, next_weekday
from comptoir.bookings.tests.ics_checks import strict_parse
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.test_api import error_of
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/calendar-feeds"


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def room(org, center):  # type: ignore[no-untyped-def]
    return RoomFactory(organization=org, center=center, name="Salle Eiffel")


@pytest.fixture
def member(org):  # type: ignore[no-untyped-def]
    return ContactFactory(company=CompanyFactory(organization=org), first_name="Élodie", last_name="Durand")


def url_of(raw: str) -> str:
    return reverse("bookings:calendar_feed", args=[raw])


def test_the_token_is_random_and_stored_hashed(org, admin, member):  # type: ignore[no-untyped-def]
    feed, raw = services.create_feed(organization=org, by=admin, contact=member)
    _other, raw2 = services.create_feed(organization=org, by=admin, contact=member)

    assert len(raw) >= 40 and raw != raw2
    assert feed.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(list(CalendarFeed.objects.values()))
    assert AuditEntry.objects.filter(action="calendar_feed.created").count() == 2


def test_a_members_feed_lists_their_bookings_in_the_window(org, admin, client, member, room):  # type: ignore[no-untyped-def]
    monday = next_weekday(0)
    mine = BookingFactory(space=room, company=member.company, contact=member, starts_at=at(monday, 10),
                          ends_at=at(monday, 11), title="Point hebdo")  # fmt: skip
    BookingFactory(space=room, company=member.company, starts_at=at(monday, 14), ends_at=at(monday, 15))  # not theirs
    old_day = timezone.localdate() - datetime.timedelta(days=60)
    BookingFactory(space=room, company=member.company, contact=member, starts_at=at(old_day, 10),
                   ends_at=at(old_day, 11))  # fmt: skip
    _feed, raw = services.create_feed(organization=org, by=admin, contact=member)

    response = client.get(url_of(raw))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    parsed = strict_parse(response.content)
    assert [str(event["UID"]) for event in parsed.walk("VEVENT")] == [f"{mine.uid}@comptoir"]
    assert "Élodie Durand" in str(parsed["X-WR-CALNAME"])


def test_a_spaces_feed_lists_every_booking_of_the_space(org, admin, client, room):  # type: ignore[no-untyped-def]
    monday = next_weekday(0)
    first = BookingFactory(space=room, starts_at=at(monday, 10), ends_at=at(monday, 11))
    second = BookingFactory(space=room, starts_at=at(monday, 14), ends_at=at(monday, 15), status="cancelled")
    BookingFactory(space=RoomFactory(organization=org, center=room.center), starts_at=at(monday, 10),
                   ends_at=at(monday, 11))  # fmt: skip
    feed, raw = services.create_feed(organization=org, by=admin, space=room)

    parsed = strict_parse(client.get(url_of(raw)).content)

    assert [str(e["UID"]) for e in parsed.walk("VEVENT")] == [f"{first.uid}@comptoir", f"{second.uid}@comptoir"]
    assert [str(e["STATUS"]) for e in parsed.walk("VEVENT")] == ["CONFIRMED", "CANCELLED"]
    feed.refresh_from_db()
    assert feed.last_used_at is not None


def test_revoked_and_unknown_tokens_are_404(org, admin, client, member):  # type: ignore[no-untyped-def]
    feed, raw = services.create_feed(organization=org, by=admin, contact=member)
    assert client.get(url_of(raw)).status_code == 200

    services.revoke_feed(feed=feed, by=admin)

    assert client.get(url_of(raw)).status_code == 404
    assert client.get(url_of("x" * 43)).status_code == 404
    assert client.get(url_of("é" * 30)).status_code == 404
    assert client.post(url_of(raw)).status_code == 405
    with pytest.raises(ValidationFailed):
        services.revoke_feed(feed=feed, by=admin)


def test_the_public_feed_is_rate_limited(org, admin, client, member):  # type: ignore[no-untyped-def]
    for _ in range(60):
        assert client.get(url_of("y" * 43)).status_code == 404

    response = client.get(url_of("y" * 43))

    assert response.status_code == 429
    assert response["Retry-After"] == "60"


def test_feed_services_check_rights_and_organization(org, other_org, admin, other_admin, staff_of, member, room):  # type: ignore[no-untyped-def]
    with pytest.raises(RightsError):
        services.create_feed(organization=org, by=staff_of("technician"), contact=member)
    with pytest.raises(ValidationFailed):
        services.create_feed(organization=other_org, by=other_admin, contact=member)
    with pytest.raises(ValidationFailed):
        services.create_feed(organization=org, by=admin, contact=member, space=room)
    with pytest.raises(ValidationFailed):
        services.create_feed(organization=org, by=admin)
    assert not CalendarFeed.objects.exists()


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------
def test_api_create_shows_the_url_once_then_revoke(org, admin, api_client, client, member, room):  # type: ignore[no-untyped-def]
    api = api_client(admin)

    response = api.post(f"{API}/", {"space": room.pk}, format="json", HTTP_IDEMPOTENCY_KEY="feed-1")
    replay = api.post(f"{API}/", {"space": room.pk}, format="json", HTTP_IDEMPOTENCY_KEY="feed-1")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["url"].startswith("http://testserver/manage/bookings/calendar/") and data["url"].endswith(".ics")
    assert (data["space"], data["contact"], data["is_active"]) == (room.pk, None, True)
    assert replay.json()["url"] is None and CalendarFeed.objects.count() == 1
    assert "url" not in api.get(f"{API}/{data['id']}/").json()
    path = data["url"].removeprefix("http://testserver")
    assert client.get(path).status_code == 200

    revoked = api.post(f"{API}/{data['id']}/revoke/", format="json")

    assert revoked.json()["is_active"] is False
    assert client.get(path).status_code == 404
    error_of(api.post(f"{API}/{data['id']}/revoke/", format="json"), 400, "already_revoked")
    assert [row["id"] for row in api.get(f"{API}/?active=false").json()["results"]] == [data["id"]]
    assert api.get(f"{API}/?active=true").json()["results"] == []


@pytest.mark.parametrize("payload", [{}, {"contact": None, "space": None}, {"contact": "both"}, {"space": "x"},
                                     {"space": 99999999999999999999}])  # fmt: skip
def test_api_bad_feeds_are_400(admin, api_client, member, room, payload):  # type: ignore[no-untyped-def]
    if payload.get("contact") == "both":
        payload = {"contact": member.pk, "space": room.pk}

    error_of(api_client(admin).post(f"{API}/", payload, format="json"), 400, "invalid")

    assert not CalendarFeed.objects.exists()


def test_api_rights(staff_of, api_client, member):  # type: ignore[no-untyped-def]
    error_of(api_client(staff_of("technician")).get(f"{API}/"), 403, "forbidden")
    reception = api_client(staff_of("reception"))
    assert reception.post(f"{API}/", {"contact": member.pk}, format="json").status_code == 201


def test_api_another_organizations_feed_is_404(org, other_org, admin, other_admin, api_client):  # type: ignore[no-untyped-def]
    foreign_member = ContactFactory(company=CompanyFactory(organization=other_org))
    foreign, _raw = services.create_feed(organization=other_org, by=other_admin, contact=foreign_member)
    api = api_client(admin)

    error_of(api.get(f"{API}/{foreign.pk}/"), 404, "not_found")
    error_of(api.post(f"{API}/{foreign.pk}/revoke/", format="json"), 404, "not_found")
    error_of(api.post(f"{API}/", {"contact": foreign_member.pk}, format="json"), 400, "invalid")
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


# --------------------------------------------------------------------------------------------------
# Staff page
# --------------------------------------------------------------------------------------------------
def test_staff_page_lists_feeds_and_revokes(org, admin, staff_client, member, room, django_assert_num_queries):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    feed, _raw = services.create_feed(organization=org, by=admin, contact=member)
    services.create_feed(organization=org, by=admin, space=room)
    web.get(reverse("bookings:feed_list"))  # warm the session and rights caches

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = web.get(reverse("bookings:feed_list"))
        assert response.status_code == 200
        return len(captured)

    few = queries()
    for _ in range(10):
        services.create_feed(organization=org, by=admin, contact=ContactFactory(company=member.company))
        services.create_feed(organization=org, by=admin, space=RoomFactory(organization=org, center=room.center))
    assert queries() == few

    page = web.get(reverse("bookings:feed_list")).content.decode()
    assert "Élodie" in page and "Salle Eiffel" in page and "Révoquer" in page

    assert web.get(reverse("bookings:calendarfeed_revoke", args=[feed.pk])).status_code == 405
    response = web.post(reverse("bookings:calendarfeed_revoke", args=[feed.pk]))
    assert response.status_code == 302
    feed.refresh_from_db()
    assert feed.revoked_at is not None


def test_staff_page_rights_and_tenancy(org, other_org, admin, other_admin, staff_of, staff_client, member):  # type: ignore[no-untyped-def]
    foreign, _raw = services.create_feed(organization=other_org, by=other_admin,
                                         contact=ContactFactory(company=CompanyFactory(organization=other_org)))  # fmt: skip
    web = staff_client(admin)
    assert web.post(reverse("bookings:calendarfeed_revoke", args=[foreign.pk])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None

    technician = staff_client(staff_of("technician"))
    assert technician.get(reverse("bookings:feed_list")).status_code == 403


# --------------------------------------------------------------------------------------------------
# « Créer un abonnement » in the back office; the member's own feed (portal)
# --------------------------------------------------------------------------------------------------
def test_the_staff_create_a_spaces_feed_and_see_its_address_once(org, admin, client, room):  # type: ignore[no-untyped-def]
    client.force_login(admin)
    assert client.get(reverse("bookings:feed_create")).status_code == 200

    response = client.post(reverse("bookings:feed_create"), {"target": "space", "space": room.pk})

    assert response.status_code == 200
    feed = CalendarFeed.objects.get()
    assert feed.space == room and feed.contact is None
    url = response.context["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert hashlib.sha256(token.encode()).hexdigest() == feed.token_hash
    assert response.context["webcal"].startswith("webcal://")
    assert client.get(url_of(token)).status_code == 200
    listing = client.get(reverse("bookings:feed_list"))
    assert "Créer un abonnement" in listing.content.decode() and f'id="feed-{feed.pk}"' in listing.content.decode()


def test_the_staff_create_a_members_feed_by_email(org, admin, client, member):  # type: ignore[no-untyped-def]
    member.email = "elodie.durand@client.test"
    member.save()
    client.force_login(admin)

    response = client.post(reverse("bookings:feed_create"), {"target": "contact", "email": "Elodie.Durand@client.test"})

    assert response.status_code == 200
    assert CalendarFeed.objects.get().contact == member


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"target": "space"}, "space"),
        ({"target": "space", "space": "999999"}, "space"),
        ({"target": "contact"}, "email"),
        ({"target": "contact", "email": "personne@nulle-part.test"}, "email"),
        ({"target": "contact", "email": "pas-un-email"}, "email"),
        ({"target": "autre"}, "target"),
    ],
)
def test_bad_feed_input_is_refused_at_its_field_and_creates_nothing(org, admin, client, room, data, field):  # type: ignore[no-untyped-def]
    client.force_login(admin)

    response = client.post(reverse("bookings:feed_create"), data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not CalendarFeed.objects.exists()


def test_creating_a_feed_needs_the_right(org, staff_of, client):  # type: ignore[no-untyped-def]
    client.force_login(staff_of("technician"))
    assert client.get(reverse("bookings:feed_create")).status_code in (403, 404)


def test_a_member_renews_their_own_feed_and_the_old_address_stops(org, member):  # type: ignore[no-untyped-def]
    from comptoir.crm.models import Contact

    member.company_role, member.has_portal_access = Contact.CompanyRole.USER, True
    member.save()
    _first, first_raw = services.renew_member_feed(member=member, by=None)
    second, second_raw = services.renew_member_feed(member=member, by=None)

    assert services.find_feed(first_raw) is None and services.find_feed(second_raw) == second
    assert services.member_feed(member) == second
    assert services.revoke_member_feed(member=member, by=None) == 1
    assert services.find_feed(second_raw) is None and services.member_feed(member) is None


def test_a_member_without_portal_access_gets_no_feed(org, member):  # type: ignore[no-untyped-def]
    with pytest.raises(RightsError):
        services.renew_member_feed(member=member, by=None)
    assert not CalendarFeed.objects.exists()
