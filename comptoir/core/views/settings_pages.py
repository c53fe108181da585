"""Paramètres: the organization, its legal entities and its centers (with opening hours)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import selectors, services
from comptoir.core.errors import DomainError
from comptoir.core.filters import CenterFilter, LegalEntityFilter
from comptoir.core.forms import CenterForm, LegalEntityForm, OrganizationForm, add_domain_error, opening_hours_formsets
from comptoir.core.lists import Column, ListPage
from comptoir.core.models import Center, OpeningHours
from comptoir.core.views.base import Tab, can, require_right, right_required, timeline


# --------------------------------------------------------------------------------------------------
# Organization
# --------------------------------------------------------------------------------------------------
@right_required("core.view_organization")
def organization_settings(request: HttpRequest) -> HttpResponse:
    """Paramètres → Organisation: read by every holder of the view right, edited with the change right."""
    organization = request.organization  # type: ignore[attr-defined]
    can_change = can(request, "core.change_organization")
    form = None
    if request.method == "POST":
        require_right(request, "core.change_organization")
        form = OrganizationForm(request.POST, instance=organization)
        if form.is_valid():
            try:
                services.update_organization(organization=organization, by=request.user, data=form.service_data())
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Les informations de l'organisation sont enregistrées."))
                return redirect("manage:organization_settings")
    elif can_change:
        form = OrganizationForm(instance=organization)
    return render(
        request,
        "core/organization_settings.html",
        {"organization": organization, "form": form, "can_change": can_change, "timeline": timeline(organization)},
    )


# --------------------------------------------------------------------------------------------------
# Legal entities
# --------------------------------------------------------------------------------------------------
# The only model-wide rule of an entity is its unique name in the organization: show it at the name.
LEGAL_ENTITY_ERROR_FIELDS = {"__all__": "name"}
LEGAL_ENTITY_COLUMNS = [
    Column("name", gettext_lazy("Raison sociale"), sort="name", link=True, data=True),
    Column("legal_form", gettext_lazy("Forme")),
    Column("siren", gettext_lazy("SIREN"), sort="siren"),
    Column("vat_number", gettext_lazy("N° de TVA")),
    Column("city", gettext_lazy("Ville"), sort="city"),
    Column("center_count", gettext_lazy("Centres"), kind="number", css_class="text-end"),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        true_label=gettext_lazy("Active"),
        false_label=gettext_lazy("Inactive"),
    ),
]


@right_required("core.view_legalentity")
def legalentity_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.legal_entities_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=LEGAL_ENTITY_COLUMNS,
        filterset_class=LegalEntityFilter,
        search_fields=["name", "siren", "siret", "city"],
        search_placeholder=gettext_lazy("Nom, SIREN, SIRET, ville…"),
        default_sort="name",
        title=gettext_lazy("Entités juridiques"),
        export_name="entites-juridiques",
        create_url=reverse("manage:legalentity_create") if can(request, "core.add_legalentity") else None,
        create_label=gettext_lazy("Ajouter une entité"),
        empty_message=gettext_lazy(
            "Aucune entité juridique pour le moment. Une entité émet les factures de vos centres."
        ),
    ).response()


@right_required("core.add_legalentity")
def legalentity_create(request: HttpRequest) -> HttpResponse:
    form = LegalEntityForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            entity = services.create_legal_entity(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,
                data=form.service_data(),
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases=LEGAL_ENTITY_ERROR_FIELDS)
        else:
            messages.success(request, _("L'entité « %(name)s » est créée.") % {"name": entity.name})
            return redirect(entity)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle entité juridique"),
            "fieldsets": LegalEntityForm.fieldsets,
            "cancel_url": reverse("manage:legalentity_list"),
            "breadcrumb": [(_("Entités juridiques"), reverse("manage:legalentity_list"))],
            "submit_label": _("Créer l'entité"),
        },
    )


@right_required("core.view_legalentity")
def legalentity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entity = get_object_or_404(selectors.legal_entities_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    tabs = [
        Tab("info", _("Informations"), template="core/legalentity/_info.html"),
        Tab(
            "centers",
            _("Centres"),
            url=reverse("manage:legalentity_centers", args=[entity.pk]),
            count=entity.center_count,
        ),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    return render(
        request,
        "core/legalentity/detail.html",
        {
            "entity": entity,
            "object": entity,
            "tabs": tabs,
            "timeline": timeline(entity),
            "breadcrumb": [(_("Entités juridiques"), reverse("manage:legalentity_list"))],
        },
    )


@right_required("core.view_legalentity")
def legalentity_centers(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Centres" tab of an entity (loaded by HTMX)."""
    entity = get_object_or_404(selectors.legal_entities_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    centers = (
        selectors.centers_for(request.user, request.organization).filter(legal_entity=entity).order_by("name", "id")
    )  # type: ignore[attr-defined]
    template = "core/legalentity/_centers.html" if getattr(request, "htmx", False) else "core/legalentity/centers.html"
    breadcrumb = [
        (_("Entités juridiques"), reverse("manage:legalentity_list")),
        (entity.name, entity.get_absolute_url()),
    ]
    return render(request, template, {"entity": entity, "object": entity, "centers": centers, "breadcrumb": breadcrumb})


@right_required("core.change_legalentity")
def legalentity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    entity = get_object_or_404(selectors.legal_entities_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    form = LegalEntityForm(request.POST or None, request.FILES or None, instance=entity)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(only_changed=True)
        try:
            entity = services.update_legal_entity(entity=entity, by=request.user, data=data)
        except DomainError as exc:
            add_domain_error(form, exc, aliases=LEGAL_ENTITY_ERROR_FIELDS)
        else:
            if data:
                messages.success(request, _("L'entité « %(name)s » est enregistrée.") % {"name": entity.name})
            else:
                messages.info(request, _("Aucune modification."))
            return redirect(entity)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Modifier « %(name)s »") % {"name": entity.name},
            "fieldsets": LegalEntityForm.fieldsets,
            "cancel_url": entity.get_absolute_url(),
            "breadcrumb": [
                (_("Entités juridiques"), reverse("manage:legalentity_list")),
                (entity.name, entity.get_absolute_url()),
            ],
            "submit_label": _("Enregistrer"),
        },
    )


