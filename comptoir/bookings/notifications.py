"""The e-mails of a booking (after commit; a failure is logged, the booking stays): the member (or the company's
contact) gets each change with the .ics invitation (same UID, SEQUENCE raised), the staff gets each request."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from comptoir.bookings import calendar
from comptoir.bookings.models import Booking
from comptoir.bookings.services import prepaid

logger = logging.getLogger(__name__)

SUBJECTS = {
    "created": ("Réservation confirmée : %(space)s, %(when)s", "Demande de réservation reçue : %(space)s, %(when)s"),
    "confirmed": ("Réservation confirmée : %(space)s, %(when)s",),
    "paid": ("Demande de réservation payée : %(space)s, %(when)s",),
    "declined": ("Réservation déclinée : %(space)s, %(when)s",),
    "cancelled": ("Réservation annulée : %(space)s, %(when)s",),
    "expired": ("Demande de réservation expirée : %(space)s, %(when)s",),
}


def staff_recipients(organization_id: int) -> list[str]:
    from comptoir.payments.services.webhooks import staff_recipients as payments_staff

    return payments_staff(organization_id)


def when(booking: Booking) -> str:
    tz = booking.center.tz
    start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
    return f"{start:%d/%m/%Y %H:%M}–{end:%H:%M}"


def _subject(event: str, booking: Booking) -> str:
    options = SUBJECTS[event]
    text = options[1] if len(options) > 1 and booking.status == Booking.Status.REQUESTED else options[0]
    return _(text) % {"space": booking.space.name, "when": when(booking)}


def booking_changed(booking_id: int, event: str) -> None:
    booking = (
        Booking.objects.select_related("space", "center", "company", "contact", "invoice").filter(pk=booking_id).first()
    )
    if booking is None or (event == "created" and prepaid.awaiting_payment(booking)):
        return  # a prepaid request is announced once paid (the member is paying in the browser meanwhile)
    with translation.override("fr"):
        recipient = booking.contact.email if booking.contact_id and booking.contact.email else booking.company.email
        context = {"booking": booking, "event": event, "when": when(booking),
                   "site": settings.SITE_URL.rstrip("/")}  # fmt: skip
        messages = []
        if recipient:
            message = EmailMessage(_subject(event, booking), render_to_string("bookings/emails/member.txt", context),
                                   to=[recipient], reply_to=[booking.center.email] if booking.center.email else None)  # fmt: skip
            message.attach("invitation.ics", calendar.invitation(booking),
                           "text/calendar; method=%s; charset=utf-8"
                           % ("CANCEL" if booking.status in calendar.CANCELLED else "REQUEST"))  # fmt: skip
            messages.append(message)
        if event in ("created", "paid") and booking.status == Booking.Status.REQUESTED:
            staff = staff_recipients(booking.organization_id)
            if staff:
                context["url"] = context["site"] + reverse("bookings:detail", args=[booking.pk])
                messages.append(EmailMessage(
                    _("Nouvelle demande de réservation : %(space)s, %(when)s")
                    % {"space": booking.space.name, "when": context["when"]},
                    render_to_string("bookings/emails/staff_request.txt", context), to=staff,
                ))  # fmt: skip
    for message in messages:
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("Booking %s: an e-mail failed: %s", booking_id, exc)
