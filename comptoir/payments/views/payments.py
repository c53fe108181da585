"""Finance → Paiements (frontmanager §7 « Associer un paiement », « Suivre le statut » ; desk « Suivi des
paiements »): the list of payments received, a payment's page (its allocations, « Affecter » what remains,
« Rejeter »), « Nouveau paiement », the « Suivi des paiements » panel of an invoice's page (registered in billing's
INVOICE_PANELS) and the « Paiements » tab of a company (crm's COMPANY_TABS).

Every object view fetches its object through a tenant-scoped selector before it looks at the method, so another
organization's payment, invoice or company answers 404 on GET and POST alike. The services decide
(comptoir.payments.services.payments); a refusal is shown at its field or on top of the form.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect

from comptoir.billing import selectors as billing_selectors
from comptoir.billing.models import Invoice
from comptoir.billing.views import invoices as billing_invoices
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.money import format_money
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
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.models import Company
from comptoir.crm.views import companies as crm_companies
from comptoir.payments import selectors
from comptoir.payments.forms import (
    AllocateForm,
    CompanyPickForm,
    InvoicePaymentForm,
    PaymentCreateForm,
    PaymentFilter,
    ReverseForm,
    describe,
)
from comptoir.payments.models import Payment
from comptoir.payments.services import payments as services

register_object_url("payments.payment", "payments:payment_detail")
for _suffix, _verb, _icon in [
    ("recorded", gettext_lazy("Paiement enregistré"), "cash-coin"),
    ("allocated", gettext_lazy("Paiement affecté"), "arrow-left-right"),
    ("reversed", gettext_lazy("Paiement rejeté"), "x-octagon"),
    ("collected", gettext_lazy("Paiement encaissé"), "check2-circle"),
    ("payment_allocated", gettext_lazy("Paiement reçu"), "cash-coin"),
    ("payment_reversed", gettext_lazy("Paiement rejeté"), "x-octagon"),
    ("credit_balance_applied", gettext_lazy("Avoir client utilisé"), "wallet2"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)
# The journal's change names that are not fields of the object (a payment's allocations, an invoice's payment).
for _name, _label in [
    ("allocations", gettext_lazy("Affectations")),
    ("payment", gettext_lazy("Paiement")),
    ("payments", gettext_lazy("Paiements")),
    ("amount", gettext_lazy("Montant")),
    ("method", gettext_lazy("Moyen de paiement")),
    ("reason", gettext_lazy("Motif")),
    ("on", gettext_lazy("Date")),
]:
    CHANGE_LABELS.setdefault(_name, _label)

MENU = [Entry("finance", gettext_lazy("Paiements"), "payments:payment_list", "payments.view_payment", 12, "cash-coin")]

STATUS_BADGES = {
    Payment.Status.RECEIVED: "success",
    Payment.Status.IN_COLLECTION: "info",
    Payment.Status.REVERSED: "danger",
}


def _payable(invoice: Invoice) -> bool:
    return invoice.kind == Invoice.Kind.INVOICE and invoice.status != Invoice.Status.DRAFT


if not any(panel[0] == "payments:invoice_payments" for panel in billing_invoices.INVOICE_PANELS):
    billing_invoices.INVOICE_PANELS.append(("payments:invoice_payments", "payments.view_payment", _payable))
if not any(tab[0] == "payments" for tab in crm_companies.COMPANY_TABS):
    crm_companies.COMPANY_TABS.append(
        ("payments", gettext_lazy("Paiements"), "payments:company_payments", "payments.view_payment")
    )


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def status_badge(payment: Payment) -> str:
    return STATUS_BADGES.get(payment.status, "secondary")


def _status_cell(payment: Payment) -> SafeString:
    return format_html(
        '<span class="badge rounded-pill text-bg-{}">{}</span>', status_badge(payment), payment.get_status_display()
    )


def _client_cell(payment: Payment) -> SafeString:
    return format_html('<a href="{}" translate="no">{}</a>', reverse("crm:company_detail", args=[payment.company_id]),
                       payment.company.name)  # fmt: skip


def _amount_cell(payment: Payment) -> SafeString:
    if payment.is_reversed:
        return format_html("<s>{}</s>", format_money(payment.amount))
    return format_html("{}", format_money(payment.amount))


def _invoices_cell(payment: Payment) -> SafeString:
    allocations = list(payment.allocations.all())
    if not allocations:
        return mark_safe('<span class="text-body-tertiary">—</span>')
    return format_html_join(
        ", ", '<a href="{}" translate="no">{}</a>',
        ((reverse("billing:invoice_detail", args=[a.invoice_id]), a.invoice.reference) for a in allocations),
    )  # fmt: skip


def _csv_amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def payment_columns() -> list[Column]:
    return [
        Column("received_on", gettext_lazy("Reçu le"), kind="date", sort="received_on", link=True),
        Column(
            "company",
            gettext_lazy("Client"),
            accessor=lambda p: p,
            sort="company__name",
            render=_client_cell,
            export=lambda p: p.company.name,
        ),
        Column("method", gettext_lazy("Moyen"), accessor=lambda p: p.get_method_display(), sort="method"),
        Column("reference", gettext_lazy("Référence"), data=True, sort="reference"),
        Column("payer", gettext_lazy("Payeur"), data=True),
        Column(
            "amount",
            gettext_lazy("Montant"),
            accessor=lambda p: p,
            sort="amount",
            render=_amount_cell,
            css_class="text-end text-nowrap",
            export=lambda p: _csv_amount(p.amount),
        ),
        Column(
            "invoices",
            gettext_lazy("Factures"),
            accessor=lambda p: p,
            render=_invoices_cell,
            export=lambda p: ", ".join(a.invoice.reference for a in p.allocations.all()),
        ),
        Column(
            "remainder",
            gettext_lazy("Non affecté"),
            accessor=selectors.remainder_of,
            kind="money",
            css_class="text-end text-nowrap",
            export=lambda p: _csv_amount(selectors.remainder_of(p)),
        ),
        Column(
            "status",
            gettext_lazy("Statut"),
            accessor=lambda p: p,
            sort="status",
            render=_status_cell,
            export=lambda p: p.get_status_display(),
        ),
    ]


class PaymentListPage(ListPage):
    """The search is the FilterSet's `q` (client, reference, payer, invoice number, exact amount), shared with the
    API; the client filter comes from a link (the company's tab) and shows as a chip."""

    NOT_IN_BAR = ("q", "company")

    def filtered_queryset(self) -> QuerySet:
        return self.filterset.qs if self.filterset is not None else self.base_queryset  # type: ignore[return-value]

    def get_context(self) -> dict[str, Any]:
        context = super().get_context()
        form = context["filter_form"]
        cleaned = getattr(form, "cleaned_data", {}) if form is not None and form.is_bound else {}
        linked = []
        if cleaned.get("company") is not None:
            linked.append((cleaned["company"].name, self.url_with(company=None, cursor=None)))
        if form is not None:
            for name in self.NOT_IN_BAR:
                form.fields.pop(name, None)
        context["linked_filters"] = linked
        return context


def payment_rows(request: HttpRequest) -> QuerySet[Payment]:
    return selectors.payments_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


@right_required("payments.view_payment")
def payment_list(request: HttpRequest) -> HttpResponse:
    can_add = can(request, "payments.add_payment")
    return PaymentListPage(
        request,
        queryset=payment_rows(request),
        columns=payment_columns(),
        filterset_class=PaymentFilter,
        search_fields=["reference"],  # shows the search box; the search itself is PaymentFilter.q
        search_placeholder=gettext_lazy("Client, référence, payeur, n° de facture, montant…"),
        default_sort="-received_on",
        title=gettext_lazy("Paiements"),
        export_name="paiements",
        create_url=reverse("payments:payment_create") if can_add else None,
        create_label=gettext_lazy("Nouveau paiement"),
        empty_message=gettext_lazy("Aucun paiement pour le moment."),
        intro_template="billing/invoices/_linked_filters.html",
        template_name="payments/imports/payment_list.html",  # the list, plus « Importer un relevé »
        extra_context={"import_url": reverse("payments:statement_import") if can_add else None},
    ).response()


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _payment(request: HttpRequest, pk: int) -> Payment:
    return get_object_or_404(payment_rows(request), pk=pk)


def _invoice(request: HttpRequest, pk: int) -> Invoice:
    invoices = billing_selectors.invoices_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]
    return get_object_or_404(invoices, pk=pk)


