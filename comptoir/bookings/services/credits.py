"""Plans and credits (desk « Formules »; DESIGN invariants 6 and 12).

A plan (a catalog product of kind « Formule ») is assigned to a company or one of its members, by hand or through
a purchase. What it grants goes to an append-only ledger (`CreditEntry`):

- a **grant** carries its validity: a subscription's or a domiciliation's period (credits renewed per week, month
  or year while the plan runs), or a pack's days from its start;
- a **spend** (a booking paid in credits) draws on grants valid on the booking's day, the soonest-expiring first,
  one entry per grant drawn on;
- a **refund** gives back to the grants a booking drew on;
- an **expiry** writes off what a grant still holds after its last day (once, by the daily job).

A grant's remaining credits are its amount plus the entries naming it; the holder's balance on a day is the sum
over the grants valid that day. Every write locks the holder's grants first (row locks on PostgreSQL, the
immediate transaction on SQLite), so two spends cannot both take the last credits: the balance never goes
negative. Renewal grants a period once (unique per plan and period start), however often the job runs.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from comptoir.bookings.models import Booking, CreditEntry, PlanAssignment
from comptoir.catalog.models import Product
from comptoir.core import journal, rights
from comptoir.core.errors import Conflict, ValidationFailed
from comptoir.core.housekeeping import register_daily
from comptoir.core.models import User
from comptoir.crm.models import Company, Contact

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
GESTURE_DAYS = 365  # credits given back for a booking paid in money are valid a year


@dataclass(frozen=True)
class GrantBalance:
    grant: CreditEntry
    remaining: Decimal


def _holder(queryset: QuerySet[CreditEntry], company: Company, contact: Contact | None) -> QuerySet[CreditEntry]:
    """The entries a member can use: the company's shared credits and the member's own."""
    if contact is None:
        return queryset.filter(company=company, contact=None)
    return queryset.filter(Q(contact=None) | Q(contact=contact), company=company)


def grants_valid_on(
    company: Company, contact: Contact | None, day: datetime.date, *, lock: bool = False
) -> list[GrantBalance]:
    """The holder's grants valid on a day that still hold credits, the soonest-expiring first (two queries)."""
    grants = _holder(CreditEntry.objects.filter(kind=CreditEntry.Kind.GRANT, valid_from__lte=day,
                                                valid_until__gte=day), company, contact)  # fmt: skip
    if lock:
        grants = grants.select_for_update()
    rows = list(grants.order_by("valid_until", "pk"))
    used = dict(
        CreditEntry.objects.filter(grant__in=[row.pk for row in rows])
        .values_list("grant_id").annotate(total=Sum("amount")).values_list("grant_id", "total")
    )  # fmt: skip
    balances = [GrantBalance(row, row.amount + (used.get(row.pk) or ZERO)) for row in rows]
    return [balance for balance in balances if balance.remaining > 0]


def balance(company: Company, contact: Contact | None = None, day: datetime.date | None = None) -> Decimal:
    """The credits a holder can spend on a day (today by default)."""
    day = day or timezone.localdate()
    return sum((row.remaining for row in grants_valid_on(company, contact, day)), ZERO)


def ledger(company: Company, contact: Contact | None = None) -> QuerySet[CreditEntry]:
    entries = CreditEntry.objects.filter(company=company)
    if contact is not None:
        entries = entries.filter(Q(contact=None) | Q(contact=contact))
    return entries.select_related("assignment__plan", "booking__space", "grant").order_by("-created_at", "-pk")


# --------------------------------------------------------------------------------------------------
# Spending and refunding (called by the booking services, inside their transaction)
# --------------------------------------------------------------------------------------------------
def spend(*, booking: Booking, amount: Decimal, by: User | None) -> list[CreditEntry]:
    """Take `amount` credits for a booking from the grants valid on its day, soonest-expiring first; refused
    (nothing written) when they do not cover it."""
    amount = amount.quantize(CENT)
    if amount <= 0:
        return []
    day = booking.starts_at.astimezone(booking.center.tz).date()
    grants = grants_valid_on(booking.company, booking.contact, day, lock=True)
    available = sum((row.remaining for row in grants), ZERO)
    if available < amount:
        raise Conflict(
            _("Crédits insuffisants : %(needed)s nécessaires, %(available)s disponibles pour le %(day)s.")
            % {"needed": _credits(amount), "available": _credits(available), "day": f"{day:%d/%m/%Y}"},
            code="not_enough_credits", field="payment",
        )  # fmt: skip
    entries, left = [], amount
    for row in grants:
        take = min(left, row.remaining)
        entries.append(CreditEntry(
            organization_id=booking.organization_id, company_id=booking.company_id, contact_id=row.grant.contact_id,
            kind=CreditEntry.Kind.SPEND, amount=-take, grant=row.grant, booking=booking,
            note=_("Réservation %(space)s du %(day)s") % {"space": booking.space.name, "day": f"{day:%d/%m/%Y}"},
            created_by=_user(by),
        ))  # fmt: skip
        left -= take
        if left == 0:
            break
    CreditEntry.objects.bulk_create(entries)
    return entries


