"""Finance → Relances and the « Relancer » button of an invoice's page (back office), the reminders API, rights
(reception sees the reminders, cannot send one nor change the schedule) and tenancy."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.core.models import AuditEntry
from comptoir.core.testing import tenancy_walk_test
from comptoir.core.tests.factories import CenterFactory
from comptoir.payments.models import DEFAULT_REMINDER_SCHEDULE, PaymentProfile, Reminder
from comptoir.payments.services.reminders import send_due_reminders, send_reminder
from comptoir.payments.tests.factories import ClientCompanyFactory
from comptoir.payments.tests.test_reminders import late_invoice

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


# --------------------------------------------------------------------------------------------------
# « Relancer » from the invoice's page
# --------------------------------------------------------------------------------------------------
def test_the_invoice_page_shows_relancer_for_an_invoice_with_an_amount_due(org, admin, staff_client):
    invoice = late_invoice(org, days_late=12)
    web = staff_client(admin)

    page = web.get(invoice.get_absolute_url()).content.decode()

    assert reverse("payments:invoice_remind", args=[invoice.pk]) in page
    assert "Relancer" in page


def test_reception_does_not_see_the_relancer_button_and_cannot_post_it(org, staff_of, staff_client):
    invoice = late_invoice(org, days_late=12)
    web = staff_client(staff_of("reception"))

    page = web.get(invoice.get_absolute_url()).content.decode()
    answer = web.post(reverse("payments:invoice_remind", args=[invoice.pk]), {"confirm": "1", "channel": "email"})

    assert reverse("payments:invoice_remind", args=[invoice.pk]) not in page
    assert answer.status_code == 403
    assert not Reminder.objects.exists() and mail.outbox == []


def test_the_button_opens_a_confirmation_with_the_email_and_the_charges_then_sends(org, admin, staff_client):
    # given an invoice 45 days late: 1,78 € of penalties and the 40 € indemnity
    invoice = late_invoice(org, days_late=45)
    web = staff_client(admin)
    url = reverse("payments:invoice_remind", args=[invoice.pk])

    # when the page's button is pressed (a POST without confirm)
    page = web.post(url)

    # then the confirmation shows the e-mail's recipients and text, and the charges; nothing is sent yet
    text = page.content.decode().replace("\u202f", " ").replace("\xa0", " ")
    assert page.status_code == 200
    assert "compta@client.example" in text and "45 jours de retard" in text
    assert "1,78 €" in text and "40,00 €" in text and "161,78 €" in text
    assert mail.outbox == [] and not Reminder.objects.exists()

    # when confirmed
    answer = web.post(url, {"confirm": "1", "channel": "email"})

    # then the e-mail leaves and the invoice's page tells so
    assert answer.status_code == 302 and answer["Location"] == invoice.get_absolute_url()
    assert len(mail.outbox) == 1
    assert Reminder.objects.get().sent_by == admin
    assert "Relance" in web.get(invoice.get_absolute_url()).content.decode()


def test_a_letter_from_the_confirmation_is_downloadable(org, admin, staff_client):
    invoice = late_invoice(org, days_late=20)
    web = staff_client(admin)

    web.post(reverse("payments:invoice_remind", args=[invoice.pk]), {"confirm": "1", "channel": "letter"})

    reminder = Reminder.objects.get()
    answer = web.get(reverse("payments:reminder_document", args=[reminder.pk]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert b"".join(answer.streaming_content)[:5] == b"%PDF-"


def test_a_refusal_is_shown_at_the_channel_and_sends_nothing(org, admin, staff_client):
    invoice = late_invoice(org, days_late=20)
    type(invoice.company).objects.filter(pk=invoice.company_id).update(email="")
    web = staff_client(admin)

    answer = web.post(reverse("payments:invoice_remind", args=[invoice.pk]), {"confirm": "1", "channel": "email"})

    assert answer.status_code == 400
    assert "Aucun destinataire" in answer.content.decode()
    assert not Reminder.objects.exists() and mail.outbox == []


def test_a_paid_invoice_has_nothing_to_remind(org, admin, staff_client):
    from comptoir.payments.tests.factories import pay

    invoice = late_invoice(org, days_late=20)
    pay(invoice, "120.00")
    web = staff_client(admin)

    answer = web.get(reverse("payments:invoice_remind", args=[invoice.pk]))

    assert answer.status_code == 302
    assert (
        reverse("payments:invoice_remind", args=[invoice.pk])
        not in web.get(invoice.get_absolute_url()).content.decode()
    )


# --------------------------------------------------------------------------------------------------
# Finance → Relances
# --------------------------------------------------------------------------------------------------
def test_the_list_shows_the_reminders_with_filters_and_an_empty_state(org, admin, staff_client):
    web = staff_client(admin)
    url = reverse("payments:reminder_list")
    assert "Aucune relance envoyée" in web.get(url).content.decode()

    invoice = late_invoice(org, days_late=20)
    send_reminder(invoice=invoice, by=admin, channel="letter")
    send_due_reminders(TODAY)

    page = web.get(url).content.decode()
    manual, second = ">Manuelle</td>", ">Automatique n°2</td>"
    assert invoice.reference in page and second in page and manual in page
    letters = web.get(url, {"channel": "letter"}).content.decode()
    assert manual in letters and second not in letters
    automatic = web.get(url, {"kind": "automatic"}).content.decode()
    assert second in automatic and manual not in automatic
    csv = web.get(url, {"export": "csv"})
    assert b"".join(csv.streaming_content).decode().count(invoice.reference) == 2


def test_the_list_makes_the_same_number_of_queries_for_2_and_20_reminders(org, admin, staff_client):
    web = staff_client(admin)
    url = reverse("payments:reminder_list")
    center = CenterFactory(organization=org)
    for _ in range(2):
        send_reminder(invoice=late_invoice(org, days_late=5, center=center), by=admin, channel="letter")
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        web.get(url)
    for _ in range(18):
        send_reminder(invoice=late_invoice(org, days_late=5, center=center), by=admin)
    with CaptureQueriesContext(connection) as many:
        page = web.get(url)

    assert page.content.decode().count("/manage/billing/invoices/") >= 20
    assert len(many) == len(few)


def test_the_administrator_changes_the_schedule(org, admin, staff_client):
    web = staff_client(admin)

    answer = web.post(reverse("payments:reminder_schedule_update"), {
        "enabled": "on", "days_1": "10", "channel_1": "email", "days_2": "45", "channel_2": "letter",
    })  # fmt: skip

    assert answer.status_code == 302
    profile = PaymentProfile.objects.get(organization=org)
    assert profile.reminder_schedule == [{"days": 10, "channel": "email"}, {"days": 45, "channel": "letter"}]
    assert profile.reminders_enabled is True


def test_a_wrong_schedule_is_shown_at_its_field_and_changes_nothing(org, admin, staff_client):
    web = staff_client(admin)

    answer = web.post(reverse("payments:reminder_schedule_update"), {"enabled": "on", "days_1": "0"})
    duplicate = web.post(reverse("payments:reminder_schedule_update"), {
        "enabled": "on", "days_1": "7", "channel_1": "email", "days_2": "7", "channel_2": "letter"})  # fmt: skip

    assert (
        answer.status_code == 200 and "is-invalid" in answer.content.decode()
    ) or "invalid-feedback" in answer.content.decode()
    assert "Deux relances ne peuvent pas avoir le même délai" in duplicate.content.decode()
    assert PaymentProfile.objects.get(organization=org).reminder_schedule == DEFAULT_REMINDER_SCHEDULE


def test_reception_sees_the_reminders_and_the_schedule_but_cannot_change_it(org, staff_of, staff_client):
    web = staff_client(staff_of("reception"))

    page = web.get(reverse("payments:reminder_list"))
    refused = web.post(reverse("payments:reminder_schedule_update"), {"enabled": "", "days_1": "3",
                                                                       "channel_1": "email"})  # fmt: skip

    assert page.status_code == 200
    text = page.content.decode()
    assert "Relance n°3 : 30 jours après l'échéance" in text
    assert reverse("payments:reminder_schedule_update") not in text
    assert refused.status_code == 403
    assert PaymentProfile.objects.get(organization=org).reminders_enabled is True
    assert not AuditEntry.objects.filter(action="paymentprofile.reminders_changed").exists()


def test_a_staff_member_without_the_right_cannot_open_the_page(org, staff_of, staff_client):
    web = staff_client(staff_of("technician"))

    assert web.get(reverse("payments:reminder_list")).status_code == 403


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------
def test_api_sends_a_manual_reminder_once_per_idempotency_key(org, admin, api_client):
    invoice = late_invoice(org, days_late=45)
    api = api_client(admin)

    first = api.post("/api/v1/reminders/", {"invoice": invoice.pk, "channel": "email"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="relance-1")  # fmt: skip
    again = api.post("/api/v1/reminders/", {"invoice": invoice.pk, "channel": "email"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="relance-1")  # fmt: skip

    assert first.status_code == 201, first.content
    assert first.json()["penalty"] == "1.78" and first.json()["indemnity"] == "40.00" and first.json()["level"] == 0
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Reminder.objects.count() == 1 and len(mail.outbox) == 1


def test_api_lists_filters_and_serves_the_letter(org, admin, api_client):
    invoice = late_invoice(org, days_late=45)
    send_reminder(invoice=invoice, by=admin, channel="letter")
    send_reminder(invoice=late_invoice(org, days_late=3), by=admin, channel="email")
    api = api_client(admin)

    listed = api.get("/api/v1/reminders/")
    letters = api.get("/api/v1/reminders/", {"channel": "letter"})
    of_invoice = api.get("/api/v1/reminders/", {"invoice": invoice.pk})
    bad = api.get("/api/v1/reminders/", {"level": "weekly"})

    assert listed.status_code == 200 and len(listed.json()["results"]) == 2
    [letter] = letters.json()["results"]
    assert letter["has_letter"] is True and of_invoice.json()["results"][0]["id"] == letter["id"]
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["level"]
    pdf = api.get(f"/api/v1/reminders/{letter['id']}/pdf/")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    email = api.get(f"/api/v1/reminders/{listed.json()['results'][0]['id']}/pdf/")
    assert email.status_code == 404


@pytest.mark.parametrize("body", [{}, {"invoice": "x"}, {"invoice": 999999}, {"invoice": 1.5}, {"channel": "sms"},
                                  {"invoice": None}, []])  # fmt: skip
def test_api_refuses_a_malformed_reminder_with_json_4xx(org, admin, api_client, body):
    invoice = late_invoice(org, days_late=5)
    if isinstance(body, dict) and body.get("channel") == "sms":
        body = {"invoice": invoice.pk, "channel": "sms"}
    answer = api_client(admin).post("/api/v1/reminders/", body, format="json")

    assert answer.status_code == 400 and "error" in answer.json()
    assert not Reminder.objects.exists()


def test_api_refuses_a_paid_invoice_and_reception(org, admin, staff_of, api_client):
    from comptoir.payments.tests.factories import pay

    paid = late_invoice(org, days_late=5)
    pay(paid, "120.00")
    late = late_invoice(org, days_late=5)

    refused = api_client(admin).post("/api/v1/reminders/", {"invoice": paid.pk}, format="json")
    reception = api_client(staff_of("reception")).post("/api/v1/reminders/", {"invoice": late.pk}, format="json")

    assert refused.status_code == 400 and refused.json()["error"]["code"] == "nothing_due"
    assert reception.status_code == 403
    assert api_client(staff_of("reception")).get("/api/v1/reminders/").status_code == 200
    assert not Reminder.objects.exists()


def test_api_another_organizations_invoice_is_unknown(org, other_org, admin, api_client):
    theirs = late_invoice(other_org, days_late=5)

    answer = api_client(admin).post("/api/v1/reminders/", {"invoice": theirs.pk}, format="json")

    assert answer.status_code == 400 and "invoice" in answer.json()["error"]["fields"]
    assert not Reminder.objects.exists()


def test_api_list_makes_the_same_number_of_queries_for_2_and_20(org, admin, api_client):
    api = api_client(admin)
    center = CenterFactory(organization=org)
    company = ClientCompanyFactory(organization=org, email="a@b.example")
    for _ in range(2):
        send_reminder(invoice=late_invoice(org, days_late=5, center=center, company=company), by=admin)
    api.get("/api/v1/reminders/")
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/reminders/")
    for _ in range(18):
        send_reminder(invoice=late_invoice(org, days_late=5, center=center, company=company), by=admin,
                      channel="letter")  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        answer = api.get("/api/v1/reminders/")

    assert len(answer.json()["results"]) == 20
    assert len(many) == len(few)
    assert Decimal(answer.json()["results"][0]["amount_due"]) == Decimal("120.00")


test_other_organizations_reminders_answer_404 = tenancy_walk_test(namespaces=["payments"],
                                                                  api_prefixes=["reminders"])  # fmt: skip
