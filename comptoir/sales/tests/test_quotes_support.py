"""Shared data of the quote tests: a center priced at 40 €/m² with a 12-month coefficient of 0.95, an
office of 12.5 m² (500.00 → 475.00 €), catalog articles, a 10 % discount a manager may grant."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from comptoir.catalog.models import PriceGridRule, Product, ServiceType
from comptoir.catalog.tests.factories import (
    CenterRateFactory,
    DiscountAllowanceFactory,
    DiscountFactory,
    PriceGridFactory,
    PriceGridRuleFactory,
    ProductFactory,
    SpaceFactory,
)
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory


class Catalog:
    def __init__(self, org: Any, center: Any) -> None:
        self.grid = PriceGridFactory(organization=org)
        PriceGridRuleFactory(grid=self.grid, dimension=PriceGridRule.Dimension.TERM, value="12",
                             coefficient=Decimal("0.95"))  # fmt: skip
        self.rate = CenterRateFactory(center=center, price_per_m2=Decimal("40.00"), price_grid=self.grid)
        self.office = SpaceFactory(organization=org, center=center, area_m2=Decimal("12.50"), name="Bureau 12")
        self.option = ProductFactory(organization=org, kind=Product.Kind.OPTION, service_type="", name="Parking",
                                     unit_price=Decimal("0.15"), vat_rate="10.00")  # fmt: skip
        self.domiciliation = ProductFactory(organization=org, kind=Product.Kind.MAIN_SERVICE,
                                            service_type=ServiceType.DOMICILIATION, unit_price=Decimal("49.00"))  # fmt: skip
        self.fees = ProductFactory(organization=org, kind=Product.Kind.CONSUMPTION, service_type="",
                                   name="Frais de dossier", unit_price=Decimal("150.00"))  # fmt: skip
        self.discount = DiscountFactory(organization=org, name="Remise fidélité", percent=Decimal("10.00"))
        DiscountAllowanceFactory(discount=self.discount, max_percent=Decimal("10.00"))
        self.company = CompanyFactory(organization=org, center=center, name="Acme", siren="732829320")
        self.admin_contact = ContactFactory(company=self.company, company_role=Contact.CompanyRole.ADMINISTRATOR,
                                            email="boss@acme.test", has_portal_access=True)  # fmt: skip
        self.billing_contact = ContactFactory(company=self.company, is_invoice_recipient=True,
                                              email="compta@acme.test")  # fmt: skip
        self.user_contact = ContactFactory(company=self.company, email="user@acme.test")
        self.opportunity = OpportunityFactory(company=self.company, center=center, stage="qualified")


def office_offer(catalog: Catalog, **extra: Any) -> dict[str, Any]:
    import datetime

    from django.utils import timezone

    return {
        "title": "Bureau 12 m²",
        "service_type": ServiceType.PRIVATE_OFFICE,
        "term_months": 12,
        "start_date": timezone.localdate() + datetime.timedelta(days=10),
        "deposit": Decimal("950.00"),
        "lines": [{"space": catalog.office, "quantity": 1}],
        **extra,
    }
