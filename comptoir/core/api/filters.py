"""API list filters: the back office's FilterSets (comptoir.core.filters), plus what only the API needs
(text search, city, the journal's object). Choices of related objects are tenant-scoped there.

`api_help` gives the OpenAPI description of an inherited filter (its label is the UI's, in French).
"""

from __future__ import annotations

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.core import filters as core_filters
from comptoir.core.models import AuditEntry, Center, LegalEntity, StaffMembership

TEXT_MAX_LENGTH = 200


class CenterFilter(core_filters.CenterFilter):
    api_help = {
        "legal_entity": "Id of the legal entity that invoices the center.",
        "is_active": "true: active centers; false: deactivated ones.",
    }
    city = django_filters.CharFilter(lookup_expr="iexact", max_length=TEXT_MAX_LENGTH, help_text="City (any case).")
    search = django_filters.CharFilter(
        method="filter_search", max_length=TEXT_MAX_LENGTH, help_text="Part of the name or of the code."
    )

    class Meta(core_filters.CenterFilter.Meta):
        fields = [*core_filters.CenterFilter.Meta.fields, "city", "search"]

    def filter_search(self, queryset: QuerySet[Center], name: str, value: str) -> QuerySet[Center]:
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class LegalEntityFilter(core_filters.LegalEntityFilter):
    api_help = {"is_active": "true: active legal entities; false: deactivated ones."}
    search = django_filters.CharFilter(
        method="filter_search", max_length=TEXT_MAX_LENGTH, help_text="Part of the name, or the SIREN / SIRET."
    )

    class Meta(core_filters.LegalEntityFilter.Meta):
        fields = [*core_filters.LegalEntityFilter.Meta.fields, "search"]

    def filter_search(self, queryset: QuerySet[LegalEntity], name: str, value: str) -> QuerySet[LegalEntity]:
        compact = value.replace(" ", "")
        return queryset.filter(Q(name__icontains=value) | Q(siren=compact) | Q(siret=compact))


class StaffFilter(core_filters.StaffFilter):
    api_help = {
        "role": "Id of the role.",
        "center": "Id of a center: staff limited to it, and staff not limited to any center.",
        "is_active": "true: staff with access; false: deactivated staff.",
    }
    search = django_filters.CharFilter(
        method="filter_search", max_length=TEXT_MAX_LENGTH, help_text="Part of the e-mail, first or last name."
    )

    class Meta(core_filters.StaffFilter.Meta):
        fields = [*core_filters.StaffFilter.Meta.fields, "search"]

    def filter_search(self, queryset: QuerySet[StaffMembership], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(user__email__icontains=value) | Q(user__first_name__icontains=value) | Q(user__last_name__icontains=value)
        )


class AuditEntryFilter(core_filters.JournalFilter):
    api_help = {
        "action": 'An action ("center.updated"), or every action on a kind of object ("center").',
        "actor": "Id of the user who made the change.",
        "date_from": "Entries of this day (YYYY-MM-DD, server time zone) and later.",
        "date_to": "Entries of this day (YYYY-MM-DD, server time zone) and earlier.",
    }
    object_type = django_filters.CharFilter(
        method="filter_object_type",
        max_length=100,
        validators=[
            RegexValidator(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$", _('Format attendu : "application.modèle".'))
        ],
        help_text='Model of the object, "app_label.model" (e.g. core.center).',
    )
    object_id = django_filters.CharFilter(max_length=64, help_text="Id of the object (with object_type).")

    class Meta(core_filters.JournalFilter.Meta):
        fields = [*core_filters.JournalFilter.Meta.fields, "object_type", "object_id"]

    def filter_object_type(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        app_label, _dot, model = value.partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)
