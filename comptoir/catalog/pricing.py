"""The one pricing function of the catalog (frontmanager §17).

An office's monthly price is built in visible steps: surface × the center's price per m², then × the
coefficients of the center's price grid (typology, commitment term, service), then − each discount.
Every step is rounded half-up to the cent, so the steps shown in a quote or a contract add up exactly
to the price they show (DESIGN.md invariant 11: the breakdown is frozen into the document as JSON).

A catalog product (domiciliation, coworking subscription, an option...) starts from its price, or its
center's override, and goes through the term / service coefficients and discounts the same way.

    breakdown = office_price(space, term_months=12, discounts=[Applied(discount, Decimal("5"))])
    breakdown.unit_price   # Decimal("1045.00")
    breakdown.as_json()    # what a quote line stores
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from comptoir.catalog.models import (
    CenterRate,
    Discount,
    PriceGrid,
    PriceGridRule,
    Product,
    ProductCenterPrice,
    ServiceType,
    Space,
)
from comptoir.core import rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Center, Organization, Role, User
from comptoir.core.money import round_cents

HUNDRED = Decimal(100)
ONE = Decimal(1)

# the service an office of each kind provides when none is named
OFFICE_SERVICE = {
    Space.Kind.PRIVATE_OFFICE: ServiceType.PRIVATE_OFFICE,
    Space.Kind.SHARED_OFFICE: ServiceType.COWORKING,
    Space.Kind.COWORKING_AREA: ServiceType.COWORKING,
    Space.Kind.DROP_IN_OFFICE: ServiceType.NOMAD,
    Space.Kind.PARKING: ServiceType.PARKING,
}


@dataclass(frozen=True)
class Step:
    """One line of a price breakdown. `delta` is what the step adds (the base: the base amount itself)."""

    code: str  # base | typology | term | service | discount
    label: str
    detail: str
    delta: Decimal
    amount: Decimal  # running amount after the step

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "label": self.label,
            "detail": self.detail,
            "delta": str(self.delta),
            "amount": str(self.amount),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(
            code=data["code"],
            label=data["label"],
            detail=data["detail"],
            delta=Decimal(data["delta"]),
            amount=Decimal(data["amount"]),
        )


@dataclass(frozen=True)
class Breakdown:
    steps: tuple[Step, ...]
    vat_rate: Decimal

    @property
    def unit_price(self) -> Decimal:
        return self.steps[-1].amount if self.steps else Decimal("0.00")

    def as_json(self) -> dict[str, Any]:
        return {"steps": [step.as_json() for step in self.steps], "vat_rate": str(self.vat_rate)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Breakdown:
        return cls(steps=tuple(Step.from_json(step) for step in data["steps"]), vat_rate=Decimal(data["vat_rate"]))

    def adds_up(self) -> bool:
        """The steps' deltas sum to the price, and each running amount follows from the previous one."""
        total = Decimal("0.00")
        for step in self.steps:
            total += step.delta
            if total != step.amount:
                return False
        return total == self.unit_price


@dataclass(frozen=True)
class Applied:
    """A discount applied to a price, at `percent` (defaults to the discount's own percentage)."""

    discount: Discount
    percent: Decimal | None = None

    @property
    def rate(self) -> Decimal:
        return self.percent if self.percent is not None else self.discount.percent


def format_number(value: Decimal) -> str:
    """A number as the breakdown shows it: 40 → "40", 12.5 → "12,50", 0.9500 → "0,95", 0.9375 → "0,9375"."""
    if value == value.to_integral():
        return format(value.quantize(ONE), "f")
    text = format(value.normalize(), "f")
    units, decimals = text.split(".")
    return f"{units},{decimals.ljust(2, '0')}"


_fr = format_number


