"""FilterSets of invoices and consumptions (django-filter): one definition serves the back office lists and the API.

Choice querysets are callables of the request, so they go through the tenant-scoped selectors of the
organization the request works in (`request.organization`). The company and billing run filters take an id
(a hidden input on the list pages: thousands of companies do not fit in a select).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.billing.models import BillingRun, Consumption, Invoice, InvoiceLine
from comptoir.billing.selectors import runs_for
from comptoir.core import selectors as core_selectors
from comptoir.core.forms import date_input
from comptoir.core.models import Center
from comptoir.core.widgets import DataSelect
from comptoir.crm.models import Company
from comptoir.crm.selectors import companies_for

SEARCH_MAX_LENGTH = 100
MAX_SEARCH_TERMS = 6
_AMOUNT = re.compile(r"^-?\d{1,3}(?:[ \u00a0\u202f.]?\d{3})*(?:[.,]\d{1,2})?$|^-?\d+(?:[.,]\d{1,2})?$")


def _organization(request: Any) -> Any:
    return getattr(request, "organization", None) if request is not None else None


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, _organization(request)).order_by("name", "id")


def _companies(request: Any) -> QuerySet[Company]:
    if request is None:
        return Company.objects.none()
    return companies_for(request.user, _organization(request))


def _runs(request: Any) -> QuerySet[BillingRun]:
    if request is None:
        return BillingRun.objects.none()
    return runs_for(request.user, _organization(request))


def parse_amount(value: str) -> Decimal | None:
    """A typed amount ("1200", "1 200,50", "1200.5", "1 200,50 €"), or None when the text is not one."""
    text = value.replace("€", "").strip()
    if not text or not _AMOUNT.match(text):
        return None
    compact = re.sub(r"[ \u00a0\u202f]", "", text)
    if "," in compact:
        compact = compact.replace(".", "").replace(",", ".")
    elif compact.count(".") == 1 and len(compact.rsplit(".", 1)[1]) == 3:
        compact = compact.replace(".", "")  # "1.200": a thousands separator
    try:
        return Decimal(compact)
    except InvalidOperation:
        return None


def search_invoices(queryset: QuerySet[Invoice], value: str) -> QuerySet[Invoice]:
    """Number or reference, client name, the exact amount incl. VAT, or the description of a line (the service).

    Several words must each be found (in any of those places); a text that reads as an amount ("1 200,50")
    also finds the documents of exactly that total incl. VAT."""
    value = " ".join(value.replace("\x00", "").split())[:SEARCH_MAX_LENGTH]
    if not value:
        return queryset
    amount = parse_amount(value)
    conditions = Q()
    for term in value.split()[:MAX_SEARCH_TERMS]:
        lines = InvoiceLine.objects.filter(invoice_id=OuterRef("pk"), description__icontains=term)
        conditions &= Q(reference__icontains=term) | Q(company__name__icontains=term) | Q(Exists(lines))
    if amount is not None:
        conditions |= Q(total_incl_vat=amount)
    return queryset.filter(conditions)


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Statut"), choices=Invoice.Status.choices, empty_label=_("Tous"))
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=Invoice.Kind.choices, empty_label=_("Tous"))
    center = django_filters.ModelChoiceFilter(
        label=_("Centre"), queryset=_centers, empty_label=_("Tous"), widget=DataSelect
    )
    company = django_filters.ModelChoiceFilter(label=_("Client"), queryset=_companies, widget=forms.HiddenInput)
    billing_run = django_filters.ModelChoiceFilter(
        label=_("Facturation mensuelle"), queryset=_runs, widget=forms.HiddenInput
    )
    date_from = django_filters.DateFilter(
        label=_("Émise du"), field_name="issue_date", lookup_expr="gte", widget=date_input()
    )
    date_to = django_filters.DateFilter(label=_("au"), field_name="issue_date", lookup_expr="lte", widget=date_input())
    q = django_filters.CharFilter(label=_("Rechercher"), method="filter_search", max_length=SEARCH_MAX_LENGTH)

    class Meta:
        model = Invoice
        fields = ["status", "kind", "center", "company", "billing_run", "date_from", "date_to", "q"]

    def filter_search(self, queryset: QuerySet[Invoice], name: str, value: str) -> QuerySet[Invoice]:
        return search_invoices(queryset, value)


class ConsumptionFilter(django_filters.FilterSet):
    BILLED_CHOICES = [("", _("Toutes")), ("true", _("Facturées")), ("false", _("À facturer"))]

    center = django_filters.ModelChoiceFilter(
        label=_("Centre"), queryset=_centers, empty_label=_("Tous"), widget=DataSelect
    )
    company = django_filters.ModelChoiceFilter(label=_("Entreprise"), queryset=_companies, widget=forms.HiddenInput)
    billed = django_filters.BooleanFilter(
        label=_("Facturation"),
        field_name="invoice",
        lookup_expr="isnull",
        exclude=True,
        widget=forms.Select(choices=BILLED_CHOICES),
    )
    date_from = django_filters.DateFilter(label=_("Du"), field_name="date", lookup_expr="gte", widget=date_input())
    date_to = django_filters.DateFilter(label=_("Au"), field_name="date", lookup_expr="lte", widget=date_input())

    class Meta:
        model = Consumption
        fields = ["center", "company", "billed", "date_from", "date_to"]
