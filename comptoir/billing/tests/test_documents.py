"""The documents of an issued invoice: CII (Factur-X EN 16931), UBL 2.1, the Factur-X PDF/A-3 and its storage.

Every document is made through the services (drafts, lines, issue, credit notes, the first invoices of a
contract) and checked with the offline validators of `shared/validators/` (XSD + CEN EN 16931 schematron,
the Factur-X one and the French BR-FR rules), run as a subprocess.
"""

from __future__ import annotations

import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from lxml import etree
from pypdf import PdfReader

from comptoir.billing.documents.cii import invoice_cii
from comptoir.billing.documents.pdf import invoice_pdf
from comptoir.billing.documents.render import draft_preview_pdf, ensure_pdf, stored_cii
from comptoir.billing.documents.ubl import invoice_ubl
from comptoir.billing.models import Invoice
from comptoir.billing.services import invoices as services
from comptoir.billing.services.invoices import DEPOSIT_EXEMPTION, REVERSE_CHARGE_EXEMPTION, BillingError
from comptoir.billing.tests.factories import InvoiceFactory
from comptoir.billing.tests.validators import assert_valid_cii
from comptoir.crm.models import Company
from comptoir.sales.tests.factories import ContractFactory

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
TODAY = datetime.date.today()


def _xpath(xml: bytes, path: str) -> list[str]:
    return [str(value) for value in etree.fromstring(xml).xpath(path, namespaces=NS)]


def _pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _embedded_xml(pdf: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(pdf))
    return b"".join(reader.attachments["factur-x.xml"])


def _draft(org, **company_fields) -> Invoice:  # type: ignore[no-untyped-def]
    invoice = InvoiceFactory(organization=org)
    if company_fields:
        Company.objects.filter(pk=invoice.company_id).update(**company_fields)
        invoice.company.refresh_from_db()
    return invoice


def _line(invoice: Invoice, admin, **data) -> None:  # type: ignore[no-untyped-def]
    services.add_invoice_line(invoice=invoice, by=admin, data=data)


@pytest.fixture
def french_b2b_invoice(org, admin) -> Invoice:  # type: ignore[no-untyped-def]
    """An issued invoice to a French business: 20 %, 10 %, 5,5 %, a discount and a negative regularisation."""
    invoice = _draft(org, email="compta@client.test")
    month_start = TODAY.replace(day=1)
    _line(
        invoice,
        admin,
        description="Bureau privatif B12",
        quantity="1",
        unit="month",
        unit_price="1200",
        vat_rate="20.00",
        period_start=month_start,
        period_end=month_start + datetime.timedelta(days=27),
    )
    _line(
        invoice,
        admin,
        description="Salle de réunion Opéra",
        quantity="4",
        unit="hour",
        unit_price="45.00",
        discount="20.00",
        vat_rate="20.00",
    )
    _line(invoice, admin, description="Plateaux repas", quantity="3", unit_price="12.50", vat_rate="10.00")
    _line(invoice, admin, description="Ouvrages", quantity="2", unit_price="9.99", vat_rate="5.50")
    _line(invoice, admin, description="Régularisation : trop-perçu du mois précédent", quantity="-1",
          unit_price="150.00", vat_rate="20.00")  # fmt: skip
    services.update_invoice(invoice=invoice, by=admin, data={"buyer_reference": "SERVICE-ACHATS",
                                                             "purchase_order": "EJ-2026-0042"})  # fmt: skip
    return services.issue_invoice(invoice=invoice, by=admin)


