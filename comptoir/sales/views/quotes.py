"""Commerce → Devis: the list, a quote's page (offers side by side), the quote builder ("Tarificateur",
frontmanager §5: up to four offers priced live through HTMX), sending, decisions, PDF, and the "Devis"
tab of a company.

Every object view fetches its object through a tenant-scoped selector with get_object_or_404 before it
looks at the method, so another organization's object answers 404 on GET and POST alike.
"""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import MAX_SEARCH_TERMS, Column, ListPage
from comptoir.core.models import Center
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
from comptoir.core.widgets import DataSelect
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.views import companies as crm_companies
from comptoir.crm.views import pipeline as crm_pipeline
from comptoir.sales.forms_quotes import OfferBuilder, QuoteCreateForm, QuoteForm, RefuseForm, SendForm
from comptoir.sales.models import MAX_OFFERS, Quote
from comptoir.sales.selectors import quotes as selectors
from comptoir.sales.services import quotes as services

register_object_url("sales.quote", "sales:quote_detail")
for _suffix, _verb, _icon in [
    ("offer_added", gettext_lazy("Offre ajoutée"), "plus-square"),
    ("offer_updated", gettext_lazy("Offre modifiée"), "pencil-square"),
    ("offer_deleted", gettext_lazy("Offre supprimée"), "dash-square"),
    ("sent", gettext_lazy("Envoi"), "send"),
    ("accepted", gettext_lazy("Acceptation"), "check-circle"),
    ("refused", gettext_lazy("Refus"), "x-circle"),
    ("expired", gettext_lazy("Expiration"), "hourglass-bottom"),
    ("duplicated", gettext_lazy("Duplication"), "copy"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [Entry("sales", gettext_lazy("Devis"), "sales:quote_list", "sales.view_quote", 20, "file-earmark-text")]

_opportunity_action = (gettext_lazy("Tarificateur"), "sales:quote_builder", "sales.add_quote", "calculator")
if _opportunity_action not in crm_pipeline.OPPORTUNITY_ACTIONS:
    crm_pipeline.OPPORTUNITY_ACTIONS.append(_opportunity_action)
_company_tab = ("quotes", gettext_lazy("Devis"), "sales:company_quotes", "sales.view_quote")
if _company_tab not in crm_companies.COMPANY_TABS:
    crm_companies.COMPANY_TABS.append(_company_tab)

STATUS_BADGES = {
    Quote.Status.DRAFT: "secondary",
    Quote.Status.SENT: "primary",
    Quote.Status.ACCEPTED: "success",
    Quote.Status.REFUSED: "danger",
    Quote.Status.EXPIRED: "warning",
}


def status_badge(quote: Quote) -> str:
    return STATUS_BADGES.get(quote.status, "secondary")


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _quote(request: HttpRequest, pk: int, *, with_offers: bool = False) -> Quote:
    selector = selectors.quote_with_offers if with_offers else selectors.quotes_for
    return get_object_or_404(selector(request.user, _org(request)), pk=pk)  # type: ignore[arg-type]


def _breadcrumb(quote: Quote | None = None) -> list[tuple[str, str]]:
    crumbs = [(_("Devis"), reverse("sales:quote_list"))]
    if quote is not None:
        crumbs.append((quote.reference, quote.get_absolute_url()))
    return crumbs


def _center_choices(request: Any) -> Any:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, _org(request)).order_by("name", "id")


class QuoteFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=gettext_lazy("Statut"), choices=Quote.Status.choices,
                                         empty_label=gettext_lazy("Tous"))  # fmt: skip
    center = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Centre"), queryset=_center_choices, empty_label=gettext_lazy("Tous"), widget=DataSelect
    )

    class Meta:
        model = Quote
        fields = ["status", "center"]


