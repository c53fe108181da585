"""Back office forms of office pricing. They only parse the input; the pricing services validate and save."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import CenterRate, Discount, PriceGrid, PriceGridRule, ServiceType, Space
from comptoir.catalog.selectors import pricing as selectors
from comptoir.catalog.services import pricing as services
from comptoir.core.forms import ServiceModelForm, StyledFormMixin
from comptoir.core.models import Organization, Role, User
from comptoir.core.widgets import DataSelect


class DataSelectMultiple(forms.SelectMultiple):
    """A multiple select of stored data: options marked translate="no" (see DataSelect)."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if value not in (None, ""):
            option["attrs"]["translate"] = "no"
        return option


class CenterRateForm(ServiceModelForm):
    class Meta:
        model = CenterRate
        fields = services.CENTER_RATE_FIELDS
        widgets = {"price_grid": DataSelect}

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price_grid"].queryset = selectors.price_grids_for(user, organization).order_by("name", "id")
        self.fields["price_grid"].empty_label = _("Aucune grille")
        self.fields["price_per_m2"].widget.attrs.update({"step": "0.01", "min": "0", "inputmode": "decimal"})


class PriceGridForm(ServiceModelForm):
    class Meta:
        model = PriceGrid
        fields = services.PRICE_GRID_FIELDS


def _value_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (str(_("Typologie")), [(value, str(label)) for value, label in Space.Kind.choices]),
        (str(_("Service")), [(value, str(label)) for value, label in ServiceType.choices]),
    ]


class GridRuleForm(StyledFormMixin, forms.Form):
    """A rule: for a term, the number of months goes in `months`; for a typology or a service, in `value`."""

    dimension = forms.ChoiceField(label=_("Critère"), choices=PriceGridRule.Dimension.choices)
    value = forms.ChoiceField(label=_("Typologie ou service"), choices=[("", "—"), *_value_choices()], required=False)
    months = forms.IntegerField(
        label=_("Durée (mois)"), required=False, min_value=1, max_value=services.MAX_TERM_MONTHS
    )
    coefficient = forms.DecimalField(
        label=_("Coefficient"), max_digits=6, decimal_places=4, min_value=Decimal("0.0001"), max_value=Decimal("99")
    )

    def rule_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["dimension"] == PriceGridRule.Dimension.TERM:
            value = str(data["months"]) if data.get("months") is not None else ""
        else:
            value = data.get("value") or ""
        return {"dimension": data["dimension"], "value": value, "coefficient": data["coefficient"]}


class DiscountForm(ServiceModelForm):
    class Meta:
        model = Discount
        fields = [*services.DISCOUNT_FIELDS, "centers"]
        widgets = {"centers": DataSelectMultiple}

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["centers"].queryset = selectors.centers_for_pricing(user, organization).order_by("name", "id")
        self.fields["centers"].required = False
        self.fields["percent"].widget.attrs.update({"step": "0.01", "min": "0.01", "max": "100"})


class AllowancesForm(StyledFormMixin, forms.Form):
    """One field per role of the organization: the maximum percentage it may grant (empty: none)."""

    def __init__(self, *args: Any, discount: Discount, roles: list[Role], **kwargs: Any) -> None:
        current = {allowance.role_id: allowance.max_percent for allowance in discount.allowances.all()}
        super().__init__(*args, **kwargs)
        self.roles = roles
        for role in roles:
            field = forms.DecimalField(
                label=role.display_name if hasattr(role, "display_name") else role.name,
                required=False,
                min_value=Decimal("0"),
                max_value=Decimal("100"),
                decimal_places=2,
                max_digits=5,
                initial=current.get(role.pk),
                disabled=role.kind == Role.Kind.ADMINISTRATOR,
                help_text=_("L'administrateur peut accorder toute réduction.")
                if role.kind == Role.Kind.ADMINISTRATOR
                else None,
            )
            field.widget.attrs.update({"step": "0.01", "min": "0", "max": "100", "placeholder": "—"})
            self.fields[f"role_{role.pk}"] = field

    def allowances(self) -> dict[Role, Decimal | None]:
        return {
            role: self.cleaned_data.get(f"role_{role.pk}")
            for role in self.roles
            if role.kind != Role.Kind.ADMINISTRATOR
        }


class SimulatorForm(StyledFormMixin, forms.Form):
    space = forms.ModelChoiceField(label=_("Espace"), queryset=Space.objects.none(), widget=DataSelect)
    term_months = forms.IntegerField(
        label=_("Engagement (mois)"), required=False, min_value=1, max_value=services.MAX_TERM_MONTHS
    )
    service = forms.ChoiceField(
        label=_("Service"), required=False, choices=[("", _("Selon le type d'espace")), *ServiceType.choices]
    )

    def __init__(self, *args: Any, user: User, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = selectors.priced_spaces_for(user, organization)
        self.fields["space"].label_from_instance = lambda space: f"{space.center.name} — {space.name}"
        self.discounts = list(selectors.discounts_for_pricing(user, organization))
        for discount in self.discounts:
            field = forms.DecimalField(
                label=discount.name,
                required=False,
                min_value=Decimal("0.01"),
                max_value=Decimal("100"),
                decimal_places=2,
                max_digits=5,
            )
            field.widget.attrs.update({"step": "0.01", "placeholder": str(discount.percent).replace(".", ",")})
            self.fields[f"discount_{discount.pk}"] = field
        self.fields["apply"] = forms.MultipleChoiceField(
            label=_("Réductions appliquées"),
            required=False,
            choices=[(str(discount.pk), discount.name) for discount in self.discounts],
            widget=forms.CheckboxSelectMultiple,
        )

    def discount_rows(self) -> list[tuple[Discount, forms.BoundField, bool]]:
        """(discount, its percent field, whether it is ticked) for the simulator's table."""
        ticked = set(self.data.getlist("apply")) if self.is_bound and hasattr(self.data, "getlist") else set()
        return [(discount, self[f"discount_{discount.pk}"], str(discount.pk) in ticked) for discount in self.discounts]

    def applied(self) -> list[tuple[Discount, Decimal | None]]:
        chosen = set(self.cleaned_data.get("apply") or [])
        return [
            (discount, self.cleaned_data.get(f"discount_{discount.pk}"))
            for discount in self.discounts
            if str(discount.pk) in chosen
        ]
