"""Payments received and their allocation (comptoir.payments.services.payments): partial payments, one payment over
several invoices, a surplus kept as the company's credit balance and applied later, a reversal that reopens the
invoices and writes the journal; each refusal changes nothing. Also the read selectors (credit balances in one
query, a list with a fixed number of queries)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.billing.tests.factories import InvoiceFactory
from comptoir.core.errors import DomainError, RightsError
from comptoir.core.models import AuditEntry
from comptoir.payments import selectors
from comptoir.payments.models import Allocation, Method, Payment
from comptoir.payments.services import payments as services
from comptoir.payments.tests.factories import ClientCompanyFactory, PaymentFactory, invoice_of, pay

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return ClientCompanyFactory(organization=org)


def data(company, amount="120.00", **extra):  # type: ignore[no-untyped-def]
    return {"company": company, "method": Method.TRANSFER, "amount": amount, "received_on": TODAY(), **extra}


def record(org, by, company, amount="120.00", allocations=(), **extra):  # type: ignore[no-untyped-def]
    return services.record_payment(organization=org, by=by, data=data(company, amount, **extra),
                                   allocations=allocations)  # fmt: skip


def state(*invoices: Invoice) -> list[tuple]:  # type: ignore[type-arg]
    """What a refusal must leave untouched: the invoices' settlement, the payments, allocations and journal."""
    rows = []
    for invoice in invoices:
        invoice.refresh_from_db()
        rows.append((invoice.amount_paid, invoice.payment_status, invoice.paid_on))
    return [rows, Payment.objects.count(), Allocation.objects.count(), AuditEntry.objects.count(),
            list(Payment.objects.values_list("status", flat=True).order_by("pk"))]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Recording and allocating
# --------------------------------------------------------------------------------------------------
def test_a_partial_payment_then_the_rest_settle_the_invoice(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)  # 120,00 € incl. VAT

    record(org, admin, company, "50.00", [(invoice, "50.00")])
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.payment_status, invoice.amount_due) == (
        Decimal("50.00"), Invoice.PaymentStatus.PARTIALLY_PAID, Decimal("70.00"))  # fmt: skip
    assert invoice.paid_on is None

    record(org, admin, company, "70,00", [(invoice, "70,00")], received_on=TODAY() - datetime.timedelta(days=1))
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.payment_status, invoice.amount_due) == (
        Decimal("120.00"), Invoice.PaymentStatus.PAID, Decimal("0.00"))  # fmt: skip
    assert invoice.paid_on == TODAY() - datetime.timedelta(days=1)
    assert services.remaining_to_pay(invoice) == Decimal("0.00")


def test_one_payment_pays_several_invoices_and_journals_each(org, admin, company):  # type: ignore[no-untyped-def]
    first, second = invoice_of(company), invoice_of(company)

    payment = record(org, admin, company, "200.00", [(first, "120.00"), (second, "80.00")])

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.payment_status == Invoice.PaymentStatus.PAID
    assert (second.payment_status, second.amount_due) == (Invoice.PaymentStatus.PARTIALLY_PAID, Decimal("40.00"))
    assert sorted(payment.allocations.values_list("amount", flat=True)) == [Decimal("80.00"), Decimal("120.00")]
    assert AuditEntry.objects.filter(action="payment.recorded", object_id=str(payment.pk)).count() == 1
    assert AuditEntry.objects.filter(action="invoice.payment_allocated").count() == 2
    assert payment.created_by == admin


