"""frontmanager §5-6 and « Espace client » §1 through the API alone, as an integrator would follow them:
the catalog set up (price per m², price grid, discount, office, articles, CGV), a quote with four offers on
an opportunity, the client's choice, readiness (👍), the contract, its signature by SMS code, and the sealed
PDF that breaks when one byte changes."""

from __future__ import annotations

import datetime
import hashlib
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from comptoir.core.models import SmsMessage
from comptoir.crm.models import Company, Opportunity
from comptoir.sales.models import Contract
from comptoir.sales.seal import verify_sealed_pdf

pytestmark = pytest.mark.django_db
API = "/api/v1"
CENT = Decimal("0.01")
UA = {"HTTP_USER_AGENT": "Integrator/2.0", "REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def ok(response, status=200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json() if response.get("Content-Type", "").startswith("application/json") else response


def money(value: str | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def vat(base: Decimal, rate: str) -> Decimal:
    from comptoir.core.money import round_cents

    return round_cents(base * Decimal(rate) / 100)


def assert_offer_adds_up(offer: dict) -> None:  # type: ignore[type-arg]
    """Each line's steps add up to its unit price; quantity × unit price is its amount; the lines add up to the
    offer's monthly total excl. VAT; the VAT is computed per rate on the sum; incl. = excl. + VAT."""
    recurring: dict[str, Decimal] = {}
    for line in offer["lines"]:
        steps = line["breakdown"]["steps"]
        assert steps and steps[0]["code"] == "base", line
        running = Decimal("0.00")
        for step in steps:
            running += Decimal(step["delta"])
            assert running == Decimal(step["amount"]), (offer["position"], line["description"], step)
        assert running == Decimal(line["unit_price"]), (offer["position"], line["description"])
        assert money(Decimal(line["quantity"]) * Decimal(line["unit_price"])) == Decimal(line["amount_excl_vat"])
        if line["is_recurring"]:
            recurring[line["vat_rate"]] = recurring.get(line["vat_rate"], Decimal("0.00")) + Decimal(
                line["amount_excl_vat"]
            )
    monthly = sum(recurring.values(), Decimal("0.00"))
    monthly_vat = sum((vat(base, rate) for rate, base in recurring.items()), Decimal("0.00"))
    assert Decimal(offer["monthly_excl_vat"]) == monthly, offer
    assert Decimal(offer["monthly_vat"]) == monthly_vat, offer
    assert Decimal(offer["monthly_incl_vat"]) == monthly + monthly_vat, offer


def flip_one_signed_byte(pdf: bytes) -> bytes:
    """The PDF with one byte changed inside the first content stream (covered by the seal's /ByteRange)."""
    byte_range = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert byte_range, "the sealed PDF has no /ByteRange"
    first_length = int(byte_range[2])
    stream = pdf.find(b"stream", 0, first_length)
    assert 0 < stream < first_length - 40, "no content stream inside the signed range"
    position = stream + 20
    changed = bytearray(pdf)
    changed[position] ^= 0x01
    return bytes(changed)


def test_quote_contract_and_signature_through_the_api(org, admin, api_client, center, mailoutbox):
    api = api_client(admin)
    start = timezone.localdate() + datetime.timedelta(days=14)

    # §17 the office pricing: a grid (typology, 24-month term, domiciliation), the center's price per m²
    grid = ok(api.post(f"{API}/price-grids/", {"name": "Grille Opéra", "rules": [
        {"dimension": "typology", "value": "private_office", "coefficient": "1.10"},
        {"dimension": "term", "value": "24", "coefficient": "0.95"},
        {"dimension": "service", "value": "domiciliation", "coefficient": "0.90"},
    ]}, format="json"), 201)  # fmt: skip
    rate = ok(api.post(f"{API}/center-rates/", {"center": center.pk, "price_per_m2": "31.50",
                                                  "price_grid": grid["id"]}, format="json"), 201)  # fmt: skip
    assert rate["price_grid"] == grid["id"]
    discount = ok(api.post(f"{API}/discounts/", {"name": "Remise engagement long", "percent": "7.50"},
                           format="json"), 201)  # fmt: skip

    # the spaces and §16 the catalog's articles
    office = ok(api.post(f"{API}/spaces/", {"center": center.pk, "name": "Bureau 305", "kind": "private_office",
                                             "floor": 3, "area_m2": "20.00", "capacity": 4}, format="json"), 201)  # fmt: skip
    coworking = ok(api.post(f"{API}/products/", {"kind": "main_service", "service_type": "coworking",
                                                  "name": "Poste coworking résident", "unit": "desk",
                                                  "unit_price": "245.00", "vat_rate": "20.00",
                                                  "available_everywhere": True}, format="json"), 201)  # fmt: skip
    locker = ok(api.post(f"{API}/products/", {"kind": "option", "name": "Casier sécurisé", "unit": "month",
                                               "unit_price": "15.50", "vat_rate": "20.00",
                                               "available_everywhere": True}, format="json"), 201)  # fmt: skip
    domiciliation = ok(api.post(f"{API}/products/", {"kind": "main_service", "service_type": "domiciliation",
                                                      "name": "Domiciliation commerciale", "unit": "month",
                                                      "unit_price": "49.90", "vat_rate": "20.00",
                                                      "available_everywhere": True}, format="json"), 201)  # fmt: skip

    # the CGV the signer accepts
    terms = ok(api.post(f"{API}/terms/", {"title": "Conditions générales de vente",
                                           "body": "Article 1 — Objet.\nArticle 2 — Durée."}, format="json"), 201)  # fmt: skip

    # §1-3 the prospect, its main contact (administrator, portal access, mobile) and the opportunity
    company = ok(api.post(f"{API}/companies/", {"name": "Atelier Lumière", "center": center.pk, "main_contact": {
        "first_name": "Jeanne", "last_name": "Dupont", "email": "jeanne@lumiere.test"}}, format="json"), 201)  # fmt: skip
    assert company["reference"].startswith("PR-")
    (contact,) = ok(api.get(f"{API}/contacts/?company={company['id']}"))["results"]
    contact = ok(api.patch(f"{API}/contacts/{contact['id']}/", {"mobile": "06 12 34 56 78",
                                                                 "has_portal_access": True}, format="json"))  # fmt: skip
    assert contact["company_role"] == "administrator" and contact["has_portal_access"] is True
    opportunity = ok(api.post(f"{API}/opportunities/", {"company": company["id"], "title": "Bureau 4 postes",
                                                         "estimated_amount": "700.00"}, format="json"), 201)  # fmt: skip

    # §5 « Tarificateur »: a draft quote on the opportunity, then four offers
    quote = ok(api.post(f"{API}/quotes/", {"opportunity": opportunity["id"]}, format="json"), 201)
    assert quote["status"] == "draft" and quote["company"] == company["id"] and quote["center"] == center.pk
    offers_in = {
        1: {"title": "Bureau privatif 12 mois", "service_type": "private_office", "term_months": 12,
            "start_date": str(start), "deposit": "1386.00", "lines": [{"space": office["id"]}]},
        2: {"title": "Bureau privatif 24 mois", "service_type": "private_office", "term_months": 24,
            "start_date": str(start), "deposit": "1217.94",
            "lines": [{"space": office["id"], "discounts": [{"discount": discount["id"]}]}]},
        3: {"title": "Coworking", "service_type": "coworking", "term_months": 12, "start_date": str(start),
            "lines": [{"product": coworking["id"], "quantity": "2"}, {"product": locker["id"]}]},
        4: {"title": "Domiciliation", "service_type": "domiciliation", "term_months": 12, "start_date": str(start),
            "lines": [{"product": domiciliation["id"]}]},
    }  # fmt: skip
    for position, offer in offers_in.items():
        quote = ok(api.put(f"{API}/quotes/{quote['id']}/offers/{position}/", offer, format="json"))
    offers = {offer["position"]: offer for offer in quote["offers"]}
    assert sorted(offers) == [1, 2, 3, 4]
    for offer in offers.values():
        assert_offer_adds_up(offer)

    # the totals, worked out by hand: 20 m² × 31,50 € = 630,00; × 1,10 (private office) = 693,00;
    # × 0,95 (24 months) = 658,35; − 7,5 % (49,38) = 608,97
    expected = {  # position: (monthly excl. VAT, VAT, incl. VAT)
        1: ("693.00", "138.60", "831.60"),
        2: ("608.97", "121.79", "730.76"),
        3: ("505.50", "101.10", "606.60"),  # 2 × 245,00 + 15,50
        4: ("44.91", "8.98", "53.89"),  # 49,90 × 0,90
    }
    for position, (excl, monthly_vat, incl) in expected.items():
        offer = offers[position]
        assert (offer["monthly_excl_vat"], offer["monthly_vat"], offer["monthly_incl_vat"]) == (excl, monthly_vat, incl)
    steps = [(step["code"], step["amount"]) for step in offers[2]["lines"][0]["breakdown"]["steps"]]
    assert steps == [("base", "630.00"), ("typology", "693.00"), ("term", "658.35"), ("discount", "608.97")]

    # … sent by e-mail: the opportunity moves to « Devis envoyé »
    quote = ok(api.post(f"{API}/quotes/{quote['id']}/send/", {}, format="json"))
    assert quote["status"] == "sent"
    assert any("jeanne@lumiere.test" in message.to for message in mailoutbox)
    assert ok(api.get(f"{API}/opportunities/{opportunity['id']}/"))["stage"] == "quote_sent"
    pdf = ok(api.get(f"{API}/quotes/{quote['id']}/pdf/"))
    assert pdf.content.startswith(b"%PDF")

    # … the client chooses offer 2
    quote = ok(api.post(f"{API}/quotes/{quote['id']}/accept/", {"offer": 2}, format="json"))
    chosen = offers[2]
    assert quote["status"] == "accepted" and quote["chosen_offer"] == chosen["id"]

    # §6 readiness: every line 👍, then the contract is generated
    readiness = ok(api.get(f"{API}/contracts/readiness/?offer={chosen['id']}"))
    assert readiness and all(item["ok"] for item in readiness), readiness
    contract = ok(api.post(f"{API}/contracts/", {"offer": chosen["id"]}, format="json"), 201)
    assert contract["status"] == "draft" and contract["company"] == company["id"]
    assert contract["reference"].startswith("CT-")
    (line,) = contract["lines"]
    assert line["unit_price"] == "608.97" and line["breakdown"] == chosen["lines"][0]["breakdown"]

    # … sent for signature to the administrator member
    contract = ok(api.post(f"{API}/contracts/{contract['id']}/send-for-signature/", {"signer": contact["id"]},
                           format="json"))  # fmt: skip
    assert contract["status"] == "awaiting_signature" and contract["terms_version"] == terms["version"]
    assert contract["document_sha256"]
    assert ok(api.get(f"{API}/opportunities/{opportunity['id']}/"))["stage"] == "contract_sent"

    # Espace client §1: the signer opens the contract, accepts the CGV, receives the code by SMS, types it
    signature = ok(api.post(f"{API}/signatures/", {"contract": contract["id"], "signer": contact["id"]},
                            format="json", **UA), 201)  # fmt: skip
    url = f"{API}/signatures/{signature['id']}/"
    assert ok(api.post(url + "accept-terms/", **UA))["terms_version"] == terms["version"]
    assert ok(api.post(url + "send-code/", **UA))["code_sent"] is True
    sms = SmsMessage.objects.filter(purpose="contract_signature").order_by("-id").first()
    assert sms is not None and sms.to.replace(" ", "").endswith("612345678"), sms
    code = re.search(r"\b(\d{6})\b", sms.body)
    assert code, sms.body
    signed = ok(api.post(url + "confirm/", {"code": code[1]}, format="json", **UA))
    assert signed["status"] == "signed" and signed["contract_status"] == "signed"
    assert [event["kind"] for event in signed["events"]] == ["viewed", "terms_accepted", "code_sent", "signed"]

    # the contract is signed, the prospect a client (same number), the opportunity won
    contract = ok(api.get(f"{API}/contracts/{contract['id']}/"))
    assert contract["status"] == "signed" and contract["signed_at"] and contract["signer"] == contact["id"]
    assert contract["signed_document_sha256"] == signed["signed_document_sha256"] != ""
    company = ok(api.get(f"{API}/companies/{company['id']}/"))
    assert company["reference"].startswith("CL-") and Company.objects.get(pk=company["id"]).kind == "client"
    assert ok(api.get(f"{API}/opportunities/{opportunity['id']}/"))["stage"] == Opportunity.Stage.WON
    assert [c["id"] for c in ok(api.get(f"{API}/contracts/?company={company['id']}"))["results"]] == [contract["id"]]

    # the signed PDF carries the organization's seal, which breaks when one byte changes
    signed_pdf = ok(api.get(f"{API}/contracts/{contract['id']}/pdf/"))
    body = b"".join(signed_pdf.streaming_content) if signed_pdf.streaming else signed_pdf.content
    assert hashlib.sha256(body).hexdigest() == contract["signed_document_sha256"]
    result = verify_sealed_pdf(org, body)
    assert result.intact, result.message
    assert result.signed_by == org.name
    tampered = verify_sealed_pdf(org, flip_one_signed_byte(body))
    assert not tampered.intact, "a PDF with one changed byte still verifies"
    assert Contract.objects.get(pk=contract["id"]).status == Contract.Status.SIGNED
