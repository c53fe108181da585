"""Contracts in the back office and the API: list (filters, CSV, constant query count), page, actions,
the offer's readiness page, the company tab, the general terms, rights and tenancy."""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.catalog.tests.factories import CenterRateFactory, ProductFactory
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.factories import CenterFactory
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import ContactFactory
from comptoir.sales.models import Amendment, Contract, ContractLine, Quote, Terms
from comptoir.sales.selectors.contracts import commitment_end
from comptoir.sales.tests.factories import (
    ContractFactory,
    ContractLineFactory,
    OfferFactory,
    OfferLineFactory,
    QuoteFactory,
    TermsFactory,
)

TODAY = datetime.date.today()

test_other_organizations_objects_answer_404 = tenancy_walk_test(
    namespaces=["sales"], api_prefixes=["contracts", "terms"]
)


def accepted_offer(org, center, lines=1):  # type: ignore[no-untyped-def]
    quote = QuoteFactory(organization=org, center=center)
    offer = OfferFactory(quote=quote, start_date=TODAY + datetime.timedelta(days=7))
    for position in range(lines):
        OfferLineFactory(offer=offer, position=position)
    quote.status = Quote.Status.ACCEPTED
    quote.chosen_offer = offer
    quote.save()
    return offer


def taken_by_another_contract(org, center, offer):  # type: ignore[no-untyped-def]
    other = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE,
                            start_date=TODAY - datetime.timedelta(days=30))  # fmt: skip
    ContractLineFactory(contract=other, space=offer.lines.get().space, start_date=other.start_date)
    return other


def signer_of(company):  # type: ignore[no-untyped-def]
    return ContactFactory(organization=company.organization, company=company, email="admin@client.test",
                          company_role=Contact.CompanyRole.ADMINISTRATOR, has_portal_access=True)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Back office
# --------------------------------------------------------------------------------------------------
def test_contract_list_filters_csv_and_constant_queries(org, center, admin, staff_client):
    web = staff_client(admin)
    ContractLineFactory(contract=ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE))
    url = reverse("sales:contract_list")
    with CaptureQueriesContext(connection) as few:
        assert web.get(url).status_code == 200
    for _ in range(12):
        ContractLineFactory(contract=ContractFactory(organization=org, center=center))
    with CaptureQueriesContext(connection) as many:
        response = web.get(url)
    assert len(few) == len(many)
    assert response.content.count(b"CT-0") >= 13
    filtered = web.get(url, {"status": "active"})
    assert filtered.content.count(b"CT-0") == 1
    csv = web.get(url, {"export": "csv"})
    assert csv.status_code == 200 and b"500,00" in b"".join(csv.streaming_content)


