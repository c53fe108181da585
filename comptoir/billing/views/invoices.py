"""Finance → Factures (frontmanager §7): the list of invoices and credit notes, « Nouvelle facture », the
document's page (parties, lines, VAT per rate, totals; a draft is edited in place through HTMX and issued;
an issued document gives its PDF, Factur-X XML, UBL, credit notes, hash and deliveries), and the
« Factures » tab of a company.

Every object view fetches its object through the tenant-scoped selector before it looks at the method,
so another organization's document answers 404 on GET and POST alike. The services decide; a refusal is
shown at its field or as a message.

Other features add POST buttons to an issued document's page through `INVOICE_ACTIONS`:
(label, url_name taking the invoice's pk, right[, predicate(invoice) -> bool]); without a predicate the
button shows on issued and cancelled documents only. They add sections to the page through `INVOICE_PANELS`:
(url_name taking the invoice's pk, right[, predicate(invoice) -> bool]), each loaded by HTMX from its own view
(the payments app's « Suivi des paiements »), with the same default visibility.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing import selectors
from comptoir.billing.filters import InvoiceFilter
from comptoir.billing.forms import CreditNoteForm, InvoiceCreateForm, InvoiceDraftForm, InvoiceLineForm
from comptoir.billing.models import Invoice, InvoiceLine
from comptoir.billing.services import invoices as services
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.money import round_cents
from comptoir.core.navigation import Entry
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.views import companies as crm_companies
from comptoir.sales.selectors import contracts as contract_selectors
from comptoir.sales.views.contracts import CONTRACT_TABS

register_object_url("billing.invoice", "billing:invoice_detail")
for _suffix, _verb, _icon in [
    ("issued", gettext_lazy("Émission"), "send-check"),
    ("line_added", gettext_lazy("Ligne ajoutée"), "plus-square"),
    ("line_changed", gettext_lazy("Ligne modifiée"), "pencil-square"),
    ("line_deleted", gettext_lazy("Ligne supprimée"), "dash-square"),
    ("changed", gettext_lazy("Modification"), "pencil"),
    ("draft_deleted", gettext_lazy("Brouillon supprimé"), "trash"),
    ("consumptions_invoiced", gettext_lazy("Consommations facturées"), "receipt"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

_company_tab = ("invoices", gettext_lazy("Factures"), "billing:company_invoices", "billing.view_invoice")
if not any(tab[0] == "invoices" for tab in crm_companies.COMPANY_TABS):
    crm_companies.COMPANY_TABS.append(_company_tab)

MENU = [Entry("finance", gettext_lazy("Factures"), "billing:invoice_list", "billing.view_invoice", 10, "receipt")]

# (label, url_name taking the invoice's pk, right[, predicate(invoice) -> bool]): POST buttons of the page.
INVOICE_ACTIONS: list[tuple[Any, ...]] = []
# (url_name taking the invoice's pk, right[, predicate(invoice) -> bool]): sections of the page, loaded by HTMX.
INVOICE_PANELS: list[tuple[Any, ...]] = []

# The settlement of an issued invoice (Invoice.payment_state()): its label and its colour in the lists.
PAYMENT_STATES = {
    "pending": (gettext_lazy("En attente"), "secondary"),
    "partially_paid": (gettext_lazy("Partiellement payée"), "warning"),
    "paid": (gettext_lazy("Payée"), "success"),
    "overdue": (gettext_lazy("En retard"), "danger"),
}
AMOUNT_COLOURS = {"pending": "body-secondary", "partially_paid": "warning-emphasis", "paid": "success",
                  "overdue": "danger"}  # fmt: skip

STATUS_BADGES = {
    Invoice.Status.DRAFT: "secondary",
    Invoice.Status.ISSUED: "success",
    Invoice.Status.CANCELLED: "dark",
}


def status_badge(invoice: Invoice) -> str:
    return STATUS_BADGES.get(invoice.status, "secondary")


def _status_cell(invoice: Invoice) -> SafeString:
    return format_html(
        '<span class="badge rounded-pill text-bg-{}">{}</span>', status_badge(invoice), invoice.get_status_display()
    )


def _number_cell(invoice: Invoice) -> SafeString:
    if invoice.reference:
        return format_html('<span translate="no">{}</span>', invoice.reference)
    return format_html('<span class="text-body-secondary">{}</span>', _("Brouillon"))


def _client_cell(invoice: Invoice) -> SafeString:
    return format_html(
        '<a href="{}" translate="no">{}</a>', reverse("crm:company_detail", args=[invoice.company_id]),
        invoice.company.name,
    )  # fmt: skip


def _amount(value: Any) -> str:
    return f"{round_cents(value or 0):.2f}".replace(".", ",")


def payment_state(invoice: Invoice) -> str | None:
    """pending, partially_paid, paid or overdue for an issued invoice; None for a draft, a credit note or a
    cancelled invoice (nothing to pay). Read from the invoice's own fields: no query."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
        return None
    return invoice.payment_state()


