"""Portal: signing a contract with a code received by SMS ("Espace client" §1) and "Mon entreprise",
the company's quotes and contracts (§2). Every step calls comptoir.sales.services.signature.

Who: the signature needs the capability "sign_contracts", the documents "view_documents" (both the
company's administrators, comptoir.crm.capabilities). A contract of another company or organization
answers 404; a member of the right company without the capability gets 403.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from comptoir.core.errors import DomainError
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.crm.selectors import portal_contacts
from comptoir.portal.views import member_required, portal_context
from comptoir.sales.models import Contract, Signature
from comptoir.sales.selectors import signature as selectors
from comptoir.sales.services import signature as service


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as Django sees it (a reverse proxy must set REMOTE_ADDR, e.g. gunicorn's
    --forwarded-allow-ips): a forwarded header from the client itself is never trusted here."""
    return request.META.get("REMOTE_ADDR") or None


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def _contacts(request: HttpRequest) -> list[Contact]:
    return list(portal_contacts(request.user, request.portal_organization))  # type: ignore[arg-type, attr-defined]


def _member_contract(request: HttpRequest, pk: int, *capability_any: str) -> selectors.MemberContract:
    found = selectors.member_contract(_contacts(request), request.portal_organization, pk)  # type: ignore[attr-defined]
    if found is None:
        raise Http404(_("Contrat introuvable."))
    if not any(capabilities.can(found.contact, name) for name in capability_any):
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas d'accéder à ce contrat."))
    return found


