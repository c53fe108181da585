"""Factories of the CRM (factory_boy); each registers its tenant object for the tenancy walker."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from comptoir.core.testing import register_tenant_object
from comptoir.core.tests.factories import OrganizationFactory, StaffFactory
from comptoir.crm.models import Action, Activity, Company, Contact, JobFunction, MarketingSource, Note, Opportunity


class MarketingSourceFactory(DjangoModelFactory):
    class Meta:
        model = MarketingSource

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Source {n}")
    channel = MarketingSource.Channel.WEBSITE
    cost = Decimal("300.00")


class JobFunctionFactory(DjangoModelFactory):
    class Meta:
        model = JobFunction

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Fonction {n}")


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Entreprise {n}")
    number = factory.Sequence(lambda n: n + 1)
    kind = Company.Kind.PROSPECT
    status = factory.LazyAttribute(lambda o: "active" if o.kind == "client" else "prospect")
    city = "Paris"


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    first_name = "Alice"
    last_name = factory.Sequence(lambda n: f"Durand{n}")
    email = factory.Sequence(lambda n: f"contact{n}@client.test")
    company_role = Contact.CompanyRole.USER


class OpportunityFactory(DjangoModelFactory):
    class Meta:
        model = Opportunity

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    title = factory.Sequence(lambda n: f"Bureau privatif {n}")
    estimated_amount = Decimal("1200.00")


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    staff = factory.LazyAttribute(lambda o: StaffFactory(organization=o.organization).user)
    scheduled_at = factory.LazyFunction(timezone.now)


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = Note

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    author = factory.LazyAttribute(lambda o: StaffFactory(organization=o.organization).user)
    body = "Client sensible au prix."


class ActionFactory(DjangoModelFactory):
    class Meta:
        model = Action

    company = factory.SubFactory(CompanyFactory)
    organization = factory.SelfAttribute("company.organization")
    assignee = factory.LazyAttribute(lambda o: StaffFactory(organization=o.organization).user)
    created_by = factory.SelfAttribute("assignee")
    title = "Rappeler le client"
    due_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=2))


register_tenant_object("company", lambda organization: CompanyFactory(organization=organization))
register_tenant_object("contact", lambda organization: ContactFactory(company__organization=organization))
register_tenant_object("opportunity", lambda organization: OpportunityFactory(company__organization=organization))
register_tenant_object("activity", lambda organization: ActivityFactory(company__organization=organization))
register_tenant_object("note", lambda organization: NoteFactory(company__organization=organization))
register_tenant_object("action", lambda organization: ActionFactory(company__organization=organization))
register_tenant_object("marketingsource", lambda organization: MarketingSourceFactory(organization=organization))
register_tenant_object("jobfunction", lambda organization: JobFunctionFactory(organization=organization))
