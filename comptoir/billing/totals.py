"""Invoice totals as EN 16931 computes them (DESIGN.md invariant 3), pure functions of the lines.

- line net amount (BT-131) = round(quantity × unit price) − line allowance, rounded half-up to the cent;
- sum of line nets (BT-106) = total excl. VAT (BT-109) (no document-level allowances or charges);
- per VAT category and rate (BG-23): taxable base (BT-116) = sum of its line nets, VAT (BT-117) =
  round(base × rate / 100); total VAT (BT-110) = sum of the categories' VAT (BR-CO-14);
- total incl. VAT (BT-112) = BT-109 + BT-110 (BR-CO-15).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(quantity: Decimal, unit_price: Decimal, discount: Decimal = ZERO) -> Decimal:
    return cents(Decimal(quantity) * Decimal(unit_price)) - cents(discount)


class LineLike(Protocol):
    amount_excl_vat: Decimal
    vat_rate: str
    vat_category: str
    vat_exemption_reason: str


@dataclass
class VatGroup:
    category: str
    rate: Decimal
    base: Decimal = ZERO
    vat: Decimal = ZERO
    exemption_reason: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "category": self.category,
            "rate": f"{self.rate:.2f}",
            "base": f"{self.base:.2f}",
            "vat": f"{self.vat:.2f}",
            "exemption_reason": self.exemption_reason,
        }


@dataclass
class Totals:
    total_excl_vat: Decimal = ZERO
    total_vat: Decimal = ZERO
    total_incl_vat: Decimal = ZERO
    groups: list[VatGroup] = field(default_factory=list)

    @property
    def vat_breakdown(self) -> list[dict[str, str]]:
        return [group.as_json() for group in self.groups]


def compute_totals(lines: Iterable[LineLike]) -> Totals:
    groups: dict[tuple[str, Decimal], VatGroup] = {}
    total = ZERO
    for line in lines:
        rate = Decimal(line.vat_rate)
        key = (line.vat_category, rate)
        group = groups.get(key)
        if group is None:
            group = groups[key] = VatGroup(category=line.vat_category, rate=rate,
                                           exemption_reason=line.vat_exemption_reason)  # fmt: skip
        group.base += line.amount_excl_vat
        total += line.amount_excl_vat
    ordered = sorted(groups.values(), key=lambda group: (-group.rate, group.category))
    for group in ordered:
        group.base = cents(group.base)
        group.vat = cents(group.base * group.rate / 100)
    total_vat = sum((group.vat for group in ordered), ZERO)
    total = cents(total)
    return Totals(total_excl_vat=total, total_vat=total_vat, total_incl_vat=total + total_vat, groups=ordered)
