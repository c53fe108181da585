"""Invoices and credit notes through the services: lines and EN 16931 totals, issue (numbers, freeze, chain),
credit notes, the first invoices of a signed contract, and every refusal of the issue (nothing changed)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from comptoir.billing.models import BilledPeriod, BillingProfile, Invoice, InvoiceLine
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import InvoiceFactory, issued_invoice
from comptoir.core import events
from comptoir.core.errors import Conflict, DomainError, RightsError
from comptoir.sales.models import PricedLine
from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def line(**values):  # type: ignore[no-untyped-def]
    return {"description": "Bureau 12", "quantity": "1", "unit_price": "1000", "vat_rate": "20.00", **values}


def frozen(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (invoice.status, invoice.number, invoice.reference, invoice.total_incl_vat, invoice.lines.count())


def test_lines_and_totals_follow_en16931(org, admin):
    invoice = InvoiceFactory(organization=org)
    services.add_invoice_line(invoice=invoice, by=admin, data=line())
    services.add_invoice_line(invoice=invoice, by=admin, data=line(description="Café", quantity="3",
                                                                   unit_price="1.333", vat_rate="10"))  # fmt: skip
    services.add_invoice_line(invoice=invoice, by=admin, data=line(description="Livres", unit_price="10.01",
                                                                   discount="0.01", vat_rate="5,5"))  # fmt: skip
    invoice.refresh_from_db()
    # 1000 + round(3 × 1.333) = 4.00 + (10.01 − 0.01) = 10.00
    assert invoice.total_excl_vat == Decimal("1014.00")
    assert invoice.vat_breakdown == [
        {"category": "S", "rate": "20.00", "base": "1000.00", "vat": "200.00", "exemption_reason": ""},
        {"category": "S", "rate": "10.00", "base": "4.00", "vat": "0.40", "exemption_reason": ""},
        {"category": "S", "rate": "5.50", "base": "10.00", "vat": "0.55", "exemption_reason": ""},
    ]
    assert invoice.total_vat == Decimal("200.95") and invoice.total_incl_vat == Decimal("1214.95")


def test_issue_numbers_freezes_and_chains(org, admin):
    first = issued_invoice(org)
    invoice = InvoiceFactory(organization=org, center=first.center, company=first.company)
    services.add_invoice_line(invoice=invoice, by=admin, data=line())
    issued = services.issue_invoice(invoice=invoice, by=admin)
    assert issued.reference == f"FA-{TODAY.year}-000002" and issued.number == 2
    assert issued.chain_index == 2 and issued.previous_hash == first.record_hash and len(issued.record_hash) == 64
    assert issued.due_date == TODAY + datetime.timedelta(days=30)
    assert issued.seller["siren"] == "732829320" and issued.buyer["name"] == invoice.company.name
    with pytest.raises(DomainError) as exc:
        services.add_invoice_line(invoice=issued, by=admin, data=line())
    assert exc.value.code == "not_draft"
    with pytest.raises(Conflict):
        services.issue_invoice(invoice=issued, by=admin)
    assert frozen(issued) == (Invoice.Status.ISSUED, 2, issued.reference, Decimal("1200.00"), 1)


def test_continuous_numbering(org, admin):
    invoice = InvoiceFactory(organization=org)
    profile = services.billing_profile(invoice.legal_entity)
    profile.numbering, profile.invoice_prefix = BillingProfile.Numbering.CONTINUOUS, "F"
    profile.save()
    services.add_invoice_line(invoice=invoice, by=admin, data=line())
    assert services.issue_invoice(invoice=invoice, by=admin).reference == "F-000001"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        (line(vat_rate="15"), "unknown_vat_rate", "vat_rate"),
        (line(vat_rate="0"), "exemption_reason_required", "vat_exemption_reason"),
        (line(quantity="0"), "zero_quantity", "quantity"),
        (line(unit_price="abc"), "invalid_number", "unit_price"),
        (line(unit_price="1e400"), "invalid_number", "unit_price"),
        (line(description=""), "required", "description"),
        (line(discount="2000"), "discount_too_large", "discount"),
        (line(discount="-1"), "negative_discount", "discount"),
    ],
)
def test_bad_lines_are_refused_at_their_field(org, admin, data, code, field):
    invoice = InvoiceFactory(organization=org)
    with pytest.raises(DomainError) as exc:
        services.add_invoice_line(invoice=invoice, by=admin, data=data)
    assert exc.value.code == code and field in exc.value.fields
    assert InvoiceLine.objects.count() == 0


def test_issue_refusals_change_nothing(org, admin):
    empty = InvoiceFactory(organization=org)
    with pytest.raises(DomainError) as exc:
        services.issue_invoice(invoice=empty, by=admin)
    assert exc.value.code == "no_lines"
    negative = InvoiceFactory(organization=org, center=empty.center, company=empty.company)
    services.add_invoice_line(invoice=negative, by=admin, data=line(unit_price="-10"))
    with pytest.raises(DomainError) as exc:
        services.issue_invoice(invoice=negative, by=admin)
    assert exc.value.code == "negative_total"
    profile = services.billing_profile(empty.legal_entity)
    profile.locked_until = TODAY
    profile.save()
    services.add_invoice_line(invoice=empty, by=admin, data=line())
    with pytest.raises(DomainError) as exc:
        services.issue_invoice(invoice=empty, by=admin)
    assert exc.value.code == "locked_period" and "issue_date" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.issue_invoice(invoice=empty, by=admin, issue_date=TODAY + datetime.timedelta(days=1))
    assert exc.value.code == "future_date"
    for invoice in (empty, negative):
        assert frozen(invoice)[:3] == (Invoice.Status.DRAFT, None, "")
    assert not Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists()


def test_issue_date_cannot_go_back_before_the_last_document(org, admin):
    first = issued_invoice(org)
    invoice = InvoiceFactory(organization=org, center=first.center, company=first.company)
    services.add_invoice_line(invoice=invoice, by=admin, data=line())
    with pytest.raises(DomainError) as exc:
        services.issue_invoice(invoice=invoice, by=admin, issue_date=TODAY - datetime.timedelta(days=3))
    assert exc.value.code == "date_before_last"
    assert frozen(invoice)[:2] == (Invoice.Status.DRAFT, None)


def test_reception_cannot_issue(org, staff_of):
    invoice = InvoiceFactory(organization=org)
    reception = staff_of("reception")
    with pytest.raises(RightsError):
        services.add_invoice_line(invoice=invoice, by=reception, data=line())
    with pytest.raises(RightsError):
        services.issue_invoice(invoice=invoice, by=reception)


def test_credit_notes_partial_then_full_then_refused(org, admin):
    invoice = issued_invoice(org)  # 100 HT, 120 TTC
    partial = services.credit_invoice(invoice=invoice, by=admin,
                                      lines=[line(description="Geste commercial", unit_price="50")])  # fmt: skip
    assert partial.kind == Invoice.Kind.CREDIT_NOTE and partial.reference == f"AV-{TODAY.year}-000001"
    assert partial.total_incl_vat == Decimal("60.00") and partial.credited_invoice_id == invoice.pk
    with pytest.raises(DomainError) as exc:
        services.credit_invoice(invoice=invoice, by=admin, lines=[line(unit_price="50.01")])
    assert exc.value.code == "credit_exceeds_invoice"
    with pytest.raises(DomainError) as exc:
        services.credit_invoice(invoice=invoice, by=admin)
    assert exc.value.code == "partially_credited"
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1
    services.credit_invoice(invoice=invoice, by=admin, lines=[line(unit_price="50")])
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED and services.remaining_to_credit(invoice) == 0
    with pytest.raises(DomainError) as exc:
        services.create_credit_note(invoice=invoice, by=admin)
    assert exc.value.code == "fully_credited"


def test_first_invoices_at_signature_deposit_and_prorated_first_month(org, admin):
    start = datetime.date(TODAY.year, TODAY.month, 1) + datetime.timedelta(days=14)  # the 15th
    contract = ContractFactory(organization=org, start_date=start, deposit=Decimal("1500.00"))
    ContractLineFactory(contract=contract, amount_excl_vat=Decimal("900.00"), unit_price=Decimal("900.00"))
    ContractLineFactory(contract=contract, kind=PricedLine.Kind.ONE_OFF, space=None, description="Frais de dossier",
                        is_recurring=False, amount_excl_vat=Decimal("150.00"), unit_price=Decimal("150.00"))  # fmt: skip
    events.publish("contract.signed", contract=contract, by=None)
    deposit, first = Invoice.objects.filter(contract=contract).order_by("chain_index")
    assert deposit.origin == Invoice.Origin.DEPOSIT and deposit.total_incl_vat == Decimal("1500.00")
    assert deposit.vat_breakdown[0]["category"] == "O" and deposit.total_vat == 0
    month_days = (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - start.replace(day=1)
    days = month_days.days - 14
    rent = (Decimal("900") * (14 + days) / month_days.days).quantize(Decimal("0.01")) - (
        Decimal("900") * 14 / month_days.days
    ).quantize(Decimal("0.01"))
    assert first.origin == Invoice.Origin.FIRST_MONTH and first.period_start == start
    assert first.total_excl_vat == rent + Decimal("150.00")
    assert BilledPeriod.objects.get(contract=contract).period == start.replace(day=1)
    # signed twice (a replayed event): nothing more
    services.issue_first_invoices(contract=contract)
    assert Invoice.objects.filter(contract=contract).count() == 2


# --------------------------------------------------------------------------------------------------
# Settlement (kept by the payments app through `settle`)
# --------------------------------------------------------------------------------------------------
def test_settle_derives_the_payment_status_and_the_amount_due(org):
    # given: 120 € TTC due in 30 days
    invoice = issued_invoice(org)
    assert (invoice.payment_status, invoice.amount_due, invoice.payment_state()) == ("pending", Decimal("120.00"),
                                                                                     "pending")  # fmt: skip

    # when: partly paid, then paid, then a payment is reversed
    services.settle(invoice=invoice, amount_paid=Decimal("20.00"))
    partly = (invoice.payment_status, invoice.amount_due, invoice.paid_on)
    services.settle(invoice=invoice, amount_paid=Decimal("120.00"), paid_on=TODAY)
    paid = (invoice.payment_status, invoice.amount_due, invoice.paid_on)
    services.settle(invoice=invoice, amount_paid=Decimal("100.00"))

    # then
    assert partly == ("partially_paid", Decimal("100.00"), None)
    assert paid == ("paid", Decimal("0.00"), TODAY)
    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.amount_paid, invoice.paid_on) == ("partially_paid", Decimal("100.00"), None)
    assert invoice.payment_state(invoice.due_date + datetime.timedelta(days=1)) == "overdue"
    assert invoice.payment_state(invoice.due_date) == "partially_paid"


def test_settle_refuses_drafts_credit_notes_and_negative_amounts(org, admin):
    draft = InvoiceFactory(organization=org)
    invoice = issued_invoice(org)
    note = services.credit_invoice(invoice=invoice, by=admin, lines=[line(unit_price="10")])
    for target, amount, code in ((draft, "1", "not_issued"), (note, "1", "not_issued"),
                                 (invoice, "-1", "negative_amount")):  # fmt: skip
        with pytest.raises(DomainError) as refused:
            services.settle(invoice=target, amount_paid=Decimal(amount))
        assert refused.value.code == code
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_a_credit_note_lowers_what_is_due_and_can_complete_the_payment(org, admin):
    # given: 120 € TTC, 60 € paid
    invoice = issued_invoice(org)
    services.settle(invoice=invoice, amount_paid=Decimal("60.00"))

    # when: a credit note of 50 € HT (60 € TTC)
    services.credit_invoice(invoice=invoice, by=admin, lines=[line(unit_price="50")])

    # then: nothing is due any more, the invoice is paid
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.amount_due, invoice.payment_status) == (
        Decimal("60.00"), Decimal("0.00"), "paid")  # fmt: skip


def test_the_settlement_columns_change_on_an_issued_invoice_and_nothing_else(org):
    from django.db import DatabaseError, connection, transaction

    invoice = issued_invoice(org)
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("10.00"), payment_status="partially_paid")
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("10.00")
    if connection.vendor == "postgresql":  # the freeze trigger (migrations 0002, 0005) still refuses the rest
        with pytest.raises(DatabaseError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("20.00"), total_incl_vat=Decimal("1"))
