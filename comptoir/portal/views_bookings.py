"""Portal « Réservations » (frontmanager « Espace client » §3, desk « Réservations »): a member books a meeting
room, a drop-in office or a coworking seat for a slot picked among the free ones, sees the price or the credits it
costs and their balance, and follows their bookings (upcoming, past, cancel before the deadline, the .ics).

- /portal/bookings/ — upcoming and past bookings, the credits balance and the last ledger lines.
- /portal/bookings/new/ — pick a kind, a center (when the organization has several), a day: the spaces of that
  kind with their free slots (`availability.free_slots`, the space's step).
- /portal/bookings/new/<space>/ — a slot picked: choose its end among the free ones, see the price (`price_of`)
  and the credits cost next to the balance, choose credits or invoice, confirm (`create_booking(member=...)`).
- /portal/bookings/<pk>/cancel/ (POST) — `cancel_booking(member=...)`, refused after the space's deadline.
- /portal/bookings/<pk>/pay/ (POST) — a booking on a space « paiement à la réservation » waiting for its payment:
  a new payment link (`prepaid.pay_link`), then the payer's page (/portal/pay/<token>/).
- /portal/bookings/<pk>/invitation.ics — the booking's iCalendar invitation (`calendar.invitation`).
- /portal/bookings/calendar/ (POST) — « Synchroniser avec mon agenda »: the member's private subscription address
  (`feeds.renew_member_feed`: a new one, the earlier one stopped), shown once; /portal/bookings/calendar/stop/ (POST)
  cuts it.

Who: every company role may book (capability "make_free_bookings"); the services refuse a paid booking to a
« user » (frontmanager §2) and the page says why. Which bookings a member sees: administrators and managers see
their company's bookings (they book and cancel for the team, they see what the company is billed for); a « user »
sees only their own. A member of several companies acts through one membership at a time (the `member` query
parameter, defaulting to the first). Other bookings, other companies' and other organizations' answer 404.
Times are shown and parsed in the space's center timezone.

Paid up front (desk « pré-paiement »): on a space with `SpaceBooking.prepayment`, a booking paid in money is
invoiced at once and holds its slot `prepaid.PAYMENT_MINUTES` while the member pays by card; the confirmation page
says so (« Réserver et payer ») and sends the member to the payment page; the list shows « En attente de paiement »
with « Payer » until it is paid (then confirmed, or « Payée, en attente de confirmation » on a space on request).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.bookings import calendar
from comptoir.bookings.models import Booking
from comptoir.bookings.services import availability, credits, feeds, prepaid
from comptoir.bookings.services import bookings as services
from comptoir.catalog.models import Space
from comptoir.core.errors import Conflict, DomainError, RightsError, ValidationFailed
from comptoir.core.models import Center
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.crm.selectors import portal_contacts
from comptoir.portal import navigation
from comptoir.portal.views import member_required, portal_context

PAGE_SIZE = 20
LEDGER_LINES = 10
KINDS = [Space.Kind.MEETING_ROOM, Space.Kind.DROP_IN_OFFICE, Space.Kind.COWORKING_AREA]
TEAM_ROLES = (Contact.CompanyRole.ADMINISTRATOR, Contact.CompanyRole.MANAGER)

if not any(entry.url_name == "portal:bookings" for entry in navigation.ENTRIES):
    navigation.ENTRIES.append(
        navigation.Entry(
            gettext_lazy("Réservations"), "portal:bookings", "calendar-check", 25, capability="make_free_bookings"
        )
    )


# --------------------------------------------------------------------------------------------------
# Who acts, what they see
# --------------------------------------------------------------------------------------------------
def _members(request: HttpRequest) -> list[Contact]:
    contacts = portal_contacts(request.user, request.portal_organization)  # type: ignore[arg-type, attr-defined]
    return [contact for contact in contacts if capabilities.can(contact, "make_free_bookings")]


def _member(request: HttpRequest) -> tuple[Contact, list[Contact]]:
    """The membership the member acts through (the `member` parameter among theirs, else the first)."""
    members = _members(request)
    if not members:
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas de réserver."))
    wanted = request.POST.get("member") or request.GET.get("member")
    if wanted:
        chosen = next((contact for contact in members if str(contact.pk) == wanted), None)
        if chosen is None:
            raise Http404
        return chosen, members
    return members[0], members


def _visible(members: list[Contact]) -> QuerySet[Booking]:
    """Administrators and managers: their company's bookings; users: their own."""
    condition = Q(pk__in=[])
    for contact in members:
        if contact.company_role in TEAM_ROLES:
            condition |= Q(company_id=contact.company_id)
        else:
            condition |= Q(company_id=contact.company_id, contact_id=contact.pk)
    return Booking.objects.filter(condition)


