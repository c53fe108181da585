"""Finance → Exports, the desk's « Documents »: the issued invoices and credit notes with the list's search (client,
amount, number, service) and period filter, a selection (rows, or « toutes les factures de la période ») and
three exports — the zip of a CSV and every PDF, the accountant's FEC, the Chorus Pro batch — built in the
background: the jobs table polls (HTMX) until each file is ready to download.

Also the « Envoyer » button of an issued document's page (`billing:invoice_send`, registered in
INVOICE_ACTIONS): the company's delivery methods (e-mail with the PDF, notification, Chorus Pro, direct debit).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from comptoir.billing import selectors
from comptoir.billing.filters import InvoiceFilter
from comptoir.billing.models import ExportJob, Invoice, InvoiceDelivery
from comptoir.billing.services import delivery as delivery_services
from comptoir.billing.services import exports as services
from comptoir.billing.views.invoices import INVOICE_ACTIONS, InvoiceListPage, invoice_columns
from comptoir.core import selectors as core_selectors
from comptoir.core.errors import DomainError
from comptoir.core.lists import Column
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, post_only, right_required

MENU = [Entry("finance", gettext_lazy("Exports"), "billing:export_list", "billing.view_invoice", 15, "file-zip")]
JOBS_SHOWN = 20
FILTER_FIELDS = ("q", "company", "status", "kind", "center", "date_from", "date_to")
CONTENT_TYPES = {
    ExportJob.Kind.ZIP: "application/zip",
    ExportJob.Kind.FEC: "text/plain; charset=iso-8859-15",
    ExportJob.Kind.CHORUS_PRO: "application/gzip",
}

for _suffix, _verb, _icon in [
    ("delivered", gettext_lazy("Envoi"), "envelope-check"),
    ("delivery_failed", gettext_lazy("Envoi en échec"), "envelope-exclamation"),
    ("requested", gettext_lazy("Export demandé"), "file-zip"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

# the « Envoyer » button of an issued document's page
if not any(action[1] == "billing:invoice_send" for action in INVOICE_ACTIONS):
    INVOICE_ACTIONS.append((gettext_lazy("Envoyer"), "billing:invoice_send", "billing.change_invoice"))


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def _select_cell(invoice: Invoice) -> SafeString:
    return format_html(
        '<input class="form-check-input" type="checkbox" name="ids" value="{}" form="export-form" aria-label="{}">',
        invoice.pk,
        _("Sélectionner %(reference)s") % {"reference": invoice.reference},
    )


def _columns() -> list[Column]:
    select = Column("select", gettext_lazy("Sélection"), accessor=lambda i: i, render=_select_cell, export=False,
                    css_class="text-center")  # fmt: skip
    return [select, *invoice_columns()]


def _jobs_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    jobs = list(services.exports_visible_to(request.user, request.organization)[:JOBS_SHOWN])  # type: ignore[arg-type, attr-defined]
    running = any(job.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING) for job in jobs)
    return {"jobs": jobs, "polling": running, **extra}


class ExportListPage(InvoiceListPage):
    """The invoice list without drafts: the status filter offers the issued statuses only."""

    def get_context(self) -> dict[str, Any]:
        context = super().get_context()
        form = context["filter_form"]
        if form is not None and "status" in form.fields:
            field = form.fields["status"]
            field.choices = [choice for choice in field.choices if choice[0] != Invoice.Status.DRAFT]
        return context


@right_required("billing.view_invoice")
def export_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.invoices_for(request.user, request.organization).exclude(status=Invoice.Status.DRAFT)  # type: ignore[arg-type, attr-defined]
    entities = list(core_selectors.legal_entities_for(request.user, request.organization).order_by("name", "pk"))  # type: ignore[arg-type, attr-defined]
    query = request.GET.copy()
    query.pop("cursor", None)
    return ExportListPage(
        request,
        queryset=rows,
        columns=_columns(),
        filterset_class=InvoiceFilter,
        search_fields=["reference"],  # shows the search box; the search itself is InvoiceFilter.q
        search_placeholder=gettext_lazy("Client, montant TTC, numéro, prestation…"),
        default_sort="-issue_date",
        title=gettext_lazy("Exports des factures"),
        empty_message=gettext_lazy("Aucune facture émise pour le moment."),
        intro_template="billing/exports/_intro.html",
        extra_context={
            **_jobs_context(request),
            "entities": entities,
            "request_url": reverse("billing:export_request") + (f"?{query.urlencode()}" if query else ""),
        },
    ).response()


def _parameters(request: HttpRequest) -> dict[str, Any]:
    """The list's filters (from the included filter form, or the page's query string) and the selection."""
    parameters: dict[str, Any] = {}
    for name in FILTER_FIELDS:
        value = request.POST.get(name) or request.GET.get(name)
        if value:
            parameters[name] = value
    parameters["ids"] = request.POST.getlist("ids")
    parameters["all"] = request.POST.get("all") == "1"
    if request.POST.get("legal_entity"):
        parameters["legal_entity"] = request.POST["legal_entity"]
    return parameters


@right_required("billing.view_invoice")
def export_request(request: HttpRequest) -> HttpResponse:
    if (refused := post_only(request)) is not None:
        return refused
    kind = request.POST.get("export", "")
    notice = error = ""
    try:
        job = services.request_export(
            organization=request.organization,  # type: ignore[attr-defined]
            by=request.user,  # type: ignore[arg-type]
            kind=kind,
            parameters=_parameters(request),
        )
    except DomainError as exc:
        error = exc.message
    else:
        notice = ngettext(
            "Export demandé (%(count)s document) : le fichier se prépare ci-dessous.",
            "Export demandé (%(count)s documents) : le fichier se prépare ci-dessous.",
            job.total,
        ) % {"count": job.total}
    if getattr(request, "htmx", False):
        context = _jobs_context(request, notice=notice, error=error)
        return render(request, "billing/exports/_jobs.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    query = request.GET.urlencode()
    return redirect(reverse("billing:export_list") + (f"?{query}" if query else ""))


@require_GET
@right_required("billing.view_invoice")
def export_jobs(request: HttpRequest) -> HttpResponse:
    """The jobs table alone: the page polls it while an export is being made."""
    return render(request, "billing/exports/_jobs.html", _jobs_context(request))


@require_GET
@right_required("billing.view_invoice")
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(services.exports_visible_to(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404(_("Ce fichier n'est pas prêt."))
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("Ce fichier n'existe plus.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=services.download_name(job), content_type=CONTENT_TYPES.get(job.kind)
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------------------------------
# « Envoyer » on an issued document's page
# --------------------------------------------------------------------------------------------------
@right_required("billing.view_invoice")
def invoice_send(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(selectors.invoices_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    if (refused := post_only(request)) is not None:
        return refused
    try:
        deliveries = delivery_services.send_invoice(
            invoice=invoice,
            by=request.user,
            methods=request.POST.getlist("methods") or None,  # type: ignore[arg-type]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(invoice)
    for delivery in deliveries:
        values = {"method": delivery.get_method_display(), "recipient": delivery.recipient, "detail": delivery.detail}
        if delivery.status == InvoiceDelivery.Status.FAILED:
            messages.error(request, _("%(method)s : échec. %(detail)s") % values)
        elif delivery.recipient and delivery.method in delivery_services.EMAIL_METHODS:
            messages.success(request, _("%(method)s : envoyé à %(recipient)s.") % values)
        else:
            messages.success(request, _("%(method)s : %(detail)s") % values)
    if not deliveries:
        messages.info(request, _("Rien à envoyer."))
    return redirect(invoice)


urlpatterns = [
    path("exports/", export_list, name="export_list"),
    path("exports/request/", export_request, name="export_request"),
    path("exports/jobs/", export_jobs, name="export_jobs"),
    path("exports/<int:pk>/download/", export_download, name="export_download"),
    path("invoices/<int:pk>/send/", invoice_send, name="invoice_send"),
]
