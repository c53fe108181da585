"""Every write of quotes and the quote builder ("Tarificateur", frontmanager §5).

A quote holds up to four alternative offers; each offer line is priced by the catalog's one pricing
function and keeps its price breakdown as a snapshot (DESIGN.md invariant 11): a later change of the
catalog (price per m², grid, product price, discount) never changes an existing offer. Totals follow
invariant 3: each line's amount excl. VAT is rounded half-up to the cent, VAT is computed per rate on
the sum of the lines of that rate.

Statuses: draft → sent → accepted | refused | expired. Only a draft can be edited; a sent quote can be
sent again (the same document to the same or other recipients) until it is decided or expires.
"""

from __future__ import annotations

import datetime
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.catalog import pricing
from comptoir.catalog.models import Discount, Product, ServiceType, Space, VatRate
from comptoir.core import events, journal, numbering, rights
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.housekeeping import register_daily
from comptoir.core.models import Organization, User
from comptoir.core.money import round_cents
from comptoir.core.services import apply_changes, validate
from comptoir.crm import capabilities
from comptoir.crm.models import Company, Contact, Opportunity
from comptoir.sales.models import MAX_OFFERS, Offer, OfferLine, PricedLine, Quote

HUNDRED = Decimal(100)
VALIDITY_DAYS = 30
QUOTE_FIELDS = ["title", "valid_until", "notes"]
OFFER_FIELDS = ["title", "service_type", "term_months", "start_date", "deposit"]
# The stages an opportunity leaves for "Devis envoyé" when its quote is sent.
STAGES_BEFORE_QUOTE_SENT = (Opportunity.Stage.LEAD, Opportunity.Stage.QUALIFIED)
PRODUCT_LINE_KIND = {
    Product.Kind.MAIN_SERVICE: PricedLine.Kind.SERVICE,
    Product.Kind.PLAN: PricedLine.Kind.SERVICE,
    Product.Kind.OPTION: PricedLine.Kind.OPTION,
    Product.Kind.CONSUMPTION: PricedLine.Kind.ONE_OFF,
}
MAX_LINES = 30


# --------------------------------------------------------------------------------------------------
# Totals (pure functions, also used by the pages and the PDF)
# --------------------------------------------------------------------------------------------------
@dataclass
class Totals:
    monthly_excl_vat: Decimal = Decimal("0.00")
    monthly_vat: Decimal = Decimal("0.00")
    monthly_incl_vat: Decimal = Decimal("0.00")
    monthly_vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)
    one_off_excl_vat: Decimal = Decimal("0.00")
    one_off_vat: Decimal = Decimal("0.00")
    one_off_incl_vat: Decimal = Decimal("0.00")
    one_off_vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)


def _vat_by_rate(lines: Iterable[Any]) -> dict[Decimal, Decimal]:
    """VAT per rate on the sum of the lines of that rate (never a sum of per-line VAT)."""
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = Decimal(str(line.vat_rate))
        bases[rate] = bases.get(rate, Decimal("0.00")) + Decimal(line.amount_excl_vat)
    return {rate: round_cents(base * rate / HUNDRED) for rate, base in sorted(bases.items(), reverse=True)}


def compute_totals(lines: Sequence[Any]) -> Totals:
    """Lines: anything with amount_excl_vat, vat_rate, is_recurring (OfferLine or unsaved lines)."""
    monthly = [line for line in lines if line.is_recurring]
    one_off = [line for line in lines if not line.is_recurring]
    totals = Totals()
    totals.monthly_excl_vat = sum((Decimal(line.amount_excl_vat) for line in monthly), Decimal("0.00"))
    totals.monthly_vat_by_rate = _vat_by_rate(monthly)
    totals.monthly_vat = sum(totals.monthly_vat_by_rate.values(), Decimal("0.00"))
    totals.monthly_incl_vat = totals.monthly_excl_vat + totals.monthly_vat
    totals.one_off_excl_vat = sum((Decimal(line.amount_excl_vat) for line in one_off), Decimal("0.00"))
    totals.one_off_vat_by_rate = _vat_by_rate(one_off)
    totals.one_off_vat = sum(totals.one_off_vat_by_rate.values(), Decimal("0.00"))
    totals.one_off_incl_vat = totals.one_off_excl_vat + totals.one_off_vat
    return totals


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _same_org(obj: Any, organization_id: int, name: str) -> None:
    if obj is None or getattr(obj, "organization_id", None) != organization_id:
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field=name)


