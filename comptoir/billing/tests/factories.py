"""Factories of the billing app, and its objects for the tenancy walker."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from comptoir.billing.models import Consumption, Invoice, InvoiceLine
from comptoir.core.testing import register_tenant_object
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory


def _luhn_complete(digits: str) -> str:
    """`digits` followed by the Luhn check digit (SIREN and SIRET are Luhn numbers)."""
    for check in "0123456789":
        candidate = digits + check
        total = sum(
            (lambda d: d - 9 if d > 9 else d)(int(c) * 2) if index % 2 else int(c)
            for index, c in enumerate(reversed(candidate))
        )
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def siren_for(n: int) -> str:
    return _luhn_complete(f"{44306000 + n:08d}")


def siret_for(n: int) -> str:
    return _luhn_complete(siren_for(n) + "0004")


def vat_for(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


class InvoiceFactory(DjangoModelFactory):
    """A draft invoice of a client company (issue it with services.issue_invoice)."""

    class Meta:
        model = Invoice

    organization = factory.SubFactory(OrganizationFactory)
    center = factory.SubFactory(CenterFactory, organization=factory.SelfAttribute("..organization"))
    legal_entity = factory.SelfAttribute("center.legal_entity")
    company = factory.SubFactory(
        CompanyFactory,
        organization=factory.SelfAttribute("..organization"),
        kind=Company.Kind.CLIENT,
        siren=factory.Sequence(siren_for),
        siret=factory.LazyAttribute(lambda o: siret_for(int(o.siren[:8]) - 44306000)),
        vat_number=factory.LazyAttribute(lambda o: vat_for(o.siren)),
        address_line1="5 avenue Victor Hugo",
        postal_code="75016",
    )


class InvoiceLineFactory(DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    description = factory.Sequence(lambda n: f"Prestation {n}")
    quantity = Decimal("1.000")
    unit_price = Decimal("100.0000")
    amount_excl_vat = factory.LazyAttribute(lambda o: (o.quantity * o.unit_price).quantize(Decimal("0.01")))
    vat_rate = "20.00"
    vat_category = "S"


class ConsumptionFactory(DjangoModelFactory):
    class Meta:
        model = Consumption

    organization = factory.SubFactory(OrganizationFactory)
    company = factory.SubFactory(CompanyFactory, organization=factory.SelfAttribute("..organization"),
                                 kind=Company.Kind.CLIENT)  # fmt: skip
    center = factory.SubFactory(CenterFactory, organization=factory.SelfAttribute("..organization"))
    description = factory.Sequence(lambda n: f"Impressions {n}")
    date = factory.LazyFunction(lambda: datetime.date.today())
    quantity = Decimal("10.000")
    unit_price = Decimal("0.1500")
    amount_excl_vat = Decimal("1.50")
    vat_rate = "20.00"


def issued_invoice(organization, **kwargs):  # type: ignore[no-untyped-def]
    """An issued invoice with one line (through the services, so it has its number and hash)."""
    from comptoir.billing.services.invoices import issue_invoice, recompute_totals

    invoice = InvoiceFactory(organization=organization, **kwargs)
    InvoiceLineFactory(invoice=invoice)
    recompute_totals(invoice)
    invoice.save()
    return issue_invoice(invoice=invoice, by=None, check_rights=False)


register_tenant_object("invoice", lambda organization: InvoiceFactory(organization=organization))
register_tenant_object("consumption", lambda organization: ConsumptionFactory(organization=organization))


_run_months = itertools.count()


def _billing_run(organization):  # type: ignore[no-untyped-def]
    from comptoir.billing.models import BillingRun

    n = next(_run_months)  # a period is unique per organization
    period = datetime.date(2000 + n // 12, n % 12 + 1, 1)
    return BillingRun.objects.create(organization=organization, period=period, issue_date=period)


def _export_job(organization):  # type: ignore[no-untyped-def]
    from comptoir.billing.models import ExportJob
    from comptoir.core.tests.factories import StaffFactory

    return ExportJob.objects.create(organization=organization, kind=ExportJob.Kind.ZIP,
                                    created_by=StaffFactory(organization=organization).user)  # fmt: skip


register_tenant_object("line", lambda organization: InvoiceLineFactory(invoice__organization=organization))
register_tenant_object("run", _billing_run)
register_tenant_object("billingrun", _billing_run)
register_tenant_object("export", _export_job)
register_tenant_object("exportjob", _export_job)
