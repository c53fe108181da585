"""Portal « Mon entreprise → Moyens de paiement » (frontmanager « Espace client » §2, « Mandat de prélèvement
SEPA »): the SEPA mandates of each company the member administers, « Mettre en place un prélèvement » (holder,
IBAN, BIC) and its signature with a code received by SMS, in the same page (HTMX), and « Révoquer ».

Who: a company administrator with portal access (comptoir.crm.capabilities "pay_invoices"); the other roles get
403, a mandate of another company or organization answers 404. Every step calls
comptoir.payments.services.mandates, which checks the capability again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from comptoir.core.errors import DomainError
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.crm.selectors import portal_contacts
from comptoir.payments.models import Mandate
from comptoir.payments.services import mandates as service
from comptoir.portal import navigation
from comptoir.portal.views import member_required, portal_context
from comptoir.portal.views_documents import client_ip, user_agent

if not any(entry.url_name == "portal:payment_methods" for entry in navigation.ENTRIES):
    navigation.ENTRIES.append(navigation.Entry(gettext_lazy("Moyens de paiement"), "portal:payment_methods", "bank",
                                               30, capability=service.CAPABILITY))  # fmt: skip


def _administered(request: HttpRequest) -> list[Contact]:
    contacts = portal_contacts(request.user, request.portal_organization)  # type: ignore[arg-type, attr-defined]
    return [contact for contact in contacts if capabilities.can(contact, service.CAPABILITY)]


def _require_administrator(request: HttpRequest) -> list[Contact]:
    administered = _administered(request)
    if not administered:
        raise PermissionDenied(_("Seul un administrateur de l'entreprise peut gérer ses moyens de paiement."))
    return administered


def _member_mandate(request: HttpRequest, pk: int) -> tuple[Mandate, Contact]:
    """The mandate of a company the member administers (else 404), with the member's contact in that company."""
    contacts = {contact.company_id: contact for contact in _administered(request)}
    mandate = (
        Mandate.objects.filter(organization=request.portal_organization, pk=pk, company_id__in=list(contacts))  # type: ignore[attr-defined]
        .select_related("company", "legal_entity")
        .first()
    )
    if mandate is None:
        raise Http404(_("Mandat introuvable."))
    return mandate, contacts[mandate.company_id]


def _steps_context(mandate: Mandate, contact: Contact, **extra: Any) -> dict[str, Any]:
    phone = (contact.mobile or contact.phone or "").strip()
    return {
        "mandate": mandate,
        "code_sent": service.code_sent(mandate),
        "locked": service.is_locked(mandate),
        "remaining_attempts": service.remaining_attempts(mandate),
        "resend_in": service.seconds_before_resend(mandate),
        "masked_phone": service.mask_phone(phone) if phone else "",
        "errors": {},
        **extra,
    }