def _locked(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().select_related("center", "company").get(pk=quote.pk)


def _require_draft(quote: Quote) -> None:
    if not quote.is_editable:
        raise DomainError(
            _("Seul un devis en brouillon peut être modifié (ce devis est « %(status)s »).")
            % {"status": quote.get_status_display()},
            code="not_draft",
        )


def _is_expired(quote: Quote) -> bool:
    return quote.status == Quote.Status.EXPIRED or quote.valid_until < timezone.localdate()


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Saisissez un nombre."), code="invalid", field=name) from None
    if not number.is_finite():
        raise ValidationFailed(_("Saisissez un nombre."), code="invalid", field=name)
    return number


def _pk(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if hasattr(value, "pk"):
        return int(value.pk)
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# --------------------------------------------------------------------------------------------------
# Line pricing
# --------------------------------------------------------------------------------------------------
@dataclass
class PricedInput:
    """A priced, validated (unsaved) line."""

    kind: str
    space: Space | None
    product: Product | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: str
    vat_exemption_reason: str
    accounting_code: str
    amount_excl_vat: Decimal
    is_recurring: bool
    breakdown: dict[str, Any]

    def line(self, offer: Offer, position: int) -> OfferLine:
        return OfferLine(
            offer=offer, position=position, kind=self.kind, space=self.space, product=self.product,
            description=self.description, quantity=self.quantity, unit_price=self.unit_price, vat_rate=self.vat_rate,
            vat_exemption_reason=self.vat_exemption_reason, accounting_code=self.accounting_code,
            amount_excl_vat=self.amount_excl_vat, is_recurring=self.is_recurring, breakdown=self.breakdown,
        )  # fmt: skip


def _applied_discounts(by: User, quote: Quote, items: Any) -> list[pricing.Applied]:
    applied = []
    for item in items or []:
        if isinstance(item, pricing.Applied):
            applied.append(item)
            continue
        if not isinstance(item, dict):
            raise ValidationFailed(_("Réduction invalide."), code="invalid", field="discounts")
        discount = item.get("discount")
        if not isinstance(discount, Discount):
            discount = (
                Discount.objects.filter(organization_id=quote.organization_id, pk=_pk(discount))
                .prefetch_related("centers")
                .first()
            )
        if discount is None:
            raise ValidationFailed(_("Cette réduction n'est pas disponible."), code="discount_unavailable",
                                   field="discounts")  # fmt: skip
        percent = item.get("percent")
        percent = None if percent in (None, "") else _decimal(percent, "discounts")
        applied.append(pricing.Applied(discount, percent))
    if len({a.discount.pk for a in applied}) != len(applied):
        raise ValidationFailed(_("Une réduction ne s'applique qu'une fois par ligne."), code="duplicate_discount",
                               field="discounts")  # fmt: skip
    pricing.check_discounts(by, quote.organization, applied, center=quote.center)
    return applied


def price_line(
    *, quote: Quote, by: User, term_months: int | None, data: dict[str, Any], book: pricing.PriceBook | None = None
) -> PricedInput:
    """Validate and price one line {kind?, space|product, quantity, description?, discounts}; raises
    ValidationFailed at the faulty field. Writes nothing (the builder's live preview calls it too)."""
    org_id = quote.organization_id
    space, product = data.get("space"), data.get("product")
    if space is not None and not isinstance(space, Space):
        space = Space.objects.filter(organization_id=org_id, pk=_pk(space)).select_related("center").first()
        if space is None:
            raise ValidationFailed(_("Espace inconnu."), code="not_found", field="space")
    if product is not None and not isinstance(product, Product):
        product = Product.objects.filter(organization_id=org_id, pk=_pk(product)).first()
        if product is None:
            raise ValidationFailed(_("Article inconnu."), code="not_found", field="product")
    if (space is None) == (product is None):
        raise ValidationFailed(_("Choisissez un espace ou un article du catalogue."), code="required",
                               field="product" if space is None else "space")  # fmt: skip
    kind = data.get("kind") or (PricedLine.Kind.SPACE if space is not None else PRODUCT_LINE_KIND[product.kind])
    if kind not in PricedLine.Kind.values:
        raise ValidationFailed(_("Type de ligne inconnu."), code="invalid", field="kind")
    if (kind == PricedLine.Kind.SPACE) != (space is not None):
        raise ValidationFailed(_("Une ligne « Espace » porte sur un espace, les autres sur un article."),
                               code="invalid", field="kind")  # fmt: skip
    quantity = _decimal(data.get("quantity", 1) or 1, "quantity")
    if quantity < Decimal("0.01") or quantity > Decimal("99999") or quantity != quantity.quantize(Decimal("0.01")):
        raise ValidationFailed(_("La quantité doit être positive, avec deux décimales au plus."), code="invalid",
                               field="quantity")  # fmt: skip
    applied = _applied_discounts(by, quote, data.get("discounts"))
    if space is not None:
        if space.organization_id != org_id or space.center_id != quote.center_id:
            raise ValidationFailed(
                _("L'espace %(space)s n'est pas dans le centre du devis.") % {"space": space.name},
                code="other_center", field="space",
            )  # fmt: skip
        if not space.is_active:
            raise ValidationFailed(_("L'espace %(space)s n'est plus actif.") % {"space": space.name},
                                   code="inactive", field="space")  # fmt: skip
        breakdown = pricing.office_price(space, term_months=term_months, discounts=applied, book=book)
        vat_rate, exemption, code, name = VatRate.STANDARD.value, "", "", space.name
    else:
        assert product is not None
        if product.organization_id != org_id:
            raise ValidationFailed(_("Article inconnu."), code="not_found", field="product")
        if not pricing.is_available(product, quote.center, book):
            raise ValidationFailed(
                _("L'article %(product)s n'est pas disponible dans le centre %(center)s.")
                % {"product": product.name, "center": quote.center.name},
                code="unavailable", field="product",
            )  # fmt: skip
        breakdown = pricing.product_price(product, quote.center, term_months=term_months, discounts=applied, book=book)
        vat_rate, exemption, code, name = (
            product.vat_rate,
            product.vat_exemption_reason,
            product.accounting_code,
            (product.name),
        )
    description = (data.get("description") or "").strip() or name
    if len(description) > 255:
        raise ValidationFailed(_("255 caractères au plus."), code="invalid", field="description")
    snapshot = breakdown.as_json()
    snapshot["discounts"] = [{"discount": a.discount.pk, "percent": str(a.rate)} for a in applied]
    snapshot["quantity"] = str(quantity)
    unit_price = breakdown.unit_price
    return PricedInput(
        kind=kind, space=space, product=product, description=description, quantity=quantity,
        unit_price=unit_price, vat_rate=str(vat_rate), vat_exemption_reason=exemption, accounting_code=code,
        amount_excl_vat=round_cents(quantity * unit_price), is_recurring=kind != PricedLine.Kind.ONE_OFF,
        breakdown=snapshot,
    )  # fmt: skip


def price_lines(
    *, quote: Quote, by: User, term_months: int | None, lines: Sequence[dict[str, Any]]
) -> list[PricedInput]:
    """Price every line; an error names its line: field `lines.<index>.<field>`."""
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("Une offre compte %(max)s lignes au plus.") % {"max": MAX_LINES}, code="too_many_lines",
                               field="lines")  # fmt: skip
    priced = []
    book = pricing.PriceBook()  # the center's rate, grid and prices read once for all the lines
    for index, data in enumerate(lines):
        if not isinstance(data, dict):
            raise ValidationFailed(_("Ligne invalide."), code="invalid", field=f"lines.{index}")
        try:
            priced.append(price_line(quote=quote, by=by, term_months=term_months, data=data, book=book))
        except ValidationFailed as exc:
            fields = {f"lines.{index}.{name}": messages for name, messages in exc.fields.items()} or {
                f"lines.{index}": [exc.message]
            }
            raise ValidationFailed(exc.message, code=exc.code, fields=fields) from exc
    return priced


# --------------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------------
def _default_title(company: Company) -> str:
    return _("Proposition commerciale — %(company)s") % {"company": company.name}


@transaction.atomic
def create_quote(
    *,
    organization: Organization,
    by: User,
    opportunity: Opportunity | None = None,
    company: Company | None = None,
    data: dict[str, Any] | None = None,
) -> Quote:
    """A draft quote for a company (or an opportunity's company); center and legal entity from it."""
    rights.require(by, "sales.add_quote", organization)
    data = dict(data or {})
    if opportunity is not None:
        _same_org(opportunity, organization.pk, "opportunity")
        if company is not None and company.pk != opportunity.company_id:
            raise ValidationFailed(_("L'opportunité appartient à une autre entreprise."), code="invalid",
                                   field="opportunity")  # fmt: skip
        company = opportunity.company
    if company is None:
        raise ValidationFailed(_("Choisissez l'entreprise du devis."), code="required", field="company")
    _same_org(company, organization.pk, "company")
    if company.is_archived:
        raise ValidationFailed(_("Cette entreprise est archivée."), code="archived", field="company")
    center = data.pop("center", None) or (opportunity.center if opportunity is not None else None) or company.center
    if center is None:
        raise ValidationFailed(_("Choisissez le centre du devis."), code="required", field="center")
    _same_org(center, organization.pk, "center")
    if not center.is_active:
        raise ValidationFailed(_("Ce centre n'est plus actif."), code="inactive", field="center")
    quote = Quote(
        organization=organization, company=company, opportunity=opportunity, center=center,
        legal_entity=center.legal_entity, created_by=by, number=0,
        valid_until=timezone.localdate() + datetime.timedelta(days=VALIDITY_DAYS),
    )  # fmt: skip
    changes = apply_changes(quote, {"title": _default_title(company), **data}, QUOTE_FIELDS)
    _check_validity(quote)
    quote.number = numbering.next_number(organization=organization, series="quote")
    quote.save()
    journal.record(
        actor=by, action="quote.created", obj=quote,
        changes={**changes, "reference": quote.reference, "company": company.pk, "center": center.pk},
    )  # fmt: skip
    return quote


def _check_validity(quote: Quote) -> None:
    if quote.valid_until < timezone.localdate():
        raise ValidationFailed(_("La date de validité est passée."), code="past", field="valid_until")


@transaction.atomic
def update_quote(*, quote: Quote, by: User, data: dict[str, Any]) -> Quote:
    """A draft's title, validity and notes (and its center while it has no offer)."""
    rights.require(by, "sales.change_quote", quote.organization_id)
    quote = _locked(quote)
    _require_draft(quote)
    data = dict(data)
    center = data.pop("center", None)
    changes: dict[str, Any] = {}
    if center is not None and center.pk != quote.center_id:
        _same_org(center, quote.organization_id, "center")
        if quote.offers.exists():
            raise ValidationFailed(_("Supprimez d'abord les offres pour changer de centre."), code="has_offers",
                                   field="center")  # fmt: skip
        changes["center"] = [quote.center_id, center.pk]
        quote.center, quote.legal_entity = center, center.legal_entity
    changes.update(apply_changes(quote, data, QUOTE_FIELDS))
    if changes:
        _check_validity(quote)
        quote.updated_at = timezone.now()
        quote.save()
        journal.record(actor=by, action="quote.updated", obj=quote, changes=changes)
    return quote


@transaction.atomic
def delete_quote(*, quote: Quote, by: User) -> None:
    rights.require(by, "sales.delete_quote", quote.organization_id)
    quote = _locked(quote)
    if quote.status != Quote.Status.DRAFT:
        raise DomainError(_("Seul un devis en brouillon peut être supprimé."), code="not_draft")
    journal.record(actor=by, action="quote.deleted", obj=quote, changes={"reference": quote.reference})
    quote.delete()


# --------------------------------------------------------------------------------------------------
# Offers
# --------------------------------------------------------------------------------------------------
def parse_position(position: Any) -> int:
    try:
        value = int(position)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= MAX_OFFERS:
        raise ValidationFailed(
            _("Un devis compte %(max)s offres au plus (positions 1 à %(max)s).") % {"max": MAX_OFFERS},
            code="too_many_offers", field="position",
        )  # fmt: skip
    return value


def _offer_data(data: dict[str, Any]) -> dict[str, Any]:
    fields = {name: data[name] for name in OFFER_FIELDS if name in data}
    unknown = set(data) - set(OFFER_FIELDS) - {"lines"}
    if unknown:
        raise ValidationFailed(
            _("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="unknown_field",
            fields={name: [_("Champ non modifiable.")] for name in sorted(unknown)},
        )  # fmt: skip
    if fields.get("service_type") not in ServiceType.values:
        raise ValidationFailed(_("Choisissez le service principal."), code="required", field="service_type")
    return fields


@transaction.atomic
def save_offer(*, quote: Quote, by: User, position: int, data: dict[str, Any]) -> Offer:
    """Create or replace the offer at `position` (1-4) with its priced lines, in one go."""
    rights.require(by, "sales.change_quote", quote.organization_id)
    quote = _locked(quote)
    _require_draft(quote)
    position = parse_position(position)
    offer = Offer.objects.filter(quote=quote, position=position).first()
    created = offer is None
    if offer is None:
        offer = Offer(quote=quote, position=position, start_date=timezone.localdate())
    before = journal.snapshot(offer, [*OFFER_FIELDS, "monthly_excl_vat", "one_off_excl_vat"])
    fields = _offer_data(data)
    for name, value in fields.items():
        setattr(offer, name, value)
    if not (offer.title or "").strip():
        offer.title = str(ServiceType(offer.service_type).label)
    validate(offer, exclude=["quote"])
    lines = data.get("lines") or []
    if not lines:
        raise ValidationFailed(_("Ajoutez au moins une ligne à l'offre."), code="required", field="lines")
    priced = price_lines(quote=quote, by=by, term_months=offer.term_months, lines=lines)
    totals = compute_totals(priced)
    offer.monthly_excl_vat = totals.monthly_excl_vat
    offer.monthly_vat = totals.monthly_vat
    offer.monthly_incl_vat = totals.monthly_incl_vat
    offer.one_off_excl_vat = totals.one_off_excl_vat
    offer.save()
    offer.lines.all().delete()
    OfferLine.objects.bulk_create([item.line(offer, index) for index, item in enumerate(priced)])
    quote.updated_at = timezone.now()
    quote.save(update_fields=["updated_at"])
    changes = journal.diff(before, journal.snapshot(offer, [*OFFER_FIELDS, "monthly_excl_vat", "one_off_excl_vat"]))
    changes["position"] = position
    changes["lines"] = [f"{item.quantity} × {item.description} = {item.amount_excl_vat}" for item in priced]
    journal.record(actor=by, action="quote.offer_added" if created else "quote.offer_updated", obj=quote,
                   changes=changes)  # fmt: skip
    return offer


@transaction.atomic
def delete_offer(*, quote: Quote, by: User, position: int) -> None:
    rights.require(by, "sales.change_quote", quote.organization_id)
    quote = _locked(quote)
    _require_draft(quote)
    position = parse_position(position)
    offer = Offer.objects.filter(quote=quote, position=position).first()
    if offer is None:
        raise ValidationFailed(_("Aucune offre à cette position."), code="not_found", field="position")
    journal.record(actor=by, action="quote.offer_deleted", obj=quote,
                   changes={"position": position, "title": offer.title})  # fmt: skip
    offer.delete()
    quote.updated_at = timezone.now()
    quote.save(update_fields=["updated_at"])


# --------------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------------
def default_recipients(quote: Quote) -> list[str]:
    """The company's active contacts with an e-mail who receive invoices or administer the company."""
    contacts = Contact.objects.filter(company_id=quote.company_id, is_active=True).exclude(email="")
    chosen = [c.email for c in contacts.order_by("-is_main", "last_name", "pk")
              if c.is_invoice_recipient or c.company_role == Contact.CompanyRole.ADMINISTRATOR]  # fmt: skip
    return list(dict.fromkeys(chosen))


def _clean_recipients(recipients: Iterable[str]) -> list[str]:
    cleaned = []
    for address in recipients:
        address = (address or "").strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationFailed(
                _("Adresse e-mail invalide : %(email)s.") % {"email": address}, code="invalid", field="recipients"
            ) from None
        cleaned.append(address)
    return list(dict.fromkeys(cleaned))


def _send_emails(quote: Quote, recipients: list[str], pdf: bytes) -> None:
    with translation.override("fr"):
        context = {
            "quote": quote,
            "company": quote.company,
            "issuer": quote.legal_entity,
            "portal_url": settings.SITE_URL.rstrip("/") + reverse("portal:home"),
            "offers": list(quote.offers.all()),
        }
        subject = _("Votre devis %(reference)s — %(issuer)s") % {
            "reference": quote.reference,
            "issuer": quote.legal_entity.name,
        }
        body = render_to_string("sales/emails/quote_sent.txt", context)
    for address in recipients:
        message = EmailMessage(
            subject, body, to=[address], reply_to=[quote.center.email] if quote.center.email else None
        )
        message.attach(f"{quote.reference}.pdf", pdf, "application/pdf")
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:  # the whole sending is rolled back: still a draft
            raise DomainError(
                _("L'e-mail à %(email)s n'a pas pu partir : réessayez plus tard.") % {"email": address},
                code="email_failed",
            ) from exc


@transaction.atomic
def send_quote(*, quote: Quote, by: User, recipients: Iterable[str] | None = None) -> Quote:
    """E-mail the quote (PDF attached, link to the client portal); the opportunity moves to "Devis envoyé"."""
    from comptoir.crm.services.pipeline import move_opportunity
    from comptoir.sales.pdf.quote import render_quote_pdf

    rights.require(by, "sales.change_quote", quote.organization_id)
    quote = _locked(quote)
    if quote.status not in (Quote.Status.DRAFT, Quote.Status.SENT):
        raise DomainError(
            _("Ce devis ne peut plus être envoyé (il est « %(status)s »).") % {"status": quote.get_status_display()},
            code="not_sendable",
        )
    if not quote.offers.exists():
        raise ValidationFailed(_("Ajoutez au moins une offre avant d'envoyer le devis."), code="no_offer",
                               field="offers")  # fmt: skip
    _check_validity(quote)
    addresses = _clean_recipients(recipients) if recipients is not None else default_recipients(quote)
    if not addresses:
        raise ValidationFailed(
            _("Aucun destinataire : ajoutez un contact avec une adresse e-mail, administrateur ou destinataire des "
              "factures, ou saisissez une adresse."),
            code="no_recipient", field="recipients",
        )  # fmt: skip
    before = quote.status
    quote.status = Quote.Status.SENT
    quote.sent_at = timezone.now()
    quote.updated_at = quote.sent_at
    quote.save(update_fields=["status", "sent_at", "updated_at"])
    journal.record(actor=by, action="quote.sent", obj=quote,
                   changes={"status": [before, quote.status], "recipients": addresses})  # fmt: skip
    opportunity = quote.opportunity
    if opportunity is not None and opportunity.stage in STAGES_BEFORE_QUOTE_SENT:
        actor = by if rights.has_right(by, "crm.change_opportunity", quote.organization_id) else None
        move_opportunity(opportunity=opportunity, by=actor, stage=Opportunity.Stage.QUOTE_SENT)
    pdf = render_quote_pdf(quote)
    _send_emails(quote, addresses, pdf)
    return quote


# --------------------------------------------------------------------------------------------------
# Decision (staff or a portal member who may sign contracts)
# --------------------------------------------------------------------------------------------------
def _require_decider(quote: Quote, by: User | None, contact: Contact | None) -> User | None:
    """The journal's actor: the staff user, or the portal member's user account."""
    if by is not None:
        rights.require(by, "sales.change_quote", quote.organization_id)
        return by
    if contact is not None:
        if contact.company_id != quote.company_id or contact.organization_id != quote.organization_id:
            raise RightsError(_("Ce devis n'est pas adressé à votre entreprise."), code="forbidden")
        capabilities.require(contact, "sign_contracts")
        return contact.user
    raise RightsError(_("Action réservée au staff ou au client."), code="forbidden")


def _require_open(quote: Quote) -> None:
    if quote.status in (Quote.Status.ACCEPTED, Quote.Status.REFUSED):
        raise DomainError(
            _("Ce devis est déjà « %(status)s ».") % {"status": quote.get_status_display()}, code="already_decided"
        )
    if quote.status == Quote.Status.DRAFT:
        raise DomainError(_("Ce devis n'a pas encore été envoyé."), code="not_sent")
    if _is_expired(quote):
        raise ValidationFailed(
            _("Ce devis a expiré le %(date)s : dupliquez-le pour en faire un nouveau aux prix du jour.")
            % {"date": quote.valid_until.strftime("%d/%m/%Y")},
            code="expired", field="valid_until",
        )  # fmt: skip


@transaction.atomic
def accept_offer(*, quote: Quote, offer: Offer, by: User | None = None, contact: Contact | None = None) -> Quote:
    actor = _require_decider(quote, by, contact)
    quote = _locked(quote)
    _require_open(quote)
    if offer is None or offer.quote_id != quote.pk:
        raise ValidationFailed(_("Cette offre n'appartient pas au devis."), code="not_found", field="offer")
    quote.chosen_offer = offer
    quote.status = Quote.Status.ACCEPTED
    quote.decided_at = timezone.now()
    quote.updated_at = quote.decided_at
    quote.save(update_fields=["chosen_offer", "status", "decided_at", "updated_at"])
    journal.record(
        actor=actor, action="quote.accepted", obj=quote,
        changes={"status": [Quote.Status.SENT, Quote.Status.ACCEPTED], "offer": [offer.position, offer.title],
                 "by_client": contact is not None and by is None},
    )  # fmt: skip
    events.publish("quote.accepted", quote=quote, by=by)
    return quote


@transaction.atomic
def refuse_quote(*, quote: Quote, by: User | None = None, contact: Contact | None = None, reason: str = "") -> Quote:
    actor = _require_decider(quote, by, contact)
    quote = _locked(quote)
    _require_open(quote)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Indiquez le motif du refus."), code="required", field="reason")
    if len(reason) > 255:
        raise ValidationFailed(_("255 caractères au plus."), code="invalid", field="reason")
    quote.status = Quote.Status.REFUSED
    quote.refusal_reason = reason
    quote.decided_at = timezone.now()
    quote.updated_at = quote.decided_at
    quote.save(update_fields=["status", "refusal_reason", "decided_at", "updated_at"])
    journal.record(actor=actor, action="quote.refused", obj=quote,
                   changes={"status": [Quote.Status.SENT, Quote.Status.REFUSED], "refusal_reason": reason})  # fmt: skip
    events.publish("quote.refused", quote=quote, by=by)
    return quote


def expire_quotes() -> int:
    """Daily: sent quotes past their validity become expired. Idempotent."""
    today = timezone.localdate()
    count = 0
    for pk in Quote.objects.filter(status=Quote.Status.SENT, valid_until__lt=today).values_list("pk", flat=True):
        with transaction.atomic():
            quote = Quote.objects.select_for_update().get(pk=pk)
            if quote.status != Quote.Status.SENT or quote.valid_until >= today:
                continue
            quote.status = Quote.Status.EXPIRED
            quote.updated_at = timezone.now()
            quote.save(update_fields=["status", "updated_at"])
            journal.record(actor=None, action="quote.expired", obj=quote,
                           changes={"status": [Quote.Status.SENT, Quote.Status.EXPIRED]})  # fmt: skip
            count += 1
    return count


register_daily("quotes expired", expire_quotes)


# --------------------------------------------------------------------------------------------------
# Duplicate
# --------------------------------------------------------------------------------------------------
def _line_input(line: OfferLine) -> dict[str, Any]:
    discounts = [
        {"discount": item.get("discount"), "percent": item.get("percent")}
        for item in (line.breakdown or {}).get("discounts", [])
    ]
    return {
        "kind": line.kind, "space": line.space_id, "product": line.product_id, "quantity": line.quantity,
        "description": line.description, "discounts": discounts,
    }  # fmt: skip


@transaction.atomic
def duplicate_quote(*, quote: Quote, by: User) -> Quote:
    """A new draft from any quote, its lines priced again from today's catalog (the original keeps its
    frozen prices)."""
    rights.require(by, "sales.add_quote", quote.organization_id)
    rights.require(by, "sales.change_quote", quote.organization_id)
    source = Quote.objects.select_related("company", "opportunity", "center", "organization").get(pk=quote.pk)
    copy = create_quote(
        organization=source.organization, by=by, opportunity=source.opportunity,
        company=source.company, data={"title": source.title, "notes": source.notes, "center": source.center},
    )  # fmt: skip
    for offer in source.offers.prefetch_related("lines"):
        lines = [_line_input(line) for line in offer.lines.all()]
        save_offer(
            quote=copy, by=by, position=offer.position,
            data={"title": offer.title, "service_type": offer.service_type, "term_months": offer.term_months,
                  "start_date": max(offer.start_date, timezone.localdate()), "deposit": offer.deposit,
                  "lines": lines},
        )  # fmt: skip
    journal.record(actor=by, action="quote.duplicated", obj=copy, changes={"source": source.reference})
    return copy