# --------------------------------------------------------------------------------------------------
# Centers
# --------------------------------------------------------------------------------------------------
# The only model-wide rule of a center is its unique code in the organization: show it at the code.
CENTER_ERROR_FIELDS = {"__all__": "code"}
CENTER_COLUMNS = [
    Column("name", gettext_lazy("Nom"), sort="name", link=True, data=True),
    Column("code", gettext_lazy("Code"), sort="code"),
    Column("city", gettext_lazy("Ville"), sort="city"),
    Column(
        "legal_entity",
        gettext_lazy("Entité juridique"),
        accessor="legal_entity.name",
        sort="legal_entity__name",
        data=True,
    ),
    Column("timezone", gettext_lazy("Fuseau horaire")),
    Column(
        "is_active",
        gettext_lazy("Statut"),
        kind="bool",
        true_label=gettext_lazy("Actif"),
        false_label=gettext_lazy("Inactif"),
    ),
    Column("created_at", gettext_lazy("Créé le"), kind="date", sort="created_at"),
]


@right_required("core.view_center")
def center_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.centers_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=CENTER_COLUMNS,
        filterset_class=CenterFilter,
        search_fields=["name", "code", "city", "postal_code"],
        search_placeholder=gettext_lazy("Nom, code, ville…"),
        default_sort="name",
        title=gettext_lazy("Centres"),
        export_name="centres",
        create_url=reverse("manage:center_create") if can(request, "core.add_center") else None,
        create_label=gettext_lazy("Ajouter un centre"),
        empty_message=gettext_lazy("Aucun centre pour le moment."),
    ).response()


def _center_form_context(request: HttpRequest, form: CenterForm, **extra: object) -> dict[str, object]:
    has_entity = form.fields["legal_entity"].queryset.exists()
    return {"form": form, "fieldsets": CenterForm.fieldsets, "needs_legal_entity": not has_entity, **extra}


