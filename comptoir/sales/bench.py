"""Benchmarks of sales: office and product pricing at volume, and the quote and contract PDFs.

Generator step (order 200), in the `bench` tenant:

- a price grid (typology, terms 3/12/24/36, services) given to its centers with a price per m², two
  discounts, 200 offices (floor 98, 6-60 m²) and 20 catalog products (main services, options,
  consumptions; some with a center price);
- max(10, 1,000 × scale) quotes of 1-4 offers (lines priced once by the pricing function, then copied),
  on the tenant's companies, and max(10, 100 × scale) contracts made from their first offers, with the
  published CGV.

- `pricing.offers.10000`: 10,000 offer lines (1,000 below scale 0.01) priced through `office_price` /
  `product_price` with the grid and a discount on one line in three, as a quote builder does; the raw
  baseline is the SQL that reads the same spaces, center rates, grid rules, products and center prices.
- `pdf.quote`: one quote PDF per timed run, over every generated quote; median per document. Raw
  baseline: `typst` compiling a minimal one-page document.
- `pdf.contract`: one contract PDF per timed run (data, CGV, Typst), over every generated contract.
"""

from __future__ import annotations

import datetime
import itertools
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import typst
from django.db import connection
from django.utils import timezone

from comptoir.bench.generator import SCALED_TENANT, GeneratorContext
from comptoir.bench.harness import BenchContext
from comptoir.bench.registry import BenchError, Case, benchmark, register_generator_step
from comptoir.catalog import pricing
from comptoir.catalog.models import (
    CenterRate,
    Discount,
    PriceGrid,
    PriceGridRule,
    Product,
    ProductCenterPrice,
    ServiceType,
    Space,
)
from comptoir.core.models import Center, Organization, StaffMembership
from comptoir.core.money import round_cents
from comptoir.crm.models import Company
from comptoir.sales.models import Contract, ContractLine, Offer, OfferLine, PricedLine, Quote, Terms
from comptoir.sales.selectors.contracts import commitment_end

BENCH_FLOOR = 98
OFFICES = 200
PRICED_LINES = 10_000
GRID_NAME = "Grille bench"
DISCOUNT_NAMES = ("Remise bench 5 %", "Remise bench 10 %")
TERMS = (3, 12, 24, 36)
PRODUCTS = [
    # (kind, service type, name, unit, price)
    ("main_service", "domiciliation", "Domiciliation", "month", "49.00"),
    ("main_service", "private_office", "Services bureau", "desk", "35.00"),
    ("main_service", "coworking", "Abonnement coworking", "desk", "290.00"),
    ("main_service", "nomad", "Formule nomade", "month", "149.00"),
    ("main_service", "parking", "Parking", "month", "95.00"),
    *[("option", "", f"Option {n}", "month", f"{10 + 5 * n}.00") for n in range(1, 9)],
    *[("consumption", "", f"Consommation {n}", "unit", f"{n}.50") for n in range(1, 8)],
]


def quote_count(scale: float) -> int:
    return max(10, int(1000 * scale))


def contract_count(scale: float) -> int:
    return max(10, int(100 * scale))


def priced_line_count(scale: float) -> int:
    return PRICED_LINES if scale >= 0.01 else PRICED_LINES // 10


def _bench_org() -> Organization | None:
    return Organization.objects.filter(slug=SCALED_TENANT).first()


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------
def _catalog(gen: GeneratorContext, organization: Organization, centers: list[Center]) -> None:
    rng = gen.rng("sales:catalog")
    grid = PriceGrid.objects.create(organization=organization, name=GRID_NAME)
    rules = [
        ("typology", "private_office", "1.0000"), ("typology", "shared_office", "0.8500"),
        ("typology", "drop_in_office", "1.2000"),
        ("term", "3", "1.1000"), ("term", "12", "1.0000"), ("term", "24", "0.9500"), ("term", "36", "0.9000"),
        ("service", "coworking", "0.9500"), ("service", "nomad", "1.0500"), ("service", "private_office", "1.0000"),
    ]  # fmt: skip
    PriceGridRule.objects.bulk_create(
        [PriceGridRule(grid=grid, dimension=d, value=v, coefficient=Decimal(c)) for d, v, c in rules]
    )
    for index, center in enumerate(centers):
        CenterRate.objects.update_or_create(
            center=center,
            defaults={"organization": organization, "price_per_m2": Decimal(28 + 5 * (index % 5)), "price_grid": grid},
        )
    for name, percent in zip(DISCOUNT_NAMES, ("5", "10"), strict=True):
        Discount.objects.create(organization=organization, name=name, percent=Decimal(percent))
    kinds = [Space.Kind.PRIVATE_OFFICE] * 8 + [Space.Kind.SHARED_OFFICE, Space.Kind.DROP_IN_OFFICE]
    gen.bulk_create(
        Space,
        (
            Space(
                organization=organization, center=centers[index % len(centers)], floor=BENCH_FLOOR,
                name=f"Bureau bench {index + 1:03d}", kind=kinds[index % len(kinds)],
                area_m2=Decimal(rng.randint(6, 60)), capacity=rng.randint(1, 10),
            )
            for index in range(OFFICES)
        ),
    )  # fmt: skip
    products = gen.bulk_create(
        Product,
        (
            Product(organization=organization, kind=kind, service_type=service, name=name, unit=unit,
                    unit_price=Decimal(price), accounting_code="706000")
            for kind, service, name, unit, price in PRODUCTS
        ),
    )  # fmt: skip
    ProductCenterPrice.objects.bulk_create(
        [
            ProductCenterPrice(organization=organization, product=product, center=centers[0],
                               unit_price=product.unit_price + Decimal(10))
            for product in products[::3]
        ]
    )  # fmt: skip


