"""FilterSets of the CRM (django-filter): one definition serves the list pages and the API.

Choice querysets are callables of the request, so they go through the tenant-scoped selectors of the
organization the request works in.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.core import selectors as core_selectors
from comptoir.core.filters import ActiveFilter
from comptoir.core.models import Center, User
from comptoir.core.widgets import DataSelect
from comptoir.crm import selectors
from comptoir.crm.models import Company, JobFunction, MarketingSource

ARCHIVED_ONLY, ARCHIVED_ALL = "only", "all"


def _organization(request: Any) -> Any:
    return getattr(request, "organization", None) if request is not None else None


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, _organization(request)).order_by("name", "id")


def staff_users(request: Any) -> QuerySet[User]:
    """The organization's active staff (account managers)."""
    if request is None:
        return User.objects.none()
    staff = core_selectors.staff_for(request.user, _organization(request)).filter(is_active=True)
    return User.objects.filter(pk__in=staff.values("user_id")).order_by("last_name", "first_name", "email")


def account_managers(request: Any) -> QuerySet[User]:
    """The staff who manage at least one of the organization's companies: the filter's choices stay short
    even for an operator with thousands of staff members."""
    if request is None:
        return User.objects.none()
    managed = Company.objects.filter(organization=_organization(request), account_manager__isnull=False)
    return staff_users(request).filter(pk__in=managed.values("account_manager_id"))


def _sources(request: Any) -> QuerySet[MarketingSource]:
    if request is None:
        return MarketingSource.objects.none()
    return MarketingSource.objects.filter(organization=_organization(request)).order_by("name", "id")


class CompanyFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=Company.Kind.choices, empty_label=_("Tous"))
    status = django_filters.ChoiceFilter(label=_("Statut"), choices=Company.Status.choices, empty_label=_("Tous"))
    center = django_filters.ModelChoiceFilter(
        label=_("Centre"), queryset=_centers, empty_label=_("Tous"), widget=DataSelect
    )
    account_manager = django_filters.ModelChoiceFilter(
        label=_("Chargé de compte"), queryset=account_managers, empty_label=_("Tous"), widget=DataSelect
    )
    marketing_source = django_filters.ModelChoiceFilter(
        label=_("Source"), queryset=_sources, empty_label=_("Toutes"), widget=DataSelect
    )
    archived = django_filters.ChoiceFilter(
        label=_("Archivage"),
        choices=[(ARCHIVED_ONLY, _("Archivées")), (ARCHIVED_ALL, _("Toutes"))],
        empty_label=_("Non archivées"),
        method="filter_archived",
    )

    class Meta:
        model = Company
        fields = ["kind", "status", "center", "account_manager", "marketing_source", "archived"]

    def filter_archived(self, queryset: QuerySet[Company], name: str, value: str) -> QuerySet[Company]:
        if value == ARCHIVED_ONLY:
            return queryset.filter(is_archived=True)
        return queryset  # "all"; the list itself hides archived companies unless asked


class JobFunctionFilter(django_filters.FilterSet):
    is_active = ActiveFilter(label=_("Statut"), true_label=_("Actives"), false_label=_("Inactives"))

    class Meta:
        model = JobFunction
        fields = ["is_active"]


def job_functions(request: Any) -> QuerySet[JobFunction]:
    if request is None:
        return JobFunction.objects.none()
    return selectors.job_functions_for(request.user, _organization(request)).filter(is_active=True)