def _companies(request: HttpRequest) -> QuerySet[Company]:
    return crm_selectors.companies_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _breadcrumb(payment: Payment | None = None) -> list[tuple[str, str]]:
    crumbs = [(_("Paiements"), reverse("payments:payment_list"))]
    if payment is not None:
        crumbs.append((payment_title(payment), payment.get_absolute_url()))
    return crumbs


def payment_title(payment: Payment) -> str:
    return _("Paiement n°%(id)s") % {"id": payment.pk}


def _next_url(request: HttpRequest, default: str) -> str:
    """A back office page to return to (a `next` of this site under /manage/), else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                              require_https=request.is_secure())  # fmt: skip
    return target if allowed and target.startswith("/manage/") else default


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --------------------------------------------------------------------------------------------------
# « Suivi des paiements » of an invoice (a panel of billing's invoice page)
# --------------------------------------------------------------------------------------------------
def _panel_context(request: HttpRequest, invoice: Invoice, *, form: InvoicePaymentForm | None = None) -> dict[str, Any]:
    allocations = selectors.invoice_allocations(invoice)
    payable = invoice.kind == Invoice.Kind.INVOICE and invoice.status == Invoice.Status.ISSUED
    remaining = services.remaining_to_pay(invoice)
    counted = [a for a in allocations if a.payment.status in services.COUNTED]
    balance = selectors.company_credit_balance(invoice.company_id) if payable and remaining > 0 else Decimal("0.00")
    state = billing_invoices.payment_state(invoice)
    return {
        "invoice": invoice,
        "allocations": allocations,
        "paid": sum((a.amount for a in counted), Decimal("0.00")),
        "remaining": remaining,
        "credited": invoice.amount_credited,
        "credit_balance": balance,
        "payment_badge": billing_invoices.PAYMENT_STATES.get(state or ""),
        "payable": payable,
        "can_record": payable and remaining > 0 and can(request, "payments.add_payment"),
        "can_apply_credit": payable and remaining > 0 and balance > 0 and can(request, "payments.change_payment"),
        "can_reverse": can(request, "payments.change_payment"),
        "form": form,
        "badges": STATUS_BADGES,
        "next": invoice.get_absolute_url(),
    }


def _render_panel(request: HttpRequest, invoice: Invoice, *, form: InvoicePaymentForm | None = None) -> HttpResponse:
    context = _panel_context(request, invoice, form=form)
    if _is_htmx(request):
        return render(request, "payments/payments/_invoice_panel.html", context)
    title = _("Suivi des paiements de %(reference)s") % {"reference": invoice.reference or invoice.pk}
    context.update({"title": title, "breadcrumb": [(_("Factures"), reverse("billing:invoice_list")),
                                                   (invoice.reference, invoice.get_absolute_url())]})  # fmt: skip
    return render(request, "payments/payments/invoice_payments.html", context)


@right_required("payments.view_payment")
def invoice_payments(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel: every allocation (reversed ones struck through), paid and remaining, the payment state, and the
    buttons « Enregistrer un paiement », « Utiliser l'avoir client », « Rejeter »."""
    return _render_panel(request, _invoice(request, pk))


