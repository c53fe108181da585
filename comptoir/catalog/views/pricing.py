"""Paramètres → Pricing (frontmanager §17): the price per m² of each center and its grid, the price grids
and their rules, the discounts with the maximum each role may grant, and a simulator that shows the
breakdown `office_price` computes for a space (what staff use to check a grid)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.catalog import pricing
from comptoir.catalog.forms_pricing import (
    AllowancesForm,
    CenterRateForm,
    DiscountForm,
    GridRuleForm,
    PriceGridForm,
    SimulatorForm,
)
from comptoir.catalog.models import CenterRate, Discount, PriceGrid, PriceGridRule
from comptoir.catalog.selectors import pricing as selectors
from comptoir.catalog.services import pricing as services
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    CHANGE_LABELS,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)

register_object_url("catalog.pricegrid", "catalog:pricegrid_detail")
register_object_url("catalog.discount", "catalog:discount_detail")
for _suffix, _verb, _icon in [
    ("rule_added", gettext_lazy("Règle ajoutée"), "plus-square"),
    ("rule_updated", gettext_lazy("Règle modifiée"), "pencil-square"),
    ("rule_removed", gettext_lazy("Règle retirée"), "dash-square"),
    ("allowances_changed", gettext_lazy("Maximums par rôle modifiés"), "shield-check"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)
# the grid's journal names its rules' fields
for _name, _label in [
    ("rule", gettext_lazy("Règle")),
    ("dimension", gettext_lazy("Critère")),
    ("value", gettext_lazy("Valeur")),
    ("coefficient", gettext_lazy("Coefficient")),
]:
    CHANGE_LABELS.setdefault(_name, _label)

NAME_CELL = "catalog/pricing/_name_cell.html"


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --------------------------------------------------------------------------------------------------
# Prix par centre
# --------------------------------------------------------------------------------------------------
def _rates_breadcrumb() -> list[tuple[str, str]]:
    return [(_("Prix par centre"), reverse("catalog:centerrate_list"))]


@right_required("catalog.view_centerrate")
def centerrate_list(request: HttpRequest) -> HttpResponse:
    """Every center with its price per m² and its grid; each row is edited in place (HTMX)."""
    centers = list(selectors.centers_with_rates(request.user, _org(request)))
    rows = [{"center": center, "rate": getattr(center, "rate", None)} for center in centers]
    return render(
        request,
        "catalog/pricing/centerrate_list.html",
        {
            "title": _("Prix par centre"),
            "rows": rows,
            "can_add": can(request, "catalog.add_centerrate"),
            "can_change": can(request, "catalog.change_centerrate"),
        },
    )


def _rate_row(request: HttpRequest, center: Any, rate: CenterRate | None) -> HttpResponse:
    return render(
        request,
        "catalog/pricing/_centerrate_row.html",
        {
            "row": {"center": center, "rate": rate},
            "can_add": can(request, "catalog.add_centerrate"),
            "can_change": can(request, "catalog.change_centerrate"),
        },
    )


def _rate_form_response(
    request: HttpRequest, form: CenterRateForm, center: Any, post_url: str, rate: CenterRate | None
) -> HttpResponse:
    if _is_htmx(request):
        return render(
            request,
            "catalog/pricing/_centerrate_form_row.html",
            {"form": form, "row": {"center": center, "rate": rate}, "post_url": post_url},
        )
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Prix au m² — %(center)s") % {"center": center.name},
            "cancel_url": reverse("catalog:centerrate_list"),
            "breadcrumb": _rates_breadcrumb(),
        },
    )


@right_required("catalog.change_centerrate")
def centerrate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rate = get_object_or_404(selectors.center_rates_for(request.user, _org(request)), pk=pk)
    form = CenterRateForm(request.POST or None, instance=rate, user=request.user, organization=_org(request))
    post_url = reverse("catalog:centerrate_edit", args=[rate.pk])
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            rate = services.update_center_rate(rate=rate, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if _is_htmx(request):
                return _rate_row(request, rate.center, rate)
            messages.success(request, _("Le prix du centre %(center)s est enregistré.") % {"center": rate.center.name})
            return redirect("catalog:centerrate_list")
    return _rate_form_response(request, form, rate.center, post_url, rate)


@right_required("catalog.add_centerrate")
def centerrate_create(request: HttpRequest, center_pk: int) -> HttpResponse:
    center = get_object_or_404(selectors.centers_for_pricing(request.user, _org(request)), pk=center_pk)
    existing = CenterRate.objects.filter(center=center).first()
    if existing is not None:
        return redirect("catalog:centerrate_edit", existing.pk)
    form = CenterRateForm(request.POST or None, user=request.user, organization=_org(request))
    post_url = reverse("catalog:centerrate_create", args=[center.pk])
    if request.method == "POST" and form.is_valid():
        try:
            rate = services.create_center_rate(
                organization=_org(request), by=request.user, center=center, data=form.service_data()
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if _is_htmx(request):
                return _rate_row(request, center, rate)
            messages.success(request, _("Le prix du centre %(center)s est enregistré.") % {"center": center.name})
            return redirect("catalog:centerrate_list")
    return _rate_form_response(request, form, center, post_url, None)


@right_required("catalog.view_centerrate")
def centerrate_row(request: HttpRequest, center_pk: int) -> HttpResponse:
    """The display row of a center (the inline edit's "cancel")."""
    center = get_object_or_404(selectors.centers_with_rates(request.user, _org(request)), pk=center_pk)
    return _rate_row(request, center, getattr(center, "rate", None))


# --------------------------------------------------------------------------------------------------
# Grilles tarifaires
# --------------------------------------------------------------------------------------------------
def _grids_breadcrumb() -> list[tuple[str, str]]:
    return [(_("Grilles tarifaires"), reverse("catalog:pricegrid_list"))]


PRICE_GRID_COLUMNS = [
    Column("name", gettext_lazy("Nom"), sort="name", link=True, template=NAME_CELL),
    Column("description", gettext_lazy("Description"), template=NAME_CELL),
    Column("rule_count", gettext_lazy("Règles"), kind="number", sort="rule_count"),
    Column("center_count", gettext_lazy("Centres"), kind="number", sort="center_count"),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        true_label=gettext_lazy("Active"),
        false_label=gettext_lazy("Inactive"),
    ),
]