def refund(*, booking: Booking, by: User | None) -> list[CreditEntry]:
    """Give back to their grants the credits a booking spent (once: what was already refunded is not)."""
    spent: dict[int, Decimal] = {}
    for grant_id, kind, amount in (
        CreditEntry.objects.select_for_update().filter(booking=booking).values_list("grant_id", "kind", "amount")
    ):
        if kind in (CreditEntry.Kind.SPEND, CreditEntry.Kind.REFUND):
            spent[grant_id] = spent.get(grant_id, ZERO) - amount
    grants = {grant.pk: grant for grant in CreditEntry.objects.filter(pk__in=list(spent))}
    entries = [
        CreditEntry(
            organization_id=booking.organization_id, company_id=booking.company_id, contact_id=grants[pk].contact_id,
            kind=CreditEntry.Kind.REFUND, amount=amount, grant=grants[pk], booking=booking,
            note=_("Remboursement de la réservation %(space)s") % {"space": booking.space.name},
            created_by=_user(by),
        )
        for pk, amount in spent.items() if amount > 0
    ]  # fmt: skip
    CreditEntry.objects.bulk_create(entries)
    return entries


def gesture(
    *, company: Company, contact: Contact | None, amount: Decimal, by: User | None, note: str,
    booking: Booking | None = None, days: int = GESTURE_DAYS, today: datetime.date | None = None,
) -> CreditEntry:  # fmt: skip
    """Credits given by hand (a commercial gesture, a booking paid in money refunded in credits)."""
    today = today or timezone.localdate()
    if amount <= 0:
        raise ValidationFailed(_("Le nombre de crédits doit être positif."), code="not_positive", field="amount")
    entry = CreditEntry.objects.create(
        organization_id=company.organization_id, company=company, contact=contact, kind=CreditEntry.Kind.GRANT,
        amount=amount.quantize(CENT), valid_from=today, valid_until=today + datetime.timedelta(days=days),
        booking=booking, note=note[:255], created_by=_user(by),
    )  # fmt: skip
    journal.record(actor=by, action="credits.granted", obj=company,
                   changes={"amount": entry.amount, "note": entry.note, "valid_until": entry.valid_until})  # fmt: skip
    return entry


@transaction.atomic
def grant_gesture(
    *, company: Company, by: User | None, data: dict[str, Any], today: datetime.date | None = None
) -> CreditEntry:
    """« Offrir des crédits » by the staff."""
    rights.require(by, "bookings.add_creditentry", company.organization_id)
    contact = data.get("contact")
    if contact is not None and contact.company_id != company.pk:
        raise ValidationFailed(_("Ce membre n'appartient pas à cette entreprise."), code="wrong_contact",
                               field="contact")  # fmt: skip
    amount = _decimal(data.get("amount"), "amount")
    days = data.get("days") or GESTURE_DAYS
    if not isinstance(days, int) or not 1 <= days <= 3660:
        raise ValidationFailed(_("Une validité de 1 à 3 660 jours."), code="invalid_days", field="days")
    return gesture(company=company, contact=contact, amount=amount, by=by, days=days, today=today,
                   note=str(data.get("note") or _("Geste commercial")))  # fmt: skip


