"""The billing demo data: 18 months of invoicing history of the demo organization (frontmanager §7, §10, §11).

The story: the operator started with Comptoir 18 months ago. Fourteen contracts of thirteen CRM demo clients
(one portal company, two that group their invoices, one with two contracts, a public entity billed through
Chorus Pro with its service code and commitment number, a freelancer) are billed month after month by the
real monthly run; the contracts signed since got their deposit and first-month invoices at signature
(`issue_first_invoices`); consumptions (prints, drinks, meeting-room hours, postage) are recorded every month
and billed by the next run; an amendment mid-history closes a line and opens another (the next run shows the
regularisation); a contract paused for a month (recorded after its first month was billed: the next run credits
the days) and another paused next month; a contract ended six months ago after its notice; credit notes (a full one, two partial ones);
and this month, consumptions billed on their own invoice (« Générer une facture ») and some left for the next
run.

Everything happens in date order, so the numbering stays chronological (an issue date never precedes the last
document's), and before the sales demo (step 310), whose signed contracts get invoices dated today.

The shortcut (as the sales demo documents its own): the history's contracts are written directly as active
contracts signed in the past (`Contract` and `ContractLine` rows priced by the catalog's pricing function, with
their deposit), because a contract signed through the SMS flow is signed today. Everything after that goes
through the services: first invoices, consumptions, monthly runs, amendment, notice and end, credit notes,
invoices of selected consumptions.

Deterministic (companies picked from the CRM demo's plan, one seeded generator per month) and idempotent: when
the organization already has a billing run or an invoice, the step does nothing, so running `comptoir demo`
twice creates nothing new.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.db.models import Q
from django.utils import timezone

from comptoir.core.demo import DemoContext, register_demo_step

HISTORY_MONTHS = 18
PUBLIC_SERVICE_CODE = "SERVICE-IMMOBILIER"
PUBLIC_COMMITMENT_NUMBER = "EJ-2025-004217"
OFFICES = ("Bureau 003", "Bureau 004")  # offices the sales demo does not offer (its quotes use the others)


@dataclass(frozen=True)
class ContractSpec:
    """One contract of the history. `start` and the other dates are (month index from the history's first
    month, day)."""

    key: str
    company: str  # "portal", "public", "individual" or "client:N" (see pick_companies)
    offer: str  # office | coworking:N | domiciliation | parking | nomad
    start: tuple[int, int]
    term_months: int
    imported: bool = False  # running when the operator started: billed by the runs from the first month
    renewal: str = "tacit"


CONTRACTS = [
    ContractSpec("portal-office", "portal", "office", (0, 1), 24, imported=True),
    ContractSpec("ended-office", "client:0", "office", (0, 1), 12, imported=True),
    ContractSpec("domiciliation", "client:1", "domiciliation", (0, 1), 12, imported=True),
    ContractSpec("grouped-coworking", "client:2", "coworking:3", (1, 15), 12),
    ContractSpec("two-contracts-office", "client:3", "office", (2, 1), 36),
    ContractSpec("public-coworking", "public", "coworking:4", (2, 1), 12),
    ContractSpec("amended-office", "client:4", "office", (3, 1), 24),
    ContractSpec("freelancer-nomad", "individual", "nomad", (4, 1), 3, renewal="monthly"),
    ContractSpec("two-contracts-parking", "client:3", "parking", (5, 1), 12),
    ContractSpec("coworking", "client:5", "coworking:1", (6, 1), 12),
    ContractSpec("late-domiciliation", "client:6", "domiciliation", (8, 10), 12),
    ContractSpec("office-after-the-end", "client:7", "office", (13, 1), 24),
    ContractSpec("coworking-mid-month", "client:8", "coworking:2", (15, 10), 12),
    ContractSpec("parking", "client:9", "parking", (17, 1), 12),
]
GROUPED = ("client:2", "client:3")  # companies that group their invoices (one per period for all contracts)
SIGNED_DAYS_BEFORE_START = 12
AMENDMENT = ("amended-office", (9, 15), "Permanence téléphonique")  # closes the contract's option, opens this one
NOTICE = ("ended-office", (9, 15))  # + 3 months of notice: the contract ends in the middle of month 12
ENDED_ON = (12, 16)  # the day after its last day
# (contract key, recorded on, first and last paused day (month 19 is next month), reason): the first is recorded
# after its month was billed (the next run credits its days), the second is planned for next month
PAUSES = [
    ("coworking", (11, 5), (11, 10), (12, 9), "Congé parental de la titulaire"),
    ("two-contracts-office", (18, 1), (19, 10), (19, 23), "Travaux de rénovation du bureau"),
]
# (date, contract key whose invoice of the month is credited, lines or None for all of it, reason)
CREDIT_NOTES: list[tuple[tuple[int, int], str, Any, str]] = [
    ((5, 12), "domiciliation", None, "Mois offert : geste commercial pendant les travaux de l'immeuble"),
    ((10, 8), "amended-office",
     [{"description": "Remise exceptionnelle — climatisation hors service du 2 au 6", "quantity": "1",
       "unit_price": "85.00", "vat_rate": "20.00"}],
     "Climatisation hors service du 2 au 6"),
    ((16, 6), "two-contracts-parking", "half-parking", "Place de parking indisponible pendant les travaux"),
]  # fmt: skip
# consumption products: (name, smallest quantity, largest quantity)
CONSUMPTIONS = [
    ("Impression noir et blanc", 20, 240),
    ("Impression couleur", 5, 60),
    ("Boisson chaude", 4, 30),
    ("Salle de réunion (heure)", 1, 4),
]
POSTAGE = ("Affranchissement du courrier (débours)", 3, 18)  # domiciliation clients


def history_months(today: datetime.date) -> list[datetime.date]:
    """The first day of each month from 18 months ago to the current month (19 months)."""
    from comptoir.sales.selectors.contracts import add_months

    current = today.replace(day=1)
    return [add_months(current, -back) for back in range(HISTORY_MONTHS, -1, -1)]


def pick_companies(slug: str, today: datetime.date) -> dict[str, str]:
    """Role → company name, from the CRM demo's plan: active clients not used by the sales demo's quotes; French
    businesses with their SIREN; the public entity an « Institut »; the portal member's company."""
    from comptoir.crm.demo import PORTAL_COMPANY_NAME, plan_companies
    from comptoir.sales.demo import plan_scenarios

    taken = {scenario.company for scenario in plan_scenarios(slug, today)}
    active = [plan for plan in plan_companies(slug, today)[1:] if plan.become_client and plan.final_status == "active"
              and plan.name not in taken]  # fmt: skip
    businesses = [plan.name for plan in active if not plan.is_individual and plan.data.get("siren")]
    public = next((name for name in businesses if name.startswith("Institut ")), businesses[-1])
    clients = [name for name in businesses if name != public]
    individuals = [plan.name for plan in active if plan.is_individual] or [clients[-1]]
    roles = {"portal": PORTAL_COMPANY_NAME, "public": public, "individual": individuals[0]}
    # another tenant's plan may have fewer candidates: then a client holds several roles
    roles.update({f"client:{index}": clients[index % len(clients)] for index in range(10)})
    return roles


