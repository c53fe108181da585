"""Portal « Formules » (desk: a pack « acheté en ligne, pour bénéficier instantanément des crédits »): the member's
plans and credits balance, the packs for sale, bought and paid by card at once.

- /portal/plans/ — per membership: the plans of the company and the member's own (active, and pending while their
  invoice is unpaid, with « Payer »), the credits balance; the packs for sale (`prepaid.plans_for_sale`: name,
  description, credits, validity, price incl. VAT for the member's company) with « Acheter ».
- /portal/plans/<plan>/buy/ (POST) — `prepaid.purchase_plan(member=...)`: a pending assignment and its invoice
  issued at once, then a payment link (`prepaid.pay_link`) and the payer's page (/portal/pay/<token>/); paid, the
  plan becomes active and grants its credits (billing's « invoice.paid »).
- /portal/plans/assignments/<pk>/pay/ (POST) — « Payer » a pending purchase again (a new link).

Who: every company role sees the page; the services refuse a purchase to a « user » (capability
"make_paid_bookings"), and the page says why instead of showing « Acheter ». A member of several companies buys
for one membership at a time (the `member` field, defaulting to the first that may buy). Another organization's
plan, a plan not for sale, another company's purchase answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from comptoir.billing.models import Invoice
from comptoir.billing.services.invoices import vat_category_for
from comptoir.bookings.models import PlanAssignment
from comptoir.bookings.services import credits, prepaid
from comptoir.catalog.models import Product
from comptoir.core.errors import DomainError
from comptoir.core.money import round_cents
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.crm.selectors import portal_contacts
from comptoir.portal import navigation
from comptoir.portal.views import member_required, portal_context

SHOWN = (PlanAssignment.Status.ACTIVE, PlanAssignment.Status.PENDING)

if not any(entry.url_name == "portal:plans" for entry in navigation.ENTRIES):
    navigation.ENTRIES.append(
        navigation.Entry(
            gettext_lazy("Formules"), "portal:plans", "box-seam", 27, capability="make_free_bookings", phone=False
        )
    )


# --------------------------------------------------------------------------------------------------
# Who acts
# --------------------------------------------------------------------------------------------------
def _members(request: HttpRequest) -> list[Contact]:
    return list(portal_contacts(request.user, request.portal_organization))  # type: ignore[arg-type, attr-defined]


def _buyer(request: HttpRequest, members: list[Contact]) -> Contact:
    """The membership a purchase is made for: the `member` field among the member's, else the first that may buy
    (else the first: the service then refuses with the reason)."""
    if not members:
        raise Http404
    wanted = request.POST.get("member")
    if wanted:
        chosen = next((contact for contact in members if str(contact.pk) == wanted), None)
        if chosen is None:
            raise Http404
        return chosen
    return next((contact for contact in members if _can_buy(contact)), members[0])


def _can_buy(contact: Contact) -> bool:
    return capabilities.can(contact, "make_paid_bookings")


def price_incl_vat(plan: Product, company: object) -> Decimal:
    """The pack's price incl. VAT as its invoice will carry it for this company (one line, quantity 1)."""
    rate = vat_category_for(company, plan.vat_rate)[0]  # type: ignore[arg-type]
    excl = round_cents(plan.unit_price)
    return excl + round_cents(excl * Decimal(rate) / 100)


# --------------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offer:
    plan: Product
    price_incl_vat: Decimal


@never_cache
@member_required
@require_GET
def plans(request: HttpRequest) -> HttpResponse:
    """Per membership: its plans (company's and own, active and pending) and credits balance; the packs for sale."""
    organization = request.portal_organization  # type: ignore[attr-defined]
    members = _members(request)
    condition = Q(pk__in=[])
    for contact in members:
        condition |= Q(company_id=contact.company_id) & (Q(contact=None) | Q(contact_id=contact.pk))
    assignments = list(
        PlanAssignment.objects.filter(condition, organization=organization, status__in=SHOWN)
        .select_related("plan", "invoice", "contact").order_by("status", "-starts_on", "-pk")
    )  # fmt: skip
    wallets = []
    for contact in members:
        held = [item for item in assignments if item.company_id == contact.company_id
                and item.contact_id in (None, contact.pk)]  # fmt: skip
        wallets.append({
            "member": contact, "can_buy": _can_buy(contact), "balance": credits.balance(contact.company, contact),
            "assignments": held,
        })  # fmt: skip
    buyers = [contact for contact in members if _can_buy(contact)]
    priced_for = buyers[0] if buyers else (members[0] if members else None)
    offers = [
        Offer(plan=plan, price_incl_vat=price_incl_vat(plan, priced_for.company) if priced_for else plan.unit_price)
        for plan in prepaid.plans_for_sale(organization)
    ]
    return render(request, "portal/plans/list.html", portal_context(
        request, wallets=wallets, offers=offers, buyers=buyers, several_companies=len(members) > 1,
        purchase_hours=prepaid.PURCHASE_HOURS,
    ))  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Buy, pay
# --------------------------------------------------------------------------------------------------
def _to_payment(request: HttpRequest, invoice: Invoice, member: Contact) -> HttpResponse:
    try:
        _link, token = prepaid.pay_link(invoice=invoice, member=member, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:plans")
    return redirect(reverse("portal:pay", args=[token]))


@never_cache
@member_required
@require_POST
def plan_buy(request: HttpRequest, pk: int) -> HttpResponse:
    """« Acheter »: a pending purchase and its invoice, then the payer's page."""
    organization = request.portal_organization  # type: ignore[attr-defined]
    plan = prepaid.plans_for_sale(organization).filter(pk=pk).first()
    if plan is None:
        raise Http404
    member = _buyer(request, _members(request))
    try:
        assignment = prepaid.purchase_plan(member=member, plan=plan, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:plans")
    return _to_payment(request, assignment.invoice, member)  # type: ignore[arg-type]


@never_cache
@member_required
@require_POST
def assignment_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """« Payer » a pending purchase (the first link lost or expired): a new link, the payer's page."""
    members = _members(request)
    assignment = (
        PlanAssignment.objects.filter(organization=request.portal_organization, pk=pk,  # type: ignore[attr-defined]
                                      company_id__in=[contact.company_id for contact in members])
        .select_related("invoice").first()
    )  # fmt: skip
    member = next((contact for contact in members if assignment is not None
                   and contact.company_id == assignment.company_id
                   and assignment.contact_id in (None, contact.pk)), None)  # fmt: skip
    if assignment is None or member is None:
        raise Http404
    paid = assignment.invoice_id is not None and assignment.invoice.payment_status == Invoice.PaymentStatus.PAID
    if assignment.status != PlanAssignment.Status.PENDING or assignment.invoice_id is None or paid:
        messages.error(request, _("Cet achat n'attend pas de paiement."))
        return redirect("portal:plans")
    return _to_payment(request, assignment.invoice, member)


urlpatterns = [
    path("plans/", plans, name="plans"),
    path("plans/<int:pk>/buy/", plan_buy, name="plan_buy"),
    path("plans/assignments/<int:pk>/pay/", assignment_pay, name="plan_assignment_pay"),
]
