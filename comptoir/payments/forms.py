"""Forms of the payments back office, and the FilterSet of payments shared by the list page and the API.

Forms parse the input; the services decide (comptoir.payments.services.payments) and their refusals come back at
the field through comptoir.core.forms.add_domain_error. Amounts are typed as text ("1 234,56") and read by the
service's `amount_of`, so a form and the API refuse the same amounts with the same messages.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from comptoir.billing.filters import parse_amount
from comptoir.billing.models import Invoice
from comptoir.core.errors import ValidationFailed
from comptoir.core.forms import StyledFormMixin, date_input
from comptoir.core.money import format_money
from comptoir.core.widgets import DataSelect
from comptoir.crm.models import Company
from comptoir.crm.selectors import companies_for
from comptoir.payments.models import Method, Payment
from comptoir.payments.services.payments import amount_of

SEARCH_MAX_LENGTH = 100
MAX_SEARCH_TERMS = 6


def amount_input(value: Decimal | None) -> str:
    """An amount as the user types it in the active language ("1234,56" in French)."""
    if value is None:
        return ""
    return formats.localize_input(value.quantize(Decimal("0.01")))


def _amount_widget(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


# --------------------------------------------------------------------------------------------------
# The list's filters (also the API's)
# --------------------------------------------------------------------------------------------------
def _companies(request: Any) -> QuerySet[Company]:
    if request is None:
        return Company.objects.none()
    return companies_for(request.user, getattr(request, "organization", None))


def search_payments(queryset: QuerySet[Payment], value: str) -> QuerySet[Payment]:
    """Client name, reference, payer, the number of an invoice it paid, or the exact amount ("1 200,50")."""
    value = " ".join(value.replace("\x00", "").split())[:SEARCH_MAX_LENGTH]
    if not value:
        return queryset
    conditions = Q()
    for term in value.split()[:MAX_SEARCH_TERMS]:
        conditions &= (
            Q(company__name__icontains=term)
            | Q(reference__icontains=term)
            | Q(payer__icontains=term)
            | Q(pk__in=Payment.objects.filter(allocations__invoice__reference__icontains=term).values("pk"))
        )
    amount = parse_amount(value)
    if amount is not None:
        conditions |= Q(amount=amount)
    return queryset.filter(conditions)


class PaymentFilter(django_filters.FilterSet):
    method = django_filters.ChoiceFilter(label=_("Moyen"), choices=Method.choices, empty_label=_("Tous"))
    status = django_filters.ChoiceFilter(label=_("Statut"), choices=Payment.Status.choices, empty_label=_("Tous"))
    company = django_filters.ModelChoiceFilter(label=_("Client"), queryset=_companies, widget=forms.HiddenInput)
    date_from = django_filters.DateFilter(
        label=_("Reçu du"), field_name="received_on", lookup_expr="gte", widget=date_input()
    )
    date_to = django_filters.DateFilter(label=_("au"), field_name="received_on", lookup_expr="lte", widget=date_input())
    q = django_filters.CharFilter(label=_("Rechercher"), method="filter_search", max_length=SEARCH_MAX_LENGTH)

    class Meta:
        model = Payment
        fields = ["method", "status", "company", "date_from", "date_to", "q"]

    def filter_search(self, queryset: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        return search_payments(queryset, value)


# --------------------------------------------------------------------------------------------------
# Recording a payment
# --------------------------------------------------------------------------------------------------
class PaymentFieldsForm(StyledFormMixin, forms.Form):
    """The payment itself: method, amount, date received, reference, payer, comment."""

    method = forms.ChoiceField(label=_("Moyen de paiement"), choices=[("", "—"), *Method.choices])
    amount = forms.CharField(label=_("Montant"), max_length=30, widget=_amount_widget())
    received_on = forms.DateField(label=_("Reçu le"), widget=date_input())
    reference = forms.CharField(label=_("Référence"), max_length=140, required=False,
                                help_text=_("Numéro de chèque, libellé du virement…"))  # fmt: skip
    payer = forms.CharField(label=_("Payeur"), max_length=200, required=False,
                            help_text=_("Si ce n'est pas le client lui-même."))  # fmt: skip
    notes = forms.CharField(label=_("Commentaire"), max_length=255, required=False)

    PAYMENT_FIELDS = ("method", "amount", "received_on", "reference", "payer", "notes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("received_on", timezone.localdate())

    def payment_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.PAYMENT_FIELDS}


class InvoicePaymentForm(PaymentFieldsForm):
    """« Enregistrer un paiement » on an invoice: allocated to it up to what remains, the surplus is the
    company's credit balance."""

    @classmethod
    def for_invoice(cls, invoice: Invoice, data: Any = None) -> InvoicePaymentForm:
        return cls(data, initial={"amount": amount_input(invoice.amount_due)}, prefix="payment")