# --------------------------------------------------------------------------------------------------
# Grid coefficients
# --------------------------------------------------------------------------------------------------
class PriceBook:
    """What pricing reads from the database, read once: each center's rate with its grid and the grid's
    rules, and each product's price and availability per center. Pricing many lines (a quote's offers, a
    bench) with one book costs a few queries in all instead of two or three per line."""

    def __init__(self) -> None:
        self._rates: dict[int, CenterRate | None] = {}
        self._overrides: dict[tuple[int, int], ProductCenterPrice | None] = {}

    def rate(self, center: Center) -> CenterRate | None:
        if center.pk not in self._rates:
            self._rates[center.pk] = (
                CenterRate.objects.filter(center=center)
                .select_related("price_grid")
                .prefetch_related("price_grid__rules")
                .first()
            )
        return self._rates[center.pk]

    def grid(self, center: Center) -> PriceGrid | None:
        rate = self.rate(center)
        if rate is None or rate.price_grid is None or not rate.price_grid.is_active:
            return None
        return rate.price_grid

    def override(self, product: Product, center: Center) -> ProductCenterPrice | None:
        key = (product.pk, center.pk)
        if key not in self._overrides:
            self._overrides[key] = ProductCenterPrice.objects.filter(product=product, center=center).first()
        return self._overrides[key]


def grid_of(center: Center, book: PriceBook | None = None) -> PriceGrid | None:
    return (book or PriceBook()).grid(center)


def _rules(grid: PriceGrid | None) -> list[PriceGridRule]:
    if grid is None:
        return []
    cached = getattr(grid, "_prefetched_objects_cache", {}).get("rules")
    return list(cached) if cached is not None else list(grid.rules.all())


def coefficients(
    grid: PriceGrid | None, *, typology: str | None, term_months: int | None, service: str | None
) -> list[tuple[str, str, Decimal]]:
    """The (code, label, coefficient) that the grid applies, in order typology → term → service."""
    rules = _rules(grid)
    found: list[tuple[str, str, Decimal]] = []
    if typology:
        for rule in rules:
            if rule.dimension == PriceGridRule.Dimension.TYPOLOGY and rule.value == typology:
                found.append(("typology", str(Space.Kind(typology).label), rule.coefficient))
    if term_months:
        best: PriceGridRule | None = None
        for rule in rules:
            if rule.dimension != PriceGridRule.Dimension.TERM or not rule.value.isdigit():
                continue
            months = int(rule.value)
            if months <= term_months and (best is None or months > int(best.value)):
                best = rule
        if best is not None:
            found.append(("term", _("Engagement %(months)s mois") % {"months": term_months}, best.coefficient))
    if service:
        if service not in ServiceType.values:
            raise ValidationFailed(_("Service inconnu."), code="invalid", field="service")
        for rule in rules:
            if rule.dimension == PriceGridRule.Dimension.SERVICE and rule.value == service:
                found.append(("service", str(ServiceType(service).label), rule.coefficient))
    return [item for item in found if item[2] != ONE]


def _apply(
    steps: list[Step], grid_coefficients: Sequence[tuple[str, str, Decimal]], discounts: Sequence[Applied]
) -> list[Step]:
    amount = steps[-1].amount
    for applied in discounts:
        if not 0 < applied.rate <= HUNDRED:
            raise ValidationFailed(
                _("Une réduction est un pourcentage entre 0,01 et 100."), code="invalid_percent", field="discounts"
            )
    for code, label, coefficient in grid_coefficients:
        new_amount = round_cents(amount * coefficient)
        steps.append(Step(code, label, f"× {_fr(coefficient)}", new_amount - amount, new_amount))
        amount = new_amount
    for applied in discounts:
        cut = round_cents(amount * applied.rate / HUNDRED)
        new_amount = amount - cut
        steps.append(Step("discount", applied.discount.name, f"− {_fr(applied.rate)} %", -cut, new_amount))
        amount = new_amount
    return steps


# --------------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------------
def center_rate(center: Center, book: PriceBook | None = None) -> CenterRate:
    rate = (book or PriceBook()).rate(center)
    if rate is None:
        raise ValidationFailed(
            _("Le prix au m² du centre %(center)s n'est pas défini.") % {"center": center.name},
            code="no_center_rate",
            field="space",
        )
    return rate


def office_price(
    space: Space,
    *,
    term_months: int | None = None,
    service: str | None = None,
    discounts: Sequence[Applied] = (),
    vat_rate: Decimal = Decimal("20.00"),
    book: PriceBook | None = None,
) -> Breakdown:
    """The monthly price excl. VAT of an office (or any space priced by its surface). Pass a `book` to
    price many lines with the center's rate and grid read once."""
    if not space.area_m2:
        raise ValidationFailed(
            _("La surface de l'espace %(space)s n'est pas renseignée.") % {"space": space.name},
            code="no_area",
            field="space",
        )
    rate = center_rate(space.center, book)
    grid = rate.price_grid if rate.price_grid is not None and rate.price_grid.is_active else None
    base = round_cents(space.area_m2 * rate.price_per_m2)
    steps = [
        Step(
            "base",
            _("Surface × prix au m²"),
            f"{_fr(space.area_m2)} m² × {_fr(rate.price_per_m2)} €",
            base,
            base,
        )
    ]
    service = service or OFFICE_SERVICE.get(space.kind)  # type: ignore[call-overload]
    found = coefficients(grid, typology=space.kind, term_months=term_months, service=service)
    return Breakdown(tuple(_apply(steps, found, discounts)), vat_rate)


