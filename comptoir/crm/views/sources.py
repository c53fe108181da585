"""Marketing → Sources: the sources with their statistics over a chosen period, and their forms."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import ServiceModelForm, StyledFormMixin, add_domain_error, date_input
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)
from comptoir.crm import selectors, services
from comptoir.crm.models import MarketingSource
from comptoir.crm.selectors.followup import SourceStatistics

register_object_url("crm.marketingsource", "crm:marketingsource_detail")
for _suffix, _verb, _icon in [
    ("deactivated", gettext_lazy("Désactivation"), "pause-circle"),
    ("reactivated", gettext_lazy("Réactivation"), "play-circle"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

CHART_LABEL_WIDTH = 170
CHART_BAR_WIDTH = 330
CHART_ROW_HEIGHT = 44
CHART_WIDTH = 640


# --------------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------------
class MarketingSourceForm(ServiceModelForm):
    class Meta:
        model = MarketingSource
        fields = services.MARKETING_SOURCE_FIELDS


class PeriodForm(StyledFormMixin, forms.Form):
    start = forms.DateField(label=gettext_lazy("Du"), widget=date_input())
    end = forms.DateField(label=gettext_lazy("Au"), widget=date_input())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("La fin de la période doit suivre son début."))
        if start and end and (end - start).days > 366 * 10:
            self.add_error("end", _("Choisissez une période de dix ans au plus."))
        return cleaned


def current_year(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    return datetime.date(today.year, 1, 1), datetime.date(today.year, 12, 31)


def period_from(request: HttpRequest) -> tuple[PeriodForm, datetime.date, datetime.date]:
    """The period asked for (?start=&end=), or the current year when none (or an invalid one) is given."""
    start, end = current_year(timezone.localdate())
    if "start" in request.GET or "end" in request.GET:
        form = PeriodForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["start"], form.cleaned_data["end"]
        return form, start, end
    return PeriodForm(initial={"start": start, "end": end}), start, end


# --------------------------------------------------------------------------------------------------
# The bar chart (inline SVG, drawn on the server)
# --------------------------------------------------------------------------------------------------
@dataclass
class ChartRow:
    label: str
    y: int
    won_amount: Decimal
    cost: Decimal
    won_width: Decimal
    cost_width: Decimal

    @property
    def won_y(self) -> int:
        return self.y + 4

    @property
    def cost_y(self) -> int:
        return self.y + 22

    @property
    def won_text_x(self) -> Decimal:
        return CHART_LABEL_WIDTH + self.won_width + 6

    @property
    def cost_text_x(self) -> Decimal:
        return CHART_LABEL_WIDTH + self.cost_width + 6

    @property
    def label_y(self) -> int:
        return self.y + 24


def chart_rows(statistics: list[SourceStatistics]) -> list[ChartRow]:
    """One row per source: the won amount and the cost as bars on a common scale (Decimal widths)."""
    highest = max([item.won_amount for item in statistics] + [item.cost for item in statistics] + [Decimal(0)])
    scale = Decimal(CHART_BAR_WIDTH) / highest if highest > 0 else Decimal(0)

    def width(value: Decimal) -> Decimal:
        return (value * scale).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    return [
        ChartRow(
            item.source.name,
            index * CHART_ROW_HEIGHT,
            item.won_amount,
            item.cost,
            width(item.won_amount),
            width(item.cost),
        )
        for index, item in enumerate(statistics)
    ]


# --------------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------------
def _source(request: HttpRequest, pk: int) -> MarketingSource:
    return get_object_or_404(selectors.marketing_sources_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _breadcrumb() -> list[tuple[str, str]]:
    return [(_("Sources marketing"), reverse("crm:marketingsource_list"))]


@right_required("crm.view_marketingsource")
def marketingsource_list(request: HttpRequest) -> HttpResponse:
    """Marketing → Sources: every source with its figures over the period (default: the current year)."""
    form, start, end = period_from(request)
    statistics = selectors.marketing_source_statistics(request.user, request.organization, start=start, end=end)  # type: ignore[attr-defined]
    rows = chart_rows(statistics)
    return render(
        request,
        "crm/sources/list.html",
        {
            "title": _("Sources marketing"),
            "form": form,
            "start": start,
            "end": end,
            "statistics": statistics,
            "totals": selectors.statistics_totals(statistics),
            "chart_rows": rows,
            "chart": {
                "width": CHART_WIDTH,
                "height": max(len(rows), 1) * CHART_ROW_HEIGHT + 8,
                "label_width": CHART_LABEL_WIDTH,
                "label_x": CHART_LABEL_WIDTH - 8,
            },
            "can_add": can(request, "crm.add_marketingsource"),
        },
    )


@right_required("crm.add_marketingsource")
def marketingsource_create(request: HttpRequest) -> HttpResponse:
    form = MarketingSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.create_marketing_source(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,
                data=form.service_data(),
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"__all__": "name"})
        else:
            messages.success(request, _("La source « %(name)s » est créée.") % {"name": source.name})
            return redirect(source)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle source marketing"),
            "intro": _("Réseaux sociaux, salon, bouche-à-oreille, site web… avec son coût pour mesurer son retour."),
            "cancel_url": reverse("crm:marketingsource_list"),
            "breadcrumb": _breadcrumb(),
            "submit_label": _("Créer la source"),
        },
    )


@right_required("crm.view_marketingsource")
def marketingsource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    form, start, end = period_from(request)
    [stats] = selectors.marketing_source_statistics(
        request.user,
        request.organization,  # type: ignore[attr-defined]
        start=start,
        end=end,
        sources=MarketingSource.objects.filter(pk=source.pk),
    )
    return render(
        request,
        "crm/sources/detail.html",
        {
            "source": source,
            "object": source,
            "form": form,
            "start": start,
            "end": end,
            "stats": stats,
            "timeline": timeline(source),
            "breadcrumb": _breadcrumb(),
            "can_change": can(request, "crm.change_marketingsource"),
        },
    )


@right_required("crm.change_marketingsource")
def marketingsource_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    form = MarketingSourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            source = services.update_marketing_source(source=source, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"__all__": "name"})
        else:
            if data:
                messages.success(request, _("La source « %(name)s » est enregistrée.") % {"name": source.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(source)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": source.name},
            "cancel_url": source.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(), (source.name, source.get_absolute_url())],
        },
    )


@right_required("crm.change_marketingsource")
def marketingsource_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: deactivate an active source, reactivate an inactive one."""
    source = _source(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        source = services.deactivate_marketing_source(source=source, by=request.user, active=not source.is_active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if source.is_active:
            messages.success(request, _("La source « %(name)s » est réactivée.") % {"name": source.name})
        else:
            messages.success(request, _("La source « %(name)s » est désactivée.") % {"name": source.name})
    return redirect(source)


urlpatterns = [
    path("sources/", marketingsource_list, name="marketingsource_list"),
    path("sources/new/", marketingsource_create, name="marketingsource_create"),
    path("sources/<int:pk>/", marketingsource_detail, name="marketingsource_detail"),
    path("sources/<int:pk>/edit/", marketingsource_edit, name="marketingsource_edit"),
    path("sources/<int:pk>/deactivate/", marketingsource_deactivate, name="marketingsource_deactivate"),
]
