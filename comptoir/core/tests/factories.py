"""Factories for the core app (factory_boy). Other apps build on these."""

from __future__ import annotations

import datetime

import factory
from factory.django import DjangoModelFactory

from comptoir.core import services
from comptoir.core.models import Center, LegalEntity, OpeningHours, Organization, Role, StaffMembership, User
from comptoir.core.testing import register_tenant_object

PASSWORD = "Comptoir-test-2026!"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Opérateur {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            services.seed_roles(organization=self)


class LegalEntityFactory(DjangoModelFactory):
    class Meta:
        model = LegalEntity

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Comptoir Services {n} SAS")
    legal_form = "SAS"
    siren = "732829320"
    siret = "73282932000074"
    vat_number = "FR44732829320"
    iban = "FR7630006000011234567890189"
    bic = "AGRIFRPPXXX"
    sepa_creditor_id = "FR72ZZZ123456"
    address_line1 = "10 rue de la Paix"
    postal_code = "75002"
    city = "Paris"


class CenterFactory(DjangoModelFactory):
    class Meta:
        model = Center
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    legal_entity = factory.SubFactory(LegalEntityFactory, organization=factory.SelfAttribute("..organization"))
    name = factory.Sequence(lambda n: f"Centre {n}")
    code = factory.Sequence(lambda n: f"ctr-{n}")
    city = "Paris"
    timezone = "Europe/Paris"

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and extracted is not False:
            OpeningHours.objects.bulk_create(
                OpeningHours(center=self, weekday=day, opens_at=datetime.time(8), closes_at=datetime.time(19))
                for day in range(5)
            )


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            self.save()


def role(organization: Organization, kind: str) -> Role:
    return Role.objects.get(organization=organization, kind=kind)


class StaffFactory(DjangoModelFactory):
    """A staff member; `kind` picks the predefined role (administrator, reception, manager, technician)."""

    class Meta:
        model = StaffMembership
        exclude = ["kind"]

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    kind = "administrator"
    role = factory.LazyAttribute(lambda o: role(o.organization, o.kind))


def _api_token(organization: Organization):  # type: ignore[no-untyped-def]
    staff = StaffFactory(organization=organization)
    token, _raw = services.create_api_token(organization=organization, user=staff.user, by=None, name="foreign")
    return token


def _audit_entry(organization: Organization):  # type: ignore[no-untyped-def]
    from comptoir.core import journal

    return journal.record(actor=None, action="test.foreign", obj=organization)


register_tenant_object("organization", lambda organization: organization)
register_tenant_object("legalentity", lambda organization: LegalEntityFactory(organization=organization))
register_tenant_object("center", lambda organization: CenterFactory(organization=organization))
register_tenant_object("staff", lambda organization: StaffFactory(organization=organization, kind="reception"))
register_tenant_object("role", lambda organization: role(organization, "technician"))
register_tenant_object("apitoken", _api_token)
register_tenant_object("auditentry", _audit_entry)
