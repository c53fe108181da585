"""Bookings (frontmanager §9 « Réservation de salle de réunion ou bureau de passage », « Espace client » §3, desk
« Réservations »): create, confirm, decline, cancel, expire.

Who may book: the staff (`bookings.add_booking`) for a company or one of its members; a member in the portal for
their own company, within their role (frontmanager §2): a « user » member cannot make a paid booking — one billed
in money; a booking paid in credits or free is open to every member.

How a booking is paid (`Booking.Payment`): in **credits** when the holder has enough valid on the booking's day
(confirmed at once, the credits debited: desk); **invoice**: a consumption of kind « Réservation » on the company
(and its contract, when attached) billed by the monthly run (frontmanager §9 « automatiquement prise en compte
dans la facturation mensuelle »), or on its own invoice with billing's « Générer une facture »; **prepaid**: an
invoice issued at once (`services.prepaid`) — in the portal, on a space with « paiement à la réservation », the
member pays it by card and the request holds its slot meanwhile, confirmed (or submitted to the staff) once paid;
**free** when the price is nothing. The price comes from the space's rates (hour, half-day, day — the cheapest combination for the
duration) less the best booking discount of the holder's plans.

Status: requested → confirmed | declined | expired; requested or confirmed → cancelled. A space with
« acceptation automatique », a booking made by the staff, or one paid in credits is confirmed at once; otherwise the
request waits for the staff until `expires_at` (the space's response delay, at the latest the slot's start) and
holds its slot meanwhile; the staff gets an e-mail for each request. An expired request frees its slot: the daily
job (`expire_requests`) marks them, and every booking write expires the space's overdue requests first.

No double booking (DESIGN invariant 5): each write takes the space's row lock (PostgreSQL; SQLite's immediate
transaction serializes writers), re-reads the slot, and inserts; the exclusion constraint of migration 0002 is the
safety net, and whatever trips it answers « créneau déjà réservé » (409), never a 500.
"""

from __future__ import annotations

import datetime
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.billing.services import invoices as billing
from comptoir.bookings import notifications
from comptoir.bookings.models import Booking
from comptoir.bookings.services import availability, credits, prepaid
from comptoir.catalog.models import Space
from comptoir.core import journal, rights
from comptoir.core.errors import Conflict, DomainError, RightsError, ValidationFailed
from comptoir.core.housekeeping import register_daily
from comptoir.core.models import Organization, User
from comptoir.crm import capabilities
from comptoir.crm.models import Company, Contact
from comptoir.sales.models import Contract

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
HALF_DAY_HOURS = Decimal(4)
DAY_HOURS = Decimal(8)
BOOKING_FIELDS = {"space", "company", "contact", "contract", "starts_at", "ends_at", "seats", "title", "notes",
                  "payment"}  # fmt: skip


class BookingError(DomainError):
    default_code = "booking_refused"


# --------------------------------------------------------------------------------------------------
# Price
# --------------------------------------------------------------------------------------------------
def hours_of(starts_at: datetime.datetime, ends_at: datetime.datetime) -> Decimal:
    return Decimal((ends_at - starts_at).total_seconds()) / Decimal(3600)


def list_price(space: Space, starts_at: datetime.datetime, ends_at: datetime.datetime, seats: int = 1) -> Decimal:
    """The price excluding VAT of a slot, before discounts: the cheapest of the hour, half-day (4 h) and day (8 h)
    rates the space has, whole units each, per seat."""
    options = availability.settings_of(space)
    hours = hours_of(starts_at, ends_at)
    candidates = []
    if options.hour_price is not None:
        candidates.append(options.hour_price * hours)
    if options.half_day_price is not None:
        candidates.append(options.half_day_price * math.ceil(hours / HALF_DAY_HOURS))
    if options.day_price is not None:
        candidates.append(options.day_price * math.ceil(hours / DAY_HOURS))
    if not candidates:
        return ZERO
    return (min(candidates) * seats).quantize(CENT, ROUND_HALF_UP)