@right_required("payments.add_payment")
def invoice_payment_record(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the panel with the form open (amount: what remains); POST: record the payment, allocated to the invoice
    up to what remains; the surplus is the company's credit balance."""
    invoice = _invoice(request, pk)
    if request.method != "POST":
        return _render_panel(request, invoice, form=InvoicePaymentForm.for_invoice(invoice))
    form = InvoicePaymentForm.for_invoice(invoice, request.POST)
    if form.is_valid():
        data = {**form.payment_data(), "company": invoice.company}
        try:
            amount = services.amount_of(data["amount"])
            share = min(amount, services.remaining_to_pay(invoice))
            payment = services.record_payment(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,  # type: ignore[arg-type]
                data=data,
                allocations=[(invoice, share)] if share > 0 else [],
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"allocations": None, "company": None})
        else:
            surplus = amount - share
            if surplus > 0:
                messages.success(request, _("%(payment)s est enregistré ; %(surplus)s vont à l'avoir du client.")
                                 % {"payment": describe(payment), "surplus": format_money(surplus)})  # fmt: skip
            else:
                messages.success(request, _("%(payment)s est enregistré.") % {"payment": describe(payment)})
            if _is_htmx(request):
                return HttpResponseClientRedirect(invoice.get_absolute_url())
            return redirect(invoice)
    return _render_panel(request, invoice, form=form)