def test_contract_page_shows_lines_and_breakdowns(org, center, admin, staff_client):
    contract = ContractFactory(organization=org, center=center)
    ContractLineFactory(contract=contract, description="Bureau 12",
                        breakdown={"steps": [{"label": "Surface × prix au m²", "detail": "12 m² × 40 €",
                                              "amount": "480.00", "delta": "480.00", "code": "base"}],
                                   "vat_rate": "20.00"})  # fmt: skip
    response = staff_client(admin).get(reverse("sales:contract_detail", args=[contract.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert contract.reference in content and "Bureau 12" in content and "12 m² × 40 €" in content
    assert reverse("sales:contract_send", args=[contract.pk]) in content


def test_offer_page_shows_thumbs_and_generates_the_contract(org, center, admin, staff_client):
    offer = accepted_offer(org, center)
    web = staff_client(admin)
    url = reverse("sales:offer_contract", args=[offer.pk])
    page = web.get(url)
    assert "👍" in page.content.decode() and "Générer le contrat" in page.content.decode()
    response = web.post(url, {"notice_months": 2, "renewal": "monthly", "billing_day": 5, "payment_method": ""})
    contract = Contract.objects.get(offer=offer)
    assert response.status_code == 302 and response["Location"] == contract.get_absolute_url()
    assert (contract.notice_months, contract.renewal, contract.billing_day) == (2, "monthly", 5)


def test_offer_page_refuses_a_space_already_under_contract(org, center, admin, staff_client):
    offer = accepted_offer(org, center)
    other = taken_by_another_contract(org, center, offer)
    web = staff_client(admin)
    url = reverse("sales:offer_contract", args=[offer.pk])
    page = web.get(url).content.decode()
    assert "❓" in page and other.reference in page and "Générer le contrat" not in page
    response = web.post(url, {"notice_months": 3, "renewal": "tacit", "billing_day": 1})
    assert response.status_code == 200
    assert "déjà sous contrat" in response.content.decode()
    assert not Contract.objects.filter(offer=offer).exists()


def test_send_for_signature_from_the_page(org, center, admin, staff_client, django_capture_on_commit_callbacks):
    TermsFactory(organization=org, version=1)
    contract = ContractFactory(organization=org, center=center)
    ContractLineFactory(contract=contract)
    signer = signer_of(contract.company)
    ContactFactory(organization=org, company=contract.company, email="user@client.test")  # not eligible
    web = staff_client(admin)
    url = reverse("sales:contract_send", args=[contract.pk])
    page = web.get(url).content.decode()
    assert "admin@client.test" in page and "user@client.test" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(url, {"signer": signer.pk})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_SIGNATURE
    pdf = web.get(reverse("sales:contract_pdf", args=[contract.pk]))
    body = b"".join(pdf.streaming_content)
    assert pdf["Content-Type"] == "application/pdf" and hashlib.sha256(body).hexdigest() == contract.document_sha256


def test_draft_pdf_is_rendered_on_the_fly(org, center, admin, staff_client):
    contract = ContractFactory(organization=org, center=center)
    ContractLineFactory(contract=contract)
    response = staff_client(admin).get(reverse("sales:contract_pdf", args=[contract.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_notice_and_cancel_from_the_page(org, center, admin, staff_client):
    web = staff_client(admin)
    active = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE)
    response = web.post(reverse("sales:contract_notice", args=[active.pk]), {"notice_date": TODAY.isoformat()})
    assert response.status_code == 302
    active.refresh_from_db()
    assert active.status == Contract.Status.NOTICE_GIVEN
    response = web.post(reverse("sales:contract_cancel", args=[active.pk]), {"reason": ""}, follow=True)
    assert "brouillon ou en attente" in response.content.decode()
    draft = ContractFactory(organization=org, center=center)
    web.post(reverse("sales:contract_cancel", args=[draft.pk]), {"reason": "Client parti"})
    draft.refresh_from_db()
    assert draft.status == Contract.Status.CANCELLED


def test_amend_preview_then_confirm(org, center, admin, staff_client):
    CenterRateFactory(center=center)
    start = TODAY.replace(day=1)
    contract = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE, start_date=start,
                               commitment_end=commitment_end(start, 12))  # fmt: skip
    ContractLineFactory(contract=contract)
    option = ProductFactory(organization=org, kind="option", service_type="", unit_price=Decimal("25.00"),
                            name="Casier")  # fmt: skip
    web = staff_client(admin)
    url = reverse("sales:contract_amend", args=[contract.pk])
    data = {"effective_date": TODAY.isoformat(), "product": option.pk, "quantity": "1"}
    preview = web.post(url, data)
    assert preview.status_code == 200
    content = preview.content.decode()
    assert "Aperçu de l&#x27;avenant" in content or "Aperçu de l'avenant" in content
    assert "525,00" in content and 'id="amendment-proration"' in content and "Casier" in content
    assert not Amendment.objects.exists()
    response = web.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    assert Amendment.objects.get(contract=contract).version == 2


def test_amend_an_ended_contract_is_refused_in_the_page(org, center, admin, staff_client):
    contract = ContractFactory(organization=org, center=center, status=Contract.Status.ENDED,
                               start_date=TODAY.replace(day=1))  # fmt: skip
    line = ContractLineFactory(contract=contract)
    response = staff_client(admin).post(
        reverse("sales:contract_amend", args=[contract.pk]),
        {"effective_date": TODAY.isoformat(), "remove_lines": [line.pk], "confirm": "1"},
    )
    assert response.status_code == 200
    assert "Un contrat terminé ne peut plus être modifié." in response.content.decode()
    assert not Amendment.objects.exists()


def test_company_tab_lists_its_contracts(org, center, admin, staff_client):
    contract = ContractFactory(organization=org, center=center)
    web = staff_client(admin)
    page = web.get(reverse("crm:company_detail", args=[contract.company.pk])).content.decode()
    assert reverse("sales:company_contracts", args=[contract.company.pk]) in page
    tab = web.get(reverse("sales:company_contracts", args=[contract.company.pk]), HTTP_HX_REQUEST="true")
    assert contract.reference in tab.content.decode()


def test_reception_sees_but_cannot_act(org, center, staff_of, staff_client):
    contract = ContractFactory(organization=org, center=center)
    web = staff_client(staff_of("reception"))
    assert web.get(reverse("sales:contract_detail", args=[contract.pk])).status_code == 200
    assert web.post(reverse("sales:contract_cancel", args=[contract.pk])).status_code == 403
    assert web.get(reverse("sales:terms_create")).status_code == 403


def test_terms_pages_publish_new_versions(org, admin, staff_client):
    web = staff_client(admin)
    response = web.post(reverse("sales:terms_create"), {"title": "CGV", "body": "Article 1\nArticle 2"})
    terms = Terms.objects.get(organization=org)
    assert response.status_code == 302 and terms.version == 1
    web.post(reverse("sales:terms_create"), {"title": "CGV", "body": "Article 1 modifié"})
    assert list(Terms.objects.filter(organization=org).values_list("version", flat=True)) == [2, 1]
    assert "Article 2" in web.get(reverse("sales:terms_detail", args=[terms.pk])).content.decode()
    assert "v2" in web.get(reverse("sales:terms_list")).content.decode()
    empty = web.post(reverse("sales:terms_create"), {"title": "CGV", "body": ""})
    assert empty.status_code == 200 and Terms.objects.filter(organization=org).count() == 2


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------
def test_api_create_from_offer_and_readiness(org, center, admin, api_client):
    api = api_client(admin)
    offer = accepted_offer(org, center)
    readiness = api.get("/api/v1/contracts/readiness/", {"offer": offer.pk})
    assert readiness.status_code == 200 and readiness.json()[0]["ok"] is True
    response = api.post("/api/v1/contracts/", {"offer": offer.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["reference"].startswith("CT-") and len(body["lines"]) == 1
    replay = api.post("/api/v1/contracts/", {"offer": offer.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201 and replay.json()["id"] == body["id"]
    assert Contract.objects.count() == 1


def test_api_list_filters_by_company_and_status(org, center, admin, api_client):
    mine = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE)
    ContractFactory(organization=org, center=center)
    api = api_client(admin)
    by_company = api.get("/api/v1/contracts/", {"company": mine.company_id}).json()["results"]
    assert [row["id"] for row in by_company] == [mine.pk]
    assert [row["id"] for row in api.get("/api/v1/contracts/", {"status": "active"}).json()["results"]] == [mine.pk]
    assert api.get("/api/v1/contracts/", {"company": 99999999999999999999}).status_code == 400


def test_api_refuses_a_space_already_under_contract(org, center, admin, api_client):
    offer = accepted_offer(org, center)
    taken_by_another_contract(org, center, offer)
    count = Contract.objects.count()
    response = api_client(admin).post("/api/v1/contracts/", {"offer": offer.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_ready"
    assert Contract.objects.count() == count


def test_api_offer_of_another_organization_is_unknown(org, other_org, admin, api_client):
    foreign = accepted_offer(other_org, CenterFactory(organization=other_org))
    response = api_client(admin).post("/api/v1/contracts/", {"offer": foreign.pk}, format="json")
    assert response.status_code == 400 and "offer" in response.json()["error"]["fields"]
    assert api_client(admin).get("/api/v1/contracts/readiness/", {"offer": foreign.pk}).status_code == 404


def test_api_send_amend_notice_cancel_pdf(org, center, admin, api_client, django_capture_on_commit_callbacks):
    api = api_client(admin)
    TermsFactory(organization=org, version=1)
    CenterRateFactory(center=center)
    start = TODAY.replace(day=1)
    contract = ContractFactory(organization=org, center=center, start_date=start,
                               commitment_end=commitment_end(start, 12))  # fmt: skip
    line = ContractLineFactory(contract=contract)
    base = f"/api/v1/contracts/{contract.pk}"
    bad = api.post(f"{base}/send-for-signature/", {"signer": ContactFactory(organization=org,
                   company=contract.company).pk}, format="json")  # fmt: skip
    assert bad.status_code == 400 and "signer" in bad.json()["error"]["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{base}/send-for-signature/", {"signer": signer_of(contract.company).pk}, format="json")
    assert sent.status_code == 200 and len(sent.json()["document_sha256"]) == 64
    pdf = api.get(f"{base}/pdf/")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")

    option = ProductFactory(organization=org, kind="option", service_type="", unit_price=Decimal("10.00"))
    payload = {"effective_date": TODAY.isoformat(), "add": [{"product": option.pk, "quantity": "3"}],
               "remove_line_ids": [line.pk]}  # fmt: skip
    preview = api.post(f"{base}/amendment-preview/", payload, format="json")
    assert preview.status_code == 200, preview.json()
    assert (preview.json()["monthly_before"], preview.json()["monthly_after"]) == ("500.00", "30.00")
    amended = api.post(f"{base}/amend/", payload, format="json")
    assert amended.status_code == 201 and amended.json()["version"] == 2

    assert api.post(f"{base}/notice/", {"notice_date": TODAY.isoformat()}, format="json").status_code == 400
    assert api.post(f"{base}/cancel/", {"reason": "Erreur"}, format="json").json()["status"] == "cancelled"
    refused = api.post(f"{base}/amend/", payload, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "cancelled"


def test_api_amend_ended_contract_refused(org, center, admin, api_client):
    contract = ContractFactory(organization=org, center=center, status=Contract.Status.ENDED,
                               start_date=TODAY.replace(day=1))  # fmt: skip
    line = ContractLineFactory(contract=contract)
    response = api_client(admin).post(
        f"/api/v1/contracts/{contract.pk}/amend/",
        {"effective_date": TODAY.isoformat(), "remove_line_ids": [line.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Un contrat terminé ne peut plus être modifié."
    assert ContractLine.objects.filter(contract=contract, end_date__isnull=False).count() == 0


def test_api_terms(org, admin, staff_of, api_client):
    api = api_client(admin)
    created = api.post("/api/v1/terms/", {"title": "CGV", "body": "Article 1"}, format="json")
    assert created.status_code == 201 and created.json()["version"] == 1
    assert api.get("/api/v1/terms/").json()["results"][0]["version"] == 1
    assert api.post("/api/v1/terms/", {"body": ""}, format="json").status_code == 400
    reception = api_client(staff_of("reception"))
    assert reception.get("/api/v1/terms/").status_code == 200
    assert reception.post("/api/v1/terms/", {"body": "x"}, format="json").status_code == 403


@pytest.mark.parametrize("kind", ["reception"])
def test_api_contract_actions_need_the_change_right(org, center, staff_of, api_client, kind):
    contract = ContractFactory(organization=org, center=center)
    api = api_client(staff_of(kind))
    assert api.get(f"/api/v1/contracts/{contract.pk}/").status_code == 200
    assert api.post(f"/api/v1/contracts/{contract.pk}/cancel/", {}, format="json").status_code == 403


def test_menu_has_contracts_and_terms(org, admin, staff_of, staff_client):
    page = staff_client(admin).get(reverse("manage:home")).content.decode()
    assert reverse("sales:contract_list") in page and reverse("sales:terms_list") in page


def test_end_button_only_after_the_end_date(org, center, admin, staff_client):
    web = staff_client(admin)
    running = ContractFactory(organization=org, center=center, status=Contract.Status.ACTIVE)
    end_url = reverse("sales:contract_end", args=[running.pk])
    assert end_url not in web.get(reverse("sales:contract_detail", args=[running.pk])).content.decode()
    refused = web.post(end_url, follow=True)
    assert "donnez d&#x27;abord le préavis" in refused.content.decode()
    over = ContractFactory(organization=org, center=center, status=Contract.Status.NOTICE_GIVEN,
                           start_date=TODAY - datetime.timedelta(days=400),
                           commitment_end=TODAY - datetime.timedelta(days=36),
                           end_date=TODAY - datetime.timedelta(days=1))  # fmt: skip
    over_url = reverse("sales:contract_end", args=[over.pk])
    assert over_url in web.get(reverse("sales:contract_detail", args=[over.pk])).content.decode()
    assert web.post(over_url).status_code == 302
    over.refresh_from_db()
    assert over.status == Contract.Status.ENDED