def price_of(
    space: Space, starts_at: datetime.datetime, ends_at: datetime.datetime, *, company: Company,
    contact: Contact | None, seats: int = 1,
) -> tuple[Decimal, Decimal, Decimal]:  # fmt: skip
    """(price excl. VAT after the plan discount, the discount %, the credits it costs)."""
    day = starts_at.astimezone(space.center.tz).date()
    discount = credits.discount_for(company, contact, day)
    price = list_price(space, starts_at, ends_at, seats)
    if discount:
        price = (price * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    cost = (hours_of(starts_at, ends_at) * availability.settings_of(space).credits_per_hour * seats).quantize(
        CENT, ROUND_HALF_UP
    )
    return price, discount, cost


# --------------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------------
def _user(by: User | None) -> User | None:
    return by if getattr(by, "is_authenticated", False) else None


def _clean(organization: Organization, data: dict[str, Any], member: Contact | None) -> dict[str, Any]:
    unknown = set(data) - BOOKING_FIELDS
    if unknown:
        raise ValidationFailed(_("Champ inconnu : %(name)s.") % {"name": sorted(unknown)[0]}, code="unknown_field",
                               field=sorted(unknown)[0])  # fmt: skip
    space = data.get("space")
    if not isinstance(space, Space) or space.organization_id != organization.pk:
        raise ValidationFailed(_("Choisissez l'espace."), code="required", field="space")
    availability.check_bookable(space)
    if member is not None:
        company, contact = member.company, member
    else:
        company, contact = data.get("company"), data.get("contact")
        if contact is not None and company is None:
            company = contact.company
        if not isinstance(company, Company) or company.organization_id != organization.pk:
            raise ValidationFailed(_("Choisissez l'entreprise."), code="required", field="company")
        if contact is not None and (not isinstance(contact, Contact) or contact.company_id != company.pk):
            raise ValidationFailed(_("Ce membre n'appartient pas à cette entreprise."), code="wrong_contact",
                                   field="contact")  # fmt: skip
    contract = data.get("contract")
    if contract is not None:
        if not isinstance(contract, Contract) or contract.company_id != company.pk:
            raise ValidationFailed(_("Ce contrat n'est pas celui de cette entreprise."), code="wrong_contract",
                                   field="contract")  # fmt: skip
        if contract.status not in Contract.RUNNING:
            raise ValidationFailed(_("Ce contrat n'est pas en cours."), code="contract_not_running",
                                   field="contract")  # fmt: skip
    seats = data.get("seats") or 1
    if not isinstance(seats, int) or not 1 <= seats <= 1000:
        raise ValidationFailed(_("Nombre de places invalide."), code="invalid_seats", field="seats")
    if not availability.is_shared(space) and seats != 1:
        seats = 1  # a meeting room or an office is booked whole
    payment = data.get("payment") or ""
    if payment and payment not in {Booking.Payment.INVOICE, Booking.Payment.CREDITS, Booking.Payment.PREPAID}:
        raise ValidationFailed(_("Mode de paiement invalide."), code="invalid_payment", field="payment")
    return {
        "space": space, "company": company, "contact": contact, "contract": contract, "seats": seats,
        "starts_at": data.get("starts_at"), "ends_at": data.get("ends_at"), "payment": payment,
        "title": str(data.get("title") or "")[:160], "notes": str(data.get("notes") or "")[:5000],
    }  # fmt: skip


def lock_space(space: Space) -> Space:
    """Serialize the writes of one space's bookings (PostgreSQL: its row lock; SQLite: the immediate transaction
    already holds the database's write lock)."""
    return Space.objects.select_for_update(of=("self",)).select_related("center").get(pk=space.pk)


def expire_overdue(space: Space, now: datetime.datetime) -> int:
    """Expire the space's requests whose answer delay has passed (under the space's lock)."""
    overdue = list(Booking.objects.filter(space=space, status=Booking.Status.REQUESTED, expires_at__lte=now))
    for booking in overdue:
        _expire(booking, now)
    return len(overdue)


# --------------------------------------------------------------------------------------------------
# Create
# --------------------------------------------------------------------------------------------------
def create_booking(
    *, organization: Organization, by: User | None, data: dict[str, Any], member: Contact | None = None,
    channel: str | None = None, now: datetime.datetime | None = None,
) -> Booking:  # fmt: skip
    """Book a space for a slot: by the staff (`by` with `bookings.add_booking`), or by a portal member (`member`:
    for their own company, within their role). Raises ValidationFailed (400) for bad input and Conflict (409,
    with the conflicting slot) when the slot is taken or blocked; nothing is written then."""
    if member is None:
        rights.require(by, "bookings.add_booking", organization)
    elif member.organization_id != organization.pk or not capabilities.can(member, "make_free_bookings"):
        raise RightsError(_("Votre rôle dans l'entreprise ne permet pas cette action."), code="forbidden")
    values = _clean(organization, data, member)
    now = now or timezone.now()
    space, starts_at, ends_at = values["space"], values["starts_at"], values["ends_at"]
    availability.check_times(space, starts_at, ends_at, now=now)
    price, discount, cost = price_of(space, starts_at, ends_at, company=values["company"], contact=values["contact"],
                                     seats=values["seats"])  # fmt: skip
    day = starts_at.astimezone(space.center.tz).date()
    payment = values["payment"]
    if not payment:
        if cost > 0 and credits.balance(values["company"], values["contact"], day) >= cost:
            payment = Booking.Payment.CREDITS
        else:
            payment = Booking.Payment.INVOICE if price > 0 else Booking.Payment.FREE
    elif payment == Booking.Payment.CREDITS and cost <= 0:
        raise ValidationFailed(_("Cet espace ne se réserve pas en crédits."), code="no_credits_here", field="payment")
    elif payment in (Booking.Payment.INVOICE, Booking.Payment.PREPAID) and price <= 0:
        payment = Booking.Payment.FREE
    options = availability.settings_of(space)
    if member is not None and payment == Booking.Payment.INVOICE and options.prepayment:
        payment = Booking.Payment.PREPAID  # desk « pré-paiement »: a member pays a paid booking when making it
    paid = payment in (Booking.Payment.INVOICE, Booking.Payment.PREPAID)
    if member is not None and paid and not capabilities.can(member, "make_paid_bookings"):
        raise RightsError(
            _("Votre rôle « utilisateur » ne permet pas les réservations payantes : demandez à un administrateur ou à "
              "un manager de l'entreprise."), code="paid_booking_forbidden",
        )  # fmt: skip
    # A member's prepaid booking waits for its payment (holding its slot meanwhile); the staff's is billed at once.
    prepaying = member is not None and payment == Booking.Payment.PREPAID
    confirmed = not prepaying and (member is None or options.auto_accept or payment == Booking.Payment.CREDITS)
    if prepaying:
        expires_at = min(now + datetime.timedelta(minutes=prepaid.PAYMENT_MINUTES), starts_at)
    else:
        expires_at = None if confirmed else min(now + datetime.timedelta(hours=options.request_hours), starts_at)
    try:
        with transaction.atomic():
            space = lock_space(space)
            expire_overdue(space, now)
            availability.check_free(space, starts_at, ends_at, seats=values["seats"])
            booking = Booking(
                organization_id=organization.pk, center_id=space.center_id, space=space, company=values["company"],
                contact=values["contact"], contract=values["contract"], starts_at=starts_at, ends_at=ends_at,
                seats=values["seats"], exclusive=not availability.is_shared(space), title=values["title"],
                notes=values["notes"], payment=payment, discount_percent=discount, vat_rate=options.vat_rate,
                price_excl_vat=price if paid else ZERO,
                credits=cost if payment == Booking.Payment.CREDITS else ZERO,
                status=Booking.Status.CONFIRMED if confirmed else Booking.Status.REQUESTED,
                expires_at=expires_at,
                channel=channel or (Booking.Channel.PORTAL if member is not None else Booking.Channel.STAFF),
                created_by=_user(by), created_at=now,
                decided_at=now if confirmed else None, decided_by=_user(by) if confirmed and member is None else None,
            )  # fmt: skip
            booking.save()
            if payment == Booking.Payment.CREDITS:
                credits.spend(booking=booking, amount=cost, by=by)
            if payment == Booking.Payment.PREPAID:
                booking.invoice = prepaid.booking_invoice(booking, _description(booking))
                booking.save(update_fields=["invoice"])
            elif confirmed:
                _bill(booking, by)
            journal.record(actor=by, action="booking.created", obj=booking, changes={
                "space": space.pk, "company": booking.company_id, "starts_at": starts_at, "ends_at": ends_at,
                "status": booking.status, "payment": payment, "price_excl_vat": booking.price_excl_vat,
                "credits": booking.credits,
            })  # fmt: skip
            transaction.on_commit(lambda: notifications.booking_changed(booking.pk, "created"))
    except IntegrityError:
        # The exclusion constraint caught an overlap the lock did not (it cannot, unless a writer skipped the
        # lock): the slot is taken.
        raise Conflict(_("Ce créneau vient d'être réservé."), code="slot_taken", field="starts_at",
                       details={"conflict": {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                                             "kind": "booking"}}) from None  # fmt: skip
    return booking


def _description(booking: Booking) -> str:
    tz = booking.center.tz
    start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
    description = _("Réservation %(space)s, %(start)s–%(end)s") % {
        "space": booking.space.name, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}  # fmt: skip
    if booking.discount_percent:
        description += " " + _("(remise %(percent)s %%)") % {"percent": f"{booking.discount_percent:g}"}
    return description[:255]


def _bill(booking: Booking, by: User | None) -> None:
    """A confirmed booking paid by invoice becomes a consumption « Réservation » billed by the monthly run."""
    if booking.payment != Booking.Payment.INVOICE or booking.price_excl_vat <= 0 or booking.consumption_id:
        return
    start = booking.starts_at.astimezone(booking.center.tz)
    description = _description(booking)
    consumption = billing.record_consumption(
        by=by, organization_id=booking.organization_id, check_rights=False, kind="booking", source_id=booking.pk,
        data={"company": booking.company, "contact": booking.contact, "center": booking.center,
              "contract": booking.contract, "description": description, "date": start.date(),
              "quantity": Decimal(1), "unit": "unit", "unit_price": booking.price_excl_vat,
              "vat_rate": booking.vat_rate},
    )  # fmt: skip
    booking.consumption = consumption
    booking.save(update_fields=["consumption"])


# --------------------------------------------------------------------------------------------------
# Decide
# --------------------------------------------------------------------------------------------------
def _locked(booking: Booking) -> Booking:
    lock_space(booking.space)
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("space__center", "center", "company", "contact")
        .get(pk=booking.pk)
    )