def _booking(request: HttpRequest, pk: int) -> tuple[Booking, Contact]:
    members = _members(request)
    booking = (
        _visible(members).filter(organization=request.portal_organization, pk=pk)  # type: ignore[attr-defined]
        .select_related("space__center", "space__booking", "center", "company", "contact", "invoice").first()
    )  # fmt: skip
    if booking is None:
        raise Http404
    member = next(contact for contact in members if contact.company_id == booking.company_id)
    return booking, member


def _local(moment: datetime.datetime, tz: datetime.tzinfo) -> str:
    return date_format(moment.astimezone(tz), "SHORT_DATETIME_FORMAT")


@dataclass(frozen=True)
class Row:
    booking: Booking
    day: str
    start: str
    end: str
    deadline: datetime.datetime | None
    deadline_text: str
    cancellable: bool
    awaiting_payment: bool  # prepaid, its invoice not paid yet: « Payer »
    paid_request: bool  # prepaid and paid, waiting for the staff's answer
    pay_before: str  # when an unpaid prepaid booking releases its slot
    payment_overdue: bool = False  # unpaid past its delay: being released


def _rows(bookings: list[Booking], now: datetime.datetime) -> list[Row]:
    rows = []
    for booking in bookings:
        tz = booking.center.tz
        start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
        deadline = services.cancellation_deadline(booking) if booking.holds_slot else None
        awaiting = prepaid.payable(booking, now)
        overdue = not awaiting and prepaid.awaiting_payment(booking)  # its delay is over: released soon
        rows.append(Row(
            booking=booking, day=date_format(start, "SHORT_DATE_FORMAT"), start=f"{start:%H:%M}",
            end=f"{end:%H:%M}", deadline=deadline, deadline_text=_local(deadline, tz) if deadline else "",
            cancellable=deadline is not None and now <= deadline and booking.ends_at > now,
            awaiting_payment=awaiting, payment_overdue=overdue,
            pay_before=f"{booking.expires_at.astimezone(tz):%H:%M}" if awaiting and booking.expires_at else "",
            paid_request=(booking.payment == Booking.Payment.PREPAID and booking.status == Booking.Status.REQUESTED
                          and prepaid.is_paid(booking)),
        ))  # fmt: skip
    return rows


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
@never_cache
@member_required
@require_GET
def bookings(request: HttpRequest) -> HttpResponse:
    """Upcoming bookings (soonest first), past ones (newest first, paginated), the credits of each membership."""
    members = _members(request)
    if not members:
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas de réserver."))
    now = timezone.now()
    visible = (
        _visible(members).filter(organization=request.portal_organization)  # type: ignore[attr-defined]
        .select_related("space__booking", "center", "company", "contact", "invoice")
    )  # fmt: skip
    upcoming = list(visible.filter(ends_at__gt=now, status__in=Booking.HOLDING).order_by("starts_at", "pk")[:100])
    past_queryset = visible.exclude(pk__in=[booking.pk for booking in upcoming]).order_by("-starts_at", "-pk")
    page = Paginator(past_queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    wallets = [
        {
            "member": contact,
            "balance": credits.balance(contact.company, contact),
            "ledger": list(credits.ledger(contact.company, contact)[:LEDGER_LINES]),
            "feed": feeds.member_feed(contact),
        }
        for contact in members
    ]
    return render(request, "portal/bookings/list.html", portal_context(
        request, upcoming=_rows(upcoming, now), past=_rows(list(page.object_list), now), page=page,
        wallets=wallets, several_companies=len(members) > 1,
    ))  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Search: kind, center, day → spaces and their free slots
# --------------------------------------------------------------------------------------------------
def _parse_day(value: str | None, default: datetime.date) -> tuple[datetime.date, str]:
    if not value:
        return default, ""
    try:
        return datetime.date.fromisoformat(value), ""
    except ValueError:
        return default, _("Date invalide.")


@never_cache
@member_required
@require_GET
def new_booking(request: HttpRequest) -> HttpResponse:
    member, members = _member(request)
    organization = request.portal_organization  # type: ignore[attr-defined]
    centers = list(Center.objects.filter(organization=organization, is_active=True).order_by("name", "pk"))
    kind = request.GET.get("kind") or Space.Kind.MEETING_ROOM
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = _("Choisissez un type d'espace.")
        kind = Space.Kind.MEETING_ROOM
    center = centers[0] if len(centers) == 1 else None
    if request.GET.get("center"):
        center = next((item for item in centers if str(item.pk) == request.GET["center"]), None)
        if center is None:
            errors["center"] = _("Choisissez un centre.")
    elif center is None and centers and member.company.center_id:
        center = next((item for item in centers if item.pk == member.company.center_id), None)
    today = timezone.localdate(timezone=center.tz) if center else timezone.localdate()
    day, day_error = _parse_day(request.GET.get("day"), today)
    if day_error:
        errors["day"] = day_error
    elif day < today:
        errors["day"] = _("Choisissez aujourd'hui ou un jour à venir.")
    results = []
    if center is not None and not errors:
        spaces = (
            availability.bookable_spaces(organization.pk).filter(center=center, kind=kind)
            .select_related("center", "booking").prefetch_related("center__opening_hours").order_by("name", "pk")
        )  # fmt: skip
        for space in spaces:
            tz = center.tz
            slots = [(slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz))
                     for slot in availability.free_slots(space, day)]  # fmt: skip
            results.append({"space": space, "slots": [f"{start:%H:%M}" for start, _end in slots],
                            "hours": availability.describe_hours(center, day)})  # fmt: skip
    return render(request, "portal/bookings/new.html", portal_context(
        request, member=member, members=members, centers=centers, center=center, kinds=[
            (value, Space.Kind(value).label) for value in KINDS], kind=kind, day=day, today=today, errors=errors,
        results=results, searched=center is not None and not errors,
    ))  # fmt: skip


