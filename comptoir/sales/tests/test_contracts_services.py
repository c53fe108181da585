"""Contracts: readiness (❓/👍), creation from the accepted offer, signature sending, life cycle, amendments,
proration, the PDF and the company hooks."""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from comptoir.catalog.models import ProductCenterPrice, Space
from comptoir.catalog.tests.factories import CenterRateFactory, ProductFactory, SpaceFactory
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.housekeeping import daily_jobs
from comptoir.core.models import AuditEntry
from comptoir.crm.models import Contact, Opportunity
from comptoir.crm.services.companies import deletion_blockers
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory
from comptoir.sales.models import Amendment, Contract, ContractLine, PricedLine, Quote
from comptoir.sales.occupancy import provider
from comptoir.sales.selectors.contracts import commitment_end, offer_readiness
from comptoir.sales.services import contracts as services
from comptoir.sales.services.contracts import prorate
from comptoir.sales.services.terms import current_terms, publish_terms
from comptoir.sales.tests.factories import (
    ContractFactory,
    ContractLineFactory,
    OfferFactory,
    OfferLineFactory,
    QuoteFactory,
    TermsFactory,
)

TODAY = datetime.date.today()


def accepted_offer(org, center, *, lines=1, start=None, term=12):  # type: ignore[no-untyped-def]
    quote = QuoteFactory(organization=org, center=center)
    offer = OfferFactory(quote=quote, start_date=start or TODAY + datetime.timedelta(days=7), term_months=term,
                         deposit=Decimal("1000.00"))  # fmt: skip
    for position in range(lines):
        OfferLineFactory(offer=offer, position=position, breakdown={"steps": [], "vat_rate": "20.00"})
    quote.status = Quote.Status.ACCEPTED
    quote.chosen_offer = offer
    quote.save()
    return offer


def signer_of(company):  # type: ignore[no-untyped-def]
    return ContactFactory(
        organization=company.organization, company=company, company_role=Contact.CompanyRole.ADMINISTRATOR,
        has_portal_access=True, email="signer@example.test",
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Terms
# --------------------------------------------------------------------------------------------------
def test_publish_terms_makes_new_versions(org, admin):
    first = publish_terms(organization=org, by=admin, title="CGV", body="Article 1")
    second = publish_terms(organization=org, by=admin, title="CGV 2027", body="Article 1 bis")
    assert (first.version, second.version) == (1, 2)
    assert current_terms(org) == second
    first.refresh_from_db()
    assert first.body == "Article 1"


def test_publish_terms_refuses_an_empty_body_and_reception(org, admin, staff_of):
    with pytest.raises(ValidationFailed) as exc:
        publish_terms(organization=org, by=admin, title="CGV", body="  ")
    assert exc.value.fields == {"body": ["Le texte des conditions est obligatoire."]}
    with pytest.raises(RightsError):
        publish_terms(organization=org, by=staff_of("reception"), title="CGV", body="x")
    assert current_terms(org) is None


# --------------------------------------------------------------------------------------------------
# Readiness
# --------------------------------------------------------------------------------------------------
def test_readiness_ok_and_refusals(org, center):
    offer = accepted_offer(org, center, lines=3)
    _space_line, taken_line, product_line = offer.lines.order_by("position")
    product = ProductFactory(organization=org)
    product_line.space, product_line.product, product_line.kind = None, product, PricedLine.Kind.SERVICE
    product_line.save()
    other = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                            start_date=TODAY - datetime.timedelta(days=100))  # fmt: skip
    ContractLineFactory(contract=other, space=taken_line.space, start_date=other.start_date)  # open-ended
    ProductCenterPrice.objects.create(organization=org, product=product, center=center, is_available=False)

    result = offer_readiness(offer)

    assert [item.ok for item in result] == [True, False, False]
    assert other.reference in result[1].reason
    assert "n'est pas disponible dans ce centre" in result[2].reason


def test_readiness_ignores_ended_cancelled_and_draft_contracts_and_finished_lines(org, center):
    offer = accepted_offer(org, center)
    space = offer.lines.get().space
    for status in (Contract.Status.ENDED, Contract.Status.CANCELLED, Contract.Status.DRAFT):
        ContractLineFactory(contract=ContractFactory(organization=org, center=center, status=status), space=space)
    finished = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                               start_date=TODAY - datetime.timedelta(days=400))  # fmt: skip
    ContractLineFactory(contract=finished, space=space, start_date=finished.start_date,
                        end_date=offer.start_date - datetime.timedelta(days=1))  # fmt: skip
    assert [item.ok for item in offer_readiness(offer)] == [True]