class AllocationRowsMixin:
    """One amount field per open invoice of the company (`invoice_<pk>`), blank for « nothing »."""

    invoices: list[Invoice]

    def add_invoice_fields(self, invoices: list[Invoice], *, prefill: Decimal | None = None) -> None:
        self.invoices = invoices
        left = prefill
        for invoice in invoices:
            initial = ""
            if left is not None and left > 0:
                share = min(left, invoice.amount_due)
                initial, left = amount_input(share), left - share
            self.fields[f"invoice_{invoice.pk}"] = forms.CharField(  # type: ignore[attr-defined]
                label=invoice.reference, required=False, max_length=30, initial=initial,
                widget=_amount_widget(**{"class": "form-control form-control-sm text-end",
                                         "aria-label": _("Montant affecté à %(reference)s")
                                         % {"reference": invoice.reference}}),
            )  # fmt: skip

    def invoice_rows(self) -> list[tuple[Invoice, forms.BoundField]]:
        return [(invoice, self[f"invoice_{invoice.pk}"]) for invoice in self.invoices]  # type: ignore[index]

    def clean_allocations(self, cleaned: dict[str, Any]) -> list[tuple[Invoice, Decimal]]:
        allocations = []
        for invoice in self.invoices:
            name = f"invoice_{invoice.pk}"
            raw = str(cleaned.get(name) or "").strip()
            if not raw:
                continue
            try:
                allocations.append((invoice, amount_of(raw, name)))
            except ValidationFailed as exc:
                self.add_error(name, exc.message)  # type: ignore[attr-defined]
        return allocations


class PaymentCreateForm(AllocationRowsMixin, PaymentFieldsForm):
    """« Nouveau paiement »: the client, the payment, and what it pays among the client's open invoices."""

    company = forms.ModelChoiceField(label=_("Client"), queryset=Company.objects.none(), widget=DataSelect)

    def __init__(self, *args: Any, companies: QuerySet[Company], invoices: list[Invoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies  # type: ignore[attr-defined]
        self.fields["company"].label_from_instance = lambda company: company.name  # type: ignore[attr-defined]
        self.fields["company"].widget = forms.HiddenInput()
        self.order_fields(["company", *self.PAYMENT_FIELDS])
        self.add_invoice_fields(invoices)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["allocations"] = self.clean_allocations(cleaned)
        return cleaned


class CompanyPickForm(StyledFormMixin, forms.Form):
    """The first step of « Nouveau paiement »: which client paid (a GET form)."""

    company = forms.ModelChoiceField(label=_("Client"), queryset=Company.objects.none(), widget=DataSelect)

    def __init__(self, *args: Any, companies: QuerySet[Company], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies  # type: ignore[attr-defined]
        self.fields["company"].label_from_instance = lambda company: company.name  # type: ignore[attr-defined]


class AllocateForm(AllocationRowsMixin, StyledFormMixin, forms.Form):
    """« Affecter » what remains of a payment to open invoices of its company."""

    def __init__(self, *args: Any, invoices: list[Invoice], available: Decimal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.available = available
        self.add_invoice_fields(invoices, prefill=None if self.is_bound else available)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["allocations"] = self.clean_allocations(cleaned)
        if not self.errors and not cleaned["allocations"]:
            raise forms.ValidationError(_("Indiquez le montant à affecter sur au moins une facture."))
        return cleaned


class ReverseForm(StyledFormMixin, forms.Form):
    """« Rejeter » a payment: a bounced cheque, a returned debit, a refused card."""

    reason = forms.CharField(label=_("Motif du rejet"), max_length=255,
                             help_text=_("Par exemple : chèque sans provision, prélèvement rejeté (AM04)."))  # fmt: skip
    on = forms.DateField(label=_("Rejeté le"), widget=date_input())

    def __init__(self, *args: Any, received_on: datetime.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received_on = received_on
        self.initial.setdefault("on", timezone.localdate())

    def clean_on(self) -> datetime.date:
        return check_reversal_date(self.cleaned_data["on"], self.received_on)


def check_reversal_date(on: datetime.date, received_on: datetime.date | None) -> datetime.date:
    """A reversal is dated between the payment's reception and today (forms.ValidationError otherwise)."""
    if on > timezone.localdate():
        raise forms.ValidationError(_("Un rejet ne peut pas être daté dans le futur."))
    if received_on is not None and on < received_on:
        raise forms.ValidationError(
            _("Un rejet ne peut pas précéder la réception du paiement (%(date)s).")
            % {"date": formats.date_format(received_on, "SHORT_DATE_FORMAT")}
        )
    return on


def describe(payment: Payment) -> str:
    """« Virement de 1 200,00 € reçu le 03/11/2026 »: a payment in a sentence (confirmations, messages)."""
    return str(
        _("%(method)s de %(amount)s reçu le %(date)s")
        % {
            "method": payment.get_method_display(),
            "amount": format_money(payment.amount),
            "date": formats.date_format(payment.received_on, "SHORT_DATE_FORMAT"),
        }
    )