def payment_state_label(invoice: Invoice) -> str:
    state = payment_state(invoice)
    return str(PAYMENT_STATES[state][0]) if state in PAYMENT_STATES else ""


def _payment_cell(invoice: Invoice) -> SafeString:
    state = payment_state(invoice)
    if state not in PAYMENT_STATES:
        return mark_safe('<span class="text-body-tertiary">—</span>')
    label, colour = PAYMENT_STATES[state]
    return format_html('<span class="badge rounded-pill text-bg-{}">{}</span>', colour, label)


def _total_cell(invoice: Invoice) -> SafeString:
    """The amount incl. VAT coloured by its payment (desk: green paid, orange partial, grey pending, red late)."""
    from comptoir.core.money import format_money

    state = payment_state(invoice)
    if state not in AMOUNT_COLOURS:
        return format_html("{}", format_money(invoice.total_incl_vat))
    return format_html('<span class="text-{}">{}</span>', AMOUNT_COLOURS[state], format_money(invoice.total_incl_vat))


def invoice_columns() -> list[Column]:
    return [
        Column(
            "reference",
            gettext_lazy("Numéro"),
            accessor=lambda i: i,
            sort="reference",
            link=True,
            render=_number_cell,
            css_class="font-monospace text-nowrap",
            export=lambda i: i.reference or _("Brouillon"),
        ),
        Column("kind", gettext_lazy("Type"), accessor=lambda i: i.get_kind_display(), sort="kind"),
        Column(
            "company",
            gettext_lazy("Client"),
            accessor=lambda i: i,
            sort="company__name",
            render=_client_cell,
            export=lambda i: i.company.name,
        ),
        Column("center", gettext_lazy("Centre"), accessor="center.name", sort="center__name", data=True),
        Column("issue_date", gettext_lazy("Émise le"), kind="date", sort="issue_date"),
        Column("due_date", gettext_lazy("Échéance"), kind="date", sort="due_date"),
        Column(
            "total_excl_vat",
            gettext_lazy("Total HT"),
            kind="money",
            sort="total_excl_vat",
            css_class="text-end text-nowrap",
            export=lambda i: _amount(i.total_excl_vat),
        ),
        Column(
            "total_incl_vat",
            gettext_lazy("Total TTC"),
            accessor=lambda i: i,
            sort="total_incl_vat",
            render=_total_cell,
            css_class="text-end text-nowrap",
            export=lambda i: _amount(i.total_incl_vat),
        ),
        Column(
            "status",
            gettext_lazy("Statut"),
            accessor=lambda i: i,
            sort="status",
            render=_status_cell,
            export=lambda i: i.get_status_display(),
        ),
        Column(
            "payment",
            gettext_lazy("Paiement"),
            accessor=lambda i: i,
            sort="payment_status",
            render=_payment_cell,
            export=payment_state_label,
        ),
    ]


