"""Portal « Mon entreprise → Moyens de paiement »: a company administrator sets up a SEPA mandate and signs it with
the SMS code in the same flow; other roles get 403, other companies' mandates 404."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from comptoir.core import tenancy
from comptoir.core.models import SmsMessage
from comptoir.core.tests.factories import UserFactory
from comptoir.crm.tests.factories import ContactFactory
from comptoir.payments.models import Mandate
from comptoir.payments.tests.factories import ClientCompanyFactory, MandateFactory

IBAN = "FR76 3000 6000 0112 3456 7890 189"


@pytest.fixture
def company(org, center):  # type: ignore[no-untyped-def]
    return ClientCompanyFactory(organization=org, center=center, name="Atelier Lumière")


def member(company, role: str, email: str):  # type: ignore[no-untyped-def]
    user = UserFactory(email=email)
    ContactFactory(company=company, user=user, email=email, company_role=role, has_portal_access=True,
                   mobile="+33612345678")  # fmt: skip
    return user


def enter(client, user, organization):  # type: ignore[no-untyped-def]
    client.force_login(user, backend="comptoir.core.auth.EmailBackend")
    session = client.session
    session[tenancy.SESSION_KEY] = organization.pk
    session.save()
    return client


def code() -> str:
    return re.search(r"\b(\d{6})\b", SmsMessage.objects.order_by("-id").first().body).group(1)


def test_an_administrator_sets_up_and_signs_a_mandate_in_one_flow(client, org, company):
    client = enter(client, member(company, "administrator", "admin@atelier.test"), org)
    page = client.get(reverse("portal:payment_methods"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Aucun mandat de prélèvement" in text and "Moyens de paiement" in text

    refused = client.post(reverse("portal:mandate_new"), {"company": company.pk, "account_holder": "Atelier",
                                                          "iban": "FR7630006000011234567890188", "bic": ""})  # fmt: skip
    assert refused.status_code == 400 and "IBAN invalide" in refused.content.decode()
    assert Mandate.objects.count() == 0

    created = client.post(reverse("portal:mandate_new"), {"company": company.pk, "account_holder": "Atelier Lumière",
                                                          "iban": IBAN, "bic": "AGRIFRPP"})  # fmt: skip
    mandate = Mandate.objects.get()
    assert created.status_code == 302 and f"mandate={mandate.pk}" in created.url
    steps = client.get(created.url).content.decode()
    assert "Recevoir mon code par SMS" in steps and mandate.reference in steps

    sent = client.post(reverse("portal:mandate_code", args=[mandate.pk]), HTTP_HX_REQUEST="true")
    assert sent.status_code == 200 and "Un code vient d" in sent.content.decode()
    wrong = client.post(reverse("portal:mandate_sign", args=[mandate.pk]), {"code": "12345"}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 400
    signed = client.post(reverse("portal:mandate_sign", args=[mandate.pk]), {"code": code()}, HTTP_HX_REQUEST="true")
    assert signed.status_code == 204 and signed["HX-Redirect"] == reverse("portal:payment_methods")
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.ACTIVE
    assert mandate.signature_evidence["user_agent"] is not None
    listing = client.get(reverse("portal:payment_methods")).content.decode()
    assert "FR76 •••• 0189" in listing and "Actif" in listing


def test_a_manager_or_user_gets_403_and_changes_nothing(client, org, company):
    mandate = MandateFactory(organization=org, company=company, legal_entity=company.center.legal_entity)
    client = enter(client, member(company, "manager", "manager@atelier.test"), org)
    assert client.get(reverse("portal:payment_methods")).status_code == 403
    assert client.post(reverse("portal:mandate_new"), {"company": company.pk, "iban": IBAN,
                                                       "account_holder": "X"}).status_code == 403  # fmt: skip
    assert client.post(reverse("portal:mandate_code", args=[mandate.pk])).status_code == 404
    assert Mandate.objects.count() == 1 and SmsMessage.objects.count() == 0


def test_another_companys_or_organizations_mandate_answers_404(client, org, other_org, company, other_center):
    client = enter(client, member(company, "administrator", "admin@atelier.test"), org)
    neighbour = ClientCompanyFactory(organization=org, center=company.center)
    theirs = MandateFactory(organization=org, company=neighbour, legal_entity=company.center.legal_entity)
    foreign_company = ClientCompanyFactory(organization=other_org, center=other_center)
    foreign = MandateFactory(organization=other_org, company=foreign_company, legal_entity=other_center.legal_entity)
    for mandate in (theirs, foreign):
        for name in ("portal:mandate_code", "portal:mandate_sign", "portal:mandate_revoke"):
            assert client.post(reverse(name, args=[mandate.pk]), {"code": "123456"}).status_code == 404
        assert client.get(reverse("portal:payment_methods"), {"mandate": mandate.pk}).status_code == 404
    assert client.post(reverse("portal:mandate_new"), {"company": neighbour.pk, "iban": IBAN,
                                                       "account_holder": "X"}).status_code == 404  # fmt: skip
    assert set(Mandate.objects.values_list("status", flat=True)) == {Mandate.Status.PENDING}
    assert Mandate.objects.count() == 2 and SmsMessage.objects.count() == 0


def test_the_administrator_may_revoke_the_companys_mandate(client, org, company):
    client = enter(client, member(company, "administrator", "admin@atelier.test"), org)
    mandate = MandateFactory(organization=org, company=company, legal_entity=company.center.legal_entity,
                             status=Mandate.Status.ACTIVE)  # fmt: skip
    assert client.post(reverse("portal:mandate_revoke", args=[mandate.pk])).status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.REVOKED


def test_the_menu_shows_payment_methods_to_administrators_only(client, org, company):
    admin_client = enter(client, member(company, "administrator", "admin@atelier.test"), org)
    assert reverse("portal:payment_methods") in admin_client.get(reverse("portal:home")).content.decode()
    admin_client.logout()
    user_client = enter(client, member(company, "user", "user@atelier.test"), org)
    assert reverse("portal:payment_methods") not in user_client.get(reverse("portal:home")).content.decode()