def _decimal(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", ".").strip())
    except Exception:
        raise ValidationFailed(_("Nombre invalide."), code="invalid_number", field=field) from None
    if not amount.is_finite() or amount != amount.quantize(CENT) or abs(amount) > Decimal("1000000"):
        raise ValidationFailed(_("Nombre invalide."), code="invalid_number", field=field)
    return amount


# --------------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------------
def periods(assignment: PlanAssignment, until: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """The credit periods of a plan that have begun by `until` (inclusive), within its dates."""
    plan = assignment.plan
    if plan.plan_type == Product.PlanType.PACK or not plan.credit_period:
        days = plan.validity_days or 365
        return [(assignment.starts_on, assignment.starts_on + datetime.timedelta(days=days - 1))]
    step = {Product.CreditPeriod.WEEK: relativedelta(weeks=1), Product.CreditPeriod.MONTH: relativedelta(months=1),
            Product.CreditPeriod.YEAR: relativedelta(years=1)}[plan.credit_period]  # fmt: skip
    result, index = [], 0
    while True:
        start = assignment.starts_on + step * index
        if start > until or (assignment.ends_on and start > assignment.ends_on):
            return result
        end = assignment.starts_on + step * (index + 1) - datetime.timedelta(days=1)
        if assignment.ends_on:
            end = min(end, assignment.ends_on)
        result.append((start, end))
        index += 1


def _grant_periods(assignment: PlanAssignment, until: datetime.date, by: User | None) -> int:
    """Grant the plan's periods begun by `until` that were not granted yet; each period once (the unique key
    backs it against a concurrent run)."""
    credits = assignment.plan.credits or ZERO
    if credits <= 0 or assignment.status != PlanAssignment.Status.ACTIVE:
        return 0
    done = set(assignment.credit_entries.filter(kind=CreditEntry.Kind.GRANT).values_list("valid_from", flat=True))
    made = 0
    for start, end in periods(assignment, until):
        if start in done:
            continue
        try:
            with transaction.atomic():
                CreditEntry.objects.create(
                    organization_id=assignment.organization_id, company_id=assignment.company_id,
                    contact_id=assignment.contact_id, kind=CreditEntry.Kind.GRANT, amount=credits, valid_from=start,
                    valid_until=end, assignment=assignment, created_by=_user(by),
                    note=_("%(plan)s — du %(start)s au %(end)s")
                    % {"plan": assignment.plan.name, "start": f"{start:%d/%m/%Y}", "end": f"{end:%d/%m/%Y}"},
                )  # fmt: skip
        except IntegrityError:
            continue  # granted meanwhile by another run
        made += 1
    return made


def grant_due(assignment: PlanAssignment, today: datetime.date, by: User | None = None) -> int:
    """Grant the periods of a plan that has just become active (a purchase paid)."""
    return _grant_periods(assignment, today, by)


@transaction.atomic
def assign_plan(
    *, company: Company, by: User | None, data: dict[str, Any], today: datetime.date | None = None,
    check_rights: bool = True,
) -> PlanAssignment:  # fmt: skip
    """« Attribuer » a plan to a company or one of its members; its first credits are granted at once."""
    if check_rights:
        rights.require(by, "bookings.add_planassignment", company.organization_id)
    today = today or timezone.localdate()
    plan, contact = data.get("plan"), data.get("contact")
    if not isinstance(plan, Product) or plan.organization_id != company.organization_id or plan.kind != "plan":
        raise ValidationFailed(_("Choisissez une formule."), code="required", field="plan")
    if not plan.is_active:
        raise ValidationFailed(_("Cette formule n'est plus proposée."), code="inactive_plan", field="plan")
    if contact is not None and (contact.company_id != company.pk):
        raise ValidationFailed(_("Ce membre n'appartient pas à cette entreprise."), code="wrong_contact",
                               field="contact")  # fmt: skip
    starts_on = data.get("starts_on") or today
    ends_on = data.get("ends_on")
    if not isinstance(starts_on, datetime.date) or (ends_on is not None and not isinstance(ends_on, datetime.date)):
        raise ValidationFailed(_("Date invalide."), code="invalid_date", field="starts_on")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationFailed(_("La fin doit être après le début."), code="ends_before_start", field="ends_on")
    if plan.plan_type == Product.PlanType.PACK and ends_on is None:
        ends_on = starts_on + datetime.timedelta(days=(plan.validity_days or 365) - 1)
    assignment = PlanAssignment.objects.create(
        organization_id=company.organization_id, company=company, contact=contact, plan=plan, starts_on=starts_on,
        ends_on=ends_on, invoice=data.get("invoice"), created_by=_user(by),
    )  # fmt: skip
    granted = _grant_periods(assignment, max(today, starts_on), by)
    journal.record(actor=by, action="plan.assigned", obj=company, changes={
        "plan": plan.name, "contact": contact.pk if contact else None, "starts_on": starts_on, "ends_on": ends_on,
        "grants": granted,
    })  # fmt: skip
    return assignment


@transaction.atomic
def end_plan(*, assignment: PlanAssignment, by: User | None, ends_on: datetime.date | None = None) -> PlanAssignment:
    """End a plan: no period starts after `ends_on` (today by default); credits granted stay valid to their end."""
    rights.require(by, "bookings.change_planassignment", assignment.organization_id)
    assignment = PlanAssignment.objects.select_for_update().get(pk=assignment.pk)
    ends_on = ends_on or timezone.localdate()
    if assignment.status != PlanAssignment.Status.ACTIVE:
        raise ValidationFailed(_("Cette formule est déjà terminée."), code="not_active")
    if ends_on < assignment.starts_on:
        raise ValidationFailed(_("La fin doit être après le début."), code="ends_before_start", field="ends_on")
    assignment.ends_on = min(ends_on, assignment.ends_on or ends_on)
    assignment.status = PlanAssignment.Status.ENDED
    assignment.save(update_fields=["ends_on", "status"])
    journal.record(actor=by, action="plan.ended", obj=assignment.company,
                   changes={"plan": assignment.plan.name, "ends_on": assignment.ends_on})  # fmt: skip
    return assignment


def renew(*, today: datetime.date | None = None, organization_id: int | None = None) -> int:
    """Daily job: grant each running plan's period that has begun (exactly once), then expire what is left of
    grants past their last day. Returns the number of grants made."""
    today = today or timezone.localdate()
    running = PlanAssignment.objects.filter(status=PlanAssignment.Status.ACTIVE, starts_on__lte=today).filter(
        Q(ends_on=None) | Q(ends_on__gte=today - datetime.timedelta(days=366))
    ).select_related("plan")  # fmt: skip
    if organization_id:
        running = running.filter(organization_id=organization_id)
    made = 0
    for assignment in running.iterator(chunk_size=500):
        with transaction.atomic():
            made += _grant_periods(assignment, today, None)
        if assignment.ends_on and assignment.ends_on < today:
            PlanAssignment.objects.filter(pk=assignment.pk, status=PlanAssignment.Status.ACTIVE).update(
                status=PlanAssignment.Status.ENDED
            )
    expire(today=today, organization_id=organization_id)
    return made


def expire(*, today: datetime.date | None = None, organization_id: int | None = None) -> int:
    """Write off, once per grant, what grants ended before today still hold."""
    today = today or timezone.localdate()
    ended = CreditEntry.objects.filter(kind=CreditEntry.Kind.GRANT, valid_until__lt=today).exclude(
        uses__kind=CreditEntry.Kind.EXPIRE
    )  # fmt: skip
    if organization_id:
        ended = ended.filter(organization_id=organization_id)
    count = 0
    for grant in ended.iterator(chunk_size=500):
        with transaction.atomic():
            grant = CreditEntry.objects.select_for_update().get(pk=grant.pk)
            left = grant.amount + (grant.uses.aggregate(total=Sum("amount"))["total"] or ZERO)
            if left <= 0:
                continue
            try:
                with transaction.atomic():
                    CreditEntry.objects.create(
                        organization_id=grant.organization_id, company_id=grant.company_id, contact_id=grant.contact_id,
                        kind=CreditEntry.Kind.EXPIRE, amount=-left, grant=grant,
                        note=_("Crédits expirés le %(day)s") % {"day": f"{grant.valid_until:%d/%m/%Y}"},
                    )  # fmt: skip
            except IntegrityError:
                continue
            count += 1
    return count


def discount_for(company: Company, contact: Contact | None, day: datetime.date) -> Decimal:
    """The best booking discount (%) of the plans the holder runs on that day."""
    plans = PlanAssignment.objects.filter(company=company, status=PlanAssignment.Status.ACTIVE, starts_on__lte=day)
    plans = plans.filter(Q(ends_on=None) | Q(ends_on__gte=day)).filter(Q(contact=None) | Q(contact=contact))
    best = plans.aggregate(best=Max("plan__booking_discount"))["best"]
    return best or ZERO


def _credits(amount: Decimal) -> str:
    return formats.number_format(amount.normalize() if amount == amount.to_integral() else amount, use_l10n=True,
                                 force_grouping=True)  # fmt: skip


def _user(by: User | None) -> User | None:
    return by if getattr(by, "is_authenticated", False) else None


def holders_of(entries: Iterable[CreditEntry]) -> set[tuple[int, int | None]]:
    return {(entry.company_id, entry.contact_id) for entry in entries}


register_daily("plan credits renewed and expired", renew)
