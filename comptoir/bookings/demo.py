"""The bookings demo data (issue 7): the demo's meeting rooms, drop-in offices and coworking areas configured for
booking, plans and their credits, bookings over the last two months and the next month, requests waiting for the
staff, one declined, one cancelled with its credits refunded, a maintenance block, and the portal member
(membre@<workspace>.comptoir.test) with credits and upcoming bookings.

Through the services: `credits.assign_plan`, `bookings.create_booking` / `confirm_booking` / `decline_booking` /
`cancel_booking`, `blocks.block_slots`, `catalog.update_space` (the coworking areas become bookable). The shortcuts,
documented:
- the per-space settings (`SpaceBooking`: prices, credits per hour, auto-accept) are written as rows — there is no
  service for them; they are part of a space;
- a past booking is created with `now=` a few days before its slot, so the « slot in the past » check passes as it
  did when it was booked;
- past bookings are paid in credits before this month (the monthly runs of the billing demo are done), and by
  invoice only this month (their consumptions wait for the next run).

Deterministic (one seeded generator) and idempotent: an organization that already has bookings gets nothing new.
The bookings send their e-mails at commit, to the demo's .comptoir.test addresses.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from comptoir.core.demo import DemoContext, register_demo_step

PAST_DAYS = 60
FUTURE_DAYS = 31
MAINTENANCE = "Maintenance : remplacement de l'écran et du système de visioconférence"
DECLINED = "Salle réservée pour un événement du centre"
CANCELLED = "Réunion reportée"
ON_REQUEST_ROOM = "Salle Grand Large"  # confirmation by the staff, in the first center
FLEX, PACK = "Abonnement Flex 10", "Pack 20 heures de salle"

# kind → (hour, half-day, day prices excl. VAT, credits per hour, slot minutes)
SETTINGS = {
    "meeting_room": (Decimal("25.00"), Decimal("80.00"), Decimal("140.00"), Decimal("1.00"), 30),
    "drop_in_office": (Decimal("12.00"), Decimal("40.00"), Decimal("70.00"), Decimal("1.00"), 30),
    "coworking_area": (Decimal("5.00"), Decimal("15.00"), Decimal("25.00"), Decimal("0.50"), 60),
}
BIG_ROOM = (Decimal("45.00"), Decimal("150.00"), Decimal("260.00"), Decimal("2.00"), 30)
TITLES = ["Point d'équipe", "Rendez-vous client", "Entretien de recrutement", "Atelier produit", "Comité de pilotage",
          "Formation", "Journée au calme", "Revue mensuelle"]  # fmt: skip


def _space_settings(ctx: DemoContext) -> list:
    from comptoir.bookings.models import SpaceBooking
    from comptoir.catalog.models import Space
    from comptoir.catalog.services import spaces as space_services

    first_center = min(ctx.centers.values(), key=lambda center: center.code)
    bookable = []
    for space in Space.objects.filter(organization=ctx.organization, is_active=True,
                                      kind__in=list(SETTINGS)).select_related("center").order_by("center__code",
                                                                                                  "name"):  # fmt: skip
        if not space.is_bookable:  # the coworking areas: seats bookable by the hour or the day
            space = space_services.update_space(space=space, by=ctx.administrator, data={"is_bookable": True})
        on_request = space.name == ON_REQUEST_ROOM and space.center_id == first_center.pk
        hour, half_day, day, per_hour, step = BIG_ROOM if space.name == ON_REQUEST_ROOM else SETTINGS[space.kind]
        SpaceBooking.objects.get_or_create(space=space, defaults={
            "organization_id": ctx.organization.pk, "hour_price": hour, "half_day_price": half_day, "day_price": day,
            "credits_per_hour": per_hour, "slot_minutes": step, "auto_accept": not on_request, "request_hours": 48,
            "cancellation_hours": 24, "prepayment": space.kind == "drop_in_office",
            "color": {"meeting_room": "#2563eb", "drop_in_office": "#16a34a"}.get(space.kind, "#d97706"),
        })  # fmt: skip
        bookable.append(space)
    return bookable


def _holders(ctx: DemoContext) -> list:
    """(company, member) pairs that book: the portal member first, then a member of a few client companies."""
    from comptoir.crm.demo import PORTAL_COMPANY_NAME, PORTAL_MEMBER_LOCAL_PART
    from comptoir.crm.models import Company, Contact

    portal = Contact.objects.select_related("company").get(
        organization=ctx.organization, company__name=PORTAL_COMPANY_NAME,
        email__iexact=f"{PORTAL_MEMBER_LOCAL_PART}@{ctx.email_domain}",
    )  # fmt: skip
    holders = [portal]
    for company in Company.objects.filter(organization=ctx.organization, kind=Company.Kind.CLIENT).exclude(
            pk=portal.company_id).order_by("name", "pk")[:6]:  # fmt: skip
        contact = company.contacts.filter(is_active=True).order_by("pk").first()
        holders.append(contact or company)
    return holders


def _at(center, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=center.tz)


def bookings_demo(ctx: DemoContext) -> None:
    from comptoir.bookings.models import Booking
    from comptoir.bookings.services import availability, blocks, credits
    from comptoir.bookings.services import bookings as services
    from comptoir.catalog.models import Product
    from comptoir.core.errors import DomainError
    from comptoir.crm.models import Contact

    organization, admin = ctx.organization, ctx.administrator
    if Booking.objects.filter(organization=organization).exists():
        return
    spaces = _space_settings(ctx)
    if not spaces:
        return
    rng = random.Random(f"bookings:{ctx.slug}")
    now = timezone.now()
    today = timezone.localdate()
    month_start = today.replace(day=1)
    plans = {plan.name: plan for plan in Product.objects.filter(organization=organization, kind="plan",
                                                                name__in=[FLEX, PACK])}  # fmt: skip
    holders = _holders(ctx)
    portal = holders[0]

    # Plans: the portal company runs Flex 10 for three months, its member holds a pack of 20 hours; some clients
    # run Flex 10 or bought a pack.
    def assign(company, plan_name, starts_on, contact=None):
        if plan_name in plans:
            credits.assign_plan(company=company, by=admin, today=today,
                                data={"plan": plans[plan_name], "contact": contact, "starts_on": starts_on})  # fmt: skip
            ctx.created_one("plan assignments")

    history_start = today - datetime.timedelta(days=PAST_DAYS + 7)
    assign(portal.company, FLEX, history_start.replace(day=1))
    assign(portal.company, PACK, today - datetime.timedelta(days=20), contact=portal)
    for index, holder in enumerate(holders[1:]):
        company = holder.company if isinstance(holder, Contact) else holder
        if index % 3 == 0:
            assign(company, FLEX, history_start.replace(day=1))
        elif index % 3 == 1:
            assign(company, PACK, history_start)

    def book(holder, space, start, end, *, at_time, payment="", member=False, title=""):
        contact = holder if isinstance(holder, Contact) else None
        company = holder.company if contact else holder
        by = contact.user if member and contact and contact.user_id else admin
        try:
            booking = services.create_booking(
                organization=organization, by=by, member=contact if member else None, now=at_time,
                data={"space": space, "company": company, "contact": contact, "starts_at": start, "ends_at": end,
                      "payment": payment, "title": title or rng.choice(TITLES),
                      "seats": rng.randint(1, 3) if availability.is_shared(space) else 1},
            )  # fmt: skip
        except DomainError:
            return None  # taken, blocked, or not enough credits: the demo skips it
        ctx.created_one("bookings")
        return booking

    rooms = [space for space in spaces if space.kind == "meeting_room"]
    first_center = min(ctx.centers.values(), key=lambda center: center.code)
    big_room = next((space for space in rooms if space.name == ON_REQUEST_ROOM and space.center_id == first_center.pk),
                    rooms[0] if rooms else spaces[0])  # fmt: skip

    # A maintenance block on the big room, next week (and a closed afternoon of the whole first center).
    block_day = today + datetime.timedelta(days=7 - today.weekday() + 1)  # next Tuesday
    blocks.block_slots(center=big_room.center, by=admin, space=big_room, reason=MAINTENANCE,
                       slots=[(_at(big_room.center, block_day, 8), _at(big_room.center, block_day, 13))])  # fmt: skip
    blocks.block_slots(center=first_center, by=admin, reason="Fermeture exceptionnelle : inventaire",
                       slots=[(_at(first_center, block_day + datetime.timedelta(days=2), 14),
                               _at(first_center, block_day + datetime.timedelta(days=2), 18))])  # fmt: skip
    ctx.created_one("blocked slots")

    # The history and the next month: each open day, a few bookings on random spaces.
    day = today - datetime.timedelta(days=PAST_DAYS)
    last = today + datetime.timedelta(days=FUTURE_DAYS)
    while day <= last:
        if day.weekday() < 5:
            for _count in range(rng.randint(1, 4)):
                space = rng.choice(spaces)
                holder = rng.choice(holders)
                hour = rng.randint(8, 16)
                length = rng.choice([1, 1, 2, 3]) if space.kind != "drop_in_office" else rng.choice([2, 4, 8])
                start = _at(space.center, day, hour)
                end = min(start + datetime.timedelta(hours=length), _at(space.center, day, 19))
                if start >= end:
                    continue
                past = start < now
                # Before this month the billing demo's runs are done: credits only; else credits when they cover
                # it, an invoice otherwise.
                payment = "credits" if past and day < month_start else ""
                book(holder, space, start, end, at_time=start - datetime.timedelta(days=rng.randint(1, 5)) if past
                     else now, payment=payment)  # fmt: skip
        day += datetime.timedelta(days=1)

    # The portal member: upcoming bookings (one in credits, one billed), the requests waiting for the staff.
    upcoming = [today + datetime.timedelta(days=offset) for offset in range(2, 20)]
    workdays = [day for day in upcoming if day.weekday() < 5]
    room = next((space for space in rooms if space.center_id == big_room.center_id and space != big_room), rooms[0])
    for index, day in enumerate(workdays[:3]):
        book(portal, room, _at(room.center, day, 9 + index), _at(room.center, day, 10 + index), at_time=now,
             member=True, payment="credits" if index != 1 else "invoice", title="Point hebdomadaire")  # fmt: skip
    requests = []
    for day in workdays[3:9]:
        booking = book(portal, big_room, _at(big_room.center, day, 14), _at(big_room.center, day, 16), at_time=now,
                       member=True, payment="invoice", title="Séminaire")  # fmt: skip
        if booking is not None and booking.status == Booking.Status.REQUESTED:
            requests.append(booking)
    if len(requests) >= 3:
        services.decline_booking(booking=requests[0], by=admin, reason=DECLINED)
        services.confirm_booking(booking=requests[1], by=admin)
        ctx.created_one("requests decided")
    # One booking in credits cancelled, its credits refunded.
    cancelled = None
    for day, hour in ((day, hour) for day in reversed(workdays) for hour in (17, 8, 12)):
        cancelled = book(portal, room, _at(room.center, day, hour), _at(room.center, day, hour + 1), at_time=now,
                         member=True, payment="credits", title="Réunion de lancement")  # fmt: skip
        if cancelled is not None:
            break
    if cancelled is not None:
        services.cancel_booking(booking=cancelled, by=admin, reason=CANCELLED, refund="credits")
        ctx.created_one("cancelled bookings")
    _paid_up_front(ctx, portal, [space for space in spaces if space.kind == "drop_in_office"], workdays, plans.get(PACK),
                   book)  # fmt: skip


def _paid_up_front(ctx: DemoContext, portal, offices: list, workdays: list, pack, book) -> None:
    """The portal member paid a drop-in office up front (a space with « paiement à la réservation ») and bought a
    pack online, both paid by card: the invoices « Achat en ligne » and their payments."""
    from comptoir.bookings.services import prepaid
    from comptoir.payments.services.payments import record_payment

    def pay(invoice) -> None:
        record_payment(organization=ctx.organization, by=None, check_rights=False, allocations=[(invoice,
                       invoice.total_incl_vat)], data={"company": invoice.company, "amount": invoice.total_incl_vat,
                       "method": "card", "received_on": timezone.localdate()})  # fmt: skip

    for day in workdays[1:]:
        office = offices[0] if offices else None
        booking = office and book(portal, office, _at(office.center, day, 9), _at(office.center, day, 13),
                                  at_time=timezone.now(), member=True, payment="invoice",
                                  title="Journée au calme")  # fmt: skip
        if booking:
            if booking.invoice_id:
                pay(booking.invoice)
                ctx.created_one("prepaid bookings")
            break
    if pack is not None and prepaid.plans_for_sale(ctx.organization).filter(pk=pack.pk).exists():
        assignment = prepaid.purchase_plan(member=portal, plan=pack, by=None)
        pay(assignment.invoice)
        ctx.created_one("plans bought online")


register_demo_step(500, bookings_demo)