def test_a_surplus_is_the_credit_balance_and_pays_the_next_invoice(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    record(org, admin, company, "150.00", [(invoice, "120.00")])
    assert services.credit_balance(company) == Decimal("30.00")
    assert selectors.credit_balances([company]) == {company.pk: Decimal("30.00")}

    later = invoice_of(company)
    made = services.apply_credit_balance(invoice=later, by=admin)

    later.refresh_from_db()
    assert [allocation.amount for allocation in made] == [Decimal("30.00")]
    assert (later.payment_status, later.amount_due) == (Invoice.PaymentStatus.PARTIALLY_PAID, Decimal("90.00"))
    assert services.credit_balance(company) == Decimal("0.00")
    assert selectors.credit_balances([company]) == {}
    assert AuditEntry.objects.filter(action="invoice.credit_balance_applied", object_id=str(later.pk)).exists()


def test_credit_balance_takes_the_oldest_payments_first_up_to_the_remaining(org, admin, company):  # type: ignore[no-untyped-def]
    old = record(org, admin, company, "100.00", received_on=TODAY() - datetime.timedelta(days=10))
    new = record(org, admin, company, "100.00")
    invoice = invoice_of(company)

    made = services.apply_credit_balance(invoice=invoice, by=admin)

    assert [(a.payment_id, a.amount) for a in made] == [(old.pk, Decimal("100.00")), (new.pk, Decimal("20.00"))]
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    assert services.credit_balance(company) == Decimal("80.00")


def test_allocate_the_rest_of_a_payment_later(org, admin, company):  # type: ignore[no-untyped-def]
    payment = record(org, admin, company, "100.00")
    invoice = invoice_of(company)

    services.allocate_payment(payment=payment, by=admin, allocations=[(invoice, "60.00")])

    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("60.00")
    assert services.unallocated(payment) == Decimal("40.00")
    assert AuditEntry.objects.filter(action="payment.allocated", object_id=str(payment.pk)).exists()


def test_reversal_reopens_the_invoices_and_journals(org, admin, company):  # type: ignore[no-untyped-def]
    first, second = invoice_of(company), invoice_of(company)
    payment = record(org, admin, company, "240.00", [(first, "120.00"), (second, "120.00")])

    services.reverse_payment(payment=payment, by=admin, reason="Chèque sans provision", on=TODAY())

    payment.refresh_from_db()
    assert (payment.status, payment.reversed_on, payment.reversal_reason, payment.reversed_by) == (
        Payment.Status.REVERSED, TODAY(), "Chèque sans provision", admin)  # fmt: skip
    for invoice in (first, second):
        invoice.refresh_from_db()
        assert (invoice.amount_paid, invoice.payment_status, invoice.paid_on) == (
            Decimal("0.00"), Invoice.PaymentStatus.PENDING, None)  # fmt: skip
    assert Allocation.objects.filter(payment=payment).count() == 2  # kept, no longer counted
    assert services.credit_balance(company) == Decimal("0.00")
    assert AuditEntry.objects.filter(action="payment.reversed", object_id=str(payment.pk)).count() == 1
    assert AuditEntry.objects.filter(action="invoice.payment_reversed").count() == 2


def test_a_reversed_surplus_is_no_longer_credit(org, admin, company):  # type: ignore[no-untyped-def]
    payment = record(org, admin, company, "50.00")
    assert selectors.company_credit_balance(company) == Decimal("50.00")
    services.reverse_payment(payment=payment, by=admin, reason="Virement rappelé")
    assert selectors.company_credit_balance(company) == Decimal("0.00")
    assert services.credit_balance(company) == Decimal("0.00")


def test_an_overdue_invoice_is_late_until_paid(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company, issued_on=TODAY() - datetime.timedelta(days=70))
    assert invoice.due_date < TODAY()
    assert invoice.payment_state() == "overdue"
    pay(invoice, "120.00")
    invoice.refresh_from_db()
    assert invoice.payment_state() == "paid"


# --------------------------------------------------------------------------------------------------
# Refusals: each changes nothing
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "allocation", "extra", "code", "field"),
    [
        ("200.00", "150.00", {}, "exceeds_remaining", "allocations"),
        ("50.00", "60.00", {}, "exceeds_payment", "amount"),
        ("0", None, {}, "negative_amount", "amount"),
        ("-10.00", None, {}, "negative_amount", "amount"),
        ("abc", None, {}, "invalid_amount", "amount"),
        ("10.001", None, {}, "invalid_amount", "amount"),
        ("120.00", "120.00", {"received_on": TODAY() + datetime.timedelta(days=1)}, "future_date", "received_on"),
        ("120.00", None, {"method": "bitcoin"}, "invalid_method", "method"),
        ("120.00", "0", {}, "negative_amount", "allocations"),
    ],
)
def test_record_refusals_change_nothing(org, admin, company, amount, allocation, extra, code, field):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    pay(invoice, "10.00")
    before = state(invoice)

    with pytest.raises(DomainError) as refused:
        record(org, admin, company, amount, [(invoice, allocation)] if allocation else [], **extra)

    assert refused.value.code == code
    assert field in refused.value.fields
    assert state(invoice) == before


def test_refused_the_invoice_of_another_company(org, admin, company):  # type: ignore[no-untyped-def]
    theirs = invoice_of(ClientCompanyFactory(organization=org))
    before = state(theirs)
    with pytest.raises(DomainError) as refused:
        record(org, admin, company, "120.00", [(theirs, "120.00")])
    assert refused.value.code == "other_company"
    assert state(theirs) == before


def test_refused_an_invoice_of_another_organization_or_a_draft(org, other_org, admin, company):  # type: ignore[no-untyped-def]
    foreign = invoice_of(ClientCompanyFactory(organization=other_org))
    draft = InvoiceFactory(organization=org, company=company)
    before = state(foreign, draft)
    with pytest.raises(DomainError) as refused:
        record(org, admin, company, "120.00", [(foreign, "120.00")])
    assert refused.value.code == "unknown_invoice"
    with pytest.raises(DomainError) as refused:
        record(org, admin, company, "120.00", [(draft, "120.00")])
    assert refused.value.code == "not_payable"
    assert state(foreign, draft) == before


