"""Forms of the billing back office. Forms parse the input; the services decide (and their refusals come
back at the field through comptoir.core.forms.add_domain_error)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.billing.models import BillingProfile, Invoice, InvoiceLine
from comptoir.catalog.models import Product, VatRate
from comptoir.core.forms import ServiceModelForm, StyledFormMixin, date_input
from comptoir.core.models import Center
from comptoir.core.widgets import DataSelect
from comptoir.crm.models import Company, Contact
from comptoir.sales.models import Contract

MONEY_FIELD = {"max_digits": 14, "decimal_places": 4, "localize": True}


class CompanyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Company) -> str:
        return obj.name


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contract) -> str:
        return f"{obj.reference} — {obj.company.name}" if obj.company_id else obj.reference


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return obj.full_name


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return obj.name


class InvoiceCreateForm(StyledFormMixin, forms.Form):
    """« Nouvelle facture »: the client, the center that invoices, and optionally the contract."""

    company = CompanyChoiceField(label=_("Client"), queryset=Company.objects.none(), widget=DataSelect)
    center = forms.ModelChoiceField(label=_("Centre"), queryset=Center.objects.none(), widget=DataSelect)
    contract = ContractChoiceField(
        label=_("Contrat"), queryset=Contract.objects.none(), required=False, widget=DataSelect,
        help_text=_("Facultatif : la facture est alors émise par l'entité du contrat."),
    )  # fmt: skip

    def __init__(
        self,
        *args: Any,
        companies: QuerySet[Company],
        centers: QuerySet[Center],
        contracts: QuerySet[Contract],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies.filter(is_archived=False).order_by("name", "id")  # type: ignore[attr-defined]
        self.fields["center"].queryset = centers.order_by("name", "id")  # type: ignore[attr-defined]
        self.fields["contract"].queryset = contracts.order_by("-number")  # type: ignore[attr-defined]
        if centers.count() == 1 and not self.is_bound:
            self.initial.setdefault("center", centers.first())


class InvoiceDraftForm(StyledFormMixin, forms.Form):
    """The editable fields of a draft."""

    due_date = forms.DateField(label=_("Échéance"), required=False, widget=date_input(),
                               help_text=_("Vide : calculée à l'émission selon le délai de paiement."))  # fmt: skip
    period_start = forms.DateField(label=_("Période du"), required=False, widget=date_input())
    period_end = forms.DateField(label=_("Période au"), required=False, widget=date_input())
    buyer_reference = forms.CharField(label=_("Référence acheteur / code service"), max_length=100, required=False)
    purchase_order = forms.CharField(label=_("Numéro d'engagement / bon de commande"), max_length=50, required=False)
    notes = forms.CharField(label=_("Commentaire"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    FIELDS = ("due_date", "period_start", "period_end", "buyer_reference", "purchase_order", "notes")

    @classmethod
    def for_invoice(cls, invoice: Invoice, data: Any = None) -> InvoiceDraftForm:
        return cls(data, initial={name: getattr(invoice, name) for name in cls.FIELDS}, prefix="draft")

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.FIELDS}


class InvoiceLineForm(StyledFormMixin, forms.Form):
    """A line of a draft: an article of the catalog (its price and VAT fill the line) or a free line."""

    product = ProductChoiceField(label=_("Article"), queryset=Product.objects.none(), required=False,
                                 widget=DataSelect, empty_label=_("Ligne libre"))  # fmt: skip
    description = forms.CharField(label=_("Désignation"), max_length=255, required=False)
    quantity = forms.DecimalField(label=_("Qté"), max_digits=12, decimal_places=3, localize=True, initial=1)
    unit_price = forms.DecimalField(label=_("PU HT"), required=False, **MONEY_FIELD)  # type: ignore[arg-type]
    discount = forms.DecimalField(label=_("Remise HT"), required=False, max_digits=14, decimal_places=2,
                                  localize=True)  # fmt: skip
    vat_rate = forms.ChoiceField(label=_("TVA"), choices=[("", _("Celle de l'article")), *VatRate.choices],
                                 required=False)  # fmt: skip
    vat_exemption_reason = forms.CharField(label=_("Motif d'exonération"), max_length=200, required=False)
    period_start = forms.DateField(label=_("Du"), required=False, widget=date_input())
    period_end = forms.DateField(label=_("Au"), required=False, widget=date_input())

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, line: InvoiceLine) -> dict[str, Any]:
        return {
            "product": line.product_id,
            "description": line.description,
            "quantity": line.quantity.normalize() if line.quantity == line.quantity.to_integral() else line.quantity,
            "unit_price": line.unit_price.normalize() if line.unit_price else line.unit_price,
            "discount": line.discount or None,
            "vat_rate": line.vat_rate,
            "vat_exemption_reason": line.vat_exemption_reason,
            "period_start": line.period_start,
            "period_end": line.period_end,
        }

    @staticmethod
    def product_initial(product: Product) -> dict[str, Any]:
        """What choosing an article fills in."""
        return {
            "product": product.pk,
            "description": product.name,
            "unit_price": product.unit_price,
            "vat_rate": product.vat_rate,
            "vat_exemption_reason": product.vat_exemption_reason,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        result: dict[str, Any] = {
            "product": data.get("product"),
            "description": data.get("description") or "",
            "quantity": data["quantity"],
            "discount": data.get("discount") or Decimal("0"),
            "vat_exemption_reason": data.get("vat_exemption_reason") or "",
            "period_start": data.get("period_start"),
            "period_end": data.get("period_end"),
        }
        if data.get("unit_price") is not None:
            result["unit_price"] = data["unit_price"]
        elif data.get("product") is None:
            result["unit_price"] = None
        if data.get("vat_rate"):
            result["vat_rate"] = data["vat_rate"]
        return result


class CreditNoteForm(StyledFormMixin, forms.Form):
    """« Créer un avoir »: all of what remains of the invoice, or an amount excl. VAT per line."""

    FULL, LINES = "full", "lines"

    mode = forms.ChoiceField(
        label=_("Montant de l'avoir"),
        choices=[(FULL, _("Tout ce qui reste de la facture")), (LINES, _("Des montants choisis par ligne"))],
        widget=forms.RadioSelect,
        initial=FULL,
    )
    reason = forms.CharField(label=_("Motif"), max_length=255, required=False)
    issue_now = forms.BooleanField(label=_("Émettre l'avoir tout de suite"), required=False, initial=True)

    def __init__(self, *args: Any, invoice: Invoice, lines: list[InvoiceLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.lines = lines
        for line in lines:
            self.fields[f"line_{line.pk}"] = forms.DecimalField(
                label=line.description, required=False, min_value=Decimal("0"), max_digits=14, decimal_places=2,
                localize=True, widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
            )  # fmt: skip

    def line_fields(self) -> list[tuple[InvoiceLine, forms.BoundField]]:
        return [(line, self[f"line_{line.pk}"]) for line in self.lines]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == self.LINES and not any(cleaned.get(f"line_{line.pk}") for line in self.lines):
            self.add_error(None, _("Indiquez le montant HT à créditer sur au moins une ligne."))
        return cleaned

    def credit_lines(self) -> list[dict[str, Any]] | None:
        """None for a full credit; else one line per amount, at the original line's VAT rate."""
        if self.cleaned_data["mode"] == self.FULL:
            return None
        lines = []
        for line in self.lines:
            amount = self.cleaned_data.get(f"line_{line.pk}")
            if not amount:
                continue
            lines.append(
                {
                    "product": line.product,
                    "description": line.description,
                    "quantity": Decimal("1"),
                    "unit": line.unit,
                    "unit_price": amount,
                    "vat_rate": line.vat_rate,
                    "vat_exemption_reason": line.vat_exemption_reason,
                    "accounting_code": line.accounting_code,
                    "period_start": line.period_start,
                    "period_end": line.period_end,
                }
            )
        return lines