def _pdf(data: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------------
def _steps_context(signature: Signature | None, contract: Contract, **extra: Any) -> dict[str, Any]:
    code_sent = bool(signature and signature.code_hash and signature.code_expires_at)
    return {
        "contract": contract,
        "signature": signature,
        "code_sent": code_sent,
        "terms_accepted": bool(signature and signature.terms_accepted_at),
        "remaining_attempts": service.remaining_attempts(signature) if signature else service.MAX_ATTEMPTS,
        "resend_in": service.seconds_before_resend(signature) if signature else 0,
        "masked_phone": service.mask_phone(signature.phone) if signature and signature.phone else "",
        "errors": {},
        **extra,
    }


def _render_steps(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """The steps block alone for HTMX, else the whole page."""
    if request.headers.get("HX-Request"):
        return render(request, "portal/contracts/_sign_steps.html", context, status=status)
    return render(request, "portal/contracts/sign.html", portal_context(request, **context), status=status)


def _done(request: HttpRequest, contract: Contract) -> HttpResponse:
    url = reverse("portal:contract_signed", args=[contract.pk])
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@never_cache
@member_required
@require_GET
def contract_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract, its general terms, then "Recevoir mon code par SMS" and "Signer"."""
    found = _member_contract(request, pk, "sign_contracts")
    contract = found.contract
    if contract.status in Contract.RUNNING:
        return redirect("portal:contract_signed", pk=contract.pk)
    if contract.status != Contract.Status.AWAITING_SIGNATURE or not contract.document:
        raise Http404(_("Ce contrat n'attend pas de signature."))
    signature, blocked = None, ""
    try:
        signature = service.start_signature(
            contract=contract, contact=found.contact, ip=client_ip(request), user_agent=user_agent(request)
        )
    except DomainError as exc:
        blocked = exc.message
    context = _steps_context(signature, contract, blocked=blocked, terms=contract.terms)
    return render(request, "portal/contracts/sign.html", portal_context(request, **context))


@member_required
@require_POST
def contract_sign_code(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the general terms (the checkbox) and receive a code by SMS (also "Renvoyer le code")."""
    found = _member_contract(request, pk, "sign_contracts")
    contract, ip, agent = found.contract, client_ip(request), user_agent(request)
    signature = selectors.pending_signature(contract, found.contact)
    if signature is None:
        if contract.status in Contract.RUNNING:
            return _done(request, contract)
        try:
            signature = service.start_signature(contract=contract, contact=found.contact, ip=ip, user_agent=agent)
        except DomainError as exc:
            return _render_steps(request, _steps_context(None, contract, blocked=exc.message), status=400)
    if request.POST.get("accept_terms") != "on":
        signature.terms_accepted_at = None
        context = _steps_context(
            signature, contract, errors={"accept_terms": _("Cochez la case pour accepter les conditions générales.")}
        )
        return _render_steps(request, context, status=400)
    try:
        terms_version = contract.terms.version if contract.terms_id else None  # type: ignore[union-attr]
        if signature.terms_accepted_at is None or signature.terms_version != terms_version:
            signature = service.accept_terms(signature=signature, ip=ip, user_agent=agent)
        signature = service.send_code(signature=signature, ip=ip, user_agent=agent)
    except DomainError as exc:
        signature.refresh_from_db()
        field = "code" if "code" in exc.fields else "accept_terms"
        context = _steps_context(signature, contract, errors={field: exc.message})
        if exc.code == "locked":
            context["blocked"] = exc.message
        return _render_steps(request, context, status=429 if exc.code == "too_many_codes" else 400)
    return _render_steps(request, _steps_context(signature, contract, just_sent=True))


@member_required
@require_POST
def contract_sign_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Check the 6-digit code; on success the contract is signed (HTMX: HX-Redirect to the confirmation)."""
    found = _member_contract(request, pk, "sign_contracts")
    contract = found.contract
    signature = selectors.pending_signature(contract, found.contact)
    if signature is None:
        if contract.status in Contract.RUNNING:
            return _done(request, contract)
        raise Http404(_("Aucune signature en cours."))
    try:
        service.confirm_code(
            signature=signature,
            code=request.POST.get("code", ""),
            ip=client_ip(request),
            user_agent=user_agent(request),
        )
    except DomainError as exc:
        if exc.code == "already_signed":
            return _done(request, contract)
        signature.refresh_from_db()
        context = _steps_context(signature, contract, errors={"code": exc.message}, code_value="")
        if exc.code == "locked":
            context["blocked"] = exc.message
        return _render_steps(request, context, status=400)
    return _done(request, contract)


@member_required
@require_GET
def contract_signed(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation: the contract is signed, with the link to the sealed PDF."""
    found = _member_contract(request, pk, "sign_contracts", "view_documents")
    if found.contract.status not in Contract.RUNNING and found.contract.status != Contract.Status.ENDED:
        return redirect("portal:contract_sign", pk=found.contract.pk)
    return render(request, "portal/contracts/signed.html", portal_context(request, contract=found.contract))


@xframe_options_sameorigin
@member_required
@require_GET
def contract_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract's PDF to sign (shown in the signing page), checked against its SHA-256."""
    found = _member_contract(request, pk, "sign_contracts", "view_documents")
    contract = found.contract
    if not contract.document or contract.status == Contract.Status.DRAFT:
        raise Http404(_("Document introuvable."))
    data = service.read_file(contract.document)
    if contract.document_sha256 and hashlib.sha256(data).hexdigest() != contract.document_sha256:
        raise Http404(_("Document introuvable."))
    return _pdf(data, f"{contract.reference}.pdf", inline=request.GET.get("download") != "1")


@member_required
@require_GET
def contract_signed_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The sealed, signed PDF (the contract + the evidence page)."""
    found = _member_contract(request, pk, "sign_contracts", "view_documents")
    contract = found.contract
    if not contract.signed_document:
        raise Http404(_("Document introuvable."))
    return _pdf(service.read_file(contract.signed_document), f"{contract.reference}-signe.pdf")


# --------------------------------------------------------------------------------------------------
# Mon entreprise: documents
# --------------------------------------------------------------------------------------------------
@member_required
@require_GET
def documents(request: HttpRequest) -> HttpResponse:
    """ "Mon entreprise": the quotes and contracts of each company where the member sees the documents."""
    contacts = _contacts(request)
    companies = selectors.company_documents(contacts)
    if not companies:
        raise PermissionDenied(_("Votre rôle dans l'entreprise ne permet pas de consulter ses documents."))
    return render(request, "portal/documents.html", portal_context(request, companies=companies))


@member_required
@require_GET
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.member_quote(_contacts(request), request.portal_organization, pk)  # type: ignore[attr-defined]
    if quote is None:
        raise Http404(_("Devis introuvable."))
    from comptoir.sales.pdf.quote import render_quote_pdf

    return _pdf(render_quote_pdf(quote), f"{quote.reference}.pdf")


# --------------------------------------------------------------------------------------------------
# A quote: its offers, and accepting one ("Une fois le devis validé")
# --------------------------------------------------------------------------------------------------
def _member_quote_and_contact(request: HttpRequest, pk: int) -> tuple[Any, Contact]:
    contacts = _contacts(request)
    quote = selectors.member_quote(contacts, request.portal_organization, pk)  # type: ignore[attr-defined]
    if quote is None:
        raise Http404(_("Devis introuvable."))
    contact = next(contact for contact in contacts if contact.company_id == quote.company_id)
    return quote, contact


@member_required
@never_cache
@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote's offers side by side; a member who may sign chooses one while the quote is open."""
    from comptoir.sales.selectors import quotes as quote_selectors

    quote, contact = _member_quote_and_contact(request, pk)
    quote = type(quote).objects.prefetch_related(quote_selectors.offers_with_lines()).get(pk=quote.pk)
    can_accept = quote.status == quote.Status.SENT and capabilities.can(contact, "sign_contracts")
    return render(
        request,
        "portal/quote_detail.html",
        portal_context(request, quote=quote, offers=list(quote.offers.all()), can_accept=can_accept),
    )


@member_required
@require_POST
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    from comptoir.sales.services import quotes as quote_services

    quote, contact = _member_quote_and_contact(request, pk)
    offer = quote.offers.filter(pk=request.POST.get("offer") if str(request.POST.get("offer", "")).isdigit() else 0)
    try:
        quote_services.accept_offer(quote=quote, offer=offer.first(), contact=contact)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Merci : votre choix est enregistré. Votre centre prépare le contrat à signer ici.")
        )
    return redirect("portal:quote_detail", pk=quote.pk)
