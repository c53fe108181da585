"""Finance → Factures in the back office: the list (filters, search, CSV, constant query count), « Nouvelle
facture », the draft edited in place (HTMX lines, inline refusals), issue, credit notes, the document files,
the company tab, the extra actions registry, rights and tenancy."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.billing.models import BillingRun, Invoice, InvoiceLine
from comptoir.billing.services import invoices as services
from comptoir.billing.tests.factories import InvoiceFactory, InvoiceLineFactory, issued_invoice
from comptoir.billing.views import invoices as invoice_views
from comptoir.catalog.models import Product
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.core.tests.factories import CenterFactory
from comptoir.crm.models import Company
from comptoir.crm.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
HTMX = {"HTTP_HX_REQUEST": "true"}

OBJECT_URLS = [
    "invoice_detail",
    "invoice_update",
    "invoice_line_add",
    "invoice_line_edit",
    "invoice_line_delete",
    "invoice_issue",
    "invoice_delete",
    "invoice_credit",
    "invoice_pdf",
    "invoice_facturx",
    "invoice_ubl",
]


def draft(org, center, **kwargs):  # type: ignore[no-untyped-def]
    return InvoiceFactory(organization=org, center=center, **kwargs)


def issued(org, center, **kwargs):  # type: ignore[no-untyped-def]
    return issued_invoice(org, center=center, **kwargs)


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def test_list_makes_the_same_number_of_queries_for_2_and_30_rows(org, center, admin, staff_client):
    web = staff_client(admin)
    url = reverse("billing:invoice_list")
    for _ in range(2):
        issued(org, center)
    with CaptureQueriesContext(connection) as few:
        assert web.get(url).status_code == 200
    for _ in range(28):
        issued(org, center)
    with CaptureQueriesContext(connection) as many:
        response = web.get(url)
    assert len(few) == len(many)
    assert response.content.decode().count(f"FA-{TODAY.year}-0000") == 30


def test_list_shows_number_client_totals_status_and_drafts(org, center, admin, staff_client):
    invoice = issued(org, center)
    draft(org, center, company=invoice.company)
    page = staff_client(admin).get(reverse("billing:invoice_list")).content.decode()
    assert invoice.reference in page
    assert "Brouillon" in page
    assert "120,00\u00a0€" in page and "100,00\u00a0€" in page
    assert "Émise" in page
    assert "Nouvelle facture" in page


def test_list_filters_by_status_kind_center_company_period_and_run(org, center, admin, staff_client):
    web = staff_client(admin)
    url = reverse("billing:invoice_list")
    first = issued(org, center)
    other_center = CenterFactory(organization=org, legal_entity=center.legal_entity, name="Lyon")
    run = BillingRun.objects.create(organization=org, period=TODAY.replace(day=1), issue_date=TODAY)
    second = issued(org, other_center, billing_run=run)
    draft(org, center, company=first.company)

    def numbers(**params):  # type: ignore[no-untyped-def]
        rows = web.get(url, params).context["rows"]
        return sorted(row.obj.pk for row in rows)

    assert numbers(status="draft") == [Invoice.objects.get(status="draft").pk]
    assert numbers(status="issued") == sorted([first.pk, second.pk])
    assert numbers(kind="credit_note") == []
    assert numbers(center=other_center.pk) == [second.pk]
    assert numbers(company=second.company_id) == [second.pk]
    assert numbers(billing_run=run.pk) == [second.pk]
    assert numbers(date_from=(TODAY + datetime.timedelta(days=1)).isoformat()) == []
    assert numbers(date_from=TODAY.isoformat(), date_to=TODAY.isoformat()) == sorted([first.pk, second.pk])
    linked = web.get(url, {"billing_run": run.pk})
    assert "Facturation de" in linked.content.decode()
    assert 'name="billing_run"' not in linked.content.decode()  # a chip, not a field of the filter bar


def test_list_search_by_number_client_amount_and_service(org, center, admin, staff_client):
    web = staff_client(admin)
    url = reverse("billing:invoice_list")
    first = issued(org, center)
    company = CompanyFactory(organization=org, kind=Company.Kind.CLIENT, name="Zeta Conseil")
    second = InvoiceFactory(organization=org, center=center, company=company)
    services.add_invoice_line(invoice=second, by=admin, data={"description": "Salle de réunion Kyoto", "quantity": "1",
                                                               "unit_price": "1000.42", "vat_rate": "20.00"})  # fmt: skip

    def found(query):  # type: ignore[no-untyped-def]
        return sorted(row.obj.pk for row in web.get(url, {"q": query}).context["rows"])

    assert found(first.reference) == [first.pk]
    assert found("zeta") == [second.pk]
    assert found("1 200,50") == [second.pk]  # 1 000,42 HT + 200,08 TVA = 1 200,50 TTC
    assert found("120") == [first.pk]
    assert found("kyoto") == [second.pk]
    assert found("nothing-like-this") == []


def test_list_csv_has_french_amounts(org, center, admin, staff_client):
    invoice = issued(org, center)
    response = staff_client(admin).get(reverse("billing:invoice_list"), {"export": "csv"})
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = content.splitlines()[:2]
    assert header.split(";") == ["Numéro", "Type", "Client", "Centre", "Émise le", "Échéance", "Total HT", "Total TTC",
                                 "Statut", "Paiement"]  # fmt: skip
    assert row.split(";")[0] == invoice.reference
    assert row.split(";")[6:] == ["100,00", "120,00", "Émise", "En attente"]


def test_list_empty_state(org, admin, staff_client):
    page = staff_client(admin).get(reverse("billing:invoice_list")).content.decode()
    assert "Aucune facture pour le moment." in page


# --------------------------------------------------------------------------------------------------
# « Nouvelle facture » and the draft
# --------------------------------------------------------------------------------------------------
def test_create_a_draft_from_the_page(org, center, admin, staff_client):
    company = CompanyFactory(organization=org, kind=Company.Kind.CLIENT)
    response = staff_client(admin).post(reverse("billing:invoice_create"), {"company": company.pk, "center": center.pk})
    invoice = Invoice.objects.get(company=company)
    assert response.status_code == 302 and response["Location"] == invoice.get_absolute_url()
    assert invoice.status == Invoice.Status.DRAFT and invoice.reference == ""
    assert invoice.legal_entity_id == center.legal_entity_id


def test_create_refuses_another_organizations_company(org, center, other_org, admin, staff_client):
    foreign = CompanyFactory(organization=other_org)
    response = staff_client(admin).post(reverse("billing:invoice_create"), {"company": foreign.pk, "center": center.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["company"]
    assert Invoice.objects.count() == 0


def test_draft_page_shows_the_edit_forms_and_parties(org, center, admin, staff_client):
    invoice = draft(org, center)
    InvoiceLineFactory(invoice=invoice, description="Bureau 12")
    services.recompute_totals(invoice)
    invoice.save()
    page = staff_client(admin).get(invoice.get_absolute_url()).content.decode()
    assert "Bureau 12" in page
    assert "Ajouter une ligne" in page and "Émettre" in page and "Supprimer le brouillon" in page
    assert center.legal_entity.name in page and invoice.company.name in page
    assert "120,00\u00a0€" in page


def test_add_a_free_line_with_htmx_updates_the_totals(org, center, admin, staff_client):
    invoice = draft(org, center)
    response = staff_client(admin).post(
        reverse("billing:invoice_line_add", args=[invoice.pk]),
        {"line-description": "Impressions", "line-quantity": "3", "line-unit_price": "1,50", "line-vat_rate": "20.00"},
        **HTMX,
    )
    assert response.status_code == 200
    line = invoice.lines.get()
    assert (line.description, line.amount_excl_vat) == ("Impressions", Decimal("4.50"))
    invoice.refresh_from_db()
    assert invoice.total_incl_vat == Decimal("5.40")
    body = response.content.decode()
    assert body.startswith('\n<section class="card card-body mb-3" id="invoice-lines"') or 'id="invoice-lines"' in body
    assert "5,40\u00a0€" in body and "<html" not in body


def test_a_product_line_takes_its_price_and_vat(org, center, admin, staff_client):
    invoice = draft(org, center)
    product = ProductFactory(organization=org, kind=Product.Kind.CONSUMPTION, name="Café", unit_price=Decimal("2.00"),
                             vat_rate="10.00")  # fmt: skip
    web = staff_client(admin)
    refreshed = web.get(reverse("billing:invoice_line_add", args=[invoice.pk]),
                        {"line-product": product.pk, "line-quantity": "4"}, **HTMX)  # fmt: skip
    form = refreshed.context["line_form"]
    assert (form.initial["description"], form.initial["unit_price"], form.initial["vat_rate"]) == (
        "Café", Decimal("2.00"), "10.00")  # fmt: skip
    web.post(reverse("billing:invoice_line_add", args=[invoice.pk]),
             {"line-product": product.pk, "line-quantity": "4"}, **HTMX)  # fmt: skip
    line = invoice.lines.get()
    assert (line.description, line.unit_price, line.vat_rate, line.amount_excl_vat) == (
        "Café", Decimal("2.0000"), "10.00", Decimal("8.00"))  # fmt: skip


def test_a_zero_rate_without_exemption_reason_is_refused_at_the_field(org, center, admin, staff_client):
    invoice = draft(org, center)
    response = staff_client(admin).post(
        reverse("billing:invoice_line_add", args=[invoice.pk]),
        {"line-description": "Formation", "line-quantity": "1", "line-unit_price": "100", "line-vat_rate": "0.00"},
        **HTMX,
    )
    form = response.context["line_form"]
    assert form.errors["vat_exemption_reason"] == [
        "Un taux de TVA nul (0 %) demande le motif d'exonération (ex. « Article 261 D-4° du CGI »)."
    ]
    assert invoice.lines.count() == 0


def test_an_unknown_vat_rate_and_a_bad_number_are_refused_at_their_field(org, center, admin, staff_client):
    invoice = draft(org, center)
    response = staff_client(admin).post(
        reverse("billing:invoice_line_add", args=[invoice.pk]),
        {"line-description": "X", "line-quantity": "abc", "line-unit_price": "100", "line-vat_rate": "19.60"},
        **HTMX,
    )
    form = response.context["line_form"]
    assert set(form.errors) == {"quantity", "vat_rate"}
    assert invoice.lines.count() == 0


def test_edit_then_delete_a_line(org, center, admin, staff_client):
    invoice = draft(org, center)
    line = services.add_invoice_line(invoice=invoice, by=admin, data={"description": "Bureau", "quantity": "1",
                                                                      "unit_price": "500", "vat_rate": "20.00"})  # fmt: skip
    web = staff_client(admin)
    url = reverse("billing:invoice_line_edit", args=[invoice.pk])
    editing = web.get(url, {"line": line.pk}, **HTMX)
    assert editing.context["editing"] == line
    assert editing.context["edit_form"].initial["description"] == "Bureau"
    web.post(url, {"line": line.pk, f"edit{line.pk}-description": "Bureau 4", f"edit{line.pk}-quantity": "2",
                   f"edit{line.pk}-unit_price": "500", f"edit{line.pk}-vat_rate": "20.00"}, **HTMX)  # fmt: skip
    line.refresh_from_db()
    invoice.refresh_from_db()
    assert (line.description, line.amount_excl_vat, invoice.total_incl_vat) == (
        "Bureau 4", Decimal("1000.00"), Decimal("1200.00"))  # fmt: skip
    web.post(reverse("billing:invoice_line_delete", args=[invoice.pk]), {"line": line.pk}, **HTMX)
    invoice.refresh_from_db()
    assert invoice.lines.count() == 0 and invoice.total_incl_vat == Decimal("0.00")


def test_a_line_of_another_invoice_is_unknown(org, center, admin, staff_client):
    invoice = draft(org, center)
    other = InvoiceLineFactory(invoice=draft(org, center))
    web = staff_client(admin)
    url = reverse("billing:invoice_line_delete", args=[invoice.pk])
    assert web.post(url, {"line": other.pk}).status_code == 404
    assert web.post(url, {"line": "x"}).status_code == 404
    assert InvoiceLine.objects.filter(pk=other.pk).exists()


def test_update_the_draft_fields(org, center, admin, staff_client):
    invoice = draft(org, center)
    response = staff_client(admin).post(
        reverse("billing:invoice_update", args=[invoice.pk]),
        {"draft-notes": "Merci", "draft-purchase_order": "BC-42", "draft-period_start": "2026-12-01",
         "draft-period_end": "2026-11-30"},
        **HTMX,
    )  # fmt: skip
    assert response.context["draft_form"].errors["period_end"] == ["La fin de période précède son début."]
    invoice.refresh_from_db()
    assert (invoice.notes, invoice.purchase_order) == ("", "")
    staff_client(admin).post(
        reverse("billing:invoice_update", args=[invoice.pk]),
        {"draft-notes": "Merci", "draft-purchase_order": "BC-42", "draft-period_start": "2026-12-01",
         "draft-period_end": "2026-12-31"},
    )  # fmt: skip
    invoice.refresh_from_db()
    assert (invoice.notes, invoice.purchase_order, invoice.period_end) == (
        "Merci",
        "BC-42",
        datetime.date(2026, 12, 31),
    )


# --------------------------------------------------------------------------------------------------
# Issue, delete
# --------------------------------------------------------------------------------------------------
def test_issue_asks_for_confirmation_then_numbers_the_invoice(org, center, admin, staff_client):
    invoice = draft(org, center)
    InvoiceLineFactory(invoice=invoice)
    web = staff_client(admin)
    url = reverse("billing:invoice_issue", args=[invoice.pk])
    assert "ne pourra plus être modifié" in web.get(url).content.decode()
    response = web.post(url, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED and invoice.reference == f"FA-{TODAY.year}-000001"
    page = response.content.decode()
    assert f"FA-{TODAY.year}-000001 est émis." in page
    assert "Télécharger le PDF" in page and "Créer un avoir" in page and invoice.record_hash in page
    assert "Ajouter une ligne" not in page


def test_issue_without_lines_is_refused_with_the_message(org, center, admin, staff_client):
    invoice = draft(org, center)
    response = staff_client(admin).post(reverse("billing:invoice_issue", args=[invoice.pk]), follow=True)
    assert "Une facture doit comporter au moins une ligne." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and invoice.reference == ""


def test_issue_in_a_locked_period_is_refused(org, center, admin, staff_client):
    profile = services.billing_profile(center.legal_entity)
    profile.locked_until = TODAY
    profile.save()
    invoice = draft(org, center)
    InvoiceLineFactory(invoice=invoice)
    response = staff_client(admin).post(reverse("billing:invoice_issue", args=[invoice.pk]), follow=True)
    assert "La période comptable est verrouillée" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT


def test_delete_a_draft(org, center, admin, staff_client):
    invoice = draft(org, center)
    web = staff_client(admin)
    url = reverse("billing:invoice_delete", args=[invoice.pk])
    assert web.get(url).status_code == 200
    assert web.post(url)["Location"] == reverse("billing:invoice_list")
    assert not Invoice.objects.filter(pk=invoice.pk).exists()


def test_an_issued_invoice_cannot_be_deleted_nor_edited(org, center, admin, staff_client):
    invoice = issued(org, center)
    web = staff_client(admin)
    response = web.post(reverse("billing:invoice_delete", args=[invoice.pk]), follow=True)
    assert "Une facture émise ne peut plus être modifiée" in response.content.decode()
    line = invoice.lines.get()
    web.post(reverse("billing:invoice_line_delete", args=[invoice.pk]), {"line": line.pk})
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.ISSUED
    assert invoice.lines.count() == 1


# --------------------------------------------------------------------------------------------------
# Credit notes
# --------------------------------------------------------------------------------------------------
def test_full_credit_note_issued_at_once_cancels_the_invoice(org, center, admin, staff_client):
    invoice = issued(org, center)
    response = staff_client(admin).post(reverse("billing:invoice_credit", args=[invoice.pk]),
                                        {"mode": "full", "issue_now": "on"})  # fmt: skip
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response["Location"] == credit.get_absolute_url()
    assert credit.status == Invoice.Status.ISSUED and credit.total_incl_vat == Decimal("120.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED
    page = staff_client(admin).get(invoice.get_absolute_url()).content.decode()
    assert credit.reference in page and "Reste à créditer : 0,00\u00a0€" in page


def test_partial_credit_by_line_left_as_a_draft(org, center, admin, staff_client):
    invoice = issued(org, center)
    line = invoice.lines.get()
    staff_client(admin).post(reverse("billing:invoice_credit", args=[invoice.pk]),
                             {"mode": "lines", f"line_{line.pk}": "25"})  # fmt: skip
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.status == Invoice.Status.DRAFT and credit.credited_invoice == invoice
    assert credit.total_excl_vat == Decimal("25.00") and credit.total_incl_vat == Decimal("30.00")


def test_credit_larger_than_what_remains_is_refused(org, center, admin, staff_client):
    invoice = issued(org, center)
    line = invoice.lines.get()
    response = staff_client(admin).post(reverse("billing:invoice_credit", args=[invoice.pk]),
                                        {"mode": "lines", f"line_{line.pk}": "150", "issue_now": "on"})  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"L'avoir (180,00\u00a0€) dépasse ce qui reste de la facture {invoice.reference} (120,00\u00a0€)."
    ]
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_credit_with_no_amount_is_refused_by_the_form(org, center, admin, staff_client):
    invoice = issued(org, center)
    response = staff_client(admin).post(reverse("billing:invoice_credit", args=[invoice.pk]), {"mode": "lines"})
    assert response.context["form"].non_field_errors() == ["Indiquez le montant HT à créditer sur au moins une ligne."]
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


# --------------------------------------------------------------------------------------------------
# Files, deliveries, extra actions
# --------------------------------------------------------------------------------------------------
def test_files_of_an_issued_document(org, center, admin, staff_client, monkeypatch):
    from comptoir.billing.documents import render as render_module

    invoice = issued(org, center)
    monkeypatch.setattr(render_module, "ensure_pdf", lambda document: b"%PDF-1.7 " + document.reference.encode(),
                        raising=False)  # fmt: skip
    monkeypatch.setattr(render_module, "stored_cii", lambda document: b"<rsm:CrossIndustryInvoice/>", raising=False)
    web = staff_client(admin)
    pdf = web.get(reverse("billing:invoice_pdf", args=[invoice.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content == b"%PDF-1.7 " + invoice.reference.encode()
    assert pdf["Content-Disposition"] == f'inline; filename="{invoice.reference}.pdf"'
    xml = web.get(reverse("billing:invoice_facturx", args=[invoice.pk]))
    assert xml.content == b"<rsm:CrossIndustryInvoice/>"
    assert xml["Content-Disposition"] == f'attachment; filename="{invoice.reference}-factur-x.xml"'


def test_a_draft_has_no_files(org, center, admin, staff_client):
    invoice = draft(org, center)
    web = staff_client(admin)
    for name in ("billing:invoice_pdf", "billing:invoice_facturx", "billing:invoice_ubl"):
        assert web.get(reverse(name, args=[invoice.pk])).status_code == 404


def test_registered_actions_show_as_post_buttons_on_issued_documents(org, center, admin, staff_client, monkeypatch):
    monkeypatch.setattr(invoice_views, "INVOICE_ACTIONS",
                        [("Envoyer", "billing:invoice_issue", "billing.view_invoice")])  # fmt: skip
    invoice = issued(org, center)
    page = staff_client(admin).get(invoice.get_absolute_url()).content.decode()
    assert f'action="{reverse("billing:invoice_issue", args=[invoice.pk])}"' in page and ">Envoyer</button>" in page
    draft_page = staff_client(admin).get(draft(org, center).get_absolute_url()).content.decode()
    assert ">Envoyer</button>" not in draft_page


def test_deliveries_and_timeline_are_shown(org, center, admin, staff_client):
    invoice = issued(org, center)
    invoice.deliveries.create(method="email_pdf", recipient="compta@client.test")
    page = staff_client(admin).get(invoice.get_absolute_url()).content.decode()
    assert "compta@client.test" in page and "E-mail avec la facture en pièce jointe" in page
    assert "Émission" in page  # the journal


# --------------------------------------------------------------------------------------------------
# The company tab
# --------------------------------------------------------------------------------------------------
def test_company_tab_lists_its_invoices(org, center, admin, staff_client):
    invoice = issued(org, center)
    web = staff_client(admin)
    tabs = [tab.key for tab in web.get(invoice.company.get_absolute_url()).context["tabs"]]
    assert "invoices" in tabs
    response = web.get(reverse("billing:company_invoices", args=[invoice.company_id]), **HTMX)
    body = response.content.decode()
    assert invoice.reference in body and "<html" not in body
    assert "120,00\u00a0€" in body


def test_company_tab_empty_state(org, admin, staff_client):
    company = CompanyFactory(organization=org)
    body = staff_client(admin).get(reverse("billing:company_invoices", args=[company.pk])).content.decode()
    assert "Aucune facture pour cette entreprise." in body


# --------------------------------------------------------------------------------------------------
# Rights and tenancy
# --------------------------------------------------------------------------------------------------
def test_staff_without_the_right_gets_403(org, center, staff_of, staff_client):
    invoice = draft(org, center)
    web = staff_client(staff_of("technician"))
    assert web.get(reverse("billing:invoice_list")).status_code == 403
    assert web.get(invoice.get_absolute_url()).status_code == 403
    assert web.get(reverse("billing:company_invoices", args=[invoice.company_id])).status_code == 403


def test_reception_sees_but_cannot_change(org, center, staff_of, staff_client):
    invoice = draft(org, center)
    web = staff_client(staff_of("reception"))
    page = web.get(invoice.get_absolute_url())
    assert page.status_code == 200 and "Ajouter une ligne" not in page.content.decode()
    assert web.post(reverse("billing:invoice_line_add", args=[invoice.pk]),
                    {"line-description": "X", "line-quantity": "1", "line-unit_price": "1"}).status_code == 403  # fmt: skip
    assert web.post(reverse("billing:invoice_issue", args=[invoice.pk])).status_code == 403
    assert web.get(reverse("billing:invoice_create")).status_code == 403
    assert invoice.lines.count() == 0


def test_manager_issues_and_reception_cannot(org, center, staff_of, staff_client):
    invoice = draft(org, center)
    InvoiceLineFactory(invoice=invoice)
    reception = staff_client(staff_of("reception"))
    assert "Émettre" not in reception.get(invoice.get_absolute_url()).content.decode()
    assert reception.post(reverse("billing:invoice_issue", args=[invoice.pk])).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT
    manager = staff_client(staff_of("manager"))
    assert "Émettre" in manager.get(invoice.get_absolute_url()).content.decode()
    manager.post(reverse("billing:invoice_issue", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED and invoice.number == 1


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_another_organizations_invoice_is_unknown(name, org, other_org, admin, staff_client):
    foreign = InvoiceFactory(organization=other_org)
    InvoiceLineFactory(invoice=foreign)
    web = staff_client(admin)
    url = reverse(f"billing:{name}", args=[foreign.pk])
    line = foreign.lines.get()
    assert web.get(url, {"line": line.pk}).status_code == 404
    assert web.post(url, {"line": line.pk, "mode": "full"}).status_code == 404
    foreign.refresh_from_db()
    assert (foreign.status, foreign.lines.count()) == (Invoice.Status.DRAFT, 1)


def test_another_organizations_company_tab_is_unknown(org, other_org, admin, staff_client):
    foreign = InvoiceFactory(organization=other_org)
    web = staff_client(admin)
    assert web.get(reverse("billing:company_invoices", args=[foreign.company_id])).status_code == 404
    assert web.get(reverse("billing:invoice_list"), {"company": foreign.company_id}).context["rows"] == []
