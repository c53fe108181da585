"""Portal: the home banner of contracts to sign, the signing flow (HTMX steps, inline errors, remaining
tries, resend timer), the confirmation with the sealed PDF, and who may do it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.core.models import SmsMessage
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.factories import UserFactory
from comptoir.crm.models import Company, Contact
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.portal.tests.test_members import enter_portal
from comptoir.sales import seal
from comptoir.sales.models import Contract, Signature
from comptoir.sales.tests.test_signature_service import awaiting_contract, last_code, signer_of, wrong

HX = {"HTTP_HX_REQUEST": "true"}
UA = {"HTTP_USER_AGENT": "PortalTest/1.0"}

test_other_organizations_objects_answer_404 = tenancy_walk_test(namespaces=["portal"])


@pytest.fixture
def contract(org):  # type: ignore[no-untyped-def]
    return awaiting_contract(org, company=CompanyFactory(organization=org, name="Atelier Lumière"))


def member(company, role=Contact.CompanyRole.ADMINISTRATOR, email="margaux@lumiere.test", **extra):  # type: ignore[no-untyped-def]
    user = UserFactory(email=email, first_name="Margaux")
    signer_of(company, role=role, user=user, email=email, **extra)
    return user


@pytest.fixture
def signer_client(client, org, contract):  # type: ignore[no-untyped-def]
    return enter_portal(client, member(contract.company), org)


def test_home_shows_the_banner_of_the_contract_to_sign_to_administrators_only(client, org, contract):
    other = awaiting_contract(org)  # another company's contract: not listed
    content = (
        enter_portal(client, member(contract.company), org)
        .get(reverse("portal:home"))
        .content.decode()
        .replace("&#x27;", "'")
    )
    assert "Un contrat attend votre signature" in content
    assert contract.reference in content and reverse("portal:contract_sign", args=[contract.pk]) in content
    assert other.reference not in content

    client.logout()
    manager = member(contract.company, role=Contact.CompanyRole.MANAGER, email="manager@lumiere.test")
    content = enter_portal(client, manager, org).get(reverse("portal:home")).content.decode().replace("&#x27;", "'")
    assert "attend votre signature" not in content


def test_the_whole_signature_through_the_portal_with_htmx(signer_client, org, contract):
    page = signer_client.get(reverse("portal:contract_sign", args=[contract.pk]), **UA)
    content = page.content.decode().replace("&#x27;", "'")
    assert page.status_code == 200
    assert reverse("portal:contract_document", args=[contract.pk]) in content
    assert contract.terms.body[:40] in content
    assert "J'ai lu et j'accepte les conditions générales" in content
    assert "Recevoir mon code par SMS" in content
    signature = Signature.objects.get(contract=contract)
    assert signature.events.filter(kind="viewed").exists()

    pdf = signer_client.get(reverse("portal:contract_document", args=[contract.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["X-Frame-Options"] == "SAMEORIGIN"

    # the checkbox is required: the error is shown at the field
    refused = signer_client.post(reverse("portal:contract_sign_code", args=[contract.pk]), {}, **HX, **UA)
    assert refused.status_code == 400
    assert 'id="accept-terms-error"' in refused.content.decode().replace("&#x27;", "'")
    assert not SmsMessage.objects.exists()

    sent = signer_client.post(
        reverse("portal:contract_sign_code", args=[contract.pk]), {"accept_terms": "on"}, **HX, **UA
    )
    body = sent.content.decode().replace("&#x27;", "'")
    assert sent.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="signature-steps"')  # the partial only
    assert "Signer" in body and 'name="code"' in body and "5 essais restants" in body
    assert "data-countdown=" in body  # the resend timer
    assert "78" in body and "12 34 56" not in body  # the masked phone

    # resend within 60 s: refused with the timer
    again = signer_client.post(
        reverse("portal:contract_sign_code", args=[contract.pk]), {"accept_terms": "on"}, **HX, **UA
    )
    assert again.status_code == 429 and "Patientez" in again.content.decode().replace("&#x27;", "'")
    assert SmsMessage.objects.count() == 1

    code = last_code()
    bad = signer_client.post(reverse("portal:contract_sign_confirm", args=[contract.pk]), {"code": wrong(code)}, **HX)
    assert bad.status_code == 400
    assert "Code incorrect. Il vous reste 4 essai(s)." in bad.content.decode().replace("&#x27;", "'")
    assert 'id="signature-code-error"' in bad.content.decode().replace(
        "&#x27;", "'"
    ) and "4 essais restants" in bad.content.decode().replace("&#x27;", "'")

    done = signer_client.post(reverse("portal:contract_sign_confirm", args=[contract.pk]), {"code": code}, **HX, **UA)
    assert done.status_code == 204
    assert done["HX-Redirect"] == reverse("portal:contract_signed", args=[contract.pk])
    contract.refresh_from_db()
    assert contract.status == Contract.Status.SIGNED
    assert Signature.objects.get(contract=contract).user_agent == "PortalTest/1.0"

    confirmation = signer_client.get(done["HX-Redirect"]).content.decode().replace("&#x27;", "'")
    assert "Votre contrat est signé" in confirmation
    assert reverse("portal:contract_signed_document", args=[contract.pk]) in confirmation
    signed = signer_client.get(reverse("portal:contract_signed_document", args=[contract.pk]))
    assert signed.status_code == 200
    assert seal.verify_sealed_pdf(org, signed.content).intact is True
    # a double submit after success lands on the confirmation, signs nothing more
    twice = signer_client.post(reverse("portal:contract_sign_confirm", args=[contract.pk]), {"code": code}, **HX)
    assert twice.status_code == 204
    assert Signature.objects.filter(contract=contract, status="signed").count() == 1
    # the signing page now leads to the confirmation, the banner is gone
    assert signer_client.get(reverse("portal:contract_sign", args=[contract.pk])).status_code == 302
    assert "attend votre signature" not in signer_client.get(reverse("portal:home")).content.decode().replace(
        "&#x27;", "'"
    )


def test_without_htmx_the_steps_render_the_whole_page_and_success_redirects(signer_client, contract):
    signer_client.get(reverse("portal:contract_sign", args=[contract.pk]))
    page = signer_client.post(reverse("portal:contract_sign_code", args=[contract.pk]), {"accept_terms": "on"})
    assert page.status_code == 200 and "<html" in page.content.decode().replace("&#x27;", "'")
    response = signer_client.post(reverse("portal:contract_sign_confirm", args=[contract.pk]), {"code": last_code()})
    assert response.status_code == 302
    assert response.url == reverse("portal:contract_signed", args=[contract.pk])


def test_five_wrong_codes_lock_the_signature_in_the_portal(signer_client, contract):
    signer_client.get(reverse("portal:contract_sign", args=[contract.pk]))
    signer_client.post(reverse("portal:contract_sign_code", args=[contract.pk]), {"accept_terms": "on"})
    code = last_code()
    for _try in range(5):
        response = signer_client.post(
            reverse("portal:contract_sign_confirm", args=[contract.pk]), {"code": wrong(code)}, **HX
        )
    assert "Trop d'essais" in response.content.decode().replace("&#x27;", "'")
    assert Signature.objects.get(contract=contract).status == Signature.Status.LOCKED
    page = (
        signer_client.get(reverse("portal:contract_sign", args=[contract.pk])).content.decode().replace("&#x27;", "'")
    )
    assert "Trop d'essais" in page and 'name="code"' not in page


@pytest.mark.parametrize("role", [Contact.CompanyRole.MANAGER, Contact.CompanyRole.USER])
def test_managers_and_users_may_not_open_the_signing_pages(client, org, contract, role):
    enter_portal(client, member(contract.company, role=role), org)
    for name in ("contract_sign", "contract_document", "contract_signed"):
        assert client.get(reverse(f"portal:{name}", args=[contract.pk])).status_code == 403
    for name in ("contract_sign_code", "contract_sign_confirm"):
        assert client.post(reverse(f"portal:{name}", args=[contract.pk]), {"accept_terms": "on"}).status_code == 403
    assert not Signature.objects.exists() and not SmsMessage.objects.exists()


def test_a_contract_of_another_company_or_organization_answers_404(client, org, other_org, contract):
    user = member(contract.company)
    enter_portal(client, user, org)
    foreign = [awaiting_contract(org), awaiting_contract(other_org)]
    for other in foreign:
        for name in ("contract_sign", "contract_document", "contract_signed", "contract_signed_document"):
            assert client.get(reverse(f"portal:{name}", args=[other.pk])).status_code == 404
        for name in ("contract_sign_code", "contract_sign_confirm"):
            assert client.post(reverse(f"portal:{name}", args=[other.pk]), {"accept_terms": "on"}).status_code == 404
    assert not Signature.objects.filter(contract__in=foreign).exists()


def test_the_same_person_administering_another_company_cannot_sign_this_ones_contract_as_a_user(client, org):
    company = CompanyFactory(organization=org, kind=Company.Kind.CLIENT)
    contract = awaiting_contract(org, company=company)
    user = member(company, role=Contact.CompanyRole.USER)
    signer_of(CompanyFactory(organization=org), user=user, email=user.email)  # administrator elsewhere
    enter_portal(client, user, org)
    assert client.get(reverse("portal:contract_sign", args=[contract.pk])).status_code == 403


def test_the_signing_page_needs_a_login(client, contract):
    response = client.get(reverse("portal:contract_sign", args=[contract.pk]))
    assert response.status_code == 302 and reverse("portal:login") in response.url
