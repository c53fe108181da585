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