class ConsumptionForm(StyledFormMixin, forms.Form):
    """« Ajouter une consommation » on a company: an article of kind consumption or a free description."""

    center = forms.ModelChoiceField(label=_("Centre"), queryset=Center.objects.none(), widget=DataSelect)
    product = ProductChoiceField(label=_("Article"), queryset=Product.objects.none(), required=False,
                                 widget=DataSelect, empty_label=_("Description libre"))  # fmt: skip
    description = forms.CharField(label=_("Désignation"), max_length=255, required=False)
    date = forms.DateField(label=_("Date"), widget=date_input())
    quantity = forms.DecimalField(label=_("Quantité"), max_digits=12, decimal_places=3, localize=True, initial=1)
    unit_price = forms.DecimalField(label=_("Prix unitaire HT"), required=False, **MONEY_FIELD,  # type: ignore[arg-type]
                                    help_text=_("Vide : le prix de l'article."))  # fmt: skip
    vat_rate = forms.ChoiceField(label=_("Taux de TVA"), choices=[("", _("Celui de l'article")), *VatRate.choices],
                                 required=False)  # fmt: skip
    vat_exemption_reason = forms.CharField(label=_("Motif d'exonération"), max_length=200, required=False)
    contact = ContactChoiceField(label=_("Membre"), queryset=Contact.objects.none(), required=False,
                                 widget=DataSelect)  # fmt: skip
    contract = ContractChoiceField(label=_("Contrat"), queryset=Contract.objects.none(), required=False,
                                   widget=DataSelect)  # fmt: skip

    def __init__(
        self,
        *args: Any,
        centers: QuerySet[Center],
        products: QuerySet[Product],
        contacts: QuerySet[Contact],
        contracts: QuerySet[Contract],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers.order_by("name", "id")  # type: ignore[attr-defined]
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self.fields["contact"].queryset = contacts.order_by("last_name", "first_name", "id")  # type: ignore[attr-defined]
        self.fields["contract"].queryset = contracts.order_by("-number")  # type: ignore[attr-defined]

    def service_data(self, company: Company) -> dict[str, Any]:
        data = self.cleaned_data
        result: dict[str, Any] = {
            "company": company,
            "center": data["center"],
            "product": data.get("product"),
            "description": data.get("description") or "",
            "date": data["date"],
            "quantity": data["quantity"],
            "contact": data.get("contact"),
            "contract": data.get("contract"),
            "vat_exemption_reason": data.get("vat_exemption_reason") or "",
        }
        if data.get("unit_price") is not None:
            result["unit_price"] = data["unit_price"]
        if data.get("vat_rate"):
            result["vat_rate"] = data["vat_rate"]
        return result


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m")


class RunPeriodForm(StyledFormMixin, forms.Form):
    """The month a billing run invoices ("2027-01")."""

    period = forms.DateField(label=_("Mois facturé"), widget=MonthInput(), input_formats=["%Y-%m", "%Y-%m-%d"])

    def clean_period(self) -> datetime.date:
        return self.cleaned_data["period"].replace(day=1)


class BillingProfileForm(ServiceModelForm):
    """A legal entity's invoicing settings (numbering, terms, accounts, brand colour, locked period)."""

    fieldsets = [
        (_("Numérotation"), ["numbering", "invoice_prefix", "credit_note_prefix"]),
        (_("Conditions de paiement"), ["payment_terms_days", "late_penalty_rate", "recovery_indemnity",
                                      "early_payment_terms"]),
        (_("Comptabilité"), ["customer_account", "sales_account", "deposit_account", "vat_account_prefix",
                             "sales_journal", "locked_until"]),
        (_("Présentation"), ["brand_color"]),
    ]  # fmt: skip

    class Meta:
        model = BillingProfile
        fields = [
            "numbering",
            "invoice_prefix",
            "credit_note_prefix",
            "payment_terms_days",
            "late_penalty_rate",
            "recovery_indemnity",
            "early_payment_terms",
            "customer_account",
            "sales_account",
            "deposit_account",
            "vat_account_prefix",
            "sales_journal",
            "locked_until",
            "brand_color",
        ]
        localized_fields = ["late_penalty_rate", "recovery_indemnity"]
        widgets = {"locked_until": date_input(), "brand_color": forms.TextInput(attrs={"type": "color"})}
