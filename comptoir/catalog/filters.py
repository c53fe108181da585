"""FilterSets of the catalog's spaces and service catalog (django-filter): one definition serves the list
pages and the API. Choice querysets are callables of the request, through the tenant-scoped selectors."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import Product, ServiceType, Space
from comptoir.core import selectors as core_selectors
from comptoir.core.filters import ActiveFilter
from comptoir.core.models import Center
from comptoir.core.widgets import DataSelect


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, getattr(request, "organization", None)).order_by("name", "id")


class SpaceFilter(django_filters.FilterSet):
    center = django_filters.ModelChoiceFilter(
        label=_("Centre"), queryset=_centers, empty_label=_("Tous"), widget=DataSelect
    )
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=Space.Kind.choices, empty_label=_("Tous"))
    floor = django_filters.NumberFilter(label=_("Étage"), min_value=-5, max_value=200)
    is_bookable = ActiveFilter(label=_("Réservable"))
    is_active = ActiveFilter(label=_("Statut"), true_label=_("Actifs"), false_label=_("Désactivés"))

    class Meta:
        model = Space
        fields = ["center", "kind", "floor", "is_bookable", "is_active"]


class ProductFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=Product.Kind.choices, empty_label=_("Tous"))
    service_type = django_filters.ChoiceFilter(label=_("Service"), choices=ServiceType.choices, empty_label=_("Tous"))
    plan_type = django_filters.ChoiceFilter(
        label=_("Type de formule"), choices=Product.PlanType.choices, empty_label=_("Tous")
    )
    is_active = ActiveFilter(label=_("Statut"), true_label=_("Actifs"), false_label=_("Désactivés"))

    class Meta:
        model = Product
        fields = ["kind", "service_type", "plan_type", "is_active"]
