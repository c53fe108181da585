"""Every write of the service catalog ("Catalogue de services", frontmanager §16): main services, monthly
options, consumptions and plans (subscription, pack, domiciliation), with their availability and price per
center.

Keyword-only functions that check the actor's rights (`catalog.*_product`), validate, run in one
transaction and write the audit journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from comptoir.catalog.models import Product, ProductCenterPrice, VatRate
from comptoir.catalog.services.spaces import check_center_allowed
from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import Center, Organization, User
from comptoir.core.services import apply_changes

PRODUCT_FIELDS = [
    "kind", "service_type", "plan_type", "name", "description", "unit", "unit_price", "vat_rate",
    "vat_exemption_reason", "accounting_code", "credits", "credit_period", "validity_days", "included_services",
    "booking_discount", "available_everywhere", "is_active",
]  # fmt: skip
PLAN_FIELDS = ("plan_type", "credits", "credit_period", "validity_days", "included_services", "booking_discount")
MAX_CENTER_PRICES = 500


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    for name in ("name", "accounting_code", "vat_exemption_reason"):
        if isinstance(data.get(name), str):
            data[name] = " ".join(data[name].split())
    if isinstance(data.get("accounting_code"), str):
        data["accounting_code"] = data["accounting_code"].replace(" ", "").upper()
    for name in ("service_type", "plan_type", "credit_period"):
        if name in data and data[name] is None:
            data[name] = ""
    return data


def _clear_irrelevant(product: Product) -> None:
    """Fields that do not apply to the product's kind are emptied (a consumption has no credits...)."""
    if product.kind != Product.Kind.PLAN:
        product.plan_type = ""
        product.credits = None
        product.credit_period = ""
        product.validity_days = None
        product.included_services = ""
        product.booking_discount = Decimal("0.00")
        return
    if product.plan_type == Product.PlanType.PACK:  # a subscription or a domiciliation renews its credits
        product.credit_period = ""
    if product.plan_type != Product.PlanType.PACK:
        product.validity_days = None


def _check_vat(product: Product) -> None:
    if product.vat_rate == VatRate.ZERO and not product.vat_exemption_reason:
        raise ValidationFailed(
            _("Un motif d'exonération est obligatoire quand le taux de TVA est nul (ex. « Article 261 D-4° du CGI »)."),
            code="vat_exemption_reason_required",
            field="vat_exemption_reason",
        )


def _check_product(product: Product) -> None:
    _check_vat(product)
    if product.kind == Product.Kind.MAIN_SERVICE and not product.service_type:
        raise ValidationFailed(
            _("Un service principal demande son type de service."), code="required", field="service_type"
        )
    if product.kind == Product.Kind.CONSUMPTION and product.unit == Product.Unit.MONTH:
        raise ValidationFailed(
            _("Une consommation se facture à l'unité (impression, boisson, heure…), pas au mois."),
            code="invalid_unit",
            field="unit",
        )
    if product.kind == Product.Kind.PLAN:
        if not product.plan_type:
            raise ValidationFailed(_("Choisissez le type de formule."), code="required", field="plan_type")
        if product.plan_type in (Product.PlanType.SUBSCRIPTION, Product.PlanType.PACK) and not product.credits:
            raise ValidationFailed(_("Indiquez le nombre de crédits de la formule."), code="required", field="credits")
        if product.plan_type == Product.PlanType.SUBSCRIPTION and not product.credit_period:
            raise ValidationFailed(
                _("Indiquez la fréquence de renouvellement des crédits."), code="required", field="credit_period"
            )
        if product.plan_type == Product.PlanType.PACK and not product.validity_days:
            raise ValidationFailed(
                _("Indiquez la durée de validité du pack (en jours)."), code="required", field="validity_days"
            )
        if product.plan_type == Product.PlanType.DOMICILIATION and not product.included_services.strip():
            raise ValidationFailed(
                _("Listez les services inclus dans la domiciliation."), code="required", field="included_services"
            )
    _check_duplicate(product)


def _check_duplicate(product: Product) -> None:
    if (
        product.name
        and Product.objects.filter(
            organization_id=product.organization_id, kind=product.kind, name__iexact=product.name
        )
        .exclude(pk=product.pk)
        .exists()
    ):
        raise ValidationFailed(_("Un article de ce type porte déjà ce nom."), code="duplicate_name", field="name")


def _save(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            _("Un article de ce type porte déjà ce nom."), code="duplicate_name", field="name"
        ) from exc


def _apply(product: Product, data: dict[str, Any]) -> dict[str, list[Any]]:
    before = journal.snapshot(product, PRODUCT_FIELDS)
    try:
        apply_changes(product, _normalize(data), PRODUCT_FIELDS)
    except ValidationFailed:
        # the model's constraints speak of no field: say which one
        _check_vat(product)
        _check_duplicate(product)
        raise
    _clear_irrelevant(product)
    return journal.diff(before, journal.snapshot(product, PRODUCT_FIELDS))