@transaction.atomic
def confirm_booking(*, booking: Booking, by: User | None, now: datetime.datetime | None = None) -> Booking:
    """The staff accepts a request (before it expires)."""
    rights.require(by, "bookings.change_booking", booking.organization_id)
    now = now or timezone.now()
    booking = _locked(booking)
    if booking.status == Booking.Status.REQUESTED and booking.expires_at and booking.expires_at <= now:
        _expire(booking, now)
        raise BookingError(_("Cette demande a expiré : son créneau a été libéré."), code="expired")
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(_("Seule une demande en attente peut être confirmée."), code="not_requested")
    booking.status, booking.decided_by, booking.decided_at, booking.expires_at = (
        Booking.Status.CONFIRMED, _user(by), now, None)  # fmt: skip
    booking.sequence += 1
    booking.save(update_fields=["status", "decided_by", "decided_at", "expires_at", "sequence"])
    _bill(booking, by)
    journal.record(actor=by, action="booking.confirmed", obj=booking, changes={"status": booking.status})
    transaction.on_commit(lambda: notifications.booking_changed(booking.pk, "confirmed"))
    return booking


@transaction.atomic
def decline_booking(
    *, booking: Booking, by: User | None, reason: str = "", now: datetime.datetime | None = None
) -> Booking:
    """The staff declines a request: its slot is freed and what it took is given back (credits)."""
    rights.require(by, "bookings.change_booking", booking.organization_id)
    booking = _locked(booking)
    if booking.status != Booking.Status.REQUESTED:
        raise BookingError(_("Seule une demande en attente peut être déclinée."), code="not_requested")
    refund = Booking.Refund.MONEY if booking.payment == Booking.Payment.PREPAID else Booking.Refund.CREDITS
    _release(booking, Booking.Status.DECLINED, by=by, reason=reason, refund=refund, now=now or timezone.now())
    journal.record(actor=by, action="booking.declined", obj=booking, changes={"reason": booking.reason})
    transaction.on_commit(lambda: notifications.booking_changed(booking.pk, "declined"))
    return booking


