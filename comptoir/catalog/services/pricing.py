"""Every write of office pricing (frontmanager §17): each center's price per m² and price grid, the price
grids and their rules, the discounts and the maximum percentage each staff role may grant.

Keyword-only functions that check the actor's rights, validate, run in one transaction and write the
audit journal. The back office views and the API call these and nothing else to change pricing data.
Documents already made keep their frozen breakdown (DESIGN.md invariant 11): nothing here touches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.catalog.models import (
    CenterRate,
    Discount,
    DiscountAllowance,
    PriceGrid,
    PriceGridRule,
    ServiceType,
    Space,
)
from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import Center, Organization, Role, User
from comptoir.core.services import apply_changes, validate

CENTER_RATE_FIELDS = ["price_per_m2", "price_grid"]
PRICE_GRID_FIELDS = ["name", "description", "is_active"]
RULE_FIELDS = ["dimension", "value", "coefficient"]
DISCOUNT_FIELDS = ["name", "percent", "is_active"]
MAX_TERM_MONTHS = 120
HUNDRED = Decimal(100)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _same_org(obj: Any, organization_id: int, field: str) -> None:
    if obj is not None and getattr(obj, "organization_id", None) != organization_id:
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field=field)


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        result = Decimal(str(value).strip().replace(",", ".")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(_("Saisissez un nombre."), code="invalid", field=field) from exc
    if not result.is_finite():
        raise ValidationFailed(_("Saisissez un nombre."), code="invalid", field=field)
    return result


def normalize_rule_value(dimension: str, value: Any) -> str:
    """The rule's value checked against its dimension: a space kind, a number of months (1-120) or a service."""
    text = str(value if value is not None else "").strip()
    if dimension == PriceGridRule.Dimension.TYPOLOGY:
        if text not in Space.Kind.values:
            raise ValidationFailed(
                _("Choisissez un type d'espace pour une règle de typologie."), code="invalid_value", field="value"
            )
        return text
    if dimension == PriceGridRule.Dimension.TERM:
        if not text.isdigit() or not 1 <= int(text) <= MAX_TERM_MONTHS:
            raise ValidationFailed(
                _("Une durée d'engagement est un nombre de mois entre 1 et %(max)s.") % {"max": MAX_TERM_MONTHS},
                code="invalid_value",
                field="value",
            )
        return str(int(text))
    if dimension == PriceGridRule.Dimension.SERVICE:
        if text not in ServiceType.values:
            raise ValidationFailed(
                _("Choisissez un service pour une règle de service."), code="invalid_value", field="value"
            )
        return text
    raise ValidationFailed(_("Critère inconnu."), code="invalid", field="dimension")