@right_required("payments.change_payment")
def invoice_credit_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """« Utiliser l'avoir client »: the company's credit balance pays the invoice, up to what remains."""
    invoice = _invoice(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        made = services.apply_credit_balance(invoice=invoice, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        total = sum((allocation.amount for allocation in made), Decimal("0.00"))
        messages.success(request, _("%(amount)s de l'avoir du client sont affectés à %(reference)s.")
                         % {"amount": format_money(total), "reference": invoice.reference})  # fmt: skip
    if _is_htmx(request):
        return HttpResponseClientRedirect(invoice.get_absolute_url())
    return redirect(invoice)


# --------------------------------------------------------------------------------------------------
# A payment's page
# --------------------------------------------------------------------------------------------------
def _detail(request: HttpRequest, payment: Payment, *, allocate_form: AllocateForm | None = None,
            status: int = 200) -> HttpResponse:  # fmt: skip
    remainder = selectors.remainder_of(payment)
    can_change = can(request, "payments.change_payment")
    invoices: list[Invoice] = []
    if remainder > 0 and can_change:
        invoices = list(selectors.open_invoices(payment.company_id))
        if allocate_form is None and invoices:
            allocate_form = AllocateForm(invoices=invoices, available=remainder, prefix="allocate")
    context = {
        "object": payment,
        "payment": payment,
        "title": payment_title(payment),
        "status_badge": status_badge(payment),
        "allocations": list(payment.allocations.all()),
        "remainder": remainder,
        "credit_balance": selectors.company_credit_balance(payment.company_id),
        "allocate_form": allocate_form if remainder > 0 and can_change else None,
        "open_invoices": invoices,
        "can_reverse": not payment.is_reversed and can_change,
        "counted": payment.status in services.COUNTED,
        "timeline": timeline(payment),
        "breadcrumb": _breadcrumb(),
    }
    return render(request, "payments/payments/detail.html", context, status=status)


@right_required("payments.view_payment")
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _payment(request, pk))


@right_required("payments.change_payment")
def payment_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    """« Affecter »: amounts per open invoice of the company, within what remains of the payment."""
    payment = _payment(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    invoices = list(selectors.open_invoices(payment.company_id))
    form = AllocateForm(request.POST, invoices=invoices, available=selectors.remainder_of(payment), prefix="allocate")
    if form.is_valid():
        try:
            made = services.allocate_payment(payment=payment, by=request.user,  # type: ignore[arg-type]
                                             allocations=form.cleaned_data["allocations"])  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"allocations": None})
        else:
            total = sum((allocation.amount for allocation in made), Decimal("0.00"))
            messages.success(request, _("%(amount)s sont affectés.") % {"amount": format_money(total)})
            return redirect(payment)
    return _detail(request, _payment(request, pk), allocate_form=form)


@right_required("payments.change_payment")
def payment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    """« Rejeter »: a bounced cheque, a returned debit. The payment is kept, marked reversed; its invoices reopen."""
    payment = _payment(request, pk)
    back = _next_url(request, payment.get_absolute_url())
    form = ReverseForm(request.POST if request.method == "POST" else None, received_on=payment.received_on)
    if request.method == "POST" and form.is_valid():
        try:
            services.reverse_payment(payment=payment, by=request.user, reason=form.cleaned_data["reason"],  # type: ignore[arg-type]
                                     on=form.cleaned_data["on"])  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("%(payment)s est rejeté : ses factures sont de nouveau à payer.")
                             % {"payment": describe(payment)})  # fmt: skip
            return redirect(back)
    if payment.is_reversed and request.method != "POST":
        messages.info(request, _("Ce paiement est déjà rejeté."))
        return redirect(back)
    invoices = ", ".join(a.invoice.reference for a in payment.allocations.all()) or "—"
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Rejeter le paiement : %(payment)s") % {"payment": describe(payment)},
            "intro": _(
                "Le paiement reste dans l'historique, marqué rejeté ; ses affectations ne comptent plus et "
                "ses factures redeviennent à payer (%(invoices)s)."
            )
            % {"invoices": invoices},
            "cancel_url": back,
            "breadcrumb": _breadcrumb(payment),
            "submit_label": _("Rejeter le paiement"),
        },
    )


