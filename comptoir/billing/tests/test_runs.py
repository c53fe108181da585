"""The monthly billing run (comptoir.billing.services.runs): proration, regularisations, grouping, consumptions,
refusals, the preview, the constant number of queries per chunk, the command."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from comptoir.billing import ledger
from comptoir.billing.models import BilledPeriod, BillingProfile, BillingRun, Consumption, Invoice, InvoiceLine
from comptoir.billing.services import runs
from comptoir.billing.services.invoices import BillingError, billing_profile
from comptoir.billing.tests.factories import ConsumptionFactory
from comptoir.core.errors import Conflict, RightsError
from comptoir.core.models import AuditEntry
from comptoir.core.proration import month_bounds, outside, prorate
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory, StaffFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.sales.models import Contract, ContractLine, ContractPause, PricedLine
from comptoir.sales.selectors.contracts import pause_spans

MARCH = datetime.date(2026, 3, 1)
FEBRUARY = datetime.date(2026, 2, 1)
APRIL = datetime.date(2026, 4, 1)


def client(org, name: str = "Atelier Lumière", **kwargs) -> Company:  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, name=name, kind=Company.Kind.CLIENT, **kwargs)


def contract(  # type: ignore[no-untyped-def]
    org, company, center, by, *, start: datetime.date, end: datetime.date | None = None,
    status: str = Contract.Status.ACTIVE, lines: list[tuple[str, str]] | None = None,
) -> Contract:  # fmt: skip
    """A contract with recurring lines [(description, monthly amount)], all from the contract's start."""
    number = Contract.objects.filter(organization=org).count() + 1
    made = Contract.objects.create(
        organization=org, number=number, company=company, legal_entity=center.legal_entity, center=center,
        status=status, service_type="private_office", start_date=start, end_date=end,
        commitment_end=start + datetime.timedelta(days=364), created_by=by,
    )  # fmt: skip
    for position, (description, amount) in enumerate(lines or [("Bureau 12", "3100.00")], start=1):
        add_line(made, description, amount, start=start, position=position)
    return made


def add_line(made: Contract, description: str, amount: str, *, start: datetime.date, position: int = 1,
             end: datetime.date | None = None) -> ContractLine:  # fmt: skip
    return ContractLine.objects.create(
        contract=made, kind=PricedLine.Kind.SERVICE, description=description, unit_price=Decimal(amount),
        amount_excl_vat=Decimal(amount), start_date=start, end_date=end, position=position,
    )  # fmt: skip


def run_period(org, by, period: datetime.date, **kwargs) -> BillingRun:  # type: ignore[no-untyped-def]
    run = runs.start_run(organization=org, period=period, by=by, issue_date=period, enqueue=False)
    return runs.execute_run(run=run, **kwargs)


def totals_of(company: Company) -> list[Decimal]:
    return sorted(Invoice.objects.filter(company=company).values_list("total_excl_vat", flat=True))


# --------------------------------------------------------------------------------------------------
# What a month bills
# --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_contracts_starting_or_ending_mid_month_are_prorated_to_their_days(org, center, admin):
    # given: March has 31 days; 3,100 € a month is 100 € a day
    starting = contract(org, client(org, "Arrivée"), center, admin, start=datetime.date(2026, 3, 11))
    ending = contract(org, client(org, "Départ"), center, admin, start=datetime.date(2025, 9, 1),
                      end=datetime.date(2026, 3, 15), status=Contract.Status.NOTICE_GIVEN)  # fmt: skip
    whole = contract(org, client(org, "Entier"), center, admin, start=datetime.date(2025, 1, 1))

    # when
    run = run_period(org, admin, MARCH)

    # then
    assert run.status == BillingRun.Status.COMPLETED
    assert (run.contracts_total, run.contracts_done, run.invoices_created) == (3, 3, 3)
    assert totals_of(starting.company) == [Decimal("2100.00")]
    assert totals_of(ending.company) == [Decimal("1500.00")]
    assert totals_of(whole.company) == [Decimal("3100.00")]
    line = InvoiceLine.objects.get(invoice__company=starting.company)
    assert line.description == "Bureau 12 — 11/03/2026 – 31/03/2026 (prorata)"
    assert (line.period_start, line.period_end) == (datetime.date(2026, 3, 11), datetime.date(2026, 3, 31))
    invoice = Invoice.objects.get(company=whole.company)
    assert invoice.status == Invoice.Status.ISSUED and invoice.origin == Invoice.Origin.RUN
    assert invoice.billing_run_id == run.pk and invoice.contract_id == whole.pk
    assert (invoice.total_vat, invoice.total_incl_vat) == (Decimal("620.00"), Decimal("3720.00"))
    assert invoice.buyer["name"] == "Entier" and invoice.seller["name"] == center.legal_entity.name
    assert invoice.due_date == MARCH + datetime.timedelta(days=30)
    assert (run.total_excl_vat, run.total_incl_vat) == (Decimal("6700.00"), Decimal("8040.00"))


@pytest.mark.django_db
def test_an_ended_contract_is_not_billed_after_its_end(org, center, admin):
    # given: one contract ended in February (still "notice given"), one ended, one cancelled, one not started
    contract(org, client(org, "Fini en février"), center, admin, start=datetime.date(2025, 1, 1),
             end=datetime.date(2026, 2, 28), status=Contract.Status.NOTICE_GIVEN)  # fmt: skip
    contract(org, client(org, "Terminé"), center, admin, start=datetime.date(2025, 1, 1), status=Contract.Status.ENDED)
    contract(org, client(org, "Annulé"), center, admin, start=datetime.date(2025, 1, 1),
             status=Contract.Status.CANCELLED)  # fmt: skip
    contract(org, client(org, "Avril"), center, admin, start=datetime.date(2026, 4, 1))

    # when
    run = run_period(org, admin, MARCH)

    # then
    assert (run.contracts_total, run.invoices_created) == (0, 0)
    assert not Invoice.objects.exists() and not BilledPeriod.objects.exists()


@pytest.mark.django_db
def test_an_amendment_after_the_previous_month_was_billed_is_regularised(org, center, admin):
    # given: February (28 days) billed 2,800 € in advance, then the office changed on 15 February (4,200 €)
    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1), lines=[("Bureau 12", "2800.00")])
    run_period(org, admin, FEBRUARY)
    old = made.lines.get()
    old.end_date = datetime.date(2026, 2, 14)
    old.save()
    new = add_line(made, "Bureau 20", "4200.00", start=datetime.date(2026, 2, 15), position=2)

    # when
    run_period(org, admin, MARCH)

    # then: March at the new price, February's second half at the new price, minus its first half's old one
    invoice = Invoice.objects.get(company=company, period_start=MARCH)
    lines = list(invoice.lines.order_by("position").values_list("source", "contract_line", "amount_excl_vat",
                                                                "period_start"))  # fmt: skip
    assert lines == [
        ("contract_line", new.pk, Decimal("4200.00"), MARCH),
        ("adjustment", old.pk, Decimal("-1400.00"), FEBRUARY),
        ("adjustment", new.pk, Decimal("2100.00"), FEBRUARY),
    ]
    assert invoice.total_excl_vat == Decimal("4900.00")
    assert invoice.lines.get(amount_excl_vat=Decimal("-1400.00")).description == (
        "Régularisation — Bureau 12 — 01/02/2026 – 28/02/2026"
    )
    # and April regularises nothing: March was billed as the lines stand
    run_period(org, admin, APRIL)
    april = Invoice.objects.get(company=company, period_start=APRIL)
    assert list(april.lines.values_list("source", "amount_excl_vat")) == [("contract_line", Decimal("4200.00"))]


