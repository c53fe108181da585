"""SEPA mandates: creation (IBAN / BIC checks, RUM, creditor), signature by SMS code in the portal's flow,
revocation; refusals change nothing."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry, SmsMessage
from comptoir.core.tests.factories import CenterFactory, LegalEntityFactory, UserFactory
from comptoir.crm.tests.factories import ContactFactory
from comptoir.payments.models import Mandate
from comptoir.payments.services import mandates as service
from comptoir.payments.tests.factories import ClientCompanyFactory

IBAN = "FR76 3000 6000 0112 3456 7890 189"
BAD_IBAN = "FR7630006000011234567890188"  # wrong check digits
IP, AGENT = "203.0.113.7", "pytest-browser"


@pytest.fixture
def company(org, center):  # type: ignore[no-untyped-def]
    return ClientCompanyFactory(organization=org, center=center, name="Atelier Lumière")


@pytest.fixture
def signer(company):  # type: ignore[no-untyped-def]
    user = UserFactory(email="margaux@atelier.test")
    return ContactFactory(company=company, user=user, email=user.email, company_role="administrator",
                          has_portal_access=True, mobile="+33612345678")  # fmt: skip


def data(**extra):  # type: ignore[no-untyped-def]
    return {"account_holder": "Atelier Lumière SARL", "iban": IBAN, "bic": "agri frpp", **extra}


def last_code() -> str:
    body = SmsMessage.objects.order_by("-id").first().body
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_staff_creates_a_pending_mandate_normalised_with_a_unique_rum_of_the_center_creditor(
    org, admin, company, center
):
    mandate = service.create_mandate(company=company, by=admin, data=data())

    assert mandate.status == Mandate.Status.PENDING
    assert mandate.iban == "FR7630006000011234567890189"
    assert mandate.bic == "AGRIFRPP"
    assert mandate.legal_entity == center.legal_entity
    assert re.fullmatch(rf"RUM-{org.pk}-[A-Z0-9]{{10}}", mandate.reference)
    assert len(mandate.reference) <= 35
    assert mandate.masked_iban == "FR76 •••• 0189"
    assert AuditEntry.objects.filter(action="mandate.created", object_id=str(mandate.pk)).exists()
    other = service.create_mandate(company=company, by=admin, data=data())
    assert other.reference != mandate.reference


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"iban": BAD_IBAN}, "iban"), ({"iban": "BR1800360305000010009795493C1"}, "iban"), ({"bic": "NOTABIC!"}, "bic"), ({"bic": "AGRI"}, "bic"),
     ({"account_holder": " "}, "account_holder"), ({"scheme": "XYZ"}, "scheme"), ({"iban": ""}, "iban")],
)  # fmt: skip
def test_a_wrong_iban_or_bic_is_refused_at_its_field_and_changes_nothing(admin, company, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        service.create_mandate(company=company, by=admin, data=data(**changes))

    assert field in refused.value.fields
    assert Mandate.objects.count() == 0
    assert not AuditEntry.objects.filter(action="mandate.created").exists()


def test_a_creditor_without_sepa_creditor_id_is_refused_with_a_clear_message(org, admin):
    entity = LegalEntityFactory(organization=org, sepa_creditor_id="")
    company = ClientCompanyFactory(organization=org, center=CenterFactory(organization=org, legal_entity=entity))

    with pytest.raises(ValidationFailed) as refused:
        service.create_mandate(company=company, by=admin, data=data())

    assert refused.value.code == "no_creditor_id"
    assert "identifiant créancier SEPA" in refused.value.message
    assert Mandate.objects.count() == 0


def test_staff_without_the_right_and_a_member_who_is_not_administrator_may_not_create(staff_of, company):
    with pytest.raises(RightsError):
        service.create_mandate(company=company, by=staff_of("reception"), data=data())
    user_member = ContactFactory(company=company, company_role="user", has_portal_access=True)
    with pytest.raises(RightsError):
        service.create_mandate(company=company, by=None, contact=user_member, data=data())
    assert Mandate.objects.count() == 0


def test_the_administrator_signs_with_the_sms_code_and_the_evidence_is_kept(company, signer):
    mandate = service.create_mandate(company=company, by=signer.user, contact=signer, data=data())
    service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)
    sms = SmsMessage.objects.get()
    assert sms.to == "+33612345678" and mandate.reference in sms.body
    mandate.refresh_from_db()
    assert mandate.code_hash and last_code() not in mandate.code_hash  # stored hashed

    signed = service.sign_mandate(mandate=mandate, contact=signer, code=last_code(), ip=IP, user_agent=AGENT)

    assert signed.status == Mandate.Status.ACTIVE
    assert signed.signed_on == timezone.localdate()
    assert signed.signer == signer
    evidence = signed.signature_evidence
    assert evidence["ip_address"] == IP and evidence["user_agent"] == AGENT
    assert evidence["phone"] != "+33612345678" and evidence["phone"].endswith("78")
    assert evidence["signed_at"]
    assert AuditEntry.objects.filter(action="mandate.signed", object_id=str(mandate.pk)).exists()


def test_a_wrong_code_counts_an_attempt_and_five_lock_the_mandate(company, signer):
    mandate = service.create_mandate(company=company, by=None, contact=signer, data=data())
    service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)
    good = last_code()
    wrong = "000000" if good != "000000" else "111111"

    with pytest.raises(ValidationFailed) as refused:
        service.sign_mandate(mandate=mandate, contact=signer, code=wrong, ip=IP, user_agent=AGENT)
    assert refused.value.code == "wrong_code"
    mandate.refresh_from_db()
    assert mandate.attempts == 1 and mandate.status == Mandate.Status.PENDING

    for _attempt in range(4):
        with pytest.raises(DomainError):
            service.sign_mandate(mandate=mandate, contact=signer, code=wrong, ip=IP, user_agent=AGENT)
    mandate.refresh_from_db()
    assert service.is_locked(mandate)
    with pytest.raises(DomainError) as locked:
        service.sign_mandate(mandate=mandate, contact=signer, code=good, ip=IP, user_agent=AGENT)
    assert locked.value.code == "locked"
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.PENDING and mandate.signed_on is None


def test_an_expired_code_is_refused(company, signer):
    mandate = service.create_mandate(company=company, by=None, contact=signer, data=data())
    service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)
    Mandate.objects.filter(pk=mandate.pk).update(code_expires_at=timezone.now() - datetime.timedelta(seconds=1))

    with pytest.raises(ValidationFailed) as refused:
        service.sign_mandate(mandate=mandate, contact=signer, code=last_code(), ip=IP, user_agent=AGENT)

    assert refused.value.code == "code_expired"
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.PENDING


def test_a_new_code_waits_a_minute_and_is_limited(company, signer):
    mandate = service.create_mandate(company=company, by=None, contact=signer, data=data())
    service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)

    with pytest.raises(service.TooManyCodes):
        service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)
    assert SmsMessage.objects.count() == 1

    Mandate.objects.filter(pk=mandate.pk).update(sends=service.MAX_SENDS, code_expires_at=timezone.now())
    with pytest.raises(service.TooManyCodes):
        service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)
    assert SmsMessage.objects.count() == 1


def test_only_an_administrator_with_portal_access_may_sign(company, signer):
    mandate = service.create_mandate(company=company, by=None, contact=signer, data=data())
    manager = ContactFactory(company=company, company_role="manager", has_portal_access=True, mobile="+33611111111")
    no_access = ContactFactory(company=company, company_role="administrator", has_portal_access=False,
                               mobile="+33622222222")  # fmt: skip
    for contact in (manager, no_access):
        with pytest.raises(RightsError):
            service.send_mandate_code(mandate=mandate, contact=contact, ip=IP, user_agent=AGENT)
    assert SmsMessage.objects.count() == 0


def test_revoking_a_mandate(admin, company, signer):
    mandate = service.create_mandate(company=company, by=admin, data=data())

    revoked = service.revoke_mandate(mandate=mandate, by=admin)

    assert revoked.status == Mandate.Status.REVOKED and revoked.revoked_on == timezone.localdate()
    with pytest.raises(DomainError):
        service.send_mandate_code(mandate=mandate, contact=signer, ip=IP, user_agent=AGENT)
    with pytest.raises(DomainError):
        service.revoke_mandate(mandate=mandate, by=admin)