def _priced_templates(organization: Organization, center: Center) -> list[dict[str, Any]]:
    """A few lines of each kind priced once by the pricing function (the quotes copy them)."""
    discount = Discount.objects.filter(organization=organization, name=DISCOUNT_NAMES[0]).first()
    offices = list(Space.objects.filter(center=center, floor=BENCH_FLOOR).select_related("center")[:6])
    products = list(Product.objects.filter(organization=organization, name__in=[p[2] for p in PRODUCTS]))
    templates = []
    for index, space in enumerate(offices):
        applied = [pricing.Applied(discount)] if discount and index % 2 else []
        breakdown = pricing.office_price(space, term_months=TERMS[index % 4], discounts=applied)
        templates.append({"kind": PricedLine.Kind.SPACE, "space": space, "product": None, "description": space.name,
                          "quantity": Decimal(1), "unit_price": breakdown.unit_price, "vat_rate": "20.00",
                          "is_recurring": True, "breakdown": breakdown.as_json()})  # fmt: skip
    for product in products:
        breakdown = pricing.product_price(product, center, term_months=12)
        kind = {"main_service": "service", "option": "option"}.get(product.kind, "one_off")
        templates.append({"kind": kind, "space": None, "product": product, "description": product.name,
                          "quantity": Decimal(2 if kind == "service" else 1), "unit_price": breakdown.unit_price,
                          "vat_rate": product.vat_rate, "is_recurring": kind != "one_off",
                          "breakdown": breakdown.as_json()})  # fmt: skip
    return templates


def _line_values(template: dict[str, Any], position: int) -> dict[str, Any]:
    return {
        **template, "position": position, "accounting_code": "706000",
        "amount_excl_vat": round_cents(template["quantity"] * template["unit_price"]),
    }  # fmt: skip


