"""The pages lead from one step to the next: accepted quote → contract, signed contract → evidence."""

from django.core.files.base import ContentFile
from django.urls import reverse

from comptoir.sales.models import Contract, Quote
from comptoir.sales.tests.factories import ContractFactory, OfferFactory, QuoteFactory


def test_an_accepted_quote_links_to_its_chosen_offer_contract_page(org, admin, staff_client):
    quote = QuoteFactory(organization=org)
    offer = OfferFactory(quote=quote)
    page = staff_client(admin).get(quote.get_absolute_url()).content.decode()
    assert reverse("sales:offer_contract", args=[offer.pk]) not in page

    Quote.objects.filter(pk=quote.pk).update(status=Quote.Status.ACCEPTED, chosen_offer=offer)
    page = staff_client(admin).get(quote.get_absolute_url()).content.decode()
    assert reverse("sales:offer_contract", args=[offer.pk]) in page


def test_a_signed_contract_links_to_its_signed_pdf_and_evidence(org, admin, staff_client):
    contract = ContractFactory(organization=org, status=Contract.Status.SIGNED)
    contract.signed_document.save("signed.pdf", ContentFile(b"%PDF-1.7"), save=False)
    contract.signed_document_sha256 = "0" * 64
    contract.save()
    page = staff_client(admin).get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()
    assert reverse("sales:contract_evidence", args=[contract.pk]) in page
    assert reverse("sales:contract_signed_pdf", args=[contract.pk]) in page