def test_readiness_refuses_an_inactive_space_and_a_full_coworking(org, center):
    offer = accepted_offer(org, center, lines=2)
    inactive, coworking = offer.lines.order_by("position")
    Space.objects.filter(pk=inactive.space_id).update(is_active=False)
    Space.objects.filter(pk=coworking.space_id).update(kind=Space.Kind.COWORKING_AREA, capacity=3)
    held = ContractFactory(organization=org, center=center, status=Contract.Status.SIGNED)
    ContractLineFactory(contract=held, space=coworking.space, quantity=Decimal("2"))
    assert [item.ok for item in offer_readiness(offer)] == [False, True]  # 2 + 1 <= 3
    coworking.quantity = Decimal("2")
    coworking.save()
    result = offer_readiness(offer)
    assert [item.ok for item in result] == [False, False]
    assert "désactivé" in result[0].reason and "complet" in result[1].reason


def test_readiness_query_count_does_not_depend_on_lines(org, center):
    small, large = accepted_offer(org, center, lines=1), accepted_offer(org, center, lines=8)
    for offer in (small, large):
        line = offer.lines.first()
        line.product = ProductFactory(organization=org)
        line.save()
    counts = []
    for offer in (small, large):
        with CaptureQueriesContext(connection) as queries:
            offer_readiness(offer)
        counts.append(len(queries))
    assert counts[0] == counts[1] == 2


# --------------------------------------------------------------------------------------------------
# Creation
# --------------------------------------------------------------------------------------------------
def test_create_contract_from_offer_copies_frozen_lines(org, center, admin):
    terms = TermsFactory(organization=org, version=1)
    opportunity = OpportunityFactory(organization=org)
    offer = accepted_offer(org, center, lines=2, start=datetime.date(2027, 1, 31))
    offer.quote.opportunity = opportunity
    offer.quote.save()
    offer.lines.update(unit_price=Decimal("812.34"), amount_excl_vat=Decimal("812.34"),
                       breakdown={"steps": [{"code": "base"}], "vat_rate": "20.00"})  # fmt: skip

    contract = services.create_contract_from_offer(offer=offer, by=admin)

    assert contract.status == Contract.Status.DRAFT
    assert contract.reference == f"CT-{contract.number:06d}"
    assert contract.legal_entity == center.legal_entity and contract.company == offer.quote.company
    assert contract.start_date == datetime.date(2027, 1, 31)
    assert contract.commitment_end == datetime.date(2028, 1, 30)
    assert (contract.notice_months, contract.renewal, contract.billing_day) == (3, "tacit", 1)
    assert contract.deposit == Decimal("1000.00") and contract.terms == terms and contract.payment_method == ""
    lines = list(contract.lines.order_by("position"))
    assert [(line.unit_price, line.start_date, line.version) for line in lines] == [
        (Decimal("812.34"), contract.start_date, 1)
    ] * 2
    assert lines[0].breakdown == {"steps": [{"code": "base"}], "vat_rate": "20.00"}
    assert AuditEntry.objects.filter(action="contract.created", object_id=str(contract.pk)).exists()


def test_second_contract_on_the_same_office_is_refused_and_nothing_created(org, center, admin):
    first = accepted_offer(org, center)
    contract = services.create_contract_from_offer(offer=first, by=admin)
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.SIGNED)
    second = accepted_offer(org, center)
    line = second.lines.get()
    line.space = first.lines.get().space
    line.save()
    count = Contract.objects.count()

    with pytest.raises(ValidationFailed) as exc:
        services.create_contract_from_offer(offer=second, by=admin)

    assert exc.value.code == "not_ready"
    assert "déjà sous contrat" in exc.value.message
    assert Contract.objects.count() == count


def test_create_refuses_a_quote_not_accepted_or_another_offer(org, center, admin):
    offer = accepted_offer(org, center)
    other = OfferFactory(quote=offer.quote, position=offer.position % 4 + 1)  # another position than the first's
    with pytest.raises(ValidationFailed) as exc:
        services.create_contract_from_offer(offer=other, by=admin)
    assert exc.value.code == "not_accepted"
    Quote.objects.filter(pk=offer.quote_id).update(status=Quote.Status.SENT)
    with pytest.raises(ValidationFailed):
        services.create_contract_from_offer(offer=offer, by=admin)
    assert not Contract.objects.exists()


