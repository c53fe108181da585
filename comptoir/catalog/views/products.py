"""Gestion → Catalogue de services: main services, monthly options, consumptions and plans, with their
availability and price per center (frontmanager §16)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.catalog.filters import ProductFilter
from comptoir.catalog.forms import CenterPriceFormSet, ProductForm
from comptoir.catalog.models import Product
from comptoir.catalog.selectors import products as selectors
from comptoir.catalog.services import products as services
from comptoir.catalog.views.spaces import stored
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.money import format_money
from comptoir.core.navigation import Entry
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    Tab,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)

register_object_url("catalog.product", "catalog:product_detail")
for _suffix, _verb, _icon in [
    ("deactivated", gettext_lazy("Désactivation"), "pause-circle"),
    ("reactivated", gettext_lazy("Réactivation"), "play-circle"),
    ("center_prices_changed", gettext_lazy("Prix par centre modifiés"), "geo-alt"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [
    Entry(
        "operations", gettext_lazy("Catalogue de services"), "catalog:product_list", "catalog.view_product", 30,
        "box-seam",
    )
]  # fmt: skip


def price_label(product: Product, price: Any = None) -> str:
    """ "1 234,56 € HT / mois" """
    amount = format_money(product.unit_price if price is None else price)
    return _("%(amount)s HT / %(unit)s") % {"amount": amount, "unit": product.get_unit_display()}


def vat_label(product: Product) -> str:
    return _("TVA %(rate)s") % {"rate": product.get_vat_rate_display()}


def detail_label(product: Product) -> str:
    """What kind of main service or plan it is."""
    if product.kind == Product.Kind.MAIN_SERVICE:
        return product.get_service_type_display()
    if product.kind == Product.Kind.PLAN:
        return product.get_plan_type_display()
    return ""


def _breadcrumb() -> list[tuple[str, str]]:
    return [(_("Catalogue de services"), reverse("catalog:product_list"))]


def _product(request: HttpRequest, pk: int) -> Product:
    return get_object_or_404(selectors.products_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
PRODUCT_COLUMNS = [
    Column(
        "name",
        gettext_lazy("Nom"),
        accessor=lambda product: stored(product.name),
        sort="name",
        link=True,
        export=lambda product: product.name,
    ),
    Column("kind", gettext_lazy("Type"), accessor=lambda product: product.get_kind_display(), sort="kind"),
    Column("detail", gettext_lazy("Service / formule"), accessor=detail_label),
    Column(
        "unit_price",
        gettext_lazy("Prix"),
        accessor=price_label,
        sort="unit_price",
        css_class="text-end text-nowrap",
        export=lambda product: product.unit_price,
    ),
    Column("unit", gettext_lazy("Unité"), accessor=lambda product: product.get_unit_display(), export=True),
    Column(
        "vat_rate",
        gettext_lazy("TVA"),
        accessor=vat_label,
        sort="vat_rate",
        export=lambda product: product.get_vat_rate_display(),
    ),
    Column("accounting_code", gettext_lazy("Code comptable"), sort="accounting_code", css_class="font-monospace"),
    Column(
        "centers",
        gettext_lazy("Centres"),
        accessor=lambda product: (
            (_("Tous") if product.available_everywhere else _("Sur activation"))
            + (f" ({product.center_override_count})" if product.center_override_count else "")
        ),
    ),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        sort="is_active",
        true_label=gettext_lazy("Actif"),
        false_label=gettext_lazy("Désactivé"),
    ),
]
# The unit column is only in the CSV (the price column already says "/ mois").
LIST_COLUMNS = [column for column in PRODUCT_COLUMNS if column.key != "unit"]

KIND_TABS = [(None, gettext_lazy("Tous")), *Product.Kind.choices]


@right_required("catalog.view_product")
def product_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or None
    tabs = []
    for value, label in KIND_TABS:
        params = request.GET.copy()
        for name in ("kind", "cursor", "export"):
            params.pop(name, None)
        if value:
            params["kind"] = value
        encoded = params.urlencode()
        tabs.append({"label": label, "url": f"{request.path}?{encoded}" if encoded else request.path,
                     "active": value == kind})  # fmt: skip
    page = ListPage(
        request,
        queryset=selectors.product_rows_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=LIST_COLUMNS,
        filterset_class=ProductFilter,
        search_fields=["name", "description", "accounting_code"],
        search_placeholder=gettext_lazy("Nom, description, code comptable…"),
        default_sort="name",
        title=gettext_lazy("Catalogue de services"),
        export_name="catalogue",
        create_url=reverse("catalog:product_create") if can(request, "catalog.add_product") else None,
        create_label=gettext_lazy("Ajouter un article"),
        empty_message=gettext_lazy("Aucun article ne correspond."),
        intro_template="catalog/products/_kind_tabs.html",
        extra_context={"kind_tabs": tabs},
    )
    if request.GET.get("export") == "csv":
        page.columns = PRODUCT_COLUMNS
    return page.response()


# --------------------------------------------------------------------------------------------------
# Creation and edition
# --------------------------------------------------------------------------------------------------
@right_required("catalog.add_product")
def product_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    if request.GET.get("kind") in Product.Kind.values:
        initial["kind"] = request.GET["kind"]
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,
                data=form.service_data(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("L'article « %(name)s » est créé.") % {"name": product.name})
            return redirect(product)
    return render(
        request,
        "catalog/products/form.html",
        {
            "form": form,
            "title": _("Nouvel article du catalogue"),
            "intro": _(
                "Service principal, option mensuelle, consommation ou formule (abonnement, pack, domiciliation). "
                "Les champs « Formule » ne concernent que les formules."
            ),
            "fieldsets": ProductForm.fieldsets,
            "cancel_url": reverse("catalog:product_list"),
            "breadcrumb": _breadcrumb(),
            "submit_label": _("Créer l'article"),
        },
    )


@right_required("catalog.change_product")
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(request, pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            product = services.update_product(product=product, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if data:
                messages.success(request, _("L'article « %(name)s » est enregistré.") % {"name": product.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(product)
    return render(
        request,
        "catalog/products/form.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": product.name},
            "fieldsets": ProductForm.fieldsets,
            "cancel_url": product.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(), (product.name, product.get_absolute_url())],
        },
    )


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------
@right_required("catalog.view_product")
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(request, pk)
    lines = selectors.center_availability(request.user, request.organization, product)  # type: ignore[attr-defined]
    return render(
        request,
        "catalog/products/detail.html",
        {
            "product": product,
            "object": product,
            "price_label": price_label(product),
            "vat_label": vat_label(product),
            "detail_label": detail_label(product),
            "included_services": [line for line in product.included_services.splitlines() if line.strip()],
            "center_lines": [
                {"line": line, "price": price_label(product, line.unit_price) if line.unit_price is not None else None}
                for line in lines
            ],
            "tabs": [
                Tab("info", _("Informations"), template="catalog/products/_info.html"),
                Tab("centers", _("Centres"), template="catalog/products/_centers.html", count=len(lines)),
                Tab("history", _("Historique"), template="manage/_timeline.html"),
            ],
            "timeline": timeline(product),
            "breadcrumb": _breadcrumb(),
            "can_change": can(request, "catalog.change_product"),
            "can_delete": can(request, "catalog.delete_product"),
        },
    )


@right_required("catalog.change_product")
def product_prices(request: HttpRequest, pk: int) -> HttpResponse:
    """Availability and price of the product in each center the viewer may work in."""
    product = _product(request, pk)
    organization = request.organization  # type: ignore[attr-defined]
    lines = selectors.center_availability(request.user, organization, product)
    initial = [
        {"center_id": line.center.pk, "is_available": line.is_available, "unit_price": line.unit_price}
        for line in lines
    ]
    formset = CenterPriceFormSet(request.POST or None, initial=initial, prefix="centers")
    error = None
    if request.method == "POST" and formset.is_valid():
        centers = {center.pk: center for center in core_selectors.centers_for(request.user, organization)}
        prices = []
        for form in formset.forms:
            center = centers.get(form.cleaned_data.get("center_id"))
            if center is None:
                continue
            prices.append(
                {
                    "center": center,
                    "is_available": form.cleaned_data.get("is_available", False),
                    "unit_price": form.cleaned_data.get("unit_price"),
                }
            )
        try:
            services.set_product_center_prices(product=product, by=request.user, prices=prices)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Les prix par centre sont enregistrés."))
            return redirect(product)
    rows = list(zip(lines, formset.forms, strict=False))
    return render(
        request,
        "catalog/products/prices.html",
        {
            "product": product,
            "object": product,
            "formset": formset,
            "rows": rows,
            "error": error,
            "catalog_price": price_label(product),
            "title": _("Prix par centre de « %(name)s »") % {"name": product.name},
            "breadcrumb": [*_breadcrumb(), (product.name, product.get_absolute_url())],
        },
        status=400 if request.method == "POST" else 200,
    )


# --------------------------------------------------------------------------------------------------
# Deactivation and deletion
# --------------------------------------------------------------------------------------------------
@right_required("catalog.change_product")
def product_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        product = services.set_product_active(product=product, by=request.user, active=not product.is_active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if product.is_active:
            messages.success(request, _("L'article « %(name)s » est réactivé.") % {"name": product.name})
        else:
            messages.success(request, _("L'article « %(name)s » est désactivé.") % {"name": product.name})
    return redirect(product)


@right_required("catalog.delete_product")
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product(request, pk)
    if request.method == "POST":
        try:
            services.delete_product(product=product, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(product)
        messages.success(request, _("L'article « %(name)s » est supprimé.") % {"name": product.name})
        return redirect("catalog:product_list")
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer « %(name)s » ?") % {"name": product.name},
            "message": _(
                "Cette action est définitive. Un article déjà utilisé dans un document ne peut être que désactivé."
            ),
            "confirm_label": _("Supprimer l'article"),
            "danger": True,
            "cancel_url": product.get_absolute_url(),
            "breadcrumb": [*_breadcrumb(), (product.name, product.get_absolute_url())],
        },
    )


urlpatterns = [
    path("products/", product_list, name="product_list"),
    path("products/new/", product_create, name="product_create"),
    path("products/<int:pk>/", product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", product_edit, name="product_edit"),
    path("products/<int:pk>/prices/", product_prices, name="product_prices"),
    path("products/<int:pk>/deactivate/", product_deactivate, name="product_deactivate"),
    path("products/<int:pk>/delete/", product_delete, name="product_delete"),
]
