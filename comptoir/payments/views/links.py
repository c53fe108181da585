"""Finance → Factures → « Créer un lien de paiement » (desk « Suivi des paiements »): the links of an invoice with
their status, a form (amount — all or part of what remains —, validity), the page that shows the new link's URL
once (copy button, « Envoyer par e-mail ») and « Annuler ».

The invoice is fetched through billing's tenant-scoped selector first, so another organization's invoice or link
answers 404 on GET and POST alike. The services decide; a refusal is shown at its field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing import selectors as billing_selectors
from comptoir.billing.models import Invoice
from comptoir.billing.views.invoices import INVOICE_ACTIONS, invoice_title
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.money import format_money
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, register_object_url, right_required
from comptoir.payments.models import PaymentLink
from comptoir.payments.services import links as services
from comptoir.payments.services.payments import remaining_to_pay

register_object_url("payments.paymentlink", "payments:link_detail")
for _suffix, _verb, _icon in [
    ("payment_link_created", gettext_lazy("Lien de paiement créé"), "link-45deg"),
    ("checkout_started", gettext_lazy("Paiement commencé"), "credit-card"),
    ("paid", gettext_lazy("Payé"), "check-circle"),
    ("sent", gettext_lazy("Envoyé"), "envelope"),
    ("cancelled", gettext_lazy("Annulation"), "x-circle"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

STATUS_BADGES = {
    PaymentLink.Status.ACTIVE: "primary",
    PaymentLink.Status.PAID: "success",
    PaymentLink.Status.CANCELLED: "secondary",
}


def _payable(invoice: Invoice) -> bool:
    return invoice.kind == Invoice.Kind.INVOICE and invoice.status == Invoice.Status.ISSUED and invoice.amount_due > 0


def _has_links_only(invoice: Invoice) -> bool:
    """A settled (or cancelled) invoice keeps a way to its links' history."""
    return not invoice.is_draft and not _payable(invoice) and PaymentLink.objects.filter(invoice=invoice).exists()


if not any(action[1] == "payments:invoice_links" for action in INVOICE_ACTIONS):
    INVOICE_ACTIONS.append(
        (gettext_lazy("Créer un lien de paiement"), "payments:invoice_links", "payments.add_paymentlink", _payable)
    )
    INVOICE_ACTIONS.append(
        (gettext_lazy("Liens de paiement"), "payments:invoice_links", "payments.view_paymentlink", _has_links_only)
    )

MENU: list[Any] = []


class LinkForm(forms.Form):
    step = forms.CharField(widget=forms.HiddenInput, initial="create")
    amount = forms.CharField(label=gettext_lazy("Montant à payer (€ TTC)"), max_length=20, required=False,
                             help_text=gettext_lazy("Tout ou partie du reste à payer."))  # fmt: skip
    expires_in_days = forms.IntegerField(label=gettext_lazy("Validité (jours)"), min_value=1,
                                         max_value=services.MAX_VALIDITY_DAYS,
                                         initial=services.DEFAULT_VALIDITY_DAYS)  # fmt: skip


def _invoice(request: HttpRequest, pk: int) -> Invoice:
    return get_object_or_404(billing_selectors.invoices_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]


def links_for(request: HttpRequest) -> QuerySet[PaymentLink]:
    """The links of the invoices the viewer sees (tenant-scoped, the viewer's centers)."""
    invoices = billing_selectors.invoices_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]
    return (
        PaymentLink.objects.filter(organization=request.organization, invoice__in=invoices)  # type: ignore[attr-defined]
        .select_related("invoice", "created_by", "payment")
        .order_by("-created_at", "-id")
    )


def _link(request: HttpRequest, pk: int) -> PaymentLink:
    return get_object_or_404(links_for(request), pk=pk)


def _breadcrumb(invoice: Invoice) -> list[tuple[str, str]]:
    return [(_("Factures"), reverse("billing:invoice_list")), (invoice_title(invoice), invoice.get_absolute_url())]