def test_create_refuses_twice_and_reception(org, center, admin, staff_of):
    offer = accepted_offer(org, center)
    with pytest.raises(RightsError):
        services.create_contract_from_offer(offer=offer, by=staff_of("reception"))
    services.create_contract_from_offer(offer=offer, by=admin)
    with pytest.raises(ValidationFailed) as exc:
        services.create_contract_from_offer(offer=offer, by=admin)
    assert exc.value.code == "already_contracted"


# --------------------------------------------------------------------------------------------------
# Sending for signature
# --------------------------------------------------------------------------------------------------
def test_send_for_signature_renders_the_pdf_stores_its_hash_and_mails_the_signer(
    org, center, admin, django_capture_on_commit_callbacks
):
    TermsFactory(organization=org, version=1, body="Article 1 — Objet.\nArticle 2 — Durée.")
    offer = accepted_offer(org, center)
    opportunity = OpportunityFactory(organization=org, company=offer.quote.company,
                                     stage=Opportunity.Stage.QUOTE_SENT)  # fmt: skip
    offer.quote.opportunity = opportunity
    offer.quote.save()
    contract = services.create_contract_from_offer(offer=offer, by=admin)
    signer = signer_of(contract.company)

    with django_capture_on_commit_callbacks(execute=True):
        contract = services.send_for_signature(contract=contract, by=admin, signer=signer)

    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_SIGNATURE and contract.signer == signer
    assert contract.sent_for_signature_at is not None
    assert contract.document.name.startswith(f"contracts/{org.pk}/{contract.reference}-v1-")
    content = contract.document.read()
    assert content.startswith(b"%PDF")
    assert contract.document_sha256 == hashlib.sha256(content).hexdigest()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["signer@example.test"]
    assert "/portal/" in mail.outbox[0].body
    opportunity.refresh_from_db()
    assert opportunity.stage == Opportunity.Stage.CONTRACT_SENT


@pytest.mark.parametrize(
    "changes",
    [
        {"company_role": Contact.CompanyRole.MANAGER},
        {"has_portal_access": False},
        {"is_active": False},
    ],
)
def test_send_for_signature_refuses_an_ineligible_signer(org, center, admin, changes):
    TermsFactory(organization=org, version=1)
    contract = services.create_contract_from_offer(offer=accepted_offer(org, center), by=admin)
    signer = signer_of(contract.company)
    Contact.objects.filter(pk=signer.pk).update(**changes)
    with pytest.raises(ValidationFailed) as exc:
        services.send_for_signature(contract=contract, by=admin, signer=signer)
    assert "signer" in exc.value.fields
    contract.refresh_from_db()
    assert contract.status == Contract.Status.DRAFT and not contract.document


def test_send_for_signature_refuses_a_member_of_another_company(org, center, admin):
    TermsFactory(organization=org, version=1)
    contract = services.create_contract_from_offer(offer=accepted_offer(org, center), by=admin)
    stranger = signer_of(CompanyFactory(organization=org))
    with pytest.raises(ValidationFailed):
        services.send_for_signature(contract=contract, by=admin, signer=stranger)


def test_send_for_signature_needs_published_terms(org, center, admin):
    contract = services.create_contract_from_offer(offer=accepted_offer(org, center), by=admin)
    with pytest.raises(ValidationFailed) as exc:
        services.send_for_signature(contract=contract, by=admin, signer=signer_of(contract.company))
    assert exc.value.code == "no_terms"


# --------------------------------------------------------------------------------------------------
# Life cycle
# --------------------------------------------------------------------------------------------------
def test_activate_contracts_is_a_daily_job(org):
    due = ContractFactory(organization=org, status=Contract.Status.SIGNED, start_date=TODAY)
    later = ContractFactory(organization=org, status=Contract.Status.SIGNED,
                            start_date=TODAY + datetime.timedelta(days=1))  # fmt: skip
    assert "contracts activated" in daily_jobs()
    assert services.activate_contracts(TODAY) == 1
    assert services.activate_contracts(TODAY) == 0
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, later.status) == (Contract.Status.ACTIVE, Contract.Status.SIGNED)


