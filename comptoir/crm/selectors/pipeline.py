"""Reads of the sales pipeline: the kanban board (one aggregate query for the column figures) and the
viewer's activities of the day, in their center's timezone."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from comptoir.core import selectors as core_selectors
from comptoir.core.models import Center, Organization, User
from comptoir.crm.models import Activity, Opportunity
from comptoir.crm.selectors.companies import activities_for, opportunities_for

__all__ = [
    "CLOSED_CARDS_SHOWN",
    "BoardColumn",
    "my_activities_today",
    "opportunity_board",
    "stage_figures",
    "viewer_timezone",
]  # fmt: skip

CLOSED_CARDS_SHOWN = 20  # the "won" and "lost" columns show their most recently closed cards


@dataclass
class BoardColumn:
    stage: str
    label: str
    count: int = 0
    total: Decimal = Decimal("0.00")
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def is_closed(self) -> bool:
        return self.stage not in Opportunity.OPEN_STAGES

    @property
    def hidden_count(self) -> int:
        return max(0, self.count - len(self.cards))


def stage_figures(queryset: QuerySet[Opportunity]) -> dict[str, tuple[int, Decimal]]:
    """{stage: (count, sum of estimated amounts)} in ONE aggregate query."""
    rows = queryset.order_by().values("stage").annotate(count=Count("pk"), total=Sum("estimated_amount"))
    return {row["stage"]: (row["count"], row["total"] or Decimal("0.00")) for row in rows}


def opportunity_board(
    user: User, organization: Organization | int, *, queryset: QuerySet[Opportunity] | None = None
) -> list[BoardColumn]:
    """The kanban: every stage in order (open stages, then won and lost) with its count, its total and its
    cards. At most four queries whatever the number of opportunities: the figures (one aggregate), the open
    cards, the latest won and the latest lost."""
    qs = queryset if queryset is not None else opportunities_for(user, organization)
    figures = stage_figures(qs)
    columns = {stage: BoardColumn(stage, str(label)) for stage, label in Opportunity.Stage.choices}
    for stage, (count, total) in figures.items():
        if stage in columns:
            columns[stage].count, columns[stage].total = count, total
    for card in qs.filter(stage__in=Opportunity.OPEN_STAGES).order_by("stage", "position", "-id"):
        columns[card.stage].cards.append(card)
    for stage in (Opportunity.Stage.WON, Opportunity.Stage.LOST):
        if columns[stage].count:
            columns[stage].cards = list(qs.filter(stage=stage).order_by("-closed_at", "-id")[:CLOSED_CARDS_SHOWN])
    return list(columns.values())


def viewer_timezone(user: User, organization: Organization | int) -> zoneinfo.ZoneInfo:
    """The timezone of the viewer's center: the first center they are limited to, else the organization's
    first active center, else the project's default."""
    name = (
        core_selectors.centers_for(user, organization)
        .filter(is_active=True)
        .order_by("name", "id")
        .values_list("timezone", flat=True)
        .first()
    )
    if name is None:
        org_id = organization if isinstance(organization, int) else organization.pk
        name = (
            Center.objects.filter(organization=org_id).order_by("name", "id").values_list("timezone", flat=True).first()
        )
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


def my_activities_today(
    user: User, organization: Organization | int, *, now: datetime.datetime | None = None
) -> QuerySet[Activity]:
    """The viewer's planned activities of the current day in their center's timezone, in time order."""
    tz = viewer_timezone(user, organization)
    local_now = (now or timezone.now()).astimezone(tz)
    start = datetime.datetime.combine(local_now.date(), datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(local_now.date() + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return (
        activities_for(user, organization)
        .filter(staff=user, status=Activity.Status.PLANNED, scheduled_at__gte=start, scheduled_at__lt=end)
        .order_by("scheduled_at", "id")
    )
