import datetime
from decimal import Decimal

import pytest

from comptoir.billing import ledger
from comptoir.billing.models import Invoice
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import InvoiceFactory


@pytest.mark.django_db
def test_draft_lines_issue_and_credit(org, admin):
    invoice = InvoiceFactory(organization=org)
    services.add_invoice_line(
        invoice=invoice,
        by=admin,
        data={"description": "Bureau", "quantity": "1", "unit_price": "1000", "vat_rate": "20.00"},
    )
    services.add_invoice_line(
        invoice=invoice,
        by=admin,
        data={"description": "Café", "quantity": "3", "unit_price": "1.333", "vat_rate": "10"},
    )
    invoice.refresh_from_db()
    assert invoice.total_excl_vat == Decimal("1004.00")
    assert invoice.total_vat == Decimal("200.40")
    issued = services.issue_invoice(invoice=invoice, by=admin)
    assert issued.reference == f"FA-{datetime.date.today().year}-000001"
    assert issued.chain_index == 1 and issued.record_hash
    credit = services.credit_invoice(invoice=issued, by=admin)
    assert credit.reference.startswith("AV-") and credit.chain_index == 2
    issued.refresh_from_db()
    assert issued.status == Invoice.Status.CANCELLED
    checked, problems = ledger.verify_ledger(organization=org)
    assert checked == 2 and problems == []