@pytest.mark.django_db
def test_a_company_that_groups_its_invoices_gets_one_invoice_for_all_its_contracts(org, center, admin):
    # given
    grouped = client(org, "Groupe Horizon", group_invoices=True)
    first = contract(org, grouped, center, admin, start=datetime.date(2025, 1, 1), lines=[("Bureau 1", "1000.00")])
    second = contract(org, grouped, center, admin, start=datetime.date(2025, 6, 1), lines=[("Bureau 2", "500.00")])
    separate = client(org, "Deux Factures")
    contract(org, separate, center, admin, start=datetime.date(2025, 1, 1))
    contract(org, separate, center, admin, start=datetime.date(2025, 1, 1))

    # when
    run = run_period(org, admin, MARCH)

    # then
    invoice = Invoice.objects.get(company=grouped)
    assert invoice.contract_id is None and invoice.notes == f"Contrats {first.reference}, {second.reference}"
    assert list(invoice.lines.values_list("description", flat=True)) == [
        "Bureau 1 — 01/03/2026 – 31/03/2026", "Bureau 2 — 01/03/2026 – 31/03/2026",
    ]  # fmt: skip
    assert invoice.total_excl_vat == Decimal("1500.00")
    assert set(BilledPeriod.objects.filter(invoice=invoice).values_list("contract_id", flat=True)) == {
        first.pk, second.pk,
    }  # fmt: skip
    assert Invoice.objects.filter(company=separate).count() == 2
    assert (run.contracts_done, run.invoices_created) == (4, 3)


@pytest.mark.django_db
def test_consumptions_of_the_months_before_are_billed_once(org, center, admin):
    # given
    company = client(org)
    contract(org, company, center, admin, start=datetime.date(2025, 1, 1))
    february = ConsumptionFactory(organization=org, company=company, center=center, date=datetime.date(2026, 2, 20),
                                  description="Impressions", amount_excl_vat=Decimal("12.50"),
                                  unit_price=Decimal("0.2500"), quantity=Decimal("50"))  # fmt: skip
    march = ConsumptionFactory(organization=org, company=company, center=center, date=datetime.date(2026, 3, 2))
    walk_in = client(org, "Passage")
    coffee = ConsumptionFactory(organization=org, company=walk_in, center=center, date=datetime.date(2026, 2, 3),
                                description="Salle de réunion", amount_excl_vat=Decimal("80.00"),
                                unit_price=Decimal("80"), quantity=Decimal("1"))  # fmt: skip

    # when
    run_period(org, admin, MARCH)

    # then: on the contract's invoice, and on its own invoice for a company without a contract
    invoice = Invoice.objects.get(company=company)
    assert list(invoice.lines.values_list("source", "amount_excl_vat")) == [
        ("contract_line", Decimal("3100.00")), ("consumption", Decimal("12.50")),
    ]  # fmt: skip
    february.refresh_from_db(), march.refresh_from_db(), coffee.refresh_from_db()
    assert february.invoice_id == invoice.pk and march.invoice_id is None
    own = Invoice.objects.get(company=walk_in)
    assert own.origin == Invoice.Origin.CONSUMPTIONS and coffee.invoice_id == own.pk
    assert (own.period_start, own.period_end, own.total_excl_vat) == (
        datetime.date(2026, 2, 3), datetime.date(2026, 2, 3), Decimal("80.00"),
    )  # fmt: skip

    # when: April
    run_period(org, admin, APRIL)

    # then: March's consumption, and February's is not billed again
    april = Invoice.objects.get(company=company, period_start=APRIL)
    assert list(april.lines.filter(source="consumption").values_list("source_id", flat=True)) == [march.pk]
    assert InvoiceLine.objects.filter(source="consumption", source_id=february.pk).count() == 1
    assert Invoice.objects.filter(company=walk_in).count() == 1


@pytest.mark.django_db
def test_the_run_numbers_and_chains_its_invoices_in_order_across_chunks(org, center, admin):
    # given
    for name in ("Alpha", "Bravo", "Charlie"):
        contract(org, client(org, name), center, admin, start=datetime.date(2025, 1, 1))

    # when: in chunks of one company
    run_period(org, admin, MARCH, chunk_size=1)

    # then
    references = list(Invoice.objects.order_by("chain_index").values_list("reference", "company__name"))
    assert references == [("FA-2026-000001", "Alpha"), ("FA-2026-000002", "Bravo"), ("FA-2026-000003", "Charlie")]
    assert ledger.verify_ledger(organization=org) == (3, [])
    actions = list(
        AuditEntry.objects.filter(action__startswith="billingrun.").order_by("id").values_list("action", "changes")
    )
    assert [action for action, _changes in actions] == ["billingrun.started", "billingrun.completed"]
    assert actions[1][1]["invoices_created"] == 3 and actions[1][1]["total_excl_vat"] == "9300.00"


