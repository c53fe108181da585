"""iCalendar (RFC 5545) for bookings, made with the `icalendar` library: the invitation attached to each booking
e-mail (METHOD:REQUEST, and METHOD:CANCEL with the same UID and a higher SEQUENCE when it is cancelled, declined or
expired), and the subscription feeds of a member or a space (no METHOD, one VEVENT per booking)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from comptoir.bookings.models import Booking

PRODID = "-//Comptoir//Réservations//FR"
CANCELLED = (Booking.Status.CANCELLED, Booking.Status.DECLINED, Booking.Status.EXPIRED)


def _calendar(method: str | None = None, name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def summary_of(booking: Booking) -> str:
    title = booking.title or _("Réservation")
    return f"{title} — {booking.space.name}"


def event_of(booking: Booking, *, stamp: datetime.datetime | None = None, organizer: str = "") -> Event:
    event = Event()
    event.add("uid", f"{booking.uid}@comptoir")
    event.add("dtstamp", stamp or timezone.now())
    event.add("dtstart", booking.starts_at.astimezone(datetime.UTC))
    event.add("dtend", booking.ends_at.astimezone(datetime.UTC))
    event.add("sequence", booking.sequence)
    event.add("summary", summary_of(booking))
    center = booking.center
    place = ", ".join(part for part in (booking.space.name, center.name, center.address_line1, center.postal_code,
                                        center.city) if part)  # fmt: skip
    event.add("location", place)
    description = [_("Entreprise : %(company)s") % {"company": booking.company.name}]
    if booking.contact_id:
        description.append(_("Membre : %(name)s") % {"name": booking.contact})
    if booking.notes:
        description.append(booking.notes)
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if booking.status in CANCELLED
              else "TENTATIVE" if booking.status == Booking.Status.REQUESTED else "CONFIRMED")  # fmt: skip
    if organizer:
        address = vCalAddress(f"mailto:{organizer}")
        address.params["cn"] = vText(center.name)
        event["organizer"] = address
    if booking.contact_id and booking.contact.email:
        attendee = vCalAddress(f"mailto:{booking.contact.email}")
        attendee.params["cn"] = vText(str(booking.contact))
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    return event


def invitation(booking: Booking) -> bytes:
    """The .ics of a booking e-mail: a request while it holds its slot, a cancellation afterwards."""
    method = "CANCEL" if booking.status in CANCELLED else "REQUEST"
    calendar = _calendar(method)
    organizer = booking.center.email or settings.DEFAULT_FROM_EMAIL
    calendar.add_component(event_of(booking, organizer=organizer.split("<")[-1].strip(">").strip()))
    return calendar.to_ical()


def feed(bookings: Iterable[Booking], name: str) -> bytes:
    """A subscription feed (Google Calendar, Outlook, Apple Calendar): the given bookings, cancelled ones marked."""
    calendar = _calendar(name=name)
    stamp = timezone.now()
    for booking in bookings:
        calendar.add_component(event_of(booking, stamp=stamp))
    return calendar.to_ical()