def _check_rule_unique(rule: PriceGridRule) -> None:
    if (
        PriceGridRule.objects.filter(grid_id=rule.grid_id, dimension=rule.dimension, value=rule.value)
        .exclude(pk=rule.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("Cette grille a déjà une règle pour cette valeur."), code="duplicate_rule", field="value"
        )


def _save_unique(obj: Any, message: str, field: str = "name") -> None:
    """Save; a concurrent insert breaking a unique constraint becomes a ValidationFailed."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationFailed(message, code="duplicate", field=field) from exc


def _check_grid_name(grid: PriceGrid) -> None:
    if PriceGrid.objects.filter(organization_id=grid.organization_id, name=grid.name).exclude(pk=grid.pk).exists():
        raise ValidationFailed(_("Une grille tarifaire porte déjà ce nom."), code="duplicate", field="name")


def _check_discount_name(discount: Discount) -> None:
    if (
        Discount.objects.filter(organization_id=discount.organization_id, name=discount.name)
        .exclude(pk=discount.pk)
        .exists()
    ):
        raise ValidationFailed(_("Une réduction porte déjà ce nom."), code="duplicate", field="name")


# --------------------------------------------------------------------------------------------------
# Price per m² per center
# --------------------------------------------------------------------------------------------------
def _check_rate(rate: CenterRate) -> None:
    _same_org(rate.price_grid, rate.organization_id, "price_grid")
    if rate.price_per_m2 is None:
        raise ValidationFailed(_("Indiquez le prix au m²."), code="required", field="price_per_m2")


@transaction.atomic
def create_center_rate(*, organization: Organization, by: User, center: Center, data: dict[str, Any]) -> CenterRate:
    """Give a center its price per m² (and optionally its price grid): one rate per center."""
    rights.require(by, "catalog.add_centerrate", organization)
    _same_org(center, organization.pk, "center")
    if CenterRate.objects.filter(center=center).exists():
        raise ValidationFailed(_("Ce centre a déjà un prix au m²."), code="duplicate", field="center")
    rate = CenterRate(organization=organization, center=center)
    changes = apply_changes(rate, data, CENTER_RATE_FIELDS)
    _check_rate(rate)
    rate.updated_at = timezone.now()
    _save_unique(rate, _("Ce centre a déjà un prix au m²."), field="center")
    journal.record(actor=by, action="centerrate.created", obj=rate, changes={"center": center.pk, **changes})
    return rate


@transaction.atomic
def update_center_rate(*, rate: CenterRate, by: User, data: dict[str, Any]) -> CenterRate:
    rights.require(by, "catalog.change_centerrate", rate.organization_id)
    rate = CenterRate.objects.select_for_update().get(pk=rate.pk)
    changes = apply_changes(rate, data, CENTER_RATE_FIELDS)
    _check_rate(rate)
    if changes:
        rate.updated_at = timezone.now()
        rate.save()
        journal.record(actor=by, action="centerrate.updated", obj=rate, changes=changes)
    return rate


def set_center_rate(*, organization: Organization, by: User, center: Center, data: dict[str, Any]) -> CenterRate:
    """Create the center's rate, or change the one it has."""
    existing = CenterRate.objects.filter(center=center, organization=organization).first()
    if existing is None:
        return create_center_rate(organization=organization, by=by, center=center, data=data)
    return update_center_rate(rate=existing, by=by, data=data)


# --------------------------------------------------------------------------------------------------
# Price grids and their rules
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_price_grid(
    *, organization: Organization, by: User, data: dict[str, Any], rules: Iterable[Mapping[str, Any]] = ()
) -> PriceGrid:
    rights.require(by, "catalog.add_pricegrid", organization)
    data = {**data, "name": str(data.get("name", "")).strip()}
    grid = PriceGrid(organization=organization, name=data["name"])
    _check_grid_name(grid)
    changes = apply_changes(grid, data, PRICE_GRID_FIELDS)
    _save_unique(grid, _("Une grille tarifaire porte déjà ce nom."))
    journal.record(actor=by, action="pricegrid.created", obj=grid, changes=changes)
    for rule in rules:
        _add_rule(grid=grid, by=by, data=dict(rule))
    return grid


@transaction.atomic
def update_price_grid(*, grid: PriceGrid, by: User, data: dict[str, Any]) -> PriceGrid:
    rights.require(by, "catalog.change_pricegrid", grid.organization_id)
    grid = PriceGrid.objects.select_for_update().get(pk=grid.pk)
    if isinstance(data.get("name"), str):
        data = {**data, "name": data["name"].strip()}
        _check_grid_name(PriceGrid(pk=grid.pk, organization_id=grid.organization_id, name=data["name"]))
    changes = apply_changes(grid, data, PRICE_GRID_FIELDS)
    if changes:
        _save_unique(grid, _("Une grille tarifaire porte déjà ce nom."))
        journal.record(actor=by, action="pricegrid.updated", obj=grid, changes=changes)
    return grid


@transaction.atomic
def delete_price_grid(*, grid: PriceGrid, by: User) -> None:
    rights.require(by, "catalog.delete_pricegrid", grid.organization_id)
    grid = PriceGrid.objects.select_for_update().get(pk=grid.pk)
    used_by = list(CenterRate.objects.filter(price_grid=grid).values_list("center__name", flat=True))
    if used_by:
        raise DomainError(
            _("Cette grille est utilisée par : %(centers)s. Retirez-la de ces centres ou désactivez-la.")
            % {"centers": ", ".join(used_by)},
            code="grid_in_use",
        )
    journal.record(actor=by, action="pricegrid.deleted", obj=grid, changes={"name": grid.name})
    grid.delete()


def _add_rule(*, grid: PriceGrid, by: User, data: dict[str, Any]) -> PriceGridRule:
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="unknown_field",
            fields={name: [_("Champ non modifiable.")] for name in sorted(unknown)},
        )
    dimension = str(data.get("dimension") or "")
    if dimension not in PriceGridRule.Dimension.values:
        raise ValidationFailed(_("Choisissez un critère."), code="invalid", field="dimension")
    rule = PriceGridRule(
        grid=grid,
        dimension=dimension,
        value=normalize_rule_value(dimension, data.get("value")),
        coefficient=_decimal(data.get("coefficient"), "coefficient") if data.get("coefficient") is not None else None,
    )
    validate(rule, exclude=["grid"])
    _check_rule_unique(rule)
    _save_unique(rule, _("Cette grille a déjà une règle pour cette valeur."), field="value")
    journal.record(
        actor=by,
        action="pricegrid.rule_added",
        obj=grid,
        changes={
            "rule": rule.pk,
            "dimension": rule.dimension,
            "value": rule.value,
            "coefficient": str(rule.coefficient),
        },
    )
    return rule