def _offer_columns(quote: Quote, user: Any, data: Any = None, bound: int | None = None) -> list[dict[str, Any]]:
    """The four columns of the builder: the saved offer (or an empty form), one of them maybe bound."""
    from comptoir.sales.forms_quotes import grantable_discounts

    discounts = grantable_discounts(user, quote.organization, quote.center)
    offers = {offer.position: offer for offer in quote.offers.all()}
    columns = []
    for position in range(1, MAX_OFFERS + 1):
        offer = offers.get(position)
        builder = OfferBuilder(
            quote=quote, position=position, user=user, offer=offer, discounts=discounts,
            data=data if bound == position else None,
        )  # fmt: skip
        columns.append({"position": position, "offer": offer, "builder": builder, "open": offer is not None
                        or bound == position})  # fmt: skip
    return columns


def _builder_response(request: HttpRequest, quote: Quote, *, header: QuoteForm | None = None,
                      columns: list[dict[str, Any]] | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    return render(
        request,
        "sales/quotes/builder.html",
        {
            "quote": quote,
            "object": quote,
            "title": _("Tarificateur — %(reference)s") % {"reference": quote.reference},
            "header_form": header or QuoteForm.for_quote(quote),
            "columns": columns if columns is not None else _offer_columns(quote, request.user),
            "breadcrumb": _breadcrumb(quote),
            "status_badge": status_badge(quote),
        },
        status=status,
    )


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
DATA_CELL = "sales/quotes/_data_cell.html"  # stored data: translate="no"


def quote_columns() -> list[Column]:
    return [
        Column(
            "reference",
            gettext_lazy("Référence"),
            accessor="reference",
            sort="number",
            link=True,
            css_class="font-monospace",
        ),
        Column("title", gettext_lazy("Objet"), sort="title", template=DATA_CELL),
        Column(
            "company", gettext_lazy("Entreprise"), accessor="company.name", sort="company__name", template=DATA_CELL
        ),
        Column("center", gettext_lazy("Centre"), accessor="center.name", sort="center__name", template=DATA_CELL),
        Column(
            "status",
            gettext_lazy("Statut"),
            accessor=lambda quote: quote,
            sort="status",
            template="sales/quotes/_status_cell.html",
            export=lambda quote: quote.get_status_display(),
        ),
        Column("offer_count", gettext_lazy("Offres"), kind="number", css_class="text-end"),
        Column("lowest_monthly", gettext_lazy("À partir de (HT/mois)"), kind="money", css_class="text-end"),
        Column("valid_until", gettext_lazy("Valable jusqu'au"), sort="valid_until", kind="date"),
        Column("created_at", gettext_lazy("Créé le"), sort="created_at", kind="date"),
    ]


REFERENCE = re.compile(r"^(?:dv-?)?0*(\d{1,9})$", re.IGNORECASE)


class QuoteListPage(ListPage):
    """Search: a reference (DV-000123, 123) or words of the company's name or the subject."""

    def filtered_queryset(self) -> Any:
        queryset = self.filterset.qs if self.filterset is not None else self.base_queryset
        for term in self.search.split()[:MAX_SEARCH_TERMS]:
            condition = Q(company__name__icontains=term) | Q(title__icontains=term)
            if match := REFERENCE.match(term):
                condition |= Q(number=int(match.group(1)))
            queryset = queryset.filter(condition)
        return queryset


@right_required("sales.view_quote")
def quote_list(request: HttpRequest) -> HttpResponse:
    return QuoteListPage(
        request,
        queryset=selectors.quote_list(request.user, _org(request)),  # type: ignore[arg-type]
        columns=quote_columns(),
        filterset_class=QuoteFilter,
        search_fields=["company__name", "title"],  # plus the reference, see QuoteListPage
        search_placeholder=gettext_lazy("Entreprise, objet, numéro…"),
        default_sort="-reference",
        title=gettext_lazy("Devis"),
        export_name="devis",
        empty_message=gettext_lazy("Aucun devis ne correspond."),
    ).response()


# --------------------------------------------------------------------------------------------------
# The quote's page and its PDF
# --------------------------------------------------------------------------------------------------
def offer_views(quote: Quote) -> list[dict[str, Any]]:
    """Each offer with its lines and totals (per VAT rate), for the page and the company tab."""
    views = []
    for offer in quote.offers.all():
        lines = list(offer.lines.all())
        views.append({"offer": offer, "lines": lines, "totals": services.compute_totals(lines),
                      "chosen": quote.chosen_offer_id == offer.pk})  # fmt: skip
    return views


@right_required("sales.view_quote")
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk, with_offers=True)
    tabs = [
        Tab("offers", _("Offres"), template="sales/quotes/_offers.html", count=len(quote.offers.all())),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    return render(
        request,
        "sales/quotes/detail.html",
        {
            "quote": quote,
            "object": quote,
            "tabs": tabs,
            "offers": offer_views(quote),
            "timeline": timeline(quote),
            "breadcrumb": _breadcrumb(),
            "status_badge": status_badge(quote),
            "can_change": can(request, "sales.change_quote"),
            "can_add": can(request, "sales.add_quote"),
            "can_delete": can(request, "sales.delete_quote"),
            "is_open": quote.status == Quote.Status.SENT,
        },
    )


@right_required("sales.view_quote")
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from comptoir.sales.pdf.quote import render_quote_pdf

    quote = _quote(request, pk)
    response = HttpResponse(render_quote_pdf(quote), content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{quote.reference}.pdf"'
    return response


# --------------------------------------------------------------------------------------------------
# Creation: from an opportunity ("Tarificateur") or from a company
# --------------------------------------------------------------------------------------------------
def _create_page(request: HttpRequest, *, company: Any, opportunity: Any = None) -> HttpResponse:
    initial_center = (opportunity.center if opportunity is not None else None) or company.center
    form = QuoteCreateForm(request.POST or None, request=request, initial_center=initial_center)
    if request.method == "POST" and form.is_valid():
        try:
            quote = services.create_quote(
                organization=_org(request), by=request.user, opportunity=opportunity, company=company,
                data=form.service_data(),
            )  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le devis %(reference)s est créé : composez ses offres.")
                             % {"reference": quote.reference})  # fmt: skip
            return redirect("sales:quote_edit", quote.pk)
    source = opportunity or company
    existing = selectors.quotes_for(request.user, _org(request)).filter(  # type: ignore[arg-type]
        status__in=[Quote.Status.DRAFT, Quote.Status.SENT]
    )
    existing = existing.filter(opportunity=opportunity) if opportunity is not None else existing.filter(company=company)
    return render(
        request,
        "sales/quotes/create.html",
        {
            "existing": list(existing.order_by("-number")[:10]),
            "form": form,
            "title": _("Nouveau devis — %(company)s") % {"company": company.name},
            "intro": _("Le tarificateur construit jusqu'à quatre offres : domiciliation, bureau privatif, coworking "
                       "ou formule nomade, chacune avec son engagement, ses remises et son prix détaillé."),
            "cancel_url": source.get_absolute_url(),
            "breadcrumb": [(str(source), source.get_absolute_url())],
            "submit_label": _("Créer le devis"),
        },
    )  # fmt: skip


@right_required("sales.add_quote")
def quote_builder(request: HttpRequest, opportunity_pk: int) -> HttpResponse:
    """The "Tarificateur" button of an opportunity: a draft quote for its company, then the builder."""
    opportunity = get_object_or_404(
        crm_selectors.opportunities_for(request.user, _org(request)).select_related("company", "center"),
        pk=opportunity_pk,
    )
    return _create_page(request, company=opportunity.company, opportunity=opportunity)


@right_required("sales.add_quote")
def quote_create(request: HttpRequest, company_pk: int) -> HttpResponse:
    company = get_object_or_404(crm_selectors.companies_for(request.user, _org(request)), pk=company_pk)
    return _create_page(request, company=company)


# --------------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------------
@right_required("sales.change_quote")
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the builder. POST: the quote's header (subject, validity, notes)."""
    quote = _quote(request, pk, with_offers=True)
    if not quote.is_editable:
        messages.info(request, _("Ce devis n'est plus un brouillon : dupliquez-le pour le modifier."))
        return redirect(quote)
    header = QuoteForm.for_quote(quote, request.POST or None)
    if request.method == "POST":
        if header.is_valid():
            try:
                services.update_quote(quote=quote, by=request.user, data=header.cleaned_data)
            except DomainError as exc:
                add_domain_error(header, exc)
            else:
                messages.success(request, _("Le devis est enregistré."))
                return redirect("sales:quote_edit", quote.pk)
        return _builder_response(request, quote, header=header, status=422)
    return _builder_response(request, quote, header=header)


def _bound_builder(request: HttpRequest, quote: Quote) -> tuple[OfferBuilder | None, int]:
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        position = 0
    if not 1 <= position <= MAX_OFFERS:
        return None, position
    offer = next((offer for offer in quote.offers.all() if offer.position == position), None)
    return OfferBuilder(quote=quote, position=position, user=request.user, data=request.POST, offer=offer), position


@right_required("sales.change_quote")
def quote_offer_save(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: save the offer of one column of the builder (its `position`)."""
    quote = _quote(request, pk, with_offers=True)
    if (refused := post_only(request)) is not None:
        return refused
    builder, position = _bound_builder(request, quote)
    if builder is None:
        messages.error(request, _("Un devis compte %(max)s offres au plus.") % {"max": MAX_OFFERS})
        return redirect("sales:quote_edit", quote.pk)
    if builder.is_valid():
        try:
            services.save_offer(quote=quote, by=request.user, position=position, data=builder.service_data())
        except DomainError as exc:
            builder.add_error(exc)
        else:
            messages.success(request, _("L'offre %(position)s est enregistrée.") % {"position": position})
            return redirect(f"{reverse('sales:quote_edit', args=[quote.pk])}#offer-{position}")
    columns = _offer_columns(quote, request.user)
    columns[position - 1].update(builder=builder, open=True)
    return _builder_response(request, quote, columns=columns, status=422)


@right_required("sales.change_quote")
def quote_offer_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX POST: the offer column priced by the catalog as it is typed (nothing is saved)."""
    quote = _quote(request, pk, with_offers=True)
    if (refused := post_only(request)) is not None:
        return refused
    builder, position = _bound_builder(request, quote)
    context: dict[str, Any] = {"position": position, "lines": [], "totals": None, "errors": []}
    if builder is None:
        context["errors"] = [_("Position d'offre invalide.")]
    elif builder.is_valid():
        data = builder.service_data()
        try:
            priced = services.price_lines(quote=quote, by=request.user, term_months=data["term_months"],
                                          lines=data["lines"])  # fmt: skip
        except DomainError as exc:
            builder.add_error(exc)
            context["errors"] = [exc.message]
        else:
            context.update(lines=priced, totals=services.compute_totals(priced))
    else:
        context["errors"] = [_("Corrigez les champs signalés.")]
    context["builder"] = builder
    return render(request, "sales/quotes/_offer_preview.html", context)


@right_required("sales.change_quote")
def offer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(selectors.offers_for(request.user, _org(request)), pk=pk)  # type: ignore[arg-type]
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.delete_offer(quote=offer.quote, by=request.user, position=offer.position)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("L'offre %(position)s est supprimée.") % {"position": offer.position})
    return redirect("sales:quote_edit", offer.quote_id)


# --------------------------------------------------------------------------------------------------
# Sending, decisions, duplicate, delete
# --------------------------------------------------------------------------------------------------
@right_required("sales.change_quote")
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk)
    form = SendForm(request.POST or None, defaults=services.default_recipients(quote))
    if request.method == "POST" and form.is_valid():
        try:
            services.send_quote(quote=quote, by=request.user, recipients=form.addresses())
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"recipients": "other"})
        else:
            messages.success(request, _("Le devis %(reference)s est envoyé.") % {"reference": quote.reference})
            return redirect(quote)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Envoyer le devis %(reference)s") % {"reference": quote.reference},
            "intro": _("Le devis part par e-mail avec son PDF et un lien vers l'espace client."),
            "cancel_url": quote.get_absolute_url(),
            "breadcrumb": _breadcrumb(quote),
            "submit_label": _("Envoyer"),
        },
        status=422 if form.is_bound else 200,
    )


