"""Proration (DESIGN.md invariant 10): one pure function splits the price of a period by days.

The part due for the days [start, end] of a period of D days priced `amount` is

    round(amount × days_until_end / D) − round(amount × days_before_start / D)

(rounded half-up to the cent). Parts that tile a period telescope to round(amount) − round(0): the parts of
a period always add up to its full price to the cent, whatever the splits (starts, ends, amendments,
pauses, added options), and a part that covers the whole period is the full price.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ONE_DAY = datetime.timedelta(days=1)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def prorate(
    amount: Decimal,
    *,
    period_start: datetime.date,
    period_end: datetime.date,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> Decimal:
    """The part of `amount` (the price of [period_start, period_end], both included) due for the days of
    [start, end] that fall inside the period (None: the period's own bound)."""
    if isinstance(amount, float):
        raise TypeError("Money is never a float.")
    if period_end < period_start:
        raise ValueError("period_end precedes period_start")
    amount = Decimal(amount)
    first = max(start or period_start, period_start)
    last = min(end or period_end, period_end)
    if last < first:
        return Decimal("0.00")
    total_days = (period_end - period_start).days + 1
    before = (first - period_start).days
    until = (last - period_start).days + 1
    if before == 0 and until == total_days:
        return _cents(amount)
    return _cents(amount * until / total_days) - _cents(amount * before / total_days)


def outside(
    start: datetime.date, end: datetime.date, gaps: Iterable[tuple[datetime.date, datetime.date]]
) -> list[tuple[datetime.date, datetime.date]]:
    """The pieces of [start, end] (both included) outside the `gaps` (pauses, both bounds included), in order.
    Prorating each piece and each gap with `prorate` tiles the period: together they add up to its price."""
    pieces: list[tuple[datetime.date, datetime.date]] = []
    cursor = start
    for gap_start, gap_end in sorted(gaps):
        if gap_end < cursor or gap_start > end:
            continue
        if gap_start > cursor:
            pieces.append((cursor, gap_start - ONE_DAY))
        cursor = max(cursor, gap_end + ONE_DAY)
        if cursor > end:
            return pieces
    if cursor <= end:
        pieces.append((cursor, end))
    return pieces


def month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """First and last day of the month of `day`."""
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following - ONE_DAY


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - ONE_DAY).replace(day=1)


def parse_period(value: str) -> datetime.date:
    """'2026-11' → 2026-11-01; ValueError otherwise."""
    year, month = value.strip().split("-")
    if len(year) != 4 or len(month) != 2:
        raise ValueError(value)
    return datetime.date(int(year), int(month), 1)
