"""Forms of the quote builder ("Tarificateur"): they only parse the input; the quote services price,
validate and save, and their refusals come back at the faulty field (`lines.<i>.<field>` → line i)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.catalog import pricing
from comptoir.catalog.models import Discount, Product, ProductCenterPrice, ServiceType, Space
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import StyledFormMixin, date_input
from comptoir.core.models import Center, Organization, User
from comptoir.core.widgets import DataSelect
from comptoir.sales.models import MAX_OFFERS, Quote

EMPTY_LINES = 2


# --------------------------------------------------------------------------------------------------
# Catalog choices for a quote's center (tenant-scoped)
# --------------------------------------------------------------------------------------------------
def quote_spaces(quote: Quote) -> QuerySet[Space]:
    """The center's active spaces priced by their surface."""
    return Space.objects.filter(
        organization_id=quote.organization_id, center_id=quote.center_id, is_active=True, area_m2__gt=0
    ).order_by("name", "id")


def quote_products(quote: Quote) -> QuerySet[Product]:
    """The organization's active articles available in the quote's center."""
    overrides = ProductCenterPrice.objects.filter(product=OuterRef("pk"), center_id=quote.center_id)
    available = overrides.filter(is_available=True)
    return (
        Product.objects.filter(organization_id=quote.organization_id, is_active=True)
        .filter(Q(Exists(available)) | (Q(available_everywhere=True) & ~Exists(overrides)))
        .order_by("kind", "name", "id")
    )


def grantable_discounts(user: User, organization: Organization, center: Center) -> list[tuple[Discount, Decimal]]:
    """(discount, highest percentage the user may grant) for the active discounts of the center."""
    discounts = (
        Discount.objects.filter(organization=organization, is_active=True)
        .filter(Q(centers__isnull=True) | Q(centers=center))
        .distinct()
        .order_by("name", "id")
        .prefetch_related("centers")
    )
    found = []
    for discount in discounts:
        maximum = pricing.allowance(user, organization, discount)
        if maximum > 0:
            found.append((discount, min(maximum, Decimal(100))))
    return found


# --------------------------------------------------------------------------------------------------
# Quote header
# --------------------------------------------------------------------------------------------------
class QuoteForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("objet"), max_length=200, required=False)
    valid_until = forms.DateField(label=_("valable jusqu'au"), widget=date_input())
    notes = forms.CharField(
        label=_("conditions particulières"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    @classmethod
    def for_quote(cls, quote: Quote, data: Any = None) -> QuoteForm:
        return cls(data, initial={"title": quote.title, "valid_until": quote.valid_until, "notes": quote.notes},
                   prefix="quote")  # fmt: skip


class QuoteCreateForm(StyledFormMixin, forms.Form):
    """A new quote (from an opportunity or a company): its center, subject and validity."""

    center = forms.ModelChoiceField(label=_("centre"), queryset=Center.objects.none(), widget=DataSelect)
    title = forms.CharField(label=_("objet"), max_length=200, required=False)
    valid_until = forms.DateField(label=_("valable jusqu'au"), widget=date_input())

    def __init__(self, *args: Any, request: Any, initial_center: Center | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("valid_until", timezone.localdate() + datetime.timedelta(days=30))
        if initial_center is not None:
            kwargs["initial"].setdefault("center", initial_center.pk)
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = core_selectors.centers_for(request.user, request.organization).filter(  # type: ignore[attr-defined]
            is_active=True
        )

    def service_data(self) -> dict[str, Any]:
        data = {"center": self.cleaned_data["center"], "valid_until": self.cleaned_data["valid_until"]}
        if self.cleaned_data.get("title"):
            data["title"] = self.cleaned_data["title"]
        return data


# --------------------------------------------------------------------------------------------------
# One offer of the builder: header + lines
# --------------------------------------------------------------------------------------------------
class OfferForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("intitulé"), max_length=160, required=False)
    service_type = forms.ChoiceField(label=_("service principal"), choices=ServiceType.choices)
    term_months = forms.IntegerField(label=_("engagement (mois)"), min_value=1, max_value=120, initial=12)
    start_date = forms.DateField(label=_("date de début"), widget=date_input())
    deposit = forms.DecimalField(label=_("dépôt de garantie"), min_value=0, max_digits=12, decimal_places=2,
                                 initial=Decimal("0.00"))  # fmt: skip

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("title", "service_type", "term_months", "start_date",
                                                            "deposit")}  # fmt: skip


class OfferLineForm(StyledFormMixin, forms.Form):
    space = forms.TypedChoiceField(label=_("espace"), required=False, coerce=int, empty_value=None,
                                   widget=DataSelect)  # fmt: skip
    product = forms.TypedChoiceField(label=_("article"), required=False, coerce=int, empty_value=None,
                                     widget=DataSelect)  # fmt: skip
    quantity = forms.DecimalField(label=_("quantité"), min_value=Decimal("0.01"), max_digits=10, decimal_places=2,
                                  initial=Decimal("1"), required=False)  # fmt: skip
    description = forms.CharField(label=_("désignation"), max_length=255, required=False)
    discount = forms.ChoiceField(label=_("réduction"), required=False, choices=[("", "—")], widget=DataSelect)
    percent = forms.DecimalField(label=_("remise (%)"), min_value=Decimal("0.01"), max_value=100, max_digits=5,
                                 decimal_places=2, required=False)  # fmt: skip

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not data.get("space") and not data.get("product")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("space") and cleaned.get("product"):
            self.add_error("product", _("Choisissez un espace ou un article, pas les deux."))
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        line: dict[str, Any] = {
            "quantity": data.get("quantity") or Decimal("1"),
            "description": data.get("description") or "",
            "discounts": [],
        }
        if data.get("space"):
            line["space"] = data["space"]
        else:
            line["product"] = data.get("product")
        if data.get("discount"):
            line["discounts"] = [{"discount": int(data["discount"]), "percent": data.get("percent")}]
        return line


class BaseOfferLineFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, quote: Quote, discounts: list[tuple[Discount, Decimal]], **kwargs: Any) -> None:
        self.quote = quote
        self.discount_choices = [("", "—")] + [
            (str(discount.pk), f"{discount.name} ({pricing._fr(discount.percent)} %, max {pricing._fr(maximum)} %)")
            for discount, maximum in discounts
        ]
        self.spaces = list(quote_spaces(quote))
        self.products = list(quote_products(quote))
        super().__init__(*args, **kwargs)

    def _construct_form(self, i: int, **kwargs: Any) -> forms.Form:
        form = super()._construct_form(i, **kwargs)
        # the catalog is read once per formset, not per line
        form.fields["space"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (space.pk, f"{space.name} — {pricing._fr(space.area_m2)} m²") for space in self.spaces
        ]
        form.fields["product"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (product.pk, f"{product.name} — {product.get_kind_display()}") for product in self.products
        ]
        form.fields["discount"].choices = self.discount_choices  # type: ignore[attr-defined]
        return form

    def service_lines(self) -> list[dict[str, Any]]:
        return [form.service_data() for form in self.forms if not form.is_blank()]

    def line_forms(self) -> list[forms.Form]:
        """The forms of the filled lines, in the order the service numbers them."""
        return [form for form in self.forms if not form.is_blank()]