# --------------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------------
def _state() -> tuple[int, int, int, int, list]:
    return (Invoice.objects.count(), InvoiceLine.objects.count(), BilledPeriod.objects.count(),
            AuditEntry.objects.count(), list(BillingRun.objects.values()))  # fmt: skip


@pytest.mark.django_db
def test_a_second_run_of_the_same_month_is_refused_and_changes_nothing(org, center, admin):
    # given
    contract(org, client(org), center, admin, start=datetime.date(2025, 1, 1))
    run_period(org, admin, MARCH)
    contract(org, client(org, "Nouveau"), center, admin, start=datetime.date(2025, 1, 1))
    before = _state()

    # when
    with pytest.raises(BillingError) as refused:
        runs.start_run(organization=org, period=MARCH, by=admin)

    # then
    assert refused.value.code == "already_run"
    assert refused.value.message == "La facturation de 03/2026 a déjà été faite (1 factures)."
    assert _state() == before


@pytest.mark.django_db
def test_a_run_still_alive_is_not_started_twice(org, center, admin):
    # given: a run that reported progress a minute ago
    contract(org, client(org), center, admin, start=datetime.date(2025, 1, 1))
    run = runs.start_run(organization=org, period=MARCH, by=admin, issue_date=MARCH, enqueue=False)
    before = _state()

    # when
    with pytest.raises(Conflict) as refused:
        runs.start_run(organization=org, period=MARCH, by=admin, issue_date=MARCH, enqueue=False)

    # then
    assert refused.value.code == "run_in_progress" and refused.value.status == 409
    assert _state() == before
    assert BillingRun.objects.get(pk=run.pk).status == BillingRun.Status.RUNNING


@pytest.mark.django_db
def test_a_locked_accounting_period_is_refused(org, center, admin):
    # given
    contract(org, client(org), center, admin, start=datetime.date(2025, 1, 1))
    BillingProfile.objects.filter(pk=billing_profile(center.legal_entity).pk).update(
        locked_until=datetime.date(2026, 3, 31)
    )
    before = _state()

    # when
    with pytest.raises(BillingError) as refused:
        runs.start_run(organization=org, period=MARCH, by=admin, issue_date=datetime.date(2026, 4, 2))

    # then
    assert refused.value.code == "locked_period"
    assert _state() == before


@pytest.mark.django_db
def test_staff_without_the_right_cannot_start_a_run(org, center, admin, staff_of):
    # given
    contract(org, client(org), center, admin, start=datetime.date(2025, 1, 1))
    reception = staff_of("reception")
    before = _state()

    # when / then
    with pytest.raises(RightsError):
        runs.start_run(organization=org, period=MARCH, by=reception)
    with pytest.raises(RightsError):
        runs.preview_run(organization=org, period=MARCH, by=reception)
    assert _state() == before


# --------------------------------------------------------------------------------------------------
# Preview, the task, queries
# --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_preview_shows_what_the_run_creates(org, center, admin, django_capture_on_commit_callbacks):
    # given: prorated, grouped, separate, consumption-only, an amendment
    grouped = client(org, "Groupe", group_invoices=True)
    contract(org, grouped, center, admin, start=datetime.date(2025, 1, 1), lines=[("A", "1000.00"), ("B", "33.33")])
    contract(org, grouped, center, admin, start=datetime.date(2026, 3, 10), lines=[("C", "777.77")])
    contract(org, client(org, "Seul"), center, admin, start=datetime.date(2025, 1, 1), end=datetime.date(2026, 3, 20),
             status=Contract.Status.NOTICE_GIVEN)  # fmt: skip
    ConsumptionFactory(organization=org, company=client(org, "Passage"), center=center, date=datetime.date(2026, 2, 9))
    before = _state()

    # when
    preview = runs.preview_run(organization=org, period=MARCH, by=admin)

    # then: nothing written
    assert _state() == before
    assert preview.count == 3
    assert [(p.company_name, len(p.lines), p.total_excl_vat) for p in preview.invoices] == [
        ("Groupe", 3, Decimal("1585.30")), ("Seul", 1, Decimal("2000.00")), ("Passage", 1, Decimal("1.50")),
    ]  # fmt: skip

    # when: the run (the task runs on commit, at once with the immediate backend)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.start_run(organization=org, period=MARCH, by=admin, issue_date=MARCH)

    # then
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    created = list(Invoice.objects.filter(billing_run=run).order_by("chain_index"))
    assert [(i.company.name, i.total_excl_vat, i.total_vat, i.total_incl_vat) for i in created] == [
        (p.company_name, p.total_excl_vat, p.total_vat, p.total_incl_vat) for p in preview.invoices
    ]
    assert [list(i.lines.values_list("description", "amount_excl_vat")) for i in created] == [
        [(line.description, line.amount_excl_vat) for line in p.lines] for p in preview.invoices
    ]
    assert (run.invoices_created, run.total_excl_vat, run.total_incl_vat) == (
        preview.count, preview.total_excl_vat, preview.total_incl_vat,
    )  # fmt: skip
    assert ledger.verify_ledger(organization=org) == (3, [])


