"""Back office forms of the catalog's spaces and service catalog (pricing forms: forms_pricing.py).

Forms only parse the input's shape; the services validate and save, and their DomainError is shown at
the faulty field (`add_domain_error`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import Product, Space
from comptoir.catalog.services import products as product_services
from comptoir.catalog.services import spaces as space_services
from comptoir.core import selectors as core_selectors
from comptoir.core.forms import ServiceModelForm, StyledFormMixin
from comptoir.core.models import Organization, User
from comptoir.core.widgets import DataSelect


# --------------------------------------------------------------------------------------------------
# Spaces
# --------------------------------------------------------------------------------------------------
class SpaceForm(ServiceModelForm):
    amenities = forms.MultipleChoiceField(
        label=_("Équipements"),
        choices=space_services.AMENITY_SUGGESTIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    other_amenities = forms.CharField(
        label=_("Autres équipements"),
        required=False,
        max_length=1000,
        help_text=_("Séparés par des virgules, ex. « Machine à café, Casiers »."),
    )

    class Meta:
        model = Space
        fields = [name for name in space_services.SPACE_FIELDS if name != "amenities"]
        widgets = {"center": DataSelect, "description": forms.Textarea(attrs={"rows": 4})}
        localized_fields = ["area_m2"]  # "18,5" as well as "18.5"

    fieldsets = [
        (_("Espace"), ["center", "name", "kind", "floor", "is_bookable", "is_active"]),
        (_("Caractéristiques"), ["area_m2", "capacity", "description"]),
        (_("Équipements"), ["amenities", "other_amenities"]),
    ]

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = core_selectors.centers_for(user, organization).order_by("name", "id")
        self.fields["center"].empty_label = None
        self.fields["area_m2"].help_text = _("Obligatoire pour un bureau.")
        current = list(self.instance.amenities or []) if self.instance.pk else []
        keys = {key for key, _label in space_services.AMENITY_SUGGESTIONS}
        if not self.is_bound:
            self.initial["amenities"] = [item for item in current if item in keys]
            self.initial["other_amenities"] = ", ".join(item for item in current if item not in keys)

    def amenity_list(self) -> list[str]:
        chosen = list(self.cleaned_data.get("amenities") or [])
        others = [item.strip() for item in (self.cleaned_data.get("other_amenities") or "").split(",")]
        return chosen + [item for item in others if item]

    def service_data(self, *, only_changed: bool = False) -> dict[str, Any]:
        data = super().service_data(only_changed=only_changed)
        data.pop("other_amenities", None)
        data.pop("amenities", None)
        amenities = self.amenity_list()
        if not only_changed or amenities != list(self.instance.amenities or []):
            data["amenities"] = amenities
        return data


class SpacePhotoForm(StyledFormMixin, forms.Form):
    # A plain file field: the service checks the image (Pillow, format, size) for the UI and the API alike.
    image = forms.FileField(
        label=_("Photo"),
        help_text=_("JPEG, PNG ou WebP, 5 Mo au plus."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    caption = forms.CharField(label=_("Légende"), max_length=200, required=False)


# --------------------------------------------------------------------------------------------------
# Service catalog
# --------------------------------------------------------------------------------------------------
class ProductForm(ServiceModelForm):
    class Meta:
        model = Product
        fields = product_services.PRODUCT_FIELDS
        localized_fields = ["unit_price", "credits", "booking_discount"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "included_services": forms.Textarea(attrs={"rows": 3}),
        }

    fieldsets = [
        (_("Article"), ["kind", "name", "service_type", "description", "is_active"]),
        (_("Prix et comptabilité"), ["unit_price", "unit", "vat_rate", "vat_exemption_reason", "accounting_code"]),
        (
            _("Formule"),
            ["plan_type", "credits", "credit_period", "validity_days", "booking_discount", "included_services"],
        ),
        (_("Centres"), ["available_everywhere"]),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan_type"].help_text = _("Pour une formule : abonnement, pack de crédits ou domiciliation.")
        self.fields["credits"].help_text = _("Abonnement : crédits par période ; pack : crédits du pack.")
        self.fields["validity_days"].help_text = _("Pack : nombre de jours pendant lesquels les crédits valent.")
        self.fields["included_services"].help_text = _("Domiciliation : les services inclus, un par ligne.")
        self.fields["booking_discount"].required = False  # empty = no discount

    def clean_booking_discount(self) -> Decimal:
        return self.cleaned_data.get("booking_discount") or Decimal("0.00")


class CenterPriceForm(StyledFormMixin, forms.Form):
    """One center's line of a product's "per center" table."""

    center_id = forms.IntegerField(widget=forms.HiddenInput)
    is_available = forms.BooleanField(label=_("Disponible"), required=False)
    unit_price = forms.DecimalField(
        label=_("Prix HT dans ce centre"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        localize=True,
    )


CenterPriceFormSet = forms.formset_factory(CenterPriceForm, extra=0, max_num=500, validate_max=True)