def _grid(request: HttpRequest, pk: int) -> PriceGrid:
    return get_object_or_404(selectors.price_grids_with_rules(request.user, _org(request)), pk=pk)


@right_required("catalog.view_pricegrid")
def pricegrid_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.price_grid_rows(request.user, _org(request)),
        columns=PRICE_GRID_COLUMNS,
        search_fields=["name", "description"],
        default_sort="name",
        title=gettext_lazy("Grilles tarifaires"),
        export_name="grilles-tarifaires",
        create_url=reverse("catalog:pricegrid_create") if can(request, "catalog.add_pricegrid") else None,
        create_label=gettext_lazy("Nouvelle grille"),
        empty_message=gettext_lazy("Aucune grille tarifaire pour le moment."),
    ).response()


@right_required("catalog.add_pricegrid")
def pricegrid_create(request: HttpRequest) -> HttpResponse:
    form = PriceGridForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            grid = services.create_price_grid(organization=_org(request), by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"__all__": "name"})
        else:
            messages.success(request, _("La grille « %(name)s » est créée.") % {"name": grid.name})
            return redirect(grid)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle grille tarifaire"),
            "intro": _(
                "Une grille ajuste le prix de base (surface × prix au m²) par des coefficients selon la typologie "
                "de l'espace, la durée d'engagement ou le service. Vous ajouterez ses règles ensuite."
            ),
            "cancel_url": reverse("catalog:pricegrid_list"),
            "breadcrumb": _grids_breadcrumb(),
            "submit_label": _("Créer la grille"),
        },
    )


def _rules_context(request: HttpRequest, grid: PriceGrid, form: GridRuleForm | None = None) -> dict[str, Any]:
    return {
        "grid": grid,
        "rules": selectors.grid_rules(grid),
        "rule_form": form or GridRuleForm(initial={"dimension": PriceGridRule.Dimension.TERM}),
        "can_change": can(request, "catalog.change_pricegrid"),
    }


