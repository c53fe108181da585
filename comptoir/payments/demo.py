"""The payments demo data: the demo history's invoices paid the way clients pay (issue 6).

Invoices due more than 45 days ago are mostly paid around their due date — by transfer, cheque, card or direct
debit after the company's payment method —, a few partly, a few not at all (late: the reminders and the aging
report have something to show); recent invoices are paid for half of them. One cheque bounced (reversed, its
invoice reopened), one transfer paid more than its invoice (the surplus is the company's credit balance). Then
SEPA mandates and direct-debit batches, and payment links on open invoices (paid, active, expired).

Everything goes through `comptoir.payments.services.payments` in date order. Deterministic (one seeded generator)
and idempotent: an organization that already has payments gets nothing new.
"""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_UP, Decimal

from django.utils import timezone

from comptoir.core.demo import DemoContext, register_demo_step

RECENT_DAYS = 45
CHEQUE_BOUNCED = "Chèque impayé : provision insuffisante"


def _method(payment_method: str, draw: float) -> str:
    if payment_method == "direct_debit":
        return "direct_debit"
    if payment_method == "card":
        return "card"
    return "cheque" if draw < 0.2 else "transfer"


def payments_history(ctx: DemoContext) -> None:
    from comptoir.billing.models import Invoice
    from comptoir.payments.models import Payment
    from comptoir.payments.services.payments import record_payment, reverse_payment

    organization = ctx.organization
    if Payment.objects.filter(organization=organization).exists():
        return
    today = timezone.localdate()
    rng = random.Random(f"payments:{ctx.slug}")
    invoices = list(
        Invoice.objects.filter(organization=organization, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED)
        .select_related("company", "contract")
        .order_by("issue_date", "id")
    )
    from comptoir.crm.demo import PORTAL_COMPANY_NAME

    planned: list[tuple[datetime.date, Invoice, Decimal, str]] = []
    for invoice in invoices:
        due = invoice.amount_due
        if due <= 0 or invoice.due_date is None:
            continue
        if invoice.company.name == PORTAL_COMPANY_NAME and invoice.issue_date >= today.replace(day=1):
            continue  # the portal member has this month's invoices to pay (« Payer par carte »)
        draw = rng.random()
        recent = invoice.due_date > today - datetime.timedelta(days=RECENT_DAYS)
        if (recent and draw < 0.5) or (not recent and draw < 0.08):
            continue  # not paid yet: recent ones wait, the old ones are late
        amount = due if recent or draw >= 0.13 else (due / 2).quantize(Decimal("0.01"))
        day = min(max(invoice.due_date - datetime.timedelta(days=rng.randint(-3, 10)), invoice.issue_date), today)
        method_of = (
            invoice.contract.payment_method if invoice.contract else ""
        ) or invoice.company.default_payment_method
        planned.append((day, invoice, amount, _method(method_of, rng.random())))
    planned.sort(key=lambda item: (item[0], item[1].pk))
    if planned and not any(method == "cheque" for *_rest, method in planned):  # one client pays by cheque once
        day, invoice, amount, _method_name = planned[len(planned) // 3]
        planned[len(planned) // 3] = (day, invoice, amount, "cheque")
    bounced = next((index for index, item in enumerate(planned) if item[3] == "cheque"), None)
    surplus = next((index for index, item in enumerate(planned) if item[3] == "transfer" and index != bounced), None)
    for index, (day, invoice, amount, method) in enumerate(planned):
        received = amount
        if index == surplus:  # rounded up to the next ten euros: the rest is the company's credit balance
            received = (amount / 10).quantize(Decimal("1"), rounding=ROUND_UP) * 10 + 10
        payment = record_payment(
            organization=organization, by=ctx.administrator, check_rights=False, today=today,
            data={"company": invoice.company, "method": method, "amount": received, "received_on": day,
                  "reference": f"{invoice.reference}" if method != "cheque" else f"CHQ {rng.randint(1000000, 9999999)}",
                  "payer": invoice.company.name},
            allocations=[(invoice, amount)],
        )  # fmt: skip
        ctx.created_one("payments")
        if index == bounced:
            reverse_payment(payment=payment, by=ctx.administrator, reason=CHEQUE_BOUNCED,
                            on=min(day + datetime.timedelta(days=6), today), check_rights=False)  # fmt: skip
            ctx.created_one("reversed payments")


MANDATE_COMPANIES = 4
REJECTION = ("AM04", "Provision insuffisante")


def _iban(slug: str, index: int) -> str:
    from schwifty import IBAN

    digits = "".join(str(ord(character) % 10) for character in f"{slug}{index}")
    return IBAN.generate("FR", bank_code="3000600001", account_code=(digits * 3)[:11]).compact


def mandates_and_debits(ctx: DemoContext) -> None:
    """Mandates signed by SMS by the administrators of the companies paying by direct debit, then two batches of
    the invoices they still owe: the first sent to the bank, one of its debits rejected (AM04: the invoice is
    open again); the second prepared, waiting to be sent."""
    import re

    from django.db.models import Q

    from comptoir.billing.models import Invoice
    from comptoir.core.errors import DomainError
    from comptoir.core.models import SmsMessage
    from comptoir.crm.models import Company
    from comptoir.payments.models import Mandate
    from comptoir.payments.services import debits, mandates
    from comptoir.sales.demo import DEMO_AGENT, DEMO_IP, _signer

    organization = ctx.organization
    if Mandate.objects.filter(organization=organization).exists():
        return
    today = timezone.localdate()
    owing = (
        Invoice.objects.filter(organization=organization, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED)
        .exclude(payment_status=Invoice.PaymentStatus.PAID)
        .filter(
            Q(contract__payment_method="direct_debit")
            | Q(contract__payment_method="", company__default_payment_method="direct_debit")
            | Q(contract__isnull=True, company__default_payment_method="direct_debit")
        )
        .values_list("company_id", flat=True)
        .distinct()
    )
    companies = list(Company.objects.filter(pk__in=owing).order_by("name")[:MANDATE_COMPANIES])
    for index, company in enumerate(companies):
        signer = _signer(ctx, company)
        mandate = mandates.create_mandate(company=company, by=ctx.administrator, data={
            "account_holder": company.name, "iban": _iban(ctx.slug, index), "bic": "", "scheme": "CORE"})  # fmt: skip
        mandate = mandates.send_mandate_code(mandate=mandate, contact=signer, ip=DEMO_IP, user_agent=DEMO_AGENT)
        message = (
            SmsMessage.objects.filter(organization=organization, purpose="mandate_signature").order_by("-id").first()
        )
        code = re.search(r"\b(\d{6})\b", message.body if message else "")
        if code is None:
            raise RuntimeError(f"No mandate code in the SMS outbox for {company.name}")
        mandates.sign_mandate(mandate=mandate, contact=signer, code=code.group(1), ip=DEMO_IP, user_agent=DEMO_AGENT)
        ctx.created_one("SEPA mandates")
    if not companies:
        return
    entity = ctx.legal_entity
    collection = debits.earliest_collection_date(organization, today)
    try:
        first = debits.prepare_batch(organization=organization, legal_entity=entity, collection_date=collection,
                                     by=ctx.administrator, today=today)  # fmt: skip
    except DomainError:
        return  # nothing to collect for that date
    ctx.created_one("direct-debit batches")
    items = list(debits.batch_items(first))
    debits.mark_sent(batch=first, by=ctx.administrator, today=today)
    rejected = items[len(items) // 2]
    lines = ["end_to_end_id;status;reason_code;date"] + [
        f"{item.end_to_end_id};{'rejected' if item.pk == rejected.pk else 'accepted'};"
        f"{REJECTION[0] if item.pk == rejected.pk else ''};{today.isoformat()}"
        for item in items
    ]
    debits.import_return(batch=first, by=ctx.administrator, data=("\n".join(lines) + "\n").encode(), today=today)
    ctx.created_one("rejected debits")
    try:
        debits.prepare_batch(organization=organization, legal_entity=entity,
                             collection_date=collection + datetime.timedelta(days=7), by=ctx.administrator,
                             today=today)  # fmt: skip
        ctx.created_one("direct-debit batches")
    except DomainError:
        pass  # the rejected invoice is the only one left, already due: it waits for the next batch


LINK_EXPIRED_DAYS_AGO = 3


def payment_links(ctx: DemoContext) -> None:
    """Payment links on open invoices (desk « Suivi des paiements »), through comptoir.payments.services.links:
    one paid by card through the offline provider's path (its signed `checkout.session.completed` event applied
    like a webhook: a card payment recorded, the link marked paid), two active — one for all that remains, one for
    half of it —, and one that expired (backdated: the payer's page shows « Ce lien de paiement a expiré »).

    The invoices chosen are neither the portal member's (paid from the portal) nor in a direct-debit batch.
    Idempotent: an organization that already has payment links gets nothing new."""
    from comptoir.billing.models import Invoice
    from comptoir.crm.demo import PORTAL_COMPANY_NAME
    from comptoir.payments.models import PaymentLink, Provider
    from comptoir.payments.providers import ManualProvider
    from comptoir.payments.services import links, webhooks
    from comptoir.payments.services.payments import remaining_to_pay

    organization = ctx.organization
    if PaymentLink.objects.filter(organization=organization).exists():
        return
    candidates = (
        Invoice.objects.filter(organization=organization, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED)
        .exclude(payment_status=Invoice.PaymentStatus.PAID)
        .exclude(company__name=PORTAL_COMPANY_NAME)
        .exclude(debit_items__isnull=False)
        .order_by("-issue_date", "id")
    )
    invoices = [invoice for invoice in candidates[:20] if remaining_to_pay(invoice) > 0][:4]
    for index, invoice in enumerate(invoices):
        remaining = remaining_to_pay(invoice)
        amount = (remaining / 2).quantize(Decimal("0.01")) if index == 2 and remaining >= Decimal("0.02") else None
        link, _token = links.create_link(invoice=invoice, by=ctx.administrator, amount=amount, check_rights=False)
        ctx.created_one("payment links")
        if index == 0:  # paid by card: the offline provider's checkout, confirmed by its signed event
            provider = ManualProvider()
            PaymentLink.objects.filter(pk=link.pk).update(provider=Provider.MANUAL,
                                                          checkout_session_id=f"cs_manual_demo_{link.pk}")  # fmt: skip
            link.refresh_from_db()
            payload, signature = provider.sign(provider.completed_event(link=link))
            webhooks.receive(provider=Provider.MANUAL, payload=payload, signature=signature)
            ctx.created_one("paid payment links")
        elif index == 3:  # sent a while ago, never paid: expired
            now = timezone.now()
            PaymentLink.objects.filter(pk=link.pk).update(
                created_at=now - datetime.timedelta(days=links.DEFAULT_VALIDITY_DAYS + LINK_EXPIRED_DAYS_AGO),
                expires_at=now - datetime.timedelta(days=LINK_EXPIRED_DAYS_AGO),
            )


register_demo_step(400, payments_history)
register_demo_step(410, mandates_and_debits)
register_demo_step(420, payment_links)