@transaction.atomic
def add_grid_rule(*, grid: PriceGrid, by: User, data: dict[str, Any]) -> PriceGridRule:
    """Add a coefficient to a grid: {dimension, value, coefficient}; the value must fit its dimension."""
    rights.require(by, "catalog.change_pricegrid", grid.organization_id)
    grid = PriceGrid.objects.select_for_update().get(pk=grid.pk)
    return _add_rule(grid=grid, by=by, data=dict(data))


@transaction.atomic
def update_grid_rule(*, rule: PriceGridRule, by: User, data: dict[str, Any]) -> PriceGridRule:
    grid = rule.grid
    rights.require(by, "catalog.change_pricegrid", grid.organization_id)
    rule = PriceGridRule.objects.select_for_update().select_related("grid").get(pk=rule.pk)
    data = dict(data)
    if "coefficient" in data and data["coefficient"] is not None:
        data["coefficient"] = _decimal(data["coefficient"], "coefficient")
    dimension = str(data.get("dimension", rule.dimension))
    if dimension not in PriceGridRule.Dimension.values:
        raise ValidationFailed(_("Choisissez un critère."), code="invalid", field="dimension")
    if "dimension" in data or "value" in data:
        data["value"] = normalize_rule_value(dimension, data.get("value", rule.value))
    changes = apply_changes(rule, data, RULE_FIELDS)
    if changes:
        _check_rule_unique(rule)
        _save_unique(rule, _("Cette grille a déjà une règle pour cette valeur."), field="value")
        journal.record(actor=by, action="pricegrid.rule_updated", obj=rule.grid, changes={"rule": rule.pk, **changes})
    return rule


@transaction.atomic
def remove_grid_rule(*, rule: PriceGridRule, by: User) -> None:
    grid = rule.grid
    rights.require(by, "catalog.change_pricegrid", grid.organization_id)
    rule = PriceGridRule.objects.select_for_update().get(pk=rule.pk)
    journal.record(
        actor=by,
        action="pricegrid.rule_removed",
        obj=grid,
        changes={
            "rule": rule.pk,
            "dimension": rule.dimension,
            "value": rule.value,
            "coefficient": str(rule.coefficient),
        },
    )
    rule.delete()


# --------------------------------------------------------------------------------------------------
# Discounts and their allowances per role
# --------------------------------------------------------------------------------------------------
def _check_centers(organization_id: int, centers: Iterable[Center]) -> list[Center]:
    centers = list(centers)
    for center in centers:
        _same_org(center, organization_id, "centers")
    return centers


