"""Strictness of every .ics we produce (issue 7 item 9): the invitation (METHOD:REQUEST), its cancellation
(METHOD:CANCEL, same UID, higher SEQUENCE) and the subscription feeds pass icalendar, ical, vobject and our own
checks (comptoir/bookings/tests/ics_checks.py) — also with long French texts folded at 75 octets."""

from __future__ import annotations

import datetime

import pytest

from comptoir.bookings import calendar
from comptoir.bookings.services import bookings as services
from comptoir.bookings.tests.factories import BookingFactory, RoomFactory, SpaceBookingFactory, at, next_weekday
from comptoir.bookings.tests.ics_checks import own_checks, strict_parse
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

LONG = "Comité de pilotage trimestriel — réunion « élargie » avec les équipes de Lyon, Marseille et Bordeaux ; " * 3


@pytest.fixture
def booking(org, center):  # type: ignore[no-untyped-def]
    room = SpaceBookingFactory(space=RoomFactory(organization=org, center=center, name="Salle Éiffel")).space
    company = CompanyFactory(organization=org, name="Lumière & Fils SARL")
    member = ContactFactory(company=company, first_name="Élodie", last_name="Ñúñez", email="elodie@client.test")
    monday = next_weekday(0)
    return BookingFactory(space=room, company=company, contact=member, title=LONG[:160], notes=LONG,
                          starts_at=at(monday, 10), ends_at=at(monday, 11, 30))  # fmt: skip


def _event(data: bytes):  # type: ignore[no-untyped-def]
    parsed = strict_parse(data)
    events = parsed.walk("VEVENT")
    assert len(events) == 1
    return parsed, events[0]


def test_the_invitation_is_a_strict_request(booking):  # type: ignore[no-untyped-def]
    parsed, event = _event(calendar.invitation(booking))

    assert parsed["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"{booking.uid}@comptoir"
    assert event.decoded("DTSTART") == booking.starts_at
    assert event.decoded("DTEND") == booking.ends_at
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "Élodie" in str(event["DESCRIPTION"]) or "Ñúñez" in str(event["DESCRIPTION"])


def test_the_cancellation_has_the_same_uid_and_a_higher_sequence(admin, booking):  # type: ignore[no-untyped-def]
    _request, before = _event(calendar.invitation(booking))

    services.cancel_booking(booking=booking, by=admin, reason="Annulée")
    booking.refresh_from_db()
    parsed, after = _event(calendar.invitation(booking))

    assert parsed["METHOD"] == "CANCEL"
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["STATUS"]) == "CANCELLED"


def test_a_feed_of_many_bookings_is_strict(org, booking):  # type: ignore[no-untyped-def]
    others = [BookingFactory(space=booking.space, company=booking.company, status=status,
                             starts_at=at(booking.starts_at.date() + datetime.timedelta(days=day), 9),
                             ends_at=at(booking.starts_at.date() + datetime.timedelta(days=day), 10))
              for day, status in [(1, "requested"), (2, "cancelled"), (3, "confirmed")]]  # fmt: skip

    parsed = strict_parse(calendar.feed([booking, *others], "Réservations de la « Salle Éiffel » — Opérateur A"))

    events = parsed.walk("VEVENT")
    assert [str(event["STATUS"]) for event in events] == ["CONFIRMED", "TENTATIVE", "CANCELLED", "CONFIRMED"]
    assert len({str(event["UID"]) for event in events}) == 4
    assert "METHOD" not in parsed


def test_an_empty_feed_is_strict():  # type: ignore[no-untyped-def]
    strict_parse(calendar.feed([], "Vide"))


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (b"BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "CRLF"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nX-LONG:" + b"a" * 80 + b"\r\nEND:VCALENDAR\r\n", "75"),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nDTSTAMP:20261101T090000Z\r\n"
            b"DTSTART:20261201T180000Z\r\nDTEND:20261201T190000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "UID",
        ),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a@b\r\nDTSTAMP:20261101T090000Z\r\n"
            b"DTSTART:20261201T180000Z\r\nDTEND:20261201T170000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "DTEND",
        ),
    ],
)
def test_the_own_checks_catch_broken_documents(broken, message):  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError, match=message):
        own_checks(broken)
