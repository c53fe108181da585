"""Property tests of money (DESIGN.md invariants 3 and 10): proration parts always add up to the period's price
to the cent, and EN 16931 totals are consistent whatever the lines."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from comptoir.billing.totals import compute_totals, line_net
from comptoir.core.proration import month_bounds, prorate

amounts = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)
months = st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2035, 12, 1)).map(
    lambda day: day.replace(day=1)
)


@given(amount=amounts, month=months, cuts=st.lists(st.integers(min_value=1, max_value=30), max_size=8))
def test_parts_of_a_month_add_up_to_its_price(amount, month, cuts):
    start, end = month_bounds(month)
    days = (end - start).days + 1
    bounds = sorted({0, days, *(cut for cut in cuts if cut < days)})
    parts = [
        prorate(amount, period_start=start, period_end=end, start=start + datetime.timedelta(days=first),
                end=start + datetime.timedelta(days=last - 1))
        for first, last in itertools.pairwise(bounds)
    ]  # fmt: skip
    assert sum(parts, Decimal("0.00")) == amount
    assert all(part == part.quantize(Decimal("0.01")) for part in parts)


@given(amount=amounts, month=months)
def test_the_whole_period_is_the_full_price_and_outside_is_nothing(amount, month):
    start, end = month_bounds(month)
    assert prorate(amount, period_start=start, period_end=end) == amount
    assert prorate(amount, period_start=start, period_end=end, start=end + datetime.timedelta(days=1)) == 0


@given(
    amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2),
    month=months,
    first=st.integers(min_value=0, max_value=27),
    length=st.integers(min_value=1, max_value=31),
)
def test_a_part_is_never_more_than_the_price_nor_negative(amount, month, first, length):
    start, end = month_bounds(month)
    part = prorate(amount, period_start=start, period_end=end, start=start + datetime.timedelta(days=first),
                   end=start + datetime.timedelta(days=first + length - 1))  # fmt: skip
    assert Decimal("0.00") <= part <= amount


@dataclass
class Line:
    amount_excl_vat: Decimal
    vat_rate: str
    vat_category: str = "S"
    vat_exemption_reason: str = ""


line_inputs = st.tuples(
    st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=3),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("9999.9999"), places=4),
    st.sampled_from(["20.00", "10.00", "5.50", "2.10", "0.00"]),
)


@given(st.lists(line_inputs, min_size=1, max_size=30))
def test_totals_are_consistent(inputs):
    lines = [
        Line(line_net(quantity, price), rate, "S" if rate != "0.00" else "E", "" if rate != "0.00" else "Art. 261")
        for quantity, price, rate in inputs
    ]
    totals = compute_totals(lines)
    # BR-CO-10 / BR-CO-13: sum of line nets; BR-CO-14: sum of the categories' VAT; BR-CO-15: TTC = HT + TVA
    assert totals.total_excl_vat == sum((line.amount_excl_vat for line in lines), Decimal("0.00"))
    assert totals.total_vat == sum((group.vat for group in totals.groups), Decimal("0.00"))
    assert totals.total_incl_vat == totals.total_excl_vat + totals.total_vat
    for group in totals.groups:  # BR-S-08: VAT = base × rate, rounded to the cent
        assert group.vat == (group.base * group.rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert sum((group.base for group in totals.groups), Decimal("0.00")) == totals.total_excl_vat