def cancellation_deadline(booking: Booking) -> datetime.datetime:
    hours = availability.settings_of(booking.space).cancellation_hours
    return booking.starts_at - datetime.timedelta(hours=hours)


@transaction.atomic
def cancel_booking(
    *, booking: Booking, by: User | None, member: Contact | None = None, reason: str = "", refund: str | None = None,
    now: datetime.datetime | None = None,
) -> Booking:  # fmt: skip
    """Cancel a requested or confirmed booking. The staff may always (and chooses the refund: `money` — the unbilled
    consumption withdrawn, or a credit note when it is already invoiced —, `credits`, or none); a member of the
    booking's company only before the space's cancellation deadline, refunded as paid."""
    now = now or timezone.now()
    if member is None:
        rights.require(by, "bookings.change_booking", booking.organization_id)
    elif member.company_id != booking.company_id or not capabilities.can(member, "make_free_bookings"):
        raise RightsError(_("Cette réservation n'est pas celle de votre entreprise."), code="forbidden")
    booking = _locked(booking)
    if booking.status not in Booking.HOLDING:
        raise BookingError(_("Cette réservation est déjà annulée ou terminée."), code="not_cancellable")
    if member is not None:
        if booking.ends_at <= now:
            raise BookingError(_("Une réservation passée ne peut plus être annulée."), code="past")
        deadline = cancellation_deadline(booking)
        if now > deadline:
            raise BookingError(
                _("L'annulation n'est plus possible depuis le %(deadline)s : contactez l'accueil.")
                % {"deadline": f"{deadline.astimezone(booking.center.tz):%d/%m/%Y %H:%M}"}, code="deadline_passed",
            )  # fmt: skip
        refund = (Booking.Refund.MONEY if booking.payment in (Booking.Payment.INVOICE, Booking.Payment.PREPAID)
                  else Booking.Refund.CREDITS)  # fmt: skip
    if refund not in (None, "", Booking.Refund.MONEY, Booking.Refund.CREDITS):
        raise ValidationFailed(_("Remboursement invalide."), code="invalid_refund", field="refund")
    _release(booking, Booking.Status.CANCELLED, by=by, reason=reason, refund=refund or "", now=now)
    journal.record(actor=by, action="booking.cancelled", obj=booking,
                   changes={"reason": booking.reason, "refund": booking.refund})  # fmt: skip
    transaction.on_commit(lambda: notifications.booking_changed(booking.pk, "cancelled"))
    return booking