@transaction.atomic
def create_discount(
    *,
    organization: Organization,
    by: User,
    data: dict[str, Any],
    allowances: Mapping[Role, Decimal | None] | None = None,
) -> Discount:
    """A discount: name, default percentage, active or not, and the centers it is limited to (none: all)."""
    rights.require(by, "catalog.add_discount", organization)
    data = dict(data)
    centers = _check_centers(organization.pk, data.pop("centers", None) or [])
    if isinstance(data.get("name"), str):
        data["name"] = data["name"].strip()
    discount = Discount(organization=organization, name=data.get("name") or "")
    _check_discount_name(discount)
    changes = apply_changes(discount, data, DISCOUNT_FIELDS)
    _save_unique(discount, _("Une réduction porte déjà ce nom."))
    discount.centers.set(centers)
    journal.record(
        actor=by, action="discount.created", obj=discount, changes={**changes, "centers": [c.pk for c in centers]}
    )
    if allowances:
        _set_allowances(discount=discount, by=by, allowances=allowances)
    return discount


@transaction.atomic
def update_discount(*, discount: Discount, by: User, data: dict[str, Any]) -> Discount:
    rights.require(by, "catalog.change_discount", discount.organization_id)
    discount = Discount.objects.select_for_update().get(pk=discount.pk)
    data = dict(data)
    centers = data.pop("centers", None)
    if isinstance(data.get("name"), str):
        data["name"] = data["name"].strip()
        _check_discount_name(Discount(pk=discount.pk, organization_id=discount.organization_id, name=data["name"]))
    changes = apply_changes(discount, data, DISCOUNT_FIELDS)
    if changes:
        _save_unique(discount, _("Une réduction porte déjà ce nom."))
    if centers is not None:
        centers = _check_centers(discount.organization_id, centers)
        before = sorted(discount.centers.values_list("pk", flat=True))
        after = sorted(center.pk for center in centers)
        if before != after:
            discount.centers.set(centers)
            changes["centers"] = [before, after]
    if changes:
        journal.record(actor=by, action="discount.updated", obj=discount, changes=changes)
    return discount


@transaction.atomic
def delete_discount(*, discount: Discount, by: User) -> None:
    """Quotes and contracts keep their frozen breakdown (the discount's name and percentage at the time)."""
    rights.require(by, "catalog.delete_discount", discount.organization_id)
    discount = Discount.objects.select_for_update().get(pk=discount.pk)
    journal.record(actor=by, action="discount.deleted", obj=discount, changes={"name": discount.name})
    discount.delete()


def _max_percent(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    percent = _decimal(value, "max_percent")
    if percent == 0:
        return None
    if percent < 0 or percent > HUNDRED:
        raise ValidationFailed(
            _("Le maximum est un pourcentage entre 0,01 et 100."), code="invalid_percent", field="max_percent"
        )
    if percent != percent.quantize(Decimal("0.01")):
        raise ValidationFailed(_("Deux décimales au plus."), code="invalid_percent", field="max_percent")
    return percent


def _set_allowances(*, discount: Discount, by: User, allowances: Mapping[Role, Any]) -> dict[str, list[Any]]:
    current = {allowance.role_id: allowance for allowance in discount.allowances.select_for_update()}
    changes: dict[str, list[Any]] = {}
    for role, raw in allowances.items():
        _same_org(role, discount.organization_id, "role")
        percent = _max_percent(raw)
        existing = current.get(role.pk)
        before = str(existing.max_percent) if existing is not None else None
        if percent is None:
            if existing is not None:
                existing.delete()
        elif existing is None:
            DiscountAllowance.objects.create(discount=discount, role=role, max_percent=percent)
        elif existing.max_percent != percent:
            existing.max_percent = percent
            existing.save(update_fields=["max_percent"])
        after = str(percent) if percent is not None else None
        if before != after:
            changes[role.name] = [before, after]
    if changes:
        journal.record(actor=by, action="discount.allowances_changed", obj=discount, changes=changes)
    return changes


@transaction.atomic
def set_discount_allowances(*, discount: Discount, by: User, allowances: Mapping[Role, Any]) -> Discount:
    """Set the maximum percentage each listed role may grant (None / 0 / empty: the role may not grant it).
    Roles not listed keep their allowance."""
    rights.require(by, "catalog.change_discount", discount.organization_id)
    discount = Discount.objects.select_for_update().get(pk=discount.pk)
    _set_allowances(discount=discount, by=by, allowances=allowances)
    return discount


def set_discount_allowance(*, discount: Discount, by: User, role: Role, max_percent: Any) -> Discount:
    return set_discount_allowances(discount=discount, by=by, allowances={role: max_percent})