@right_required("sales.change_quote")
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """POST `offer` (its id): the client chose this offer."""
    quote = _quote(request, pk, with_offers=True)
    if (refused := post_only(request)) is not None:
        return refused
    offer = next((o for o in quote.offers.all() if str(o.pk) == request.POST.get("offer", "")), None)
    try:
        services.accept_offer(quote=quote, offer=offer, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("L'offre « %(title)s » est acceptée.") % {"title": offer.title})  # type: ignore[union-attr]
    return redirect(quote)


@right_required("sales.change_quote")
def quote_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk)
    form = RefuseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.refuse_quote(quote=quote, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le devis %(reference)s est refusé.") % {"reference": quote.reference})
            return redirect(quote)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Refus du devis %(reference)s") % {"reference": quote.reference},
            "cancel_url": quote.get_absolute_url(),
            "breadcrumb": _breadcrumb(quote),
            "submit_label": _("Enregistrer le refus"),
        },
    )


@right_required("sales.add_quote")
def quote_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        copy = services.duplicate_quote(quote=quote, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(quote)
    messages.success(request, _("Le devis %(reference)s est créé aux prix du jour.") % {"reference": copy.reference})
    return redirect("sales:quote_edit", copy.pk)


@right_required("sales.delete_quote")
def quote_delete(request: HttpRequest, pk: int) -> HttpResponse:
    quote = _quote(request, pk)
    if request.method == "POST":
        try:
            services.delete_quote(quote=quote, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(quote)
        messages.success(request, _("Le devis %(reference)s est supprimé.") % {"reference": quote.reference})
        return redirect("sales:quote_list")
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer le devis %(reference)s ?") % {"reference": quote.reference},
            "message": _("Seul un brouillon peut être supprimé ; cette action est définitive."),
            "cancel_url": quote.get_absolute_url(),
            "confirm_label": _("Supprimer"),
            "danger": True,
            "breadcrumb": _breadcrumb(quote),
        },
    )