def _render_steps(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return render(request, "portal/mandates/_sign_steps.html", context, status=status)
    return _page(request, steps=context, status=status)


def _page(request: HttpRequest, *, steps: dict[str, Any] | None = None, form_errors: dict[str, Any] | None = None,
          form_values: dict[str, Any] | None = None, form_company: int | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    administered = _require_administrator(request)
    companies = []
    for contact in administered:
        mandates = list(service.mandates_of_member(contact).order_by("-created_at", "-id"))
        companies.append({"contact": contact, "company": contact.company, "mandates": mandates})
    return render(
        request,
        "portal/mandates/payment_methods.html",
        portal_context(
            request,
            companies=companies,
            steps=steps,
            form_errors=form_errors or {},
            form_values=form_values or {},
            form_company=form_company,
        ),
        status=status,
    )


@never_cache
@member_required
@require_GET
def payment_methods(request: HttpRequest) -> HttpResponse:
    """The companies' mandates; `?mandate=<id>` opens the signature steps of a pending one."""
    raw = request.GET.get("mandate", "")
    if raw.isdigit():
        mandate, contact = _member_mandate(request, int(raw))
        if mandate.status == Mandate.Status.PENDING:
            return _page(request, steps=_steps_context(mandate, contact))
    return _page(request)


@member_required
@require_POST
def mandate_new(request: HttpRequest) -> HttpResponse:
    """« Mettre en place un prélèvement »: a pending mandate, then its signature steps."""
    administered = {str(contact.company_id): contact for contact in _require_administrator(request)}
    chosen = request.POST.get("company", "")
    if chosen:
        contact = administered.get(chosen)
    else:  # a member administering one company only may leave it out
        contact = next(iter(administered.values())) if len(administered) == 1 else None
    if contact is None:
        raise Http404(_("Entreprise introuvable."))
    values = {name: request.POST.get(name, "") for name in ("account_holder", "iban", "bic")}
    try:
        mandate = service.create_mandate(company=contact.company, by=request.user, contact=contact,  # type: ignore[arg-type]
                                         data={**values, "scheme": Mandate.Scheme.CORE})  # fmt: skip
    except DomainError as exc:
        errors = {name: " ".join(texts) for name, texts in exc.fields.items() if name in values}
        if not errors or set(exc.fields) - set(values):
            errors["general"] = exc.message
        return _page(request, form_errors=errors, form_values=values, form_company=contact.company_id, status=400)
    return redirect(f"{reverse('portal:payment_methods')}?mandate={mandate.pk}#mandate-steps")


@member_required
@require_POST
def mandate_code(request: HttpRequest, pk: int) -> HttpResponse:
    """« Recevoir mon code par SMS » (also « Renvoyer le code »)."""
    mandate, contact = _member_mandate(request, pk)
    try:
        mandate = service.send_mandate_code(mandate=mandate, contact=contact, ip=client_ip(request),
                                            user_agent=user_agent(request))  # fmt: skip
    except DomainError as exc:
        mandate.refresh_from_db()
        status = 429 if exc.code == "too_many_codes" else 400
        return _render_steps(request, _steps_context(mandate, contact, errors={"code": exc.message}), status=status)
    return _render_steps(request, _steps_context(mandate, contact, just_sent=True))


@member_required
@require_POST
def mandate_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Check the 6-digit code; on success the mandate is active."""
    mandate, contact = _member_mandate(request, pk)
    try:
        mandate = service.sign_mandate(mandate=mandate, contact=contact, code=request.POST.get("code", ""),
                                       ip=client_ip(request), user_agent=user_agent(request))  # fmt: skip
    except DomainError as exc:
        mandate.refresh_from_db()
        if exc.code == "already_signed":
            return _done(request, mandate)
        return _render_steps(request, _steps_context(mandate, contact, errors={"code": exc.message}), status=400)
    return _done(request, mandate)


def _done(request: HttpRequest, mandate: Mandate) -> HttpResponse:
    messages.success(
        request, _("Votre mandat de prélèvement %(reference)s est signé.") % {"reference": mandate.reference}
    )
    url = reverse("portal:payment_methods")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@member_required
@require_POST
def mandate_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """« Révoquer »: the mandate is no longer used for new debits."""
    mandate, contact = _member_mandate(request, pk)
    try:
        service.revoke_mandate(mandate=mandate, by=request.user, contact=contact)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le mandat %(reference)s est révoqué.") % {"reference": mandate.reference})
    return redirect("portal:payment_methods")


urlpatterns = [
    path("payment-methods/", payment_methods, name="payment_methods"),
    path("payment-methods/mandates/", mandate_new, name="mandate_new"),
    path("payment-methods/mandates/<int:pk>/code/", mandate_code, name="mandate_code"),
    path("payment-methods/mandates/<int:pk>/sign/", mandate_sign, name="mandate_sign"),
    path("payment-methods/mandates/<int:pk>/revoke/", mandate_revoke, name="mandate_revoke"),
]
