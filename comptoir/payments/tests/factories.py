"""Factories of the payments app (shared by its test modules), and its objects for the tenancy walker.

`PaymentFactory` writes a bare payment row (no allocation, no settlement): to pay invoices, go through the
service (`pay(invoice, amount)` below, or `record_payment`), so each invoice's settlement is kept.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from comptoir.billing.models import Invoice
from comptoir.billing.tests.factories import (
    InvoiceFactory,
    InvoiceLineFactory,
    issued_invoice,
    siren_for,
    siret_for,
    vat_for,
)
from comptoir.core.testing import register_tenant_object
from comptoir.core.tests.factories import LegalEntityFactory, OrganizationFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.payments.models import (
    DebitBatch,
    DebitItem,
    Mandate,
    Method,
    Payment,
    PaymentLink,
    PaymentProfile,
    Reminder,
)

_tokens = itertools.count(1)


class ClientCompanyFactory(CompanyFactory):
    """A client company with the identifiers an invoice needs (SIREN, SIRET, VAT number, address)."""

    kind = Company.Kind.CLIENT
    siren = factory.Sequence(lambda n: siren_for(5000 + n))
    siret = factory.LazyAttribute(lambda o: siret_for(int(o.siren[:8]) - 44306000))
    vat_number = factory.LazyAttribute(lambda o: vat_for(o.siren))
    address_line1 = "5 avenue Victor Hugo"
    postal_code = "75016"


class PaymentProfileFactory(DjangoModelFactory):
    class Meta:
        model = PaymentProfile
        django_get_or_create = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)


class PaymentFactory(DjangoModelFactory):
    """A received payment, not allocated (all of it is its company's credit balance)."""

    class Meta:
        model = Payment

    organization = factory.SubFactory(OrganizationFactory)
    company = factory.SubFactory(ClientCompanyFactory, organization=factory.SelfAttribute("..organization"))
    method = Method.TRANSFER
    amount = Decimal("120.00")
    received_on = factory.LazyFunction(lambda: timezone.localdate())
    reference = factory.Sequence(lambda n: f"VIR-{n:05d}")


class PaymentLinkFactory(DjangoModelFactory):
    """An active payment link of a draft invoice (pass `invoice=issued_invoice(org)` for a payable one)."""

    class Meta:
        model = PaymentLink

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    amount = Decimal("120.00")
    token_hash = factory.LazyFunction(lambda: hashlib.sha256(f"token-{next(_tokens)}".encode()).hexdigest())
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))


class MandateFactory(DjangoModelFactory):
    """A pending SEPA mandate of a client company (`status=Mandate.Status.ACTIVE` for a signed one)."""

    class Meta:
        model = Mandate

    organization = factory.SubFactory(OrganizationFactory)
    company = factory.SubFactory(ClientCompanyFactory, organization=factory.SelfAttribute("..organization"))
    legal_entity = factory.SubFactory(LegalEntityFactory, organization=factory.SelfAttribute("..organization"))
    reference = factory.Sequence(lambda n: f"RUM-TEST-{n:06d}")
    account_holder = factory.LazyAttribute(lambda o: o.company.name)
    iban = "FR7630006000011234567890189"
    bic = "AGRIFRPP"


class DebitBatchFactory(DjangoModelFactory):
    class Meta:
        model = DebitBatch

    organization = factory.SubFactory(OrganizationFactory)
    legal_entity = factory.SubFactory(LegalEntityFactory, organization=factory.SelfAttribute("..organization"))
    reference = factory.Sequence(lambda n: f"PRLV-TEST-{n:06d}")
    collection_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=7))


class DebitItemFactory(DjangoModelFactory):
    class Meta:
        model = DebitItem

    batch = factory.SubFactory(DebitBatchFactory)
    invoice = factory.SubFactory(InvoiceFactory, organization=factory.SelfAttribute("..batch.organization"))
    mandate = factory.SubFactory(MandateFactory, organization=factory.SelfAttribute("..batch.organization"),
                                 company=factory.SelfAttribute("..invoice.company"))  # fmt: skip
    amount = Decimal("120.00")
    sequence_type = "FRST"
    end_to_end_id = factory.Sequence(lambda n: f"E2E-{n:08d}")


class ReminderFactory(DjangoModelFactory):
    class Meta:
        model = Reminder

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    sent_on = factory.LazyFunction(lambda: timezone.localdate())
    amount_due = Decimal("120.00")


def invoice_of(company: Company, *, issued_on: datetime.date | None = None, **kwargs: Any) -> Invoice:
    """An issued invoice of `company` (one line of 100 € excl. VAT: 120,00 € incl. VAT), issued today or on
    `issued_on` (40 days ago: it is overdue, its due date computed from the payment terms having passed)."""
    if issued_on is None:
        return issued_invoice(company.organization, company=company, **kwargs)
    from comptoir.billing.services.invoices import issue_invoice

    draft = InvoiceFactory(organization=company.organization, company=company, **kwargs)
    InvoiceLineFactory(invoice=draft)
    return issue_invoice(invoice=draft, by=None, issue_date=issued_on, check_rights=False)


def pay(invoice: Invoice, amount: Decimal | str, *, method: str = Method.TRANSFER, **data: Any) -> Payment:
    """A payment of `amount` allocated to `invoice` in full (through the service: the invoice is settled)."""
    from comptoir.payments.services.payments import record_payment

    amount = Decimal(str(amount))
    values = {"company": invoice.company, "method": method, "amount": amount,
              "received_on": timezone.localdate(), **data}  # fmt: skip
    return record_payment(organization=invoice.organization, by=None, data=values,
                          allocations=[(invoice, amount)], check_rights=False)  # fmt: skip


register_tenant_object("payment", lambda organization: PaymentFactory(organization=organization))
register_tenant_object("link", lambda organization: PaymentLinkFactory(invoice__organization=organization))
register_tenant_object("paymentlink", lambda organization: PaymentLinkFactory(invoice__organization=organization))
register_tenant_object("mandate", lambda organization: MandateFactory(organization=organization))
register_tenant_object("batch", lambda organization: DebitBatchFactory(organization=organization))
register_tenant_object("debitbatch", lambda organization: DebitBatchFactory(organization=organization))
register_tenant_object("reminder", lambda organization: ReminderFactory(invoice__organization=organization))
