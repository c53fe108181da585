"""Delivering issued documents (clients-prospects « Livraison des factures »): e-mail with the PDF, e-mail with the
portal link, Chorus Pro « à déposer », direct-debit export; one InvoiceDelivery row and one journal entry per
attempt; a missing recipient is a failed delivery, never an exception."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from comptoir.billing.models import CustomerBillingProfile, Invoice, InvoiceDelivery
from comptoir.billing.services import delivery as services
from comptoir.billing.services.invoices import BillingError
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory, issued_invoice
from comptoir.core.errors import RightsError
from comptoir.core.models import AuditEntry
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


def client_company(org):  # type: ignore[no-untyped-def]
    return CompanyFactory(
        organization=org, name="Atelier Lumière", kind=Company.Kind.CLIENT, siren="443061841",
        siret="44306184100047", email="compta@lumiere.test", address_line1="5 avenue Victor Hugo",
        postal_code="75016", city="Paris",
    )  # fmt: skip


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return client_company(org)


def issue_for(org, company, center, **extra):  # type: ignore[no-untyped-def]
    return issued_invoice(org, company=company, center=center, legal_entity=center.legal_entity, **extra)


def draft_for(org, company, center):  # type: ignore[no-untyped-def]
    invoice = InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)
    InvoiceLineFactory(invoice=invoice, unit_price=Decimal("50.0000"))
    return invoice


def deliveries(invoice: Invoice) -> list[tuple[str, str, str]]:
    return list(invoice.deliveries.order_by("id").values_list("method", "status", "recipient"))


def test_the_pdf_goes_to_the_invoice_recipients_with_the_pdf_attached(org, admin, center, company):
    ContactFactory(company=company, email="Paul@Lumiere.test", is_invoice_recipient=True)
    ContactFactory(company=company, email="ines@lumiere.test", is_invoice_recipient=False)
    ContactFactory(company=company, email="old@lumiere.test", is_invoice_recipient=True, is_active=False)
    invoice = issue_for(org, company, center)

    result = services.deliver_invoice(invoice=invoice, by=admin, methods=["email_pdf"])

    assert [(row.method, row.status, row.recipient) for row in result] == [("email_pdf", "done", "paul@lumiere.test")]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["paul@lumiere.test"]
    assert message.subject == f"Votre facture {invoice.reference} — {invoice.seller['name']}"
    assert [(name, mimetype) for name, _content, mimetype in message.attachments] == [
        (f"{invoice.reference}.pdf", "application/pdf")
    ]
    assert message.attachments[0][1].startswith(b"%PDF")
    assert reverse("portal:invoice_detail", args=[invoice.pk]) in message.body
    assert "120,00" in message.body
    entry = AuditEntry.objects.get(action="invoice.delivered")
    assert entry.object_id == str(invoice.pk) and entry.changes["method"] == "email_pdf"


def test_without_a_flagged_contact_the_company_email_receives_it(org, admin, center, company):
    ContactFactory(company=company, email="ines@lumiere.test", is_invoice_recipient=False)
    invoice = issue_for(org, company, center)

    services.deliver_invoice(invoice=invoice, by=admin, methods=["email_pdf"])

    assert [message.to for message in mail.outbox] == [["compta@lumiere.test"]]
    assert deliveries(invoice) == [("email_pdf", "done", "compta@lumiere.test")]


def test_the_notification_links_to_the_portal_without_attachment(org, admin, center, company):
    ContactFactory(company=company, email="paul@lumiere.test", is_invoice_recipient=True)
    invoice = issue_for(org, company, center)

    services.deliver_invoice(invoice=invoice, by=admin, methods=["email_notification"])

    assert len(mail.outbox) == 1
    assert mail.outbox[0].attachments == []
    assert "http://127.0.0.1:8000" + reverse("portal:invoice_detail", args=[invoice.pk]) in mail.outbox[0].body
    assert deliveries(invoice) == [("email_notification", "done", "paul@lumiere.test")]


def test_no_recipient_is_a_failed_delivery_with_its_reason_not_an_exception(org, admin, center, company):
    company.email = ""
    company.save()
    invoice = issue_for(org, company, center)

    result = services.deliver_invoice(invoice=invoice, by=admin, methods=["email_pdf", "email_notification"])

    assert [(row.method, row.status) for row in result] == [("email_pdf", "failed"), ("email_notification", "failed")]
    assert result[0].detail.startswith("Aucun destinataire")
    assert mail.outbox == []
    assert AuditEntry.objects.filter(action="invoice.delivery_failed").count() == 2


def test_the_companys_methods_apply_when_none_are_given(org, admin, center, company):
    company.invoice_delivery_methods = ["email_notification", "gocardless"]
    company.save()
    invoice = issue_for(org, company, center)

    services.deliver_invoice(invoice=invoice, by=admin)

    assert deliveries(invoice) == [("email_notification", "done", "compta@lumiere.test"), ("gocardless", "done", "")]
    assert invoice.deliveries.get(method="gocardless").detail == "Incluse dans le prochain export de prélèvement."


def test_chorus_pro_needs_the_buyers_siret_and_the_service_code_it_asks_for(org, admin, center, company):
    CustomerBillingProfile.objects.create(organization=org, company=company, is_public_entity=True,
                                          service_code="SERV-01")  # fmt: skip
    without_code = issue_for(org, company, center)
    with_code = issue_for(org, company, center, buyer_reference="SERV-01", purchase_order="EJ-2026-42")

    refused = services.deliver_invoice(invoice=without_code, by=admin, methods=["chorus_pro"])
    accepted = services.deliver_invoice(invoice=with_code, by=admin, methods=["chorus_pro"])

    assert (refused[0].status, refused[0].detail) == ("failed", "Le code service Chorus Pro manque sur la facture.")
    assert (accepted[0].status, accepted[0].recipient) == ("done", "44306184100047")
    assert accepted[0].detail == "À déposer : incluse dans le prochain export Chorus Pro (code service SERV-01)."
    assert mail.outbox == []


def test_chorus_pro_refuses_a_buyer_that_is_not_a_public_entity(org, admin, center, company):
    invoice = issue_for(org, company, center)

    result = services.deliver_invoice(invoice=invoice, by=admin, methods=["chorus_pro"])

    assert result[0].status == "failed"
    assert result[0].detail == "Le client n'est pas une entité publique (paramètres de facturation du client)."


def test_a_draft_or_a_user_without_the_right_changes_nothing(org, admin, center, company, staff_of):
    draft = draft_for(org, company, center)
    issued = issue_for(org, company, center)
    entries = AuditEntry.objects.count()

    with pytest.raises(BillingError) as refused:
        services.deliver_invoice(invoice=draft, by=admin, methods=["email_pdf"])
    assert refused.value.code == "not_issued"
    with pytest.raises(RightsError):
        services.deliver_invoice(invoice=issued, by=staff_of("reception"), methods=["email_pdf"])
    with pytest.raises(BillingError):
        services.deliver_invoice(invoice=issued, by=admin, methods=["fax"])

    assert InvoiceDelivery.objects.count() == 0 and mail.outbox == []
    assert AuditEntry.objects.count() == entries


def test_the_automatic_delivery_after_issue_runs_after_commit_and_only_once(
    org, center, company, django_capture_on_commit_callbacks
):
    company.invoice_delivery_methods = ["email_pdf"]
    company.save()
    invoice = issue_for(org, company, center)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.on_invoice_issued(invoice=invoice, by=None)
    assert len(callbacks) == 1
    services.deliver_invoices(invoice_ids=[invoice.pk])  # a second run sends nothing again

    assert deliveries(invoice) == [("email_pdf", "done", "compta@lumiere.test")]
    assert len(mail.outbox) == 1


def test_no_delivery_is_scheduled_for_a_company_without_methods(
    org, center, company, django_capture_on_commit_callbacks
):
    invoice = issue_for(org, company, center)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.on_invoice_issued(invoice=invoice, by=None)

    assert callbacks == [] and InvoiceDelivery.objects.count() == 0


def test_the_send_button_delivers_and_reports_each_attempt(org, admin, center, company, staff_client):
    invoice = issue_for(org, company, center)
    client = staff_client(admin)

    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    response = client.post(reverse("billing:invoice_send", args=[invoice.pk]), follow=True)

    assert reverse("billing:invoice_send", args=[invoice.pk]) in page
    assert response.redirect_chain == [(reverse("billing:invoice_detail", args=[invoice.pk]), 302)]
    assert deliveries(invoice) == [("email_pdf", "done", "compta@lumiere.test")]  # no method set: the PDF by e-mail
    assert [str(message) for message in response.context["messages"]] == [
        "E-mail avec la facture en pièce jointe : envoyé à compta@lumiere.test."
    ]


def test_the_send_button_answers_404_for_another_organization_and_405_to_get(
    org, other_org, admin, center, company, staff_client, other_center
):
    foreign_company = CompanyFactory(organization=other_org, kind=Company.Kind.CLIENT, email="x@y.test")
    foreign = issue_for(other_org, foreign_company, other_center)
    mine = issue_for(org, company, center)
    client = staff_client(admin)

    assert client.post(reverse("billing:invoice_send", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("billing:invoice_send", args=[mine.pk])).status_code == 405
    assert InvoiceDelivery.objects.count() == 0 and mail.outbox == []


def test_the_send_button_shows_the_refusal_of_a_user_without_the_right(org, center, company, staff_of, staff_client):
    invoice = issue_for(org, company, center)
    client = staff_client(staff_of("reception"))

    response = client.post(reverse("billing:invoice_send", args=[invoice.pk]), follow=True)

    assert response.status_code == 200
    assert InvoiceDelivery.objects.count() == 0 and mail.outbox == []
