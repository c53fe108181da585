"""Forms and the list filter of contracts and general terms. Forms parse the input; services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import Product, ServiceType, Space
from comptoir.core import selectors as core_selectors
from comptoir.core.forms import StyledFormMixin, date_input
from comptoir.core.models import Center
from comptoir.core.widgets import DataSelect
from comptoir.crm.models import Contact
from comptoir.sales.models import Contract, ContractLine, PaymentMethod, Terms


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, getattr(request, "organization", None)).order_by("name", "id")


class ContractFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Statut"), choices=Contract.Status.choices, empty_label=_("Tous"))
    center = django_filters.ModelChoiceFilter(
        label=_("Centre"), queryset=_centers, empty_label=_("Tous"), widget=DataSelect
    )
    service_type = django_filters.ChoiceFilter(label=_("Service"), choices=ServiceType.choices, empty_label=_("Tous"))

    class Meta:
        model = Contract
        fields = ["status", "center", "service_type"]


class ContractOptionsForm(StyledFormMixin, forms.Form):
    """The conditions chosen when the contract is generated (the rest comes from the offer)."""

    notice_months = forms.IntegerField(label=_("Préavis (mois)"), min_value=0, max_value=24, initial=3)
    renewal = forms.ChoiceField(label=_("Reconduction"), choices=Contract.Renewal.choices,
                                initial=Contract.Renewal.TACIT)  # fmt: skip
    billing_day = forms.IntegerField(label=_("Jour de facturation"), min_value=1, max_value=28, initial=1)
    payment_method = forms.ChoiceField(
        label=_("Mode de paiement"),
        choices=[("", _("Celui de l'entreprise")), *PaymentMethod.choices],
        required=False,
    )


class SignerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return f"{obj.full_name} <{obj.email}>"


class SendForSignatureForm(StyledFormMixin, forms.Form):
    signer = SignerChoiceField(label=_("Signataire"), queryset=Contact.objects.none(), widget=DataSelect,
                               empty_label=None)  # fmt: skip

    def __init__(self, *args: Any, signers: list[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signer"].queryset = Contact.objects.filter(pk__in=[contact.pk for contact in signers])  # type: ignore[attr-defined]


class NoticeForm(StyledFormMixin, forms.Form):
    notice_date = forms.DateField(label=_("Date du préavis"), widget=date_input())


class PaymentMethodForm(StyledFormMixin, forms.Form):
    payment_method = forms.ChoiceField(
        label=_("Mode de paiement"), choices=[("", _("Celui de l'entreprise")), *PaymentMethod.choices], required=False
    )


class PauseForm(StyledFormMixin, forms.Form):
    start_date = forms.DateField(label=_("Premier jour de la pause"), widget=date_input())
    end_date = forms.DateField(label=_("Dernier jour de la pause"), widget=date_input())
    reason = forms.CharField(label=_("Motif"), max_length=255, required=False)


class CancelForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Motif"), max_length=255, required=False)


class LineChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: ContractLine) -> str:
        return obj.description


class SpaceLineChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ContractLine) -> str:
        return obj.description


class AmendForm(StyledFormMixin, forms.Form):
    effective_date = forms.DateField(label=_("Date d'effet"), widget=date_input())
    product = forms.ModelChoiceField(label=_("Ajouter un article"), queryset=Product.objects.none(), required=False,
                                     widget=DataSelect)  # fmt: skip
    quantity = forms.DecimalField(label=_("Quantité"), min_value=Decimal("0.01"), max_digits=10, decimal_places=2, initial=1,
                                  required=False)  # fmt: skip
    remove_lines = LineChoiceField(label=_("Retirer des lignes"), queryset=ContractLine.objects.none(), required=False,
                                   widget=forms.CheckboxSelectMultiple)  # fmt: skip
    change_line = SpaceLineChoiceField(label=_("Changer d'espace : ligne"), queryset=ContractLine.objects.none(),
                                       required=False, widget=DataSelect)  # fmt: skip
    new_space = forms.ModelChoiceField(label=_("Nouvel espace"), queryset=Space.objects.none(), required=False,
                                       widget=DataSelect)  # fmt: skip

    def __init__(self, *args: Any, contract: Contract, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        open_lines = contract.lines.filter(end_date__isnull=True).order_by("position", "id")
        self.fields["remove_lines"].queryset = open_lines  # type: ignore[attr-defined]
        self.fields["change_line"].queryset = open_lines.filter(space__isnull=False)  # type: ignore[attr-defined]
        self.fields["product"].queryset = Product.objects.filter(  # type: ignore[attr-defined]
            organization_id=contract.organization_id,
            is_active=True,
            kind__in=[Product.Kind.OPTION, Product.Kind.MAIN_SERVICE, Product.Kind.CONSUMPTION],
        ).order_by("kind", "name")
        self.fields["new_space"].queryset = Space.objects.filter(  # type: ignore[attr-defined]
            center_id=contract.center_id, is_active=True
        ).order_by("floor", "name")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("change_line")) != bool(cleaned.get("new_space")):
            self.add_error("new_space", _("Choisissez la ligne et le nouvel espace."))
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        add = [{"product": data["product"], "quantity": data.get("quantity") or 1}] if data.get("product") else []
        return {
            "effective_date": data["effective_date"],
            "add": add,
            "remove_line_ids": [line.pk for line in data.get("remove_lines") or []],
            "change_space": (data["change_line"].pk, data["new_space"]) if data.get("change_line") else None,
        }


class TermsForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("Titre"), max_length=200, initial=_("Conditions générales de vente"))
    body = forms.CharField(label=_("Texte"), widget=forms.Textarea(attrs={"rows": 20}))

    def __init__(self, *args: Any, current: Terms | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if current is not None and not self.is_bound:
            self.initial.update({"title": current.title, "body": current.body})
