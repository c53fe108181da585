"""Public pages: what Comptoir is, and each operator's page with its centers."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from comptoir.core.models import Center, OpeningHours
from comptoir.market import selectors


@dataclass(frozen=True)
class DayHours:
    label: str
    intervals: list[OpeningHours]


def weekly_hours(center: Center) -> list[DayHours]:
    """Monday to Sunday with the day's opening intervals (none: closed), from the prefetched `hours`."""
    return [
        DayHours(label=str(label), intervals=[hours for hours in center.hours if hours.weekday == day])  # type: ignore[attr-defined]
        for day, label in OpeningHours.Weekday.choices
    ]


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "market/home.html")


@require_safe
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organization = get_object_or_404(selectors.public_organizations(), slug=slug)
    centers = [
        {"center": center, "week": weekly_hours(center)}
        for center in selectors.public_centers(organization=organization)
    ]
    return render(request, "market/organization.html", {"organization": organization, "centers": centers})
