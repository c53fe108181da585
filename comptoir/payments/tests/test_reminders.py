"""Reminders (dunning, frontmanager §7 « Relancer un client »): the late-payment charges to the cent, the manual
reminder (e-mail with the invoice PDF, or the letter PDF), the automatic schedule run by the daily job (each step
once, also when the job runs twice or twice at once; nothing for a paid invoice; a partly paid one reminded on its
remainder), and the refusals that change nothing."""

from __future__ import annotations

import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from pypdf import PdfReader

from comptoir.billing.models import BillingProfile, Invoice
from comptoir.billing.services.invoices import billing_profile, credit_invoice, issue_invoice, recompute_totals
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.housekeeping import daily_jobs
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import ContactFactory
from comptoir.payments.models import DEFAULT_REMINDER_SCHEDULE, PaymentProfile, Reminder
from comptoir.payments.services import reminders as services
from comptoir.payments.services.reminders import late_charges, send_due_reminders, send_reminder
from comptoir.payments.tests.factories import ClientCompanyFactory, pay

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


def late_invoice(org, *, days_late: int = 0, company=None, center=None, unit_price="100.0000", **company_fields):  # type: ignore[no-untyped-def]
    """An issued invoice due on its issue date, `days_late` days ago (120,00 € incl. VAT by default)."""
    center = center or CenterFactory(organization=org)
    company = company or ClientCompanyFactory(organization=org, email="compta@client.example", **company_fields)
    issued_on = TODAY - days_late * DAY
    invoice = InvoiceFactory(organization=org, center=center, company=company, due_date=issued_on)
    InvoiceLineFactory(
        invoice=invoice, unit_price=Decimal(unit_price), amount_excl_vat=Decimal(unit_price).quantize(Decimal("0.01"))
    )
    recompute_totals(invoice)
    invoice.save()
    return issue_invoice(invoice=invoice, by=None, issue_date=issued_on, check_rights=False)


