"""Portal « Mon entreprise → Mes factures et avoirs » (frontmanager « Espace client » §2): the issued invoices and
credit notes of the member's companies, a document's page (lines, VAT, totals) and its PDF.

Who: the company roles that see the company's documents (comptoir.crm.capabilities "view_documents", through
comptoir.billing.selectors.invoices_for_member). The list answers 403 to the other roles, as « Mon entreprise »
does; a document that is not one of the member's (another company, a draft, another role) answers 404.
"""

from __future__ import annotations

import logging
import operator
from functools import reduce

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from comptoir.billing.models import Invoice
from comptoir.billing.selectors import invoices_for_member
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.crm.selectors import portal_contacts
from comptoir.portal.views import member_required, portal_context
from comptoir.portal.views_documents import _pdf

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


def _contacts(request: HttpRequest) -> list[Contact]:
    return list(portal_contacts(request.user, request.portal_organization))  # type: ignore[arg-type, attr-defined]


def member_invoices(request: HttpRequest) -> QuerySet[Invoice]:
    """The documents of every company where the member sees the documents, in this portal's organization."""
    allowed = [contact for contact in _contacts(request) if capabilities.can(contact, "view_documents")]
    if not allowed:
        return Invoice.objects.none()
    queryset = reduce(operator.or_, (invoices_for_member(contact) for contact in allowed))
    return queryset.filter(organization=request.portal_organization)  # type: ignore[attr-defined]


def _member_invoice(request: HttpRequest, pk: int) -> Invoice:
    invoice = member_invoices(request).filter(pk=pk).first()
    if invoice is None:
        raise Http404(_("Document introuvable."))
    return invoice


@never_cache
@member_required
@require_GET
def invoices(request: HttpRequest) -> HttpResponse:
    """The list: number, date, due date, amount incl. VAT, status, PDF."""
    contacts = _contacts(request)
    if not any(capabilities.can(contact, "view_documents") for contact in contacts):
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas de consulter ses factures."))
    queryset = member_invoices(request).order_by("-issue_date", "-number", "-id")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    several = len({contact.company_id for contact in contacts if capabilities.can(contact, "view_documents")}) > 1
    return render(
        request,
        "portal/invoices/list.html",
        portal_context(request, page=page, invoices=list(page.object_list), several_companies=several),
    )


@never_cache
@member_required
@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _member_invoice(request, pk)
    lines = list(invoice.lines.order_by("position", "id"))
    credit_notes = list(
        invoice.credit_notes.filter(status__in=(Invoice.Status.ISSUED, Invoice.Status.CANCELLED)).order_by("issue_date")
    )
    return render(
        request,
        "portal/invoices/detail.html",
        portal_context(
            request,
            invoice=invoice,
            lines=lines,
            credit_notes=credit_notes,
            vat_groups=invoice.vat_breakdown or [],
            can_pay=_can_pay(request, invoice),
        ),
    )


def _can_pay(request: HttpRequest, invoice: Invoice) -> bool:
    """« Payer par carte »: an issued invoice with something to pay, for a member who may pay the company's."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED or invoice.amount_due <= 0:
        return False
    return any(contact.company_id == invoice.company_id and capabilities.can(contact, "pay_invoices")
               for contact in _contacts(request))  # fmt: skip


@member_required
@require_GET
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _member_invoice(request, pk)
    from comptoir.billing.documents.render import ensure_pdf

    try:
        data = ensure_pdf(invoice)
    except Exception:
        logger.exception("Portal: the PDF of invoice %s could not be produced", invoice.pk)
        messages.error(request, _("Le PDF n'est pas disponible pour le moment : réessayez plus tard."))
        return redirect("portal:invoice_detail", pk=invoice.pk)
    return _pdf(data, f"{invoice.reference}.pdf", inline=request.GET.get("download") != "1")
