"""Bank statement import: transfers matched to invoices by their number, recorded and allocated in bulk,
idempotent, refusals that import nothing, a constant number of queries per chunk."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.billing.models import Invoice
from comptoir.billing.tests.factories import issued_invoice
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.payments.models import Allocation, Payment
from comptoir.payments.services.imports import import_transfers, parse_statement
from comptoir.payments.services.payments import credit_balance

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


def statement(*lines: str) -> bytes:
    return ("date;montant;libelle;payeur\n" + "\n".join(lines) + "\n").encode()


def test_transfers_are_matched_by_invoice_number_and_allocated(org, admin, center):
    # given: two invoices of 120 € TTC (one legal entity: FA-…-000001 and FA-…-000002)
    first, second = issued_invoice(org, center=center), issued_invoice(org, center=center)
    day = TODAY.strftime("%d/%m/%Y")
    lines = parse_statement(statement(
        f"{day};120,00;VIR SEPA {first.reference} LOYER;ATELIER",
        f"{day};50,00;VIREMENT {second.reference.lower()} ACOMPTE;",
        f"{day};200,00;VIREMENT SANS REFERENCE;INCONNU",
        f"{day};-35,00;PRLV FRAIS BANCAIRES;BANQUE",
        f"{day};130,00;VIR {first.reference} EN DOUBLE;ATELIER",
    ))  # fmt: skip

    # when
    result = import_transfers(organization=org, by=admin, lines=lines)

    # then: the first paid, the second partly, the unknown and the duplicate reported, the debit ignored
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.payment_status, first.amount_paid, first.paid_on) == ("paid", Decimal("120.00"), TODAY)
    assert (second.payment_status, second.amount_paid) == ("partially_paid", Decimal("50.00"))
    assert (result.lines, result.recorded, result.allocated, result.credit) == (4, 2, Decimal("170.00"), ZERO)
    assert [(number, reason) for number, _label, reason in result.unmatched] == [
        (4, "pas de numéro de facture dans le libellé"),
        (5, f"la facture {first.reference} est déjà payée"),
    ]
    payment = Payment.objects.get(allocations__invoice=first)
    assert (payment.method, payment.company_id, payment.reference) == ("transfer", first.company_id,
                                                                       f"VIR SEPA {first.reference} LOYER")  # fmt: skip
    assert AuditEntry.objects.filter(action="payments.statement_imported").count() == 1


def test_a_transfer_larger_than_the_invoice_leaves_a_credit_balance(org, admin):
    invoice = issued_invoice(org)
    lines = parse_statement(statement(f"{TODAY:%Y-%m-%d};150;VIR {invoice.reference};"))
    result = import_transfers(organization=org, by=admin, lines=lines)
    assert result.credit == Decimal("30.00") and credit_balance(invoice.company) == Decimal("30.00")


def test_importing_the_same_statement_twice_records_nothing_new(org, admin):
    invoice = issued_invoice(org)
    content = statement(
        f"{TODAY:%d/%m/%Y};60,00;VIR {invoice.reference};", f"{TODAY:%d/%m/%Y};60,00;VIR {invoice.reference};"
    )
    import_transfers(organization=org, by=admin, lines=parse_statement(content))
    again = import_transfers(organization=org, by=admin, lines=parse_statement(content))
    assert (again.recorded, again.already_imported) == (0, 2)
    assert Payment.objects.count() == 2
    invoice.refresh_from_db()
    assert invoice.payment_status == "paid"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"jour;somme;texte\n", "invalid_header"),
        (statement("31/02/2026;10;VIR"), "invalid_line"),
        (statement("01/12/2026;dix;VIR"), "invalid_line"),
        (statement("01/12/2026;10,123;VIR"), "invalid_line"),
        (statement("01/12/2026;10"), "invalid_line"),
    ],
)
def test_an_unreadable_statement_is_refused_whole(content, code):
    with pytest.raises(ValidationFailed) as refused:
        parse_statement(content)
    assert refused.value.code == code and "file" in refused.value.fields


def test_future_lines_and_missing_rights_import_nothing(org, admin, staff_of):
    invoice = issued_invoice(org)
    future = parse_statement(statement(f"{TODAY + datetime.timedelta(days=1):%d/%m/%Y};10;VIR {invoice.reference};"))
    with pytest.raises(ValidationFailed) as refused:
        import_transfers(organization=org, by=admin, lines=future)
    assert refused.value.code == "future_date"
    with pytest.raises(RightsError):
        import_transfers(organization=org, by=staff_of("reception"),
                         lines=parse_statement(statement(f"{TODAY:%d/%m/%Y};10;VIR {invoice.reference};")))  # fmt: skip
    assert not Payment.objects.exists() and not Allocation.objects.exists()


def test_the_same_number_in_two_legal_entities_is_told_apart_by_the_amount(org, admin):
    # given: FA-…-000001 in two legal entities' series, 120 € each, one already half paid
    from comptoir.billing.services.invoices import settle

    first, second = issued_invoice(org), issued_invoice(org)
    assert first.reference == second.reference
    settle(invoice=first, amount_paid=Decimal("60.00"))
    other = second
    ambiguous = import_transfers(organization=org, by=admin,
                                 lines=parse_statement(statement(f"{TODAY:%d/%m/%Y};10;VIR {first.reference} A;")))  # fmt: skip
    assert ambiguous.unmatched[0][2] == f"plusieurs factures portent le numéro {first.reference}"

    # when: 120 € naming that number: only the untouched one is due 120 €
    result = import_transfers(organization=org, by=admin,
                              lines=parse_statement(statement(f"{TODAY:%d/%m/%Y};120;VIR {first.reference} B;")))  # fmt: skip

    # then
    other.refresh_from_db()
    assert result.recorded == 1 and other.payment_status == "paid"


def test_an_invoice_of_another_organization_is_not_matched(org, other_org, admin):
    foreign = issued_invoice(other_org)
    result = import_transfers(organization=org, by=admin,
                              lines=parse_statement(statement(f"{TODAY:%d/%m/%Y};10;VIR {foreign.reference};")))  # fmt: skip
    assert result.recorded == 0 and result.unmatched[0][2] == "aucune facture émise ne correspond"
    foreign.refresh_from_db()
    assert foreign.amount_paid == 0


def test_a_chunk_makes_the_same_number_of_queries_for_2_and_40_transfers(org, admin, center):
    import_transfers(organization=org, by=admin, lines=[])  # warms the content types' cache
    counts = []
    for size in (2, 40):
        invoices = [issued_invoice(org, center=center) for _ in range(size)]
        lines = parse_statement(statement(*[f"{TODAY:%d/%m/%Y};120;VIR {invoice.reference};" for invoice in invoices]))
        with CaptureQueriesContext(connection) as queries:
            result = import_transfers(organization=org, by=admin, lines=lines)
        assert result.recorded == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert Invoice.objects.filter(payment_status="paid").count() == 42


ZERO = Decimal("0.00")
