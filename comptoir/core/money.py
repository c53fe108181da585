"""Money: Decimal only, rounded half-up to the cent, shown the French way (1 234,56 €)."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation

CENT = Decimal("0.01")


def to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money is never a float.")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_cents(value: Decimal | int | str) -> Decimal:
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | str | None, currency: str = "€") -> str:
    """1 234,56 € in French (narrow no-break spaces), €1,234.56 in English."""
    if value is None or value == "":
        return ""
    amount = round_cents(value)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    if (translation.get_language() or "fr").startswith("en"):
        return f"{sign}{currency}{','.join(groups)}.{cents}"
    return f"{sign}{'\u202f'.join(groups)},{cents}\u00a0{currency}"
