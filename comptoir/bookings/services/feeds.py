"""Calendar feeds (issue 7 item 9): a private iCalendar subscription URL per member and per space, that Google
Calendar, Outlook or Apple Calendar poll.

The URL carries a random token (`secrets`, 256 bits); only its SHA-256 is stored (DESIGN invariant 9), so the raw
token is shown once, when the feed is created. Revoking a feed stops it at once (the URL answers 404). A feed lists
the bookings of its member or of its space from 30 days ago to a year ahead; cancelled ones are kept, marked
CANCELLED, so the subscribed calendars drop them.

Rights: the staff holding `bookings.view_booking` see the feeds; `bookings.change_booking` creates and revokes them.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.bookings import calendar
from comptoir.bookings.models import Booking, CalendarFeed
from comptoir.catalog.models import Space
from comptoir.core import journal, rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm.models import Contact

VIEW_RIGHT = "bookings.view_booking"
CHANGE_RIGHT = "bookings.change_booking"
TOKEN_BYTES = 32
PAST = datetime.timedelta(days=30)
AHEAD = datetime.timedelta(days=366)
MAX_EVENTS = 5000  # a year of a busy room is far below this


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def feeds_for(user: User, organization: Organization | int) -> QuerySet[CalendarFeed]:
    """The organization's feeds (of the spaces of the staff member's centers, and of members)."""
    if not rights.has_right(user, VIEW_RIGHT, organization):
        return CalendarFeed.objects.none()
    feeds = CalendarFeed.objects.filter(organization_id=_org_id(organization)).select_related(
        "contact__company", "space__center", "created_by"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        feeds = feeds.filter(Q(space__isnull=True) | Q(space__center_id__in=restricted))
    return feeds.order_by("-created_at", "-pk")


@transaction.atomic
def create_feed(
    *, organization: Organization, by: User | None, contact: Contact | None = None, space: Space | None = None
) -> tuple[CalendarFeed, str]:
    """A new subscription URL for a member or a space: (feed, raw token). The raw token is not kept."""
    rights.require(by, CHANGE_RIGHT, organization)
    if (contact is None) == (space is None):
        raise ValidationFailed(_("Choisissez un membre ou un espace."), code="required", field="contact")
    if contact is not None and contact.organization_id != organization.pk:
        raise ValidationFailed(_("Choisissez un membre."), code="required", field="contact")
    if space is not None and space.organization_id != organization.pk:
        raise ValidationFailed(_("Choisissez un espace."), code="required", field="space")
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed.objects.create(
        organization_id=organization.pk, contact=contact, space=space, token_hash=hash_token(raw),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    journal.record(actor=by, action="calendar_feed.created", obj=contact or space,
                   changes={"feed": feed.pk})  # fmt: skip
    return feed, raw


@transaction.atomic
def renew_member_feed(*, member: Contact, by: User | None) -> tuple[CalendarFeed, str]:
    """« Synchroniser avec mon agenda » in the portal: the member's own subscription URL — a new one, their earlier
    ones revoked (the address is shown once: asking again replaces it). Open to every member with portal access."""
    from comptoir.crm import capabilities

    capabilities.require(member, "make_free_bookings")
    now = timezone.now()
    for feed in CalendarFeed.objects.select_for_update().filter(contact=member, revoked_at=None):
        feed.revoked_at = now
        feed.save(update_fields=["revoked_at"])
        journal.record(actor=by, action="calendar_feed.revoked", obj=member, changes={"feed": feed.pk})
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed.objects.create(organization_id=member.organization_id, contact=member,
                                       token_hash=hash_token(raw), created_by=_user(by))  # fmt: skip
    journal.record(actor=by, action="calendar_feed.created", obj=member, changes={"feed": feed.pk, "portal": True})
    return feed, raw


def member_feed(member: Contact) -> CalendarFeed | None:
    """The member's active subscription, if any (the portal says whether one runs and since when)."""
    return CalendarFeed.objects.filter(contact=member, revoked_at=None).order_by("-created_at", "-pk").first()


def _user(by: User | None) -> User | None:
    return by if getattr(by, "is_authenticated", False) else None


@transaction.atomic
def revoke_member_feed(*, member: Contact, by: User | None) -> int:
    """« Couper la synchronisation » in the portal: the member's subscriptions revoked. Returns how many."""
    feeds = list(CalendarFeed.objects.select_for_update().filter(contact=member, revoked_at=None))
    for feed in feeds:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        journal.record(actor=by, action="calendar_feed.revoked", obj=member, changes={"feed": feed.pk})
    return len(feeds)


@transaction.atomic
def revoke_feed(*, feed: CalendarFeed, by: User | None) -> CalendarFeed:
    """Stop a feed for good: its URL answers 404 from now on."""
    rights.require(by, CHANGE_RIGHT, feed.organization_id)
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.revoked_at is not None:
        raise ValidationFailed(_("Cet abonnement est déjà révoqué."), code="already_revoked")
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])
    journal.record(actor=by, action="calendar_feed.revoked", obj=feed.contact or feed.space,
                   changes={"feed": feed.pk})  # fmt: skip
    return feed


def find_feed(raw: str) -> CalendarFeed | None:
    """The active feed a raw token opens, or None (unknown, malformed or revoked)."""
    if not isinstance(raw, str) or not 20 <= len(raw) <= 100 or not raw.isascii():
        return None
    return (
        CalendarFeed.objects.filter(token_hash=hash_token(raw), revoked_at=None)
        .select_related("organization", "contact__company", "space__center")
        .first()
    )


def feed_bookings(feed: CalendarFeed, *, now: datetime.datetime | None = None) -> QuerySet[Booking]:
    """The bookings a feed lists: its member's or its space's, from 30 days ago to a year ahead."""
    now = now or timezone.now()
    bookings = Booking.objects.filter(organization_id=feed.organization_id, starts_at__gte=now - PAST,
                                      starts_at__lt=now + AHEAD)  # fmt: skip
    bookings = bookings.filter(contact_id=feed.contact_id) if feed.contact_id else bookings.filter(space=feed.space_id)
    return bookings.select_related("space", "center", "company", "contact").order_by("starts_at", "pk")


def feed_name(feed: CalendarFeed) -> str:
    if feed.contact_id:
        return _("Réservations de %(name)s — %(organization)s") % {
            "name": str(feed.contact), "organization": feed.organization.name}  # fmt: skip
    return _("Réservations %(space)s — %(center)s") % {"space": feed.space.name, "center": feed.space.center.name}


def render_feed(feed: CalendarFeed, *, now: datetime.datetime | None = None) -> bytes:
    """The feed's iCalendar document; notes when it was last read (at most once a minute, not to write on every
    poll)."""
    now = now or timezone.now()
    body = calendar.feed(list(feed_bookings(feed, now=now)[:MAX_EVENTS]), feed_name(feed))
    if feed.last_used_at is None or feed.last_used_at < now - datetime.timedelta(minutes=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return body
