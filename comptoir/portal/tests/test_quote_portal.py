"""Portal: a member sees a sent quote's offers and, as an administrator of the company, chooses one."""

from decimal import Decimal

from django.urls import reverse

from comptoir.crm.models import Contact
from comptoir.portal.tests.test_members import enter_portal
from comptoir.portal.tests.test_signature_portal import member
from comptoir.sales.models import Quote
from comptoir.sales.tests.factories import OfferFactory, OfferLineFactory, QuoteFactory


def _sent_quote(org):  # type: ignore[no-untyped-def]
    quote = QuoteFactory(organization=org, status=Quote.Status.SENT)
    offers = [OfferFactory(quote=quote, position=position, title=f"Solution {position}") for position in (1, 2)]
    for offer in offers:
        OfferLineFactory(offer=offer, amount_excl_vat=Decimal("500.00"))
        offer.monthly_excl_vat, offer.monthly_incl_vat = Decimal("500.00"), Decimal("600.00")
        offer.save()
    return quote, offers


def test_an_administrator_member_chooses_an_offer(org, client):
    quote, offers = _sent_quote(org)
    browser = enter_portal(client, member(quote.company), org)

    page = browser.get(reverse("portal:quote_detail", args=[quote.pk])).content.decode()
    assert "Solution 1" in page and "Solution 2" in page and "Choisir cette offre" in page
    assert "600,00" in page

    response = browser.post(reverse("portal:quote_accept", args=[quote.pk]), {"offer": offers[1].pk})

    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED and quote.chosen_offer == offers[1]
    page = browser.get(reverse("portal:quote_detail", args=[quote.pk])).content.decode()
    assert "Choisir cette offre" not in page and "Offre retenue" in page
    # a second choice is refused with a message, nothing changes
    browser.post(reverse("portal:quote_accept", args=[quote.pk]), {"offer": offers[0].pk})
    quote.refresh_from_db()
    assert quote.chosen_offer == offers[1]


def test_a_manager_sees_no_quote_and_another_company_gets_404(org, client):
    quote, offers = _sent_quote(org)
    browser = enter_portal(client, member(quote.company, role=Contact.CompanyRole.MANAGER), org)
    assert browser.get(reverse("portal:quote_detail", args=[quote.pk])).status_code == 404
    assert browser.post(reverse("portal:quote_accept", args=[quote.pk]), {"offer": offers[0].pk}).status_code == 404
    quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT
