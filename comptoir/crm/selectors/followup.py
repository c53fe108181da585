"""Reads of the CRM follow-up: a staff member's daily list, the company action calendar, marketing statistics.

Notes and actions are read through `notes_for` / `actions_for` (companies.py): staff with the right only,
never portal users. Every function here makes a constant number of queries, whatever the number of rows.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from comptoir.core.models import Organization, User
from comptoir.core.money import round_cents
from comptoir.crm.models import Action, Company, MarketingSource, Opportunity
from comptoir.crm.selectors.companies import _org_id, actions_for, marketing_sources_for

__all__ = [
    "CalendarDay",
    "MonthCalendar",
    "SourceStatistics",
    "actions_for_day",
    "company_action_calendar",
    "marketing_source_statistics",
    "month_start",
    "parse_month",
    "prorated_cost",
    "statistics_totals",
]

PERCENT = Decimal("0.01")
HUNDRED = Decimal(100)


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------
def actions_for_day(user: User, organization: Organization | int, day: datetime.date) -> QuerySet[Action]:
    """The user's daily list: their open actions due that day, and the overdue ones (oldest first)."""
    return (
        actions_for(user, organization)
        .filter(assignee=user, completed_at__isnull=True, due_date__lte=day)
        .order_by("due_date", "id")
    )


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def parse_month(raw: str | None, default: datetime.date) -> datetime.date:
    """ "2026-11" → 1 Nov 2026; anything else (missing, malformed, out of range) → the default's month."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        if 1900 <= year <= 2999 and 1 <= month <= 12:  # a calendar's neighbours stay valid dates
            return datetime.date(year, month, 1)
    except ValueError:
        pass
    return month_start(default)


@dataclass
class CalendarDay:
    day: datetime.date
    in_month: bool
    is_today: bool
    actions: list[Action] = field(default_factory=list)

    @property
    def has_overdue(self) -> bool:
        return any(action.is_overdue(self.today) for action in self.actions)

    @property
    def today(self) -> datetime.date:
        return timezone.localdate()


@dataclass
class MonthCalendar:
    month: datetime.date  # the first day of the month
    weeks: list[list[CalendarDay]]
    today: datetime.date

    @property
    def previous(self) -> datetime.date:
        return (self.month - datetime.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> datetime.date:
        return (self.month + datetime.timedelta(days=31)).replace(day=1)

    @property
    def actions(self) -> list[Action]:
        return [action for week in self.weeks for day in week if day.in_month for action in day.actions]


def company_action_calendar(
    user: User, organization: Organization | int, company: Company, month: datetime.date
) -> MonthCalendar:
    """The month grid (Monday first, whole weeks) with the company's actions on their due day: one query."""
    today = timezone.localdate()
    month = month_start(month)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    by_day: dict[datetime.date, list[Action]] = {}
    actions = actions_for(user, organization).filter(
        company=company, due_date__gte=weeks[0][0], due_date__lte=weeks[-1][-1]
    )
    for action in actions.order_by("due_date", "id"):
        by_day.setdefault(action.due_date, []).append(action)
    grid = [
        [CalendarDay(day, day.month == month.month, day == today, by_day.get(day, [])) for day in week]
        for week in weeks
    ]
    return MonthCalendar(month=month, weeks=grid, today=today)


# --------------------------------------------------------------------------------------------------
# Marketing sources: statistics over a period
# --------------------------------------------------------------------------------------------------
def _overlap_days(start: datetime.date, end: datetime.date, lo: datetime.date, hi: datetime.date) -> int:
    first, last = max(start, lo), min(end, hi)
    return (last - first).days + 1 if first <= last else 0


