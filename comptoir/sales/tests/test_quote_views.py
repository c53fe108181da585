"""Back office pages of quotes: the "Tarificateur" flow from an opportunity, the builder (HTMX preview,
errors at the field), the quote's page and its actions, the list (constant queries), the company tab."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.catalog.models import ServiceType
from comptoir.sales.models import Offer, Quote
from comptoir.sales.services import quotes as services
from comptoir.sales.tests.factories import QuoteFactory
from comptoir.sales.tests.test_quotes_support import Catalog, office_offer

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(org, center):  # type: ignore[no-untyped-def]
    return Catalog(org, center)


def offer_post(position: int, lines: list[dict], **fields) -> dict:  # type: ignore[type-arg]
    prefix = f"o{position}"
    data = {
        "position": str(position),
        f"{prefix}-title": fields.get("title", "Bureau 12 m²"),
        f"{prefix}-service_type": fields.get("service_type", ServiceType.PRIVATE_OFFICE),
        f"{prefix}-term_months": str(fields.get("term_months", 12)),
        f"{prefix}-start_date": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
        f"{prefix}-deposit": "950.00",
        f"{prefix}-lines-TOTAL_FORMS": str(len(lines) + 1),
        f"{prefix}-lines-INITIAL_FORMS": "0",
        f"{prefix}-lines-MIN_NUM_FORMS": "0",
        f"{prefix}-lines-MAX_NUM_FORMS": "30",
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"{prefix}-lines-{index}-{key}"] = str(value)
    return data


def test_tarificateur_flow_from_the_opportunity(catalog, admin, staff_client, mailoutbox):  # type: ignore[no-untyped-def]
    client = staff_client(admin)
    page = client.get(catalog.opportunity.get_absolute_url())
    builder_url = reverse("sales:quote_builder", args=[catalog.opportunity.pk])
    assert builder_url in page.content.decode() and "Tarificateur" in page.content.decode()
    assert client.get(builder_url).status_code == 200
    response = client.post(builder_url, {"center": catalog.opportunity.center_id, "title": "Bureaux Acme",
                                         "valid_until": (timezone.localdate() + datetime.timedelta(days=15)).isoformat()})  # fmt: skip
    quote = Quote.objects.get()
    assert response.status_code == 302 and response.url == reverse("sales:quote_edit", args=[quote.pk])
    assert quote.opportunity == catalog.opportunity and quote.title == "Bureaux Acme"
    # a second click on "Tarificateur" offers to resume the draft
    assert reverse("sales:quote_edit", args=[quote.pk]) in client.get(builder_url).content.decode()

    edit = client.get(response.url)
    assert edit.status_code == 200
    body = edit.content.decode()
    assert "Offre 4" in body and "Bureau 12" in body and "Remise fidélité" in body

    # live preview (HTMX): priced, nothing saved
    preview = client.post(reverse("sales:quote_offer_preview", args=[quote.pk]),
                          offer_post(1, [{"space": catalog.office.pk, "quantity": 1}]), HTTP_HX_REQUEST="true")  # fmt: skip
    assert preview.status_code == 200
    text = preview.content.decode()
    assert 'id="offer-1-preview"' in text and "475,00" in text and "570,00" in text and "500,00" in text
    assert Offer.objects.count() == 0

    saved = client.post(reverse("sales:quote_offer_save", args=[quote.pk]),
                        offer_post(2, [{"space": catalog.office.pk, "quantity": 1},
                                       {"product": catalog.fees.pk, "quantity": 1}]))  # fmt: skip
    assert saved.status_code == 302
    offer = Offer.objects.get(quote=quote)
    assert offer.position == 2 and offer.monthly_excl_vat == Decimal("475.00")
    assert offer.one_off_excl_vat == Decimal("150.00")
    again = client.get(reverse("sales:quote_edit", args=[quote.pk])).content.decode()
    assert "Enregistrer l&#x27;offre" in again or "Enregistrer l'offre" in again

    detail = client.get(quote.get_absolute_url())
    assert detail.status_code == 200 and "475,00" in detail.content.decode()

    sent = client.post(reverse("sales:quote_send", args=[quote.pk]), {"recipients": ["boss@acme.test"]})
    assert sent.status_code == 302
    quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT and [m.to for m in mailoutbox] == [["boss@acme.test"]]

    accepted = client.post(reverse("sales:quote_accept", args=[quote.pk]), {"offer": offer.pk})
    assert accepted.status_code == 302
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED and quote.chosen_offer == offer

    pdf = client.get(reverse("sales:quote_pdf", args=[quote.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_builder_shows_errors_at_the_field(catalog, staff_of, staff_client):  # type: ignore[no-untyped-def]
    manager = staff_of("manager")
    client = staff_client(manager)
    quote = services.create_quote(organization=catalog.company.organization, by=manager, company=catalog.company)
    url = reverse("sales:quote_offer_save", args=[quote.pk])
    lines = [{"space": catalog.office.pk, "quantity": 1, "discount": catalog.discount.pk, "percent": "15"}]
    response = client.post(url, offer_post(1, lines))
    assert response.status_code == 422
    body = response.content.decode()
    assert "limitée à 10 %" in body
    # the message sits in the line's block, at the discount field
    line_block = body.split('id="offer-1-line-0"')[1].split('id="offer-1-line-1"')[0]
    assert "limitée à 10 %" in line_block and "field-invalid" in line_block
    assert Offer.objects.count() == 0
    # a missing main service: at the offer's field
    response = client.post(url, offer_post(1, [{"space": catalog.office.pk}], service_type=""))
    assert response.status_code == 422 and 'id="field-o1-service_type"' in response.content.decode()
    # the preview shows the refusal too, without saving
    preview = client.post(reverse("sales:quote_offer_preview", args=[quote.pk]), offer_post(1, lines),
                          HTTP_HX_REQUEST="true")  # fmt: skip
    assert "limitée à 10 %" in preview.content.decode()
    assert Offer.objects.count() == 0


def test_quote_header_and_offer_delete(catalog, admin, staff_client):  # type: ignore[no-untyped-def]
    client = staff_client(admin)
    quote = services.create_quote(organization=catalog.company.organization, by=admin, company=catalog.company)
    offer = services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    url = reverse("sales:quote_edit", args=[quote.pk])
    past = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()
    response = client.post(url, {"quote-title": "X", "quote-valid_until": past, "quote-notes": ""})
    assert response.status_code == 422 and "La date de validité est passée." in response.content.decode()
    response = client.post(url, {"quote-title": "Nouvel objet", "quote-valid_until": timezone.localdate().isoformat()})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.title == "Nouvel objet"
    assert client.get(reverse("sales:offer_delete", args=[offer.pk])).status_code == 405
    assert client.post(reverse("sales:offer_delete", args=[offer.pk])).status_code == 302
    assert not quote.offers.exists()


def test_refuse_duplicate_delete(catalog, admin, staff_client, mailoutbox):  # type: ignore[no-untyped-def]
    client = staff_client(admin)
    quote = services.create_quote(organization=catalog.company.organization, by=admin, company=catalog.company)
    services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    services.send_quote(quote=quote, by=admin)
    response = client.post(reverse("sales:quote_refuse", args=[quote.pk]), {"reason": "Trop cher"})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == Quote.Status.REFUSED
    response = client.post(reverse("sales:quote_duplicate", args=[quote.pk]))
    copy = Quote.objects.exclude(pk=quote.pk).get()
    assert response.url == reverse("sales:quote_edit", args=[copy.pk]) and copy.offers.count() == 1
    assert client.post(reverse("sales:quote_delete", args=[quote.pk])).status_code == 302
    assert Quote.objects.filter(pk=quote.pk).exists()  # a refused quote stays
    assert client.post(reverse("sales:quote_delete", args=[copy.pk])).url == reverse("sales:quote_list")
    assert not Quote.objects.filter(pk=copy.pk).exists()


def test_reception_sees_but_cannot_build(catalog, admin, staff_of, staff_client):  # type: ignore[no-untyped-def]
    quote = services.create_quote(organization=catalog.company.organization, by=admin, company=catalog.company)
    client = staff_client(staff_of("reception"))
    assert client.get(quote.get_absolute_url()).status_code == 200
    assert client.get(reverse("sales:quote_edit", args=[quote.pk])).status_code == 403
    assert client.get(reverse("sales:quote_builder", args=[catalog.opportunity.pk])).status_code == 403
    page = client.get(catalog.opportunity.get_absolute_url()).content.decode()
    assert reverse("sales:quote_builder", args=[catalog.opportunity.pk]) not in page


def test_other_organization_quotes_answer_404(catalog, admin, staff_client, other_org):  # type: ignore[no-untyped-def]
    foreign = QuoteFactory(organization=other_org)
    client = staff_client(admin)
    for name in ("quote_detail", "quote_edit", "quote_pdf", "quote_send", "quote_refuse", "quote_delete"):
        assert client.get(reverse(f"sales:{name}", args=[foreign.pk])).status_code == 404, name
    for name in ("quote_offer_save", "quote_offer_preview", "quote_accept", "quote_duplicate"):
        assert client.post(reverse(f"sales:{name}", args=[foreign.pk])).status_code == 404, name


def test_list_queries_do_not_grow_with_rows(catalog, admin, staff_client, org, center):  # type: ignore[no-untyped-def]
    client = staff_client(admin)

    def make(count: int) -> None:
        for _ in range(count):
            quote = QuoteFactory(organization=org, company=catalog.company, center=center)
            Offer.objects.create(quote=quote, position=1, title="A", service_type="coworking",
                                 start_date=timezone.localdate(), monthly_excl_vat=Decimal("300.00"))  # fmt: skip

    url = reverse("sales:quote_list")
    make(3)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200 and "300,00" in response.content.decode()
    make(30)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url, {"status": "draft", "q": "Acme"})
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large_plain:
        client.get(url)
    assert len(small) == len(large_plain)
    assert len(large) <= len(small) + 1
    csv = client.get(url, {"export": "csv"})
    assert csv.status_code == 200 and b"DV-" in b"".join(csv.streaming_content)


def test_company_tab_lists_its_quotes(catalog, admin, staff_client):  # type: ignore[no-untyped-def]
    quote = services.create_quote(organization=catalog.company.organization, by=admin, company=catalog.company)
    client = staff_client(admin)
    page = client.get(catalog.company.get_absolute_url()).content.decode()
    tab_url = reverse("sales:company_quotes", args=[catalog.company.pk])
    assert tab_url in page
    tab = client.get(tab_url, HTTP_HX_REQUEST="true")
    assert tab.status_code == 200 and quote.reference in tab.content.decode()
    create = client.get(reverse("sales:quote_create", args=[catalog.company.pk]))
    assert create.status_code == 200


def test_list_search_by_reference_company_or_subject(catalog, admin, staff_client, org, center):  # type: ignore[no-untyped-def]
    from comptoir.crm.tests.factories import CompanyFactory

    first = QuoteFactory(organization=org, company=catalog.company, center=center, number=123, title="Bureaux")
    other = QuoteFactory(organization=org, company=CompanyFactory(organization=org, name="Zeta"), center=center,
                         number=124, title="Domiciliation")  # fmt: skip
    client = staff_client(admin)
    url = reverse("sales:quote_list")

    def found(term: str) -> set[str]:
        body = client.get(url, {"q": term}).content.decode()
        return {quote.reference for quote in (first, other) if quote.reference in body}

    assert found("DV-000123") == {"DV-000123"}
    assert found("124") == {"DV-000124"}
    assert found("acme") == {"DV-000123"}
    assert found("domicil") == {"DV-000124"}


def test_send_failure_keeps_the_draft(catalog, admin, staff_client, settings):  # type: ignore[no-untyped-def]
    quote = services.create_quote(organization=catalog.company.organization, by=admin, company=catalog.company)
    services.save_offer(quote=quote, by=admin, position=1, data=office_offer(catalog))
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1}}}  # fmt: skip
    response = staff_client(admin).post(
        reverse("sales:quote_send", args=[quote.pk]), {"recipients": ["boss@acme.test"]}
    )
    assert response.status_code == 422 and "pas pu partir" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DRAFT and quote.sent_at is None