# --------------------------------------------------------------------------------------------------
# One space, one slot: price, credits, confirm
# --------------------------------------------------------------------------------------------------
def _space(request: HttpRequest, pk: int) -> Space:
    space = (
        availability.bookable_spaces(request.portal_organization.pk)  # type: ignore[attr-defined]
        .filter(pk=pk, kind__in=KINDS).select_related("center", "booking").first()
    )  # fmt: skip
    if space is None:
        raise Http404
    return space


def _clock(value: str) -> datetime.time | None:
    try:
        return datetime.time.fromisoformat(value) if value and len(value) == 5 else None
    except ValueError:
        return None


def _ends(space: Space, day: datetime.date, starts_at: datetime.datetime) -> list[datetime.datetime]:
    """The possible ends of a booking starting at `starts_at`: every step up to the end of its free range."""
    step = datetime.timedelta(minutes=availability.settings_of(space).slot_minutes)
    for free_start, free_end in availability.free_ranges(space, day):
        if free_start <= starts_at < free_end:
            ends, cursor = [], starts_at + step
            while cursor <= free_end:
                ends.append(cursor)
                cursor += step
            return ends
    return []


@never_cache
@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def book_space(request: HttpRequest, pk: int) -> HttpResponse:
    space = _space(request, pk)  # another organization's space: 404 before anything else
    member, members = _member(request)
    tz = space.center.tz
    data = request.POST if request.method == "POST" else request.GET
    errors: dict[str, str] = {}
    error, status = "", 200
    day, day_error = _parse_day(data.get("day"), timezone.localdate(timezone=tz))
    start_time = _clock(data.get("start", ""))
    starts_at = availability.aware(day, start_time, tz) if start_time and not day_error else None
    if starts_at is None:
        errors["start"] = _("Choisissez un créneau parmi les créneaux libres.")
    ends = _ends(space, day, starts_at) if starts_at else []
    ends_at = None
    if starts_at and not ends:
        wanted = _clock(data.get("end", "")) if request.method == "POST" else None
        if wanted is None:
            errors["start"] = _("Ce créneau n'est plus libre : choisissez-en un autre.")
        else:  # taken since the page was shown: the service answers (409 « vient d'être réservé »)
            ends_at = availability.aware(day, wanted, tz)
            if ends_at is None or ends_at <= starts_at:
                errors["start"] = _("Ce créneau n'est plus libre : choisissez-en un autre.")
    if ends:
        wanted = _clock(data.get("end", ""))
        by_label = {f"{end.astimezone(tz):%H:%M}": end for end in ends}
        if wanted is not None:
            ends_at = by_label.get(f"{wanted:%H:%M}")
            if ends_at is None:
                errors["end"] = _("Choisissez une fin parmi celles proposées.")
        else:  # an hour by default, or the longest free stretch under it
            hour = starts_at + datetime.timedelta(hours=1)  # type: ignore[operator]
            ends_at = max((end for end in ends if end <= hour), default=ends[0])
    seats = 1
    if availability.is_shared(space):
        try:
            seats = int(data.get("seats") or 1)
        except ValueError:
            seats = 0
        if not 1 <= seats <= space.capacity:
            errors["seats"] = _("Entre 1 et %(count)s places.") % {"count": space.capacity}
            seats = 1
    price = discount = cost = Decimal("0.00")
    balance = credits.balance(member.company, member, day)
    if starts_at and ends_at:
        price, discount, cost = services.price_of(space, starts_at, ends_at, company=member.company,
                                                  contact=member, seats=seats)  # fmt: skip
    can_pay = capabilities.can(member, "make_paid_bookings")
    enough = cost > 0 and balance >= cost
    payment = data.get("payment") or (Booking.Payment.CREDITS if enough else Booking.Payment.INVOICE)
    options = availability.settings_of(space)
    # Paid in money on a space « paiement à la réservation »: invoiced now, paid by card at the next step.
    prepayment = options.prepayment and price > 0 and can_pay
    if request.method == "POST" and not errors:
        try:
            booking = services.create_booking(
                organization=request.portal_organization, by=request.user, member=member,  # type: ignore[attr-defined, arg-type]
                data={"space": space, "starts_at": starts_at, "ends_at": ends_at, "seats": seats,
                      "title": data.get("title", ""), "payment": data.get("payment", "")},
            )  # fmt: skip
        except Conflict as exc:
            error = _("Ce créneau vient d'être réservé : choisissez-en un autre.") if exc.code == "slot_taken" else (
                exc.message)  # fmt: skip
            status = 409
        except RightsError as exc:
            error, status = exc.message, 403
        except ValidationFailed as exc:
            error, status = exc.message, 400
            for field in ("payment", "seats", "title"):
                if field in exc.fields:
                    errors[field] = exc.message
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            if prepaid.awaiting_payment(booking):
                return _to_payment(request, booking, member)
            if booking.status == Booking.Status.REQUESTED:
                messages.success(request, _("Votre demande de réservation est envoyée : l'accueil va la confirmer."))
            else:
                messages.success(request, _("Votre réservation est confirmée."))
            return redirect(reverse("portal:bookings"))
    elif request.method == "POST":
        status = 400
    local_start = starts_at.astimezone(tz) if starts_at else None
    return render(request, "portal/bookings/confirm.html", portal_context(
        request, member=member, members=members, space=space, day=day, day_text=date_format(day, "DATE_FORMAT"),
        start=f"{local_start:%H:%M}" if local_start else "", ends=[f"{end.astimezone(tz):%H:%M}" for end in ends],
        end=f"{ends_at.astimezone(tz):%H:%M}" if ends_at else "", seats=seats, shared=availability.is_shared(space),
        price=price, discount=discount, cost=cost, balance=balance, enough=enough, can_pay=can_pay, payment=payment,
        auto_accept=options.auto_accept, prepayment=prepayment, payment_minutes=prepaid.PAYMENT_MINUTES,
        errors=errors, error=error,
        title=data.get("title", ""), several_companies=len(members) > 1,
    ), status=status)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Pay (a prepaid booking), cancel, invitation
