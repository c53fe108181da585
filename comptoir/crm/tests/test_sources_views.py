"""Marketing → Sources pages: the statistics table and chart, the forms, rights."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.crm.models import MarketingSource
from comptoir.crm.tests.factories import CompanyFactory, MarketingSourceFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))


def test_list_shows_the_statistics_the_french_way_and_a_chart(org, admin, staff_client):
    source = MarketingSourceFactory(organization=org, name="Salon SIMI", cost=Decimal("1000.00"), cost_period="year")
    OpportunityFactory(company__organization=org, marketing_source=source, created_at=at(datetime.date(2026, 2, 1)),
                       stage="won", closed_at=at(datetime.date(2026, 3, 1)), estimated_amount=Decimal("2500.00"))  # fmt: skip

    response = staff_client(admin).get(
        reverse("crm:marketingsource_list"), {"start": "2026-01-01", "end": "2026-12-31"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Salon SIMI" in html
    assert "2\u202f500,00\u00a0€" in html and "1\u202f000,00\u00a0€" in html
    assert "150,0\u202f%" in html and "100,0\u202f%" in html  # ROI and conversion rate
    assert "<svg" in html and 'width="330.0"' in html and 'width="132.0"' in html  # won 2500 → 330, cost 1000 → 132


def test_default_period_is_the_current_year(org, admin, staff_client):
    MarketingSourceFactory(organization=org)
    response = staff_client(admin).get(reverse("crm:marketingsource_list"))
    year = timezone.localdate().year
    assert response.context["start"] == datetime.date(year, 1, 1)
    assert response.context["end"] == datetime.date(year, 12, 31)


def test_an_inverted_period_shows_an_error_and_the_current_year(org, admin, staff_client):
    response = staff_client(admin).get(
        reverse("crm:marketingsource_list"), {"start": "2026-05-01", "end": "2026-01-01"}
    )
    assert response.status_code == 200 and "La fin de la période doit suivre son début." in response.content.decode()


def test_garbage_period_never_gives_a_500(org, admin, staff_client):
    response = staff_client(admin).get(reverse("crm:marketingsource_list"), {"start": "x\x00", "end": "99999-99-99"})
    assert response.status_code == 200


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("crm:marketingsource_list")).status_code == 200
    return len(queries)


def _sources(org, count):
    company = CompanyFactory(organization=org)
    for _index in range(count):
        source = MarketingSourceFactory(organization=org)
        OpportunityFactory(company=company, marketing_source=source, stage="won", closed_at=timezone.now())


def test_list_makes_the_same_queries_for_10_or_100_sources(org, admin, staff_client):
    _sources(org, 10)
    client = staff_client(admin)
    _queries(client)
    ten = _queries(client)
    _sources(org, 90)
    assert _queries(client) == ten


def test_create_edit_and_deactivate_a_source(org, admin, staff_client):
    client = staff_client(admin)
    response = client.post(
        reverse("crm:marketingsource_create"),
        {"name": "LinkedIn", "channel": "social", "cost": "200.00", "cost_period": "month", "is_active": "on"},
    )
    source = MarketingSource.objects.get()
    assert response.status_code == 302 and response["Location"] == source.get_absolute_url()

    assert client.get(source.get_absolute_url()).status_code == 200
    response = client.post(
        reverse("crm:marketingsource_edit", args=[source.pk]),
        {"name": "LinkedIn Ads", "channel": "social", "cost": "250.00", "cost_period": "month", "is_active": "on"},
    )
    source.refresh_from_db()
    assert response.status_code == 302 and source.name == "LinkedIn Ads" and source.cost == Decimal("250.00")

    assert client.get(reverse("crm:marketingsource_deactivate", args=[source.pk])).status_code == 405
    client.post(reverse("crm:marketingsource_deactivate", args=[source.pk]))
    source.refresh_from_db()
    assert not source.is_active


def test_duplicate_name_is_shown_at_the_name_field(org, admin, staff_client):
    MarketingSourceFactory(organization=org, name="LinkedIn")
    response = staff_client(admin).post(
        reverse("crm:marketingsource_create"),
        {"name": "linkedin", "channel": "social", "cost": "0", "cost_period": "month", "is_active": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["Une source marketing de votre organisation porte déjà ce nom."]
    assert MarketingSource.objects.count() == 1


@pytest.mark.parametrize(("kind", "status"), [("manager", 200), ("reception", 403), ("technician", 403)])
def test_sources_rights_per_role(org, staff_of, staff_client, kind, status):
    client = staff_client(staff_of(kind))
    assert client.get(reverse("crm:marketingsource_list")).status_code == status
    assert client.get(reverse("crm:marketingsource_create")).status_code == status