# --------------------------------------------------------------------------------------------------
# « Nouveau paiement »
# --------------------------------------------------------------------------------------------------
@right_required("payments.add_payment")
def payment_create(request: HttpRequest) -> HttpResponse:
    """First the client (a GET form), then the payment and the amounts it pays among the client's open invoices
    (what is not allocated is the client's credit balance)."""
    companies = _companies(request).filter(is_archived=False).order_by("name", "id")
    raw = request.POST.get("company") if request.method == "POST" else request.GET.get("company")
    company = companies.filter(pk=int(raw)).first() if str(raw or "").isdigit() else None
    context: dict[str, Any] = {"title": _("Nouveau paiement"), "breadcrumb": _breadcrumb(),
                               "cancel_url": reverse("payments:payment_list")}  # fmt: skip
    if company is None:
        pick = CompanyPickForm(request.GET if "company" in request.GET else None, companies=companies)
        if pick.is_bound:
            pick.is_valid()
        return render(request, "payments/payments/create.html", {**context, "pick_form": pick})
    invoices = list(selectors.open_invoices(company))
    form = PaymentCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"company": company},
        companies=companies,
        invoices=invoices,
    )
    if request.method == "POST" and form.is_valid():
        data = {**form.payment_data(), "company": company}
        try:
            payment = services.record_payment(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,  # type: ignore[arg-type]
                data=data,
                allocations=form.cleaned_data["allocations"],
            )
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"allocations": None, "company": None})
        else:
            messages.success(request, _("%(payment)s est enregistré.") % {"payment": describe(payment)})
            return redirect(payment)
    context.update({
        "company": company,
        "form": form,
        "payment_fields": [form[name] for name in form.PAYMENT_FIELDS],
        "rows": form.invoice_rows(),
        "credit_balance": selectors.company_credit_balance(company),
        "change_url": reverse("payments:payment_create"),
    })  # fmt: skip
    return render(request, "payments/payments/create.html", context)


# --------------------------------------------------------------------------------------------------
# The « Paiements » tab of a company
# --------------------------------------------------------------------------------------------------
@right_required("payments.view_payment")
def company_payments(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(_companies(request), pk=pk)
    payments = list(payment_rows(request).filter(company=company).order_by("-received_on", "-id")[:100])
    template = ("payments/payments/_company_payments.html" if _is_htmx(request)
                else "payments/payments/company_payments.html")  # fmt: skip
    return render(
        request,
        template,
        {
            "company": company,
            "payments": [(payment, selectors.remainder_of(payment)) for payment in payments],
            "badges": STATUS_BADGES,
            "credit_balance": selectors.company_credit_balance(company),
            "open_total": sum((invoice.amount_due for invoice in selectors.open_invoices(company)), Decimal("0.00")),
            "all_url": f"{reverse('payments:payment_list')}?company={company.pk}",
            "can_add": can(request, "payments.add_payment"),
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
        },
    )


urlpatterns = [
    path("", payment_list, name="payment_list"),
    path("new/", payment_create, name="payment_create"),
    path("<int:pk>/", payment_detail, name="payment_detail"),
    path("<int:pk>/allocate/", payment_allocate, name="payment_allocate"),
    path("<int:pk>/reverse/", payment_reverse, name="payment_reverse"),
    path("invoices/<int:pk>/", invoice_payments, name="invoice_payments"),
    path("invoices/<int:pk>/record/", invoice_payment_record, name="invoice_payment_record"),
    path("invoices/<int:pk>/credit-balance/", invoice_credit_apply, name="invoice_credit_apply"),
    path("companies/<int:pk>/payments/", company_payments, name="company_payments"),
]
