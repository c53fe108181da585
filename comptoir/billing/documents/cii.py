"""The UN/CEFACT CII D16B XML of an issued invoice or credit note: Factur-X profile EN 16931.

A pure function of the frozen document (its `seller` / `buyer` snapshots, lines, VAT breakdown, totals), so
the XML made today is the one made on the day of issue. It passes the CEN EN 16931 schematron, the Factur-X
EN 16931 one and, for a French business buyer, the French 2026 reform rules (BR-FR, `--fr-ctc`):

- BT-23 business process "S1" (services), BT-24 `urn:cen.eu:en16931:2017`;
- seller: SIRET as identifier (BT-29, scheme 0009), SIREN as legal registration (BT-30, scheme 0002),
  electronic address = SIREN (BT-34, scheme 0225), legal form, capital and RCS as BT-33;
- buyer: SIREN (BT-47) and electronic address (BT-49, scheme 0225) for a French business, else its e-mail
  (scheme EM);
- the notes French law asks for (BR-FR-05): PMD late-payment penalties, PMT the recovery indemnity (businesses
  only), AAB early-payment discount; the entity's own legal mentions as ABL;
- VAT categories as the CEN rules want them: a document with category O (deposit) carries no VAT identifier
  and no rate (BR-O-*), E / AE / O groups carry their exemption reason (and code, VATEX-EU-AE / -O);
- a negative regularisation is a negative quantity at a positive net price (BR-27: prices are never negative);
- credit notes are type 381 with the credited invoice (BT-25 / BT-26).

`ubl.py` and `pdf.py` reuse the helpers below (lines, notes, payment means) so the three documents agree.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from comptoir.billing.models import Invoice, VatCategory
from comptoir.core.money import format_money

GUIDELINE = "urn:cen.eu:en16931:2017"
BUSINESS_PROCESS = "S1"  # French "cadre de facturation": services, invoice to pay (BR-FR-08)
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

# UN/ECE Recommendation 20 unit codes of the catalog's units (C62 = "one").
UNIT_CODES = {"month": "MON", "hour": "HUR", "day": "DAY"}
# UNTDID 4461 payment means of the sales app's payment methods (58 SEPA credit transfer, 59 SEPA direct debit).
PAYMENT_MEANS = {"direct_debit": "59", "card": "48", "cheque": "20", "cash": "10"}
# VATEX codes (BT-121) where one code fits every document of the category.
EXEMPTION_CODES = {VatCategory.REVERSE_CHARGE: "VATEX-EU-AE", VatCategory.OUTSIDE_SCOPE: "VATEX-EU-O",
                   VatCategory.INTRA_EU: "VATEX-EU-IC"}  # fmt: skip
SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
ELECTRONIC_ADDRESS_SCHEME = "0225"  # French electronic invoicing address: the SIREN (AFNOR XP Z12-012)


# --------------------------------------------------------------------------------------------------
# The content shared by the XML syntaxes and the PDF
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentLine:
    """A line as EN 16931 sees it: net price never negative, the sign carried by the quantity."""

    number: int
    name: str
    quantity: Decimal
    unit: str
    unit_code: str
    net_price: Decimal
    allowance: Decimal
    net_amount: Decimal
    category: str
    rate: Decimal
    period_start: datetime.date | None
    period_end: datetime.date | None


@dataclass(frozen=True)
class VatGroup:
    category: str
    rate: Decimal
    base: Decimal
    vat: Decimal
    exemption_reason: str
    exemption_code: str


def document_lines(invoice: Invoice) -> list[DocumentLine]:
    result = []
    lines = invoice.lines.order_by("position", "id")
    for number, line in enumerate(lines, start=1):
        quantity, price = Decimal(line.quantity), Decimal(line.unit_price)
        if price < 0:
            quantity, price = -quantity, -price
        result.append(
            DocumentLine(
                number=number,
                name=line.description,
                quantity=quantity,
                unit=line.unit,
                unit_code=UNIT_CODES.get(line.unit, "C62"),
                net_price=price,
                allowance=Decimal(line.discount),
                net_amount=Decimal(line.amount_excl_vat),
                category=line.vat_category,
                rate=Decimal(line.vat_rate),
                period_start=line.period_start,
                period_end=line.period_end,
            )
        )
    return result


def vat_groups(invoice: Invoice) -> list[VatGroup]:
    groups = []
    for row in invoice.vat_breakdown:
        category = row["category"]
        reason = row.get("exemption_reason", "") if category != VatCategory.STANDARD else ""
        groups.append(
            VatGroup(
                category=category,
                rate=Decimal(row["rate"]),
                base=Decimal(row["base"]),
                vat=Decimal(row["vat"]),
                exemption_reason=reason,
                exemption_code=EXEMPTION_CODES.get(category, ""),
            )
        )
    return groups


def is_outside_scope(invoice: Invoice) -> bool:
    """A document with category O carries no VAT identifier (BR-O-02)."""
    return any(row["category"] == VatCategory.OUTSIDE_SCOPE for row in invoice.vat_breakdown)


def percent(rate: Decimal | str) -> str:
    """12,00 % (French)."""
    return f"{Decimal(rate):.2f}".replace(".", ",") + "\u00a0%"


def legal_notes(invoice: Invoice) -> list[tuple[str, str]]:
    """(subject code, text) of the mentions French law asks on an invoice, in French (BR-FR-05)."""
    seller, buyer = invoice.seller or {}, invoice.buyer or {}
    notes: list[tuple[str, str]] = []
    with translation.override("fr"):
        if invoice.notes.strip():
            notes.append(("AAI", invoice.notes.strip()))
        rate = seller.get("late_penalty_rate") or "0"
        notes.append(("PMD", _("En cas de retard de paiement, des pénalités sont exigibles au taux annuel de "
                               "%(rate)s, à compter du jour suivant la date d'échéance.") % {"rate": percent(rate)}))  # fmt: skip
        if buyer.get("is_business"):
            amount = format_money(Decimal(seller.get("recovery_indemnity") or "40.00"))
            notes.append(("PMT", _("Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : "
                                   "%(amount)s (article D441-5 du Code de commerce).") % {"amount": amount}))  # fmt: skip
        early = str(seller.get("early_payment_terms") or "").strip() or _("Pas d'escompte pour paiement anticipé.")
        notes.append(("AAB", early))
        if str(seller.get("legal_mentions") or "").strip():
            notes.append(("ABL", str(seller["legal_mentions"]).strip()))
    return notes


def payment_means_code(invoice: Invoice) -> str:
    """59 direct debit; 58 SEPA credit transfer when the seller has an IBAN; card, cheque, cash; else ""."""
    if invoice.payment_method == "direct_debit":
        return "59"
    if (invoice.seller or {}).get("iban") and invoice.payment_method in ("", "transfer"):
        return "58"
    return PAYMENT_MEANS.get(invoice.payment_method, "58" if (invoice.seller or {}).get("iban") else "")


def seller_legal_info(seller: dict[str, Any]) -> str:
    """BT-33: legal form, capital, RCS, domiciliation approval."""
    parts = []
    with translation.override("fr"):
        if seller.get("legal_form"):
            form = str(seller["legal_form"])
            if seller.get("share_capital"):
                form += " " + _("au capital de %(capital)s") % {"capital": seller["share_capital"]}
            parts.append(form)
        if seller.get("rcs"):
            parts.append(_("RCS %(rcs)s") % {"rcs": seller["rcs"]})
        if seller.get("approval_number"):
            parts.append(_("Agrément domiciliation n° %(number)s") % {"number": seller["approval_number"]})
    return " · ".join(parts)


def is_french_business(party: dict[str, Any]) -> bool:
    return (party.get("country") or "FR") == "FR" and bool(party.get("siren")) and party.get("is_business", True)


def electronic_address(party: dict[str, Any]) -> tuple[str, str] | None:
    """(scheme, value) of BT-34 / BT-49: the SIREN for a French business, else its e-mail."""
    if is_french_business(party):
        return ELECTRONIC_ADDRESS_SCHEME, str(party["siren"])
    if party.get("email"):
        return "EM", str(party["email"])
    return None


def business_flow(buyer: dict[str, Any]) -> str:
    """The French reform's flow of the document (note BAR): B2B (then the buyer's SIREN is due), B2BINT or B2C."""
    if not buyer.get("is_business"):
        return "B2C"
    return "B2B" if (buyer.get("country") or "FR") == "FR" else "B2BINT"


def amount(value: Decimal | str) -> str:
    return f"{Decimal(value):.2f}"


def quantity_text(value: Decimal) -> str:
    return f"{Decimal(value):.3f}"


def price_text(value: Decimal) -> str:
    return f"{Decimal(value):.4f}"


def rate_text(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def type_code(invoice: Invoice) -> str:
    return "381" if invoice.is_credit_note else "380"


# --------------------------------------------------------------------------------------------------
# CII
# --------------------------------------------------------------------------------------------------
def _qname(tag: str) -> str:
    prefix, _sep, local = tag.partition(":")
    return f"{{{NSMAP[prefix]}}}{local}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, _qname(tag), attrib=attributes or None)
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, tag: str, day: datetime.date, *, qualified: bool = False) -> etree._Element:
    holder = _sub(parent, tag)
    _sub(holder, "qdt:DateTimeString" if qualified else "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")
    return holder


def _address(parent: etree._Element, party: dict[str, Any]) -> None:
    address = _sub(parent, "ram:PostalTradeAddress")
    if party.get("postal_code"):
        _sub(address, "ram:PostcodeCode", str(party["postal_code"]))
    if party.get("address_line1"):
        _sub(address, "ram:LineOne", str(party["address_line1"]))
    if party.get("address_line2"):
        _sub(address, "ram:LineTwo", str(party["address_line2"]))
    if party.get("city"):
        _sub(address, "ram:CityName", str(party["city"]))
    _sub(address, "ram:CountryID", str(party.get("country") or "FR"))


def _seller(parent: etree._Element, invoice: Invoice) -> None:
    seller = invoice.seller or {}
    party = _sub(parent, "ram:SellerTradeParty")
    if seller.get("siret"):
        _sub(party, "ram:GlobalID", str(seller["siret"]), schemeID=SIRET_SCHEME)
    _sub(party, "ram:Name", str(seller.get("name") or ""))
    legal_info = seller_legal_info(seller)
    if legal_info:
        _sub(party, "ram:Description", legal_info)
    if seller.get("siren"):
        organization = _sub(party, "ram:SpecifiedLegalOrganization")
        _sub(organization, "ram:ID", str(seller["siren"]), schemeID=SIREN_SCHEME)
    if seller.get("email") or seller.get("phone"):
        contact = _sub(party, "ram:DefinedTradeContact")
        if seller.get("phone"):
            phone = _sub(contact, "ram:TelephoneUniversalCommunication")
            _sub(phone, "ram:CompleteNumber", str(seller["phone"]))
        if seller.get("email"):
            email = _sub(contact, "ram:EmailURIUniversalCommunication")
            _sub(email, "ram:URIID", str(seller["email"]))
    _address(party, seller)
    endpoint = electronic_address({**seller, "is_business": True})
    if endpoint:
        uri = _sub(party, "ram:URIUniversalCommunication")
        _sub(uri, "ram:URIID", endpoint[1], schemeID=endpoint[0])
    if seller.get("vat_number") and not is_outside_scope(invoice):
        registration = _sub(party, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", str(seller["vat_number"]), schemeID="VA")


def _buyer(parent: etree._Element, invoice: Invoice) -> None:
    buyer = invoice.buyer or {}
    party = _sub(parent, "ram:BuyerTradeParty")
    if buyer.get("siret") and is_french_business(buyer):  # BT-46: the SIRET (Chorus Pro identifies buyers by it)
        _sub(party, "ram:GlobalID", str(buyer["siret"]), schemeID="0009")
    _sub(party, "ram:Name", str(buyer.get("name") or ""))
    if is_french_business(buyer):
        organization = _sub(party, "ram:SpecifiedLegalOrganization")
        _sub(organization, "ram:ID", str(buyer["siren"]), schemeID=SIREN_SCHEME)
    if buyer.get("contact"):
        contact = _sub(party, "ram:DefinedTradeContact")
        _sub(contact, "ram:PersonName", str(buyer["contact"]))
    _address(party, buyer)
    endpoint = electronic_address(buyer)
    if endpoint:
        uri = _sub(party, "ram:URIUniversalCommunication")
        _sub(uri, "ram:URIID", endpoint[1], schemeID=endpoint[0])
    if buyer.get("vat_number") and not is_outside_scope(invoice):
        registration = _sub(party, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", str(buyer["vat_number"]), schemeID="VA")


def _tax(parent: etree._Element, category: str, rate: Decimal) -> None:
    tax = _sub(parent, "ram:ApplicableTradeTax")
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", category)
    if category != VatCategory.OUTSIDE_SCOPE:
        _sub(tax, "ram:RateApplicablePercent", rate_text(rate))


def _line(parent: etree._Element, line: DocumentLine) -> None:
    item = _sub(parent, "ram:IncludedSupplyChainTradeLineItem")
    document = _sub(item, "ram:AssociatedDocumentLineDocument")
    _sub(document, "ram:LineID", str(line.number))
    product = _sub(item, "ram:SpecifiedTradeProduct")
    _sub(product, "ram:Name", line.name)
    agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
    price = _sub(agreement, "ram:NetPriceProductTradePrice")
    _sub(price, "ram:ChargeAmount", price_text(line.net_price))
    delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
    _sub(delivery, "ram:BilledQuantity", quantity_text(line.quantity), unitCode=line.unit_code)
    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    _tax(settlement, line.category, line.rate)
    if line.period_start or line.period_end:
        period = _sub(settlement, "ram:BillingSpecifiedPeriod")
        if line.period_start:
            _date(period, "ram:StartDateTime", line.period_start)
        if line.period_end:
            _date(period, "ram:EndDateTime", line.period_end)
    if line.allowance:
        allowance = _sub(settlement, "ram:SpecifiedTradeAllowanceCharge")
        indicator = _sub(allowance, "ram:ChargeIndicator")
        _sub(indicator, "udt:Indicator", "false")
        _sub(allowance, "ram:ActualAmount", amount(line.allowance))
        _sub(allowance, "ram:ReasonCode", "95")  # UNTDID 5189: discount
        with translation.override("fr"):
            _sub(allowance, "ram:Reason", _("Remise"))
    summation = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram:LineTotalAmount", amount(line.net_amount))


def _settlement(parent: etree._Element, invoice: Invoice) -> None:
    seller = invoice.seller or {}
    settlement = _sub(parent, "ram:ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram:PaymentReference", invoice.reference)
    _sub(settlement, "ram:InvoiceCurrencyCode", invoice.currency)
    code = payment_means_code(invoice)
    if code:
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", code)
        if code == "58" and seller.get("iban"):
            account = _sub(means, "ram:PayeePartyCreditorFinancialAccount")
            _sub(account, "ram:IBANID", str(seller["iban"]).replace(" ", ""))
            if seller.get("bic"):
                institution = _sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
                _sub(institution, "ram:BICID", str(seller["bic"]))
    for group in vat_groups(invoice):
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:CalculatedAmount", amount(group.vat))
        _sub(tax, "ram:TypeCode", "VAT")
        if group.exemption_reason:
            _sub(tax, "ram:ExemptionReason", group.exemption_reason)
        _sub(tax, "ram:BasisAmount", amount(group.base))
        _sub(tax, "ram:CategoryCode", group.category)
        if group.exemption_code:
            _sub(tax, "ram:ExemptionReasonCode", group.exemption_code)
        if group.category != VatCategory.OUTSIDE_SCOPE:
            _sub(tax, "ram:RateApplicablePercent", rate_text(group.rate))
    if invoice.period_start or invoice.period_end:
        period = _sub(settlement, "ram:BillingSpecifiedPeriod")
        if invoice.period_start:
            _date(period, "ram:StartDateTime", invoice.period_start)
        if invoice.period_end:
            _date(period, "ram:EndDateTime", invoice.period_end)
    if invoice.payment_terms or invoice.due_date:
        terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
        if invoice.payment_terms:
            _sub(terms, "ram:Description", invoice.payment_terms)
        if invoice.due_date:
            _date(terms, "ram:DueDateDateTime", invoice.due_date)
    totals = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, "ram:LineTotalAmount", amount(invoice.total_excl_vat))
    _sub(totals, "ram:TaxBasisTotalAmount", amount(invoice.total_excl_vat))
    _sub(totals, "ram:TaxTotalAmount", amount(invoice.total_vat), currencyID=invoice.currency)
    _sub(totals, "ram:GrandTotalAmount", amount(invoice.total_incl_vat))
    _sub(totals, "ram:DuePayableAmount", amount(invoice.total_incl_vat))
    credited = invoice.credited_invoice
    if credited is not None and credited.reference:
        reference = _sub(settlement, "ram:InvoiceReferencedDocument")
        _sub(reference, "ram:IssuerAssignedID", credited.reference)
        if credited.issue_date:
            _date(reference, "ram:FormattedIssueDateTime", credited.issue_date, qualified=True)


def invoice_cii(invoice: Invoice) -> bytes:
    """The CII XML (Factur-X EN 16931) of an issued invoice or credit note, UTF-8 bytes."""
    if invoice.is_draft or not invoice.reference or invoice.issue_date is None:
        raise ValueError("Only an issued document has a CII XML.")
    root = etree.Element(_qname("rsm:CrossIndustryInvoice"), nsmap=NSMAP)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    process = _sub(context, "ram:BusinessProcessSpecifiedDocumentContextParameter")
    _sub(process, "ram:ID", BUSINESS_PROCESS)
    guideline = _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, "ram:ID", GUIDELINE)

    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", invoice.reference)
    _sub(document, "ram:TypeCode", type_code(invoice))
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    for subject, text in [("BAR", business_flow(invoice.buyer or {})), *legal_notes(invoice)]:
        note = _sub(document, "ram:IncludedNote")
        _sub(note, "ram:Content", text)
        _sub(note, "ram:SubjectCode", subject)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for line in document_lines(invoice):
        _line(transaction, line)
    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    if invoice.buyer_reference:
        _sub(agreement, "ram:BuyerReference", invoice.buyer_reference)
    _seller(agreement, invoice)
    _buyer(agreement, invoice)
    if invoice.purchase_order:
        order = _sub(agreement, "ram:BuyerOrderReferencedDocument")
        _sub(order, "ram:IssuerAssignedID", invoice.purchase_order)
    contract_reference = invoice.contract.reference if invoice.contract_id else ""
    if contract_reference:
        contract = _sub(agreement, "ram:ContractReferencedDocument")
        _sub(contract, "ram:IssuerAssignedID", contract_reference)
    delivery = _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    if any(row["category"] == VatCategory.INTRA_EU for row in invoice.vat_breakdown):
        ship_to = _sub(delivery, "ram:ShipToTradeParty")
        _address(ship_to, invoice.buyer or {})
    _settlement(transaction, invoice)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
