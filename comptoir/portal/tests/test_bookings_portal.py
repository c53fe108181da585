"""Portal « Réservations » (frontmanager « Espace client » §3): free slots, price and credits, booking, the role
rule, the slot taken meanwhile, the lists (company or own), cancelling before the deadline, the .ics."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from comptoir.bookings.models import Booking
from comptoir.bookings.services import credits
from comptoir.bookings.tests.factories import (
    BookingFactory,
    PackFactory,
    RoomFactory,
    SpaceBookingFactory,
    next_weekday,
)
from comptoir.core import tenancy
from comptoir.core.tests.factories import CenterFactory, UserFactory
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(org):
    return CompanyFactory(organization=org, kind="client", name="Atelier Lumière")


@pytest.fixture
def room(org, center):
    return SpaceBookingFactory(space=RoomFactory(organization=org, center=center, name="Salle Verrière")).space


@pytest.fixture
def monday():
    return next_weekday(0)


def member_of(company, role=Contact.CompanyRole.ADMINISTRATOR, email=None):
    email = email or f"{role}-{company.pk}@client.test"
    user = UserFactory(email=email)
    contact = ContactFactory(company=company, user=user, email=email, company_role=role, has_portal_access=True)
    return user, contact


def enter(client, user, organization):
    client.force_login(user, backend="comptoir.core.auth.EmailBackend")
    session = client.session
    session[tenancy.SESSION_KEY] = organization.pk
    session.save()
    return client


def confirm_url(room, day, start="10:00", **params):
    query = "&".join(f"{key}={value}" for key, value in {"day": day.isoformat(), "start": start, **params}.items())
    return f"{reverse('portal:booking_space', args=[room.pk])}?{query}"


def test_the_member_sees_free_slots_picks_one_sees_the_price_and_books_it(client, org, center, room, company, monday):
    user, contact = member_of(company)
    BookingFactory(space=room, company=CompanyFactory(organization=org),
                   starts_at=datetime.datetime.combine(monday, datetime.time(9), tzinfo=center.tz),
                   ends_at=datetime.datetime.combine(monday, datetime.time(11), tzinfo=center.tz))  # fmt: skip
    enter(client, user, org)

    listing = client.get(reverse("portal:bookings")).content.decode()
    assert reverse("portal:booking_new") in listing and "Réservations" in listing  # the menu entry and the button
    page = client.get(reverse("portal:booking_new"), {"kind": "meeting_room", "day": monday.isoformat()})
    content = page.content.decode()
    assert page.status_code == 200 and "Salle Verrière" in content
    assert ">11:00<" in content and ">18:30<" in content  # 30-minute steps, opening hours 8:00-19:00
    assert ">09:00<" not in content and ">10:30<" not in content  # taken 9:00-11:00

    preview = client.get(confirm_url(room, monday, "14:00", end="16:00")).content.decode()
    assert "60,00" in preview and "2 crédits" in preview  # 2 hours at 30 € (cheaper than the half-day), 1 credit/h

    response = client.post(reverse("portal:booking_space", args=[room.pk]),
                           {"day": monday.isoformat(), "start": "14:00", "end": "16:00", "payment": "invoice",
                            "title": "Point client"})  # fmt: skip
    assert response.status_code == 302 and response.url == reverse("portal:bookings")
    booking = Booking.objects.get(space=room, company=company)
    assert booking.status == Booking.Status.CONFIRMED and booking.channel == Booking.Channel.PORTAL
    assert booking.contact == contact and booking.payment == Booking.Payment.INVOICE
    assert booking.price_excl_vat == Decimal("60.00") and booking.title == "Point client"
    assert booking.starts_at == datetime.datetime.combine(monday, datetime.time(14), tzinfo=center.tz)
    listing = client.get(reverse("portal:bookings")).content.decode()
    assert "Votre réservation est confirmée." in listing
    assert "14:00–16:00" in listing and reverse("portal:booking_cancel", args=[booking.pk]) in listing
    assert reverse("portal:booking_ics", args=[booking.pk]) in listing


def test_credits_pay_the_booking_and_the_balance_and_ledger_show_it(client, org, admin, room, company, monday):
    user, contact = member_of(company, Contact.CompanyRole.USER)
    pack = PackFactory(organization=org, name="Pack 20 heures de salle", credits=Decimal("20"), validity_days=180)
    credits.assign_plan(company=company, by=admin, data={"plan": pack})
    enter(client, user, org)

    preview = client.get(confirm_url(room, monday, "10:00", end="11:30")).content.decode()
    assert "1,50 crédits" in preview and "20 crédits" in preview  # cost and balance on that day
    assert 'value="credits" checked' in preview

    response = client.post(
        reverse("portal:booking_space", args=[room.pk]),
        {"day": monday.isoformat(), "start": "10:00", "end": "11:30", "payment": "credits"},
    )
    assert response.status_code == 302
    booking = Booking.objects.get(space=room)
    assert booking.payment == Booking.Payment.CREDITS and booking.credits == Decimal("1.50")
    assert credits.balance(company, contact, monday) == Decimal("18.50")
    listing = client.get(reverse("portal:bookings")).content.decode()
    assert "18,50 crédits disponibles" in listing and "Pack 20 heures de salle" in listing and "-1,50" in listing


def test_a_user_cannot_make_a_paid_booking_and_is_told_why(client, org, room, company, monday):
    user, _contact = member_of(company, Contact.CompanyRole.USER)
    enter(client, user, org)

    preview = client.get(confirm_url(room, monday)).content.decode()
    assert "ne permet pas les réservations payantes" in preview
    response = client.post(
        reverse("portal:booking_space", args=[room.pk]),
        {"day": monday.isoformat(), "start": "10:00", "end": "11:00", "payment": "invoice"},
    )

    assert response.status_code == 403
    assert "Votre rôle « utilisateur » ne permet pas les réservations payantes" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_slot_taken_meanwhile_answers_409_with_a_clear_message(client, org, center, room, company, monday):
    user, _contact = member_of(company)
    enter(client, user, org)
    assert client.get(confirm_url(room, monday, "10:00")).status_code == 200
    BookingFactory(space=room, company=CompanyFactory(organization=org),
                   starts_at=datetime.datetime.combine(monday, datetime.time(10), tzinfo=center.tz),
                   ends_at=datetime.datetime.combine(monday, datetime.time(11), tzinfo=center.tz))  # fmt: skip

    response = client.post(
        reverse("portal:booking_space", args=[room.pk]),
        {"day": monday.isoformat(), "start": "10:00", "end": "11:00", "payment": "invoice"},
    )

    assert response.status_code == 409
    assert "Ce créneau vient d&#x27;être réservé" in response.content.decode()
    assert Booking.objects.filter(company=company).count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "25:00"}, "Choisissez un créneau parmi les créneaux libres."),
        ({"start": "10:00", "end": "10:10"}, "Choisissez une fin parmi celles proposées."),
        ({"start": "10:00", "end": "11:00", "payment": "cash"}, "Mode de paiement invalide."),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_booked(client, org, room, company, monday, data, message):
    user, _contact = member_of(company)
    enter(client, user, org)

    response = client.post(reverse("portal:booking_space", args=[room.pk]), {"day": monday.isoformat(), **data})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Booking.objects.exists()


def test_a_past_day_and_an_unknown_center_are_refused_on_the_search(client, org, center, room, company):
    user, _contact = member_of(company)
    CenterFactory(organization=org)  # two centers: the member chooses
    enter(client, user, org)

    past = client.get(reverse("portal:booking_new"), {"center": center.pk, "day": "2020-01-06"}).content.decode()
    unknown = client.get(reverse("portal:booking_new"), {"center": 999999}).content.decode()

    assert "Choisissez aujourd&#x27;hui ou un jour à venir." in past and "Salle Verrière" not in past
    assert "Choisissez un centre." in unknown


def test_managers_see_the_company_bookings_users_only_their_own(client, org, room, company, monday):
    manager_user, manager = member_of(company, Contact.CompanyRole.MANAGER)
    user_user, user = member_of(company, Contact.CompanyRole.USER)
    mine = BookingFactory(space=room, company=company, contact=user, title="Réunion de l'utilisateur")
    theirs = BookingFactory(space=room, company=company, contact=manager, title="Réunion du manager",
                            starts_at=mine.starts_at + datetime.timedelta(hours=2),
                            ends_at=mine.ends_at + datetime.timedelta(hours=2))  # fmt: skip
    BookingFactory(space=room, company=CompanyFactory(organization=org), title="Autre entreprise",
                   starts_at=mine.starts_at + datetime.timedelta(hours=4),
                   ends_at=mine.ends_at + datetime.timedelta(hours=4))  # fmt: skip

    as_manager = enter(client, manager_user, org).get(reverse("portal:bookings")).content.decode()
    assert "Réunion de l&#x27;utilisateur" in as_manager and "Réunion du manager" in as_manager
    assert "Autre entreprise" not in as_manager

    enter(client, user_user, org)
    as_user = client.get(reverse("portal:bookings")).content.decode()
    assert "Réunion de l&#x27;utilisateur" in as_user and "Réunion du manager" not in as_user
    assert client.get(reverse("portal:booking_ics", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("portal:booking_cancel", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Booking.Status.CONFIRMED


def test_another_companys_or_organizations_booking_answers_404(client, org, other_org, room, company):
    user, _contact = member_of(company)
    foreign = BookingFactory(space=RoomFactory(organization=other_org, center=CenterFactory(organization=other_org)))
    neighbour = BookingFactory(space=room, company=CompanyFactory(organization=org))
    enter(client, user, org)

    for booking in (foreign, neighbour):
        assert client.get(reverse("portal:booking_ics", args=[booking.pk])).status_code == 404
        assert client.post(reverse("portal:booking_cancel", args=[booking.pk])).status_code == 404
    foreign_space = foreign.space
    assert client.get(confirm_url(foreign_space, next_weekday(0))).status_code == 404
    assert client.get(reverse("portal:bookings")).status_code == 200


def test_the_member_cancels_before_the_deadline_not_after(client, org, admin, room, company, monday):
    user, contact = member_of(company)
    pack = PackFactory(organization=org, credits=Decimal("10"))
    credits.assign_plan(company=company, by=admin, data={"plan": pack})
    enter(client, user, org)
    client.post(reverse("portal:booking_space", args=[room.pk]),
                {"day": monday.isoformat(), "start": "10:00", "end": "12:00", "payment": "credits"})  # fmt: skip
    booking = Booking.objects.get(space=room)
    assert credits.balance(company, contact, monday) == Decimal("8.00")
    soon = timezone.now() + datetime.timedelta(hours=2)
    late = BookingFactory(space=room, company=company, contact=contact, starts_at=soon,
                          ends_at=soon + datetime.timedelta(hours=1))  # fmt: skip

    listing = client.get(reverse("portal:bookings")).content.decode()
    assert "Annulable jusqu'au" in listing
    assert reverse("portal:booking_cancel", args=[late.pk]) not in listing  # past its deadline: no button
    assert "contactez l'accueil" in listing

    response = client.post(reverse("portal:booking_cancel", args=[booking.pk]), follow=True)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.refund == Booking.Refund.CREDITS
    assert credits.balance(company, contact, monday) == Decimal("10.00")
    assert "La réservation est annulée." in response.content.decode()

    response = client.post(reverse("portal:booking_cancel", args=[late.pk]), follow=True)
    late.refresh_from_db()
    assert late.status == Booking.Status.CONFIRMED
    assert "L&#x27;annulation n&#x27;est plus possible depuis le" in response.content.decode()


def test_the_booking_invitation_downloads_as_a_valid_ics(client, org, room, company):
    user, contact = member_of(company)
    booking = BookingFactory(space=room, company=company, contact=contact)
    enter(client, user, org)

    response = client.get(reverse("portal:booking_ics", args=[booking.pk]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["uid"]).startswith(str(booking.uid))
    assert event.decoded("dtstart") == booking.starts_at


def test_the_list_page_runs_a_constant_number_of_queries(client, org, room, company, django_assert_num_queries):
    user, contact = member_of(company)
    enter(client, user, org)
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=2)

    def make(count, offset):
        for index in range(count):
            moment = start + datetime.timedelta(hours=offset + index)
            BookingFactory(space=room, company=company, contact=contact, starts_at=moment,
                           ends_at=moment + datetime.timedelta(minutes=30))  # fmt: skip
            past = moment - datetime.timedelta(days=30)
            BookingFactory(space=room, company=company, starts_at=past, ends_at=past + datetime.timedelta(minutes=30),
                           status=Booking.Status.CANCELLED)  # fmt: skip

    make(3, 0)
    client.get(reverse("portal:bookings"))  # warm the caches (session, organization)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("portal:bookings")).status_code == 200
    make(30, 100)
    with django_assert_num_queries(len(few)):
        content = client.get(reverse("portal:bookings")).content.decode()
    assert content.count("data-booking=") == 33 + 20  # 33 upcoming, a page of 20 past ones


def test_the_portal_needs_a_member_who_may_book(client, org, company):
    assert client.get(reverse("portal:bookings")).status_code == 302  # to the login page
    outsider = UserFactory(email="staffless@client.test")
    ContactFactory(company=company, user=outsider, email=outsider.email, company_role="user", has_portal_access=True,
                   is_active=False)  # fmt: skip
    enter(client, outsider, org)
    assert client.get(reverse("portal:bookings")).status_code in (302, 403)