OfferLineFormSet = forms.formset_factory(OfferLineForm, formset=BaseOfferLineFormSet, extra=0, max_num=30,
                                         absolute_max=30)  # fmt: skip


class OfferBuilder:
    """The offer form and its lines formset for one position of a quote, bound or initial."""

    def __init__(self, *, quote: Quote, position: int, user: User, data: Any = None, offer: Any = None,
                 discounts: list[tuple[Discount, Decimal]] | None = None) -> None:  # fmt: skip
        self.quote, self.position, self.offer = quote, position, offer
        prefix = f"o{position}"
        if discounts is None:
            discounts = grantable_discounts(user, quote.organization, quote.center)
        if data is None and offer is not None:
            initial = {"title": offer.title, "service_type": offer.service_type, "term_months": offer.term_months,
                       "start_date": offer.start_date, "deposit": offer.deposit}  # fmt: skip
            lines = [self._line_initial(line) for line in offer.lines.all()]
        else:
            initial = {"start_date": timezone.localdate() + datetime.timedelta(days=7), "term_months": 12,
                       "deposit": Decimal("0.00")}  # fmt: skip
            lines = []
        lines += [{"quantity": Decimal("1")}] * EMPTY_LINES
        self.form = OfferForm(data, initial=initial, prefix=prefix)
        self.lines = OfferLineFormSet(data, initial=lines if data is None else None, prefix=f"{prefix}-lines",
                                      quote=quote, discounts=discounts)  # fmt: skip

    @staticmethod
    def _line_initial(line: Any) -> dict[str, Any]:
        discounts = (line.breakdown or {}).get("discounts") or []
        first = discounts[0] if discounts else {}
        return {
            "space": line.space_id, "product": line.product_id, "quantity": line.quantity,
            "description": line.description if line.description not in ((line.space.name if line.space else ""),
                                                                          (line.product.name if line.product else ""))
            else "",
            "discount": str(first.get("discount") or ""), "percent": first.get("percent"),
        }  # fmt: skip

    def is_valid(self) -> bool:
        return self.form.is_valid() & self.lines.is_valid()

    def service_data(self) -> dict[str, Any]:
        return {**self.form.service_data(), "lines": self.lines.service_lines()}

    def add_error(self, exc: DomainError) -> None:
        """A service refusal at its field: offer fields on the offer form, `lines.<i>.<field>` on line i."""
        line_forms = self.lines.line_forms()
        placed = False
        for name, messages in exc.fields.items():
            parts = name.split(".")
            if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(line_forms):
                form = line_forms[int(parts[1])]
                field = parts[2] if len(parts) > 2 else None
                field = "discount" if field == "discounts" else field
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
                placed = True
            elif name in self.form.fields:
                for message in messages:
                    self.form.add_error(name, message)
                placed = True
        if not placed:
            self.form.add_error(None, exc.message)

    @property
    def positions(self) -> range:
        return range(1, MAX_OFFERS + 1)


class RefuseForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("motif du refus"), max_length=255)


class SendForm(StyledFormMixin, forms.Form):
    recipients = forms.MultipleChoiceField(label=_("destinataires"), required=False,
                                           widget=forms.CheckboxSelectMultiple)  # fmt: skip
    other = forms.CharField(label=_("autres adresses"), required=False, max_length=1000,
                            help_text=_("Séparées par des virgules."))  # fmt: skip

    def __init__(self, *args: Any, defaults: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"recipients": defaults})
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = [(address, address) for address in defaults]

    def addresses(self) -> list[str]:
        extra = [part.strip() for part in (self.cleaned_data.get("other") or "").replace(";", ",").split(",")]
        return [*self.cleaned_data.get("recipients", []), *[part for part in extra if part]]