def _quotes_and_contracts(gen: GeneratorContext, organization: Organization, centers: list[Center]) -> None:
    rng = gen.rng("sales:quotes")
    center = centers[0]
    templates = _priced_templates(organization, center)
    spaces_lines = [t for t in templates if t["kind"] == "space"]
    other_lines = [t for t in templates if t["kind"] != "space"]
    companies = list(Company.objects.filter(organization=organization).order_by("id")[:500])
    if not companies:
        raise BenchError("The bench tenant has no companies (the CRM generator step did not run).")
    admin_id = (
        StaffMembership.objects.filter(organization=organization, role__kind="administrator")
        .order_by("id")
        .values_list("user_id", flat=True)
        .first()
    )
    terms = Terms.objects.create(
        organization=organization, version=1, title="Conditions générales de vente", body=_terms_body(),
        published_at=timezone.now(),
    )  # fmt: skip
    today = timezone.localdate()
    count = quote_count(gen.scale)
    quotes = gen.bulk_create(
        Quote,
        (
            Quote(
                organization=organization, number=900_000 + index, company=companies[index % len(companies)],
                center=center, legal_entity=center.legal_entity, status=Quote.Status.SENT,
                title=f"Proposition commerciale bench {index + 1}", valid_until=today + datetime.timedelta(days=30),
                notes="Tarifs valables 30 jours.", sent_at=timezone.now(), created_by_id=admin_id,
            )
            for index in range(count)
        ),
    )  # fmt: skip
    offers: list[Offer] = []
    offer_lines: list[list[dict[str, Any]]] = []
    for quote in quotes:
        for position in range(1, rng.randint(1, 4) + 1):
            months = rng.choice(TERMS)
            chosen = [rng.choice(spaces_lines), *rng.sample(other_lines, rng.randint(1, 4))]
            lines = [_line_values(t, n) for n, t in enumerate(chosen)]
            monthly = sum((line["amount_excl_vat"] for line in lines if line["is_recurring"]), Decimal(0))
            vat = sum(
                (round_cents(line["amount_excl_vat"] * Decimal(line["vat_rate"]) / 100) for line in lines
                 if line["is_recurring"]), Decimal(0),
            )  # fmt: skip
            offers.append(
                Offer(
                    quote=quote, position=position, title=f"Offre {position} — {months} mois",
                    service_type=ServiceType.PRIVATE_OFFICE, term_months=months, start_date=today,
                    deposit=Decimal(1000), monthly_excl_vat=monthly, monthly_vat=vat, monthly_incl_vat=monthly + vat,
                    one_off_excl_vat=sum((x["amount_excl_vat"] for x in lines if not x["is_recurring"]), Decimal(0)),
                )
            )  # fmt: skip
            offer_lines.append(lines)
    offers = gen.bulk_create(Offer, offers)
    gen.bulk_create(
        OfferLine, (OfferLine(offer=offer, **line) for offer, lines in zip(offers, offer_lines, strict=True)
                    for line in lines)
    )  # fmt: skip
    first_offers = [(offer, lines) for offer, lines in zip(offers, offer_lines, strict=True) if offer.position == 1]
    chosen_offers = first_offers[: contract_count(gen.scale)]
    contracts = gen.bulk_create(
        Contract,
        (
            Contract(
                organization=organization, number=900_000 + index, company=offer.quote.company,
                legal_entity=center.legal_entity, center=center, quote=offer.quote, offer=offer,
                status=Contract.Status.DRAFT, service_type=offer.service_type, start_date=offer.start_date,
                commitment_end=commitment_end(offer.start_date, offer.term_months), deposit=offer.deposit,
                payment_method="direct_debit", terms=terms, created_by_id=admin_id,
            )
            for index, (offer, _lines) in enumerate(chosen_offers)
        ),
    )  # fmt: skip
    gen.bulk_create(
        ContractLine,
        (
            ContractLine(contract=contract, start_date=contract.start_date, version=1, **line)
            for contract, (_offer, lines) in zip(contracts, chosen_offers, strict=True)
            for line in lines
        ),
    )


def _terms_body() -> str:
    from comptoir.sales.demo import TERMS_BODY

    return TERMS_BODY


def sales_data(gen: GeneratorContext) -> None:
    organization = gen.tenants.get(SCALED_TENANT) or _bench_org()
    if organization is None:
        return
    centers = list(Center.objects.filter(organization=organization).select_related("legal_entity").order_by("id"))
    if not centers:
        return
    _catalog(gen, organization, centers[:3])
    _quotes_and_contracts(gen, organization, centers[:3])


register_generator_step(200, sales_data)


