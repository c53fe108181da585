"""The monthly run delivers its invoices by their companies' methods once the chunk is committed."""

from __future__ import annotations

import pytest
from django.core import mail

from comptoir.billing.models import Invoice, InvoiceDelivery
from comptoir.billing.tests.test_runs import MARCH, client, contract, run_period
from comptoir.crm.models import Company

pytestmark = pytest.mark.django_db


def test_run_invoices_are_delivered_to_the_companies_that_ask(org, center, admin, django_capture_on_commit_callbacks):
    by_email = client(org, "Atelier Lumière", email="compta@lumiere.test", siren="443061841",
                      invoice_delivery_methods=[Company.DeliveryMethod.EMAIL_NOTIFICATION])  # fmt: skip
    silent = client(org, "Studio Nord")
    contract(org, by_email, center, admin, start=MARCH)
    contract(org, silent, center, admin, start=MARCH)
    with django_capture_on_commit_callbacks(execute=True):
        run_period(org, admin, MARCH)
    delivered = Invoice.objects.get(company=by_email)
    assert list(InvoiceDelivery.objects.values_list("invoice_id", "method", "status")) == [
        (delivered.pk, "email_notification", "done")
    ]
    assert [message.to for message in mail.outbox] == [["compta@lumiere.test"]]
    assert delivered.reference in mail.outbox[0].body
