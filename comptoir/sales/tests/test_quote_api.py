"""API of quotes: the builder flow (create → offers → send → accept), refusals as 4xx JSON, tenancy."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from comptoir.core.tests.test_api import error_of
from comptoir.sales.models import Offer, Quote
from comptoir.sales.tests.factories import QuoteFactory
from comptoir.sales.tests.test_quotes_support import Catalog

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def catalog(org, center):  # type: ignore[no-untyped-def]
    return Catalog(org, center)


def offer_body(catalog, **extra):  # type: ignore[no-untyped-def]
    return {
        "title": "Bureau 12 m²",
        "service_type": "private_office",
        "term_months": 12,
        "start_date": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
        "deposit": "950.00",
        "lines": [{"space": catalog.office.pk, "quantity": "1"}, {"product": catalog.option.pk, "quantity": 3}],
        **extra,
    }


def test_flow_create_offers_send_accept(catalog, admin, api_client, mailoutbox):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    created = api.post(f"{API}/quotes/", {"opportunity": catalog.opportunity.pk}, format="json",
                       HTTP_IDEMPOTENCY_KEY="quote-1")  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["reference"] == "DV-000001" and body["status"] == "draft" and body["company"] == catalog.company.pk
    replay = api.post(f"{API}/quotes/", {"opportunity": catalog.opportunity.pk}, format="json",
                      HTTP_IDEMPOTENCY_KEY="quote-1")  # fmt: skip
    assert replay["Idempotent-Replayed"] == "true" and Quote.objects.count() == 1
    url = f"{API}/quotes/{body['id']}"

    response = api.put(f"{url}/offers/1/", offer_body(catalog), format="json")
    assert response.status_code == 200, response.content
    [offer] = response.json()["offers"]
    assert offer["monthly_excl_vat"] == "475.45" and offer["monthly_vat"] == "95.05"
    assert offer["vat_by_rate"] == {"20.00": "95.00", "10.00": "0.05"}
    assert offer["lines"][0]["unit_price"] == "475.00" and offer["lines"][0]["breakdown"]["steps"][0]["code"] == "base"
    domiciliation = offer_body(catalog, title="Domiciliation", service_type="domiciliation",
                               lines=[{"product": catalog.domiciliation.pk, "discounts": [
                                   {"discount": catalog.discount.pk, "percent": "5"}]}])  # fmt: skip
    response = api.put(f"{url}/offers/2/", domiciliation, format="json")
    assert response.status_code == 200 and len(response.json()["offers"]) == 2
    assert response.json()["offers"][1]["lines"][0]["unit_price"] == "44.22"  # 49 × 0.95 = 46.55, − 5 %

    response = api.patch(f"{url}/", {"notes": "Accès 24 h/24."}, format="json")
    assert response.status_code == 200 and response.json()["notes"] == "Accès 24 h/24."

    response = api.post(f"{url}/send/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "sent"
    assert len(mailoutbox) == 2

    pdf = api.get(f"{url}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    response = api.post(f"{url}/accept/", {"offer": 2}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert response.json()["chosen_offer"] == Offer.objects.get(quote_id=body["id"], position=2).pk
    error_of(api.post(f"{url}/accept/", {"offer": 1}, format="json"), 400, "already_decided")


def test_refusals_are_4xx(catalog, admin, staff_of, api_client, mailoutbox):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    quote_id = api.post(f"{API}/quotes/", {"company": catalog.company.pk}, format="json").json()["id"]
    url = f"{API}/quotes/{quote_id}"
    error_of(api.put(f"{url}/offers/5/", offer_body(catalog), format="json"), 400, "too_many_offers")
    error_of(api.put(f"{url}/offers/x/", offer_body(catalog), format="json"), 400, "too_many_offers")
    error = error_of(api.put(f"{url}/offers/1/", offer_body(catalog, lines=[{"space": 999999}]), format="json"), 400)
    assert "lines.0.space" in error["fields"]
    error = error_of(api.put(f"{url}/offers/1/", {"lines": []}, format="json"), 400)
    assert "service_type" in error["fields"]
    error_of(api.post(f"{url}/send/", {}, format="json"), 400, "no_offer")
    error_of(api.post(f"{url}/accept/", {"offer": 1}, format="json"), 400)
    error_of(api.delete(f"{url}/offers/3/"), 400, "not_found")
    error = error_of(api.post(f"{API}/quotes/", {"company": catalog.company.pk, "surprise": 1}, format="json"), 400)
    assert "surprise" in error["fields"]

    manager_api = api_client(staff_of("manager"))
    body = offer_body(catalog, lines=[{"space": catalog.office.pk,
                                       "discounts": [{"discount": catalog.discount.pk, "percent": "15"}]}])  # fmt: skip
    error = error_of(manager_api.put(f"{url}/offers/1/", body, format="json"), 400, "discount_not_allowed")
    assert "lines.0.discounts" in error["fields"]
    assert not Offer.objects.exists()

    reception = api_client(staff_of("reception"))
    assert reception.get(f"{url}/").status_code == 200
    error_of(reception.put(f"{url}/offers/1/", offer_body(catalog), format="json"), 403)
    error_of(reception.post(f"{API}/quotes/", {"company": catalog.company.pk}, format="json"), 403)

    # expired
    api.put(f"{url}/offers/1/", offer_body(catalog), format="json")
    api.post(f"{url}/send/", {}, format="json")
    Quote.objects.filter(pk=quote_id).update(valid_until=timezone.localdate() - datetime.timedelta(days=1))
    error = error_of(api.post(f"{url}/accept/", {"offer": 1}, format="json"), 400, "expired")
    assert "expiré" in error["message"]
    error_of(api.post(f"{url}/refuse/", {}, format="json"), 400)


def test_other_organization_answers_404(catalog, admin, api_client, other_org):  # type: ignore[no-untyped-def]
    from comptoir.crm.tests.factories import CompanyFactory

    api = api_client(admin)
    foreign = QuoteFactory(organization=other_org)
    url = f"{API}/quotes/{foreign.pk}"
    for response in (
        api.get(f"{url}/"),
        api.get(f"{url}/pdf/"),
        api.put(f"{url}/offers/1/", offer_body(catalog), format="json"),
        api.delete(f"{url}/offers/1/"),
        api.post(f"{url}/send/", {}, format="json"),
        api.post(f"{url}/accept/", {"offer": 1}, format="json"),
        api.post(f"{url}/refuse/", {"reason": "x"}, format="json"),
        api.patch(f"{url}/", {"title": "x"}, format="json"),
        api.delete(f"{url}/"),
    ):
        assert response.status_code == 404
    assert api.get(f"{API}/quotes/").json()["results"] == []
    error = error_of(api.post(f"{API}/quotes/", {"company": CompanyFactory(organization=other_org).pk},
                              format="json"), 400)  # fmt: skip
    assert "company" in error["fields"]
    foreign.refresh_from_db()
    assert foreign.status == Quote.Status.DRAFT


def test_list_filters(catalog, admin, api_client):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    first = api.post(f"{API}/quotes/", {"company": catalog.company.pk}, format="json").json()
    api.post(f"{API}/quotes/", {"opportunity": catalog.opportunity.pk}, format="json")
    listed = api.get(f"{API}/quotes/").json()["results"]
    assert [item["reference"] for item in listed] == ["DV-000002", "DV-000001"]
    only = api.get(f"{API}/quotes/", {"opportunity": catalog.opportunity.pk}).json()["results"]
    assert [item["reference"] for item in only] == ["DV-000002"]
    assert api.get(f"{API}/quotes/", {"status": "sent"}).json()["results"] == []
    assert api.delete(f"{API}/quotes/{first['id']}/").status_code == 204


def test_list_queries_do_not_grow_with_rows(catalog, admin, api_client, org, center):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from comptoir.sales.tests.factories import OfferLineFactory

    api = api_client(admin)

    def make(count: int) -> None:
        for _ in range(count):
            quote = QuoteFactory(organization=org, company=catalog.company, center=center)
            OfferLineFactory(offer__quote=quote, offer__position=1, space=catalog.office)

    make(2)
    api.get(f"{API}/quotes/")
    with CaptureQueriesContext(connection) as small:
        assert len(api.get(f"{API}/quotes/").json()["results"]) == 2
    make(20)
    with CaptureQueriesContext(connection) as large:
        assert len(api.get(f"{API}/quotes/").json()["results"]) == 22
    assert len(large) == len(small)
