"""Direct-debit batches: which invoices are collected, FRST then RCUR, the pain.008 (validate_sepa.py), the
pre-notification, « envoyé à la banque », the bank's return (CSV and camt.054), the GoCardless export."""

from __future__ import annotations

import csv
import datetime
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from lxml import etree

from comptoir.billing.models import Invoice
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.crm.tests.factories import ContactFactory
from comptoir.payments.models import DebitBatch, DebitItem, Mandate, Payment, PaymentProfile
from comptoir.payments.services import debits as service
from comptoir.payments.tests.factories import ClientCompanyFactory, MandateFactory, invoice_of, pay

TODAY = timezone.localdate
NS = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"


def validate_sepa(content: bytes) -> subprocess.CompletedProcess[str]:
    folder = Path(os.environ.get("VALIDATORS_DIR") or Path(settings.BASE_DIR).parent / "shared" / "validators")
    if not (folder / "validate_sepa.py").is_file():
        pytest.fail(f"The SEPA validator is missing: no {folder / 'validate_sepa.py'} (set VALIDATORS_DIR).")
    path = Path(settings.MEDIA_ROOT) / "pain008-under-test.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return subprocess.run([sys.executable, str(folder / "validate_sepa.py"), str(path)], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def debtor(org, center, name: str, *, scheme: str = Mandate.Scheme.CORE, collected: bool = False, **extra):  # type: ignore[no-untyped-def]
    company = ClientCompanyFactory(organization=org, center=center, name=name,
                                   default_payment_method="direct_debit", **extra)  # fmt: skip
    ContactFactory(company=company, email=f"compta@{company.pk}.test", is_invoice_recipient=True)
    mandate = MandateFactory(organization=org, company=company, legal_entity=center.legal_entity,
                             status=Mandate.Status.ACTIVE, signed_on=TODAY() - datetime.timedelta(days=30),
                             signed_at=timezone.now() - datetime.timedelta(days=30), scheme=scheme,
                             first_collected_on=TODAY() - datetime.timedelta(days=20) if collected else None)  # fmt: skip
    return company, mandate


def due_invoice(company, **kwargs) -> Invoice:  # type: ignore[no-untyped-def]
    kwargs.setdefault("center", company.center)
    kwargs.setdefault("due_date", TODAY())
    return invoice_of(company, **kwargs)


@pytest.fixture
def collection_day() -> datetime.date:
    return TODAY() + datetime.timedelta(days=7)


def state(*objects):  # type: ignore[no-untyped-def]
    return (DebitBatch.objects.count(), DebitItem.objects.count(), Payment.objects.count(),
            [list(type(o).objects.filter(pk=o.pk).values()) for o in objects])  # fmt: skip


def test_prepare_picks_only_direct_debit_invoices_of_signed_mandates_of_the_creditor(
    org, admin, center, collection_day
):
    first, _m1 = debtor(org, center, "Atelier Lumière")
    paid_by_transfer = ClientCompanyFactory(organization=org, center=center)  # no mandate, transfer
    unsigned = ClientCompanyFactory(organization=org, center=center, default_payment_method="direct_debit")
    MandateFactory(organization=org, company=unsigned, legal_entity=center.legal_entity)  # pending: never used
    revoked = ClientCompanyFactory(organization=org, center=center, default_payment_method="direct_debit")
    MandateFactory(organization=org, company=revoked, legal_entity=center.legal_entity, status=Mandate.Status.REVOKED,
                   signed_on=TODAY())  # fmt: skip
    due_invoice(revoked)
    picked = due_invoice(first)
    later = due_invoice(first, due_date=collection_day + datetime.timedelta(days=1))
    already_paid = due_invoice(first)
    pay(already_paid, "120.00")
    due_invoice(paid_by_transfer)
    due_invoice(unsigned)

    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip

    items = list(batch.items.all())
    assert [item.invoice_id for item in items] == [picked.pk]
    assert later.pk not in [item.invoice_id for item in items]
    assert batch.count == 1 and batch.total == Decimal("120.00")
    assert batch.status == DebitBatch.Status.DRAFT
    assert items[0].sequence_type == "FRST" and items[0].status == DebitItem.Status.PENDING
    assert items[0].end_to_end_id == f"{batch.reference}-0001"
    assert PaymentProfile.objects.filter(organization=org).exists()
    # the invoice is not taken twice while its debit is pending
    with pytest.raises(DomainError) as nothing:
        service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                              by=admin)  # fmt: skip
    assert nothing.value.code == "nothing_to_collect"


