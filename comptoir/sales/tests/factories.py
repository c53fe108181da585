"""Factories of sales (factory_boy); each registers its tenant object for the tenancy walker."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from comptoir.catalog.models import ServiceType
from comptoir.catalog.tests.factories import SpaceFactory
from comptoir.core.testing import register_tenant_object
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory, StaffFactory
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory
from comptoir.sales.models import (
    Contract,
    ContractLine,
    ContractPause,
    Offer,
    OfferLine,
    PricedLine,
    Quote,
    Signature,
    Terms,
)


def _staff_user(organization):  # type: ignore[no-untyped-def]
    return StaffFactory(organization=organization).user


class TermsFactory(DjangoModelFactory):
    class Meta:
        model = Terms

    organization = factory.SubFactory(OrganizationFactory)
    version = factory.Sequence(lambda n: n + 1)
    body = "Article 1 — Objet. Le présent contrat a pour objet la mise à disposition d'espaces de travail."


class QuoteFactory(DjangoModelFactory):
    class Meta:
        model = Quote

    organization = factory.SubFactory(OrganizationFactory)
    number = factory.Sequence(lambda n: n + 1)
    company = factory.SubFactory(CompanyFactory, organization=factory.SelfAttribute("..organization"))
    center = factory.SubFactory(CenterFactory, organization=factory.SelfAttribute("..organization"))
    legal_entity = factory.SelfAttribute("center.legal_entity")
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    created_by = factory.LazyAttribute(lambda o: _staff_user(o.organization))


class OfferFactory(DjangoModelFactory):
    class Meta:
        model = Offer

    quote = factory.SubFactory(QuoteFactory)
    position = factory.Sequence(lambda n: n % 4 + 1)
    title = factory.Sequence(lambda n: f"Solution {n % 4 + 1}")
    service_type = ServiceType.PRIVATE_OFFICE
    term_months = 12
    start_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=7))


class OfferLineFactory(DjangoModelFactory):
    class Meta:
        model = OfferLine

    offer = factory.SubFactory(OfferFactory)
    kind = PricedLine.Kind.SPACE
    space = factory.LazyAttribute(
        lambda o: SpaceFactory(organization=o.offer.quote.organization, center=o.offer.quote.center)
    )
    description = factory.LazyAttribute(lambda o: o.space.name if o.space else "Service")
    unit_price = Decimal("500.00")
    amount_excl_vat = Decimal("500.00")


class ContractFactory(DjangoModelFactory):
    class Meta:
        model = Contract

    organization = factory.SubFactory(OrganizationFactory)
    number = factory.Sequence(lambda n: n + 1)
    company = factory.SubFactory(CompanyFactory, organization=factory.SelfAttribute("..organization"))
    center = factory.SubFactory(CenterFactory, organization=factory.SelfAttribute("..organization"))
    legal_entity = factory.SelfAttribute("center.legal_entity")
    service_type = ServiceType.PRIVATE_OFFICE
    start_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=7))
    commitment_end = factory.LazyAttribute(lambda o: o.start_date + datetime.timedelta(days=364))
    created_by = factory.LazyAttribute(lambda o: _staff_user(o.organization))


class ContractLineFactory(DjangoModelFactory):
    class Meta:
        model = ContractLine

    contract = factory.SubFactory(ContractFactory)
    kind = PricedLine.Kind.SPACE
    space = factory.LazyAttribute(
        lambda o: SpaceFactory(organization=o.contract.organization, center=o.contract.center)
    )
    description = factory.LazyAttribute(lambda o: o.space.name if o.space else "Service")
    unit_price = Decimal("500.00")
    amount_excl_vat = Decimal("500.00")
    start_date = factory.SelfAttribute("contract.start_date")


def _signature(organization):  # type: ignore[no-untyped-def]
    contract = ContractFactory(organization=organization, status=Contract.Status.AWAITING_SIGNATURE)
    signer = ContactFactory(
        company=contract.company, company_role=Contact.CompanyRole.ADMINISTRATOR, has_portal_access=True
    )
    return Signature.objects.create(contract=contract, signer=signer)


def _pause(organization):  # type: ignore[no-untyped-def]
    contract = ContractFactory(organization=organization, status=Contract.Status.ACTIVE)
    day = contract.start_date + datetime.timedelta(days=30)
    return ContractPause.objects.create(contract=contract, start_date=day, end_date=day, created_by=contract.created_by)


register_tenant_object("signature", _signature)
register_tenant_object("pause", _pause)
register_tenant_object("terms", lambda organization: TermsFactory(organization=organization))
register_tenant_object("quote", lambda organization: QuoteFactory(organization=organization))
register_tenant_object("offer", lambda organization: OfferFactory(quote=QuoteFactory(organization=organization)))
register_tenant_object("contract", lambda organization: ContractFactory(organization=organization))
