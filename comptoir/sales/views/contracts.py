"""Commerce → Contrats: the list, the contract's page (parties, lines and their price breakdowns, versions,
documents, pauses, history) and its actions (send for signature, notice, end, cancel, amend with a preview,
pause, PDF);
the readiness page of an accepted quote's chosen offer (❓ / 👍, "Générer le contrat"); the company tab."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core import rights
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.money import round_cents
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
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.views.companies import COMPANY_TABS
from comptoir.sales.forms_contracts import (
    AmendForm,
    CancelForm,
    ContractFilter,
    ContractOptionsForm,
    NoticeForm,
    PauseForm,
    PaymentMethodForm,
    SendForSignatureForm,
)
from comptoir.sales.models import Contract, Quote
from comptoir.sales.selectors import contracts as selectors
from comptoir.sales.services import contracts as services

register_object_url("sales.contract", "sales:contract_detail")
for _suffix, _verb, _icon in [
    ("sent_for_signature", gettext_lazy("Envoi pour signature"), "send"),
    ("activated", gettext_lazy("Activation"), "play-circle"),
    ("notice_given", gettext_lazy("Préavis"), "hourglass-split"),
    ("ended", gettext_lazy("Fin du contrat"), "stop-circle"),
    ("cancelled", gettext_lazy("Annulation"), "x-circle"),
    ("amended", gettext_lazy("Avenant"), "pencil-square"),
    ("paused", gettext_lazy("Mise en pause"), "pause-circle"),
    ("pause_cancelled", gettext_lazy("Pause annulée"), "play-circle"),
    ("payment_method_changed", gettext_lazy("Mode de paiement"), "credit-card"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

if not any(tab[0] == "contracts" for tab in COMPANY_TABS):
    COMPANY_TABS.append(("contracts", gettext_lazy("Contrats"), "sales:company_contracts", "sales.view_contract"))

MENU = [Entry("sales", gettext_lazy("Contrats"), "sales:contract_list", "sales.view_contract", 30, "file-earmark-text")]

STATUS_BADGES = {
    Contract.Status.DRAFT: "secondary",
    Contract.Status.AWAITING_SIGNATURE: "warning",
    Contract.Status.SIGNED: "info",
    Contract.Status.ACTIVE: "success",
    Contract.Status.NOTICE_GIVEN: "warning",
    Contract.Status.ENDED: "dark",
    Contract.Status.CANCELLED: "light",
}

COLUMNS = [
    Column("reference", gettext_lazy("Référence"), sort="number", link=True, css_class="font-monospace"),
    Column("company", gettext_lazy("Entreprise"), accessor="company.name", sort="company__name", data=True),
    Column("center", gettext_lazy("Centre"), accessor="center.name", sort="center__name", data=True),
    Column(
        "service_type", gettext_lazy("Service"), accessor=lambda c: c.get_service_type_display(), sort="service_type"
    ),
    Column("status", gettext_lazy("Statut"), accessor=lambda c: c.get_status_display(), sort="status"),
    Column("start_date", gettext_lazy("Début"), kind="date", sort="start_date"),
    Column("commitment_end", gettext_lazy("Fin d'engagement"), kind="date", sort="commitment_end"),
    Column(
        "monthly_total",
        gettext_lazy("Mensuel HT"),
        kind="money",
        css_class="text-end",
        export=lambda c: f"{round_cents(c.monthly_total or 0):.2f}".replace(".", ","),
    ),
]


def _contract(request: HttpRequest, pk: int) -> Contract:
    return get_object_or_404(selectors.contracts_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]


def _breadcrumb(contract: Contract | None = None) -> list[tuple[str, str]]:
    crumbs = [(_("Contrats"), reverse("sales:contract_list"))]
    if contract is not None:
        crumbs.append((contract.reference, contract.get_absolute_url()))
    return crumbs


@right_required("sales.view_contract")
def contract_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.contract_rows_for(request.user, request.organization),  # type: ignore[attr-defined]
        columns=COLUMNS,
        filterset_class=ContractFilter,
        search_fields=["company__name"],
        search_placeholder=gettext_lazy("Entreprise…"),
        default_sort="-reference",
        title=gettext_lazy("Contrats"),
        export_name="contrats",
        empty_message=gettext_lazy("Aucun contrat ne correspond."),
    ).response()


# Tabs that later apps add to a contract's page, loaded by HTMX: (key, label, url_name taking the contract's pk,
# right). Billing adds the contract's invoices.
CONTRACT_TABS: list[tuple[str, Any, str, str]] = []


@right_required("sales.view_contract")
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    lines = selectors.contract_lines(contract)
    amendments = selectors.amendments_of(contract)
    pauses = selectors.pauses_of(contract)
    today = timezone.localdate()
    tabs = [
        Tab("info", _("Informations"), template="sales/contracts/_info.html"),
        Tab("lines", _("Lignes"), template="sales/contracts/_lines.html", count=len(lines)),
        Tab("versions", _("Versions"), template="sales/contracts/_versions.html", count=len(amendments)),
        Tab(
            "pauses",
            _("Pauses"),
            template="sales/contracts/_pauses.html",
            count=sum(1 for pause in pauses if not pause.is_cancelled),
        ),
        Tab("documents", _("Documents"), template="sales/contracts/_documents.html"),
        Tab("history", _("Historique"), template="manage/_timeline.html"),
    ]
    held = rights.rights_of(request.user, request.organization)  # type: ignore[attr-defined]
    tabs[4:4] = [
        Tab(key, label, url=reverse(url_name, args=[contract.pk]))
        for key, label, url_name, right in CONTRACT_TABS
        if right in held
    ]
    return render(
        request,
        "sales/contracts/detail.html",
        {
            "contract": contract,
            "object": contract,
            "lines": lines,
            "amendments": amendments,
            "pauses": pauses,
            "current_pause": next(
                (p for p in pauses if not p.is_cancelled and p.start_date <= today <= p.end_date), None
            ),
            "cancellable_from": today.replace(day=1),
            "tabs": tabs,
            "status_badge": STATUS_BADGES.get(contract.status, "secondary"),
            "payment_method": services.payment_method_label(contract),
            "timeline": timeline(contract),
            "breadcrumb": _breadcrumb(),
            "can_send": contract.status in (Contract.Status.DRAFT, Contract.Status.AWAITING_SIGNATURE),
            "can_notice": contract.status in (Contract.Status.SIGNED, Contract.Status.ACTIVE),
            "can_cancel": contract.status in (Contract.Status.DRAFT, Contract.Status.AWAITING_SIGNATURE),
            "can_amend": contract.status not in (Contract.Status.ENDED, Contract.Status.CANCELLED),
            "can_pause": contract.status in Contract.RUNNING,
            "can_end": contract.status in Contract.RUNNING
            and (end := services.effective_end(contract)) is not None
            and end < timezone.localdate(),
        },
    )


def _form_page(
    request: HttpRequest, contract: Contract, form: Any, title: str, submit: str, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": title,
            "cancel_url": contract.get_absolute_url(),
            "breadcrumb": _breadcrumb(contract),
            "submit_label": submit,
            **extra,
        },
    )


@right_required("sales.change_contract")
def contract_send(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    signers = services.eligible_signers(contract)
    form = SendForSignatureForm(request.POST or None, signers=signers)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.send_for_signature(
                contract=contract, by=request.user, signer=form.cleaned_data["signer"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Le contrat %(reference)s est envoyé pour signature à %(name)s.")
                % {"reference": contract.reference, "name": contract.signer.full_name},  # type: ignore[union-attr]
            )
            return redirect(contract)
    intro = (
        None
        if signers
        else _(
            "Aucun membre ne peut signer : il faut un administrateur de l'entreprise, actif, avec un accès à "
            "l'espace client."
        )
    )
    return _form_page(request, contract, form, _("Envoyer %(reference)s pour signature") % {
        "reference": contract.reference}, _("Envoyer pour signature"), intro=intro)  # fmt: skip


@right_required("sales.change_contract")
def contract_notice(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.give_notice(
                contract=contract, by=request.user, notice_date=form.cleaned_data["notice_date"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Préavis enregistré : le contrat se termine le %(date)s.") % {
                "date": services._day(contract.end_date)})  # fmt: skip
            return redirect(contract)
    return _form_page(request, contract, form, _("Préavis de %(reference)s") % {"reference": contract.reference},
                      _("Enregistrer le préavis"))  # fmt: skip


@right_required("sales.change_contract")
def contract_end(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    if refused := post_only(request):
        return refused
    try:
        contract = services.end_contract(contract=contract, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le contrat %(reference)s est terminé.") % {"reference": contract.reference})
    return redirect(contract)


@right_required("sales.change_contract")
def contract_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.cancel_contract(contract=contract, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Le contrat %(reference)s est annulé.") % {"reference": contract.reference})
        return redirect(contract)
    return _form_page(request, contract, form, _("Annuler %(reference)s ?") % {"reference": contract.reference},
                      _("Annuler le contrat"))  # fmt: skip


@right_required("sales.change_contract")
def contract_amend(request: HttpRequest, pk: int) -> HttpResponse:
    """Avenant: the form, then its preview (lines closed and opened, monthly totals, first month prorated),
    then the confirmation."""
    contract = _contract(request, pk)
    form = AmendForm(request.POST or None, contract=contract, initial={"effective_date": timezone.localdate()})
    preview = None
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        try:
            if request.POST.get("confirm") == "1":
                amendment = services.amend_contract(contract=contract, by=request.user, **arguments)
                messages.success(request, _("Avenant enregistré : %(summary)s") % {"summary": amendment.summary})
                return redirect(contract)
            preview = services.preview_amendment(contract=contract, **arguments)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"add": None, "space": "new_space", "line": "change_line",
                                                 "remove_line_ids": "remove_lines", "product": "product"})  # fmt: skip
    return render(
        request,
        "sales/contracts/amend.html",
        {
            "contract": contract,
            "form": form,
            "preview": preview,
            "title": _("Avenant à %(reference)s") % {"reference": contract.reference},
            "breadcrumb": _breadcrumb(contract),
            "cancel_url": contract.get_absolute_url(),
        },
    )


@right_required("sales.change_contract")
def contract_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """« Mettre en pause »: the days the contract is suspended (not billed)."""
    contract = _contract(request, pk)
    form = PauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pause = services.pause_contract(contract=contract, by=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Le contrat %(reference)s est en pause du %(start)s au %(end)s.") % {
                "reference": contract.reference, "start": services._day(pause.start_date),
                "end": services._day(pause.end_date)})  # fmt: skip
            return redirect(contract.get_absolute_url() + "?tab=pauses")
    intro = _("Les lignes mensuelles du contrat ne sont pas facturées pendant la pause ; les jours autour sont "
              "facturés au prorata. Un mois déjà facturé est régularisé sur la facture suivante.")  # fmt: skip
    return _form_page(request, contract, form, _("Mettre %(reference)s en pause") % {"reference": contract.reference},
                      _("Mettre en pause"), intro=intro)  # fmt: skip


@right_required("sales.change_contract")
def contract_payment_method(request: HttpRequest, pk: int) -> HttpResponse:
    """« Paiement personnalisé par dossier »: the contract's payment method, overriding its company's."""
    contract = _contract(request, pk)
    form = PaymentMethodForm(request.POST or None, initial={"payment_method": contract.payment_method})
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.change_payment_method(contract=contract, by=request.user,
                                                      payment_method=form.cleaned_data["payment_method"])  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Mode de paiement du contrat : %(method)s.") % {
                "method": services.payment_method_label(contract)})  # fmt: skip
            return redirect(contract)
    return _form_page(request, contract, form, _("Mode de paiement de %(reference)s") % {
        "reference": contract.reference}, _("Enregistrer"))  # fmt: skip


@right_required("sales.change_contract")
def contract_pause_cancel(request: HttpRequest, pk: int, pause_pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    pause = get_object_or_404(contract.pauses, pk=pause_pk)
    if refused := post_only(request):
        return refused
    try:
        services.cancel_pause(pause=pause, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("La pause du %(start)s au %(end)s est annulée.") % {
            "start": services._day(pause.start_date), "end": services._day(pause.end_date)})  # fmt: skip
    return redirect(contract.get_absolute_url() + "?tab=pauses")


@right_required("sales.view_contract")
def contract_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored document (the one sent for signature) or, for a draft, the PDF rendered now."""
    contract = _contract(request, pk)
    if contract.signed_document:
        handle = contract.signed_document.open("rb")
    elif contract.document:
        handle = contract.document.open("rb")
    else:
        from comptoir.sales.pdf.contract import render_contract_pdf

        response = HttpResponse(render_contract_pdf(contract), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{contract.reference}.pdf"'
        return response
    return FileResponse(handle, content_type="application/pdf", filename=f"{contract.reference}.pdf")


# --------------------------------------------------------------------------------------------------
# From the accepted quote: ❓ / 👍 and "Générer le contrat"
# --------------------------------------------------------------------------------------------------
@right_required("sales.view_quote", "sales.view_contract")
def offer_contract(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(selectors.offers_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    quote = offer.quote
    is_chosen = quote.status == Quote.Status.ACCEPTED and quote.chosen_offer_id == offer.pk
    form = ContractOptionsForm(request.POST or None)
    if request.method == "POST":
        if not can(request, "sales.add_contract"):
            messages.error(request, _("Vous n'avez pas le droit d'effectuer cette action."))
        elif form.is_valid():
            try:
                contract = services.create_contract_from_offer(offer=offer, by=request.user, data=form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc, aliases={"offer": None})
            else:
                messages.success(request, _("Le contrat %(reference)s est généré.") % {"reference": contract.reference})
                return redirect(contract)
    readiness = selectors.offer_readiness(offer)
    existing = list(offer.contracts.exclude(status=Contract.Status.CANCELLED))
    return render(
        request,
        "sales/contracts/offer_contract.html",
        {
            "offer": offer,
            "quote": quote,
            "readiness": readiness,
            "ready": is_chosen and selectors.is_ready(readiness) and not existing,
            "is_chosen": is_chosen,
            "existing": existing,
            "form": form,
            "can_add": can(request, "sales.add_contract"),
            "title": _("Contrat de l'offre « %(title)s »") % {"title": offer.title},
            "breadcrumb": [(_("Contrats"), reverse("sales:contract_list"))],
        },
    )


# --------------------------------------------------------------------------------------------------
# The "Contrats" tab of a company
# --------------------------------------------------------------------------------------------------
@right_required("sales.view_contract")
def company_contracts(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(crm_selectors.companies_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    contracts = selectors.contract_rows_for(request.user, request.organization).filter(company=company)  # type: ignore[attr-defined]
    template = "sales/contracts/_company_contracts.html" if getattr(request, "htmx", False) else (
        "sales/contracts/company_contracts.html")  # fmt: skip
    return render(
        request,
        template,
        {
            "company": company,
            "contracts": contracts.order_by("-number"),
            "badges": STATUS_BADGES,
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, company.get_absolute_url())],
        },
    )


urlpatterns = [
    path("contracts/", contract_list, name="contract_list"),
    path("contracts/<int:pk>/", contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/send/", contract_send, name="contract_send"),
    path("contracts/<int:pk>/notice/", contract_notice, name="contract_notice"),
    path("contracts/<int:pk>/end/", contract_end, name="contract_end"),
    path("contracts/<int:pk>/cancel/", contract_cancel, name="contract_cancel"),
    path("contracts/<int:pk>/amend/", contract_amend, name="contract_amend"),
    path("contracts/<int:pk>/pause/", contract_pause, name="contract_pause"),
    path("contracts/<int:pk>/payment-method/", contract_payment_method, name="contract_payment_method"),
    path("contracts/<int:pk>/pauses/<int:pause_pk>/cancel/", contract_pause_cancel, name="contract_pause_cancel"),
    path("contracts/<int:pk>/pdf/", contract_pdf, name="contract_pdf"),
    path("offers/<int:pk>/contract/", offer_contract, name="offer_contract"),
    path("companies/<int:pk>/contracts/", company_contracts, name="company_contracts"),
]