class InvoiceListPage(ListPage):
    """The search is the FilterSet's `q` (number, client, exact amount, line description), shared with the API;
    the client and billing run filters come from links (a chip shows them) rather than from the filter bar."""

    LINKED_FILTERS = ("company", "billing_run")
    NOT_IN_BAR = ("q", *LINKED_FILTERS)

    def filtered_queryset(self) -> QuerySet:
        return self.filterset.qs if self.filterset is not None else self.base_queryset  # type: ignore[return-value]

    def get_context(self) -> dict[str, Any]:
        context = super().get_context()
        form = context["filter_form"]
        linked = []
        cleaned = getattr(form, "cleaned_data", {}) if form is not None and form.is_bound else {}
        for name in self.LINKED_FILTERS:
            value = cleaned.get(name)
            if value is not None:
                label = value.name if name == "company" else _("Facturation de %(period)s") % {"period": value}
                linked.append((label, self.url_with(**{name: None, "cursor": None})))
        if form is not None:
            for name in self.NOT_IN_BAR:
                form.fields.pop(name, None)
        context["linked_filters"] = linked
        return context


def invoice_rows(request: HttpRequest) -> QuerySet[Invoice]:
    return selectors.invoices_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


@right_required("billing.view_invoice")
def invoice_list(request: HttpRequest) -> HttpResponse:
    return InvoiceListPage(
        request,
        queryset=invoice_rows(request),
        columns=invoice_columns(),
        filterset_class=InvoiceFilter,
        search_fields=["reference"],  # shows the search box; the search itself is InvoiceFilter.q
        search_placeholder=gettext_lazy("Numéro, client, montant TTC, prestation…"),
        default_sort="-issue_date",
        title=gettext_lazy("Factures et avoirs"),
        export_name="factures",
        create_url=reverse("billing:invoice_create") if can(request, "billing.add_invoice") else None,
        create_label=gettext_lazy("Nouvelle facture"),
        empty_message=gettext_lazy("Aucune facture pour le moment."),
        intro_template="billing/invoices/_linked_filters.html",
    ).response()


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _invoice(request: HttpRequest, pk: int) -> Invoice:
    return get_object_or_404(invoice_rows(request), pk=pk)


def _breadcrumb(invoice: Invoice | None = None) -> list[tuple[str, str]]:
    crumbs = [(_("Factures"), reverse("billing:invoice_list"))]
    if invoice is not None:
        crumbs.append((invoice_title(invoice), invoice.get_absolute_url()))
    return crumbs


def invoice_title(invoice: Invoice) -> str:
    if invoice.reference:
        return invoice.reference
    if invoice.is_credit_note:
        return _("Avoir brouillon n°%(id)s") % {"id": invoice.pk}
    return _("Facture brouillon n°%(id)s") % {"id": invoice.pk}


def _products(request: HttpRequest) -> Any:
    return selectors.billable_products(request.organization)  # type: ignore[attr-defined]


@dataclass
class ActionButton:
    label: str
    url: str


def action_buttons(request: HttpRequest, invoice: Invoice) -> list[ActionButton]:
    buttons = []
    for label, url_name, right, *rest in INVOICE_ACTIONS:
        predicate: Callable[[Invoice], bool] | None = rest[0] if rest else None
        visible = predicate(invoice) if predicate is not None else not invoice.is_draft
        if not visible or (right and not can(request, right)):
            continue
        try:
            buttons.append(ActionButton(str(label), reverse(url_name, args=[invoice.pk])))
        except NoReverseMatch:
            continue
    return buttons


def panel_urls(request: HttpRequest, invoice: Invoice) -> list[str]:
    """The URLs of the INVOICE_PANELS the viewer may see on this document."""
    urls = []
    for url_name, right, *rest in INVOICE_PANELS:
        predicate: Callable[[Invoice], bool] | None = rest[0] if rest else None
        visible = predicate(invoice) if predicate is not None else not invoice.is_draft
        if not visible or (right and not can(request, right)):
            continue
        try:
            urls.append(reverse(url_name, args=[invoice.pk]))
        except NoReverseMatch:
            continue
    return urls


