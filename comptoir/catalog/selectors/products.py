"""Reads of the service catalog that depend on who asks: tenant-scoped, without N+1."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from comptoir.catalog.models import Product, ProductCenterPrice
from comptoir.core import rights
from comptoir.core.models import Center, Organization, User
from comptoir.core.selectors import centers_for


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def products_for(user: User, organization: Organization | int) -> QuerySet[Product]:
    """The organization's catalog (articles are shared by every center; availability is per center)."""
    if not rights.has_right(user, "catalog.view_product", organization):
        return Product.objects.none()
    return Product.objects.filter(organization=_org_id(organization))


def product_rows_for(user: User, organization: Organization | int) -> QuerySet[Product]:
    """The catalog list's rows, with the number of centers that have their own settings."""
    overrides = (
        ProductCenterPrice.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(total=Count("pk"))
    )
    return products_for(user, organization).annotate(
        center_override_count=Coalesce(Subquery(overrides.values("total"), output_field=IntegerField()), 0)
    )


def products_with_prices(qs: QuerySet[Product]) -> QuerySet[Product]:
    return qs.prefetch_related(
        Prefetch("center_prices", queryset=ProductCenterPrice.objects.select_related("center").order_by("center__name"))
    )


@dataclass
class CenterAvailability:
    """One line of a product's "per center" table."""

    center: Center
    is_available: bool
    unit_price: Decimal | None  # the center's own price, None: the catalog price
    has_override: bool

    @property
    def effective_price(self) -> Decimal | None:
        return self.unit_price


def center_availability(user: User, organization: Organization | int, product: Product) -> list[CenterAvailability]:
    """For each center the viewer may see: is the product available there, and at which price (two queries)."""
    rows = {row.center_id: row for row in ProductCenterPrice.objects.filter(product=product)}
    lines = []
    for center in centers_for(user, organization).order_by("name", "id"):
        row = rows.get(center.pk)
        lines.append(
            CenterAvailability(
                center=center,
                is_available=row.is_available if row else product.available_everywhere,
                unit_price=row.unit_price if row else None,
                has_override=row is not None,
            )
        )
    return lines


def price_in_center(product: Product, center: Center | int) -> Decimal | None:
    """The product's price excluding tax in a center: its own price there, else the catalog price; None when
    the product is not available in that center."""
    center_id = center if isinstance(center, int) else center.pk
    row = ProductCenterPrice.objects.filter(product=product, center_id=center_id).first()
    if row is None:
        return product.unit_price if product.available_everywhere else None
    if not row.is_available:
        return None
    return row.unit_price if row.unit_price is not None else product.unit_price


def products_available_in(organization: Organization | int, center: Center | int) -> QuerySet[Product]:
    """Active products offered in a center: available everywhere and not switched off there, or switched on."""
    center_id = center if isinstance(center, int) else center.pk
    rows = ProductCenterPrice.objects.filter(center_id=center_id)
    return (
        Product.objects.filter(organization=_org_id(organization), is_active=True)
        .filter(Q(available_everywhere=True) | Q(pk__in=rows.filter(is_available=True).values("product_id")))
        .exclude(pk__in=rows.filter(is_available=False).values("product_id"))
    )