# --------------------------------------------------------------------------------------------------
# The "Devis" tab of a company
# --------------------------------------------------------------------------------------------------
@right_required("sales.view_quote")
def company_quotes(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(crm_selectors.companies_for(request.user, _org(request)), pk=pk)
    quotes = list(selectors.quote_list(request.user, _org(request)).filter(company=company).order_by("-number"))  # type: ignore[arg-type]
    return render(
        request,
        "sales/quotes/company_quotes.html",
        {"company": company, "quotes": quotes, "badges": STATUS_BADGES},
    )


urlpatterns = [
    path("quotes/", quote_list, name="quote_list"),
    path("quotes/<int:pk>/", quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/pdf/", quote_pdf, name="quote_pdf"),
    path("quotes/<int:pk>/edit/", quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/offers/", quote_offer_save, name="quote_offer_save"),
    path("quotes/<int:pk>/offers/preview/", quote_offer_preview, name="quote_offer_preview"),
    path("quotes/<int:pk>/send/", quote_send, name="quote_send"),
    path("quotes/<int:pk>/accept/", quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/refuse/", quote_refuse, name="quote_refuse"),
    path("quotes/<int:pk>/duplicate/", quote_duplicate, name="quote_duplicate"),
    path("quotes/<int:pk>/delete/", quote_delete, name="quote_delete"),
    path("offers/<int:pk>/delete/", offer_delete, name="offer_delete"),
    path("opportunities/<int:opportunity_pk>/quote/", quote_builder, name="quote_builder"),
    path("companies/<int:company_pk>/quotes/new/", quote_create, name="quote_create"),
    path("companies/<int:pk>/quotes/", company_quotes, name="company_quotes"),
]