# --------------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_product(
    *,
    organization: Organization,
    by: User,
    data: dict[str, Any],
    center_prices: Iterable[dict[str, Any]] | None = None,
) -> Product:
    rights.require(by, "catalog.add_product", organization)
    product = Product(organization=organization)
    _apply(product, data)
    _check_product(product)
    _save(product)
    journal.record(actor=by, action="product.created", obj=product, changes=journal.snapshot(product, PRODUCT_FIELDS))
    if center_prices:
        set_product_center_prices(product=product, by=by, prices=center_prices)
    return product


@transaction.atomic
def update_product(
    *,
    product: Product,
    by: User,
    data: dict[str, Any],
    center_prices: Iterable[dict[str, Any]] | None = None,
) -> Product:
    rights.require(by, "catalog.change_product", product.organization_id)
    product = Product.objects.select_for_update().get(pk=product.pk)
    changes = _apply(product, data)
    if changes:
        _check_product(product)
        _save(product)
        journal.record(actor=by, action="product.updated", obj=product, changes=changes)
    if center_prices is not None:
        set_product_center_prices(product=product, by=by, prices=center_prices)
    return product


@transaction.atomic
def set_product_active(*, product: Product, by: User, active: bool) -> Product:
    rights.require(by, "catalog.change_product", product.organization_id)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.is_active != active:
        product.is_active = active
        product.save(update_fields=["is_active"])
        journal.record(
            actor=by, action="product.reactivated" if active else "product.deactivated", obj=product,
            changes={"is_active": [not active, active]},
        )  # fmt: skip
    return product


@transaction.atomic
def delete_product(*, product: Product, by: User) -> None:
    """Delete an article no document refers to; otherwise refuse: deactivate it."""
    rights.require(by, "catalog.delete_product", product.organization_id)
    product = Product.objects.select_for_update().get(pk=product.pk)
    snapshot = journal.snapshot(product, PRODUCT_FIELDS)
    pk, name = product.pk, product.name
    try:
        with transaction.atomic():
            product.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise DomainError(
            _("Cet article est utilisé (devis, contrats, factures…) : désactivez-le plutôt."), code="in_use"
        ) from exc
    product.pk = pk
    journal.record(actor=by, action="product.deleted", obj=product, changes=snapshot, message=name)


# --------------------------------------------------------------------------------------------------
# Availability and price per center
# --------------------------------------------------------------------------------------------------
def _price(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        value = str(value)
    try:
        price = Decimal(str(value).replace(",", ".").replace(" ", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(_("Prix invalide."), code="invalid", field="center_prices") from exc
    if not price.is_finite() or price < 0 or price >= Decimal("10000000000"):
        raise ValidationFailed(_("Prix invalide."), code="invalid", field="center_prices")
    if price != price.quantize(Decimal("0.01")):
        raise ValidationFailed(_("Un prix a deux décimales au plus."), code="invalid", field="center_prices")
    return price


@transaction.atomic
def set_product_center_prices(
    *, product: Product, by: User, prices: Iterable[dict[str, Any]]
) -> list[ProductCenterPrice]:
    """Availability and optional price of the product in some centers: each item is
    {"center": Center, "is_available": bool, "unit_price": Decimal | None}. Centers not listed keep their
    settings; an item equal to the default (available as the product is everywhere, no price) removes the row."""
    rights.require(by, "catalog.change_product", product.organization_id)
    product = Product.objects.select_for_update().get(pk=product.pk)
    items = list(prices)
    if len(items) > MAX_CENTER_PRICES:
        raise ValidationFailed(_("Trop de centres."), code="too_many", field="center_prices")
    wanted: dict[int, tuple[Center, bool, Decimal | None]] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ValidationFailed(_("Données invalides."), code="invalid", field="center_prices")
        center = item.get("center")
        if not isinstance(center, Center):
            raise ValidationFailed(_("Centre inconnu."), code="not_found", field="center_prices")
        try:
            check_center_allowed(by=by, organization=product.organization_id, center=center)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, code=exc.code, field="center_prices") from exc
        if center.pk in wanted:
            raise ValidationFailed(_("Un centre figure deux fois."), code="duplicate", field="center_prices")
        wanted[center.pk] = (center, bool(item.get("is_available", True)), _price(item.get("unit_price")))
    existing = {row.center_id: row for row in ProductCenterPrice.objects.filter(product=product, center_id__in=wanted)}
    changes: dict[str, list[Any]] = {}
    for center_id, (center, available, price) in wanted.items():
        row = existing.get(center_id)
        before = [row.is_available, _plain(row.unit_price)] if row else [product.available_everywhere, None]
        after = [available, _plain(price)]
        if before == after:
            continue
        changes[center.name] = [_describe(*before), _describe(*after)]
        if available == product.available_everywhere and price is None:
            if row:
                row.delete()
        elif row:
            row.is_available, row.unit_price = available, price
            row.save(update_fields=["is_available", "unit_price"])
        else:
            ProductCenterPrice.objects.create(
                organization_id=product.organization_id, product=product, center=center, is_available=available,
                unit_price=price,
            )  # fmt: skip
    if changes:
        journal.record(actor=by, action="product.center_prices_changed", obj=product, changes=changes)
    return list(ProductCenterPrice.objects.filter(product=product).select_related("center"))


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _describe(available: bool, price: str | None) -> str:
    if not available:
        return _("Indisponible")
    return _("Disponible, %(price)s € HT") % {"price": price.replace(".", ",")} if price else _("Disponible")