def test_contract_payment_method_wins_over_the_company_default(org, admin, center, collection_day):
    from comptoir.sales.tests.factories import ContractFactory

    company, _mandate = debtor(org, center, "Atelier Lumière")
    by_transfer = ContractFactory(organization=org, company=company, center=center, payment_method="transfer")
    by_debit = ContractFactory(organization=org, company=company, center=center, payment_method="direct_debit")
    due_invoice(company, contract=by_transfer)
    wanted = due_invoice(company, contract=by_debit)

    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip

    assert list(batch.items.values_list("invoice_id", flat=True)) == [wanted.pk]


def test_pain008_of_several_debtors_with_frst_and_rcur_passes_validate_sepa(org, admin, center, collection_day):
    new, new_mandate = debtor(org, center, "Atelier Lumière")
    old, old_mandate = debtor(org, center, "Boulangerie Éclair & Fils", collected=True)
    b2b, _b2b_mandate = debtor(org, center, "Cabinet Dupont", scheme=Mandate.Scheme.B2B)
    due_invoice(new)
    due_invoice(new)
    due_invoice(old)
    due_invoice(b2b)

    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip

    content = batch.file.read()
    import hashlib

    assert hashlib.sha256(content).hexdigest() == batch.file_sha256
    result = validate_sepa(content)
    assert result.returncode == 0, result.stdout + result.stderr
    root = etree.fromstring(content)
    ns = {"p": NS}
    assert root.xpath("//p:GrpHdr/p:NbOfTxs/text()", namespaces=ns) == ["4"]
    assert root.xpath("//p:GrpHdr/p:CtrlSum/text()", namespaces=ns) == ["480.00"]
    sequences = sorted(root.xpath("//p:PmtInf/p:PmtTpInf/p:SeqTp/text()", namespaces=ns))
    assert sequences == ["FRST", "FRST", "RCUR"]  # CORE FRST, CORE RCUR, B2B FRST
    assert sorted(set(root.xpath("//p:LclInstrm/p:Cd/text()", namespaces=ns))) == ["B2B", "CORE"]
    assert root.xpath("//p:CdtrSchmeId//p:Othr/p:Id/text()", namespaces=ns)[0] == center.legal_entity.sepa_creditor_id
    assert set(root.xpath("//p:MndtId/text()", namespaces=ns)) >= {new_mandate.reference, old_mandate.reference}
    items = {item.mandate_id: item.sequence_type for item in batch.items.all()}
    assert items[new_mandate.pk] == "FRST" and items[old_mandate.pk] == "RCUR"


def test_pre_notification_mail_tells_amount_date_rum_and_creditor_id(org, admin, center, collection_day):
    company, mandate = debtor(org, center, "Atelier Lumière")
    due_invoice(company)

    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip

    assert batch.notified_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [f"compta@{company.pk}.test"]
    assert "120,00" in message.body and "120,00" in message.subject
    assert collection_day.strftime("%d/%m/%Y") in message.body
    assert mandate.reference in message.body
    assert center.legal_entity.sepa_creditor_id in message.body


def test_a_date_inside_the_pre_notification_delay_is_refused_and_changes_nothing(org, admin, center):
    company, _mandate = debtor(org, center, "Atelier Lumière")
    invoice = due_invoice(company)
    before = state(invoice)

    with pytest.raises(ValidationFailed) as refused:
        service.prepare_batch(organization=org, legal_entity=center.legal_entity,
                              collection_date=TODAY() + datetime.timedelta(days=4), by=admin)  # fmt: skip

    assert refused.value.code == "prenotification_delay" and "collection_date" in refused.value.fields
    assert state(invoice) == before
    assert mail.outbox == []
    PaymentProfile.objects.update_or_create(organization=org, defaults={"prenotification_days": 2})
    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity,
                                  collection_date=TODAY() + datetime.timedelta(days=2), by=admin)  # fmt: skip
    assert batch.count == 1


