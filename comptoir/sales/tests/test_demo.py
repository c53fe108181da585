"""The sales demo data: the published CGV, quotes in every status with 1-4 offers, contracts signed by SMS code
and sealed (clients converted, opportunities won), one awaiting the portal member's signature; idempotent."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest
from django.apps import apps
from django.test import override_settings
from django.utils import timezone

from comptoir.core import demo
from comptoir.core.models import AuditEntry, SmsMessage
from comptoir.crm import capabilities
from comptoir.crm.demo import PORTAL_COMPANY_NAME
from comptoir.crm.models import Company, Opportunity
from comptoir.sales import seal
from comptoir.sales.demo import SCENARIOS, plan_scenarios
from comptoir.sales.models import Contract, Quote, Signature, Terms
from comptoir.sales.services import signature as signature_services

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


# production settings without a mail server: the demo's e-mails to made-up addresses must not fail the demo
UNREACHABLE_SMTP = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
    }
}


def test_sales_demo_builds_terms_quotes_and_signed_contracts_and_a_rerun_creates_nothing():
    with override_settings(MAILERS=UNREACHABLE_SMTP):
        first = demo.build_demo()
    organization = first.organization
    assert first.created["quotes"] == len(SCENARIOS) and first.created["signed contracts"] == 3
    before = row_counts()

    second = demo.build_demo()

    assert second.created == {}
    assert row_counts() == before

    terms = Terms.objects.get(organization=organization)
    assert terms.version == 1 and 8 <= terms.body.count("Article ") <= 12

    quotes = Quote.objects.filter(organization=organization)
    statuses = Counter(quotes.values_list("status", flat=True))
    assert set(statuses) == set(Quote.Status.values)
    assert statuses["accepted"] == 5  # 1 without a contract yet, 3 signed, 1 awaiting signature
    for quote in quotes.prefetch_related("offers__lines"):
        offers = list(quote.offers.all())
        assert 1 <= len(offers) <= 4
        for offer in offers:
            lines = list(offer.lines.all())
            assert lines and offer.monthly_excl_vat == sum(line.amount_excl_vat for line in lines if line.is_recurring)
    assert quotes.filter(status="refused").exclude(refusal_reason="").count() == 2
    assert not quotes.filter(status="expired", valid_until__gte=timezone.localdate()).exists()
    assert quotes.filter(opportunity__isnull=False).count() >= 7
    offer_counts = Counter(quotes.values_list("id", flat=True).filter(offers__isnull=False))
    assert {1, 2, 3, 4} <= set(offer_counts.values())

    contracts = Contract.objects.filter(organization=organization, quote__isnull=False).select_related(
        "company", "opportunity", "signer"
    )
    assert Counter(contracts.values_list("status", flat=True)) == {"signed": 3, "awaiting_signature": 1}
    for contract in contracts.filter(status="signed"):
        signed = contract.signed_document.read()
        assert hashlib.sha256(signed).hexdigest() == contract.signed_document_sha256
        assert seal.verify_sealed_pdf(organization, signed).intact
        assert contract.company.kind == Company.Kind.CLIENT
        assert contract.opportunity.stage == Opportunity.Stage.WON
        assert Signature.objects.get(contract=contract).status == Signature.Status.SIGNED
        assert AuditEntry.objects.filter(organization=organization, action="company.converted",
                                         object_id=str(contract.company_id)).exists()  # fmt: skip
    assert SmsMessage.objects.filter(organization=organization, purpose="contract_signature").count() == 3

    # the portal member can sign the last one in the portal
    waiting = contracts.get(status="awaiting_signature")
    assert waiting.company.name == PORTAL_COMPANY_NAME
    signer = waiting.signer
    assert signer.email == "membre@demo.comptoir.test" and signer.mobile
    assert capabilities.can(signer, "sign_contracts") and waiting.document and waiting.terms_id == terms.pk
    signature = signature_services.start_signature(contract=waiting, contact=signer, ip="127.0.0.1", user_agent="t")
    signature = signature_services.accept_terms(signature=signature, ip="127.0.0.1", user_agent="t")
    signature_services.send_code(signature=signature, ip="127.0.0.1", user_agent="t")
    body = SmsMessage.objects.filter(to=signature_services.signer_phone(signer)).latest("id").body
    code = re.search(r"\b(\d{6})\b", body).group(1)
    signed = signature_services.confirm_code(signature=signature, code=code, ip="127.0.0.1", user_agent="t")
    assert signed.status == Contract.Status.SIGNED


def test_the_scenarios_are_deterministic_and_use_distinct_companies():
    today = timezone.localdate()
    first, again = plan_scenarios("demo", today), plan_scenarios("demo", today)

    assert [(s.company, s.opportunity) for s in first] == [(s.company, s.opportunity) for s in again]
    assert len({s.company for s in first}) == len(first)
    assert all(s.opportunity for s in first if s.status == "signed")