@right_required("catalog.view_pricegrid")
def pricegrid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    grid = _grid(request, pk)
    centers = [rate.center for rate in CenterRate.objects.filter(price_grid=grid).select_related("center")]
    return render(
        request,
        "catalog/pricing/pricegrid_detail.html",
        {
            **_rules_context(request, grid),
            "object": grid,
            "centers": centers,
            "timeline": timeline(grid),
            "breadcrumb": _grids_breadcrumb(),
        },
    )


@right_required("catalog.change_pricegrid")
def pricegrid_edit(request: HttpRequest, pk: int) -> HttpResponse:
    grid = _grid(request, pk)
    form = PriceGridForm(request.POST or None, instance=grid)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            grid = services.update_price_grid(grid=grid, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"__all__": "name"})
        else:
            if data:
                messages.success(request, _("La grille « %(name)s » est enregistrée.") % {"name": grid.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(grid)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": grid.name},
            "cancel_url": grid.get_absolute_url(),
            "breadcrumb": [*_grids_breadcrumb(), (grid.name, grid.get_absolute_url())],
        },
    )


@right_required("catalog.delete_pricegrid")
def pricegrid_delete(request: HttpRequest, pk: int) -> HttpResponse:
    grid = _grid(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.delete_price_grid(grid=grid, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(grid)
    messages.success(request, _("La grille « %(name)s » est supprimée.") % {"name": grid.name})
    return redirect("catalog:pricegrid_list")


def _rules_response(request: HttpRequest, grid: PriceGrid, form: GridRuleForm | None = None) -> HttpResponse:
    if _is_htmx(request):
        grid = _grid(request, grid.pk)  # fresh rules
        return render(request, "catalog/pricing/_grid_rules.html", _rules_context(request, grid, form))
    return redirect(grid)


@right_required("catalog.change_pricegrid")
def pricegrid_rule_add(request: HttpRequest, pk: int) -> HttpResponse:
    grid = _grid(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = GridRuleForm(request.POST)
    if form.is_valid():
        try:
            services.add_grid_rule(grid=grid, by=request.user, data=form.rule_data())
        except DomainError as exc:
            add_domain_error(
                form, exc, aliases={"value": "months" if form.cleaned_data["dimension"] == "term" else "value"}
            )
        else:
            if not _is_htmx(request):
                messages.success(request, _("La règle est ajoutée."))
            return _rules_response(request, grid)
    if _is_htmx(request):
        return _rules_response(request, grid, form)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(grid)


@right_required("catalog.change_pricegrid")
def pricegrid_rule_delete(request: HttpRequest, pk: int, rule_id: int) -> HttpResponse:
    grid = _grid(request, pk)
    rule = get_object_or_404(PriceGridRule.objects.select_related("grid"), grid=grid, pk=rule_id)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.remove_grid_rule(rule=rule, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if not _is_htmx(request):
            messages.success(request, _("La règle est retirée."))
    return _rules_response(request, grid)


# --------------------------------------------------------------------------------------------------
# Réductions
# --------------------------------------------------------------------------------------------------
def _discounts_breadcrumb() -> list[tuple[str, str]]:
    return [(_("Réductions"), reverse("catalog:discount_list"))]


def _center_names(discount: Discount) -> str:
    names = [center.name for center in discount.centers.all()]
    return ", ".join(names) if names else _("Tous les centres")


def _allowance_summary(discount: Discount) -> str:
    return ", ".join(
        f"{allowance.role.display_name} ≤ {pricing.format_number(allowance.max_percent)} %"
        for allowance in discount.allowances.all()
    )


DISCOUNT_COLUMNS = [
    Column("name", gettext_lazy("Nom"), sort="name", link=True, template=NAME_CELL),
    Column("percent", gettext_lazy("Pourcentage"), kind="number", sort="percent"),
    Column("centers", gettext_lazy("Centres"), accessor=_center_names, template=NAME_CELL),
    Column("allowances", gettext_lazy("Maximum par rôle"), accessor=_allowance_summary, template=NAME_CELL),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        true_label=gettext_lazy("Active"),
        false_label=gettext_lazy("Inactive"),
    ),
]


def _discount(request: HttpRequest, pk: int) -> Discount:
    return get_object_or_404(selectors.discount_rows(request.user, _org(request)), pk=pk)


@right_required("catalog.view_discount")
def discount_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.discount_rows(request.user, _org(request)),
        columns=DISCOUNT_COLUMNS,
        search_fields=["name"],
        default_sort="name",
        title=gettext_lazy("Réductions"),
        export_name="reductions",
        create_url=reverse("catalog:discount_create") if can(request, "catalog.add_discount") else None,
        create_label=gettext_lazy("Nouvelle réduction"),
        empty_message=gettext_lazy("Aucune réduction pour le moment."),
    ).response()


@right_required("catalog.add_discount")
def discount_create(request: HttpRequest) -> HttpResponse:
    form = DiscountForm(
        request.POST or None, initial={"is_active": True}, user=request.user, organization=_org(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            discount = services.create_discount(organization=_org(request), by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"__all__": "name"})
        else:
            messages.success(
                request,
                _("La réduction « %(name)s » est créée. Indiquez les rôles qui peuvent l'accorder.")
                % {"name": discount.name},
            )
            return redirect(discount)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle réduction"),
            "intro": _("Sans centre choisi, la réduction vaut pour tous les centres."),
            "cancel_url": reverse("catalog:discount_list"),
            "breadcrumb": _discounts_breadcrumb(),
            "submit_label": _("Créer la réduction"),
        },
    )


def _allowances_form(request: HttpRequest, discount: Discount, data: Any = None) -> AllowancesForm:
    return AllowancesForm(data, discount=discount, roles=list(selectors.roles_of(_org(request))))


@right_required("catalog.view_discount")
def discount_detail(request: HttpRequest, pk: int) -> HttpResponse:
    discount = _discount(request, pk)
    return _discount_page(request, discount, _allowances_form(request, discount))


def _discount_page(request: HttpRequest, discount: Discount, form: AllowancesForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "catalog/pricing/discount_detail.html",
        {
            "discount": discount,
            "object": discount,
            "centers": list(discount.centers.all()),
            "allowances_form": form,
            "can_change": can(request, "catalog.change_discount"),
            "can_delete": can(request, "catalog.delete_discount"),
            "timeline": timeline(discount),
            "breadcrumb": _discounts_breadcrumb(),
        },
        status=status,
    )


@right_required("catalog.change_discount")
def discount_allowances(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the maximum each role may grant (the form on the discount's page)."""
    discount = _discount(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = _allowances_form(request, discount, request.POST)
    if form.is_valid():
        try:
            services.set_discount_allowances(discount=discount, by=request.user, allowances=form.allowances())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Les maximums par rôle sont enregistrés."))
            return redirect(discount)
    return _discount_page(request, _discount(request, pk), form, status=200)


@right_required("catalog.change_discount")
def discount_edit(request: HttpRequest, pk: int) -> HttpResponse:
    discount = _discount(request, pk)
    form = DiscountForm(request.POST or None, instance=discount, user=request.user, organization=_org(request))
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            discount = services.update_discount(discount=discount, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"__all__": "name"})
        else:
            if data:
                messages.success(request, _("La réduction « %(name)s » est enregistrée.") % {"name": discount.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(discount)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": discount.name},
            "cancel_url": discount.get_absolute_url(),
            "breadcrumb": [*_discounts_breadcrumb(), (discount.name, discount.get_absolute_url())],
        },
    )


@right_required("catalog.delete_discount")
def discount_delete(request: HttpRequest, pk: int) -> HttpResponse:
    discount = _discount(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.delete_discount(discount=discount, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(discount)
    messages.success(request, _("La réduction « %(name)s » est supprimée.") % {"name": discount.name})
    return redirect("catalog:discount_list")


# --------------------------------------------------------------------------------------------------
# Simulateur
# --------------------------------------------------------------------------------------------------
def simulate(request: HttpRequest, form: SimulatorForm) -> tuple[pricing.Breakdown | None, str | None]:
    """The breakdown of the form's choice, or the message of the refusal (no rate, discount not allowed...)."""
    if not form.is_bound or not form.is_valid():
        return None, None
    space = form.cleaned_data["space"]
    applied = [pricing.Applied(discount, percent) for discount, percent in form.applied()]
    try:
        pricing.check_discounts(request.user, _org(request), applied, center=space.center)
        breakdown = pricing.office_price(
            space,
            term_months=form.cleaned_data.get("term_months"),
            service=form.cleaned_data.get("service") or None,
            discounts=applied,
        )
    except DomainError as exc:
        return None, exc.message
    return breakdown, None


@right_required("catalog.view_centerrate")
def pricing_simulator(request: HttpRequest) -> HttpResponse:
    """Pick a space, a term, a service and discounts: the price breakdown as a quote would freeze it."""
    form = SimulatorForm(request.GET if "space" in request.GET else None, user=request.user, organization=_org(request))
    breakdown, error = simulate(request, form)
    context = {
        "title": _("Simulateur de prix"),
        "form": form,
        "breakdown": breakdown,
        "error": error,
        "vat_amount": (breakdown.unit_price * breakdown.vat_rate / Decimal(100)).quantize(Decimal("0.01"))
        if breakdown
        else None,
        "breadcrumb": [],
    }
    if _is_htmx(request):
        return render(request, "catalog/pricing/simulator.html#simulation", context)
    return render(request, "catalog/pricing/simulator.html", context)


urlpatterns = [
    path("pricing/centers/", centerrate_list, name="centerrate_list"),
    path("pricing/centers/<int:pk>/edit/", centerrate_edit, name="centerrate_edit"),
    path("pricing/centers/new/<int:center_pk>/", centerrate_create, name="centerrate_create"),
    path("pricing/centers/row/<int:center_pk>/", centerrate_row, name="centerrate_row"),
    path("pricing/grids/", pricegrid_list, name="pricegrid_list"),
    path("pricing/grids/new/", pricegrid_create, name="pricegrid_create"),
    path("pricing/grids/<int:pk>/", pricegrid_detail, name="pricegrid_detail"),
    path("pricing/grids/<int:pk>/edit/", pricegrid_edit, name="pricegrid_edit"),
    path("pricing/grids/<int:pk>/delete/", pricegrid_delete, name="pricegrid_delete"),
    path("pricing/grids/<int:pk>/rules/", pricegrid_rule_add, name="pricegrid_rule_add"),
    path("pricing/grids/<int:pk>/rules/<int:rule_id>/delete/", pricegrid_rule_delete, name="pricegrid_rule_delete"),
    path("pricing/discounts/", discount_list, name="discount_list"),
    path("pricing/discounts/new/", discount_create, name="discount_create"),
    path("pricing/discounts/<int:pk>/", discount_detail, name="discount_detail"),
    path("pricing/discounts/<int:pk>/edit/", discount_edit, name="discount_edit"),
    path("pricing/discounts/<int:pk>/delete/", discount_delete, name="discount_delete"),
    path("pricing/discounts/<int:pk>/allowances/", discount_allowances, name="discount_allowances"),
    path("pricing/simulator/", pricing_simulator, name="pricing_simulator"),
]

MENU = [
    Entry(
        "settings",
        gettext_lazy("Prix par centre"),
        "catalog:centerrate_list",
        "catalog.view_centerrate",
        30,
        "cash-coin",
    ),
    Entry(
        "settings",
        gettext_lazy("Grilles tarifaires"),
        "catalog:pricegrid_list",
        "catalog.view_pricegrid",
        31,
        "grid-3x3",
    ),
    Entry("settings", gettext_lazy("Réductions"), "catalog:discount_list", "catalog.view_discount", 32, "percent"),
    Entry(
        "settings",
        gettext_lazy("Simulateur de prix"),
        "catalog:pricing_simulator",
        "catalog.view_centerrate",
        33,
        "calculator",
    ),
]