# --------------------------------------------------------------------------------------------------
def _to_payment(request: HttpRequest, booking: Booking, member: Contact) -> HttpResponse:
    """A fresh payment link for the booking's invoice, then the payer's page; the list with the reason if refused."""
    try:
        _link, token = prepaid.pay_link(invoice=booking.invoice, member=member, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:bookings")
    return redirect(reverse("portal:pay", args=[token]))


@never_cache
@member_required
@require_POST
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    """« Payer » a booking waiting for its payment (the link of the first attempt may be lost or expired)."""
    booking, member = _booking(request, pk)
    if prepaid.awaiting_payment(booking) and not prepaid.payable(booking):
        messages.error(request, _("Le délai de paiement de cette réservation est dépassé : son créneau est libéré."))
        return redirect("portal:bookings")
    if not prepaid.awaiting_payment(booking):
        messages.error(request, _("Cette réservation n'attend pas de paiement."))
        return redirect("portal:bookings")
    return _to_payment(request, booking, member)


@never_cache
@member_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking, member = _booking(request, pk)
    try:
        services.cancel_booking(booking=booking, by=request.user, member=member,  # type: ignore[arg-type]
                                reason=_("Annulée depuis l'espace client"))  # fmt: skip
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("La réservation est annulée."))
    return redirect("portal:bookings")


