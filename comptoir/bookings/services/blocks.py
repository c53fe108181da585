"""Blocked slots (desk « Bloquer des créneaux »): one space, or every space of a center, made unavailable for one or
several slots with a reason; « débloquer » later from the calendar. A block never hides a booking: blocking over a
booking that holds its slot is refused (cancel the booking first), and a block is cancelled, never deleted."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.bookings.models import BlockedSlot, Booking
from comptoir.bookings.services.bookings import lock_space
from comptoir.catalog.models import Space
from comptoir.core import journal, rights
from comptoir.core.errors import Conflict, ValidationFailed
from comptoir.core.models import Center, User

MAX_SLOTS = 200


@transaction.atomic
def block_slots(
    *, center: Center, by: User | None, slots: Sequence[tuple[datetime.datetime, datetime.datetime]], reason: str,
    space: Space | None = None,
) -> list[BlockedSlot]:  # fmt: skip
    rights.require(by, "bookings.add_blockedslot", center.organization_id)
    reason = " ".join((reason or "").split())[:255]
    if not reason:
        raise ValidationFailed(_("Indiquez le motif du blocage."), code="required", field="reason")
    if space is not None and (space.center_id != center.pk):
        raise ValidationFailed(_("Cet espace n'est pas dans ce centre."), code="wrong_space", field="space")
    if not slots:
        raise ValidationFailed(_("Choisissez au moins un créneau."), code="required", field="slots")
    if len(slots) > MAX_SLOTS:
        raise ValidationFailed(_("%(count)s créneaux au plus à la fois.") % {"count": MAX_SLOTS}, code="too_many",
                               field="slots")  # fmt: skip
    for start, end in slots:
        if start is None or end is None or timezone.is_naive(start) or timezone.is_naive(end):
            raise ValidationFailed(_("Indiquez le début et la fin."), code="required", field="slots")
        if end <= start:
            raise ValidationFailed(_("La fin doit être après le début."), code="ends_before_start", field="slots")
    spaces = [space] if space is not None else list(Space.objects.filter(center=center).order_by("pk"))
    for each in spaces:
        lock_space(each)
    taken = Q()
    for start, end in slots:
        taken |= Q(starts_at__lt=end, ends_at__gt=start)
    clash = (Booking.objects.filter(space__in=spaces, status__in=Booking.HOLDING).filter(taken)
             .select_related("space", "company").order_by("starts_at").first())  # fmt: skip
    if clash is not None:
        tz = center.tz
        raise Conflict(
            _("%(space)s est réservé le %(start)s par %(company)s : annulez d'abord cette réservation.")
            % {"space": clash.space.name, "start": f"{clash.starts_at.astimezone(tz):%d/%m/%Y %H:%M}",
               "company": clash.company.name},
            code="booked", field="slots",
            details={"conflict": {"starts_at": clash.starts_at.isoformat(), "ends_at": clash.ends_at.isoformat(),
                                  "kind": "booking", "booking": clash.pk}},
        )  # fmt: skip
    made = BlockedSlot.objects.bulk_create([
        BlockedSlot(organization_id=center.organization_id, center=center, space=space, starts_at=start,
                    ends_at=end, reason=reason, created_by=by if getattr(by, "is_authenticated", False) else None)
        for start, end in sorted(slots)
    ])  # fmt: skip
    journal.record(actor=by, action="bookings.slots_blocked", obj=center, changes={
        "space": space.pk if space else None, "reason": reason, "slots": [[a, b] for a, b in sorted(slots)]})  # fmt: skip
    return made


@transaction.atomic
def unblock(*, block: BlockedSlot, by: User | None) -> BlockedSlot:
    rights.require(by, "bookings.change_blockedslot", block.organization_id)
    block = BlockedSlot.objects.select_for_update().get(pk=block.pk)
    if block.cancelled_at is not None:
        raise ValidationFailed(_("Ce créneau est déjà débloqué."), code="already_unblocked")
    block.cancelled_at, block.cancelled_by = timezone.now(), by if getattr(by, "is_authenticated", False) else None
    block.save(update_fields=["cancelled_at", "cancelled_by"])
    journal.record(actor=by, action="bookings.slot_unblocked", obj=block.center,
                   changes={"space": block.space_id, "starts_at": block.starts_at, "ends_at": block.ends_at})  # fmt: skip
    return block