def test_staff_without_the_right_may_not_prepare(org, staff_of, center, collection_day):
    company, _mandate = debtor(org, center, "Atelier Lumière")
    due_invoice(company)
    with pytest.raises(RightsError):
        service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                              by=staff_of("reception"))  # fmt: skip
    assert DebitBatch.objects.count() == 0


def _sent_batch(org, admin, center, collection_day):  # type: ignore[no-untyped-def]
    first, first_mandate = debtor(org, center, "Atelier Lumière")
    second, _second_mandate = debtor(org, center, "Boulangerie Éclair")
    invoices = [due_invoice(first), due_invoice(second)]
    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip
    batch = service.mark_sent(batch=batch, by=admin)
    return batch, invoices, first_mandate


def test_mark_sent_records_payments_in_collection_and_the_invoices_show_paid(org, admin, center, collection_day):
    batch, invoices, mandate = _sent_batch(org, admin, center, collection_day)

    assert batch.status == DebitBatch.Status.SENT and batch.sent_at is not None
    for item in batch.items.select_related("payment"):
        assert item.status == DebitItem.Status.IN_COLLECTION
        assert item.payment.status == Payment.Status.IN_COLLECTION
        assert item.payment.method == "direct_debit"
        assert item.payment.provider_reference == item.end_to_end_id
        assert item.payment.amount == item.amount
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.payment_status == Invoice.PaymentStatus.PAID and invoice.amount_due == 0
    mandate.refresh_from_db()
    assert mandate.first_collected_on == collection_day
    with pytest.raises(DomainError):
        service.mark_sent(batch=batch, by=admin)
    # the next batch of the same mandate is RCUR
    due_invoice(invoices[0].company)
    later = service.prepare_batch(organization=org, legal_entity=center.legal_entity,
                                  collection_date=collection_day + datetime.timedelta(days=30), by=admin)  # fmt: skip
    assert [item.sequence_type for item in later.items.filter(mandate=mandate)] == ["RCUR"]


def test_csv_return_rejects_one_debit_reopens_its_invoice_and_confirms_the_other(org, admin, center, collection_day):
    batch, _invoices, mandate = _sent_batch(org, admin, center, collection_day)
    rejected, accepted = list(batch.items.order_by("id"))
    content = (
        "end_to_end_id;status;reason_code;date\n"
        f"{rejected.end_to_end_id};rejected;AM04;{TODAY():%d/%m/%Y}\n"
        f"{accepted.end_to_end_id};accepted;;{TODAY():%Y-%m-%d}\n"
    ).encode()

    result = service.import_return(batch=batch, by=admin, data=content)

    assert (result.accepted, result.rejected) == (1, 1)
    rejected.refresh_from_db()
    accepted.refresh_from_db()
    assert rejected.status == DebitItem.Status.REJECTED and rejected.reject_reason == "AM04"
    assert rejected.payment.status == Payment.Status.REVERSED
    assert rejected.payment.reversal_reason == "AM04 — Provision insuffisante"
    assert accepted.payment.status == Payment.Status.RECEIVED
    reopened = Invoice.objects.get(pk=rejected.invoice_id)
    assert reopened.payment_status == Invoice.PaymentStatus.PENDING and reopened.amount_due == Decimal("120.00")
    assert Invoice.objects.get(pk=accepted.invoice_id).payment_status == Invoice.PaymentStatus.PAID
    assert AuditEntry.objects.filter(action="payment.reversed", object_id=str(rejected.payment_id)).exists()
    assert AuditEntry.objects.filter(action="invoice.debit_rejected", object_id=str(reopened.pk)).exists()
    batch.refresh_from_db()
    assert batch.status == DebitBatch.Status.CLOSED
    mandate.refresh_from_db()
    assert mandate.first_collected_on is None  # its only debit was rejected: the next one is FRST again
    # the reopened invoice may be collected again
    again = service.prepare_batch(organization=org, legal_entity=center.legal_entity,
                                  collection_date=collection_day + datetime.timedelta(days=10), by=admin)  # fmt: skip
    assert list(again.items.values_list("invoice_id", "sequence_type")) == [(reopened.pk, "FRST")]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>CAMT1</MsgId><CreDtTm>2027-01-08T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><CreDtTm>2027-01-08T10:00:00</CreDtTm><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">120.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>
