"""FilterSets of the core app (django-filter): one definition serves the list pages and the API.

Choice querysets are callables of the request, so they go through the tenant-scoped selectors of the
organization the request works in (`request.organization`, set by the session or the API token).
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core import selectors
from comptoir.core.models import ApiToken, AuditEntry, Center, LegalEntity, Role, StaffMembership, User


def _organization(request: Any) -> Any:
    return getattr(request, "organization", None) if request is not None else None


def _legal_entities(request: Any) -> QuerySet[LegalEntity]:
    if request is None:
        return LegalEntity.objects.none()
    return selectors.legal_entities_for(request.user, _organization(request)).order_by("name")


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return selectors.centers_for(request.user, _organization(request)).order_by("name", "id")


def _roles(request: Any) -> QuerySet[Role]:
    if request is None:
        return Role.objects.none()
    return selectors.roles_for(request.user, _organization(request)).order_by("id")


def _journal_actors(request: Any) -> QuerySet[User]:
    """The organization's staff (present and past), for the journal's "who" filter."""
    if request is None:
        return User.objects.none()
    staff = selectors.staff_for(request.user, _organization(request))
    return User.objects.filter(pk__in=staff.values("user_id")).order_by("last_name", "first_name", "email")


class ActiveFilter(django_filters.BooleanFilter):
    """Oui / Non / Tous as a select; anything else is ignored."""

    def __init__(self, *args: Any, true_label: Any = None, false_label: Any = None, **kwargs: Any) -> None:
        choices = [("", _("Tous")), ("true", true_label or _("Oui")), ("false", false_label or _("Non"))]
        kwargs.setdefault("widget", forms.Select(choices=choices))
        super().__init__(*args, **kwargs)


class CenterFilter(django_filters.FilterSet):
    legal_entity = django_filters.ModelChoiceFilter(
        label=_("Entité juridique"), queryset=_legal_entities, empty_label=_("Toutes")
    )
    is_active = ActiveFilter(label=_("Statut"), true_label=_("Actifs"), false_label=_("Inactifs"))

    class Meta:
        model = Center
        fields = ["legal_entity", "is_active"]


class LegalEntityFilter(django_filters.FilterSet):
    is_active = ActiveFilter(label=_("Statut"), true_label=_("Actives"), false_label=_("Inactives"))

    class Meta:
        model = LegalEntity
        fields = ["is_active"]


class StaffFilter(django_filters.FilterSet):
    role = django_filters.ModelChoiceFilter(label=_("Rôle"), queryset=_roles, empty_label=_("Tous"))
    center = django_filters.ModelChoiceFilter(
        label=_("Centre"), queryset=_centers, method="filter_center", empty_label=_("Tous")
    )
    is_active = ActiveFilter(label=_("Accès"), true_label=_("Actif"), false_label=_("Suspendu"))

    class Meta:
        model = StaffMembership
        fields = ["role", "center", "is_active"]

    def filter_center(self, queryset: QuerySet[StaffMembership], name: str, value: Center | None) -> QuerySet:
        """Staff who may work in this center: those limited to it, and those not limited to any center."""
        if value is None:
            return queryset
        through = StaffMembership.centers.through.objects.filter(staffmembership_id=OuterRef("pk"))
        return queryset.filter(Q(Exists(through.filter(center_id=value.pk))) | ~Q(Exists(through)))


class ApiTokenFilter(django_filters.FilterSet):
    STATUS_CHOICES = [("active", _("Actifs")), ("revoked", _("Révoqués")), ("expired", _("Expirés"))]

    status = django_filters.ChoiceFilter(
        label=_("Statut"), choices=STATUS_CHOICES, method="filter_status", empty_label=_("Tous")
    )

    class Meta:
        model = ApiToken
        fields = ["status"]

    def filter_status(self, queryset: QuerySet[ApiToken], name: str, value: str) -> QuerySet[ApiToken]:
        now = timezone.now()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if value == "active":
            return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
        return queryset


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class JournalFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(
        label=_("Action"),
        method="filter_action",
        widget=forms.TextInput(attrs={"placeholder": _("ex. center.updated ou center.")}),
    )
    actor = django_filters.ModelChoiceFilter(label=_("Auteur"), queryset=_journal_actors, empty_label=_("Tous"))
    date_from = django_filters.DateFilter(
        label=_("Du"), method="filter_date_from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = django_filters.DateFilter(
        label=_("Au"), method="filter_date_to", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "date_from", "date_to"]

    def filter_action(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        """An exact action ("center.updated"), or every action of an object kind ("center" or "center.")."""
        value = value.strip()
        if not value:
            return queryset
        if "." in value.rstrip("."):
            return queryset.filter(action=value)
        return queryset.filter(action__startswith=value.rstrip(".") + ".")

    def filter_date_from(self, queryset: QuerySet[AuditEntry], name: str, value: datetime.date) -> QuerySet:
        if not _in_range(value):
            return queryset
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_date_to(self, queryset: QuerySet[AuditEntry], name: str, value: datetime.date) -> QuerySet:
        if not _in_range(value):
            return queryset
        return queryset.filter(created_at__lt=_start_of(value + datetime.timedelta(days=1)))


def _in_range(day: datetime.date) -> bool:
    """Dates at the edges of the calendar (01/01/0001, 31/12/9999) cannot shift to UTC: ignore them."""
    return 1 < day.year < 9999