# --------------------------------------------------------------------------------------------------
# pricing.offers.10000
# --------------------------------------------------------------------------------------------------
def _pricing_inputs(organization: Organization, count: int) -> list[tuple[Any, int, list[pricing.Applied]]]:
    spaces = list(
        Space.objects.filter(organization=organization, floor=BENCH_FLOOR).select_related("center").order_by("id")
    )
    products = list(Product.objects.filter(organization=organization, name__in=[p[2] for p in PRODUCTS]))
    discounts = list(Discount.objects.filter(organization=organization, name__in=DISCOUNT_NAMES).order_by("name"))
    centers = {space.center_id: space.center for space in spaces}
    if not spaces or not products or not discounts:
        raise BenchError("The bench data set has no priced offices or products: run with --regenerate.")
    inputs: list[tuple[Any, int, list[pricing.Applied]]] = []
    center_list = list(centers.values())
    for index in range(count):
        applied = [pricing.Applied(discounts[index % len(discounts)])] if index % 3 == 0 else []
        months = TERMS[index % len(TERMS)]
        if index % 2 == 0:
            inputs.append((spaces[index // 2 % len(spaces)], months, applied))
        else:
            product = products[index // 2 % len(products)]
            inputs.append(((product, center_list[index % len(center_list)]), months, applied))
    return inputs


@benchmark("pricing.offers.10000")
def pricing_offers(ctx: BenchContext) -> Case:
    """10,000 offer lines priced through office_price / product_price (grid, discounts)."""
    organization = ctx.organization(SCALED_TENANT)
    count = priced_line_count(ctx.scale)
    inputs = _pricing_inputs(organization, count)
    space_ids = sorted({item.pk for item, _m, _d in inputs if isinstance(item, Space)})
    product_ids = sorted({item[0].pk for item, _m, _d in inputs if not isinstance(item, Space)})
    marks = ", ".join(["%s"] * len(space_ids))
    product_marks = ", ".join(["%s"] * len(product_ids))

    def run() -> list[pricing.Breakdown]:
        result = []
        book = pricing.PriceBook()  # as a quote builder prices its lines: rates, grids and prices read once
        for item, months, applied in inputs:
            if isinstance(item, Space):
                result.append(pricing.office_price(item, term_months=months, discounts=applied, book=book))
            else:
                product, center = item
                result.append(pricing.product_price(product, center, term_months=months, discounts=applied, book=book))
        return result

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.id, s.kind, s.area_m2, r.price_per_m2, r.price_grid_id FROM catalog_space s "
                f"JOIN catalog_centerrate r ON r.center_id = s.center_id WHERE s.id IN ({marks})",
                space_ids,
            )
            rows = len(cursor.fetchall())
            cursor.execute(
                "SELECT g.id, g.dimension, g.value, g.coefficient FROM catalog_pricegridrule g "
                "WHERE g.grid_id IN (SELECT price_grid_id FROM catalog_centerrate WHERE organization_id = %s)",
                [organization.pk],
            )
            rows += len(cursor.fetchall())
            cursor.execute(
                "SELECT p.id, p.kind, p.service_type, p.unit_price, p.vat_rate, c.center_id, c.unit_price "
                f"FROM catalog_product p LEFT JOIN catalog_productcenterprice c ON c.product_id = p.id "
                f"WHERE p.id IN ({product_marks})",
                product_ids,
            )
            rows += len(cursor.fetchall())
        return rows

    def check(result: list[pricing.Breakdown]) -> int:
        if len(result) != count or not all(b.adds_up() and b.unit_price > 0 for b in result):
            raise BenchError("pricing.offers.10000: a price is missing or does not add up")
        if not any(step.code == "discount" for b in result for step in b.steps):
            raise BenchError("pricing.offers.10000: no discount was applied")
        return len(result)

    return Case(run=run, raw=raw, rows=count, check=check, repeat=3)


# --------------------------------------------------------------------------------------------------
# pdf.quote, pdf.contract
# --------------------------------------------------------------------------------------------------
MINIMAL_TYPST = '#set page(paper: "a4")\n= Devis\nUn document minimal.\n'


def _raw_typst() -> Any:
    folder = Path(tempfile.mkdtemp(prefix="comptoir-bench-typst-"))
    source = folder / "minimal.typ"
    source.write_text(MINIMAL_TYPST, encoding="utf-8")

    def raw() -> bytes:
        return typst.compile(str(source), root=str(folder))

    return raw


def _check_pdf(name: str) -> Any:
    def check(pdf: bytes) -> int:
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
            raise BenchError(f"{name}: not a PDF")
        return 1

    return check


@benchmark("pdf.quote")
def pdf_quote(ctx: BenchContext) -> Case:
    """One quote PDF (1-4 offers) per run, over max(10, 1,000 × scale) quotes; median per document."""
    from comptoir.sales.pdf.quote import render_quote_pdf

    organization = ctx.organization(SCALED_TENANT)
    quotes = list(Quote.objects.filter(organization=organization, number__gte=900_000).order_by("number"))
    if not quotes:
        raise BenchError("The bench data set has no quotes: run with --regenerate.")
    cycle = itertools.cycle(quotes)

    def run() -> bytes:
        return render_quote_pdf(next(cycle))

    return Case(run=run, raw=_raw_typst(), rows=1, check=_check_pdf("pdf.quote"), repeat=len(quotes))


@benchmark("pdf.contract")
def pdf_contract(ctx: BenchContext) -> Case:
    """One contract PDF (parties, lines, CGV) per run, over max(10, 100 × scale) contracts; median."""
    from comptoir.sales.pdf.contract import render_contract_pdf

    organization = ctx.organization(SCALED_TENANT)
    contracts = list(Contract.objects.filter(organization=organization, number__gte=900_000).order_by("number"))
    if not contracts:
        raise BenchError("The bench data set has no contracts: run with --regenerate.")
    cycle = itertools.cycle(contracts)

    def run() -> bytes:
        return render_contract_pdf(next(cycle))

    return Case(run=run, raw=_raw_typst(), rows=1, check=_check_pdf("pdf.contract"), repeat=len(contracts))
