"""« Paramètres de réservation » of a bookable space: its prices (hour, half day, day), VAT rate, credits per hour,
whether a request is accepted at once or waits for the staff (and how long), payment at booking, the cancellation
deadline, the slot step and the planning color. One `SpaceBooking` row per space; a space without one is booked
with the defaults (`availability.settings_of`), and its row is created by the first change.

`update_settings` is the one write (back office and API alike); `settings_rows_for` the read both list.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from comptoir.bookings.models import CREDITS, MONEY, SpaceBooking
from comptoir.bookings.services import availability
from comptoir.bookings.services.bookings import lock_space
from comptoir.catalog.models import Space, VatRate
from comptoir.catalog.services.spaces import check_center_allowed
from comptoir.core import journal, rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.core.services import validate

PRICE_FIELDS = ["hour_price", "half_day_price", "day_price"]
SETTINGS_FIELDS = [
    "auto_accept", "request_hours", "prepayment", "cancellation_hours", *PRICE_FIELDS, "vat_rate",
    "credits_per_hour", "slot_minutes", "color",
]  # fmt: skip
BOOLEAN_FIELDS = ("auto_accept", "prepayment")
COLOR = re.compile(r"^#[0-9a-f]{6}$")
CENT = Decimal("0.01")


def integer_bounds(name: str) -> tuple[int, int]:
    """The (min, max) of an integer field, read from the model's validators (PositiveIntegerField: min 0)."""
    low, high = 0, 2**31 - 1
    for validator in SpaceBooking._meta.get_field(name).validators:
        kind = type(validator).__name__
        if kind == "MinValueValidator":
            low = max(low, int(validator.limit_value))
        elif kind == "MaxValueValidator":
            high = min(high, int(validator.limit_value))
    return low, high


# --------------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------------
def settings_rows_for(user: User, organization: Organization | int) -> QuerySet[Space]:
    """The bookable spaces the viewer may see (`catalog.view_space`, their centers), each with its center and its
    settings row (none: the defaults) in the same query."""
    org_id = organization if isinstance(organization, int) else organization.pk
    if not rights.has_right(user, "catalog.view_space", org_id):
        return Space.objects.none()
    qs = availability.bookable_spaces(org_id).select_related("center", "booking")
    restricted = allowed_center_ids(user, org_id)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


# --------------------------------------------------------------------------------------------------
# Input checks: each refusal names its field
# --------------------------------------------------------------------------------------------------
class _Refusals:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.first: tuple[str, str] | None = None

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.fields.setdefault(name, []).append(message)
        if self.first is None:
            self.first = (message, code)

    def raise_any(self) -> None:
        if self.first is not None:
            message, code = self.first
            raise ValidationFailed(message, code=code, fields=self.fields)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ValueError


def _decimal(value: Any, digits: int) -> Decimal:
    """A Decimal with at most 2 decimals and `digits` digits in all (no float: money is never a float). ValueError
    when it is not one, OverflowError when it is too large."""
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise ValueError
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError from exc
    if not number.is_finite():
        raise ValueError
    if abs(number) >= Decimal(10) ** (digits - 2):
        raise OverflowError
    rounded = number.quantize(CENT)
    if rounded != number:
        raise ValueError
    return rounded if rounded else Decimal("0.00")  # never "-0.00"


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """The settings in `data` as model values; every bad one refused at its field (all at once)."""
    refusals = _Refusals()
    unknown = sorted(str(name) for name in data if name not in SETTINGS_FIELDS)
    for name in unknown[:20]:
        refusals.add(name[:100], _("Champ inconnu ou non modifiable."), "unknown_field")
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SETTINGS_FIELDS:
            continue
        if name in BOOLEAN_FIELDS:
            try:
                cleaned[name] = _boolean(value)
            except ValueError:
                refusals.add(name, _("Indiquez oui ou non."))
        elif name in ("request_hours", "cancellation_hours", "slot_minutes"):
            low, high = integer_bounds(name)
            try:
                number = _integer(value)
            except ValueError:
                refusals.add(name, _("Indiquez un nombre entier."))
                continue
            if not low <= number <= high:
                refusals.add(name, _("Indiquez un nombre entre %(low)s et %(high)s.") % {"low": low, "high": high},
                             "out_of_range")  # fmt: skip
            else:
                cleaned[name] = number
        elif name in PRICE_FIELDS or name == "credits_per_hour":
            if value is None or (isinstance(value, str) and not value.strip()):
                if name == "credits_per_hour":
                    refusals.add(name, _("Ce champ est obligatoire (0 : non payable en crédits)."), "required")
                else:
                    cleaned[name] = None  # no price for this duration
                continue
            digits = (CREDITS if name == "credits_per_hour" else MONEY)["max_digits"]
            try:
                number = _decimal(value, digits)
            except ValueError:
                refusals.add(name, _("Indiquez un montant positif ou nul, avec 2 décimales au plus."))
                continue
            except OverflowError:
                refusals.add(name, _("Montant trop grand."), "out_of_range")
                continue
            if number < 0:
                refusals.add(name, _("Indiquez un montant positif ou nul, avec 2 décimales au plus."))
            else:
                cleaned[name] = number
        elif name == "vat_rate":
            rate = _vat_rate(value)
            if rate is None:
                refusals.add(name, _("Taux de TVA inconnu : %(rates)s.") % {
                    "rates": ", ".join(str(label) for label in VatRate.labels)})  # fmt: skip
            else:
                cleaned[name] = rate
        elif name == "color":
            color = value.strip().lower() if isinstance(value, str) else ""
            if not COLOR.match(color):
                refusals.add(name, _("Indiquez une couleur au format #rrggbb (par exemple #2563eb)."))
            else:
                cleaned[name] = color
    refusals.raise_any()
    return cleaned


def _vat_rate(value: Any) -> str | None:
    """A VatRate value ("20.00"), also from "20", "5.5" or Decimal("5.50"); None when it is not one."""
    if isinstance(value, str) and value in VatRate.values:
        return value
    try:
        rate = _decimal(value, 5)
    except (ValueError, OverflowError):
        return None
    return f"{rate:.2f}" if f"{rate:.2f}" in VatRate.values else None


# --------------------------------------------------------------------------------------------------
# The write
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def update_settings(*, space: Space, by: User | None, data: dict[str, Any]) -> SpaceBooking:
    """Change some of a space's booking settings (`catalog.change_space`); the fields not in `data` keep their
    value. The space's row is created by its first change; without any change nothing is written and the current
    settings come back (the defaults, unsaved, for a space without a row)."""
    rights.require(by, "catalog.change_space", space.organization_id)
    if not isinstance(data, dict):
        raise ValidationFailed(_("Données invalides."), code="invalid")
    space = lock_space(space)  # one writer per space: no two rows for it, no lost update
    check_center_allowed(by=by, organization=space.organization_id, center=space.center)  # type: ignore[arg-type]
    cleaned = _clean(data)
    row = SpaceBooking.objects.select_for_update().filter(space=space).first()
    if row is None:
        row = SpaceBooking(organization_id=space.organization_id, space=space)
    before = journal.snapshot(row, SETTINGS_FIELDS)
    for name, value in cleaned.items():
        setattr(row, name, value)
    validate(row, exclude=["space", "organization"])  # the model's own bounds, a safety net behind _clean
    changes = journal.diff(before, journal.snapshot(row, SETTINGS_FIELDS))
    if not changes:
        return row
    row.save()
    journal.record(actor=by, action="space.booking_settings_changed", obj=space, changes=changes)
    return row