def test_refused_two_allocations_that_together_exceed_the_remaining(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    before = state(invoice)
    with pytest.raises(DomainError) as refused:
        record(org, admin, company, "200.00", [(invoice, "100.00"), (invoice, "30.00")])
    assert refused.value.code == "exceeds_remaining"
    assert state(invoice) == before


def test_refused_allocating_a_reversed_payment_or_more_than_it_has(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    payment = record(org, admin, company, "50.00")
    before = state(invoice)
    with pytest.raises(DomainError) as refused:
        services.allocate_payment(payment=payment, by=admin, allocations=[(invoice, "60.00")])
    assert refused.value.code == "exceeds_payment"
    assert state(invoice) == before

    services.reverse_payment(payment=payment, by=admin, reason="Rejet")
    before = state(invoice)
    with pytest.raises(DomainError) as refused:
        services.allocate_payment(payment=payment, by=admin, allocations=[(invoice, "10.00")])
    assert refused.value.code == "reversed"
    with pytest.raises(DomainError) as refused:
        services.reverse_payment(payment=payment, by=admin, reason="Encore")
    assert refused.value.code == "already_reversed"
    assert state(invoice) == before


def test_refused_a_reversal_without_reason(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    payment = pay(invoice, "120.00")
    before = state(invoice)
    with pytest.raises(DomainError) as refused:
        services.reverse_payment(payment=payment, by=admin, reason="  ")
    assert (refused.value.code, list(refused.value.fields)) == ("required", ["reason"])
    assert state(invoice) == before


def test_refused_credit_balance_when_there_is_none_or_nothing_is_due(org, admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    before = state(invoice)
    with pytest.raises(DomainError) as refused:
        services.apply_credit_balance(invoice=invoice, by=admin)
    assert refused.value.code == "no_credit_balance"
    assert state(invoice) == before

    pay(invoice, "120.00")
    PaymentFactory(organization=org, company=company, amount=Decimal("30.00"))
    before = state(invoice)
    with pytest.raises(DomainError) as refused:
        services.apply_credit_balance(invoice=invoice, by=admin)
    assert refused.value.code == "nothing_due"
    assert state(invoice) == before


def test_reception_may_not_record_allocate_or_reverse(org, staff_of, company):  # type: ignore[no-untyped-def]
    reception = staff_of("reception")
    invoice = invoice_of(company)
    payment = pay(invoice, "20.00")
    before = state(invoice)
    with pytest.raises(RightsError):
        record(org, reception, company, "100.00", [(invoice, "100.00")])
    with pytest.raises(RightsError):
        services.allocate_payment(payment=payment, by=reception, allocations=[(invoice, "1.00")])
    with pytest.raises(RightsError):
        services.reverse_payment(payment=payment, by=reception, reason="x")
    with pytest.raises(RightsError):
        services.apply_credit_balance(invoice=invoice, by=reception)
    assert state(invoice) == before


def test_staff_of_another_organization_may_not_record(org, other_admin, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    before = state(invoice)
    with pytest.raises(RightsError):
        record(org, other_admin, company, "120.00", [(invoice, "120.00")])
    assert state(invoice) == before


# --------------------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------------------
def test_credit_balances_of_many_companies_in_one_query(org, admin):  # type: ignore[no-untyped-def]
    companies = [ClientCompanyFactory(organization=org) for _ in range(3)]
    record(org, admin, companies[0], "10.00")
    record(org, admin, companies[1], "25.00")
    invoice = invoice_of(companies[1])
    record(org, admin, companies[1], "120.00", [(invoice, "100.00")])

    with CaptureQueriesContext(connection) as queries:
        balances = selectors.credit_balances(companies)

    assert len(queries) == 1
    assert balances == {companies[0].pk: Decimal("10.00"), companies[1].pk: Decimal("45.00")}


def test_payments_for_scopes_to_the_organization_the_right_and_the_centers(org, other_org, admin, staff_of):  # type: ignore[no-untyped-def]
    from comptoir.core.models import StaffMembership
    from comptoir.core.tests.factories import CenterFactory

    here, there = CenterFactory(organization=org), CenterFactory(organization=org)
    mine = PaymentFactory(organization=org, company__center=here)
    other_center = PaymentFactory(organization=org, company__center=there)
    no_center = PaymentFactory(organization=org, company__center=None)
    PaymentFactory(organization=other_org)
    limited = staff_of("manager")
    StaffMembership.objects.get(user=limited, organization=org).centers.set([here])

    assert set(selectors.payments_for(admin, org)) == {mine, other_center, no_center}
    assert set(selectors.payments_for(limited, org)) == {mine, no_center}
    assert list(selectors.payments_for(staff_of("technician"), org)) == []


def test_open_invoices_are_the_issued_unpaid_ones(org, company):  # type: ignore[no-untyped-def]
    unpaid, partial, paid = invoice_of(company), invoice_of(company), invoice_of(company)
    pay(partial, "20.00")
    pay(paid, "120.00")
    InvoiceFactory(organization=org, company=company)  # a draft

    assert set(selectors.open_invoices(company)) == {unpaid, partial}
