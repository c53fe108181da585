"""API list filters of the CRM (django-filter); choices of related objects go through the selectors."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from comptoir.core import selectors as core_selectors
from comptoir.core.api.filters import TEXT_MAX_LENGTH
from comptoir.core.models import Center
from comptoir.crm import selectors
from comptoir.crm.models import Action, Activity, Company, Contact, Note, Opportunity, phone_digits


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, getattr(request, "organization", None))


def _companies(request: Any) -> QuerySet[Company]:
    if request is None:
        return Company.objects.none()
    return selectors.companies_for(request.user, getattr(request, "organization", None))


class CompanyFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Company.Kind.choices, help_text="prospect or client.")
    status = django_filters.ChoiceFilter(choices=Company.Status.choices, help_text="active, prospect, inactive...")
    center = django_filters.ModelChoiceFilter(queryset=_centers, help_text="Id of the company's center.")
    archived = django_filters.BooleanFilter(
        field_name="is_archived", help_text="true: archived companies only; false: not archived ones."
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=TEXT_MAX_LENGTH,
        help_text="Part of the name, the e-mail or the phone number, or the reference (PR-/CL-) or SIRET.",
    )

    class Meta:
        model = Company
        fields = ["kind", "status", "center", "archived", "search"]

    def filter_search(self, queryset: QuerySet[Company], name: str, value: str) -> QuerySet[Company]:
        value = value.replace("\x00", "").strip()
        if not value:
            return queryset
        condition = Q(name__icontains=value) | Q(email__icontains=value)
        compact = value.replace(" ", "").replace(".", "").upper()
        if compact.isdigit():
            condition |= Q(siret=compact) | Q(siren=compact)
        digits = phone_digits(value)
        if len(digits) >= 2 and len(digits) * 2 >= len(compact.lstrip("+")):
            condition |= Q(phone_digits__contains=digits)
        prefix, _dash, number = compact.partition("-")
        if prefix in ("PR", "CL") and number.isdigit() and len(number) <= 9:
            kind = Company.Kind.PROSPECT if prefix == "PR" else Company.Kind.CLIENT
            condition |= Q(kind=kind, number=int(number))
        return queryset.filter(condition)


class ContactFilter(django_filters.FilterSet):
    company = django_filters.ModelChoiceFilter(queryset=_companies, help_text="Id of the members' company.")
    is_active = django_filters.BooleanFilter(help_text="true: active members; false: deactivated ones.")
    search = django_filters.CharFilter(
        method="filter_search", max_length=TEXT_MAX_LENGTH, help_text="Part of the name or of the e-mail."
    )

    class Meta:
        model = Contact
        fields = ["company", "is_active", "search"]

    def filter_search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        value = value.replace("\x00", "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(last_name__icontains=value) | Q(first_name__icontains=value) | Q(email__icontains=value)
        )


class _CompanyScoped(django_filters.FilterSet):
    company = django_filters.ModelChoiceFilter(queryset=_companies, help_text="Id of the company.")


class OpportunityFilter(_CompanyScoped):
    stage = django_filters.ChoiceFilter(choices=Opportunity.Stage.choices, help_text="Stage of the pipeline.")

    class Meta:
        model = Opportunity
        fields = ["company", "stage"]


class ActivityFilter(_CompanyScoped):
    status = django_filters.ChoiceFilter(choices=Activity.Status.choices, help_text="planned or done.")

    class Meta:
        model = Activity
        fields = ["company", "status"]


class NoteFilter(_CompanyScoped):
    class Meta:
        model = Note
        fields = ["company"]


class ActionFilter(_CompanyScoped):
    is_done = django_filters.BooleanFilter(
        field_name="completed_at", lookup_expr="isnull", exclude=True, help_text="true: done; false: to do."
    )

    class Meta:
        model = Action
        fields = ["company", "is_done"]