def _many_contracts(org, center, by, count: int) -> None:  # type: ignore[no-untyped-def]
    companies = Company.objects.bulk_create(
        [Company(organization=org, number=1000 + n, name=f"Client {n:04d}", kind="client", status="active",
                 group_invoices=n % 5 == 0) for n in range(count)]
    )  # fmt: skip
    contracts = Contract.objects.bulk_create(
        [Contract(organization=org, number=n + 1, company=company, legal_entity=center.legal_entity, center=center,
                  status=Contract.Status.ACTIVE, service_type="private_office",
                  start_date=datetime.date(2025, 1, 1) if n % 3 else datetime.date(2026, 3, 5),
                  commitment_end=datetime.date(2027, 1, 1), created_by=by)
         for n, company in enumerate(companies)]
    )  # fmt: skip
    ContractLine.objects.bulk_create(
        [ContractLine(contract=made, kind="service", description=f"Ligne {k}", unit_price=Decimal("100.00"),
                      amount_excl_vat=Decimal(f"{100 + k}.00"), start_date=made.start_date, position=k)
         for made in contracts for k in range(4)]
    )  # fmt: skip
    Consumption.objects.bulk_create(
        [
            ConsumptionFactory.build(organization=org, company=company, center=center, date=datetime.date(2026, 2, 2))
            for company in companies[::2]
        ]
    )


@pytest.mark.django_db
def test_a_chunk_makes_the_same_number_of_queries_for_10_and_200_contracts(admin, center, org):
    # given: two organizations of the same shape, 10 and 200 contracts (4 lines, some grouped, consumptions)
    small_org, large_org = OrganizationFactory(slug="petit"), OrganizationFactory(slug="grand")
    counts = []
    for organization, size in ((small_org, 10), (large_org, 200)):
        site = CenterFactory(organization=organization)
        by = StaffFactory(organization=organization, kind="administrator").user
        _many_contracts(organization, site, by, size)
        run = runs.start_run(organization=organization, period=MARCH, by=by, issue_date=MARCH, enqueue=False)

        # when: one chunk
        with CaptureQueriesContext(connection) as queries:
            runs.execute_run(run=run, chunk_size=10_000)
        counts.append(len(queries))

        # then
        run.refresh_from_db()
        assert (run.status, run.contracts_done, run.invoices_created) == (BillingRun.Status.COMPLETED, size, size)
        assert ledger.verify_ledger(organization=organization) == (size, [])
    assert counts[0] == counts[1]
    assert counts[1] <= 45


# --------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_command_runs_a_month_and_refuses_to_run_it_again(org, center, admin, capsys):
    # given
    contract(org, client(org), center, admin, start=datetime.date(2025, 1, 1))

    # when
    call_command("billing-run", "--org", org.slug, "--period", "2026-03", "--issue-date", "2026-03-01")

    # then
    output = capsys.readouterr().out
    assert "operateur-a 2026-03: Terminée — 1 contrat(s), 1 facture(s), 3100.00 € HT, 3720.00 € TTC" in output
    before = _state()
    with pytest.raises(CommandError, match="La facturation de 03/2026 a déjà été faite"):
        call_command("billing-run", "--org", org.slug, "--period", "2026-03")
    with pytest.raises(CommandError, match="Indiquez un mois au format AAAA-MM"):
        call_command("billing-run", "--org", org.slug, "--period", "mars")
    assert _state() == before


