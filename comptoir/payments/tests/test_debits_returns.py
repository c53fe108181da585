"""The bank's return, the awkward cases: a file the csv module cannot read, a debit whose payment the staff already
reversed by hand, a camt.054 return whose reason is proprietary (Rsn/Prtry)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.billing.models import Invoice
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.payments.models import DebitItem, Payment
from comptoir.payments.services import debits as service
from comptoir.payments.services.payments import reverse_payment
from comptoir.payments.tests.test_debits import TODAY, _sent_batch, collection_day, state  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_csv_with_an_oversized_field_is_refused_at_the_field_and_changes_nothing(org, admin, center, collection_day):  # noqa: F811
    batch, invoices, _mandate = _sent_batch(org, admin, center, collection_day)
    item = batch.items.order_by("id").first()
    content = f'end_to_end_id;status;reason_code\n{item.end_to_end_id};rejected;"{"X" * 200_000}"\n'.encode()
    before = state(batch, item, item.payment, *invoices)

    with pytest.raises(ValidationFailed) as refused:
        service.import_return(batch=batch, by=admin, data=content)

    assert "file" in refused.value.fields
    assert state(batch, item, item.payment, *invoices) == before


def test_a_rejection_of_a_debit_already_reversed_by_hand_is_recorded_without_reversing_twice(
    org, admin, center, collection_day  # noqa: F811
):  # fmt: skip
    batch, _invoices, _mandate = _sent_batch(org, admin, center, collection_day)
    rejected, accepted = list(batch.items.order_by("id"))
    # the bank phoned first: the staff reversed the debit's payment by hand
    reverse_payment(payment=rejected.payment, by=admin, reason="Rejet annoncé par la banque")
    content = (
        "end_to_end_id;status;reason_code\n"
        f"{rejected.end_to_end_id};rejected;AM04\n"
        f"{accepted.end_to_end_id};accepted;\n"
    ).encode()

    result = service.import_return(batch=batch, by=admin, data=content)

    assert (result.accepted, result.rejected) == (1, 1)
    rejected.refresh_from_db()
    assert rejected.status == DebitItem.Status.REJECTED and rejected.reject_reason == "AM04"
    assert rejected.payment.status == Payment.Status.REVERSED
    assert rejected.payment.reversal_reason == "Rejet annoncé par la banque"  # reversed once, by hand
    assert AuditEntry.objects.filter(action="payment.reversed", object_id=str(rejected.payment_id)).count() == 1
    assert Invoice.objects.get(pk=rejected.invoice_id).amount_due == Decimal("120.00")
    assert Payment.objects.get(pk=accepted.payment_id).status == Payment.Status.RECEIVED


CAMT_PRTRY = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>CAMT2</MsgId><CreDtTm>2027-01-08T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><CreDtTm>2027-01-08T10:00:00</CreDtTm><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">120.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>
<BkTxCd/><NtryDtls><TxDtls><Refs><EndToEndId>{rejected}</EndToEndId></Refs>
<RtrInf><Rsn><Prtry>MS03</Prtry></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"""


def test_a_camt054_return_with_a_proprietary_reason_is_a_rejection(org, admin, center, collection_day):  # noqa: F811
    batch, _invoices, _mandate = _sent_batch(org, admin, center, collection_day)
    rejected = batch.items.order_by("id").first()
    content = CAMT_PRTRY.format(day=TODAY().isoformat(), rejected=rejected.end_to_end_id).encode()

    result = service.import_return(batch=batch, by=admin, data=content)

    assert (result.accepted, result.rejected) == (0, 1)
    rejected.refresh_from_db()
    assert rejected.status == DebitItem.Status.REJECTED and rejected.reject_reason == "MS03"
    assert rejected.payment.status == Payment.Status.REVERSED
    assert Invoice.objects.get(pk=rejected.invoice_id).amount_due == Decimal("120.00")


def test_a_debit_reversed_by_hand_is_rejected_at_once_and_can_be_collected_again(org, admin, center, collection_day):  # noqa: F811
    batch, _invoices, _mandate = _sent_batch(org, admin, center, collection_day)
    item = batch.items.order_by("id").first()
    reverse_payment(payment=item.payment, by=admin, reason="Chèque de remplacement attendu")
    item.refresh_from_db()
    assert item.status == DebitItem.Status.REJECTED and item.reject_reason == "MANUAL"
    invoice = Invoice.objects.get(pk=item.invoice_id)
    assert invoice.amount_due == Decimal("120.00")
    # the invoice is due again: a new batch can take it
    due = service.debitable_invoices(
        organization=org, legal_entity=invoice.legal_entity, collection_date=collection_day
    )
    assert invoice.pk in {each.pk for each in due}