def test_give_notice_ends_at_the_later_date_and_then_ends(org, admin):
    contract = ContractFactory(organization=org, status=Contract.Status.ACTIVE, start_date=datetime.date(2026, 1, 1),
                               commitment_end=datetime.date(2026, 12, 31), notice_months=3)  # fmt: skip
    line = ContractLineFactory(contract=contract)
    services.give_notice(contract=contract, by=admin, notice_date=datetime.date(2026, 11, 15))
    contract.refresh_from_db()
    assert contract.status == Contract.Status.NOTICE_GIVEN and contract.end_date == datetime.date(2027, 2, 15)
    line.refresh_from_db()
    assert line.end_date == datetime.date(2027, 2, 15)
    with pytest.raises(DomainError):
        services.end_contract(contract=contract, by=admin, today=datetime.date(2027, 2, 15))
    services.end_contract(contract=contract, by=admin, today=datetime.date(2027, 2, 16))
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ENDED


def test_notice_within_commitment_keeps_the_commitment_end(org, admin):
    contract = ContractFactory(organization=org, status=Contract.Status.ACTIVE, start_date=datetime.date(2026, 1, 1),
                               commitment_end=datetime.date(2026, 12, 31))  # fmt: skip
    services.give_notice(contract=contract, by=admin, notice_date=datetime.date(2026, 2, 1))
    contract.refresh_from_db()
    assert contract.end_date == datetime.date(2026, 12, 31)


def test_invalid_transitions_are_refused(org, admin):
    draft = ContractFactory(organization=org)
    with pytest.raises(DomainError) as exc:
        services.give_notice(contract=draft, by=admin, notice_date=TODAY)
    assert "signé ou actif" in exc.value.message
    with pytest.raises(DomainError):
        services.end_contract(contract=draft, by=admin)
    active = ContractFactory(organization=org, status=Contract.Status.ACTIVE)
    with pytest.raises(DomainError) as exc:
        services.cancel_contract(contract=active, by=admin)
    assert "brouillon ou en attente" in exc.value.message
    services.cancel_contract(contract=draft, by=admin)
    draft.refresh_from_db()
    assert draft.status == Contract.Status.CANCELLED


# --------------------------------------------------------------------------------------------------
# Amendments and proration
# --------------------------------------------------------------------------------------------------
def test_prorate_examples():
    start, end = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)
    assert prorate(Decimal("300.00"), datetime.date(2026, 11, 16), end, start, end) == Decimal("150.00")
    assert prorate(Decimal("100.00"), datetime.date(2026, 11, 1), end, start, end) == Decimal("100.00")
    assert prorate(Decimal("100.00"), datetime.date(2026, 12, 1), end, start, end) == Decimal("0.00")
    assert prorate(Decimal("100.00"), datetime.date(2026, 11, 30), end, start, end) == Decimal("3.33")


@given(amount=st.decimals(min_value=0, max_value=100000, places=2), day=st.integers(min_value=2, max_value=28))
def test_prorate_parts_are_within_a_cent_of_the_whole(amount, day):
    start, end = datetime.date(2027, 2, 1), datetime.date(2027, 2, 28)
    split = datetime.date(2027, 2, day)
    first = prorate(amount, start, split - datetime.timedelta(days=1), start, end)
    second = prorate(amount, split, end, start, end)
    assert abs(first + second - amount) <= Decimal("0.01")


def amendable(org, center):  # type: ignore[no-untyped-def]
    CenterRateFactory(center=center, price_per_m2=Decimal("40.00"))
    start = TODAY.replace(day=1)
    contract = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE, start_date=start,
                               commitment_end=commitment_end(start, 12))  # fmt: skip
    office = ContractLineFactory(contract=contract, unit_price=Decimal("500.00"), amount_excl_vat=Decimal("500.00"))
    return contract, office