# --------------------------------------------------------------------------------------------------
# Proration: the parts of a month add up to its price (DESIGN.md invariant 10)
# --------------------------------------------------------------------------------------------------
@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
    month=st.dates(min_value=datetime.date(2024, 1, 1), max_value=datetime.date(2030, 12, 1)),
    cuts=st.lists(st.integers(min_value=1, max_value=30), max_size=6),
)
def test_the_prorated_parts_of_contiguous_periods_add_up_to_the_month(amount, month, cuts):
    # given: a month split at random days (a line ending, the next one starting the day after)
    first, last = month_bounds(month)
    days = (last - first).days + 1
    starts = sorted({first} | {first + datetime.timedelta(days=cut) for cut in cuts if cut < days})
    ends = [start - datetime.timedelta(days=1) for start in starts[1:]] + [last]

    # when
    parts = [prorate(amount, period_start=first, period_end=last, start=start, end=end)
             for start, end in zip(starts, ends, strict=True)]  # fmt: skip

    # then
    assert sum(parts, Decimal("0.00")) == amount
    assert all(part >= 0 for part in parts)


@pytest.mark.django_db
def test_the_run_builds_the_same_lines_as_contract_period_lines(org, center, admin):
    # given: starts, ends, an amended line, an option, a one-off line, a company not subject to VAT
    from comptoir.billing.services.invoices import contract_period_lines

    exempt = client(org, "Association", subject_to_vat=False)
    made = contract(org, exempt, center, admin, start=datetime.date(2026, 3, 4), end=datetime.date(2026, 3, 27),
                    lines=[("Bureau", "1234.56")])  # fmt: skip
    add_line(made, "Ancien", "99.99", start=datetime.date(2026, 3, 4), end=datetime.date(2026, 3, 9), position=2)
    option = add_line(made, "Option", "15.00", start=datetime.date(2026, 3, 10), position=3)
    option.kind, option.vat_rate = PricedLine.Kind.OPTION, "10.00"
    option.save()
    one_off = add_line(made, "Frais", "50.00", start=datetime.date(2026, 3, 4), position=4)
    one_off.is_recurring = False
    one_off.save()
    pause(made, datetime.date(2026, 3, 15), datetime.date(2026, 3, 17), admin)
    full = contract(org, client(org), center, admin, start=datetime.date(2025, 1, 1), lines=[("Poste", "290.00")])
    names = [*ledger.LINE_FIELDS, "product_id", "accounting_code", "source", "contract_id", "contract_line_id"]
    names.remove("position")

    for made_contract in (made, full):
        # when
        reference = contract_period_lines(made_contract, list(made_contract.lines.order_by("position", "id")), MARCH,
                                          made_contract.company)  # fmt: skip
        preview = runs.preview_run(organization=org, period=MARCH, by=admin)
        planned = next(p for p in preview.invoices if p.contract_ids == [made_contract.pk])

        # then
        assert [(line.description, line.amount_excl_vat, line.vat_rate, line.period_start, line.source)
                for line in planned.lines] == [
            (line.description, line.amount_excl_vat, line.vat_rate, line.period_start, line.source)
            for line in reference
        ]  # fmt: skip
        ctx = runs._context(org, MARCH, MARCH, write=False)
        rows = runs._month_lines(ctx, runs._ContractRow(*Contract.objects.filter(pk=made_contract.pk).values_list(
            *runs.CONTRACT_COLUMNS).get()), [runs._LineRow(*row) for row in made_contract.lines.order_by(
            "position", "id").values_list(*runs.LINE_COLUMNS)], made_contract.company,
            pause_spans([made_contract.pk], MARCH, month_bounds(MARCH)[1]).get(made_contract.pk, []))  # fmt: skip
        assert [{name: getattr(row, name) for name in names} for row in rows] == [
            {name: getattr(line, name) for name in names} for line in reference
        ]


# --------------------------------------------------------------------------------------------------
# Pauses
# --------------------------------------------------------------------------------------------------
def pause(made: Contract, start: datetime.date, end: datetime.date, by) -> ContractPause:  # type: ignore[no-untyped-def]
    return ContractPause.objects.create(contract=made, start_date=start, end_date=end, created_by=by)