def _release(booking: Booking, status: str, *, by: User | None, reason: str, refund: str,
             now: datetime.datetime) -> None:  # fmt: skip
    """Free the slot and give back what the booking took, as chosen: its credits (to their grants), its money (the
    consumption withdrawn before billing, a credit note of its line after; a prepaid booking's invoice credited), or
    its money as credits. A prepaid request not paid yet always has its invoice cancelled (there is nothing to
    refund)."""
    done = ""
    # The new status is written first: a credit note below cancels a prepaid booking's invoice, and billing's
    # « invoice.cancelled » must find the booking released already (prepaid.on_invoice_cancelled).
    Booking.objects.filter(pk=booking.pk).update(status=status)
    if booking.payment == Booking.Payment.PREPAID and booking.invoice_id:
        if prepaid.awaiting_payment(booking):
            prepaid.cancel_invoice(booking.invoice, by=by, reason=_("Réservation non payée annulée"))
        elif refund == Booking.Refund.CREDITS:
            amount = availability.settings_of(booking.space).credits_per_hour * booking.hours * booking.seats
            credits.gesture(company=booking.company, contact=booking.contact, amount=max(amount, CENT), by=by,
                            booking=booking, note=_("Réservation annulée remboursée en crédits"))  # fmt: skip
            done = Booking.Refund.CREDITS
        elif refund and prepaid.cancel_invoice(booking.invoice, by=by, reason=_("Annulation de la réservation")):
            done = Booking.Refund.MONEY
    elif refund and booking.payment == Booking.Payment.CREDITS:
        credits.refund(booking=booking, by=by)
        done = Booking.Refund.CREDITS
    elif refund and booking.payment == Booking.Payment.INVOICE and booking.consumption_id:
        consumption = booking.consumption
        booking.consumption = None
        booking.save(update_fields=["consumption"])  # the consumption is referenced (PROTECT) until withdrawn
        if billing.withdraw_consumption(consumption=consumption, by=by):
            done = Booking.Refund.MONEY
        else:  # already invoiced: a credit note of its line, or credits instead
            booking.consumption = consumption
            booking.save(update_fields=["consumption"])
            if refund == Booking.Refund.CREDITS:
                amount = availability.settings_of(booking.space).credits_per_hour * booking.hours * booking.seats
                credits.gesture(company=booking.company, contact=booking.contact, amount=max(amount, CENT), by=by,
                                booking=booking, note=_("Réservation annulée remboursée en crédits"))  # fmt: skip
                done = Booking.Refund.CREDITS
            else:
                _credit_note(booking, by)
                done = Booking.Refund.MONEY
    booking.status, booking.reason, booking.refund = status, reason[:255], done
    booking.expires_at = None
    booking.decided_by, booking.decided_at = _user(by), now
    booking.sequence += 1
    booking.save(update_fields=["status", "reason", "refund", "expires_at", "decided_by", "decided_at", "sequence",
                                "consumption"])  # fmt: skip


