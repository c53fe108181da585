"""Forms and filters of « Formules et crédits » (a company's tab) and « Formules attribuées » (the list): they
only parse the input; comptoir.bookings.services.credits decides."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.bookings.models import PlanAssignment
from comptoir.catalog.models import Product
from comptoir.core.forms import StyledFormMixin, date_input
from comptoir.crm.models import Company, Contact


def plans_of(organization: Any) -> QuerySet[Product]:
    """The organization's plans on offer (catalog products of kind « Formule »)."""
    return Product.objects.filter(organization=organization, kind=Product.Kind.PLAN, is_active=True).order_by(
        "name", "id"
    )


class _MemberField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return str(obj)


class AssignPlanForm(StyledFormMixin, forms.Form):
    """« Attribuer une formule »: a plan, for the whole company or one member, from a day."""

    plan = forms.ModelChoiceField(label=_("Formule"), queryset=Product.objects.none())
    contact = _MemberField(label=_("Membre"), queryset=Contact.objects.none(), required=False,
                           empty_label=_("Toute l'entreprise"))  # fmt: skip
    starts_on = forms.DateField(label=_("Début"), widget=date_input())
    ends_on = forms.DateField(label=_("Fin"), widget=date_input(), required=False,
                              help_text=_("Vide : sans fin (un pack dure sa validité)."))  # fmt: skip

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans_of(company.organization_id)
        self.fields["contact"].queryset = company.contacts.order_by("last_name", "first_name", "id")

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in ("plan", "contact", "starts_on", "ends_on")}


class GestureForm(StyledFormMixin, forms.Form):
    """« Offrir des crédits »: a commercial gesture, for the company or one member, valid some days."""

    amount = forms.DecimalField(label=_("Crédits"), min_value=0, max_digits=10, decimal_places=2,
                                widget=forms.NumberInput(attrs={"step": "0.5", "min": "0"}))  # fmt: skip
    contact = _MemberField(label=_("Membre"), queryset=Contact.objects.none(), required=False,
                           empty_label=_("Toute l'entreprise"))  # fmt: skip
    days = forms.IntegerField(label=_("Validité (jours)"), min_value=1, max_value=3660, initial=365)
    note = forms.CharField(label=_("Motif"), max_length=255, required=False,
                           widget=forms.TextInput(attrs={"placeholder": _("Geste commercial")}))  # fmt: skip

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = company.contacts.order_by("last_name", "first_name", "id")

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in ("amount", "contact", "days", "note")}


class EndPlanForm(StyledFormMixin, forms.Form):
    """« Terminer »: no credit period starts after this day (today by default)."""

    ends_on = forms.DateField(label=_("Dernier jour"), widget=date_input(), required=False)


class PlanAssignmentFilter(django_filters.FilterSet):
    """The filters of « Formules attribuées »."""

    status = django_filters.ChoiceFilter(label=_("Statut"), choices=PlanAssignment.Status.choices,
                                         empty_label=_("Tous les statuts"))  # fmt: skip
    plan = django_filters.ModelChoiceFilter(label=_("Formule"), queryset=lambda request: Product.objects.filter(
        organization=getattr(request, "organization", None), kind=Product.Kind.PLAN).order_by("name", "id"),
        empty_label=_("Toutes les formules"))  # fmt: skip
    plan_type = django_filters.ChoiceFilter(label=_("Type"), field_name="plan__plan_type",
                                            choices=Product.PlanType.choices, empty_label=_("Tous les types"))  # fmt: skip
    holder = django_filters.ChoiceFilter(
        label=_("Titulaire"), method="filter_holder", empty_label=_("Entreprise ou membre"),
        choices=[("company", _("Toute l'entreprise")), ("member", _("Un membre"))],
    )  # fmt: skip
    running_on = django_filters.DateFilter(label=_("En cours le"), method="filter_running_on", widget=date_input())

    class Meta:
        model = PlanAssignment
        fields: list[str] = []

    def filter_holder(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "company":
            return queryset.filter(contact=None)
        if value == "member":
            return queryset.filter(contact__isnull=False)
        return queryset

    def filter_running_on(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return (
            queryset.filter(starts_on__lte=value)
            .filter(Q(ends_on=None) | Q(ends_on__gte=value))
            .exclude(status=PlanAssignment.Status.CANCELLED)
        )