@pytest.mark.django_db
def test_a_pause_is_not_billed_and_the_days_around_it_are_prorated(org, center, admin):
    # given: 3,100 € a month (100 € a day in March), paused from the 10th to the 19th
    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1))
    pause(made, datetime.date(2026, 3, 10), datetime.date(2026, 3, 19), admin)

    # when
    run_period(org, admin, MARCH)

    # then: the 9 days before and the 12 days after
    invoice = Invoice.objects.get(company=company)
    assert list(invoice.lines.order_by("position").values_list("description", "amount_excl_vat")) == [
        ("Bureau 12 — 01/03/2026 – 09/03/2026 (prorata)", Decimal("900.00")),
        ("Bureau 12 — 20/03/2026 – 31/03/2026 (prorata)", Decimal("1200.00")),
    ]
    assert invoice.total_excl_vat == Decimal("2100.00")


@pytest.mark.django_db
def test_a_cancelled_pause_is_billed(org, center, admin):
    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1))
    cancelled = pause(made, datetime.date(2026, 3, 10), datetime.date(2026, 3, 19), admin)
    cancelled.cancelled_at = cancelled.created_at
    cancelled.save()

    run_period(org, admin, MARCH)

    assert totals_of(company) == [Decimal("3100.00")]


@pytest.mark.django_db
def test_a_month_paused_throughout_is_done_without_invoice_and_regularised_if_the_pause_is_cancelled(
    org, center, admin
):
    # given: April (30 days, 3,000 €) paused throughout
    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1), lines=[("Bureau 12", "3000.00")])
    april_pause = pause(made, APRIL, datetime.date(2026, 4, 30), admin)

    # when
    run = run_period(org, admin, APRIL)

    # then: the contract is done for April, with no invoice
    assert (run.contracts_done, run.invoices_created) == (1, 0)
    assert BilledPeriod.objects.get(contract=made, period=APRIL).invoice is None
    assert not Invoice.objects.exists()
    # and when the pause is cancelled in April, May regularises April
    from comptoir.sales.services.contracts import cancel_pause

    cancel_pause(pause=april_pause, by=admin, today=datetime.date(2026, 4, 10))
    run_period(org, admin, datetime.date(2026, 5, 1))
    may = Invoice.objects.get(company=company)
    assert list(may.lines.order_by("position").values_list("source", "amount_excl_vat", "period_start")) == [
        ("contract_line", Decimal("3000.00"), datetime.date(2026, 5, 1)),
        ("adjustment", Decimal("3000.00"), APRIL),
    ]


@pytest.mark.django_db
def test_a_pause_recorded_after_its_month_was_billed_is_credited_on_the_next_invoice(org, center, admin):
    # given: March billed in advance, then a pause from the 21st to the 31st recorded on 20 March
    from comptoir.sales.services.contracts import pause_contract

    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1))
    run_period(org, admin, MARCH)
    pause_contract(contract=made, by=admin, start_date=datetime.date(2026, 3, 21), end_date=datetime.date(2026, 3, 31),
                   today=datetime.date(2026, 3, 20))  # fmt: skip

    # when
    run_period(org, admin, APRIL)

    # then: April in full, minus the 11 paused days of March
    april = Invoice.objects.get(company=company, period_start=APRIL)
    assert list(april.lines.order_by("position").values_list("source", "amount_excl_vat")) == [
        ("contract_line", Decimal("3100.00")),
        ("adjustment", Decimal("-1100.00")),
    ]


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
    month=st.dates(min_value=datetime.date(2024, 1, 1), max_value=datetime.date(2030, 12, 1)),
    gaps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=40)), max_size=4
    ),
)
def test_the_parts_around_pauses_and_the_paused_parts_add_up_to_the_month(amount, month, gaps):
    # given: pauses (possibly overlapping or spilling out of the month)
    first, last = month_bounds(month)
    pauses = [(first + datetime.timedelta(days=offset), first + datetime.timedelta(days=offset + length))
              for offset, length in gaps]  # fmt: skip

    # when
    billed = outside(first, last, pauses)
    paused = outside(first, last, billed)  # the complement: the paused days of the month

    # then: the billed pieces and the paused pieces tile the month, and their parts add up to its price
    days = sorted((start, end) for start, end in billed + paused)
    assert all(after[0] == before[1] + datetime.timedelta(days=1) for before, after in itertools.pairwise(days))
    if days:
        assert (days[0][0], days[-1][1]) == (first, last)
    parts = [prorate(amount, period_start=first, period_end=last, start=start, end=end) for start, end in days]
    assert sum(parts, Decimal("0.00")) == amount
    assert not any(start <= piece_end and piece_start <= end for start, end in pauses
                   for piece_start, piece_end in billed)  # fmt: skip


