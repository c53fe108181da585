"""The SMS-code e-signature service: the happy path with the code read from the SMS outbox, wrong /
expired / replayed codes, the lock after 5 wrong tries, resend limits, roles, and what signing does
(sealed PDF, client conversion, opportunity won, journal, the contract.signed event)."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader

from comptoir.core import events
from comptoir.core.errors import DomainError, NotFound, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry, SmsMessage
from comptoir.core.pdf import render_pdf
from comptoir.crm.models import Company, Contact, Opportunity
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory
from comptoir.sales import seal
from comptoir.sales.models import Contract, Signature, SignatureEvent
from comptoir.sales.services import signature as service
from comptoir.sales.tests.factories import ContractFactory, TermsFactory

IP, UA = "203.0.113.7", "Mozilla/5.0 (test)"
SAMPLE = {
    "title": "Contrat de prestation",
    "issuer": {"name": "Comptoir Opéra SAS", "address": ["12 rue de la Paix", "75002 Paris"], "ids": "SIREN 123"},
    "footer": "Comptoir Opéra SAS",
    "rows": [["Bureau 12", "1 234,56 €"]],
}


# --------------------------------------------------------------------------------------------------
# helpers shared with the portal and API tests
# --------------------------------------------------------------------------------------------------
def awaiting_contract(organization, company=None, **extra) -> Contract:  # type: ignore[no-untyped-def]
    """A contract awaiting signature with a rendered PDF and its SHA-256."""
    company = company or CompanyFactory(organization=organization, kind=Company.Kind.PROSPECT)
    terms = extra.pop("terms", None) or TermsFactory(organization=organization)
    contract = ContractFactory(
        organization=organization,
        company=company,
        terms=terms,
        status=Contract.Status.AWAITING_SIGNATURE,
        sent_for_signature_at=timezone.now() - datetime.timedelta(hours=1),
        **extra,
    )
    pdf = render_pdf("core/sample.typ", {**SAMPLE, "title": f"Contrat {contract.reference}"})
    contract.document.save(f"{contract.reference}.pdf", ContentFile(pdf), save=False)
    contract.document_sha256 = hashlib.sha256(pdf).hexdigest()
    contract.save()
    return contract


def signer_of(company, role: str = Contact.CompanyRole.ADMINISTRATOR, **extra) -> Contact:  # type: ignore[no-untyped-def]
    extra.setdefault("mobile", "+33 6 12 34 56 78")
    return ContactFactory(company=company, company_role=role, has_portal_access=True, **extra)


def last_code(phone_digits: str = "") -> str:
    message = SmsMessage.objects.filter(purpose="contract_signature").order_by("-id").first()
    assert message is not None, "no SMS sent"
    return re.search(r"\b(\d{6})\b", message.body).group(1)  # type: ignore[union-attr]


def ready_to_confirm(contract: Contract, contact: Contact) -> Signature:
    signature = service.start_signature(contract=contract, contact=contact, ip=IP, user_agent=UA)
    service.accept_terms(signature=signature, ip=IP, user_agent=UA)
    return service.send_code(signature=signature, ip=IP, user_agent=UA)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def contract(org) -> Contract:  # type: ignore[no-untyped-def]
    return awaiting_contract(org)


@pytest.fixture
def signer(contract) -> Contact:  # type: ignore[no-untyped-def]
    return signer_of(contract.company)


@pytest.fixture
def published():  # type: ignore[no-untyped-def]
    received: list[dict] = []

    def handler(**payload):  # type: ignore[no-untyped-def]
        received.append(payload)

    events.subscribe("contract.signed", handler, order=999)
    yield received
    events.unsubscribe("contract.signed", handler)


# --------------------------------------------------------------------------------------------------
# the happy path
# --------------------------------------------------------------------------------------------------
def test_full_signature_with_the_code_from_the_sms_outbox(org, contract, signer, published):
    opportunity = OpportunityFactory(organization=org, company=contract.company, stage=Opportunity.Stage.CONTRACT_SENT)
    Contract.objects.filter(pk=contract.pk).update(opportunity=opportunity)
    contract.refresh_from_db()

    signature = service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)
    signature = service.accept_terms(signature=signature, ip=IP, user_agent=UA)
    assert signature.terms_version == contract.terms.version and signature.terms_accepted_at
    signature = service.send_code(signature=signature, ip=IP, user_agent=UA)
    sms = SmsMessage.objects.get(purpose="contract_signature")
    assert sms.to == "+33 6 12 34 56 78" and sms.organization == org
    assert re.fullmatch(r"Comptoir : votre code de signature est \d{6} \(valable 10 minutes\)\.", sms.body)
    code = last_code()
    signature.refresh_from_db()
    assert code not in signature.code_hash and signature.code_hash == service.code_hash(signature.pk, code)

    signed = service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)

    signed.refresh_from_db()
    signature.refresh_from_db()
    assert signed.status == Contract.Status.SIGNED and signed.signer == signer and signed.signed_at
    assert signature.status == Signature.Status.SIGNED and signature.ip_address == IP and signature.user_agent == UA
    assert signature.document_sha256 == contract.document_sha256
    kinds = list(signature.events.values_list("kind", flat=True))
    assert kinds == ["viewed", "terms_accepted", "code_sent", "signed"]
    assert signature.events.get(kind="code_sent").detail["phone"].endswith("78")
    assert "12 34 56" not in str(signature.events.get(kind="code_sent").detail)
    # the sealed, signed PDF: the original + the evidence page, sealed by the organization
    data = signed.signed_document.read()
    assert hashlib.sha256(data).hexdigest() == signed.signed_document_sha256
    original = contract.document.open("rb").read()
    assert data.startswith(original)
    assert PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Count"] == 2
    assert seal.verify_sealed_pdf(org, data).intact is True
    # the company became a client, the opportunity is won, the event was published, all journaled
    company = Company.objects.get(pk=contract.company_id)
    assert company.kind == Company.Kind.CLIENT
    opportunity.refresh_from_db()
    assert opportunity.stage == Opportunity.Stage.WON
    assert len(published) == 1 and published[0]["contract"].pk == contract.pk and published[0]["by"] is None
    actions = set(AuditEntry.objects.filter(organization=org).values_list("action", flat=True))
    assert {
        "contract.signature_started",
        "contract.terms_accepted",
        "contract.signature_code_sent",
        "contract.signed",
        "company.converted",
        "opportunity.stage_changed",
    } <= actions
    entry = AuditEntry.objects.get(action="contract.signed")
    assert entry.actor is None or entry.actor == signer.user


def test_a_client_stays_client_and_the_pending_signature_is_reused(org):
    company = CompanyFactory(organization=org, kind=Company.Kind.CLIENT)
    contract = awaiting_contract(org, company=company)
    signer = signer_of(company)
    first = service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)
    again = service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)
    assert again.pk == first.pk
    assert first.events.filter(kind="viewed").count() == 2
    service.accept_terms(signature=first, ip=IP, user_agent=UA)
    service.send_code(signature=first, ip=IP, user_agent=UA)
    service.confirm_code(signature=first, code=last_code(), ip=IP, user_agent=UA)
    assert Company.objects.get(pk=company.pk).kind == Company.Kind.CLIENT
    assert not AuditEntry.objects.filter(action="company.converted").exists()


# --------------------------------------------------------------------------------------------------
# who may sign, and what
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Contact.CompanyRole.MANAGER, Contact.CompanyRole.USER])
def test_managers_and_users_may_not_sign(contract, role):
    contact = signer_of(contract.company, role=role)
    with pytest.raises(RightsError, match="administrateur"):
        service.start_signature(contract=contract, contact=contact, ip=IP, user_agent=UA)
    assert not Signature.objects.exists()


def test_a_member_without_portal_access_may_not_sign(contract):
    contact = ContactFactory(company=contract.company, company_role="administrator", has_portal_access=False)
    with pytest.raises(RightsError):
        service.start_signature(contract=contract, contact=contact, ip=IP, user_agent=UA)


def test_a_member_of_another_company_or_organization_gets_not_found(org, other_org, contract):
    for company in (CompanyFactory(organization=org), CompanyFactory(organization=other_org)):
        with pytest.raises(NotFound):
            service.start_signature(contract=contract, contact=signer_of(company), ip=IP, user_agent=UA)


@pytest.mark.parametrize("status", [Contract.Status.DRAFT, Contract.Status.SIGNED, Contract.Status.CANCELLED])
def test_only_a_contract_awaiting_signature_can_be_signed(contract, signer, status):
    Contract.objects.filter(pk=contract.pk).update(status=status)
    contract.refresh_from_db()
    with pytest.raises(DomainError):
        service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)


def test_terms_must_be_accepted_before_a_code_is_sent(contract, signer):
    signature = service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)
    with pytest.raises(ValidationFailed) as error:
        service.send_code(signature=signature, ip=IP, user_agent=UA)
    assert error.value.code == "terms_not_accepted"
    assert not SmsMessage.objects.exists()


def test_no_mobile_and_no_phone_is_refused_with_a_clear_message(contract):
    contact = signer_of(contract.company, mobile="", phone="")
    signature = service.start_signature(contract=contract, contact=contact, ip=IP, user_agent=UA)
    service.accept_terms(signature=signature, ip=IP, user_agent=UA)
    with pytest.raises(ValidationFailed, match="Aucun numéro de mobile"):
        service.send_code(signature=signature, ip=IP, user_agent=UA)


def test_the_phone_is_used_when_there_is_no_mobile(contract):
    contact = signer_of(contract.company, mobile="", phone="+33 1 23 45 67 89")
    ready_to_confirm(contract, contact)
    assert SmsMessage.objects.get().to == "+33 1 23 45 67 89"


# --------------------------------------------------------------------------------------------------
# codes: wrong, expired, replayed, resent, locked
# --------------------------------------------------------------------------------------------------
def test_a_wrong_code_counts_a_try_and_says_how_many_are_left(contract, signer):
    signature = ready_to_confirm(contract, signer)
    with pytest.raises(ValidationFailed) as error:
        service.confirm_code(signature=signature, code=wrong(last_code()), ip=IP, user_agent=UA)
    assert error.value.fields == {"code": ["Code incorrect. Il vous reste 4 essai(s)."]}
    signature.refresh_from_db()
    assert signature.attempts == 1 and signature.status == Signature.Status.PENDING
    assert signature.events.filter(kind="code_failed").count() == 1
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_SIGNATURE


def test_a_malformed_code_is_refused_without_counting(contract, signer):
    signature = ready_to_confirm(contract, signer)
    for code in ("", "12345", "abcdef", "1234567"):
        with pytest.raises(ValidationFailed) as error:
            service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
        assert "code" in error.value.fields
    signature.refresh_from_db()
    assert signature.attempts == 0


def test_an_expired_code_is_refused(contract, signer):
    signature = ready_to_confirm(contract, signer)
    code = last_code()
    Signature.objects.filter(pk=signature.pk).update(code_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as error:
        service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
    assert error.value.fields == {"code": ["Ce code a expiré, demandez-en un nouveau."]}
    assert signature.events.filter(kind="code_expired").exists()
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_SIGNATURE


def test_the_fifth_wrong_code_locks_and_the_sixth_try_is_refused_even_with_the_right_code(contract, signer):
    signature = ready_to_confirm(contract, signer)
    code = last_code()
    for _attempt in range(4):
        with pytest.raises(ValidationFailed):
            service.confirm_code(signature=signature, code=wrong(code), ip=IP, user_agent=UA)
    with pytest.raises(DomainError, match="Trop d'essais") as error:
        service.confirm_code(signature=signature, code=wrong(code), ip=IP, user_agent=UA)
    assert error.value.code == "locked"
    signature.refresh_from_db()
    assert signature.status == Signature.Status.LOCKED and signature.code_hash == ""
    assert signature.events.filter(kind="locked").count() == 1
    assert AuditEntry.objects.filter(action="contract.signature_locked").count() == 1

    with pytest.raises(DomainError) as sixth:
        service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
    assert sixth.value.code == "locked"
    with pytest.raises(DomainError):
        service.send_code(signature=signature, ip=IP, user_agent=UA)
    # no new signature until the staff sends the contract again
    with pytest.raises(DomainError) as restart:
        service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)
    assert restart.value.code == "locked"
    Contract.objects.filter(pk=contract.pk).update(sent_for_signature_at=timezone.now() + datetime.timedelta(seconds=1))
    contract.refresh_from_db()
    fresh = service.start_signature(contract=contract, contact=signer, ip=IP, user_agent=UA)
    assert fresh.pk != signature.pk and fresh.status == Signature.Status.PENDING
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_SIGNATURE


def test_a_replayed_code_after_success_is_refused(contract, signer, published):
    signature = ready_to_confirm(contract, signer)
    code = last_code()
    service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
    with pytest.raises(DomainError) as error:
        service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
    assert error.value.code == "already_signed"
    assert len(published) == 1
    assert Signature.objects.filter(status="signed").count() == 1


def test_a_new_code_within_60_seconds_is_refused_and_at_most_5_codes_are_sent(contract, signer):
    signature = ready_to_confirm(contract, signer)
    with pytest.raises(service.TooManyCodes) as error:
        service.send_code(signature=signature, ip=IP, user_agent=UA)
    assert error.value.code == "too_many_codes" and 0 < error.value.retry_after <= 60
    assert SmsMessage.objects.count() == 1
    for _send in range(4):
        Signature.objects.filter(pk=signature.pk).update(last_sent_at=timezone.now() - datetime.timedelta(seconds=61))
        service.send_code(signature=signature, ip=IP, user_agent=UA)
    Signature.objects.filter(pk=signature.pk).update(last_sent_at=timezone.now() - datetime.timedelta(seconds=61))
    with pytest.raises(service.TooManyCodes):
        service.send_code(signature=signature, ip=IP, user_agent=UA)
    assert SmsMessage.objects.count() == 5


def test_a_new_code_replaces_the_previous_one_and_resets_the_tries(contract, signer):
    signature = ready_to_confirm(contract, signer)
    first = last_code()
    with pytest.raises(ValidationFailed):
        service.confirm_code(signature=signature, code=wrong(first), ip=IP, user_agent=UA)
    Signature.objects.filter(pk=signature.pk).update(last_sent_at=timezone.now() - datetime.timedelta(seconds=61))
    service.send_code(signature=signature, ip=IP, user_agent=UA)
    second = last_code()
    signature.refresh_from_db()
    assert signature.attempts == 0
    if first != second:
        with pytest.raises(ValidationFailed):
            service.confirm_code(signature=signature, code=first, ip=IP, user_agent=UA)
    service.confirm_code(signature=signature, code=second, ip=IP, user_agent=UA)
    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.SIGNED


def test_a_changed_document_is_not_signed(contract, signer):
    signature = ready_to_confirm(contract, signer)
    contract.document.save("other.pdf", ContentFile(b"%PDF-1.7 changed"), save=True)
    with pytest.raises(DomainError) as error:
        service.confirm_code(signature=signature, code=last_code(), ip=IP, user_agent=UA)
    assert error.value.code == "document_changed"
    assert Contract.objects.get(pk=contract.pk).status == Contract.Status.AWAITING_SIGNATURE
    assert not SignatureEvent.objects.filter(kind="signed").exists()


def test_double_confirm_signs_once(contract, signer, published):
    signature = ready_to_confirm(contract, signer)
    code = last_code()
    other = signer_of(contract.company, email="second@client.test")
    second = ready_to_confirm(contract, other)
    other_code = last_code()

    service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
    with pytest.raises(DomainError) as error:
        service.confirm_code(signature=second, code=other_code, ip=IP, user_agent=UA)
    assert error.value.code == "already_signed"
    assert Signature.objects.filter(contract=contract, status="signed").count() == 1
    assert len(published) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirms_sign_once_on_postgresql(org):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter (SQLite serializes writers)")
    contract = awaiting_contract(org)
    signature = ready_to_confirm(contract, signer_of(contract.company))
    code = last_code()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm() -> None:
        try:
            barrier.wait()
            service.confirm_code(signature=signature, code=code, ip=IP, user_agent=UA)
            outcomes.append("signed")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_signed", "signed"]
    assert Signature.objects.filter(contract=contract, status="signed").count() == 1
