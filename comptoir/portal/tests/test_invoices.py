"""Portal « Mon entreprise → Mes factures et avoirs »: the company's issued invoices and credit notes for the roles
that see its documents (administrators); managers and users get 403 on the list and 404 on a document; another
company's document and a draft answer 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from comptoir.billing.services.invoices import credit_invoice
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory
from comptoir.billing.tests.test_delivery import client_company, issue_for
from comptoir.crm.models import Company, Contact
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory
from comptoir.portal.tests.test_members import enter_portal
from comptoir.portal.tests.test_signature_portal import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return client_company(org)


@pytest.fixture
def documents(org, admin, center, company):  # type: ignore[no-untyped-def]
    invoice = issue_for(org, company, center)
    credited = issue_for(org, company, center)
    credit_note = credit_invoice(invoice=credited, by=admin)
    draft = InvoiceFactory(organization=org, company=company, center=center, legal_entity=center.legal_entity)
    InvoiceLineFactory(invoice=draft, description="Brouillon secret", unit_price=Decimal("999.0000"))
    other_company = CompanyFactory(organization=org, kind=Company.Kind.CLIENT, name="Studio Azur")
    foreign = issue_for(org, other_company, center)
    return {"invoice": invoice, "credited": credited, "credit_note": credit_note, "draft": draft, "foreign": foreign}


def test_administrators_list_their_companys_invoices_and_credit_notes(client, org, company, documents):
    enter_portal(client, member(company), org)

    assert reverse("portal:invoices") in client.get(reverse("portal:documents")).content.decode()
    response = client.get(reverse("portal:invoices"))
    page = response.content.decode()

    assert response.status_code == 200
    invoice, credited, credit_note = documents["invoice"], documents["credited"], documents["credit_note"]
    for document in (invoice, credited, credit_note):
        assert document.reference in page
        assert reverse("portal:invoice_pdf", args=[document.pk]) in page
    assert "Émise" in page and "Annulée par avoir" in page
    assert "120,00" in page and invoice.due_date.strftime("%d/%m/%Y") in page
    assert reverse("portal:invoice_detail", args=[documents["draft"].pk]) not in page
    assert documents["foreign"].reference not in page


def test_the_detail_shows_the_lines_and_totals_and_the_pdf_is_the_stored_one(client, org, company, documents):
    enter_portal(client, member(company), org)
    credit_note = documents["credit_note"]

    page = client.get(reverse("portal:invoice_detail", args=[credit_note.pk])).content.decode()
    pdf = client.get(reverse("portal:invoice_pdf", args=[credit_note.pk]), {"download": "1"})

    assert credit_note.reference in page and "Avoir" in page
    assert documents["credited"].reference in page  # the credited invoice
    assert credit_note.lines.get().description in page
    assert "100,00" in page and "20,00" in page and "120,00" in page
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="{credit_note.reference}.pdf"'
    credit_note.refresh_from_db()
    with credit_note.pdf.open("rb") as stored:
        assert pdf.content == stored.read()


def test_drafts_and_other_companies_documents_answer_404(client, org, company, documents):
    enter_portal(client, member(company), org)
    for key in ("draft", "foreign"):
        for name in ("invoice_detail", "invoice_pdf"):
            assert client.get(reverse(f"portal:{name}", args=[documents[key].pk])).status_code == 404


def test_another_organizations_member_sees_nothing_of_them(client, other_org, documents):
    stranger = CompanyFactory(organization=other_org, kind=Company.Kind.CLIENT)
    enter_portal(client, member(stranger, email="boss@stranger.test"), other_org)

    assert documents["invoice"].reference not in client.get(reverse("portal:invoices")).content.decode()
    assert client.get(reverse("portal:invoice_detail", args=[documents["invoice"].pk])).status_code == 404
    assert client.get(reverse("portal:invoice_pdf", args=[documents["invoice"].pk])).status_code == 404


@pytest.mark.parametrize("role", [Contact.CompanyRole.MANAGER, Contact.CompanyRole.USER])
def test_managers_and_users_see_no_invoices(client, org, company, documents, role):
    enter_portal(client, member(company, role=role), org)

    assert client.get(reverse("portal:invoices")).status_code == 403
    for name in ("invoice_detail", "invoice_pdf"):
        assert client.get(reverse(f"portal:{name}", args=[documents["invoice"].pk])).status_code == 404


def test_a_member_without_portal_access_or_signed_out_gets_nothing(client, org, company, documents):
    assert client.get(reverse("portal:invoices")).status_code == 302  # to the login page
    user = member(company)
    Contact.objects.filter(user=user).update(has_portal_access=False)
    ContactFactory(company=CompanyFactory(organization=org, kind=Company.Kind.CLIENT), user=user,
                   email="margaux@autre.test", company_role="user", has_portal_access=True)  # fmt: skip
    enter_portal(client, user, org)

    assert client.get(reverse("portal:invoices")).status_code == 403
    assert client.get(reverse("portal:invoice_detail", args=[documents["invoice"].pk])).status_code == 404


def test_the_list_costs_the_same_queries_for_few_or_many_invoices(client, org, center, company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    enter_portal(client, member(company), org)
    issue_for(org, company, center)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("portal:invoices"))
    for _index in range(6):
        issue_for(org, company, center)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("portal:invoices"))
    assert len(many.captured_queries) == len(few.captured_queries)