@pytest.mark.django_db
def test_a_regularisation_larger_than_the_month_becomes_a_credit_note_of_the_previous_invoice(org, center, admin):
    # given: April (30 days, 3,000 €) billed in advance, then on 2 April a pause from 3 April to 25 May
    from comptoir.sales.services.contracts import pause_contract

    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1), lines=[("Bureau 12", "3000.00")])
    run_period(org, admin, APRIL)
    april = Invoice.objects.get(company=company)
    pause_contract(contract=made, by=admin, start_date=datetime.date(2026, 4, 3), end_date=datetime.date(2026, 5, 25),
                   today=datetime.date(2026, 4, 2))  # fmt: skip
    may_period = datetime.date(2026, 5, 1)

    # when: the preview, then the run of May
    preview = runs.preview_run(organization=org, period=may_period, by=admin)
    run = run_period(org, admin, may_period)

    # then: May's last 6 days on an invoice, April's 28 paused days (2,800 €) on a credit note of April's invoice
    assert [planned.total_excl_vat for planned in preview.invoices] == [Decimal("580.65")]
    assert [planned.total_excl_vat for planned in preview.credit_notes] == [Decimal("2800.00")]
    may = Invoice.objects.get(company=company, kind=Invoice.Kind.INVOICE, period_start=may_period)
    assert list(may.lines.values_list("description", "amount_excl_vat")) == [
        ("Bureau 12 — 26/05/2026 – 31/05/2026 (prorata)", Decimal("580.65"))
    ]
    note = Invoice.objects.get(company=company, kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.credited_invoice_id, note.status, note.total_excl_vat, note.total_incl_vat) == (
        april.pk,
        Invoice.Status.ISSUED,
        Decimal("2800.00"),
        Decimal("3360.00"),
    )
    assert note.reference.startswith("AV-") and note.billing_run_id == run.pk
    assert list(note.lines.values_list("source", "contract_line", "amount_excl_vat", "period_start")) == [
        ("adjustment", made.lines.get().pk, Decimal("2800.00"), APRIL)
    ]
    assert (run.invoices_created, run.total_excl_vat) == (2, Decimal("-2219.35"))
    assert ledger.verify_ledger(organization=org) == (3, [])
    # and June regularises nothing more: April and May stand as billed
    run_period(org, admin, datetime.date(2026, 6, 1))
    june = Invoice.objects.get(company=company, period_start=datetime.date(2026, 6, 1))
    assert list(june.lines.values_list("source", "amount_excl_vat")) == [("contract_line", Decimal("3000.00"))]


@pytest.mark.django_db
def test_a_month_left_with_nothing_to_bill_gets_only_the_credit_note(org, center, admin):
    # given: April billed, then a pause from 3 April to the end of May
    from comptoir.sales.services.contracts import pause_contract

    company = client(org)
    made = contract(org, company, center, admin, start=datetime.date(2025, 1, 1), lines=[("Bureau 12", "3000.00")])
    run_period(org, admin, APRIL)
    pause_contract(contract=made, by=admin, start_date=datetime.date(2026, 4, 3), end_date=datetime.date(2026, 5, 31),
                   today=datetime.date(2026, 4, 2))  # fmt: skip

    # when
    run = run_period(org, admin, datetime.date(2026, 5, 1))

    # then
    assert (run.contracts_done, run.invoices_created) == (1, 1)
    assert BilledPeriod.objects.get(contract=made, period=datetime.date(2026, 5, 1)).invoice is None
    assert Invoice.objects.get(company=company, kind=Invoice.Kind.CREDIT_NOTE).total_excl_vat == Decimal("2800.00")
