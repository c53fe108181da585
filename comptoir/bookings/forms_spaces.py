"""Forms of « Espaces réservables »: the list's filters and « Paramètres de réservation » of one space. They only
parse the input; comptoir.bookings.services.spaces decides, and its refusals come back at the field."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.bookings.models import SpaceBooking
from comptoir.bookings.services import availability
from comptoir.bookings.services.spaces import SETTINGS_FIELDS, integer_bounds
from comptoir.catalog.models import Space
from comptoir.core.forms import ServiceModelForm
from comptoir.core.models import Center
from comptoir.core.selectors import centers_for
from comptoir.core.widgets import DataSelect

KIND_CHOICES = [(kind.value, kind.label) for kind in availability.KINDS]


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return centers_for(request.user, request.organization).order_by("name")


class SpaceSettingsFilter(django_filters.FilterSet):
    center = django_filters.ModelChoiceFilter(label=_("Centre"), queryset=_centers, empty_label=_("Tous"),
                                              widget=DataSelect)  # fmt: skip
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=KIND_CHOICES, empty_label=_("Tous"))

    class Meta:
        model = Space
        fields = ["center", "kind"]


class SpaceSettingsForm(ServiceModelForm):
    """Every setting of one space, grouped as the staff think of them."""

    class Meta:
        model = SpaceBooking
        fields = SETTINGS_FIELDS
        localized_fields = ["hour_price", "half_day_price", "day_price", "credits_per_hour"]  # "12,50" too
        widgets = {"color": forms.TextInput(attrs={"type": "color", "class": "form-control-color"})}

    fieldsets = [
        (_("Tarifs"), ["hour_price", "half_day_price", "day_price", "vat_rate"]),
        (_("Demandes"), ["auto_accept", "request_hours", "prepayment", "slot_minutes"]),
        (_("Annulation"), ["cancellation_hours"]),
        (_("Crédits"), ["credits_per_hour"]),
        (_("Affichage"), ["color"]),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("hour_price", "half_day_price", "day_price"):
            self.fields[name].help_text = _("Vide : pas de tarif pour cette durée.")
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "placeholder": "—"})
        self.fields["credits_per_hour"].widget.attrs["inputmode"] = "decimal"
        for name in ("request_hours", "cancellation_hours", "slot_minutes"):
            low, high = integer_bounds(name)
            self.fields[name].widget.attrs.update({"min": low, "max": high})
        self.fields["cancellation_hours"].help_text = _(
            "Un membre peut annuler dans l'espace client jusqu'à ce nombre d'heures avant le début (0 : jusqu'au "
            "début). Le staff peut toujours annuler."
        )
        self.fields["slot_minutes"].help_text = _("De 5 à 240 minutes : le pas des créneaux proposés à la réservation.")
        self.fields["color"].help_text = _("La couleur qui repère cet espace.")

    def service_data(self, *, only_changed: bool = False) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS if name in self.cleaned_data}
