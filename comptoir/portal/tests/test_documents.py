"""Portal "Mon entreprise": the company's quotes and contracts for administrators (capability
view_documents); managers and users neither see the menu entry nor reach the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import CompanyFactory
from comptoir.portal.tests.test_members import enter_portal
from comptoir.portal.tests.test_signature_portal import member
from comptoir.sales.models import Contract, Quote
from comptoir.sales.tests.factories import ContractFactory, QuoteFactory
from comptoir.sales.tests.test_signature_service import awaiting_contract


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, name="Atelier Lumière")


@pytest.fixture
def documents(org, company):  # type: ignore[no-untyped-def]
    return {
        "sent": QuoteFactory(organization=org, company=company, status=Quote.Status.SENT, title="Bureau 12"),
        "draft": QuoteFactory(organization=org, company=company, status=Quote.Status.DRAFT),
        "awaiting": awaiting_contract(org, company=company),
        "draft_contract": ContractFactory(organization=org, company=company, status=Contract.Status.DRAFT),
        "foreign": QuoteFactory(organization=org, status=Quote.Status.SENT),
    }


def test_administrators_see_their_companys_quotes_and_contracts(client, org, company, documents):
    enter_portal(client, member(company), org)
    home = client.get(reverse("portal:home")).content.decode()
    assert reverse("portal:documents") in home  # the menu entry

    response = client.get(reverse("portal:documents"))
    content = response.content.decode()
    assert response.status_code == 200
    assert documents["sent"].reference in content and "Envoyé" in content
    assert reverse("portal:quote_pdf", args=[documents["sent"].pk]) in content
    assert documents["awaiting"].reference in content
    assert reverse("portal:contract_sign", args=[documents["awaiting"].pk]) in content
    assert reverse("portal:contract_document", args=[documents["awaiting"].pk]) in content
    # never a draft, never another company's document
    assert documents["draft"].reference not in content
    assert documents["draft_contract"].reference not in content
    assert documents["foreign"].reference not in content


def test_the_quote_pdf_is_served_to_administrators_and_drafts_or_foreign_quotes_answer_404(
    client, org, company, documents
):
    enter_portal(client, member(company), org)
    pdf = client.get(reverse("portal:quote_pdf", args=[documents["sent"].pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for key in ("draft", "foreign"):
        assert client.get(reverse("portal:quote_pdf", args=[documents[key].pk])).status_code == 404


def test_the_signed_pdf_is_listed_once_signed(client, org, company, documents):
    from comptoir.sales.services import signature as service
    from comptoir.sales.tests.test_signature_service import last_code, ready_to_confirm, signer_of

    contract = documents["awaiting"]
    signature = ready_to_confirm(contract, signer_of(company, email="boss@lumiere.test"))
    service.confirm_code(signature=signature, code=last_code(), ip=None, user_agent="")

    enter_portal(client, member(company), org)
    content = client.get(reverse("portal:documents")).content.decode()
    assert reverse("portal:contract_signed_document", args=[contract.pk]) in content
    assert "Signé" in content
    assert client.get(reverse("portal:contract_signed_document", args=[contract.pk])).status_code == 200


@pytest.mark.parametrize("role", [Contact.CompanyRole.MANAGER, Contact.CompanyRole.USER])
def test_managers_and_users_see_no_documents(client, org, company, documents, role):
    enter_portal(client, member(company, role=role), org)
    home = client.get(reverse("portal:home")).content.decode()
    assert reverse("portal:documents") not in home
    assert client.get(reverse("portal:documents")).status_code == 403
    assert client.get(reverse("portal:quote_pdf", args=[documents["sent"].pk])).status_code == 404
    contract = documents["awaiting"]
    for name in ("contract_document", "contract_signed_document"):
        assert client.get(reverse(f"portal:{name}", args=[contract.pk])).status_code == 403


def test_the_documents_page_costs_the_same_queries_for_few_or_many_documents(
    client, org, company, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    enter_portal(client, member(company), org)
    QuoteFactory(organization=org, company=company, status=Quote.Status.SENT)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("portal:documents"))
    for _index in range(8):
        QuoteFactory(organization=org, company=company, status=Quote.Status.SENT)
        ContractFactory(organization=org, company=company, status=Contract.Status.ACTIVE)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("portal:documents"))
    assert len(many.captured_queries) == len(few.captured_queries)