def _page(request: HttpRequest, invoice: Invoice, form: LinkForm | None = None, status: int = 200) -> HttpResponse:
    remaining = remaining_to_pay(invoice)
    can_add = can(request, "payments.add_paymentlink") and _payable(invoice)
    if form is None and can_add:
        form = LinkForm(initial={"amount": f"{remaining:.2f}".replace(".", ",")})
    return render(
        request,
        "payments/links/invoice_links.html",
        {
            "invoice": invoice,
            "links": list(links_for(request).filter(invoice=invoice)),
            "remaining": remaining,
            "form": form if can_add else None,
            "can_cancel": can(request, "payments.change_paymentlink"),
            "badges": STATUS_BADGES,
            "title": _("Liens de paiement de %(title)s") % {"title": invoice_title(invoice)},
            "breadcrumb": _breadcrumb(invoice),
        },
        status=status,
    )


@right_required("payments.view_paymentlink")
def invoice_links(request: HttpRequest, pk: int) -> HttpResponse:
    """GET (or the invoice page's POST button): the links and the form; POST with the form: create the link and
    show its URL once."""
    invoice = _invoice(request, pk)
    if request.method != "POST" or request.POST.get("step") != "create":
        return _page(request, invoice)
    if not can(request, "payments.add_paymentlink"):
        messages.error(request, _("Vous n'avez pas le droit de créer un lien de paiement."))
        return redirect("payments:invoice_links", invoice.pk)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            link, token = services.create_link(invoice=invoice, by=request.user,  # type: ignore[arg-type]
                                               amount=form.cleaned_data["amount"] or None,
                                               expires_in_days=form.cleaned_data["expires_in_days"])  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return _created(request, link, token)
    return _page(request, invoice, form, status=400)


def _created(request: HttpRequest, link: PaymentLink, token: str) -> HttpResponse:
    return render(
        request,
        "payments/links/created.html",
        {
            "link": link,
            "invoice": link.invoice,
            "url": request.build_absolute_uri(reverse("portal:pay", args=[token])),
            "token": token,
            "title": _("Lien de paiement créé"),
            "amount": format_money(link.amount),
            "breadcrumb": _breadcrumb(link.invoice),
        },
    )


@right_required("payments.view_paymentlink")
def link_detail(request: HttpRequest, pk: int) -> HttpResponse:
    link = _link(request, pk)
    return redirect(f"{reverse('payments:invoice_links', args=[link.invoice_id])}#link-{link.pk}")


@right_required("payments.add_paymentlink")
def link_send(request: HttpRequest, pk: int) -> HttpResponse:
    """« Envoyer par e-mail » (from the page that shows the URL: the token comes back in the form)."""
    link = _link(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    token = str(request.POST.get("token") or "")
    try:
        recipients = services.send_link(link=link, token=token, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le lien est envoyé à %(recipients)s.") % {"recipients": ", ".join(recipients)})
    return redirect("payments:invoice_links", link.invoice_id)


@right_required("payments.change_paymentlink")
def link_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    link = _link(request, pk)
    if request.method == "POST":
        try:
            services.cancel_link(link=link, by=request.user)  # type: ignore[arg-type]
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Le lien de paiement est annulé."))
        return redirect("payments:invoice_links", link.invoice_id)
    return render(
        request,
        "manage/confirm.html",
        {
            "title": _("Annuler ce lien de paiement ?"),
            "message": _("Le lien ne permettra plus de payer. Un paiement déjà reçu reste enregistré."),
            "details": _("Montant : %(amount)s") % {"amount": format_money(link.amount)},
            "cancel_url": reverse("payments:invoice_links", args=[link.invoice_id]),
            "confirm_label": _("Annuler le lien"),
            "danger": True,
            "breadcrumb": _breadcrumb(link.invoice),
        },
    )


urlpatterns = [
    path("invoices/<int:pk>/links/", invoice_links, name="invoice_links"),
    path("links/<int:pk>/", link_detail, name="link_detail"),
    path("links/<int:pk>/send/", link_send, name="link_send"),
    path("links/<int:pk>/cancel/", link_cancel, name="link_cancel"),
]
