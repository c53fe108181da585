"""Payment links (desk « Suivi des paiements », frontmanager « Espace client » §2): creation for all or part of what
remains (only the token's hash is kept), refusals that change nothing, the payer's public page and its refusals,
the offline (manual) provider end to end through the provider-event path, the back office pages, the portal's
« Payer par carte »."""

from __future__ import annotations

import datetime
import hashlib
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.billing.services.invoices import credit_invoice
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory
from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.crm.models import Contact
from comptoir.payments.models import Method, Payment, PaymentLink, PaymentProfile, Provider, ProviderEvent
from comptoir.payments.services import links as services
from comptoir.payments.services.payments import credit_balance
from comptoir.payments.tests.factories import PaymentLinkFactory, pay
from comptoir.portal.tests.test_members import enter_portal
from comptoir.portal.tests.test_signature_portal import member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return client_company(org)


@pytest.fixture
def invoice(org, company, center):  # type: ignore[no-untyped-def]
    return issue_for(org, company, center)  # 120,00 € TTC


def plain(text: str) -> str:
    """French formats use narrow and no-break spaces (1\u202f234,56\xa0€): compare with plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def state(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (PaymentLink.objects.count(), Payment.objects.count(), invoice.amount_paid, invoice.payment_status)


# --------------------------------------------------------------------------------------------------
# Creation
# --------------------------------------------------------------------------------------------------
def test_a_link_defaults_to_what_remains_and_keeps_only_the_tokens_hash(invoice, admin):
    pay(invoice, "20.00")

    link, token = services.create_link(invoice=invoice, by=admin)

    assert link.amount == Decimal("100.00")
    assert len(token) >= 43 and token not in link.token_hash
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.status == PaymentLink.Status.ACTIVE and link.provider == Provider.MANUAL
    assert datetime.timedelta(days=13, hours=23) < link.expires_at - timezone.now() <= datetime.timedelta(days=14)
    assert services.link_url(token).endswith(f"/portal/pay/{token}/")
    assert AuditEntry.objects.filter(action="paymentlink.created", object_id=str(link.pk)).exists()
    assert AuditEntry.objects.filter(action="invoice.payment_link_created", object_id=str(invoice.pk)).exists()


def test_a_link_may_ask_for_part_of_what_remains(invoice, admin):
    link, _token = services.create_link(invoice=invoice, by=admin, amount="45,50", expires_in_days=3)

    assert link.amount == Decimal("45.50")
    assert link.expires_at - timezone.now() <= datetime.timedelta(days=3)


@pytest.mark.parametrize(
    ("amount", "code"),
    [("120.01", "exceeds_remaining"), ("0", "negative_amount"), ("-5", "negative_amount"), ("abc", "invalid_amount")],
)
def test_an_amount_over_what_remains_or_not_positive_is_refused_and_changes_nothing(invoice, admin, amount, code):
    before = state(invoice)

    with pytest.raises(ValidationFailed) as exc:
        services.create_link(invoice=invoice, by=admin, amount=amount)

    assert exc.value.code == code and "amount" in exc.value.fields
    assert state(invoice) == before


def test_an_invoice_that_awaits_no_payment_gets_no_link(org, company, center, admin):
    draft = InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)
    InvoiceLineFactory(invoice=draft)
    paid = issue_for(org, company, center)
    pay(paid, "120.00")
    cancelled = issue_for(org, company, center)
    credit_note = credit_invoice(invoice=cancelled, by=admin)
    cancelled.refresh_from_db()
    count = PaymentLink.objects.count()

    refusals = {}
    for name, target in {"draft": draft, "paid": paid, "cancelled": cancelled, "credit_note": credit_note}.items():
        with pytest.raises(ValidationFailed) as exc:
            services.create_link(invoice=target, by=admin)
        refusals[name] = exc.value.code

    assert refusals == {"draft": "not_payable", "paid": "already_paid", "cancelled": "not_payable",
                        "credit_note": "not_payable"}  # fmt: skip
    assert PaymentLink.objects.count() == count


def test_a_validity_outside_one_to_ninety_days_is_refused(invoice, admin):
    for days in (0, 91, "x"):
        with pytest.raises(ValidationFailed) as exc:
            services.create_link(invoice=invoice, by=admin, expires_in_days=days)
        assert exc.value.code == "invalid_validity"
    assert not PaymentLink.objects.exists()


def test_rights_staff_without_the_right_and_other_organizations_staff_are_refused(invoice, staff_of, other_admin):
    reception, technician = staff_of("reception"), staff_of("technician")

    services.create_link(invoice=invoice, by=reception)  # reception may create links (payments.add_paymentlink)
    for user in (technician, other_admin, None):
        with pytest.raises(RightsError):
            services.create_link(invoice=invoice, by=user)
    link = PaymentLink.objects.get()
    with pytest.raises(RightsError):
        services.cancel_link(link=link, by=reception)  # cancelling needs payments.change_paymentlink
    assert PaymentLink.objects.get().status == PaymentLink.Status.ACTIVE


def test_send_link_mails_the_billing_address_and_refuses_a_wrong_token(invoice, admin):
    link, token = services.create_link(invoice=invoice, by=admin)

    with pytest.raises(services.LinkError):
        services.send_link(link=link, token="not-the-token", by=admin)
    sent = services.send_link(link=link, token=token, by=admin)

    assert sent == ["compta@lumiere.test"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["compta@lumiere.test"] and invoice.reference in message.subject
    assert services.link_url(token) in message.body and "120,00 €" in plain(message.body)


# --------------------------------------------------------------------------------------------------
# The payer's page
# --------------------------------------------------------------------------------------------------
def test_the_payers_page_shows_the_invoice_and_the_card_button(client, invoice, admin):
    _link, token = services.create_link(invoice=invoice, by=admin, amount="50")

    response = client.get(reverse("portal:pay", args=[token]))
    page = plain(response.content.decode())

    assert response.status_code == 200
    assert invoice.reference in page and "Atelier Lumière" in page and "50,00 €" in page and "120,00 €" in page
    assert invoice.due_date.strftime("%d/%m/%Y") in page
    assert reverse("portal:pay_pdf", args=[token]) in page
    assert "Payer par carte" in page and reverse("portal:pay_checkout", args=[token]) in page
    pdf = client.get(reverse("portal:pay_pdf", args=[token]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_unknown_expired_cancelled_and_paid_links_get_a_clear_page_and_change_nothing(client, org, invoice, admin):
    expired, expired_token = services.create_link(invoice=invoice, by=admin, amount="10")
    PaymentLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    cancelled, cancelled_token = services.create_link(invoice=invoice, by=admin, amount="10")
    services.cancel_link(link=cancelled, by=admin)
    paid, paid_token = services.create_link(invoice=invoice, by=admin, amount="10")
    PaymentLink.objects.filter(pk=paid.pk).update(status=PaymentLink.Status.PAID)
    before = state(invoice)

    answers = {}
    for name, token in {"unknown": "x" * 43, "expired": expired_token, "cancelled": cancelled_token,
                        "paid": paid_token}.items():  # fmt: skip
        page = client.get(reverse("portal:pay", args=[token]))
        checkout = client.post(reverse("portal:pay_checkout", args=[token]))
        answers[name] = (page.status_code, checkout.status_code, "Payer par carte" in page.content.decode())

    assert answers == {"unknown": (404, 404, False), "expired": (410, 409, False), "cancelled": (410, 409, False),
                       "paid": (200, 409, False)}  # fmt: skip
    assert "a expiré" in client.get(reverse("portal:pay", args=[expired_token])).content.decode()
    assert "annulé" in client.get(reverse("portal:pay", args=[cancelled_token])).content.decode()
    assert "existe pas" in client.get(reverse("portal:pay", args=["y" * 43])).content.decode()
    assert state(invoice) == before
    assert PaymentLink.objects.get(pk=expired.pk).checkout_session_id == ""


def test_an_invoice_paid_meanwhile_refuses_its_link(client, invoice, admin):
    _link, token = services.create_link(invoice=invoice, by=admin)
    pay(invoice, "120.00")

    page = client.get(reverse("portal:pay", args=[token]))
    checkout = client.post(reverse("portal:pay_checkout", args=[token]))

    assert page.status_code == 410 and "déjà réglée" in page.content.decode()
    assert checkout.status_code == 409
    assert Payment.objects.count() == 1


def test_token_lookups_are_rate_limited_per_address(client, invoice, admin):
    _link, token = services.create_link(invoice=invoice, by=admin)

    statuses = [client.get(reverse("portal:pay", args=[token])).status_code for _ in range(31)]

    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429


# --------------------------------------------------------------------------------------------------
# The offline (manual) provider, end to end
# --------------------------------------------------------------------------------------------------
def test_manual_provider_end_to_end_pays_the_invoice_and_tells_the_staff(client, org, invoice, admin,
                                                                         django_capture_on_commit_callbacks):  # fmt: skip
    link, token = services.create_link(invoice=invoice, by=admin)
    mail.outbox.clear()

    page = client.get(reverse("portal:pay", args=[token]))
    checkout = client.post(reverse("portal:pay_checkout", args=[token]))
    offline_url = reverse("portal:pay_offline", args=[token])
    form = client.get(offline_url)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(offline_url)
    done = client.get(confirmed["Location"])

    assert page.status_code == 200
    assert checkout.status_code == 302 and checkout["Location"] == offline_url
    assert "mode hors ligne" in form.content.decode() and "démonstration" in form.content.decode()
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("portal:pay_done", args=[token])
    assert "Paiement reçu" in done.content.decode()
    link.refresh_from_db()
    invoice.refresh_from_db()
    payment = Payment.objects.get()
    assert link.status == PaymentLink.Status.PAID and link.payment == payment and link.paid_at is not None
    assert (payment.method, payment.provider, payment.amount) == (Method.CARD, Provider.MANUAL, Decimal("120.00"))
    assert payment.provider_reference == link.checkout_session_id and link.checkout_session_id.startswith("cs_manual_")
    assert invoice.payment_status == Invoice.PaymentStatus.PAID and invoice.amount_due == 0
    event = ProviderEvent.objects.get()
    assert (event.provider, event.type, event.organization_id) == ("manual", "checkout.session.completed", org.pk)
    assert event.event_id == f"evt_{link.checkout_session_id}"
    assert [message.to for message in mail.outbox] == [[admin.email]]
    assert "120,00 €" in plain(mail.outbox[0].subject) and invoice.reference in mail.outbox[0].body
    assert "démonstration" in mail.outbox[0].body


def test_confirming_the_offline_form_twice_records_one_payment(client, invoice, admin):
    _link, token = services.create_link(invoice=invoice, by=admin)
    client.post(reverse("portal:pay_checkout", args=[token]))

    client.post(reverse("portal:pay_offline", args=[token]))
    again = client.post(reverse("portal:pay_offline", args=[token]))

    assert again.status_code == 200 and "déjà été payé" in again.content.decode()
    assert Payment.objects.count() == 1


def test_a_partial_link_leaves_the_invoice_partially_paid_and_the_staff_email_is_the_profiles(
    client, org, invoice, admin, django_capture_on_commit_callbacks
):
    PaymentProfile.objects.create(organization=org, staff_email="finance@operateur-a.test")
    _link, token = services.create_link(invoice=invoice, by=admin, amount="20")
    mail.outbox.clear()

    client.post(reverse("portal:pay_checkout", args=[token]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:pay_offline", args=[token]))

    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PARTIALLY_PAID and invoice.amount_due == Decimal("100.00")
    assert mail.outbox[0].to == ["finance@operateur-a.test"] and "100,00 €" in plain(mail.outbox[0].body)


def test_the_offline_form_is_off_when_disabled(client, settings, invoice, admin):
    settings.PAYMENTS_OFFLINE_CHECKOUT = "0"
    _link, token = services.create_link(invoice=invoice, by=admin)

    response = client.post(reverse("portal:pay_checkout", args=[token]))

    assert response.status_code == 409 and "pas disponible" in response.content.decode()
    assert not Payment.objects.exists()


def test_the_offline_form_refuses_a_link_without_an_offline_session(client, invoice, admin):
    _link, token = services.create_link(invoice=invoice, by=admin)

    response = client.post(reverse("portal:pay_offline", args=[token]))

    assert response.status_code == 404 and not Payment.objects.exists()


# --------------------------------------------------------------------------------------------------
# Back office
# --------------------------------------------------------------------------------------------------
def test_the_invoice_page_offers_the_link_and_the_form_shows_the_url_once(staff_client, invoice, admin):
    web = staff_client(admin)
    links_url = reverse("payments:invoice_links", args=[invoice.pk])

    detail = web.get(invoice.get_absolute_url()).content.decode()
    form = web.post(links_url)  # the invoice page's button
    created = web.post(links_url, {"step": "create", "amount": "60,00", "expires_in_days": "7"})
    page = created.content.decode()

    assert "Créer un lien de paiement" in detail and links_url in detail
    assert form.status_code == 200 and "Aucun lien de paiement" in form.content.decode()
    assert created.status_code == 200 and 'data-copy="#link-url"' in page and "Envoyer par e-mail" in page
    link = PaymentLink.objects.get()
    url = re.search(r'id="link-url" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert link.amount == Decimal("60.00") and link.token_hash == hashlib.sha256(token_of(url).encode()).hexdigest()
    listing = plain(web.get(links_url).content.decode())
    assert "60,00 €" in listing and "Actif" in listing and token_of(url) not in listing

    sent = web.post(reverse("payments:link_send", args=[link.pk]), {"token": token_of(url)})
    assert sent.status_code == 302 and mail.outbox[-1].to == ["compta@lumiere.test"]
    cancelled = web.post(reverse("payments:link_cancel", args=[link.pk]))
    assert cancelled.status_code == 302
    link.refresh_from_db()
    assert link.status == PaymentLink.Status.CANCELLED
    assert "Annulé" in web.get(links_url).content.decode()


def test_the_form_shows_refusals_at_the_field(staff_client, invoice, admin):
    web = staff_client(admin)

    response = web.post(reverse("payments:invoice_links", args=[invoice.pk]),
                        {"step": "create", "amount": "500", "expires_in_days": "14"})  # fmt: skip

    assert response.status_code == 400 and "dépasse le reste à payer" in response.content.decode()
    assert not PaymentLink.objects.exists()


def test_a_paid_invoice_has_no_link_button_but_keeps_its_links_history(staff_client, invoice, admin):
    web = staff_client(admin)
    pay(invoice, "120.00")
    without_links = web.get(invoice.get_absolute_url()).content.decode()
    PaymentLinkFactory(invoice=invoice)

    with_links = web.get(invoice.get_absolute_url()).content.decode()

    assert "Créer un lien de paiement" not in without_links and "Liens de paiement" not in without_links
    assert "Créer un lien de paiement" not in with_links and "Liens de paiement" in with_links


def test_back_office_rights(staff_client, invoice, staff_of):
    technician = staff_client(staff_of("technician"))
    assert technician.get(reverse("payments:invoice_links", args=[invoice.pk])).status_code == 403


# --------------------------------------------------------------------------------------------------
# Portal « Payer par carte »
# --------------------------------------------------------------------------------------------------
def test_a_company_administrator_pays_an_invoice_from_the_portal(client, org, company, invoice):
    enter_portal(client, member(company), org)

    detail = client.get(reverse("portal:invoice_detail", args=[invoice.pk])).content.decode()
    started = client.post(reverse("portal:invoice_pay", args=[invoice.pk]))
    client.post(started["Location"])

    assert "Payer par carte" in detail and "À payer" in detail and "Reste à payer" in detail
    assert started.status_code == 302 and "/offline/" in started["Location"]
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    link = PaymentLink.objects.get()
    assert link.amount == Decimal("120.00") and link.expires_at - timezone.now() <= datetime.timedelta(days=1)
    after = client.get(reverse("portal:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Payée" in after and "Payer par carte" not in after


def test_a_portal_member_who_may_not_pay_gets_no_button_and_no_link(client, org, company, invoice):
    # a manager does not see the company's documents: the invoice answers 404
    enter_portal(client, member(company, role=Contact.CompanyRole.MANAGER, email="manager@lumiere.test"), org)

    response = client.post(reverse("portal:invoice_pay", args=[invoice.pk]))

    assert response.status_code == 404 and not PaymentLink.objects.exists()


def test_an_overpayment_through_two_links_becomes_the_credit_balance(client, org, company, invoice, admin):
    _first, first_token = services.create_link(invoice=invoice, by=admin)
    _second, second_token = services.create_link(invoice=invoice, by=admin)
    client.post(reverse("portal:pay_checkout", args=[first_token]))
    client.post(reverse("portal:pay_checkout", args=[second_token]))

    client.post(reverse("portal:pay_offline", args=[first_token]))
    refused = client.post(reverse("portal:pay_offline", args=[second_token]))  # nothing left to pay: refused

    assert refused.status_code == 410
    assert Payment.objects.count() == 1 and credit_balance(company) == 0


def test_crediting_the_whole_invoice_cancels_its_active_links(invoice, admin):
    from comptoir.billing.services.invoices import credit_invoice

    link, token = services.create_link(invoice=invoice, by=admin)

    credit_invoice(invoice=invoice, by=admin, reason="Erreur de facturation")

    link.refresh_from_db()
    assert link.status == PaymentLink.Status.CANCELLED
    assert services.link_state(services.find_link(token)).code == "cancelled"
