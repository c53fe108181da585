"""Marketing source statistics: leads, wins, won amount, conversion, prorated cost and ROI (exact Decimals)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.crm import selectors
from comptoir.crm.models import MarketingSource
from comptoir.crm.selectors.followup import prorated_cost
from comptoir.crm.tests.factories import CompanyFactory, MarketingSourceFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))


def source(cost: str, period: str, created: datetime.date | None = None) -> MarketingSource:
    return MarketingSource(cost=Decimal(cost), cost_period=period, created_at=at(created or D(2025, 6, 1)))


# --------------------------------------------------------------------------------------------------
# Cost proration (pure)
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cost", "period", "start", "end", "expected"),
    [
        ("300.00", "month", D(2026, 1, 1), D(2026, 12, 31), "3600.00"),  # 12 whole months
        ("300.00", "month", D(2026, 1, 1), D(2026, 3, 31), "900.00"),
        ("300.00", "month", D(2026, 4, 1), D(2026, 4, 15), "150.00"),  # 15 of 30 days
        ("310.00", "month", D(2026, 1, 17), D(2026, 2, 28), "460.00"),  # 15/31 × 310 + 310
        ("100.00", "month", D(2026, 1, 1), D(2026, 1, 1), "3.23"),  # 1/31 × 100 = 3.2258…
        ("900.00", "quarter", D(2026, 1, 1), D(2026, 12, 31), "3600.00"),
        ("900.00", "quarter", D(2026, 2, 1), D(2026, 3, 31), "590.00"),  # 59 of the 90 days of Q1
        ("1200.00", "year", D(2026, 1, 1), D(2026, 12, 31), "1200.00"),
        ("1200.00", "year", D(2026, 7, 1), D(2027, 6, 30), "1200.00"),  # 184/365 + 181/365
        ("3650.00", "year", D(2026, 1, 1), D(2026, 1, 10), "100.00"),  # 10/365 × 3650
        ("0.00", "month", D(2026, 1, 1), D(2026, 12, 31), "0.00"),
    ],
)
def test_prorated_cost(cost, period, start, end, expected):
    assert prorated_cost(source(cost, period), start, end) == Decimal(expected)


def test_one_off_cost_counts_only_when_the_source_was_created_in_the_period():
    fair = source("1500.00", "one_off", created=D(2026, 3, 10))
    assert prorated_cost(fair, D(2026, 1, 1), D(2026, 12, 31)) == Decimal("1500.00")
    assert prorated_cost(fair, D(2026, 3, 10), D(2026, 3, 10)) == Decimal("1500.00")
    assert prorated_cost(fair, D(2026, 4, 1), D(2026, 12, 31)) == Decimal("0.00")
    assert prorated_cost(fair, D(2025, 1, 1), D(2025, 12, 31)) == Decimal("0.00")


def test_an_empty_period_costs_nothing():
    assert prorated_cost(source("300.00", "month"), D(2026, 2, 1), D(2026, 1, 1)) == Decimal("0.00")


# --------------------------------------------------------------------------------------------------
# Statistics over a period
# --------------------------------------------------------------------------------------------------
def test_statistics_per_source(org, other_org, admin):
    web = MarketingSourceFactory(organization=org, name="Site web", cost=Decimal("250.00"), cost_period="month")
    fair = MarketingSourceFactory(
        organization=org, name="Salon", cost=Decimal("2000.00"), cost_period="one_off", created_at=at(D(2026, 2, 1))
    )
    MarketingSourceFactory(organization=org, name="Bouche-à-oreille", cost=Decimal("0.00"))
    # leads in the period: 2 companies + 4 opportunities for "web"; one company before the period
    CompanyFactory(organization=org, marketing_source=web, created_at=at(D(2026, 1, 5)))
    CompanyFactory(organization=org, marketing_source=web, created_at=at(D(2026, 6, 30)))
    CompanyFactory(organization=org, marketing_source=web, created_at=at(D(2025, 12, 31)))
    company = CompanyFactory(organization=org)
    OpportunityFactory(company=company, marketing_source=web, created_at=at(D(2026, 2, 1)),
                       stage="won", closed_at=at(D(2026, 3, 1)), estimated_amount=Decimal("1800.50"))  # fmt: skip
    OpportunityFactory(company=company, marketing_source=web, created_at=at(D(2026, 2, 2)),
                       stage="won", closed_at=at(D(2026, 4, 1)), estimated_amount=Decimal("999.50"))  # fmt: skip
    OpportunityFactory(company=company, marketing_source=web, created_at=at(D(2026, 3, 1)), stage="lost")
    OpportunityFactory(company=company, marketing_source=web, created_at=at(D(2026, 3, 2)))
    # won in the period, created before it: counts as a win, not as a lead
    OpportunityFactory(company=company, marketing_source=fair, created_at=at(D(2025, 11, 1)),
                       stage="won", closed_at=at(D(2026, 1, 15)), estimated_amount=Decimal("5000.00"))  # fmt: skip
    # won after the period: no win
    OpportunityFactory(company=company, marketing_source=fair, created_at=at(D(2026, 5, 1)),
                       stage="won", closed_at=at(D(2026, 7, 2)), estimated_amount=Decimal("7000.00"))  # fmt: skip
    # another organization's source of the same name: not counted
    foreign = MarketingSourceFactory(organization=other_org, name="Site web")
    CompanyFactory(organization=other_org, marketing_source=foreign, created_at=at(D(2026, 1, 5)))

    stats = {
        item.source.name: item
        for item in selectors.marketing_source_statistics(admin, org, start=D(2026, 1, 1), end=D(2026, 6, 30))
    }

    assert list(stats) == ["Bouche-à-oreille", "Salon", "Site web"]
    web_stats = stats["Site web"]
    assert (web_stats.company_leads, web_stats.opportunity_leads, web_stats.leads) == (2, 4, 6)
    assert (web_stats.opportunities, web_stats.won, web_stats.won_amount) == (4, 2, Decimal("2800.00"))
    assert web_stats.conversion_rate == Decimal("50.00")
    assert web_stats.cost == Decimal("1500.00")  # 6 months × 250
    assert web_stats.roi == Decimal("86.67")  # (2800 − 1500) / 1500 = 0.866666…
    fair_stats = stats["Salon"]
    assert (fair_stats.leads, fair_stats.won, fair_stats.won_amount) == (1, 1, Decimal("5000.00"))
    assert fair_stats.conversion_rate == Decimal("100.00")  # 1 won in the period / 1 created in it
    assert fair_stats.cost == Decimal("2000.00") and fair_stats.roi == Decimal("150.00")
    free_stats = stats["Bouche-à-oreille"]
    assert (free_stats.leads, free_stats.won, free_stats.won_amount, free_stats.cost) == (0, 0, Decimal("0.00"),
                                                                                         Decimal("0.00"))  # fmt: skip
    assert free_stats.conversion_rate is None and free_stats.roi is None

    totals = selectors.statistics_totals(list(stats.values()))
    assert (totals.leads, totals.won, totals.won_amount, totals.cost) == (7, 3, Decimal("7800.00"), Decimal("3500.00"))
    assert totals.roi == Decimal("122.86")  # 4300 / 3500 = 1.228571…


def test_a_loss_makes_a_negative_roi(org, admin):
    ads = MarketingSourceFactory(organization=org, cost=Decimal("1000.00"), cost_period="year")
    OpportunityFactory(company__organization=org, marketing_source=ads, created_at=at(D(2026, 2, 1)),
                       stage="won", closed_at=at(D(2026, 3, 1)), estimated_amount=Decimal("250.00"))  # fmt: skip

    [stats] = selectors.marketing_source_statistics(admin, org, start=D(2026, 1, 1), end=D(2026, 12, 31))

    assert stats.roi == Decimal("-75.00") and stats.conversion_rate == Decimal("100.00")


def test_statistics_need_the_view_right(org, staff_of):
    MarketingSourceFactory(organization=org)
    assert selectors.marketing_source_statistics(staff_of("reception"), org, start=D(2026, 1, 1),
                                                 end=D(2026, 12, 31)) == []  # fmt: skip


def _count_queries(admin, org) -> int:
    with CaptureQueriesContext(connection) as queries:
        selectors.marketing_source_statistics(admin, org, start=D(2026, 1, 1), end=D(2026, 12, 31))
    return len(queries)


def _add_sources(org, count: int) -> None:
    company = CompanyFactory(organization=org)
    for _index in range(count):
        source = MarketingSourceFactory(organization=org)
        CompanyFactory(organization=org, marketing_source=source, created_at=at(D(2026, 3, 1)))
        OpportunityFactory(company=company, marketing_source=source, created_at=at(D(2026, 3, 1)),
                           stage="won", closed_at=at(D(2026, 4, 1)))  # fmt: skip


def test_statistics_make_the_same_queries_for_10_or_100_sources(org, admin):
    _add_sources(org, 10)
    admin_fresh = type(admin).objects.get(pk=admin.pk)
    _count_queries(admin_fresh, org)  # warm the rights cache
    ten = _count_queries(admin_fresh, org)
    _add_sources(org, 90)
    hundred = _count_queries(admin_fresh, org)

    assert ten == hundred == 4
