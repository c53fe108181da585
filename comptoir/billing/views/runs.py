"""Finance → Facturation: the monthly run. Choose a month, « Prévisualiser » every invoice the run will create,
« Lancer la facturation », then follow its progress (HTMX polling every second until it is completed); the
history of runs with their counts, totals and invoices."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing import selectors
from comptoir.billing.forms import RunPeriodForm
from comptoir.billing.models import BillingRun
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, register_object_url, right_required

register_object_url("billing.billingrun", "billing:run_detail")
for _suffix, _verb, _icon in [
    ("started", gettext_lazy("Lancement"), "play-circle"),
    ("resumed", gettext_lazy("Reprise"), "arrow-repeat"),
    ("completed", gettext_lazy("Fin"), "check-circle"),
    ("failed", gettext_lazy("Interruption"), "exclamation-triangle"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [
    Entry("finance", gettext_lazy("Facturation"), "billing:run_list", "billing.view_billingrun", 20, "calendar2-check")
]


def next_month(today: datetime.date) -> datetime.date:
    return (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _runs(request: HttpRequest) -> Any:
    return selectors.runs_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _page(request: HttpRequest, form: RunPeriodForm, preview: Any = None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "billing/runs/list.html",
        {
            "form": form,
            "preview": preview,
            "runs": list(_runs(request)[:36]),
            "can_start": can(request, "billing.add_billingrun"),
            "title": _("Facturation mensuelle"),
        },
        status=status,
    )


@right_required("billing.view_billingrun")
def run_list(request: HttpRequest) -> HttpResponse:
    """The month picker (next month by default), the preview when asked (`?period=2027-01`), the history."""
    if "period" in request.GET:
        form = RunPeriodForm(request.GET)
    else:
        form = RunPeriodForm(initial={"period": next_month(timezone.localdate())})
    preview = None
    if form.is_bound and form.is_valid():
        from comptoir.billing.services.runs import preview_run

        try:
            preview = preview_run(
                organization=request.organization,  # type: ignore[attr-defined]
                period=form.cleaned_data["period"],
                by=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
    return _page(request, form, preview)


@right_required("billing.view_billingrun", "billing.add_billingrun")
def run_start(request: HttpRequest) -> HttpResponse:
    """« Lancer la facturation » (POST, after the confirmation in the page)."""
    if (refused := post_only(request)) is not None:
        return refused
    form = RunPeriodForm(request.POST)
    if form.is_valid():
        from comptoir.billing.services.runs import start_run

        try:
            run = start_run(
                organization=request.organization,  # type: ignore[attr-defined]
                period=form.cleaned_data["period"],
                by=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"issue_date": None})
        else:
            messages.success(request, _("La facturation de %(period)s est lancée.") % {"period": run})
            return redirect(run)
    return _page(request, form)


def _run(request: HttpRequest, pk: int) -> BillingRun:
    return get_object_or_404(_runs(request), pk=pk)


def _run_context(run: BillingRun) -> dict[str, Any]:
    return {
        "run": run,
        "is_running": run.status == BillingRun.Status.RUNNING,
        "invoices_url": f"{reverse('billing:invoice_list')}?billing_run={run.pk}",
    }


@right_required("billing.view_billingrun")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    return render(
        request,
        "billing/runs/detail.html",
        {
            **_run_context(run),
            "title": _("Facturation de %(period)s") % {"period": run},
            "breadcrumb": [(_("Facturation mensuelle"), reverse("billing:run_list"))],
        },
    )


@right_required("billing.view_billingrun")
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone (polled every second by HTMX while the run is going)."""
    run = _run(request, pk)
    return render(request, "billing/runs/detail.html#progress", _run_context(run))


urlpatterns = [
    path("runs/", run_list, name="run_list"),
    path("runs/start/", run_start, name="run_start"),
    path("runs/<int:pk>/", run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", run_progress, name="run_progress"),
]
