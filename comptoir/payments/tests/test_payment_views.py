"""Payments in the back office: the « Suivi des paiements » panel of an invoice (record a payment, use the credit
balance, reject a payment), the payment column of billing's invoice list, Finance → Paiements (list with filters,
CSV and a fixed query count; a payment's page with « Affecter » and « Rejeter »; « Nouveau paiement »), the company
tab, the portal's « Mes paiements »; rights (reception sees but may not record) and tenancy (404)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.billing.models import Invoice
from comptoir.crm.models import Contact
from comptoir.payments.models import Allocation, Method, Payment
from comptoir.payments.services import payments as services
from comptoir.payments.tests.factories import ClientCompanyFactory, PaymentFactory, invoice_of, pay

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return ClientCompanyFactory(organization=org, name="Lumière SAS")


@pytest.fixture
def invoice(company):  # type: ignore[no-untyped-def]
    return invoice_of(company)  # 120,00 € incl. VAT


def settlement(invoice: Invoice) -> tuple:  # type: ignore[type-arg]
    invoice.refresh_from_db()
    return (invoice.amount_paid, invoice.payment_status, Payment.objects.count(), Allocation.objects.count())


def record_form(**extra):  # type: ignore[no-untyped-def]
    return {"payment-method": "cheque", "payment-amount": "120,00", "payment-received_on": TODAY().isoformat(),
            "payment-reference": "CHQ 1234567", "payment-payer": "", "payment-notes": "", **extra}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The invoice's page and its panel
# --------------------------------------------------------------------------------------------------
def test_invoice_page_loads_the_panel_and_shows_the_payment_state(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    pay(invoice, "50.00")

    page = web.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()

    assert f'hx-get="{reverse("payments:invoice_payments", args=[invoice.pk])}"' in page
    assert 'id="invoice-payment-state">Partiellement payée<' in page


def test_panel_lists_allocations_paid_and_remaining_with_reversed_struck(admin, staff_client, company, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    kept = pay(invoice, "30.00", reference="VIR-OK")
    bounced = pay(invoice, "50.00", method=Method.CHEQUE, reference="CHQ-KO")
    services.reverse_payment(payment=bounced, by=admin, reason="Chèque sans provision")

    panel = web.get(reverse("payments:invoice_payments", args=[invoice.pk]), **HTMX).content.decode()

    assert "Suivi des paiements" in panel and "<html" not in panel
    assert "VIR-OK" in panel and "CHQ-KO" in panel and "Chèque sans provision" in panel
    assert "<s>50,00\u00a0€</s>" in panel  # the reversed allocation is struck through
    assert 'id="invoice-paid">30,00\u00a0€<' in panel
    assert 'id="invoice-remaining">90,00\u00a0€<' in panel
    assert "Partiellement payée" in panel
    assert "Enregistrer un paiement" in panel
    assert reverse("payments:payment_reverse", args=[kept.pk]) in panel
    assert reverse("payments:payment_reverse", args=[bounced.pk]) not in panel


def test_panel_empty_state_and_a_non_htmx_page(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    page = staff_client(admin).get(reverse("payments:invoice_payments", args=[invoice.pk])).content.decode()
    assert "<html" in page and invoice.reference in page
    assert "Aucun paiement reçu pour cette facture." in page
    assert "En attente" in page


def test_record_form_is_prefilled_with_the_remaining_and_today(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    pay(invoice, "20.00")
    form = staff_client(admin).get(reverse("payments:invoice_payment_record", args=[invoice.pk]), **HTMX)
    html = form.content.decode()
    assert 'value="100,00"' in html
    assert f'value="{TODAY().isoformat()}"' in html


def test_record_a_payment_settles_the_invoice(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(admin)

    response = web.post(reverse("payments:invoice_payment_record", args=[invoice.pk]), record_form())

    assert response.status_code == 302 and response["Location"] == invoice.get_absolute_url()
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    payment = Payment.objects.get()
    assert (payment.method, payment.amount, payment.reference, payment.company_id) == (
        "cheque", Decimal("120.00"), "CHQ 1234567", invoice.company_id)  # fmt: skip
    assert "Payée" in web.get(invoice.get_absolute_url()).content.decode()


def test_record_a_surplus_goes_to_the_credit_balance(admin, staff_client, company, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    response = web.post(reverse("payments:invoice_payment_record", args=[invoice.pk]),
                        record_form(**{"payment-amount": "150"}), **HTMX)  # fmt: skip
    assert response.status_code == 200 and response["HX-Redirect"] == invoice.get_absolute_url()
    assert Allocation.objects.get().amount == Decimal("120.00")
    assert services.credit_balance(company) == Decimal("30.00")
    page = web.get(invoice.get_absolute_url()).content.decode()
    assert "30,00\u00a0€ vont à l&#x27;avoir du client" in page


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"payment-amount": "-5"}, "amount", "Le montant doit être positif."),
        ({"payment-amount": "0"}, "amount", "Le montant doit être positif."),
        ({"payment-amount": "douze"}, "amount", "Indiquez un montant, par exemple 120,50."),
        ({"payment-received_on": "2999-01-01"}, "received_on", "Un paiement ne peut pas être daté dans le futur."),
        ({"payment-method": ""}, "method", "Ce champ est obligatoire."),
    ],
)
def test_record_refusals_show_inline_and_change_nothing(admin, staff_client, invoice, extra, field, message):  # type: ignore[no-untyped-def]
    before = settlement(invoice)

    response = staff_client(admin).post(reverse("payments:invoice_payment_record", args=[invoice.pk]),
                                        record_form(**extra), **HTMX)  # fmt: skip

    html = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert f'id="field-payment-{field}"' in html
    assert message.replace("'", "&#x27;") in html
    assert settlement(invoice) == before


def test_use_the_credit_balance_from_the_panel(admin, staff_client, org, company, invoice):  # type: ignore[no-untyped-def]
    PaymentFactory(organization=org, company=company, amount=Decimal("200.00"))
    web = staff_client(admin)
    panel = web.get(reverse("payments:invoice_payments", args=[invoice.pk]), **HTMX).content.decode()
    assert "Utiliser l'avoir client (200,00\u00a0€)" in panel

    response = web.post(reverse("payments:invoice_credit_apply", args=[invoice.pk]))

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PAID
    assert services.credit_balance(company) == Decimal("80.00")


def test_use_the_credit_balance_without_one_shows_the_refusal(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    before = settlement(invoice)
    response = web.post(reverse("payments:invoice_credit_apply", args=[invoice.pk]), follow=True)
    assert "Ce client n&#x27;a pas d&#x27;avoir disponible." in response.content.decode()
    assert settlement(invoice) == before
    assert web.get(reverse("payments:invoice_credit_apply", args=[invoice.pk])).status_code == 405


def test_reject_a_payment_from_the_invoice_returns_to_it(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    payment = pay(invoice, "120.00")
    web = staff_client(admin)
    url = reverse("payments:payment_reverse", args=[payment.pk]) + f"?next={invoice.get_absolute_url()}"
    assert "Motif du rejet" in web.get(url).content.decode()

    response = web.post(url, {"reason": "Chèque sans provision", "on": TODAY().isoformat()})

    assert response.status_code == 302 and response["Location"] == invoice.get_absolute_url()
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED and invoice.payment_status == Invoice.PaymentStatus.PENDING


def test_reject_refusals_show_inline_and_an_outside_next_is_ignored(admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    payment = pay(invoice, "120.00")
    web = staff_client(admin)
    url = reverse("payments:payment_reverse", args=[payment.pk]) + "?next=https://evil.test/"
    before = settlement(invoice)

    empty = web.post(url, {"reason": "", "on": TODAY().isoformat()}).content.decode()
    future = web.post(url, {"reason": "x", "on": "2999-01-01"}).content.decode()

    assert 'id="field-reason"' in empty and "Ce champ est obligatoire." in empty
    assert "Un rejet ne peut pas être daté dans le futur." in future
    assert 'href="https://evil.test/"' not in future  # the « Annuler » link stays on this site
    before_received = (payment.received_on - datetime.timedelta(days=1)).isoformat()
    early = web.post(url, {"reason": "x", "on": before_received}).content.decode()
    assert "Un rejet ne peut pas précéder la réception du paiement" in early
    assert settlement(invoice) == before
    done = web.post(url, {"reason": "Rejet", "on": TODAY().isoformat()})
    assert done["Location"] == payment.get_absolute_url()


def test_reception_sees_the_panel_but_may_not_record_nor_reject(staff_of, staff_client, invoice):  # type: ignore[no-untyped-def]
    payment = pay(invoice, "20.00")
    web = staff_client(staff_of("reception"))
    before = settlement(invoice)

    panel = web.get(reverse("payments:invoice_payments", args=[invoice.pk]), **HTMX)

    assert panel.status_code == 200 and "20,00" in panel.content.decode()
    assert "Enregistrer un paiement" not in panel.content.decode()
    assert "Rejeter" not in panel.content.decode()
    assert web.get(reverse("payments:invoice_payment_record", args=[invoice.pk])).status_code == 403
    assert web.post(reverse("payments:invoice_payment_record", args=[invoice.pk]), record_form()).status_code == 403
    assert web.post(reverse("payments:invoice_credit_apply", args=[invoice.pk])).status_code == 403
    assert web.post(reverse("payments:payment_reverse", args=[payment.pk]), {"reason": "x"}).status_code == 403
    assert web.post(reverse("payments:payment_allocate", args=[payment.pk])).status_code == 403
    assert web.get(reverse("payments:payment_create")).status_code == 403
    assert settlement(invoice) == before


def test_a_technician_sees_no_panel_and_no_payments(staff_of, staff_client, invoice):  # type: ignore[no-untyped-def]
    web = staff_client(staff_of("technician"))
    assert web.get(reverse("payments:payment_list")).status_code == 403
    assert web.get(reverse("payments:invoice_payments", args=[invoice.pk])).status_code == 403


def test_another_organizations_objects_answer_404(admin, staff_client, other_org):  # type: ignore[no-untyped-def]
    foreign_company = ClientCompanyFactory(organization=other_org)
    foreign_invoice = invoice_of(foreign_company)
    foreign_payment = pay(foreign_invoice, "120.00")
    before = settlement(foreign_invoice)
    web = staff_client(admin)
    for name, pk in [
        ("invoice_payments", foreign_invoice.pk), ("invoice_payment_record", foreign_invoice.pk),
        ("invoice_credit_apply", foreign_invoice.pk), ("payment_detail", foreign_payment.pk),
        ("payment_allocate", foreign_payment.pk), ("payment_reverse", foreign_payment.pk),
        ("company_payments", foreign_company.pk),
    ]:  # fmt: skip
        url = reverse(f"payments:{name}", args=[pk])
        assert web.get(url).status_code == 404, url
        assert web.post(url, {"reason": "x", **record_form()}).status_code == 404, url
    assert web.get(reverse("payments:payment_create"), {"company": foreign_company.pk}).status_code == 200
    assert foreign_company.name not in web.get(reverse("payments:payment_create")).content.decode()
    assert settlement(foreign_invoice) == before


# --------------------------------------------------------------------------------------------------
# Billing's invoice list
# --------------------------------------------------------------------------------------------------
def test_invoice_list_shows_the_payment_state_coloured(admin, staff_client, company):  # type: ignore[no-untyped-def]
    late = invoice_of(company, issued_on=TODAY() - datetime.timedelta(days=70))
    paid, partial = invoice_of(company), invoice_of(company)
    pay(paid, "120.00")
    pay(partial, "10.00")
    assert late.is_overdue()
    web = staff_client(admin)

    page = web.get(reverse("billing:invoice_list")).content.decode()
    csv = b"".join(web.get(reverse("billing:invoice_list"), {"export": "csv"}).streaming_content).decode()

    assert "Paiement" in page
    assert '<span class="text-success">120,00\u00a0€</span>' in page
    assert '<span class="text-warning-emphasis">120,00\u00a0€</span>' in page
    assert '<span class="text-danger">120,00\u00a0€</span>' in page
    assert "Payée" in page and "Partiellement payée" in page and "En retard" in page
    assert "Payée" in csv and "En retard" in csv


# --------------------------------------------------------------------------------------------------
# Finance → Paiements
# --------------------------------------------------------------------------------------------------
def test_payment_list_makes_the_same_number_of_queries_for_2_and_25_rows(org, admin, staff_client):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    url = reverse("payments:payment_list")

    def add(count: int) -> None:
        for _ in range(count):
            invoice = invoice_of(ClientCompanyFactory(organization=org))
            pay(invoice, "100.00")

    add(2)
    with CaptureQueriesContext(connection) as few:
        assert web.get(url).status_code == 200
    add(23)
    with CaptureQueriesContext(connection) as many:
        response = web.get(url)
    assert len(few) == len(many)
    assert response.content.decode().count(f"FA-{TODAY().year}-") == 25


def test_payment_list_columns_filters_search_and_csv(org, admin, staff_client, company, invoice):  # type: ignore[no-untyped-def]
    cheque = pay(invoice, "120.00", method=Method.CHEQUE, reference="CHQ-777")
    other = ClientCompanyFactory(organization=org, name="Studio Azur")
    old = PaymentFactory(organization=org, company=other, amount=Decimal("1234.56"), reference="VIR-OLD",
                         received_on=TODAY() - datetime.timedelta(days=40))  # fmt: skip
    services.reverse_payment(payment=old, by=admin, reason="Rappel")
    web = staff_client(admin)
    url = reverse("payments:payment_list")

    page = web.get(url).content.decode()
    assert "Lumière SAS" in page and invoice.reference in page and "Chèque" in page
    assert "<s>1\u202f234,56\u00a0€</s>" in page and "Rejeté / annulé" in page
    assert "Nouveau paiement" in page

    def rows(**query: str) -> str:
        return web.get(url, query).content.decode()

    assert "CHQ-777" in rows(method="cheque") and "VIR-OLD" not in rows(method="cheque")
    assert "VIR-OLD" in rows(status="reversed") and "CHQ-777" not in rows(status="reversed")
    since = (TODAY() - datetime.timedelta(days=7)).isoformat()
    assert "CHQ-777" in rows(date_from=since) and "VIR-OLD" not in rows(date_from=since)
    assert "VIR-OLD" in rows(q="azur") and "CHQ-777" not in rows(q="azur")
    assert "VIR-OLD" in rows(q="1 234,56") and "CHQ-777" not in rows(q="1 234,56")
    assert "CHQ-777" in rows(q=invoice.reference)
    assert "VIR-OLD" not in rows(company=str(company.pk))

    csv = b"".join(web.get(url, {"export": "csv"}).streaming_content).decode()
    assert csv.startswith("\ufeffReçu le;Client;Moyen;Référence;Payeur;Montant;Factures;Non affecté;Statut")
    assert f"Lumière SAS;Chèque;CHQ-777;;120,00;{invoice.reference};0,00;Reçu" in csv
    assert "Studio Azur;Virement;VIR-OLD;;1234,56;;0,00;Rejeté / annulé" in csv
    assert cheque.reference in csv


def test_payment_list_empty_state_and_menu(admin, staff_client):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    page = web.get(reverse("payments:payment_list")).content.decode()
    assert "Aucun paiement pour le moment." in page
    assert reverse("payments:payment_list") in web.get(reverse("manage:home")).content.decode()


def test_payment_page_allocates_the_rest_to_open_invoices(org, admin, staff_client, company):  # type: ignore[no-untyped-def]
    first, second = invoice_of(company), invoice_of(company)
    payment = PaymentFactory(organization=org, company=company, amount=Decimal("200.00"))
    web = staff_client(admin)
    url = reverse("payments:payment_detail", args=[payment.pk])

    page = web.get(url).content.decode()
    assert "Affecter le reste (200,00\u00a0€)" in page
    assert first.reference in page and second.reference in page
    assert 'value="120,00"' in page and 'value="80,00"' in page  # prefilled, oldest first

    response = web.post(reverse("payments:payment_allocate", args=[payment.pk]),
                        {f"allocate-invoice_{first.pk}": "120,00", f"allocate-invoice_{second.pk}": "50"})  # fmt: skip

    assert response.status_code == 302 and response["Location"] == url
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.payment_status == Invoice.PaymentStatus.PAID and second.amount_paid == Decimal("50.00")
    page = web.get(url).content.decode()
    assert 'id="payment-remainder">30,00\u00a0€<' in page


def test_payment_page_allocation_refusals_show_inline_and_change_nothing(org, admin, staff_client, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    payment = PaymentFactory(organization=org, company=company, amount=Decimal("50.00"))
    web = staff_client(admin)
    url = reverse("payments:payment_allocate", args=[payment.pk])
    before = settlement(invoice)

    too_much = web.post(url, {f"allocate-invoice_{invoice.pk}": "60"}).content.decode()
    nothing = web.post(url, {f"allocate-invoice_{invoice.pk}": ""}).content.decode()
    negative = web.post(url, {f"allocate-invoice_{invoice.pk}": "-3"}).content.decode()

    assert "Il ne reste que 50,00\u00a0€ à affecter sur ce paiement." in too_much
    assert "Indiquez le montant à affecter sur au moins une facture." in nothing
    assert "Le montant doit être positif." in negative
    assert settlement(invoice) == before
    assert web.get(url).status_code == 405


def test_payment_page_of_a_reversed_payment_has_no_actions(org, admin, staff_client, invoice):  # type: ignore[no-untyped-def]
    payment = pay(invoice, "120.00")
    services.reverse_payment(payment=payment, by=admin, reason="Prélèvement rejeté (AM04)")
    page = staff_client(admin).get(reverse("payments:payment_detail", args=[payment.pk])).content.decode()
    assert "Prélèvement rejeté (AM04)" in page and "Rejeté / annulé" in page
    assert reverse("payments:payment_reverse", args=[payment.pk]) not in page
    assert "Affecter le reste" not in page
    assert "Paiement rejeté" in page  # the journal


def test_new_payment_picks_the_company_then_allocates(org, admin, staff_client, company):  # type: ignore[no-untyped-def]
    first, second = invoice_of(company), invoice_of(company)
    web = staff_client(admin)
    url = reverse("payments:payment_create")

    assert "Lumière SAS" in web.get(url).content.decode()
    step2 = web.get(url, {"company": company.pk}).content.decode()
    assert first.reference in step2 and second.reference in step2

    response = web.post(url, {"company": company.pk, "method": "transfer", "amount": "300,00",
                              "received_on": TODAY().isoformat(), "reference": "VIR 42",
                              f"invoice_{first.pk}": "120", f"invoice_{second.pk}": "100"})  # fmt: skip

    payment = Payment.objects.get()
    assert response.status_code == 302 and response["Location"] == payment.get_absolute_url()
    assert payment.amount == Decimal("300.00") and payment.reference == "VIR 42"
    assert services.credit_balance(company) == Decimal("80.00")
    second.refresh_from_db()
    assert second.amount_due == Decimal("20.00")


def test_new_payment_refusals_show_inline_and_change_nothing(org, admin, staff_client, company):  # type: ignore[no-untyped-def]
    invoice = invoice_of(company)
    web = staff_client(admin)
    url = reverse("payments:payment_create")
    before = settlement(invoice)
    base = {"company": company.pk, "method": "transfer", "amount": "100", "received_on": TODAY().isoformat()}

    over = web.post(url, {**base, f"invoice_{invoice.pk}": "130"}).content.decode()
    more_than_paid = web.post(url, {**base, f"invoice_{invoice.pk}": "110"}).content.decode()
    bad_row = web.post(url, {**base, f"invoice_{invoice.pk}": "abc"}).content.decode()

    assert "dépasse le reste à payer de la facture" in over
    assert "Les affectations (110,00\u00a0€) dépassent le montant du paiement (100,00\u00a0€)." in more_than_paid
    assert "Indiquez un montant, par exemple 120,50." in bad_row
    assert settlement(invoice) == before


def test_company_tab_lists_payments_and_credit_balance(org, admin, staff_client, company, invoice):  # type: ignore[no-untyped-def]
    pay(invoice, "120.00", reference="VIR-TAB")
    PaymentFactory(organization=org, company=company, amount=Decimal("45.00"))
    web = staff_client(admin)

    detail = web.get(reverse("crm:company_detail", args=[company.pk])).content.decode()
    tab = web.get(reverse("payments:company_payments", args=[company.pk]), **HTMX).content.decode()

    assert reverse("payments:company_payments", args=[company.pk]) in detail
    assert "VIR-TAB" in tab and invoice.reference in tab
    assert 'id="company-credit-balance">Avoir : 45,00\u00a0€<' in tab
    empty = web.get(reverse("payments:company_payments", args=[ClientCompanyFactory(organization=org).pk]), **HTMX)
    assert "Aucun paiement pour cette entreprise." in empty.content.decode()


# --------------------------------------------------------------------------------------------------
# The portal's « Mes paiements »
# --------------------------------------------------------------------------------------------------
def test_portal_payment_history_for_administrators(client, org, admin, company, invoice):  # type: ignore[no-untyped-def]
    from comptoir.portal.tests.test_members import enter_portal
    from comptoir.portal.tests.test_signature_portal import member

    pay(invoice, "100.00", reference="VIR-PORTAIL")
    bounced = pay(invoice, "20.00", method=Method.CHEQUE)
    services.reverse_payment(payment=bounced, by=admin, reason="Sans provision")
    PaymentFactory(organization=org, company=company, amount=Decimal("15.00"))
    foreign = PaymentFactory(organization=org, company=ClientCompanyFactory(organization=org), reference="AUTRE")
    enter_portal(client, member(company), org)

    page = client.get(reverse("portal:payments")).content.decode()

    assert "VIR-PORTAIL" in page and invoice.reference in page
    assert reverse("portal:invoice_detail", args=[invoice.pk]) in page
    assert "<s>20,00\u00a0€</s>" in page and "Rejeté / annulé" in page
    assert "Avoir disponible : 15,00\u00a0€" in page
    assert foreign.reference not in page
    assert reverse("portal:payments") in client.get(reverse("portal:home")).content.decode()


def test_portal_payment_history_is_refused_to_users(client, org, company):  # type: ignore[no-untyped-def]
    from comptoir.portal.tests.test_members import enter_portal
    from comptoir.portal.tests.test_signature_portal import member

    enter_portal(client, member(company, role=Contact.CompanyRole.USER), org)
    assert client.get(reverse("portal:payments")).status_code == 403
    assert reverse("portal:payments") not in client.get(reverse("portal:home")).content.decode()