def _credit_note(booking: Booking, by: User | None) -> None:
    """A credit note of the invoice line that billed the booking (the staff's rights to issue it are checked)."""
    from comptoir.billing.models import InvoiceLine

    line = InvoiceLine.objects.select_related("invoice").filter(
        source=InvoiceLine.Source.BOOKING, source_id=booking.consumption_id
    ).exclude(invoice__status="draft").first()  # fmt: skip
    if line is None:  # on a draft invoice: the staff edits the draft
        raise BookingError(_("Cette réservation est sur une facture en brouillon : retirez-la de la facture."),
                           code="on_draft_invoice")  # fmt: skip
    billing.credit_invoice(invoice=line.invoice, by=by, reason=_("Annulation de la réservation"), lines=[{
        "description": line.description, "quantity": line.quantity, "unit": line.unit, "unit_price": line.unit_price,
        "vat_rate": line.vat_rate, "vat_exemption_reason": line.vat_exemption_reason,
    }])  # fmt: skip


def _expire(booking: Booking, now: datetime.datetime) -> None:
    unpaid = booking.payment == Booking.Payment.PREPAID and not prepaid.is_paid(booking)
    _release(booking, Booking.Status.EXPIRED, by=None,
             reason=_("Paiement non reçu à temps") if unpaid else _("Demande sans réponse à temps"),
             refund=Booking.Refund.MONEY if booking.payment == Booking.Payment.PREPAID else Booking.Refund.CREDITS,
             now=now)  # fmt: skip
    journal.record(actor=None, action="booking.expired", obj=booking, changes={"expires_at": booking.expires_at})
    transaction.on_commit(lambda: notifications.booking_changed(booking.pk, "expired"))