def product_unit_price(product: Product, center: Center | None, book: PriceBook | None = None) -> Decimal:
    if center is not None:
        override = (book or PriceBook()).override(product, center)
        if override is not None and override.unit_price is not None:
            return override.unit_price
    return product.unit_price


def is_available(product: Product, center: Center | None, book: PriceBook | None = None) -> bool:
    if not product.is_active:
        return False
    if center is None:
        return product.available_everywhere
    override = (book or PriceBook()).override(product, center)
    if override is not None:
        return override.is_available
    return product.available_everywhere


def product_price(
    product: Product,
    center: Center | None,
    *,
    term_months: int | None = None,
    discounts: Sequence[Applied] = (),
    book: PriceBook | None = None,
) -> Breakdown:
    """A catalog article's unit price excl. VAT in a center; main services follow the grid's term and
    service coefficients, options and consumptions keep their price (discounts apply to all)."""
    book = book or PriceBook()
    base = product_unit_price(product, center, book)
    steps = [Step("base", _("Prix catalogue"), product.name, base, base)]
    found: list[tuple[str, str, Decimal]] = []
    if product.kind == Product.Kind.MAIN_SERVICE and center is not None:
        found = coefficients(
            book.grid(center), typology=None, term_months=term_months, service=product.service_type or None
        )
    return Breakdown(tuple(_apply(steps, found, discounts)), product.vat_rate_decimal)


# --------------------------------------------------------------------------------------------------
# Discount allowance
# --------------------------------------------------------------------------------------------------
def allowance(user: User, organization: Organization, discount: Discount) -> Decimal:
    """The highest percentage of `discount` the user may grant (0: not allowed)."""
    staff = rights.membership(user, organization)
    if staff is None or not discount.is_active:
        return Decimal("0")
    if staff.role.kind == Role.Kind.ADMINISTRATOR:
        return HUNDRED
    allowed = discount.allowances.filter(role_id=staff.role_id).values_list("max_percent", flat=True).first()
    return allowed or Decimal("0")


def check_discounts(
    user: User, organization: Organization, discounts: Sequence[Applied], *, center: Center | None
) -> None:
    """Refuse a discount the user's role may not grant, above its maximum, inactive, not for the center, of
    another organization, or applied twice (two lines of one discount would pass its maximum together)."""
    seen: set[int | None] = set()
    for applied in discounts:
        discount = applied.discount
        if discount.pk in seen:
            raise ValidationFailed(
                _("La réduction « %(name)s » ne peut être appliquée qu'une fois.") % {"name": discount.name},
                code="duplicate_discount",
                field="discounts",
            )
        seen.add(discount.pk)
        if discount.organization_id != organization.pk or not discount.is_active:
            raise ValidationFailed(_("Cette réduction n'est pas disponible."), code="discount_unavailable",
                                   field="discounts")  # fmt: skip
        if center is not None:
            center_ids = [c.pk for c in discount.centers.all()]
            if center_ids and center.pk not in center_ids:
                raise ValidationFailed(
                    _("La réduction « %(name)s » ne s'applique pas au centre %(center)s.")
                    % {"name": discount.name, "center": center.name},
                    code="discount_unavailable",
                    field="discounts",
                )
        maximum = allowance(user, organization, discount)
        if applied.rate <= 0 or applied.rate > maximum:
            if maximum <= 0:
                message = _("Votre rôle ne permet pas d'accorder la réduction « %(name)s ».") % {"name": discount.name}
            else:
                message = _("La réduction « %(name)s » est limitée à %(max)s %% pour votre rôle.") % {
                    "name": discount.name,
                    "max": _fr(maximum),
                }
            raise ValidationFailed(message, code="discount_not_allowed", field="discounts")