# --------------------------------------------------------------------------------------------------
# The history, played in date order
# --------------------------------------------------------------------------------------------------
class History:
    def __init__(self, ctx: DemoContext, today: datetime.date) -> None:
        from comptoir.catalog.models import Product, Space
        from comptoir.catalog.pricing import PriceBook
        from comptoir.crm.models import Company

        self.ctx, self.today = ctx, today
        self.organization, self.by = ctx.organization, ctx.administrator
        self.months = history_months(today)
        names = pick_companies(ctx.slug, today)
        by_name = {company.name: company for company in Company.objects.filter(organization=self.organization,
                                                                                name__in=names.values())}  # fmt: skip
        self.companies = {role: by_name[name] for role, name in names.items()}
        self.products = {p.name: p for p in Product.objects.filter(organization=self.organization, is_active=True)}
        self.spaces = {(s.center_id, s.name): s for s in Space.objects.filter(organization=self.organization)}
        self.book = PriceBook()
        self.contracts: dict[str, Any] = {}
        self.events: list[tuple[datetime.date, int, int, Callable[[datetime.date], None]]] = []

    def day(self, when: tuple[int, int]) -> datetime.date:
        month, day = when
        return self.months[month].replace(day=day)

    def at(self, day: datetime.date, priority: int, action: Callable[[datetime.date], None]) -> None:
        """Schedule `action(day)`; same day: by priority (signatures 0, run 1, contract changes 2, consumptions 3,
        credit notes 4, invoices of consumptions 5). Nothing after today."""
        if day <= self.today:
            self.events.append((day, priority, len(self.events), action))

    # ------------------------------------------------------------------ plan
    def plan(self) -> None:
        for spec in CONTRACTS:
            start = self.day(spec.start)
            signed = start if spec.imported else start - datetime.timedelta(days=SIGNED_DAYS_BEFORE_START)
            self.at(signed, 0, lambda day, spec=spec, start=start: self.sign(spec, day, start))
        for month in self.months:
            self.at(month, 1, self.run)
            self.plan_consumptions(month)
        amended, when, added = AMENDMENT
        self.at(self.day(when), 2, lambda day: self.amend(amended, day, added))
        ended, when = NOTICE
        self.at(self.day(when), 2, lambda day: self.give_notice(ended, day))
        self.at(self.day(ENDED_ON), 2, lambda day: self.end(ended, day))
        for key, recorded, first, last, reason in PAUSES:
            action = partial(self.pause, key, first=first, last=last, reason=reason)
            self.at(self.day(recorded), 2, action)
        for when, key, lines, reason in CREDIT_NOTES:
            self.at(self.day(when), 4, lambda day, key=key, lines=lines, reason=reason: self.credit(key, day, lines,
                                                                                                 reason))  # fmt: skip
        this_month = self.months[-1]
        self.at(self.today, 3, lambda day: self.unbilled_consumptions(day))
        self.at(self.today, 5, lambda day: self.invoice_selected_consumptions(max(this_month, day)))

    def play(self) -> None:
        for day, _priority, _order, action in sorted(self.events, key=lambda event: event[:3]):
            action(day)

    # ------------------------------------------------------------------ contracts
    def sign(self, spec: ContractSpec, signed: datetime.date, start: datetime.date) -> None:
        """The shortcut: an active contract signed on `signed`, its lines priced by the catalog; then its first
        invoices dated at signature (not for imported contracts: their deposit was invoiced before Comptoir)."""
        from comptoir.billing.services.invoices import issue_first_invoices
        from comptoir.catalog.models import ServiceType
        from comptoir.core import journal, numbering
        from comptoir.crm.models import Contact
        from comptoir.sales.models import Contract, PaymentMethod
        from comptoir.sales.selectors.contracts import commitment_end

        company = self.companies[spec.company]
        center = company.center or next(iter(self.ctx.centers.values()))
        kind, _sep, seats = spec.offer.partition(":")
        space = self.free_office(center, start) if kind == "office" else None
        if kind == "office" and space is None:  # no free office in this center: a coworking desk instead
            kind, seats = "coworking", "1"
        service = {"office": ServiceType.PRIVATE_OFFICE, "coworking": ServiceType.COWORKING,
                   "domiciliation": ServiceType.DOMICILIATION, "parking": ServiceType.PARKING,
                   "nomad": ServiceType.NOMAD}[kind]  # fmt: skip
        at = timezone.make_aware(datetime.datetime.combine(signed, datetime.time(11)))
        signer = Contact.objects.filter(company=company, is_main=True).first()
        contract = Contract.objects.create(
            organization=self.organization, number=numbering.next_number(organization=self.organization,
                                                                         series="contract"),
            company=company, legal_entity_id=center.legal_entity_id, center=center, status=Contract.Status.ACTIVE,
            service_type=service, start_date=start, commitment_end=commitment_end(start, spec.term_months),
            notice_months=3, renewal=spec.renewal, deposit=self.deposit(kind, space, seats),
            payment_method=PaymentMethod.DIRECT_DEBIT if kind != "nomad" else PaymentMethod.CARD,
            signer=signer, created_by=self.by, created_at=at, updated_at=at, sent_for_signature_at=at, signed_at=at,
        )  # fmt: skip
        self.add_lines(contract, kind, space, int(seats or 1), one_off=not spec.imported)
        journal.record(actor=self.by, action="contract.created", obj=contract,
                       changes={"start_date": start.isoformat(), "signed_at": signed.isoformat()},
                       message=f"Historique de démonstration : contrat signé le {signed:%d/%m/%Y}")  # fmt: skip
        self.contracts[spec.key] = contract
        self.ctx.created_one("history contracts")
        if not spec.imported:
            issue_first_invoices(contract=contract, issue_date=signed)

    def free_office(self, center: Any, start: datetime.date) -> Any:
        from comptoir.sales.selectors.contracts import holding_lines

        spaces = [self.spaces[(center.pk, name)] for name in OFFICES if (center.pk, name) in self.spaces]
        held = holding_lines([space.pk for space in spaces], start, None)
        return next((space for space in spaces if not held.get(space.pk)), None)

    @staticmethod
    def deposit(kind: str, space: Any, seats: str) -> Decimal:
        if kind == "office":
            return Decimal(2) * (space.area_m2 * Decimal(40)).quantize(Decimal("1"))
        if kind == "coworking":
            return Decimal(300) * int(seats or 1)
        if kind == "parking":
            return Decimal(150)
        return Decimal("0.00")

    def add_lines(self, contract: Any, kind: str, space: Any, seats: int, *, one_off: bool) -> None:
        wanted: list[tuple[Any, Any, Decimal]] = []  # (space, product, quantity)
        if kind == "office":
            wanted = [(space, None, Decimal(1)), (None, "Services du bureau privatif", Decimal(space.capacity)),
                      (None, "Ligne téléphonique dédiée", Decimal(1))]  # fmt: skip
        elif kind == "coworking":
            wanted = [(None, "Abonnement coworking", Decimal(seats)), (None, "Numérisation du courrier", Decimal(1))]
        elif kind == "domiciliation":
            wanted = [(None, "Domiciliation commerciale", Decimal(1)), (None, "Numérisation du courrier", Decimal(1)),
                      (None, "Réexpédition du courrier", Decimal(1))]  # fmt: skip
        elif kind == "parking":
            wanted = [(None, "Place de parking", Decimal(1))]
        elif kind == "nomad":
            wanted = [(None, "Formule nomade", Decimal(1))]
        if one_off and kind in ("office", "coworking"):
            wanted.append((None, "Frais de dossier", Decimal(1)))
        from comptoir.sales.models import ContractLine

        ContractLine.objects.bulk_create([
            self.priced_line(contract, space=line_space, product=self.products[name] if name else None,
                             quantity=quantity, position=position)
            for position, (line_space, name, quantity) in enumerate(wanted, start=1)
        ])  # fmt: skip

    def priced_line(self, contract: Any, *, space: Any, product: Any, quantity: Decimal, position: int) -> Any:
        """A contract line priced as the quote builder prices it (comptoir.catalog.pricing), frozen with its
        breakdown."""
        from comptoir.catalog import pricing
        from comptoir.catalog.models import Product
        from comptoir.core.money import round_cents
        from comptoir.sales.models import ContractLine, PricedLine
        from comptoir.sales.selectors.contracts import term_months_of

        term = term_months_of(contract)
        if space is not None:
            breakdown = pricing.office_price(space, term_months=term, book=self.book)
            kind, description, recurring = PricedLine.Kind.SPACE, space.name, True
            vat_rate, exemption, accounting = f"{breakdown.vat_rate:.2f}", "", ""
        else:
            breakdown = pricing.product_price(product, contract.center, term_months=term, book=self.book)
            recurring = product.kind != Product.Kind.CONSUMPTION
            kind = {Product.Kind.OPTION: PricedLine.Kind.OPTION,
                    Product.Kind.CONSUMPTION: PricedLine.Kind.ONE_OFF}.get(product.kind, PricedLine.Kind.SERVICE)  # fmt: skip
            description, vat_rate = product.name, product.vat_rate
            exemption, accounting = product.vat_exemption_reason, product.accounting_code
        return ContractLine(
            contract=contract, kind=kind, space=space, product=product, description=description, quantity=quantity,
            unit_price=breakdown.unit_price, vat_rate=vat_rate, vat_exemption_reason=exemption,
            accounting_code=accounting, amount_excl_vat=round_cents(quantity * breakdown.unit_price),
            is_recurring=recurring, breakdown=breakdown.as_json(), position=position, start_date=contract.start_date,
            end_date=None if recurring else contract.start_date, version=1,
        )  # fmt: skip

    def amend(self, key: str, day: datetime.date, added: str) -> None:
        """An amendment: the contract's monthly option (its phone line, or the mail scanning of a desk) is
        replaced by another in the middle of the month, after the month was billed."""
        from comptoir.sales.models import PricedLine
        from comptoir.sales.services.contracts import amend_contract

        contract = self.contracts[key]
        line = contract.lines.filter(kind=PricedLine.Kind.OPTION, end_date__isnull=True).order_by("position").first()
        if line is None:
            return
        amend_contract(contract=contract, by=self.by, effective_date=day, remove_line_ids=[line.pk],
                       add=[{"product": self.products[added], "quantity": 1}], today=day)  # fmt: skip
        self.ctx.created_one("amendments")

    def pause(
        self, key: str, day: datetime.date, *, first: tuple[int, int], last: tuple[int, int], reason: str
    ) -> None:
        from comptoir.sales.selectors.contracts import add_months
        from comptoir.sales.services.contracts import pause_contract

        def when(month_day: tuple[int, int]) -> datetime.date:
            return add_months(self.months[0], month_day[0]).replace(day=month_day[1])

        if key in self.contracts:
            pause_contract(contract=self.contracts[key], by=self.by, start_date=when(first), end_date=when(last),
                           reason=reason, today=day)  # fmt: skip
            self.ctx.created_one("contract pauses")

    def give_notice(self, key: str, day: datetime.date) -> None:
        from comptoir.sales.services.contracts import give_notice

        self.contracts[key] = give_notice(contract=self.contracts[key], by=self.by, notice_date=day)

    def end(self, key: str, day: datetime.date) -> None:
        from comptoir.sales.services.contracts import end_contract

        self.contracts[key] = end_contract(contract=self.contracts[key], by=self.by, today=day)

    # ------------------------------------------------------------------ runs
    def run(self, period: datetime.date) -> None:
        from comptoir.billing.models import BillingRun
        from comptoir.billing.services.runs import execute_run, start_run

        run = start_run(organization=self.organization, period=period, by=self.by, issue_date=period, enqueue=False)
        if run.status != BillingRun.Status.COMPLETED:
            run = execute_run(run=run)
        self.ctx.created_one("billing runs")

    # ------------------------------------------------------------------ consumptions
    def plan_consumptions(self, month: datetime.date) -> None:
        """Three or four consumptions in the month, on contracts running that day (drawn when it comes)."""
        rng = random.Random(f"comptoir-demo-billing:{self.ctx.slug}:{month:%Y-%m}")
        days = sorted(rng.sample(range(2, 28), rng.choice([3, 4])))
        for day in days:
            pick, product_index, quantity_draw = rng.random(), rng.randrange(len(CONSUMPTIONS)), rng.random()
            self.at(month.replace(day=day), 3,
                    lambda when, pick=pick, index=product_index, draw=quantity_draw: self.consume(when, pick, index,
                                                                                                draw))  # fmt: skip

    def running_contracts(self, day: datetime.date) -> list[Any]:
        from comptoir.sales.models import Contract

        return list(
            Contract.objects.filter(organization=self.organization, start_date__lte=day,
                                    pk__in=[contract.pk for contract in self.contracts.values()])
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
            .select_related("company", "center")
            .order_by("number")
        )  # fmt: skip

    def consume(self, day: datetime.date, pick: float, product_index: int, draw: float) -> None:
        running = self.running_contracts(day)
        if not running:
            return
        contract = running[int(pick * len(running))]
        name, low, high = POSTAGE if contract.service_type == "domiciliation" else CONSUMPTIONS[product_index]
        self.record(contract.company, contract.center, name, low + int(draw * (high - low + 1)), day, contract)

    def record(self, company: Any, center: Any, name: str, quantity: int, day: datetime.date,
               contract: Any = None) -> Any:  # fmt: skip
        from comptoir.billing.services.invoices import record_consumption
        from comptoir.catalog.pricing import product_unit_price
        from comptoir.crm.models import Contact

        product = self.products[name]
        consumption = record_consumption(by=self.by, organization_id=self.organization.pk, data={
            "company": company, "contact": Contact.objects.filter(company=company, is_main=True).first(),
            "center": center, "contract": contract, "product": product, "quantity": quantity,
            "unit_price": product_unit_price(product, center, self.book), "date": day,
        })  # fmt: skip
        self.ctx.created_one("consumptions")
        return consumption

    def unbilled_consumptions(self, day: datetime.date) -> None:
        """This month's consumptions the next run bills (the portal company's prints, a meeting room)."""
        portal = self.contracts["portal-office"]
        self.record(portal.company, portal.center, "Impression couleur", 24, day, portal)
        grouped = self.contracts["grouped-coworking"]
        self.record(grouped.company, grouped.center, "Salle de réunion (heure)", 2, day, grouped)

    def invoice_selected_consumptions(self, day: datetime.date) -> None:
        """Frontmanager §11: a client's one-off consumptions (a half-day meeting with coffee), invoiced on their
        own through « Générer une facture », issued today."""
        from comptoir.billing.services.invoices import invoice_consumptions

        contract = self.contracts["coworking"]
        selected = [
            self.record(contract.company, contract.center, "Salle de réunion (demi-journée)", 1, day),
            self.record(contract.company, contract.center, "Boisson chaude", 10, day),
        ]
        invoice_consumptions(by=self.by, organization_id=self.organization.pk,
                             consumption_ids=[consumption.pk for consumption in selected], issue=True)  # fmt: skip
        self.ctx.created_one("invoices of consumptions")

    # ------------------------------------------------------------------ credit notes
    def credit(self, key: str, day: datetime.date, lines: Any, reason: str) -> None:
        from comptoir.billing.models import Invoice, InvoiceLine
        from comptoir.billing.services.invoices import credit_invoice

        contract = self.contracts[key]
        invoice = (
            Invoice.objects.filter(kind=Invoice.Kind.INVOICE, origin=Invoice.Origin.RUN, status=Invoice.Status.ISSUED,
                                   billing_run__period=day.replace(day=1), lines__contract_id=contract.pk)
            .distinct()
            .order_by("pk")
            .first()
        )  # fmt: skip
        if invoice is None:
            return
        if lines == "half-parking":
            line = InvoiceLine.objects.filter(invoice=invoice, contract_id=contract.pk).order_by("position").first()
            half = (line.amount_excl_vat / 2).quantize(Decimal("0.01"))
            lines = [{"description": f"{reason} — 50 % de « {line.description} »"[:255], "quantity": "1",
                      "unit_price": str(half), "vat_rate": line.vat_rate}]  # fmt: skip
        credit_invoice(invoice=invoice, by=self.by, lines=lines, reason=reason, issue_date=day)
        self.ctx.created_one("credit notes")