def _lines_context(
    request: HttpRequest,
    invoice: Invoice,
    *,
    line_form: InvoiceLineForm | None = None,
    editing: InvoiceLine | None = None,
    edit_form: InvoiceLineForm | None = None,
) -> dict[str, Any]:
    editable = invoice.is_draft and can(request, "billing.change_invoice")
    if editable and line_form is None:
        line_form = InvoiceLineForm(products=_products(request), prefix="line")
    return {
        "invoice": invoice,
        "lines": selectors.invoice_lines(invoice),
        "vat_rows": invoice.vat_breakdown or [],
        "editable": editable,
        "line_form": line_form,
        "editing": editing,
        "edit_form": edit_form,
    }


def _render_lines(request: HttpRequest, invoice: Invoice, **kwargs: Any) -> HttpResponse:
    invoice.refresh_from_db()
    return render(request, "billing/invoices/detail.html#lines", _lines_context(request, invoice, **kwargs))


# --------------------------------------------------------------------------------------------------
# The document's page
# --------------------------------------------------------------------------------------------------
@right_required("billing.view_invoice")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _invoice(request, pk))


def _detail(request: HttpRequest, invoice: Invoice, *, draft_form: InvoiceDraftForm | None = None,
            status: int = 200, **lines: Any) -> HttpResponse:  # fmt: skip
    if invoice.is_draft and draft_form is None and can(request, "billing.change_invoice"):
        draft_form = InvoiceDraftForm.for_invoice(invoice)
    seller = invoice.seller or (services.seller_snapshot(invoice.legal_entity, services.billing_profile(invoice.legal_entity_id)) if invoice.is_draft else {})  # fmt: skip
    buyer = invoice.buyer or (services.buyer_snapshot(invoice.company, invoice.contact) if invoice.is_draft else {})
    credit_notes = list(invoice.credit_notes.order_by("issue_date", "id")) if not invoice.is_credit_note else []
    remaining = (
        services.remaining_to_credit(invoice) if invoice.kind == Invoice.Kind.INVOICE and not invoice.is_draft else None
    )
    context = {
        **_lines_context(request, invoice, **lines),
        "object": invoice,
        "title": invoice_title(invoice),
        "status_badge": status_badge(invoice),
        "seller": seller,
        "buyer": buyer,
        "draft_form": draft_form,
        "credit_notes": credit_notes,
        "remaining": remaining,
        "can_credit": remaining is not None and remaining > 0 and can(request, "billing.issue_invoice"),
        "can_issue": invoice.is_draft and can(request, "billing.issue_invoice"),
        "can_delete": invoice.is_draft and can(request, "billing.delete_invoice"),
        "deliveries": list(invoice.deliveries.select_related("by")) if not invoice.is_draft else [],
        "actions": action_buttons(request, invoice),
        "panels": panel_urls(request, invoice),
        "payment_badge": PAYMENT_STATES.get(payment_state(invoice) or ""),
        "timeline": timeline(invoice),
        "breadcrumb": _breadcrumb(),
    }
    return render(request, "billing/invoices/detail.html", context, status=status)


