"""Finance → Encours clients: the receivables aging on a chosen date (per company or per center, with a bar chart
of the buckets and a CSV export), and Finance → Soldes créditeurs: the companies whose payments are not all
allocated. Both are one aggregate query (comptoir.payments.services.reports), whatever the number of invoices."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.lists import plain_text
from comptoir.core.navigation import Entry
from comptoir.core.views.base import right_required
from comptoir.payments.services import reports as services

MENU = [
    Entry("finance", gettext_lazy("Encours clients"), "payments:receivables", services.REPORT_RIGHT, 17,
          "hourglass-split"),
    Entry("finance", gettext_lazy("Soldes créditeurs"), "payments:credit_balances", services.REPORT_RIGHT, 18,
          "piggy-bank"),
]  # fmt: skip
ROWS_SHOWN = 200  # the page shows the largest balances; the CSV has every row


def _on(request: HttpRequest) -> tuple[datetime.date, str]:
    """The report's date (?on=YYYY-MM-DD, default today) and an error message for an unreadable one."""
    raw = request.GET.get("on", "").strip()
    today = timezone.localdate()
    if not raw:
        return today, ""
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        return today, _("Date illisible : l'encours est calculé au %(day)s.") % {"day": _short(today)}
    if not datetime.date(2000, 1, 1) <= day <= datetime.date(2999, 12, 31):
        return today, _("Date hors limites : l'encours est calculé au %(day)s.") % {"day": _short(today)}
    return day, ""


def _short(day: datetime.date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _amount(value: Decimal) -> str:
    return plain_text(value)


@right_required(services.REPORT_RIGHT)
def receivables(request: HttpRequest) -> HttpResponse:
    on, date_error = _on(request)
    group = request.GET.get("group") if request.GET.get("group") in services.GROUPS else "company"
    report = services.receivables_aging(user=request.user, organization=request.organization, on=on,  # type: ignore[arg-type, attr-defined]
                                        group=group)  # fmt: skip
    if request.GET.get("export") == "csv":
        return _csv(report)
    return render(
        request,
        "payments/reports/receivables.html",
        {
            "title": _("Encours clients"),
            "report": report,
            "rows": report.rows[:ROWS_SHOWN],
            "hidden_rows": max(len(report.rows) - ROWS_SHOWN, 0),
            "buckets": [label for _key, label, *_rest in services.BUCKETS],
            "chart": report.chart(),
            "date_error": date_error,
            "on_iso": on.isoformat(),
            "group": group,
        },
    )


def _csv(report: services.AgingReport) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    first = _("Client") if report.group == "company" else _("Centre")
    reference = _("Référence") if report.group == "company" else _("Code")
    writer.writerow([first, reference, _("Factures"), *[str(label) for _k, label, *_r in services.BUCKETS],
                     _("Total")])  # fmt: skip
    for row in report.rows:
        writer.writerow([plain_text(row.name), row.reference, row.count, *map(_amount, row.bucket_values),
                         _amount(row.total)])  # fmt: skip
    writer.writerow([_("Total"), "", report.count, *map(_amount, report.total_values), _amount(report.total)])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="encours-{report.group}-{report.on:%Y-%m-%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@right_required(services.REPORT_RIGHT)
def credit_balances(request: HttpRequest) -> HttpResponse:
    rows = services.credit_balances(user=request.user, organization=request.organization)  # type: ignore[arg-type, attr-defined]
    return render(
        request,
        "payments/reports/credit_balances.html",
        {"title": _("Soldes créditeurs"), "rows": rows, "total": sum((row.balance for row in rows), Decimal("0.00"))},
    )


urlpatterns = [
    path("reports/receivables/", receivables, name="receivables"),
    path("reports/credit-balances/", credit_balances, name="credit_balances"),
]