@right_required("core.add_center")
def center_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    form = CenterForm(request.POST or None, user=request.user, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            center = services.create_center(organization=organization, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc, aliases=CENTER_ERROR_FIELDS)
        else:
            messages.success(
                request,
                _("Le centre « %(name)s » est créé. Renseignez ses horaires d'ouverture.") % {"name": center.name},
            )
            return redirect("manage:center_hours", pk=center.pk)
    context = _center_form_context(
        request,
        form,
        title=_("Nouveau centre"),
        cancel_url=reverse("manage:center_list"),
        breadcrumb=[(_("Centres"), reverse("manage:center_list"))],
        submit_label=_("Créer le centre"),
    )
    return render(request, "core/center/form.html", context)


@right_required("core.view_center")
def center_detail(request: HttpRequest, pk: int) -> HttpResponse:
    queryset = selectors.center_with_hours(selectors.centers_for(request.user, request.organization))  # type: ignore[attr-defined]
    center = get_object_or_404(queryset, pk=pk)
    tabs = [
        Tab("info", _("Informations"), template="core/center/_info.html"),
        Tab("hours", _("Horaires"), template="core/center/_hours.html"),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    return render(
        request,
        "core/center/detail.html",
        {
            "center": center,
            "object": center,
            "tabs": tabs,
            "week": week_of(center),
            "timeline": timeline(center),
            "breadcrumb": [(_("Centres"), reverse("manage:center_list"))],
        },
    )


def week_of(center: Center) -> list[dict[str, object]]:
    """Seven days, Monday first, each with its intervals (an empty list is a closed day)."""
    days = {day: {"label": label, "intervals": []} for day, label in OpeningHours.Weekday.choices}
    for hours in center.opening_hours.all():
        days[hours.weekday]["intervals"].append(hours)
    return list(days.values())


@right_required("core.change_center")
def center_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    center = get_object_or_404(selectors.centers_for(request.user, organization), pk=pk)
    form = CenterForm(request.POST or None, instance=center, user=request.user, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            center = services.update_center(center=center, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc, aliases=CENTER_ERROR_FIELDS)
        else:
            messages.success(request, _("Le centre « %(name)s » est enregistré.") % {"name": center.name})
            return redirect(center)
    context = _center_form_context(
        request,
        form,
        title=_("Modifier « %(name)s »") % {"name": center.name},
        cancel_url=center.get_absolute_url(),
        breadcrumb=[(_("Centres"), reverse("manage:center_list")), (center.name, center.get_absolute_url())],
        submit_label=_("Enregistrer"),
    )
    return render(request, "core/center/form.html", context)


@right_required("core.change_center")
def center_hours(request: HttpRequest, pk: int) -> HttpResponse:
    """Opening hours per weekday, several intervals a day; a day without interval is closed."""
    queryset = selectors.center_with_hours(selectors.centers_for(request.user, request.organization))  # type: ignore[attr-defined]
    center = get_object_or_404(queryset, pk=pk)
    days = opening_hours_formsets(center, request.POST if request.method == "POST" else None)
    errors: list[str] = []
    if request.method == "POST":
        if all(day["formset"].is_valid() for day in days):
            intervals = [
                (day["weekday"], opens, closes) for day in days for opens, closes in day["formset"].intervals()
            ]
            try:
                services.set_opening_hours(center=center, by=request.user, intervals=intervals)
            except DomainError as exc:
                errors.append(exc.message)
            else:
                messages.success(request, _("Les horaires de « %(name)s » sont enregistrés.") % {"name": center.name})
                return redirect(center)
        else:
            errors.append(_("Corrigez les plages horaires signalées."))
    breadcrumb = [(_("Centres"), reverse("manage:center_list")), (center.name, center.get_absolute_url())]
    return render(
        request,
        "core/center/hours.html",
        {"center": center, "object": center, "days": days, "errors": errors, "breadcrumb": breadcrumb},
    )