def _periods(start: datetime.date, end: datetime.date, months: int) -> list[tuple[datetime.date, datetime.date]]:
    """The calendar periods of `months` months (1: months, 3: quarters, 12: years) that meet [start, end]."""
    first_month = ((start.month - 1) // months) * months + 1
    cursor = datetime.date(start.year, first_month, 1)
    periods = []
    while cursor <= end:
        month_index = cursor.month - 1 + months
        following = datetime.date(cursor.year + month_index // 12, month_index % 12 + 1, 1)
        periods.append((cursor, following - datetime.timedelta(days=1)))
        cursor = following
    return periods


COST_PERIOD_MONTHS = {
    MarketingSource.CostPeriod.MONTH: 1,
    MarketingSource.CostPeriod.QUARTER: 3,
    MarketingSource.CostPeriod.YEAR: 12,
}


def prorated_cost(source: MarketingSource, start: datetime.date, end: datetime.date) -> Decimal:
    """The source's cost over [start, end] (both included), to the cent.

    Monthly, quarterly and yearly costs count once per whole calendar month / quarter / year of the
    period, and a partial one by its share of days (a 15-day stretch of a 30-day month: half the cost).
    A one-off cost counts when the source was created in the period.
    """
    if end < start:
        return Decimal("0.00")
    cost = Decimal(source.cost)
    if source.cost_period == MarketingSource.CostPeriod.ONE_OFF:
        created = timezone.localdate(source.created_at)
        return round_cents(cost) if start <= created <= end else Decimal("0.00")
    months = COST_PERIOD_MONTHS[source.cost_period]
    total = Fraction(0)
    for lo, hi in _periods(start, end, months):
        total += Fraction(cost) * Fraction(_overlap_days(start, end, lo, hi), (hi - lo).days + 1)
    return round_cents(Decimal(total.numerator) / Decimal(total.denominator))


def _percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * HUNDRED / Decimal(denominator)).quantize(PERCENT, rounding=ROUND_HALF_UP)


@dataclass
class SourceStatistics:
    """One source's figures over a period. Rates are percentages (Decimal, 2 places, half-up)."""

    source: MarketingSource
    company_leads: int
    opportunity_leads: int
    opportunities: int  # opportunities created in the period
    won: int
    won_amount: Decimal
    cost: Decimal

    @property
    def leads(self) -> int:
        return self.company_leads + self.opportunity_leads

    @property
    def conversion_rate(self) -> Decimal | None:
        """Won opportunities / opportunities created in the period, in percent (None without any)."""
        return _percent(Decimal(self.won), Decimal(self.opportunities))

    @property
    def roi(self) -> Decimal | None:
        """(won amount − cost) / cost, in percent (None when the source cost nothing)."""
        return _percent(self.won_amount - self.cost, self.cost)


def _day_bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in the current timezone."""
    zone = timezone.get_current_timezone()
    lo = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min), zone)
    hi = timezone.make_aware(datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min), zone)
    return lo, hi


def marketing_source_statistics(
    user: User, organization: Organization | int, *, start: datetime.date, end: datetime.date,
    sources: QuerySet[MarketingSource] | None = None,
) -> list[SourceStatistics]:  # fmt: skip
    """Per source over [start, end]: leads (companies and opportunities created with the source), won
    opportunities (signed, closed in the period) and their estimated amount, conversion rate, prorated
    cost and ROI. Four queries whatever the number of sources (grouped aggregates, no per-source query)."""
    org_id = _org_id(organization)
    sources = marketing_sources_for(user, organization) if sources is None else sources
    source_list = list(sources.order_by("name", "id"))
    if not source_list:
        return []
    lo, hi = _day_bounds(start, end)
    companies = dict(
        Company.objects.filter(
            organization=org_id, marketing_source__isnull=False, created_at__gte=lo, created_at__lt=hi
        )
        .values_list("marketing_source")
        .annotate(count=Count("id"))
        .order_by()
    )
    opportunities = Opportunity.objects.filter(organization=org_id, marketing_source__isnull=False)
    created = dict(
        opportunities.filter(created_at__gte=lo, created_at__lt=hi)
        .values_list("marketing_source")
        .annotate(count=Count("id"))
        .order_by()
    )
    won = {
        source_id: (count, amount)
        for source_id, count, amount in opportunities.filter(
            stage=Opportunity.Stage.WON, closed_at__gte=lo, closed_at__lt=hi
        )
        .values_list("marketing_source")
        .annotate(count=Count("id"), amount=Sum("estimated_amount"))
        .order_by()
    }
    statistics = []
    for source in source_list:
        won_count, won_amount = won.get(source.pk, (0, Decimal("0")))
        statistics.append(
            SourceStatistics(
                source=source,
                company_leads=companies.get(source.pk, 0),
                opportunity_leads=created.get(source.pk, 0),
                opportunities=created.get(source.pk, 0),
                won=won_count,
                won_amount=round_cents(won_amount or Decimal("0")),
                cost=prorated_cost(source, start, end),
            )
        )
    return statistics


def statistics_totals(statistics: list[SourceStatistics]) -> SourceStatistics | None:
    """The sum of every source's figures (its rates computed on the sums)."""
    if not statistics:
        return None
    return SourceStatistics(
        source=MarketingSource(name=""),
        company_leads=sum(item.company_leads for item in statistics),
        opportunity_leads=sum(item.opportunity_leads for item in statistics),
        opportunities=sum(item.opportunities for item in statistics),
        won=sum(item.won for item in statistics),
        won_amount=sum((item.won_amount for item in statistics), Decimal("0.00")),
        cost=sum((item.cost for item in statistics), Decimal("0.00")),
    )
