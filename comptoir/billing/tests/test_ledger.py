"""The ledger of issued documents: the PostgreSQL triggers refuse changes, `comptoir verify-ledger` finds any
tampered, deleted or inserted row, and 50 documents issued in parallel get 50 consecutive numbers."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from comptoir.billing import ledger
from comptoir.billing.models import Invoice, InvoiceLine
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory, issued_invoice

pytestmark = pytest.mark.django_db


def three_documents(org):  # type: ignore[no-untyped-def]
    first = issued_invoice(org)
    second = issued_invoice(org, center=first.center, company=first.company)
    third = issued_invoice(org, center=first.center, company=first.company)
    return first, second, third


def raw(sql: str, params: list) -> None:
    """A change made behind the application's back (triggers off on PostgreSQL, as a DBA could)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_clean_ledger_verifies(org):
    three_documents(org)
    assert ledger.verify_ledger(organization=org) == (3, [])
    call_command("verify-ledger", "--org", org.slug)


def test_changed_amount_is_detected(org):
    _first, second, _third = three_documents(org)
    raw("UPDATE billing_invoice SET total_incl_vat = %s WHERE id = %s", [Decimal("1.00"), second.pk])
    checked, problems = ledger.verify_ledger(organization=org)
    assert checked == 3 and [(p.reference, p.kind) for p in problems] == [(second.reference, "tampered")]
    with pytest.raises(CommandError, match="1 problem"):
        call_command("verify-ledger", "--org", org.slug)


def test_changed_line_is_detected(org):
    _first, second, _third = three_documents(org)
    raw("UPDATE billing_invoiceline SET description = %s WHERE invoice_id = %s", ["autre", second.pk])
    assert [(p.reference, p.kind) for p in ledger.verify_ledger(organization=org)[1]] == [
        (second.reference, "tampered")
    ]


def test_deleted_documents_are_detected(org):
    first, second, third = three_documents(org)
    for document in (second, third):
        raw("DELETE FROM billing_invoiceline WHERE invoice_id = %s", [document.pk])
        raw("DELETE FROM billing_invoice WHERE id = %s", [document.pk])
        problems = ledger.verify_ledger(organization=org)[1]
        assert "missing" in {problem.kind for problem in problems}
    del first


def test_inserted_line_is_detected(org):
    first, _second, _third = three_documents(org)
    raw(
        "INSERT INTO billing_invoiceline (invoice_id, position, description, quantity, unit, unit_price, discount,"
        " vat_rate, vat_category, vat_exemption_reason, accounting_code, amount_excl_vat, source)"
        " VALUES (%s, 9, 'ajout', 1, 'unit', 5, 0, '20.00', 'S', '', '', 5, 'manual')",
        [first.pk],
    )
    assert [(p.reference, p.kind) for p in ledger.verify_ledger(organization=org)[1]] == [(first.reference, "tampered")]


def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the freeze triggers are PostgreSQL's (SQLite relies on the services and verify-ledger)")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE billing_invoice SET total_incl_vat = 1 WHERE id = %s",
        "UPDATE billing_invoice SET issue_date = issue_date - 1 WHERE id = %s",
        "UPDATE billing_invoice SET status = 'draft' WHERE id = %s",
        "DELETE FROM billing_invoice WHERE id = %s",
        "UPDATE billing_invoiceline SET amount_excl_vat = 1 WHERE invoice_id = %s",
        "DELETE FROM billing_invoiceline WHERE invoice_id = %s",
        "INSERT INTO billing_invoiceline (invoice_id, position, description, quantity, unit, unit_price, discount,"
        " vat_rate, vat_category, vat_exemption_reason, accounting_code, amount_excl_vat, source)"
        " VALUES (%s, 9, 'ajout', 1, 'unit', 5, 0, '20.00', 'S', '', '', 5, 'manual')",
    ],
)
def test_postgresql_refuses_changes_of_issued_documents(org, statement):
    postgres_only()
    invoice = issued_invoice(org)
    with pytest.raises(DatabaseError, match="issued"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [invoice.pk])
    assert ledger.verify_ledger(organization=org) == (1, [])


def test_postgresql_lets_status_and_pdf_change_and_drafts_be_edited(org):
    postgres_only()
    invoice = issued_invoice(org)
    Invoice.objects.filter(pk=invoice.pk).update(pdf="invoices/x.pdf", pdf_sha256="0" * 64, status="cancelled")
    draft = InvoiceFactory(organization=org)
    InvoiceLineFactory(invoice=draft)
    InvoiceLine.objects.filter(invoice=draft).update(description="changée")
    draft.delete()
    assert ledger.verify_ledger(organization=org) == (1, [])


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_issues_take_fifty_consecutive_numbers(org, admin):
    if connection.vendor != "postgresql":
        pytest.skip("row locks under real concurrency are tested on PostgreSQL (SQLite serializes writers)")
    first = InvoiceFactory(organization=org)
    drafts = [first] + [InvoiceFactory(organization=org, center=first.center, company=first.company) for _ in range(49)]
    for draft in drafts:
        InvoiceLineFactory(invoice=draft)
    barrier = threading.Barrier(len(drafts))
    errors: list[BaseException] = []

    def issue(draft: Invoice) -> None:
        try:
            barrier.wait(timeout=30)
            services.issue_invoice(invoice=draft, by=admin)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    numbers = sorted(Invoice.objects.filter(organization=org).values_list("number", flat=True))
    assert numbers == list(range(1, 51))
    assert sorted(Invoice.objects.filter(organization=org).values_list("chain_index", flat=True)) == numbers
    assert ledger.verify_ledger(organization=org) == (50, [])
