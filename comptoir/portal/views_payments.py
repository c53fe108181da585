"""Portal « Mon entreprise → Mes paiements » (frontmanager « Espace client » §2, desk « Suivi des paiements »): the
payment history of the member's companies (date, method, amount, the invoices it paid, its status) and each
company's credit balance.

Who: the company roles that see the company's documents (comptoir.crm.capabilities "view_documents", through
comptoir.payments.selectors.payments_for_members); the list answers 403 to the other roles, as « Mes factures »
does. The page adds its entry to the portal menu (comptoir.portal.navigation.ENTRIES).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.crm.selectors import portal_contacts
from comptoir.payments import selectors
from comptoir.portal import navigation
from comptoir.portal.views import member_required, portal_context

PAGE_SIZE = 50

if not any(entry.url_name == "portal:payments" for entry in navigation.ENTRIES):
    navigation.ENTRIES.append(
        navigation.Entry(gettext_lazy("Mes paiements"), "portal:payments", "cash-coin", 30, capability="view_documents")
    )


def _document_contacts(request: HttpRequest) -> list[Contact]:
    contacts = portal_contacts(request.user, request.portal_organization)  # type: ignore[arg-type, attr-defined]
    return [contact for contact in contacts if capabilities.can(contact, "view_documents")]


@never_cache
@member_required
@require_GET
def payments(request: HttpRequest) -> HttpResponse:
    """The list, newest first: date, method, amount, invoices paid, status; above it, each company's credit."""
    contacts = _document_contacts(request)
    if not contacts:
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas de consulter ses paiements."))
    queryset = selectors.payments_for_members(contacts).filter(
        organization=request.portal_organization  # type: ignore[attr-defined]
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    balances = selectors.credit_balances([contact.company_id for contact in contacts])
    companies = [(contact.company, balances.get(contact.company_id, Decimal("0.00"))) for contact in contacts]
    return render(
        request,
        "portal/payments/list.html",
        portal_context(
            request,
            page=page,
            payments=list(page.object_list),
            companies=companies,
            several_companies=len(companies) > 1,
        ),
    )


urlpatterns = [path("payments/", payments, name="payments")]