def test_preview_and_amend_add_an_option_and_change_office(org, center, admin):
    contract, office = amendable(org, center)
    option = ProductFactory(organization=org, kind="option", unit_price=Decimal("30.00"), service_type="")
    new_office = SpaceFactory(organization=org, center=center, area_m2=Decimal("20.00"))
    effective = contract.start_date + datetime.timedelta(days=40)
    arguments = {"effective_date": effective, "add": [{"product": option.pk, "quantity": 2}],
                 "change_space": (office.pk, new_office)}  # fmt: skip

    preview = services.preview_amendment(contract=contract, **arguments)
    assert preview.monthly_before == Decimal("500.00")
    assert preview.monthly_after == Decimal("860.00")  # 20 m² × 40 € + 2 × 30 €
    assert [line.pk for line in preview.closed] == [office.pk]
    period_start, period_end = preview.period_start, preview.period_end
    expected = (
        prorate(Decimal("800.00"), effective, period_end, period_start, period_end)
        + prorate(Decimal("60.00"), effective, period_end, period_start, period_end)
        - prorate(Decimal("500.00"), effective, period_end, period_start, period_end)
    )
    assert preview.first_month_difference == expected
    assert not ContractLine.objects.filter(contract=contract, version=2).exists()  # a preview changes nothing

    amendment = services.amend_contract(contract=contract, by=admin, **arguments)

    contract.refresh_from_db()
    office.refresh_from_db()
    assert contract.version == 2 and amendment.version == 2
    assert office.end_date == effective - datetime.timedelta(days=1)
    opened = list(ContractLine.objects.filter(contract=contract, version=2).order_by("position"))
    assert {(line.space_id, line.product_id, line.amount_excl_vat) for line in opened} == {
        (new_office.pk, None, Decimal("800.00")),
        (None, option.pk, Decimal("60.00")),
    }
    assert all(line.start_date == effective for line in opened)
    assert amendment.changes["monthly_after"] == "860.00"


def test_amending_an_ended_contract_is_refused(org, center, admin):
    contract, office = amendable(org, center)
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.ENDED)
    contract.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        services.amend_contract(contract=contract, by=admin, effective_date=TODAY, remove_line_ids=[office.pk])
    assert exc.value.message == "Un contrat terminé ne peut plus être modifié."
    assert not Amendment.objects.exists()


def test_amendment_refuses_bad_dates_and_taken_spaces(org, center, admin):
    contract, office = amendable(org, center)
    with pytest.raises(ValidationFailed) as exc:
        services.preview_amendment(contract=contract, effective_date=contract.start_date - datetime.timedelta(days=1),
                                   remove_line_ids=[office.pk])  # fmt: skip
    assert "effective_date" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.preview_amendment(contract=contract, effective_date=TODAY, remove_line_ids=[office.pk],
                                   today=TODAY + datetime.timedelta(days=70))  # fmt: skip
    assert exc.value.code == "in_the_past"
    taken = ContractLineFactory(contract=ContractFactory(organization=org, center=center,
                                                         status=Contract.Status.ACTIVE)).space  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        services.amend_contract(contract=contract, by=admin, effective_date=TODAY, change_space=(office.pk, taken))
    assert exc.value.code == "space_unavailable"
    assert contract.lines.count() == 1


# --------------------------------------------------------------------------------------------------
# Occupancy, company hooks
# --------------------------------------------------------------------------------------------------
def test_occupancy_provider_states(org, center):
    running = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                              start_date=TODAY - datetime.timedelta(days=10))  # fmt: skip
    occupied = ContractLineFactory(contract=running, start_date=running.start_date).space
    future = ContractFactory(organization=org, center=center, status=Contract.Status.SIGNED,
                             start_date=TODAY + datetime.timedelta(days=10))  # fmt: skip
    reserved = ContractLineFactory(contract=future).space
    draft = ContractLineFactory(contract=ContractFactory(organization=org, center=center)).space
    closed = ContractLineFactory(contract=running, start_date=running.start_date,
                                 end_date=TODAY - datetime.timedelta(days=1)).space  # fmt: skip
    ids = [occupied.pk, reserved.pk, draft.pk, closed.pk]
    with CaptureQueriesContext(connection) as queries:
        states = provider(ids, TODAY)
    assert len(queries) == 1
    assert states == {occupied.pk: "occupied", reserved.pk: "reserved"}


def test_floor_plans_see_contracts_through_the_registered_provider(org, center):
    from comptoir.catalog import occupancy

    assert provider in occupancy.providers()
    running = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                              start_date=TODAY - datetime.timedelta(days=10))  # fmt: skip
    occupied = ContractLineFactory(contract=running, start_date=running.start_date).space
    free = SpaceFactory(organization=org, center=center)
    assert occupancy.states([occupied, free], TODAY) == {occupied.pk: "occupied", free.pk: "free"}