def reload(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def pdf_text(data: bytes) -> str:
    return (
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        .replace("\u202f", " ")
        .replace("\xa0", " ")
    )


# --------------------------------------------------------------------------------------------------
# Late-payment charges
# --------------------------------------------------------------------------------------------------
def test_penalty_is_amount_due_times_rate_times_days_over_365_to_the_cent(org):
    # given an invoice of 120,00 € at the default 12 % rate, 45 days late
    invoice = late_invoice(org, days_late=45)

    # when its charges are computed today
    charges = late_charges(invoice)

    # then 120 × 12 % × 45 / 365 = 1,7753… → 1,78 €, plus the 40 € indemnity of a business buyer
    assert charges.days_late == 45
    assert charges.amount_due == Decimal("120.00")
    assert charges.rate == Decimal("12.00")
    assert charges.penalty == Decimal("1.78")
    assert charges.indemnity == Decimal("40.00")
    assert charges.total == Decimal("161.78")


def test_penalty_rounds_half_up_on_the_remainder_of_a_partly_paid_invoice(org):
    # given an invoice of 120,00 € at 10 % a year, of which 101,75 € are paid: 18,25 € remain
    profile = billing_profile(CenterFactory(organization=org).legal_entity)
    center = profile.legal_entity.centers.first()
    BillingProfile.objects.filter(pk=profile.pk).update(late_penalty_rate=Decimal("10.00"))
    invoice = late_invoice(org, days_late=1, center=center)
    pay(invoice, "101.75")

    # when one day late: 18,25 × 10 % × 1 / 365 = 0,005 exactly
    charges = late_charges(reload(invoice))

    # then half-up gives 0,01 € (banker's rounding would give 0,00)
    assert charges.amount_due == Decimal("18.25")
    assert charges.penalty == Decimal("0.01")


def test_the_rate_is_the_one_the_invoice_states_even_after_the_profile_changed(org):
    # given an invoice issued at 12 %, then the entity's rate raised to 30 %
    invoice = late_invoice(org, days_late=365)
    BillingProfile.objects.filter(legal_entity=invoice.legal_entity).update(late_penalty_rate=Decimal("30.00"))

    # then its penalties stay at its stated 12 %: 120 × 12 % × 365 / 365
    assert late_charges(reload(invoice)).penalty == Decimal("14.40")


def test_an_individual_owes_penalties_but_no_recovery_indemnity(org):
    # given an invoice of an individual (a consumer), 30 days late
    invoice = late_invoice(org, days_late=30, legal_type=Company.LegalType.INDIVIDUAL)

    charges = late_charges(invoice)

    # then penalties (120 × 12 % × 30 / 365 = 1,1835… → 1,18) and no indemnity
    assert charges.is_business is False
    assert charges.penalty == Decimal("1.18")
    assert charges.indemnity == Decimal("0.00")


def test_an_invoice_not_yet_due_or_paid_has_no_charges(org):
    not_due = late_invoice(org, days_late=0)
    paid = late_invoice(org, days_late=20)
    pay(paid, "120.00")

    for invoice in (not_due, reload(paid)):
        charges = late_charges(invoice)
        assert (charges.penalty, charges.indemnity) == (Decimal("0.00"), Decimal("0.00"))
    assert late_charges(reload(paid)).amount_due == Decimal("0.00")


# --------------------------------------------------------------------------------------------------
# Manual reminders
# --------------------------------------------------------------------------------------------------
def test_manual_email_reminder_goes_to_the_billing_contacts_with_the_invoice_pdf(org, admin):
    # given a late invoice whose company has a billing contact
    invoice = late_invoice(org, days_late=45)
    ContactFactory(organization=org, company=invoice.company, email="Factures@Client.example",
                   is_invoice_recipient=True)  # fmt: skip

    # when a manager sends a reminder by e-mail
    reminder = send_reminder(invoice=invoice, by=admin, channel="email")

    # then the billing contact gets it (not the company's address), with the invoice PDF and the charges
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["factures@client.example"]
    assert invoice.reference in message.subject
    assert message.attachments[0][0] == f"{invoice.reference}.pdf"
    assert message.attachments[0][1][:5] == b"%PDF-"
    body = message.body.replace("\u202f", " ").replace("\xa0", " ")
    assert "45 jours de retard" in body and "1,78 €" in body and "40,00 €" in body and "161,78 €" in body
    # and the reminder is level 0 with its charges, journaled on the invoice
    assert (reminder.level, reminder.channel, reminder.days_late) == (0, "email", 45)
    assert (reminder.amount_due, reminder.penalty, reminder.indemnity) == (Decimal("120.00"), Decimal("1.78"),
                                                                           Decimal("40.00"))  # fmt: skip
    assert reminder.recipient == "factures@client.example"
    entry = AuditEntry.objects.get(action="invoice.reminded", object_id=str(invoice.pk))
    assert entry.actor == admin and entry.changes["level"] == 0 and entry.changes["penalty"] == "1.78"


def test_manual_reminders_may_be_sent_more_than_once(org, admin):
    invoice = late_invoice(org, days_late=10)

    send_reminder(invoice=invoice, by=admin)
    send_reminder(invoice=invoice, by=admin)

    assert Reminder.objects.filter(invoice=invoice, level=0).count() == 2


def test_letter_reminder_stores_a_pdf_with_the_right_amounts(org, admin):
    # given an invoice 45 days late, partly paid (100 € of 120 €)
    invoice = late_invoice(org, days_late=45)
    pay(invoice, "100.00")

    # when the reminder is a letter
    reminder = send_reminder(invoice=reload(invoice), by=admin, channel="letter")

    # then no e-mail leaves, and the stored letter is a PDF naming the invoice, the remainder and the charges
    assert mail.outbox == []
    with reminder.document.open("rb") as handle:
        data = handle.read()
    assert data[:5] == b"%PDF-"
    text = pdf_text(data)
    # 20 × 12 % × 45 / 365 = 0,2958… → 0,30 €; + 40 € = 60,30 €
    assert reminder.penalty == Decimal("0.30")
    for expected in (invoice.reference, invoice.company.name, "120,00 €", "100,00 €", "20,00 €", "0,30 €",
                     "40,00 €", "60,30 €", "45 jours", (TODAY + 8 * DAY).strftime("%d/%m/%Y")):  # fmt: skip
        assert expected in text, expected


def test_email_reminder_without_any_recipient_is_refused_and_writes_nothing(org, admin):
    invoice = late_invoice(org, days_late=10)
    Company.objects.filter(pk=invoice.company_id).update(email="")

    with pytest.raises(ValidationFailed) as refused:
        send_reminder(invoice=invoice, by=admin, channel="email")

    assert refused.value.code == "no_recipient" and "channel" in refused.value.fields
    assert not Reminder.objects.exists() and mail.outbox == []
    assert not AuditEntry.objects.filter(action="invoice.reminded").exists()


@pytest.mark.parametrize("case", ["paid", "draft", "credited", "bad_channel", "future"])
def test_what_cannot_be_reminded_is_refused_and_changes_nothing(org, admin, case):
    invoice = late_invoice(org, days_late=10)
    arguments = {"channel": "email"}
    if case == "paid":
        pay(invoice, "120.00")
    elif case == "draft":
        invoice = InvoiceFactory(organization=org)
    elif case == "credited":
        credit_invoice(invoice=invoice, by=admin, reason="Erreur")
    elif case == "bad_channel":
        arguments["channel"] = "sms"
    else:
        arguments["on"] = TODAY + DAY

    with pytest.raises(DomainError):
        send_reminder(invoice=reload(invoice), by=admin, **arguments)

    assert not Reminder.objects.exists() and mail.outbox == []


def test_reception_cannot_send_a_reminder(org, staff_of):
    invoice = late_invoice(org, days_late=10)

    with pytest.raises(RightsError):
        send_reminder(invoice=invoice, by=staff_of("reception"))

    assert not Reminder.objects.exists() and mail.outbox == []


def test_a_refused_email_leaves_no_reminder(org, admin, settings, monkeypatch):
    invoice = late_invoice(org, days_late=10)

    def refuse(self, fail_silently=False):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(DomainError) as refused:
        send_reminder(invoice=invoice, by=admin)

    assert refused.value.code == "email_failed"
    assert not Reminder.objects.exists()


# --------------------------------------------------------------------------------------------------
# The automatic schedule
# --------------------------------------------------------------------------------------------------
def levels(invoice: Invoice) -> list[tuple[int, str]]:
    return list(Reminder.objects.filter(invoice=invoice).order_by("level").values_list("level", "channel"))


def test_each_step_is_sent_once_even_when_the_job_runs_twice(org):
    # given an invoice due today and the default schedule (J+7 e-mail, J+15 e-mail, J+30 letter)
    invoice = late_invoice(org, days_late=0)
    due = invoice.due_date

    # when the job runs twice on each of these days
    counts = []
    for day in (6, 7, 8, 15, 29, 30, 31, 60):
        counts.append(send_due_reminders(due + day * DAY))
        counts.append(send_due_reminders(due + day * DAY))

    # then each step was sent once, on its day
    assert counts == [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert levels(invoice) == [(1, "email"), (2, "email"), (3, "letter")]
    sent_on = dict(Reminder.objects.filter(invoice=invoice).values_list("level", "sent_on"))
    assert sent_on == {1: due + 7 * DAY, 2: due + 15 * DAY, 3: due + 30 * DAY}
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.filter(action="invoice.reminded", object_id=str(invoice.pk)).count() == 3
    letter = Reminder.objects.get(invoice=invoice, level=3)
    assert letter.document.name.endswith(".pdf")
    assert "Mise en demeure" in pdf_text(letter.document.read())
    assert PaymentProfile.objects.get(organization=org).reminder_schedule == DEFAULT_REMINDER_SCHEDULE


def test_a_long_late_invoice_gets_only_the_highest_step_it_reached(org):
    invoice = late_invoice(org, days_late=0)

    assert send_due_reminders(invoice.due_date + 20 * DAY) == 1
    assert send_due_reminders(invoice.due_date + 21 * DAY) == 0

    assert levels(invoice) == [(2, "email")]


def test_nothing_for_a_paid_invoice_and_the_remainder_for_a_partly_paid_one(org):
    paid = late_invoice(org, days_late=0)
    partly = late_invoice(org, days_late=0)
    pay(paid, "120.00")
    pay(partly, "70.00")

    assert send_due_reminders(paid.due_date + 7 * DAY) == 1

    assert levels(paid) == []
    reminder = Reminder.objects.get(invoice=partly)
    assert reminder.amount_due == Decimal("50.00")
    assert "50,00 €" in mail.outbox[0].body.replace("\xa0", " ").replace("\u202f", " ")


def test_reminders_stop_as_soon_as_the_invoice_is_paid(org):
    invoice = late_invoice(org, days_late=0)
    send_due_reminders(invoice.due_date + 7 * DAY)
    pay(invoice, "120.00")

    assert send_due_reminders(invoice.due_date + 15 * DAY) == 0
    assert send_due_reminders(invoice.due_date + 30 * DAY) == 0
    assert levels(invoice) == [(1, "email")]


def test_no_automatic_reminder_when_disabled_or_for_another_organizations_schedule(org, other_org):
    mine = late_invoice(org, days_late=0)
    theirs = late_invoice(other_org, days_late=0)
    PaymentProfile.objects.create(organization=org, reminders_enabled=False,
                                  reminder_schedule=DEFAULT_REMINDER_SCHEDULE)  # fmt: skip
    PaymentProfile.objects.create(organization=other_org, reminder_schedule=[{"days": 3, "channel": "letter"}])

    assert send_due_reminders(TODAY + 3 * DAY) == 1

    assert levels(mine) == []
    assert levels(theirs) == [(1, "letter")]


def test_an_automatic_email_without_recipient_becomes_a_letter(org):
    invoice = late_invoice(org, days_late=0)
    Company.objects.filter(pk=invoice.company_id).update(email="")
    PaymentProfile.objects.create(organization=org, reminder_schedule=DEFAULT_REMINDER_SCHEDULE,
                                  staff_email="compta@operateur.example")  # fmt: skip

    assert send_due_reminders(invoice.due_date + 7 * DAY) == 1

    reminder = Reminder.objects.get(invoice=invoice)
    assert reminder.channel == "letter" and reminder.document
    # the payment notices' address is told there is a letter to post
    assert [message.to for message in mail.outbox] == [["compta@operateur.example"]]


def test_an_automatic_reminder_whose_email_fails_is_tried_again_the_next_day(org, monkeypatch):
    invoice = late_invoice(org, days_late=0)
    original = mail.EmailMessage.send

    def refuse(self, fail_silently=False):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert send_due_reminders(invoice.due_date + 7 * DAY) == 0
    assert levels(invoice) == []

    monkeypatch.setattr("django.core.mail.EmailMessage.send", original)
    assert send_due_reminders(invoice.due_date + 8 * DAY) == 1
    assert levels(invoice) == [(1, "email")]


def test_the_job_is_registered_as_a_daily_job():
    assert daily_jobs()["payment reminders sent"] is send_due_reminders


@pytest.mark.django_db(transaction=True)
def test_two_jobs_running_at_once_send_each_step_once(org, is_postgres):
    if not is_postgres:
        pytest.skip("concurrent writers: PostgreSQL (SQLite serializes them)")
    invoices = [late_invoice(org, days_late=0) for _ in range(4)]
    day = invoices[0].due_date + 7 * DAY
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            results.append(send_due_reminders(day))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(results) == 4
    assert Reminder.objects.filter(level=1).count() == 4
    assert len(mail.outbox) == 4


# --------------------------------------------------------------------------------------------------
# The schedule's settings
# --------------------------------------------------------------------------------------------------
def test_the_schedule_is_saved_sorted_and_journaled(org, admin):
    profile = services.update_reminder_schedule(
        organization=org, by=admin, enabled=True,
        schedule=[{"days": 20, "channel": "letter"}, {"days": 5, "channel": "email"}],
    )  # fmt: skip

    assert profile.reminder_schedule == [{"days": 5, "channel": "email"}, {"days": 20, "channel": "letter"}]
    assert [(step.level, step.days) for step in services.schedule_steps(profile)] == [(1, 5), (2, 20)]
    assert AuditEntry.objects.filter(action="paymentprofile.reminders_changed").count() == 1


@pytest.mark.parametrize(
    "schedule",
    [
        [],
        [{"days": 0, "channel": "email"}],
        [{"days": 400, "channel": "email"}],
        [{"days": "7", "channel": "email"}],
        [{"days": 7, "channel": "sms"}],
        [{"days": 7, "channel": "email"}, {"days": 7, "channel": "letter"}],
        [{"days": day, "channel": "email"} for day in range(1, 9)],
        "7,15",
    ],
)
def test_a_wrong_schedule_is_refused_and_changes_nothing(org, admin, schedule):
    before = services.payment_profile(org).reminder_schedule

    with pytest.raises(ValidationFailed) as refused:
        services.update_reminder_schedule(organization=org, by=admin, enabled=True, schedule=schedule)

    assert "schedule" in refused.value.fields
    assert PaymentProfile.objects.get(organization=org).reminder_schedule == before


def test_a_manager_or_reception_cannot_change_the_schedule(org, staff_of):
    for kind in ("manager", "reception"):
        with pytest.raises(RightsError):
            services.update_reminder_schedule(organization=org, by=staff_of(kind), enabled=False,
                                              schedule=DEFAULT_REMINDER_SCHEDULE)  # fmt: skip
    assert services.payment_profile(org).reminders_enabled is True


def test_the_letter_carries_the_legal_entitys_logo(org, admin):
    import base64

    from django.core.files.base import ContentFile

    # given a legal entity with a logo (a 1×1 PNG)
    invoice = late_invoice(org, days_late=40)
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    entity = invoice.legal_entity
    entity.logo.save("logo.png", ContentFile(png), save=True)

    # when a letter is made
    reminder = send_reminder(invoice=reload(invoice), by=admin, channel="letter")

    # then the PDF embeds an image and still names the entity
    with reminder.document.open("rb") as handle:
        data = handle.read()
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1
    assert entity.name in pdf_text(data)