@never_cache
@member_required
@require_GET
def invitation(request: HttpRequest, pk: int) -> HttpResponse:
    booking, _member = _booking(request, pk)
    response = HttpResponse(calendar.invitation(booking), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reservation-{booking.pk}.ics"'
    return response


# --------------------------------------------------------------------------------------------------
# « Synchroniser avec mon agenda »: the member's own calendar subscription
# --------------------------------------------------------------------------------------------------
@never_cache
@member_required
@require_POST
def calendar_sync(request: HttpRequest) -> HttpResponse:
    """A new private subscription address for the member (their earlier one stops), shown this once."""
    member, members = _member(request)
    try:
        feed, raw = feeds.renew_member_feed(member=member, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:bookings")
    url = request.build_absolute_uri(reverse("bookings:calendar_feed", args=[raw]))
    return render(request, "portal/bookings/calendar.html", portal_context(
        request, member=member, several_companies=len(members) > 1, feed=feed, url=url,
        webcal="webcal://" + url.split("://", 1)[1],
    ))  # fmt: skip


@never_cache
@member_required
@require_POST
def calendar_stop(request: HttpRequest) -> HttpResponse:
    """« Couper la synchronisation »: the member's subscription address stops answering."""
    member, _members_list = _member(request)
    if feeds.revoke_member_feed(member=member, by=request.user):  # type: ignore[arg-type]
        messages.success(request, _("La synchronisation est coupée : l'ancienne adresse ne répond plus."))
    else:
        messages.info(request, _("Aucune synchronisation n'était active."))
    return redirect("portal:bookings")


urlpatterns = [
    path("bookings/", bookings, name="bookings"),
    path("bookings/calendar/", calendar_sync, name="booking_calendar"),
    path("bookings/calendar/stop/", calendar_stop, name="booking_calendar_stop"),
    path("bookings/new/", new_booking, name="booking_new"),
    path("bookings/new/<int:pk>/", book_space, name="booking_space"),
    path("bookings/<int:pk>/cancel/", cancel, name="booking_cancel"),
    path("bookings/<int:pk>/pay/", pay, name="booking_pay"),
    path("bookings/<int:pk>/invitation.ics", invitation, name="booking_ics"),
]
