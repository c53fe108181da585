"""The payments demo: the history's invoices paid, partly paid, late; a bounced cheque; a credit balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings

from comptoir.billing.models import Invoice
from comptoir.core import demo
from comptoir.payments.demo import CHEQUE_BOUNCED
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.services.payments import credit_balance, paid_on_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):  # type: ignore[no-untyped-def]
    test_settings = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                                      MEDIA_ROOT=tmp_path_factory.mktemp("media"))  # fmt: skip
    with django_db_blocker.unblock(), test_settings, transaction.atomic():
        yield demo.build_demo()
        transaction.set_rollback(True)


def test_the_history_is_paid_the_way_clients_pay(built):
    organization = built.organization
    invoices = Invoice.objects.filter(organization=organization, kind=Invoice.Kind.INVOICE,
                                      status=Invoice.Status.ISSUED)  # fmt: skip
    payments = Payment.objects.filter(organization=organization)

    # every kind of payment, partial payments, late invoices
    assert set(payments.values_list("method", flat=True)) >= {"transfer", "cheque", "direct_debit"}
    assert invoices.filter(payment_status="paid").count() >= 100
    assert invoices.filter(payment_status="partially_paid").exists()
    late = [invoice for invoice in invoices.filter(payment_status__in=["pending", "partially_paid"])
            if invoice.is_overdue()]  # fmt: skip
    assert len(late) >= 3

    # each invoice's settlement is the sum of its counted allocations
    for invoice in invoices:
        assert invoice.amount_paid == paid_on_invoice(invoice.pk)

    # a bounced cheque: reversed, its invoice open again
    bounced = payments.get(status=Payment.Status.REVERSED, method="cheque")
    assert bounced.method == "cheque" and bounced.reversal_reason == CHEQUE_BOUNCED
    reopened = Allocation.objects.get(payment=bounced).invoice
    reopened.refresh_from_db()
    counted = Allocation.objects.filter(invoice=reopened).exclude(payment__status=Payment.Status.REVERSED)
    assert reopened.amount_paid == (counted.aggregate(total=Sum("amount"))["total"] or 0)  # the cheque no longer counts

    # one company has a credit balance
    balances = [credit_balance(company_id) for company_id in set(payments.values_list("company_id", flat=True))]
    assert sum(1 for balance in balances if balance > 0) == 1

    # money adds up: what is allocated never exceeds what was received
    received = payments.exclude(status=Payment.Status.REVERSED).aggregate(total=Sum("amount"))["total"]
    allocated = Allocation.objects.filter(payment__in=payments.exclude(status=Payment.Status.REVERSED)).aggregate(
        total=Sum("amount"))["total"]  # fmt: skip
    assert received - allocated == sum(balances, Decimal("0.00"))


def test_mandates_and_debit_batches(built):
    from comptoir.payments.demo import REJECTION
    from comptoir.payments.models import DebitBatch, DebitItem, Mandate

    organization = built.organization
    mandates = Mandate.objects.filter(organization=organization)
    assert mandates.count() >= 1 and all(m.status == Mandate.Status.ACTIVE and m.signed_on for m in mandates)
    batches = DebitBatch.objects.filter(organization=organization).order_by("id")
    assert batches.count() >= 1
    first = batches[0]
    assert first.status != DebitBatch.Status.DRAFT and first.file_sha256
    rejected = DebitItem.objects.get(batch=first, status=DebitItem.Status.REJECTED)
    assert rejected.reject_reason == REJECTION[0]
    rejected.invoice.refresh_from_db()
    assert rejected.invoice.payment_status != "paid"
    assert rejected.payment.status == Payment.Status.REVERSED


def test_payment_links_paid_active_and_expired(built):
    from django.utils import timezone

    from comptoir.crm.demo import PORTAL_COMPANY_NAME
    from comptoir.payments.models import PaymentLink
    from comptoir.payments.services.links import link_state

    organization = built.organization
    links = list(PaymentLink.objects.filter(organization=organization).select_related("invoice__company", "payment"))
    states = sorted(link_state(link).code for link in links)
    assert states == ["expired", "paid", "payable", "payable"]
    assert not any(link.invoice.company.name == PORTAL_COMPANY_NAME for link in links)
    assert len({link.invoice_id for link in links}) == 4

    # the paid one: a card payment recorded through the provider's event, allocated to its invoice
    paid = next(link for link in links if link.status == PaymentLink.Status.PAID)
    assert paid.paid_at is not None and paid.payment is not None
    assert (paid.payment.method, paid.payment.provider, paid.payment.amount) == ("card", "manual", paid.amount)
    assert Allocation.objects.get(payment=paid.payment).invoice_id == paid.invoice_id
    paid.invoice.refresh_from_db()
    assert paid.invoice.amount_paid == paid_on_invoice(paid.invoice_id)

    # the others wait: active ones still usable (one for part of what remains), the expired one not
    active = [link for link in links if link.is_usable()]
    assert len(active) == 2 and any(link.amount < link.invoice.amount_due for link in active)
    expired = next(link for link in links if link.status == PaymentLink.Status.ACTIVE and not link.is_usable())
    assert expired.expires_at < timezone.now() and expired.payment is None
