"""The UBL 2.1 Invoice or CreditNote of an issued document (CustomizationID urn:cen.eu:en16931:2017).

The same content as the CII (`cii.py`: lines, VAT groups, notes, parties and payment means come from its
helpers), in the other syntax EN 16931 allows. Notes carry their subject code as `#PMT#text` (the CEN UBL
binding of BT-21). For a credit note the due date goes in the payment means (UBL's CreditNote has no DueDate).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from comptoir.billing.documents.cii import (
    BUSINESS_PROCESS,
    GUIDELINE,
    SIREN_SCHEME,
    SIRET_SCHEME,
    DocumentLine,
    amount,
    business_flow,
    document_lines,
    electronic_address,
    is_french_business,
    is_outside_scope,
    legal_notes,
    payment_means_code,
    price_text,
    quantity_text,
    rate_text,
    seller_legal_info,
    type_code,
    vat_groups,
)
from comptoir.billing.models import Invoice, VatCategory

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
ROOTS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}


class _Builder:
    def __init__(self, currency: str) -> None:
        self.currency = currency

    @staticmethod
    def sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        prefix, _sep, local = tag.partition(":")
        element = etree.SubElement(parent, f"{{{CBC if prefix == 'cbc' else CAC}}}{local}", attrib=attributes or None)
        if text is not None:
            element.text = text
        return element

    def money(self, parent: etree._Element, tag: str, value: Decimal | str) -> etree._Element:
        return self.sub(parent, tag, amount(value), currencyID=self.currency)

    def date(self, parent: etree._Element, tag: str, day: datetime.date) -> etree._Element:
        return self.sub(parent, tag, day.isoformat())


def _address(b: _Builder, parent: etree._Element, party: dict[str, Any], tag: str = "cac:PostalAddress") -> None:
    address = b.sub(parent, tag)
    if party.get("address_line1"):
        b.sub(address, "cbc:StreetName", str(party["address_line1"]))
    if party.get("address_line2"):
        b.sub(address, "cbc:AdditionalStreetName", str(party["address_line2"]))
    if party.get("city"):
        b.sub(address, "cbc:CityName", str(party["city"]))
    if party.get("postal_code"):
        b.sub(address, "cbc:PostalZone", str(party["postal_code"]))
    country = b.sub(address, "cac:Country")
    b.sub(country, "cbc:IdentificationCode", str(party.get("country") or "FR"))


def _tax_scheme(b: _Builder, parent: etree._Element, vat_number: str) -> None:
    scheme = b.sub(parent, "cac:PartyTaxScheme")
    b.sub(scheme, "cbc:CompanyID", vat_number)
    tax = b.sub(scheme, "cac:TaxScheme")
    b.sub(tax, "cbc:ID", "VAT")


def _seller(b: _Builder, root: etree._Element, invoice: Invoice) -> None:
    seller = invoice.seller or {}
    party = b.sub(b.sub(root, "cac:AccountingSupplierParty"), "cac:Party")
    endpoint = electronic_address({**seller, "is_business": True})
    if endpoint:
        b.sub(party, "cbc:EndpointID", endpoint[1], schemeID=endpoint[0])
    if seller.get("siret"):
        b.sub(b.sub(party, "cac:PartyIdentification"), "cbc:ID", str(seller["siret"]), schemeID=SIRET_SCHEME)
    _address(b, party, seller)
    if seller.get("vat_number") and not is_outside_scope(invoice):
        _tax_scheme(b, party, str(seller["vat_number"]))
    legal = b.sub(party, "cac:PartyLegalEntity")
    b.sub(legal, "cbc:RegistrationName", str(seller.get("name") or ""))
    if seller.get("siren"):
        b.sub(legal, "cbc:CompanyID", str(seller["siren"]), schemeID=SIREN_SCHEME)
    legal_info = seller_legal_info(seller)
    if legal_info:
        b.sub(legal, "cbc:CompanyLegalForm", legal_info)
    if seller.get("phone") or seller.get("email"):
        contact = b.sub(party, "cac:Contact")
        if seller.get("phone"):
            b.sub(contact, "cbc:Telephone", str(seller["phone"]))
        if seller.get("email"):
            b.sub(contact, "cbc:ElectronicMail", str(seller["email"]))


def _buyer(b: _Builder, root: etree._Element, invoice: Invoice) -> None:
    buyer = invoice.buyer or {}
    party = b.sub(b.sub(root, "cac:AccountingCustomerParty"), "cac:Party")
    endpoint = electronic_address(buyer)
    if endpoint:
        b.sub(party, "cbc:EndpointID", endpoint[1], schemeID=endpoint[0])
    _address(b, party, buyer)
    if buyer.get("vat_number") and not is_outside_scope(invoice):
        _tax_scheme(b, party, str(buyer["vat_number"]))
    legal = b.sub(party, "cac:PartyLegalEntity")
    b.sub(legal, "cbc:RegistrationName", str(buyer.get("name") or ""))
    if is_french_business(buyer):
        b.sub(legal, "cbc:CompanyID", str(buyer["siren"]), schemeID=SIREN_SCHEME)
    if buyer.get("contact"):
        b.sub(b.sub(party, "cac:Contact"), "cbc:Name", str(buyer["contact"]))


def _period(b: _Builder, parent: etree._Element, start: datetime.date | None, end: datetime.date | None) -> None:
    if start or end:
        period = b.sub(parent, "cac:InvoicePeriod")
        if start:
            b.date(period, "cbc:StartDate", start)
        if end:
            b.date(period, "cbc:EndDate", end)


def _tax_category(b: _Builder, parent: etree._Element, tag: str, category: str, rate: Decimal) -> etree._Element:
    element = b.sub(parent, tag)
    b.sub(element, "cbc:ID", category)
    if category != VatCategory.OUTSIDE_SCOPE:
        b.sub(element, "cbc:Percent", rate_text(rate))
    return element


def _line(b: _Builder, root: etree._Element, line: DocumentLine, *, credit_note: bool) -> None:
    element = b.sub(root, "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine")
    b.sub(element, "cbc:ID", str(line.number))
    b.sub(element, "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity", quantity_text(line.quantity),
          unitCode=line.unit_code)  # fmt: skip
    b.money(element, "cbc:LineExtensionAmount", line.net_amount)
    _period(b, element, line.period_start, line.period_end)
    if line.allowance:
        allowance = b.sub(element, "cac:AllowanceCharge")
        b.sub(allowance, "cbc:ChargeIndicator", "false")
        b.sub(allowance, "cbc:AllowanceChargeReasonCode", "95")
        with translation.override("fr"):
            b.sub(allowance, "cbc:AllowanceChargeReason", _("Remise"))
        b.money(allowance, "cbc:Amount", line.allowance)
    item = b.sub(element, "cac:Item")
    b.sub(item, "cbc:Name", line.name)
    category = _tax_category(b, item, "cac:ClassifiedTaxCategory", line.category, line.rate)
    b.sub(b.sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")
    price = b.sub(element, "cac:Price")
    b.sub(price, "cbc:PriceAmount", price_text(line.net_price), currencyID=b.currency)


def invoice_ubl(invoice: Invoice) -> bytes:
    """The UBL 2.1 XML (EN 16931) of an issued invoice or credit note, UTF-8 bytes."""
    if invoice.is_draft or not invoice.reference or invoice.issue_date is None:
        raise ValueError("Only an issued document has a UBL XML.")
    credit_note = invoice.is_credit_note
    name = "CreditNote" if credit_note else "Invoice"
    b = _Builder(invoice.currency)
    root = etree.Element(f"{{{ROOTS[name]}}}{name}", nsmap={None: ROOTS[name], "cac": CAC, "cbc": CBC})
    b.sub(root, "cbc:CustomizationID", GUIDELINE)
    b.sub(root, "cbc:ProfileID", BUSINESS_PROCESS)
    b.sub(root, "cbc:ID", invoice.reference)
    b.date(root, "cbc:IssueDate", invoice.issue_date)
    if invoice.due_date and not credit_note:
        b.date(root, "cbc:DueDate", invoice.due_date)
    b.sub(root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode", type_code(invoice))
    for subject, text in [("BAR", business_flow(invoice.buyer or {})), *legal_notes(invoice)]:
        b.sub(root, "cbc:Note", f"#{subject}#{text}")
    b.sub(root, "cbc:DocumentCurrencyCode", invoice.currency)
    if invoice.buyer_reference:
        b.sub(root, "cbc:BuyerReference", invoice.buyer_reference)
    _period(b, root, invoice.period_start, invoice.period_end)
    if invoice.purchase_order:
        b.sub(b.sub(root, "cac:OrderReference"), "cbc:ID", invoice.purchase_order)
    credited = invoice.credited_invoice
    if credited is not None and credited.reference:
        reference = b.sub(b.sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.sub(reference, "cbc:ID", credited.reference)
        if credited.issue_date:
            b.date(reference, "cbc:IssueDate", credited.issue_date)
    if invoice.contract_id and invoice.contract.reference:
        b.sub(b.sub(root, "cac:ContractDocumentReference"), "cbc:ID", invoice.contract.reference)
    _seller(b, root, invoice)
    _buyer(b, root, invoice)
    if any(row["category"] == VatCategory.INTRA_EU for row in invoice.vat_breakdown):
        location = b.sub(b.sub(root, "cac:Delivery"), "cac:DeliveryLocation")
        _address(b, location, invoice.buyer or {}, tag="cac:Address")
    code = payment_means_code(invoice)
    seller = invoice.seller or {}
    if code:
        means = b.sub(root, "cac:PaymentMeans")
        b.sub(means, "cbc:PaymentMeansCode", code)
        if credit_note and invoice.due_date:
            b.date(means, "cbc:PaymentDueDate", invoice.due_date)
        b.sub(means, "cbc:PaymentID", invoice.reference)
        if code == "58" and seller.get("iban"):
            account = b.sub(means, "cac:PayeeFinancialAccount")
            b.sub(account, "cbc:ID", str(seller["iban"]).replace(" ", ""))
            if seller.get("bic"):
                b.sub(b.sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", str(seller["bic"]))
    if invoice.payment_terms:
        b.sub(b.sub(root, "cac:PaymentTerms"), "cbc:Note", invoice.payment_terms)
    tax_total = b.sub(root, "cac:TaxTotal")
    b.money(tax_total, "cbc:TaxAmount", invoice.total_vat)
    for group in vat_groups(invoice):
        subtotal = b.sub(tax_total, "cac:TaxSubtotal")
        b.money(subtotal, "cbc:TaxableAmount", group.base)
        b.money(subtotal, "cbc:TaxAmount", group.vat)
        category = _tax_category(b, subtotal, "cac:TaxCategory", group.category, group.rate)
        if group.exemption_code:
            b.sub(category, "cbc:TaxExemptionReasonCode", group.exemption_code)
        if group.exemption_reason:
            b.sub(category, "cbc:TaxExemptionReason", group.exemption_reason)
        b.sub(b.sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")
    totals = b.sub(root, "cac:LegalMonetaryTotal")
    b.money(totals, "cbc:LineExtensionAmount", invoice.total_excl_vat)
    b.money(totals, "cbc:TaxExclusiveAmount", invoice.total_excl_vat)
    b.money(totals, "cbc:TaxInclusiveAmount", invoice.total_incl_vat)
    b.money(totals, "cbc:PayableAmount", invoice.total_incl_vat)
    for line in document_lines(invoice):
        _line(b, root, line, credit_note=credit_note)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