@pytest.mark.django_db
def test_french_b2b_invoice_cii_pdf_and_ubl_are_valid(french_b2b_invoice):
    # given an issued French B2B invoice with three VAT rates, a discount and a negative regularisation
    invoice = french_b2b_invoice
    assert invoice.total_excl_vat == Decimal("1267.48")  # 1200 + 160 + 37.50 + 19.98 − 150
    # when its documents are made
    xml = invoice_cii(invoice)
    pdf = invoice_pdf(invoice)
    ubl = invoice_ubl(invoice)
    # then the PDF embeds exactly the CII, which passes the CEN, Factur-X and French CTC rules (one run checks
    # the PDF's attachment, its XMP level and the XML)
    assert _embedded_xml(pdf) == xml
    assert_valid_cii(pdf, facturx=True, fr_ctc=True)
    assert_valid_cii(ubl, fr_ctc=True)
    # and the CII says what the invoice says
    assert _xpath(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["380"]
    assert _xpath(xml, "//rsm:ExchangedDocument/ram:ID/text()") == [invoice.reference]
    assert _xpath(xml, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent/text()") == [
        "20.00", "10.00", "5.50"
    ]  # fmt: skip
    assert _xpath(xml, "//ram:IncludedNote/ram:SubjectCode/text()") == ["BAR", "PMD", "PMT", "AAB"]
    assert _xpath(xml, "//ram:BuyerReference/text()") == ["SERVICE-ACHATS"]
    assert _xpath(xml, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()") == ["EJ-2026-0042"]
    assert _xpath(xml, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/text()") == ["732829320"]
    assert _xpath(xml, "//ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID/text()") == ["732829320"]
    assert _xpath(xml, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["0225"]
    assert _xpath(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert _xpath(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()") == ["FR7630006000011234567890189"]
    assert _xpath(xml, "//ram:IncludedSupplyChainTradeLineItem[2]//ram:ActualAmount/text()") == ["20.00"]
    assert _xpath(xml, "//ram:IncludedSupplyChainTradeLineItem[5]//ram:BilledQuantity/text()") == ["-1.000"]
    assert _xpath(xml, "//ram:IncludedSupplyChainTradeLineItem[5]//ram:ChargeAmount/text()") == ["150.0000"]
    assert _xpath(xml, "//ram:IncludedSupplyChainTradeLineItem[5]//ram:LineTotalAmount/text()") == ["-150.00"]
    assert _xpath(xml, "//ram:GrandTotalAmount/text()") == ["1514.33"]
    assert _xpath(ubl, "/*/cbc:InvoiceTypeCode/text()") == ["380"]
    assert _xpath(ubl, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == ["1514.33"]
    # and the PDF is a PDF/A (Typst's output intent) that prints the legal mentions of a B2B invoice
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.trailer["/Root"]["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    text = _pdf_text(pdf)
    for expected in [f"Facture\n{invoice.reference}", "Bureau privatif B12", "-150,00 €", "TVA 5,5 %",
                     "1 514,33 €", "IBAN FR76 3000 6000 0112 3456 7890 189", "taux annuel de 12,00 %",
                     "frais de recouvrement", "40,00 €", "Pas d'escompte pour paiement anticipé."]:  # fmt: skip
        assert expected in text


@pytest.mark.django_db
def test_credit_note_documents_reference_the_credited_invoice(french_b2b_invoice, admin):
    # given a credit note of the whole invoice
    credit = services.credit_invoice(invoice=french_b2b_invoice, by=admin)
    # when its documents are made
    pdf = invoice_pdf(credit)
    ubl = invoice_ubl(credit)
    xml = _embedded_xml(pdf)
    # then they are valid, type 381 with the preceding invoice (BT-25 / BT-26)
    assert_valid_cii(pdf, facturx=True, fr_ctc=True)
    assert_valid_cii(ubl, fr_ctc=True)
    assert _xpath(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert _xpath(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [french_b2b_invoice.reference]
    assert _xpath(xml, "//ram:InvoiceReferencedDocument//*[@format='102']/text()") == [
        french_b2b_invoice.issue_date.strftime("%Y%m%d")
    ]
    assert _xpath(xml, "//ram:GrandTotalAmount/text()") == ["1514.33"]
    assert _xpath(ubl, "/*/cbc:CreditNoteTypeCode/text()") == ["381"]
    assert _xpath(ubl, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()") == [
        french_b2b_invoice.reference
    ]
    text = _pdf_text(pdf)
    assert f"Avoir\n{credit.reference}" in text
    assert f"Facture d'origine {french_b2b_invoice.reference} du {french_b2b_invoice.issue_date:%d/%m/%Y}" in text


@pytest.mark.django_db
def test_deposit_invoice_is_outside_the_scope_of_vat(org):
    # given a signed contract with a deposit, to a French business
    contract = ContractFactory(organization=org, deposit=Decimal("1800.00"), start_date=TODAY)
    Company.objects.filter(pk=contract.company_id).update(
        siren="443061841", siret="44306184100047", vat_number="FR39443061841", address_line1="5 avenue Victor Hugo",
        postal_code="75016",
    )  # fmt: skip
    # when its first invoices are issued
    (deposit,) = services.issue_first_invoices(contract=contract)
    # then the deposit invoice is category O: no rate, no VAT identifier, the exemption reason (BR-O-*)
    pdf = invoice_pdf(deposit)
    xml = _embedded_xml(pdf)
    assert_valid_cii(pdf, facturx=True, fr_ctc=True)
    assert _xpath(xml, "//ram:CategoryCode/text()") == ["O", "O"]
    assert _xpath(xml, "//ram:RateApplicablePercent") == []
    assert _xpath(xml, "//ram:SpecifiedTaxRegistration") == []
    assert _xpath(xml, "//ram:ExemptionReason/text()") == [DEPOSIT_EXEMPTION]
    assert _xpath(xml, "//ram:ExemptionReasonCode/text()") == ["VATEX-EU-O"]
    assert _xpath(xml, "//ram:ContractReferencedDocument/ram:IssuerAssignedID/text()") == [contract.reference]
    assert _xpath(xml, "//ram:TaxTotalAmount/text()") == ["0.00"]
    assert _xpath(xml, "//ram:GrandTotalAmount/text()") == ["1800.00"]


@pytest.mark.django_db
def test_exempt_line_carries_its_exemption_reason(org, admin):
    # given an invoice with a standard line and an exempt one
    invoice = _draft(org)
    _line(invoice, admin, description="Domiciliation", quantity="1", unit_price="90", vat_rate="20.00")
    _line(invoice, admin, description="Frais de formation", quantity="2", unit_price="250", vat_rate="0",
          vat_exemption_reason="Exonération de TVA, article 261-4-4° du CGI")  # fmt: skip
    invoice = services.issue_invoice(invoice=invoice, by=admin)
    # when its CII is made
    xml = invoice_cii(invoice)
    # then it is valid, with the E group and its reason
    assert_valid_cii(xml, facturx=True, fr_ctc=True)
    assert _xpath(xml, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()") == [
        "S", "E"
    ]  # fmt: skip
    assert _xpath(xml, "//ram:ExemptionReason/text()") == ["Exonération de TVA, article 261-4-4° du CGI"]
    assert _xpath(xml, "//ram:GrandTotalAmount/text()") == ["608.00"]


@pytest.mark.django_db
def test_foreign_eu_business_is_invoiced_with_reverse_charge(org, admin):
    # given a Belgian business client, not subject to French VAT
    invoice = _draft(org, country="BE", siren="", siret="", vat_number="BE0403170701", subject_to_vat=False,
                     postal_code="1000", city="Bruxelles", email="finance@client.be")  # fmt: skip
    _line(invoice, admin, description="Bureau privatif", quantity="1", unit="month", unit_price="800")
    invoice = services.issue_invoice(invoice=invoice, by=admin)
    # when its documents are made
    pdf = invoice_pdf(invoice)
    ubl = invoice_ubl(invoice)
    xml = _embedded_xml(pdf)
    # then they are valid, category AE with the buyer's VAT number and the reverse-charge mention
    assert_valid_cii(pdf, facturx=True)
    assert_valid_cii(ubl)
    assert _xpath(xml, "//ram:CategoryCode/text()") == ["AE", "AE"]
    assert _xpath(xml, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()") == ["BE0403170701"]
    assert _xpath(xml, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["EM"]
    assert _xpath(xml, "//ram:ExemptionReason/text()") == [REVERSE_CHARGE_EXEMPTION]
    assert _xpath(xml, "//ram:IncludedNote[ram:SubjectCode='BAR']/ram:Content/text()") == ["B2BINT"]
    assert _xpath(xml, "//ram:GrandTotalAmount/text()") == ["800.00"]
    assert _xpath(ubl, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode/text()") == ["VATEX-EU-AE"]
    assert REVERSE_CHARGE_EXEMPTION in _pdf_text(pdf)


@pytest.mark.django_db
def test_individual_buyer_has_no_recovery_indemnity(org, admin):
    # given a client who is an individual
    invoice = _draft(org, legal_type=Company.LegalType.INDIVIDUAL, name="Camille Martin", siren="", siret="",
                     vat_number="", email="camille.martin@example.test")  # fmt: skip
    _line(invoice, admin, description="Poste coworking", quantity="1", unit="month", unit_price="250")
    invoice = services.issue_invoice(invoice=invoice, by=admin)
    # when its PDF is made
    pdf = invoice_pdf(invoice)
    xml = _embedded_xml(pdf)
    # then it is valid, and neither the PDF nor the XML mention the 40 € indemnity (businesses only)
    assert_valid_cii(pdf, facturx=True)
    assert _xpath(xml, "//ram:IncludedNote/ram:SubjectCode/text()") == ["BAR", "PMD", "AAB"]
    assert _xpath(xml, "//ram:IncludedNote[ram:SubjectCode='BAR']/ram:Content/text()") == ["B2C"]
    assert _xpath(xml, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization") == []
    text = _pdf_text(pdf)
    assert "Camille Martin" in text
    assert "recouvrement" not in text
    assert "40,00" not in text
    assert "taux annuel de 12,00 %" in text


@pytest.mark.django_db
def test_ensure_pdf_stores_the_document_once(french_b2b_invoice, settings):
    # given an issued invoice without its PDF yet
    invoice = french_b2b_invoice
    assert not invoice.pdf
    # when its PDF is asked for twice
    first = ensure_pdf(invoice)
    invoice.refresh_from_db()
    stored_name = invoice.pdf.name
    second = ensure_pdf(invoice)
    # then it was rendered and stored once, with its SHA-256, and served as stored
    invoice.refresh_from_db()
    assert second == first
    assert invoice.pdf.name == stored_name
    assert stored_name.startswith(f"invoices/{invoice.organization_id}/{invoice.reference}-")
    assert stored_name.endswith(".pdf")
    assert invoice.pdf_sha256 == hashlib.sha256(first).hexdigest()
    assert len(list((settings.MEDIA_ROOT / "invoices" / str(invoice.organization_id)).iterdir())) == 1
    # and /facturx.xml serves the XML embedded in the stored PDF, which is the invoice's CII
    assert stored_cii(invoice) == _embedded_xml(first) == invoice_cii(invoice)


@pytest.mark.django_db
def test_a_draft_has_no_stored_document_but_a_preview(org, admin):
    # given a draft
    invoice = _draft(org)
    _line(invoice, admin, description="Bureau", quantity="1", unit_price="100", vat_rate="20.00")
    # when its PDF is asked for, then it is refused and nothing is stored
    with pytest.raises(BillingError) as refused:
        ensure_pdf(invoice)
    assert refused.value.code == "not_issued"
    invoice.refresh_from_db()
    assert (invoice.pdf.name, invoice.pdf_sha256, invoice.status) == ("", "", Invoice.Status.DRAFT)
    # and its preview is a plain PDF watermarked « BROUILLON », not stored
    preview = draft_preview_pdf(invoice)
    text = _pdf_text(preview)
    assert "BROUILLON" in text
    assert "Facture\nbrouillon" in text
    assert PdfReader(io.BytesIO(preview)).attachments == {}
    invoice.refresh_from_db()
    assert invoice.pdf.name == ""


@pytest.mark.django_db
def test_issue_renders_and_stores_the_pdf_despite_the_freeze(org, admin, django_capture_on_commit_callbacks):
    # given a draft
    invoice = _draft(org)
    _line(invoice, admin, description="Bureau", quantity="1", unit_price="100", vat_rate="20.00")
    # when it is issued and the transaction commits (the documents task runs after commit)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.issue_invoice(invoice=invoice, by=admin)
    # then the PDF is stored with its hash, on PostgreSQL despite the trigger freezing issued rows
    invoice.refresh_from_db()
    assert invoice.pdf.name.startswith(f"invoices/{org.pk}/{invoice.reference}-")
    assert invoice.pdf_sha256 == hashlib.sha256(ensure_pdf(invoice)).hexdigest()
    if connection.vendor == "postgresql":  # the trigger is there: any other change of the issued row is refused
        with pytest.raises(DatabaseError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(notes="changé")