<ValDt><Dt>{day}</Dt></ValDt><BkTxCd/><NtryDtls><TxDtls><Refs><EndToEndId>{rejected}</EndToEndId></Refs>
<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">120.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>
<ValDt><Dt>{day}</Dt></ValDt><BkTxCd/><NtryDtls><TxDtls><Refs><EndToEndId>{accepted}</EndToEndId></Refs>
</TxDtls></NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"""


def test_camt054_return_with_a_rejection_reverses_the_payment_with_its_reason(org, admin, center, collection_day):
    batch, _invoices, _mandate = _sent_batch(org, admin, center, collection_day)
    rejected, accepted = list(batch.items.order_by("id"))
    content = CAMT.format(day=TODAY().isoformat(), rejected=rejected.end_to_end_id,
                          accepted=accepted.end_to_end_id).encode()  # fmt: skip

    result = service.import_return(batch=batch, by=admin, data=content)

    assert (result.accepted, result.rejected) == (1, 1)
    rejected.refresh_from_db()
    assert rejected.reject_reason == "AC04" and rejected.rejected_on == TODAY()
    assert rejected.payment.status == Payment.Status.REVERSED
    assert rejected.payment.reversal_reason == "AC04 — Compte clôturé"
    assert Invoice.objects.get(pk=rejected.invoice_id).amount_due == Decimal("120.00")
    assert Payment.objects.get(pk=accepted.payment_id).status == Payment.Status.RECEIVED
    # importing the same file again changes nothing more
    again = service.import_return(batch=batch, by=admin, data=content)
    assert (again.accepted, again.rejected, again.unchanged) == (0, 0, 2)


@pytest.mark.parametrize(
    "content",
    [b"", b"nothing;here\n1;2\n", b"end_to_end_id;status\nUNKNOWN-1;rejected\n", b"<Document><oops>",
     b"end_to_end_id;status;reason_code\n{e2e};maybe;\n", b"end_to_end_id;status;reason_code\n{e2e};rejected;\n"],
)  # fmt: skip
def test_an_unreadable_or_foreign_return_is_refused_and_changes_nothing(org, admin, center, collection_day, content):
    batch, invoices, _mandate = _sent_batch(org, admin, center, collection_day)
    item = batch.items.order_by("id").first()
    content = content.replace(b"{e2e}", item.end_to_end_id.encode())
    before = state(batch, item, item.payment, *invoices)

    with pytest.raises(ValidationFailed) as refused:
        service.import_return(batch=batch, by=admin, data=content)

    assert "file" in refused.value.fields
    assert state(batch, item, item.payment, *invoices) == before


def test_a_return_before_the_batch_is_sent_is_refused(org, admin, center, collection_day):
    company, _mandate = debtor(org, center, "Atelier Lumière")
    due_invoice(company)
    batch = service.prepare_batch(organization=org, legal_entity=center.legal_entity, collection_date=collection_day,
                                  by=admin)  # fmt: skip
    item = batch.items.get()
    with pytest.raises(DomainError) as refused:
        service.import_return(
            batch=batch, by=admin, data=f"end_to_end_id;status\n{item.end_to_end_id};accepted\n".encode()
        )
    assert refused.value.code == "not_sent"


def test_gocardless_export_lists_active_mandates_with_their_customers(org, admin, center):
    company, mandate = debtor(org, center, "Atelier Lumière")
    MandateFactory(organization=org, company=company, legal_entity=center.legal_entity)  # pending: left out

    content = service.gocardless_export(organization=org, by=admin)

    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 1
    row = rows[0]
    assert row["customer.company_name"] == "Atelier Lumière"
    assert row["customer_bank_account.iban"] == mandate.iban
    assert row["mandate.reference"] == mandate.reference
    assert row["mandate.scheme"] == "sepa_core"
    assert row["customer.metadata.comptoir_reference"] == company.reference
