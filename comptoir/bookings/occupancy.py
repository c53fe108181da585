"""The bookings' answer to the floor plans (comptoir.catalog.occupancy), and their state at one instant.

`provider` is registered in BookingsConfig.ready(): on a day (in each space's center timezone), a space with a
confirmed booking that day is OCCUPIED, one with only a pending request RESERVED (the request holds its slot).

The catalog's registry answers per day. `states_at` answers at one instant (« Plan 2D » of the planning, at a
date and a time): the other providers' answers for that day (contracts: a private office under contract is
taken all day), then the bookings and the blocked slots covering that instant. One query per provider, plus two.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Q

from comptoir.bookings.models import BlockedSlot, Booking
from comptoir.catalog import occupancy
from comptoir.core.models import Center

DAY = datetime.timedelta(days=1)
# A provider's answer wins over another's when it ranks higher (the catalog registry's rule).
RANK = {occupancy.RESERVED: 1, occupancy.OCCUPIED: 2}


def _day_bounds(on: datetime.date, tz: zoneinfo.ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
    """[local midnight, next local midnight) of a day, as aware datetimes (right across DST changes)."""
    start = datetime.datetime.combine(on, datetime.time(), tzinfo=tz)
    end = datetime.datetime.combine(on + DAY, datetime.time(), tzinfo=tz)
    return start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)


def provider(space_ids: Iterable[int], on: datetime.date) -> dict[int, str]:
    """{space_id: "occupied" | "reserved"}: a confirmed booking that day, or only a pending request (one query).

    The window is widened by a day on each side in UTC, then each booking is checked against its center's local
    day, so spaces of centers in different timezones are answered in the same query."""
    ids = list(space_ids)
    if not ids:
        return {}
    start = datetime.datetime.combine(on - DAY, datetime.time(), tzinfo=datetime.UTC)
    end = datetime.datetime.combine(on + 2 * DAY, datetime.time(), tzinfo=datetime.UTC)
    rows = Booking.objects.filter(
        space_id__in=ids, status__in=Booking.HOLDING, starts_at__lt=end, ends_at__gt=start
    ).values_list("space_id", "status", "starts_at", "ends_at", "center__timezone")
    states: dict[int, str] = {}
    zones: dict[str, tuple[datetime.datetime, datetime.datetime]] = {}
    for space_id, status, starts_at, ends_at, tz_name in rows:
        if tz_name not in zones:
            zones[tz_name] = _day_bounds(on, zoneinfo.ZoneInfo(tz_name))
        day_start, day_end = zones[tz_name]
        if not (starts_at < day_end and ends_at > day_start):
            continue
        state = occupancy.OCCUPIED if status == Booking.Status.CONFIRMED else occupancy.RESERVED
        if RANK[state] > RANK.get(states.get(space_id, ""), 0):
            states[space_id] = state
    return states


def other_states(spaces: Sequence[Any], on: datetime.date) -> dict[int, str]:
    """The answers of every registered provider but the bookings' one (contracts...) for the active spaces."""
    active = [space.pk for space in spaces if space.is_active]
    answers: dict[int, str] = {}
    if not active:
        return answers
    asked = set(active)
    for other in occupancy.providers():
        if other is provider:
            continue
        for space_id, state in (other(list(active), on) or {}).items():
            if space_id in asked and state in RANK and RANK[state] > RANK.get(answers.get(space_id, ""), 0):
                answers[space_id] = state
    return answers


def states_at(spaces: Sequence[Any], moment: datetime.datetime, *, center: Center) -> dict[int, str]:
    """{space id: state} at one instant of the spaces of one center (anything with `pk` and `is_active`).

    An inactive space, or one a blocked slot covers, is UNAVAILABLE; one a confirmed booking covers OCCUPIED;
    one a pending request covers RESERVED; otherwise what the other providers say for the day (a contract)."""
    result: dict[int, str] = {}
    active = [space for space in spaces if space.is_active]
    for space in spaces:
        if not space.is_active:
            result[space.pk] = occupancy.UNAVAILABLE
    if not active:
        return result
    ids = [space.pk for space in active]
    answers = other_states(active, moment.astimezone(center.tz).date())
    bookings = Booking.objects.filter(
        space_id__in=ids, status__in=Booking.HOLDING, starts_at__lte=moment, ends_at__gt=moment
    ).values_list("space_id", "status")
    for space_id, status in bookings:
        state = occupancy.OCCUPIED if status == Booking.Status.CONFIRMED else occupancy.RESERVED
        if RANK[state] >= RANK.get(answers.get(space_id, ""), 0):
            answers[space_id] = state
    blocked = BlockedSlot.objects.filter(cancelled_at=None, starts_at__lte=moment, ends_at__gt=moment).filter(
        Q(space_id__in=ids) | Q(space=None, center_id=center.pk)
    )
    whole_center = False
    for space_id in blocked.values_list("space_id", flat=True):
        if space_id is None:
            whole_center = True
        else:
            answers[space_id] = occupancy.UNAVAILABLE
    for space in active:
        result[space.pk] = occupancy.UNAVAILABLE if whole_center else answers.get(space.pk, occupancy.FREE)
    return result