def prepayment_received(booking: Booking, now: datetime.datetime | None = None) -> Booking:
    """The invoice of a prepaid request is paid (billing's « invoice.paid », through `prepaid.on_invoice_paid`):
    confirmed at once on a space with auto-accept, otherwise submitted to the staff, who then have the space's
    response delay to answer. Nothing happens to a booking already released (paid too late)."""
    now = now or timezone.now()
    booking = _locked(booking)
    if booking.status != Booking.Status.REQUESTED or booking.payment != Booking.Payment.PREPAID:
        return booking
    options = availability.settings_of(booking.space)
    if options.auto_accept or booking.channel != Booking.Channel.PORTAL:
        booking.status, booking.decided_at, booking.expires_at = Booking.Status.CONFIRMED, now, None
        booking.sequence += 1
        event = "confirmed"
    else:
        booking.expires_at = min(now + datetime.timedelta(hours=options.request_hours), booking.starts_at)
        event = "paid"
    booking.save(update_fields=["status", "decided_at", "expires_at", "sequence"])
    journal.record(actor=None, action="booking.prepaid", obj=booking,
                   changes={"status": booking.status, "invoice": booking.invoice_id})  # fmt: skip
    transaction.on_commit(lambda: notifications.booking_changed(booking.pk, event))
    return booking


def invoice_cancelled(booking: Booking, by: User | None) -> Booking:
    """The staff cancelled a prepaid booking's invoice with a credit note (billing's « invoice.cancelled »): the
    booking is cancelled and its slot freed (DESIGN: « a prepaid invoice is cancelled → bookings release the
    slot »); the credit note is its refund."""
    booking = _locked(booking)
    if booking.status not in Booking.HOLDING:
        return booking
    _release(booking, Booking.Status.CANCELLED, by=by, reason=_("Facture annulée par un avoir"), refund="",
             now=timezone.now())  # fmt: skip
    booking.refund = Booking.Refund.MONEY
    booking.save(update_fields=["refund"])
    journal.record(actor=by, action="booking.cancelled", obj=booking,
                   changes={"reason": booking.reason, "refund": booking.refund})  # fmt: skip
    transaction.on_commit(lambda: notifications.booking_changed(booking.pk, "cancelled"))
    return booking


def expire_requests(*, now: datetime.datetime | None = None) -> int:
    """Daily (or more frequent) job: expire the requests not answered in time, one space at a time."""
    now = now or timezone.now()
    spaces = set(Booking.objects.filter(status=Booking.Status.REQUESTED, expires_at__lte=now)
                 .values_list("space_id", flat=True))  # fmt: skip
    count = 0
    for space in Space.objects.filter(pk__in=spaces):
        with transaction.atomic():
            count += expire_overdue(lock_space(space), now)
    return count


# --------------------------------------------------------------------------------------------------
# Consumptions attached to a booking (drinks, prints, equipment)
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def add_consumption(*, booking: Booking, by: User | None, data: dict[str, Any]) -> Any:
    """« Associer des consommations »: a consumption on the booking's company, member, contract and center, dated
    the booking's day, billed with it."""
    rights.require(by, "billing.add_consumption", booking.organization_id)
    if booking.status in (Booking.Status.DECLINED, Booking.Status.EXPIRED):
        raise BookingError(_("Cette réservation n'a pas eu lieu."), code="not_held")
    values = {key: value for key, value in data.items() if key in billing.LINE_INPUT_FIELDS}
    values.update({"company": booking.company, "contact": booking.contact, "center": booking.center,
                   "contract": booking.contract,
                   "date": booking.starts_at.astimezone(booking.center.tz).date()})  # fmt: skip
    consumption = billing.record_consumption(by=by, organization_id=booking.organization_id, data=values,
                                             source_id=booking.pk)  # fmt: skip
    journal.record(actor=by, action="booking.consumption_added", obj=booking,
                   changes={"consumption": consumption.pk, "description": consumption.description,
                            "amount_excl_vat": consumption.amount_excl_vat})  # fmt: skip
    return consumption


register_daily("booking requests expired", expire_requests)