def billing_history(ctx: DemoContext) -> None:
    from comptoir.billing.models import BillingRun, CustomerBillingProfile, Invoice
    from comptoir.crm import services as crm_services

    organization = ctx.organization
    if (
        BillingRun.objects.filter(organization=organization).exists()
        or Invoice.objects.filter(organization=organization).exists()
    ):
        return  # the history is built once, on an organization that has no invoice yet
    history = History(ctx, timezone.localdate())
    for role in GROUPED:
        company = history.companies[role]
        if not company.group_invoices:
            history.companies[role] = crm_services.update_company(company=company, by=ctx.administrator,
                                                                  data={"group_invoices": True})  # fmt: skip
    portal = history.companies["portal"]
    if not portal.siren:  # French e-invoicing (BR-FR-11) needs a business buyer's SIREN
        from comptoir.core.demo import french_identifiers

        identifiers = french_identifiers(f"{ctx.slug}:{portal.name}")
        history.companies["portal"] = crm_services.update_company(
            company=portal, by=ctx.administrator,
            data={name: identifiers[name] for name in ("siren", "siret", "vat_number")},
        )  # fmt: skip
    public = history.companies["public"]
    CustomerBillingProfile.objects.get_or_create(
        company=public,
        defaults={"organization": organization, "is_public_entity": True, "service_code": PUBLIC_SERVICE_CODE,
                  "commitment_number": PUBLIC_COMMITMENT_NUMBER},
    )  # fmt: skip
    history.plan()
    history.play()


register_demo_step(250, billing_history)
