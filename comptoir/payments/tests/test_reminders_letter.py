"""A reminder letter whose PDF cannot be produced (a broken logo, a template bug): the manual reminder is refused
with a clear message and writes nothing, and the daily job goes on with the other invoices."""

from __future__ import annotations

import pytest

from comptoir.core.errors import DomainError
from comptoir.core.pdf import PdfError
from comptoir.payments.models import PaymentProfile, Reminder
from comptoir.payments.services import reminders as services
from comptoir.payments.services.reminders import send_due_reminders, send_reminder
from comptoir.payments.tests.test_reminders import DAY, late_invoice

pytestmark = pytest.mark.django_db


def _broken_for(broken_pk: int):  # type: ignore[no-untyped-def]
    real = services.letter_pdf

    def letter_pdf(invoice, charges, **kwargs):  # type: ignore[no-untyped-def]
        if invoice.pk == broken_pk:
            raise PdfError("image decoding failed")
        return real(invoice, charges, **kwargs)

    return letter_pdf


def test_a_manual_letter_whose_pdf_fails_is_refused_and_writes_nothing(org, admin, monkeypatch):
    invoice = late_invoice(org, days_late=10)
    monkeypatch.setattr(services, "letter_pdf", _broken_for(invoice.pk))

    with pytest.raises(DomainError) as refused:
        send_reminder(invoice=invoice, by=admin, channel="letter")

    assert refused.value.code == "pdf_failed"
    assert not Reminder.objects.exists()


def test_one_letter_that_fails_does_not_stop_the_daily_job(org, monkeypatch):
    PaymentProfile.objects.create(organization=org, reminder_schedule=[{"days": 7, "channel": "letter"}])
    broken = late_invoice(org, days_late=0)
    fine = late_invoice(org, days_late=0)
    monkeypatch.setattr(services, "letter_pdf", _broken_for(broken.pk))

    assert send_due_reminders(broken.due_date + 7 * DAY) == 1

    assert list(Reminder.objects.values_list("invoice_id", "level", "channel")) == [(fine.pk, 1, "letter")]