def test_company_with_contracts_cannot_be_deleted(org):
    contract = ContractFactory(organization=org)
    assert "elle a des devis ou des contrats" in deletion_blockers(contract.company)


# --------------------------------------------------------------------------------------------------
# The PDF's data
# --------------------------------------------------------------------------------------------------
def test_contract_pdf_data_has_parties_prices_conditions_and_terms(org, center, admin):
    from comptoir.sales.pdf.contract import contract_data, render_contract_pdf

    center.legal_entity.siret, center.legal_entity.vat_number = "73282932000074", "FR44732829320"
    center.legal_entity.save()
    terms = TermsFactory(organization=org, version=3, title="CGV 2027", body="Article 1 — Objet.\n\nArticle 2 — Durée.")
    contract = ContractFactory(organization=org, center=center, terms=terms, deposit=Decimal("1500.00"))
    ContractLineFactory(contract=contract, description="Bureau 12", unit_price=Decimal("1234.56"),
                        amount_excl_vat=Decimal("1234.56"))  # fmt: skip
    ContractLineFactory(contract=contract, space=None, kind=PricedLine.Kind.ONE_OFF, description="Frais de dossier",
                        unit_price=Decimal("90.00"), amount_excl_vat=Decimal("90.00"), is_recurring=False)  # fmt: skip

    data = contract_data(contract)

    assert "SIRET 73282932000074" in data["provider"]["lines"] and "TVA FR44732829320" in data["provider"]["lines"]
    assert data["rows"] == [["Bureau 12", "1", "1\u202f234,56\u00a0€", "1\u202f234,56\u00a0€", "20 %",
                             "246,91\u00a0€", "1\u202f481,47\u00a0€"]]  # fmt: skip
    assert data["one_off_rows"][0][0] == "Frais de dossier"
    assert data["totals"][2] == ["Total mensuel TTC", "1\u202f481,47\u00a0€"]
    conditions = dict(data["conditions"])
    assert conditions["Dépôt de garantie"] == "1\u202f500,00\u00a0€"
    assert conditions["Préavis"] == "3 mois" and conditions["Mode de paiement"] == "Virement (mode de l'entreprise)"
    assert data["terms"]["title"] == "CGV 2027" and data["terms"]["paragraphs"] == ["Article 1 — Objet.",
                                                                                   "Article 2 — Durée."]  # fmt: skip
    assert data["signature"] == "Signature électronique par code SMS — voir la page de preuve"
    pdf = render_contract_pdf(contract)
    assert pdf.startswith(b"%PDF") and b"/Count 2" in pdf  # the contract, then the terms on their own page


def test_daily_end_of_contracts_past_their_end(org):
    over = ContractFactory(organization=org, status=Contract.Status.NOTICE_GIVEN,
                           start_date=TODAY - datetime.timedelta(days=400),
                           commitment_end=TODAY - datetime.timedelta(days=36),
                           end_date=TODAY - datetime.timedelta(days=1))  # fmt: skip
    running = ContractFactory(organization=org, status=Contract.Status.NOTICE_GIVEN, end_date=TODAY)
    assert "contracts ended" in daily_jobs()
    assert services.end_due_contracts(TODAY) == 1
    over.refresh_from_db()
    running.refresh_from_db()
    assert (over.status, running.status) == (Contract.Status.ENDED, Contract.Status.NOTICE_GIVEN)


def test_amendment_under_notice_opens_lines_that_end_with_the_contract(org, center, admin):
    contract, _office = amendable(org, center)
    services.give_notice(contract=contract, by=admin, notice_date=TODAY)
    contract.refresh_from_db()
    option = ProductFactory(organization=org, kind="option", unit_price=Decimal("30.00"), service_type="")
    services.amend_contract(contract=contract, by=admin, effective_date=TODAY, add=[{"product": option}])
    assert ContractLine.objects.get(contract=contract, version=2).end_date == contract.end_date


def test_a_contract_without_lines_cannot_be_sent(org, admin):
    TermsFactory(organization=org, version=1)
    contract = ContractFactory(organization=org)
    with pytest.raises(DomainError) as exc:
        services.send_for_signature(contract=contract, by=admin, signer=signer_of(contract.company))
    assert exc.value.code == "no_lines"