@right_required("billing.change_invoice")
def invoice_update(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft's own fields (due date, period, buyer reference, purchase order, comment)."""
    invoice = _invoice(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = InvoiceDraftForm.for_invoice(invoice, request.POST)
    if form.is_valid():
        try:
            invoice = services.update_invoice(invoice=invoice, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if getattr(request, "htmx", False):
                form = InvoiceDraftForm.for_invoice(invoice)
                return render(request, "billing/invoices/detail.html#draft", {"invoice": invoice, "draft_form": form,
                                                                            "saved": True})  # fmt: skip
            messages.success(request, _("Le brouillon est enregistré."))
            return redirect(invoice)
    if getattr(request, "htmx", False):
        return render(request, "billing/invoices/detail.html#draft", {"invoice": invoice, "draft_form": form})
    return _detail(request, invoice, draft_form=form)


@right_required("billing.change_invoice")
def invoice_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: add a line. GET (HTMX, the article select changed): the form filled with the article's values."""
    invoice = _invoice(request, pk)
    if request.method != "POST":
        if not getattr(request, "htmx", False):
            return redirect(invoice)
        return _render_lines(request, invoice, line_form=_form_with_product(request, request.GET, "line"))
    form = InvoiceLineForm(request.POST, products=_products(request), prefix="line")
    if form.is_valid():
        try:
            services.add_invoice_line(invoice=invoice, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if getattr(request, "htmx", False):
                return _render_lines(request, invoice)
            return redirect(invoice)
    if getattr(request, "htmx", False):
        return _render_lines(request, invoice, line_form=form)
    return _detail(request, invoice, line_form=form)


def _form_with_product(request: HttpRequest, data: Any, prefix: str) -> InvoiceLineForm:
    """An unbound form showing what the chosen article fills in (price, VAT), keeping the typed quantity."""
    products = _products(request)
    raw = data.get(f"{prefix}-product", "")
    product = products.filter(pk=raw).first() if str(raw).isdigit() else None
    initial: dict[str, Any] = {}
    for name in ("quantity", "discount", "period_start", "period_end", "description", "unit_price", "vat_rate",
                 "vat_exemption_reason"):  # fmt: skip
        if data.get(f"{prefix}-{name}"):
            initial[name] = data.get(f"{prefix}-{name}")
    if product is not None:
        initial.update(InvoiceLineForm.product_initial(product))
    return InvoiceLineForm(products=products, prefix=prefix, initial=initial)


def _line(invoice: Invoice, raw: Any) -> InvoiceLine:
    if not str(raw or "").isdigit():
        raise Http404
    return get_object_or_404(InvoiceLine.objects.select_related("product"), invoice=invoice, pk=int(raw))


@right_required("billing.change_invoice")
def invoice_line_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET ?line=: the line in edit mode; POST: save it (errors at their field)."""
    invoice = _invoice(request, pk)
    line = _line(invoice, request.POST.get("line") if request.method == "POST" else request.GET.get("line"))
    if not invoice.is_draft:
        messages.error(request, _("Une facture émise ne peut plus être modifiée : faites un avoir."))
        return redirect(invoice)
    prefix = f"edit{line.pk}"
    if request.method != "POST":
        if "product_changed" in request.GET:
            form = _form_with_product(request, request.GET, prefix)
        else:
            form = InvoiceLineForm(
                products=_products(request), prefix=prefix, initial=InvoiceLineForm.initial_for(line)
            )
        if getattr(request, "htmx", False):
            return _render_lines(request, invoice, editing=line, edit_form=form)
        return _detail(request, invoice, editing=line, edit_form=form)
    form = InvoiceLineForm(request.POST, products=_products(request), prefix=prefix)
    if form.is_valid():
        try:
            services.update_invoice_line(line=line, by=request.user, data=form.service_data())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if getattr(request, "htmx", False):
                return _render_lines(request, invoice)
            return redirect(invoice)
    if getattr(request, "htmx", False):
        return _render_lines(request, invoice, editing=line, edit_form=form)
    return _detail(request, invoice, editing=line, edit_form=form)


@right_required("billing.change_invoice")
def invoice_line_delete(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    line = _line(invoice, request.POST.get("line"))
    try:
        services.delete_invoice_line(line=line, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    if getattr(request, "htmx", False):
        return _render_lines(request, invoice)
    return redirect(invoice)


@right_required("billing.issue_invoice")
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation (the document is frozen once issued); POST: issue it."""
    invoice = _invoice(request, pk)
    if request.method == "POST":
        try:
            invoice = services.issue_invoice(invoice=invoice, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(reference)s est émis.") % {"reference": invoice.reference})
        return redirect("billing:invoice_detail", invoice.pk)
    if not invoice.is_draft:
        return redirect(invoice)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Émettre %(title)s ?") % {"title": invoice_title(invoice)},
            "message": _(
                "Le document reçoit son numéro et ne pourra plus être modifié : une erreur se corrige "
                "ensuite par un avoir."
            ),
            "details": _("Total TTC : %(amount)s") % {"amount": _money(invoice.total_incl_vat)},
            "cancel_url": invoice.get_absolute_url(),
            "confirm_label": _("Émettre"),
            "breadcrumb": _breadcrumb(invoice),
        },
    )


def _money(value: Any) -> str:
    from comptoir.core.money import format_money

    return format_money(value)


@right_required("billing.delete_invoice")
def invoice_delete(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    if request.method == "POST":
        title = invoice_title(invoice)
        try:
            services.delete_draft(invoice=invoice, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(invoice)
        messages.success(request, _("%(title)s est supprimé.") % {"title": title})
        return redirect("billing:invoice_list")
    if not invoice.is_draft:
        return redirect(invoice)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Supprimer %(title)s ?") % {"title": invoice_title(invoice)},
            "message": _("Le brouillon et ses lignes sont supprimés ; ses consommations redeviennent à facturer."),
            "cancel_url": invoice.get_absolute_url(),
            "confirm_label": _("Supprimer le brouillon"),
            "danger": True,
            "breadcrumb": _breadcrumb(invoice),
        },
    )


@right_required("billing.issue_invoice")
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    """« Créer un avoir »: all of what remains, or amounts excl. VAT per line; issued at once or left as a draft."""
    invoice = _invoice(request, pk)
    lines = selectors.invoice_lines(invoice)
    form = CreditNoteForm(request.POST or None, invoice=invoice, lines=lines)
    if request.method == "POST" and form.is_valid():
        arguments = {"invoice": invoice, "by": request.user, "lines": form.credit_lines(),
                     "reason": form.cleaned_data["reason"]}  # fmt: skip
        try:
            if form.cleaned_data["issue_now"]:
                credit = services.credit_invoice(**arguments)
            else:
                credit = services.create_credit_note(**arguments)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"lines": None})
        else:
            messages.success(request, _("L'avoir %(title)s est créé.") % {"title": invoice_title(credit)})
            return redirect(credit)
    remaining = services.remaining_to_credit(invoice) if not invoice.is_draft else None
    return render(
        request,
        "billing/invoices/credit.html",
        {
            "invoice": invoice,
            "form": form,
            "remaining": remaining,
            "title": _("Avoir sur %(title)s") % {"title": invoice_title(invoice)},
            "breadcrumb": _breadcrumb(invoice),
            "cancel_url": invoice.get_absolute_url(),
        },
    )


# --------------------------------------------------------------------------------------------------
# Files of an issued document
# --------------------------------------------------------------------------------------------------
def _issued(request: HttpRequest, pk: int) -> Invoice:
    invoice = _invoice(request, pk)
    if invoice.is_draft:
        raise Http404(_("Un brouillon n'a pas encore de document."))
    return invoice


def _file_response(content: bytes | str, content_type: str, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(content.encode() if isinstance(content, str) else content, content_type=content_type)
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


@right_required("billing.view_invoice")
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _issued(request, pk)
    from comptoir.billing.documents.render import ensure_pdf

    return _file_response(ensure_pdf(invoice), "application/pdf", f"{invoice.reference}.pdf", inline=True)


@right_required("billing.view_invoice")
def invoice_facturx(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _issued(request, pk)
    from comptoir.billing.documents.render import stored_cii  # type: ignore[attr-defined]

    return _file_response(stored_cii(invoice), "application/xml", f"{invoice.reference}-factur-x.xml", inline=False)


@right_required("billing.view_invoice")
def invoice_ubl(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _issued(request, pk)
    from comptoir.billing.documents.ubl import invoice_ubl as render_ubl  # type: ignore[import-not-found]

    return _file_response(render_ubl(invoice), "application/xml", f"{invoice.reference}-ubl.xml", inline=False)


# --------------------------------------------------------------------------------------------------
# « Nouvelle facture »
# --------------------------------------------------------------------------------------------------
@right_required("billing.add_invoice")
def invoice_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    companies = crm_selectors.companies_for(request.user, organization)  # type: ignore[arg-type]
    contracts = contract_selectors.contracts_for(request.user, organization)  # type: ignore[arg-type]
    initial = {}
    if str(request.GET.get("company", "")).isdigit():
        initial["company"] = companies.filter(pk=int(request.GET["company"])).first()
    form = InvoiceCreateForm(
        request.POST or None,
        initial=initial,
        companies=companies,
        centers=core_selectors.centers_for(request.user, organization),  # type: ignore[arg-type]
        contracts=contracts,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invoice = services.create_invoice(
                by=request.user,  # type: ignore[arg-type]
                company=data["company"],
                center=data["center"],
                contract=data.get("contract"),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le brouillon est créé : ajoutez ses lignes."))
            return redirect(invoice)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouvelle facture"),
            "intro": _("La facture est créée en brouillon, sans numéro : ajoutez ses lignes puis émettez-la."),
            "cancel_url": reverse("billing:invoice_list"),
            "breadcrumb": _breadcrumb(),
            "submit_label": _("Créer le brouillon"),
        },
    )


# --------------------------------------------------------------------------------------------------
# The « Factures » tab of a company
# --------------------------------------------------------------------------------------------------
@right_required("billing.view_invoice")
def company_invoices(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(crm_selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    invoices = list(invoice_rows(request).filter(company=company).order_by("-issue_date", "-number", "-id")[:100])
    template = "billing/invoices/_company_invoices.html" if getattr(request, "htmx", False) else (
        "billing/invoices/company_invoices.html")  # fmt: skip
    return render(
        request,
        template,
        {
            "company": company,
            "invoices": invoices,
            "badges": STATUS_BADGES,
            "all_url": f"{reverse('billing:invoice_list')}?company={company.pk}",
            "can_add": can(request, "billing.add_invoice"),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
        },
    )


@right_required("billing.view_invoice")
def contract_invoices(request: HttpRequest, pk: int) -> HttpResponse:
    """The « Factures » tab of a contract's page (frontmanager §7): its invoices and credit notes."""
    contract = get_object_or_404(contract_selectors.contracts_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    invoices = list(invoice_rows(request).filter(contract=contract).order_by("-issue_date", "-number", "-id")[:100])
    return render(
        request,
        "billing/invoices/_contract_invoices.html",
        {
            "contract": contract,
            "invoices": invoices,
            "badges": STATUS_BADGES,
            "all_url": f"{reverse('billing:invoice_list')}?company={contract.company_id}",
        },
    )


if not any(tab[0] == "invoices" for tab in CONTRACT_TABS):
    CONTRACT_TABS.append(("invoices", gettext_lazy("Factures"), "billing:contract_invoices", "billing.view_invoice"))


urlpatterns = [
    path("contracts/<int:pk>/invoices/", contract_invoices, name="contract_invoices"),
    path("invoices/", invoice_list, name="invoice_list"),
    path("invoices/new/", invoice_create, name="invoice_create"),
    path("invoices/<int:pk>/", invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/edit/", invoice_update, name="invoice_update"),
    path("invoices/<int:pk>/lines/", invoice_line_add, name="invoice_line_add"),
    path("invoices/<int:pk>/lines/edit/", invoice_line_edit, name="invoice_line_edit"),
    path("invoices/<int:pk>/lines/delete/", invoice_line_delete, name="invoice_line_delete"),
    path("invoices/<int:pk>/issue/", invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/delete/", invoice_delete, name="invoice_delete"),
    path("invoices/<int:pk>/credit/", invoice_credit, name="invoice_credit"),
    path("invoices/<int:pk>/pdf/", invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/factur-x.xml", invoice_facturx, name="invoice_facturx"),
    path("invoices/<int:pk>/ubl.xml", invoice_ubl, name="invoice_ubl"),
    path("companies/<int:pk>/invoices/", company_invoices, name="company_invoices"),
]
