"""Quote services: numbering, offers priced by the catalog and frozen, totals per VAT rate, discounts
within the role's allowance, sending (e-mail with the PDF, opportunity moved), decisions, expiry."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from comptoir.catalog.models import ServiceType
from comptoir.core import events, housekeeping
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.crm.models import Opportunity
from comptoir.sales.models import Offer, OfferLine, Quote
from comptoir.sales.pdf.quote import quote_pdf_data, render_quote_pdf
from comptoir.sales.services import quotes as services
from comptoir.sales.tests.test_quotes_support import Catalog, office_offer

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(org, center):  # type: ignore[no-untyped-def]
    return Catalog(org, center)


def _quote(catalog, by, **data):  # type: ignore[no-untyped-def]
    return services.create_quote(organization=catalog.company.organization, by=by, opportunity=catalog.opportunity,
                                 data=data)  # fmt: skip


def test_create_quote_numbers_and_defaults(catalog, admin, center):  # type: ignore[no-untyped-def]
    first = _quote(catalog, admin)
    second = services.create_quote(organization=center.organization, by=admin, company=catalog.company, data={})
    assert (first.number, second.number) == (1, 2)
    assert first.reference == "DV-000001"
    assert first.company == catalog.company and first.center == center
    assert first.legal_entity == center.legal_entity
    assert first.valid_until == timezone.localdate() + datetime.timedelta(days=30)
    assert first.status == Quote.Status.DRAFT and "Acme" in first.title
    assert AuditEntry.objects.filter(action="quote.created", object_id=str(first.pk)).exists()


def test_create_quote_refuses_reception_and_other_org(catalog, staff_of, other_admin, other_org):  # type: ignore[no-untyped-def]
    with pytest.raises(RightsError):
        _quote(catalog, staff_of("reception"))
    with pytest.raises(RightsError):
        services.create_quote(organization=catalog.company.organization, by=other_admin, company=catalog.company)
    with pytest.raises(ValidationFailed) as exc:
        services.create_quote(organization=other_org, by=other_admin, company=catalog.company)
    assert "company" in exc.value.fields
    assert Quote.objects.count() == 0


def test_offer_priced_by_the_catalog_with_breakdown(catalog, admin):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    offer = services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    [line] = offer.lines.all()
    assert line.kind == "space" and line.space == catalog.office
    assert line.unit_price == Decimal("475.00")  # 12.5 m² × 40 € = 500.00, × 0.95 (12 months)
    assert line.amount_excl_vat == Decimal("475.00")
    assert [step["amount"] for step in line.breakdown["steps"]] == ["500.00", "475.00"]
    assert offer.monthly_excl_vat == Decimal("475.00")
    assert offer.monthly_vat == Decimal("95.00") and offer.monthly_incl_vat == Decimal("570.00")


def test_totals_vat_per_rate_on_the_sum_of_lines(catalog, admin):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    lines = [{"space": catalog.office, "quantity": 1}] + [{"product": catalog.option, "quantity": 1}] * 3
    lines.append({"product": catalog.fees, "quantity": 1})
    offer = services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog, lines=lines))
    kinds = list(offer.lines.values_list("kind", "is_recurring"))
    assert kinds[-1] == ("one_off", False) and kinds[1] == ("option", True)
    # 3 × 0.15 € at 10 %: VAT on the sum 0.45 → 0.045 → 0.05 (per line it would be 3 × 0.02 = 0.06)
    assert offer.monthly_excl_vat == Decimal("475.45")
    assert offer.monthly_vat == Decimal("95.00") + Decimal("0.05")
    assert offer.monthly_incl_vat == Decimal("570.50")
    assert offer.one_off_excl_vat == Decimal("150.00")
    totals = services.compute_totals(list(offer.lines.all()))
    assert totals.monthly_vat_by_rate == {Decimal("20.00"): Decimal("95.00"), Decimal("10.00"): Decimal("0.05")}
    assert totals.one_off_incl_vat == Decimal("180.00")


def test_quantity_times_unit_price_rounded_half_up(catalog, admin):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    lines = [{"product": catalog.option, "quantity": "2.5"}]  # 2.5 × 0.15 = 0.375 → 0.38
    offer = services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog, lines=lines))
    assert offer.lines.get().amount_excl_vat == Decimal("0.38")


def test_at_most_four_offers(catalog, admin):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    for position in range(1, 5):
        services.save_offer(quote=quote, by=admin, position=position, data=office_offer(catalog))
    for position in (0, 5):
        with pytest.raises(ValidationFailed) as exc:
            services.save_offer(quote=quote, by=admin, position=position, data=office_offer(catalog))
        assert exc.value.code == "too_many_offers"
    assert quote.offers.count() == 4
    # saving position 2 again replaces it
    services.save_offer(quote=quote, by=admin, position=2, data=office_offer(catalog, title="Autre"))
    assert quote.offers.count() == 4 and quote.offers.get(position=2).title == "Autre"
    services.delete_offer(quote=quote, by=admin, position=2)
    assert list(quote.offers.values_list("position", flat=True)) == [1, 3, 4]


def test_prices_frozen_after_catalog_change(catalog, admin):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    lines = [{"space": catalog.office}, {"product": catalog.domiciliation}]
    services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog, lines=lines))
    catalog.rate.price_per_m2 = Decimal("60.00")
    catalog.rate.save()
    catalog.domiciliation.unit_price = Decimal("99.00")
    catalog.domiciliation.save()
    catalog.grid.rules.update(coefficient=Decimal("0.80"))
    offer = Offer.objects.get(quote=quote)
    assert [line.unit_price for line in offer.lines.all()] == [Decimal("475.00"), Decimal("46.55")]
    assert offer.lines.first().breakdown["steps"][0]["detail"] == "12,50 m² × 40 €"
    assert offer.monthly_excl_vat == Decimal("521.55")
    # the PDF shows the frozen prices, a duplicate takes today's
    assert quote_pdf_data(quote)["offers"][0]["raw"]["monthly_excl_vat"] == "521.55"
    copy = services.duplicate_quote(quote=quote, by=admin)
    assert copy.number == quote.number + 1 and copy.status == Quote.Status.DRAFT
    new_offer = copy.offers.get()
    assert [line.unit_price for line in new_offer.lines.all()] == [Decimal("600.00"), Decimal("79.20")]
    assert Offer.objects.get(quote=quote).monthly_excl_vat == Decimal("521.55")


def test_discount_within_allowance(catalog, staff_of, center):  # type: ignore[no-untyped-def]
    manager = staff_of("manager")
    quote = _quote(catalog, manager)
    data = office_offer(catalog, lines=[{"space": catalog.office, "discounts": [{"discount": catalog.discount}]}])
    offer = services.save_offer(quote=quote, by=manager, position=1, data=data)
    line = offer.lines.get()
    assert line.unit_price == Decimal("427.50")  # 475.00 − 10 %
    assert line.breakdown["discounts"] == [{"discount": catalog.discount.pk, "percent": "10.00"}]


def test_discount_beyond_allowance_refused_nothing_saved(catalog, staff_of):  # type: ignore[no-untyped-def]
    manager = staff_of("manager")
    quote = _quote(catalog, manager)
    data = office_offer(
        catalog,
        lines=[{"space": catalog.office}, {"space": catalog.office,
                                           "discounts": [{"discount": catalog.discount.pk, "percent": "15"}]}],
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        services.save_offer(quote=quote, by=manager, position=1, data=data)
    assert exc.value.code == "discount_not_allowed"
    assert "lines.1.discounts" in exc.value.fields
    assert "10 %" in exc.value.message
    assert Offer.objects.count() == 0 and OfferLine.objects.count() == 0


def test_space_of_other_center_or_inactive_refused(catalog, admin, org):  # type: ignore[no-untyped-def]
    from comptoir.catalog.tests.factories import SpaceFactory

    quote = _quote(catalog, admin)
    elsewhere = SpaceFactory(organization=org)
    with pytest.raises(ValidationFailed) as exc:
        services.save_offer(quote=quote, by=admin, position=1,
                            data=office_offer(catalog, lines=[{"space": elsewhere}]))  # fmt: skip
    assert "lines.0.space" in exc.value.fields
    catalog.office.is_active = False
    catalog.office.save()
    with pytest.raises(ValidationFailed) as exc:
        services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    assert exc.value.code == "inactive"
    catalog.fees.is_active = False
    catalog.fees.save()
    with pytest.raises(ValidationFailed) as exc:
        services.save_offer(quote=quote, by=admin, position=1,
                            data=office_offer(catalog, lines=[{"product": catalog.fees.pk}]))  # fmt: skip
    assert "lines.0.product" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog, lines=[]))
    assert "lines" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.save_offer(quote=quote, by=admin, position=1,
                            data=office_offer(catalog, service_type="", lines=[{"product": catalog.option}]))  # fmt: skip
    assert "service_type" in exc.value.fields
    assert Offer.objects.count() == 0


def _sent(catalog, admin, mailoutbox=None):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    services.save_offer(quote=quote, by=admin, position=2, data=office_offer(
        catalog, title="Domiciliation", service_type=ServiceType.DOMICILIATION,
        lines=[{"product": catalog.domiciliation}]))  # fmt: skip
    return services.send_quote(quote=quote, by=admin)


def test_send_emails_pdf_and_moves_opportunity(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    assert quote.status == Quote.Status.SENT and quote.sent_at is not None
    assert sorted(m.to[0] for m in mailoutbox) == ["boss@acme.test", "compta@acme.test"]
    message = mailoutbox[0]
    assert quote.reference in message.subject
    assert "/portal/" in message.body
    [(name, content, mimetype)] = message.attachments
    assert name == "DV-000001.pdf" and mimetype == "application/pdf" and content.startswith(b"%PDF")
    catalog.opportunity.refresh_from_db()
    assert catalog.opportunity.stage == Opportunity.Stage.QUOTE_SENT
    assert AuditEntry.objects.filter(action="quote.sent", object_id=str(quote.pk)).exists()


def test_send_does_not_move_an_opportunity_further_on(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    Opportunity.objects.filter(pk=catalog.opportunity.pk).update(stage=Opportunity.Stage.VISIT_PLANNED)
    _sent(catalog, admin)
    catalog.opportunity.refresh_from_db()
    assert catalog.opportunity.stage == Opportunity.Stage.VISIT_PLANNED


def test_send_needs_an_offer_a_validity_and_recipients(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    with pytest.raises(ValidationFailed) as exc:
        services.send_quote(quote=quote, by=admin)
    assert exc.value.code == "no_offer"
    services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - datetime.timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        services.send_quote(quote=quote, by=admin)
    assert "valid_until" in exc.value.fields
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate())
    with pytest.raises(ValidationFailed) as exc:
        services.send_quote(quote=quote, by=admin, recipients=["not-an-address"])
    assert "recipients" in exc.value.fields
    catalog.company.contacts.update(is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        services.send_quote(quote=quote, by=admin)
    assert exc.value.code == "no_recipient"
    assert mailoutbox == [] and Quote.objects.get(pk=quote.pk).status == Quote.Status.DRAFT
    services.send_quote(quote=quote, by=admin, recipients=["Someone@Else.test"])
    assert [m.to for m in mailoutbox] == [["someone@else.test"]]


def test_sent_quote_is_no_longer_editable(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    with pytest.raises(DomainError) as exc:
        services.save_offer(quote=quote, by=admin, position=3, data=office_offer(catalog))
    assert exc.value.code == "not_draft"
    with pytest.raises(DomainError):
        services.update_quote(quote=quote, by=admin, data={"title": "x"})
    with pytest.raises(DomainError):
        services.delete_quote(quote=quote, by=admin)


def test_accept_by_staff_then_twice_refused(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    offer = quote.offers.get(position=2)
    received = []
    events.subscribe("quote.accepted", lambda **payload: received.append(payload))
    quote = services.accept_offer(quote=quote, offer=offer, by=admin)
    assert quote.status == Quote.Status.ACCEPTED and quote.chosen_offer == offer and quote.decided_at
    assert received and received[-1]["quote"].pk == quote.pk
    with pytest.raises(DomainError) as exc:
        services.accept_offer(quote=quote, offer=quote.offers.get(position=1), by=admin)
    assert exc.value.code == "already_decided"
    assert Quote.objects.get(pk=quote.pk).chosen_offer == offer


def test_accept_by_portal_contact_needs_capability(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    offer = quote.offers.get(position=1)
    with pytest.raises(RightsError):
        services.accept_offer(quote=quote, offer=offer, contact=catalog.user_contact)
    with pytest.raises(RightsError):
        services.accept_offer(quote=quote, offer=offer)
    quote = services.accept_offer(quote=quote, offer=offer, contact=catalog.admin_contact)
    assert quote.status == Quote.Status.ACCEPTED


def test_accept_offer_of_another_quote_refused(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    other = _quote(catalog, admin)
    foreign = services.save_offer(quote=other, by=admin, position=1, data=office_offer(catalog))
    with pytest.raises(ValidationFailed) as exc:
        services.accept_offer(quote=quote, offer=foreign, by=admin)
    assert "offer" in exc.value.fields


def test_expired_quote_cannot_be_accepted(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - datetime.timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        services.accept_offer(quote=quote, offer=quote.offers.first(), by=admin)
    assert exc.value.code == "expired" and "expiré" in exc.value.message
    assert housekeeping.daily_jobs()["quotes expired"]() == 1
    assert services.expire_quotes() == 0  # idempotent
    quote.refresh_from_db()
    assert quote.status == Quote.Status.EXPIRED
    with pytest.raises(ValidationFailed):
        services.accept_offer(quote=quote, offer=quote.offers.first(), contact=catalog.admin_contact)


def test_refuse_with_reason(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    quote = _sent(catalog, admin)
    with pytest.raises(ValidationFailed) as exc:
        services.refuse_quote(quote=quote, by=admin, reason=" ")
    assert "reason" in exc.value.fields
    quote = services.refuse_quote(quote=quote, by=admin, reason="Trop cher")
    assert quote.status == Quote.Status.REFUSED and quote.refusal_reason == "Trop cher"
    with pytest.raises(DomainError):
        services.accept_offer(quote=quote, offer=quote.offers.first(), by=admin)


def test_update_and_delete_draft(catalog, admin, staff_of):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin)
    quote = services.update_quote(quote=quote, by=admin, data={"title": "Nouveau", "notes": "Remise accordée."})
    assert quote.title == "Nouveau"
    with pytest.raises(ValidationFailed) as exc:
        services.update_quote(quote=quote, by=admin,
                              data={"valid_until": timezone.localdate() - datetime.timedelta(days=2)})  # fmt: skip
    assert "valid_until" in exc.value.fields
    with pytest.raises(RightsError):
        services.delete_quote(quote=quote, by=staff_of("reception"))
    services.delete_quote(quote=quote, by=admin)
    assert not Quote.objects.filter(pk=quote.pk).exists()


def test_pdf_renders_with_totals_to_the_cent(catalog, admin):  # type: ignore[no-untyped-def]
    quote = _quote(catalog, admin, notes="Accès 24 h/24.")
    lines = [{"space": catalog.office}] + [{"product": catalog.option}] * 3 + [{"product": catalog.fees}]
    for position in range(1, 5):
        services.save_offer(quote=quote, by=admin, position=position, data=office_offer(catalog, lines=lines))
    data = quote_pdf_data(quote)
    assert len(data["offers"]) == 4
    first = data["offers"][0]
    offer = quote.offers.get(position=1)
    assert first["raw"]["monthly_excl_vat"] == str(offer.monthly_excl_vat)
    assert first["raw"]["monthly_incl_vat"] == str(offer.monthly_incl_vat)
    assert first["monthly_excl_vat"] == "475,45\xa0€"
    assert [v["amount"] for v in first["monthly_vat"]] == ["95,00\xa0€", "0,05\xa0€"]
    assert first["one_off_excl_vat"] == "150,00\xa0€" and first["deposit"] == "950,00\xa0€"
    assert first["lines"][0]["breakdown"][0]["detail"] == "12,50 m² × 40 €"
    assert data["issuer"]["name"] == quote.legal_entity.name and "SIRET" in data["issuer"]["ids"]
    assert data["client"]["name"] == "Acme"
    pdf = render_quote_pdf(quote)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_portal_quotes_for_members_who_see_documents(catalog, admin, mailoutbox):  # type: ignore[no-untyped-def]
    from comptoir.sales.selectors.quotes import portal_quotes

    draft = _quote(catalog, admin)
    sent = _sent(catalog, admin)
    assert list(portal_quotes(catalog.admin_contact)) == [sent]
    assert draft not in portal_quotes(catalog.admin_contact)
    assert list(portal_quotes(catalog.user_contact)) == []


def test_pdf_date_in_the_center_timezone(catalog, admin):  # type: ignore[no-untyped-def]
    import datetime as dt

    quote = _quote(catalog, admin)
    # 23:30 UTC on 31 December is already 1 January in Paris
    Quote.objects.filter(pk=quote.pk).update(created_at=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC))
    quote.refresh_from_db()
    assert dict(quote_pdf_data(quote)["facts"])["Date"] == "01/01/2027"
