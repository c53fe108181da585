"""Every write of contracts (frontmanager §6, §10): creation from an accepted offer, sending for signature,
activation, notice, end, cancellation, and amendments (new versions that close lines and open new ones).

Keyword-only functions that check rights, validate, run in one transaction, write the audit journal and
publish the events higher apps listen to (`contract.created`, `contract.sent_for_signature`,
`contract.activated`, `contract.notice_given`, `contract.ended`, `contract.cancelled`, `contract.amended`,
`contract.paused`, `contract.pause_cancelled`).
Prices are snapshots (DESIGN.md invariant 11): lines are copied from the offer with their frozen price and
breakdown; lines opened by an amendment are priced by the current catalog.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from comptoir.catalog import pricing
from comptoir.catalog.models import Product, Space
from comptoir.core import events, journal, numbering, proration, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.housekeeping import register_daily
from comptoir.core.models import User
from comptoir.core.money import format_money, round_cents
from comptoir.core.services import validate
from comptoir.crm import capabilities
from comptoir.crm.models import Contact, Opportunity
from comptoir.sales.models import (
    Amendment,
    Contract,
    ContractLine,
    ContractPause,
    Offer,
    PaymentMethod,
    PricedLine,
    Quote,
)
from comptoir.sales.selectors.contracts import (
    active_lines_on,
    commitment_end,
    holding_lines,
    monthly_total,
    offer_readiness,
    space_refusal,
    term_months_of,
)
from comptoir.sales.services.terms import current_terms

logger = logging.getLogger(__name__)

ONE_DAY = datetime.timedelta(days=1)
CONTRACT_DATA_FIELDS = {"notice_months", "renewal", "billing_day", "payment_method"}
LINE_FIELDS = [
    "kind", "space_id", "product_id", "description", "quantity", "unit_price", "vat_rate", "vat_exemption_reason",
    "accounting_code", "amount_excl_vat", "is_recurring", "breakdown", "position",
]  # fmt: skip
STAGES_BEFORE_CONTRACT_SENT = (
    Opportunity.Stage.LEAD,
    Opportunity.Stage.QUALIFIED,
    Opportunity.Stage.QUOTE_SENT,
    Opportunity.Stage.VISIT_PLANNED,
)


class ContractError(DomainError):
    default_code = "invalid_status"


def _day(value: Any) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else ""


# --------------------------------------------------------------------------------------------------
# Proration: the one function of DESIGN.md invariant 10 (comptoir.core.proration), shared with billing
# --------------------------------------------------------------------------------------------------
def prorate(
    amount: Decimal, start: datetime.date, end: datetime.date, period_start: datetime.date, period_end: datetime.date
) -> Decimal:
    """The part of `amount` (the price of [period_start, period_end]) due for the days of [start, end] inside
    the period, as billing computes it (the parts of a period add up to its price to the cent)."""
    return proration.prorate(amount, period_start=period_start, period_end=period_end, start=start, end=end)


def month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following - ONE_DAY


# --------------------------------------------------------------------------------------------------
# Creation from an accepted offer
# --------------------------------------------------------------------------------------------------
def _lock_spaces(space_ids: set[int]) -> None:
    """Row locks on the spaces (in pk order): two contracts cannot take the same office concurrently."""
    if space_ids:
        list(Space.objects.select_for_update().filter(pk__in=sorted(space_ids)).order_by("pk").values_list("pk"))


def _check_contract_data(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - CONTRACT_DATA_FIELDS
    if unknown:
        raise ValidationFailed(
            _("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="unknown_field",
            fields={name: [_("Champ non modifiable.")] for name in sorted(unknown)},
        )
    return {name: value for name, value in data.items() if value is not None}


@transaction.atomic
def create_contract_from_offer(*, offer: Offer, by: User, data: dict[str, Any] | None = None) -> Contract:
    """👍 → the contract (draft) of the accepted quote's chosen offer, its lines copied with their frozen
    prices. Refused, with every reason, when a line is not ready (nothing is created)."""
    offer = Offer.objects.select_related("quote", "quote__company", "quote__center", "quote__center__legal_entity").get(
        pk=offer.pk
    )
    quote = offer.quote
    rights.require(by, "sales.add_contract", quote.organization_id)
    if quote.status != Quote.Status.ACCEPTED or quote.chosen_offer_id != offer.pk:
        raise ValidationFailed(
            _("Seule l'offre retenue d'un devis accepté peut devenir un contrat."), code="not_accepted", field="offer"
        )
    existing = Contract.objects.filter(offer=offer).exclude(status=Contract.Status.CANCELLED).first()
    if existing is not None:
        raise ValidationFailed(
            _("Le contrat %(reference)s a déjà été généré pour cette offre.") % {"reference": existing.reference},
            code="already_contracted",
            field="offer",
        )
    values = _check_contract_data(dict(data or {}))
    _lock_spaces(set(offer.lines.filter(space__isnull=False).values_list("space_id", flat=True)))
    readiness = offer_readiness(offer)
    if not readiness:
        raise ValidationFailed(_("Cette offre n'a aucune ligne."), code="no_lines", field="offer")
    refusals = [item.reason for item in readiness if not item.ok]
    if refusals:
        raise ValidationFailed(
            _("Le contrat ne peut pas être généré : %(reasons)s") % {"reasons": " ; ".join(refusals)},
            code="not_ready",
            fields={"offer": refusals},
        )
    center = quote.center
    contract = Contract(
        organization_id=quote.organization_id,
        number=0,
        company=quote.company,
        legal_entity=center.legal_entity,
        center=center,
        quote=quote,
        offer=offer,
        opportunity=quote.opportunity,
        status=Contract.Status.DRAFT,
        service_type=offer.service_type,
        start_date=offer.start_date,
        commitment_end=commitment_end(offer.start_date, offer.term_months),
        notice_months=values.get("notice_months", 3),
        renewal=values.get("renewal", Contract.Renewal.TACIT),
        deposit=offer.deposit,
        billing_day=values.get("billing_day", 1),
        payment_method=values.get("payment_method", ""),
        terms=current_terms(quote.organization_id),
        created_by=by,
    )
    validate(contract, exclude=["number"])
    contract.number = numbering.next_number(organization=quote.organization, series="contract")
    contract.save()
    ContractLine.objects.bulk_create(
        [
            ContractLine(
                contract=contract,
                start_date=contract.start_date,
                end_date=None if item.line.is_recurring else contract.start_date,
                version=1,
                **{name: getattr(item.line, name) for name in LINE_FIELDS},
            )
            for item in readiness
        ]
    )
    journal.record(
        actor=by,
        action="contract.created",
        obj=contract,
        changes={"quote": quote.reference, "offer": offer.title, "start_date": contract.start_date.isoformat()},
    )
    events.publish("contract.created", contract=contract, by=by)
    return contract


# --------------------------------------------------------------------------------------------------
# Signature
# --------------------------------------------------------------------------------------------------
def eligible_signers(contract: Contract) -> list[Contact]:
    """Active members of the company who may sign contracts (administrator with portal access)."""
    contacts = Contact.objects.filter(company_id=contract.company_id, is_active=True, has_portal_access=True)
    return [
        contact
        for contact in contacts.order_by("last_name", "first_name")
        if capabilities.can(contact, "sign_contracts")
    ]


def _send_signature_email(contract_id: int, contact_id: int) -> None:
    contract = Contract.objects.select_related("company", "organization", "center").get(pk=contract_id)
    contact = Contact.objects.select_related("user").get(pk=contact_id)
    try:
        path = reverse("portal:home")
    except NoReverseMatch:  # the portal is not installed
        path = "/portal/"
    language = (contact.user.language if contact.user_id and contact.user.language else None) or "fr"  # type: ignore[union-attr]
    with translation.override(language):
        context = {
            "contract": contract,
            "contact": contact,
            "organization": contract.organization,
            "link": settings.SITE_URL + path,
            "workspace": contract.organization.slug,
        }
        subject = _("Votre contrat %(reference)s est prêt à être signé") % {"reference": contract.reference}
        body = render_to_string("sales/emails/contract_signature_request.txt", context)
    send_mail(subject, body, None, [contact.email])


def store_document(contract: Contract) -> None:
    """Render the contract's PDF into `document` with its SHA-256 (the caller saves the contract)."""
    from comptoir.sales.pdf.contract import render_contract_pdf

    pdf = render_contract_pdf(contract)
    contract.document_sha256 = hashlib.sha256(pdf).hexdigest()
    # per organization, with a random part: the name of a client's contract cannot be guessed
    name = f"{contract.organization_id}/{contract.reference}-v{contract.version}-{secrets.token_hex(8)}.pdf"
    contract.document.save(name, ContentFile(pdf), save=False)


def _check_spaces_still_free(contract: Contract) -> None:
    """A draft holds nothing: sending it for signature takes its spaces, under a row lock on each space, so
    two drafts on the same office cannot both be sent (the second is refused with the reason)."""
    lines = list(contract.lines.filter(space__isnull=False).select_related("space"))
    _lock_spaces({line.space_id for line in lines})  # type: ignore[misc]
    holders = holding_lines(
        {line.space_id for line in lines},  # type: ignore[misc]
        contract.start_date,
        contract.end_date or contract.commitment_end,
        exclude_contract=contract.pk,
    )
    refusals = []
    for line in lines:
        if line.end_date is not None and line.end_date < line.start_date:
            continue
        if reason := space_refusal(line.space, line.quantity, holders.get(line.space_id, [])):  # type: ignore[arg-type]
            refusals.append(reason)
    if refusals:
        raise ValidationFailed(
            _("Le contrat ne peut pas être envoyé : %(reasons)s") % {"reasons": " ; ".join(refusals)},
            code="not_ready",
            fields={"contract": refusals},
        )


@transaction.atomic
def send_for_signature(*, contract: Contract, by: User, signer: Contact) -> Contract:
    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status not in (Contract.Status.DRAFT, Contract.Status.AWAITING_SIGNATURE):
        raise ContractError(_("Seul un contrat brouillon ou en attente de signature peut être envoyé pour signature."))
    signer = Contact.objects.filter(pk=getattr(signer, "pk", None)).first()  # type: ignore[assignment]
    if (
        signer is None
        or signer.company_id != contract.company_id
        or not capabilities.can(signer, "sign_contracts")
        or not signer.email
    ):
        raise ValidationFailed(
            _("Le signataire doit être un administrateur actif de l'entreprise, avec un accès à l'espace client."),
            code="invalid_signer",
            field="signer",
        )
    if not contract.lines.exists():
        raise ContractError(_("Ce contrat n'a aucune ligne."), code="no_lines")
    _check_spaces_still_free(contract)
    if contract.terms_id is None:
        contract.terms = current_terms(contract.organization_id)
        if contract.terms is None:
            raise ValidationFailed(
                _("Publiez d'abord vos conditions générales de vente (Paramètres → Conditions générales)."),
                code="no_terms",
                field="terms",
            )
    before = journal.snapshot(contract, ["status", "signer"])
    contract.signer = signer
    contract.save(update_fields=["signer", "terms"])  # the PDF is rendered from the saved row
    store_document(contract)
    contract.status = Contract.Status.AWAITING_SIGNATURE
    contract.sent_for_signature_at = timezone.now()
    contract.updated_at = timezone.now()
    contract.save()
    changes = journal.diff(before, journal.snapshot(contract, ["status", "signer"]))
    changes["document_sha256"] = contract.document_sha256
    journal.record(actor=by, action="contract.sent_for_signature", obj=contract, changes=changes)
    opportunity = contract.opportunity or (contract.quote.opportunity if contract.quote_id else None)  # type: ignore[union-attr]
    if opportunity is not None and opportunity.stage in STAGES_BEFORE_CONTRACT_SENT:
        from comptoir.crm.services.pipeline import move_opportunity

        mover = by if rights.has_right(by, "crm.change_opportunity", contract.organization_id) else None
        move_opportunity(opportunity=opportunity, by=mover, stage=Opportunity.Stage.CONTRACT_SENT)
    contract_id, contact_id = contract.pk, signer.pk
    transaction.on_commit(lambda: _send_signature_email(contract_id, contact_id))
    events.publish("contract.sent_for_signature", contract=contract, by=by)
    return contract


# --------------------------------------------------------------------------------------------------
# Life cycle
# --------------------------------------------------------------------------------------------------
def _set_status(contract: Contract, status: str, by: User | None, action: str, **extra: Any) -> None:
    before = contract.status
    contract.status = status
    contract.updated_at = timezone.now()
    contract.save()
    changes: dict[str, Any] = {"status": [before, status]}
    changes.update({name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in extra.items()})
    journal.record(actor=by, action=action, obj=contract, changes=changes)


def _close_open_lines(contract: Contract, end: datetime.date) -> None:
    from django.db.models import Q

    contract.lines.filter(Q(end_date__isnull=True) | Q(end_date__gt=end)).filter(start_date__lte=end).update(
        end_date=end
    )


def activate_contracts(today: datetime.date | None = None) -> int:
    """Daily: signed contracts whose start date has come become active. Returns how many."""
    today = today or timezone.localdate()
    count = 0
    for contract_id in Contract.objects.filter(status=Contract.Status.SIGNED, start_date__lte=today).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            contract = Contract.objects.select_for_update().get(pk=contract_id)
            if contract.status != Contract.Status.SIGNED or contract.start_date > today:
                continue
            _set_status(contract, Contract.Status.ACTIVE, None, "contract.activated")
            events.publish("contract.activated", contract=contract)
            count += 1
    return count


def end_due_contracts(today: datetime.date | None = None) -> int:
    """Daily: contracts whose end date has passed (notice given, or no renewal) end. Returns how many."""
    from django.db.models import Q

    today = today or timezone.localdate()
    due = Contract.objects.filter(status__in=Contract.RUNNING).filter(
        Q(end_date__lt=today) | Q(end_date__isnull=True, renewal=Contract.Renewal.NONE, commitment_end__lt=today)
    )
    count = 0
    for contract_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            contract = Contract.objects.select_for_update().get(pk=contract_id)
            if _finish(contract, None, today):
                count += 1
    return count


register_daily("contracts activated", activate_contracts)
register_daily("contracts ended", end_due_contracts)


def effective_end(contract: Contract) -> datetime.date | None:
    if contract.end_date is not None:
        return contract.end_date
    if contract.renewal == Contract.Renewal.NONE:
        return contract.commitment_end
    return None


def _finish(contract: Contract, by: User | None, today: datetime.date) -> bool:
    end = effective_end(contract)
    if contract.status not in Contract.RUNNING or end is None or end >= today:
        return False
    contract.end_date = end
    _close_open_lines(contract, end)
    _set_status(contract, Contract.Status.ENDED, by, "contract.ended", end_date=end)
    events.publish("contract.ended", contract=contract, by=by)
    return True


@transaction.atomic
def give_notice(*, contract: Contract, by: User, notice_date: datetime.date) -> Contract:
    """The client (or the operator) gives notice: the contract ends at the later of the commitment's end
    and the notice date + the notice period."""
    from comptoir.sales.selectors.contracts import add_months

    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status not in (Contract.Status.SIGNED, Contract.Status.ACTIVE):
        raise ContractError(_("Le préavis ne peut être donné que sur un contrat signé ou actif."))
    if not isinstance(notice_date, datetime.date):
        raise ValidationFailed(_("Indiquez la date du préavis."), code="required", field="notice_date")
    end = max(contract.commitment_end, add_months(notice_date, contract.notice_months))
    contract.notice_given_at = notice_date
    contract.end_date = end
    _close_open_lines(contract, end)
    _set_status(contract, Contract.Status.NOTICE_GIVEN, by, "contract.notice_given", notice_given_at=notice_date,
                end_date=end)  # fmt: skip
    events.publish("contract.notice_given", contract=contract, by=by)
    return contract


@transaction.atomic
def end_contract(*, contract: Contract, by: User, today: datetime.date | None = None) -> Contract:
    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    today = today or timezone.localdate()
    if contract.status not in Contract.RUNNING:
        raise ContractError(_("Seul un contrat signé, actif ou en préavis peut être terminé."))
    end = effective_end(contract)
    if end is None:
        raise ContractError(_("Ce contrat n'a pas de date de fin : donnez d'abord le préavis."), code="no_end_date")
    if end >= today:
        raise ContractError(
            _("Ce contrat court jusqu'au %(date)s : il ne peut être terminé qu'après cette date.")
            % {"date": _day(end)},
            code="not_ended_yet",
        )
    _finish(contract, by, today)
    return contract


@transaction.atomic
def cancel_contract(*, contract: Contract, by: User, reason: str = "") -> Contract:
    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status not in (Contract.Status.DRAFT, Contract.Status.AWAITING_SIGNATURE):
        raise ContractError(_("Seul un contrat brouillon ou en attente de signature peut être annulé."))
    _set_status(contract, Contract.Status.CANCELLED, by, "contract.cancelled", reason=(reason or "").strip()[:255])
    events.publish("contract.cancelled", contract=contract, by=by)
    return contract


# --------------------------------------------------------------------------------------------------
# Pauses
# --------------------------------------------------------------------------------------------------
def _pause_dates(contract: Contract, start: Any, end: Any, today: datetime.date) -> None:
    if not isinstance(start, datetime.date):
        raise ValidationFailed(_("Indiquez le premier jour de la pause."), code="required", field="start_date")
    if not isinstance(end, datetime.date):
        raise ValidationFailed(_("Indiquez le dernier jour de la pause."), code="required", field="end_date")
    if end < start:
        raise ValidationFailed(_("La pause doit finir après son premier jour."), code="invalid_dates",
                               field="end_date")  # fmt: skip
    if start < today.replace(day=1):
        raise ValidationFailed(
            _("Une pause ne peut pas commencer avant le mois en cours (le %(day)s) : les mois précédents sont "
              "déjà facturés.") % {"day": _day(today.replace(day=1))},
            code="past_period", field="start_date",
        )  # fmt: skip
    if start < contract.start_date:
        raise ValidationFailed(
            _("La pause ne peut pas commencer avant le début du contrat (le %(day)s).")
            % {"day": _day(contract.start_date)},
            code="before_start", field="start_date",
        )  # fmt: skip
    if contract.end_date and end > contract.end_date:
        raise ValidationFailed(
            _("La pause ne peut pas finir après la fin du contrat (le %(day)s).") % {"day": _day(contract.end_date)},
            code="after_end", field="end_date",
        )  # fmt: skip


@transaction.atomic
def pause_contract(
    *, contract: Contract, by: User, start_date: Any, end_date: Any, reason: str = "",
    today: datetime.date | None = None,
) -> ContractPause:  # fmt: skip
    """Suspend a signed, active or noticed contract from `start_date` to `end_date` (both included): its
    recurring lines are not billed for those days (billing prorates around the pause; a month already billed
    is regularised on the next run). Pauses of a contract do not overlap."""
    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status not in Contract.RUNNING:
        raise ContractError(_("Seul un contrat signé, actif ou en préavis peut être mis en pause."))
    today = today or timezone.localdate()
    _pause_dates(contract, start_date, end_date, today)
    overlapping = contract.pauses.filter(cancelled_at__isnull=True, start_date__lte=end_date,
                                         end_date__gte=start_date).first()  # fmt: skip
    if overlapping is not None:
        raise ValidationFailed(
            _("Ce contrat est déjà en pause du %(start)s au %(end)s.")
            % {"start": _day(overlapping.start_date), "end": _day(overlapping.end_date)},
            code="overlapping_pause", field="start_date",
        )  # fmt: skip
    pause = ContractPause.objects.create(contract=contract, start_date=start_date, end_date=end_date,
                                         reason=(reason or "").strip()[:255], created_by=by)  # fmt: skip
    journal.record(actor=by, action="contract.paused", obj=contract,
                   changes={"pause": pause.pk, "start_date": start_date.isoformat(), "end_date": end_date.isoformat(),
                            "reason": pause.reason})  # fmt: skip
    events.publish("contract.paused", contract=contract, pause=pause, by=by)
    return pause


@transaction.atomic
def cancel_pause(*, pause: ContractPause, by: User, today: datetime.date | None = None) -> ContractPause:
    """Cancel a pause that has not started before the current month (the months before are billed); it stays
    in the contract's history."""
    contract = Contract.objects.select_for_update().get(pk=pause.contract_id)
    rights.require(by, "sales.change_contract", contract.organization_id)
    pause = ContractPause.objects.select_for_update().get(pk=pause.pk)
    today = today or timezone.localdate()
    if pause.cancelled_at is not None:
        raise ContractError(_("Cette pause est déjà annulée."), code="already_cancelled")
    if pause.start_date < today.replace(day=1):
        raise ContractError(
            _("Cette pause a commencé avant le mois en cours : elle ne peut plus être annulée."), code="past_period"
        )
    pause.cancelled_at = timezone.now()
    pause.cancelled_by = by
    pause.save(update_fields=["cancelled_at", "cancelled_by"])
    journal.record(actor=by, action="contract.pause_cancelled", obj=contract,
                   changes={"pause": pause.pk, "start_date": pause.start_date.isoformat(),
                            "end_date": pause.end_date.isoformat()})  # fmt: skip
    events.publish("contract.pause_cancelled", contract=contract, pause=pause, by=by)
    return pause


# --------------------------------------------------------------------------------------------------
# Amendments (avenants)
# --------------------------------------------------------------------------------------------------
@dataclass
class ProratedLine:
    line: ContractLine
    sign: int  # +1 opened, −1 closed
    amount: Decimal  # prorated for the first affected month (signed)


@dataclass
class AmendmentPreview:
    contract: Contract
    effective_date: datetime.date
    version: int
    closed: list[ContractLine]
    opened: list[ContractLine]
    monthly_before: Decimal
    monthly_after: Decimal
    period_start: datetime.date
    period_end: datetime.date
    prorated: list[ProratedLine] = field(default_factory=list)
    summary: str = ""

    @property
    def monthly_difference(self) -> Decimal:
        return self.monthly_after - self.monthly_before

    @property
    def first_month_difference(self) -> Decimal:
        return sum((item.amount for item in self.prorated), Decimal("0.00"))

    def as_json(self) -> dict[str, Any]:
        def line_json(line: ContractLine) -> dict[str, Any]:
            return {
                "id": line.pk,
                "kind": line.kind,
                "space": line.space_id,
                "product": line.product_id,
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "amount_excl_vat": str(line.amount_excl_vat),
                "start_date": line.start_date.isoformat(),
                "end_date": line.end_date.isoformat() if line.end_date else None,
            }

        return {
            "effective_date": self.effective_date.isoformat(),
            "version": self.version,
            "closed": [line_json(line) for line in self.closed],
            "opened": [line_json(line) for line in self.opened],
            "monthly_before": str(self.monthly_before),
            "monthly_after": str(self.monthly_after),
            "first_period": [self.period_start.isoformat(), self.period_end.isoformat()],
            "first_period_difference": str(self.first_month_difference),
            "summary": self.summary,
        }


def _object(model: type, value: Any, organization_id: int, field_name: str) -> Any:
    if isinstance(value, model):
        obj = value
    else:
        obj = model.objects.filter(pk=value).first() if str(value or "").isdigit() else None
    if obj is None or obj.organization_id != organization_id:
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field=field_name)
    return obj


def _priced_line(
    contract: Contract, *, space: Space | None = None, product: Product | None = None, quantity: Decimal,
    version: int, start: datetime.date, position: int,
) -> ContractLine:  # fmt: skip
    """A new line priced by the current catalog (comptoir.catalog.pricing)."""
    term = term_months_of(contract)
    if space is not None:
        breakdown = pricing.office_price(space, term_months=term)
        kind, description, recurring = PricedLine.Kind.SPACE, space.name, True
        vat_rate, exemption, accounting = f"{breakdown.vat_rate:.2f}", "", ""
    else:
        assert product is not None
        breakdown = pricing.product_price(product, contract.center, term_months=term)
        recurring = product.kind != Product.Kind.CONSUMPTION
        kind = {
            Product.Kind.OPTION: PricedLine.Kind.OPTION,
            Product.Kind.CONSUMPTION: PricedLine.Kind.ONE_OFF,
        }.get(product.kind, PricedLine.Kind.SERVICE)  # type: ignore[call-overload]
        description, vat_rate = product.name, product.vat_rate
        exemption, accounting = product.vat_exemption_reason, product.accounting_code
    unit_price = breakdown.unit_price
    return ContractLine(
        contract=contract,
        kind=kind,
        space=space,
        product=product,
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        vat_rate=vat_rate,
        vat_exemption_reason=exemption,
        accounting_code=accounting,
        amount_excl_vat=round_cents(quantity * unit_price),
        is_recurring=recurring,
        breakdown=breakdown.as_json(),
        position=position,
        start_date=start,
        end_date=contract.end_date if recurring else start,
        version=version,
    )


def _quantity(value: Any) -> Decimal:
    try:
        quantity = Decimal(str(value if value not in (None, "") else "1"))
    except ArithmeticError as exc:
        raise ValidationFailed(_("Quantité invalide."), code="invalid", field="quantity") from exc
    if not quantity.is_finite() or quantity <= 0 or quantity > Decimal("99999"):
        raise ValidationFailed(_("La quantité doit être positive."), code="invalid", field="quantity")
    return quantity.quantize(Decimal("0.01"))


def _check_space_free(
    contract: Contract, space: Space, quantity: Decimal, start: datetime.date, ignore_line_ids: set[int]
) -> None:
    if space.center_id != contract.center_id:
        raise ValidationFailed(
            _("L'espace %(space)s n'est pas dans le centre du contrat.") % {"space": space.name},
            code="wrong_center",
            field="space",
        )
    end = contract.end_date or max(contract.commitment_end, start)
    holders = holding_lines([space.pk], start, end).get(space.pk, [])
    holders = [line for line in holders if line.pk not in ignore_line_ids]
    if reason := space_refusal(space, quantity, holders):
        raise ValidationFailed(reason, code="space_unavailable", field="space")


def preview_amendment(
    *,
    contract: Contract,
    effective_date: datetime.date,
    add: list[dict[str, Any]] | None = None,
    remove_line_ids: list[int] | None = None,
    change_space: tuple[int, Any] | None = None,
    today: datetime.date | None = None,
) -> AmendmentPreview:
    """What an amendment changes, before it is confirmed (DESIGN.md invariant 10): the lines closed and
    opened, the monthly total before and after, and the first affected month's difference prorated by day.

    `add`: [{"product": Product|id, "quantity": 1}] or [{"space": Space|id}]; `remove_line_ids`: lines to
    close; `change_space`: (line id, new space) — the office line is closed and the new space opened,
    priced by the current catalog."""
    today = today or timezone.localdate()
    org_id = contract.organization_id
    if contract.status == Contract.Status.ENDED:
        raise ContractError(_("Un contrat terminé ne peut plus être modifié."), code="ended")
    if contract.status == Contract.Status.CANCELLED:
        raise ContractError(_("Un contrat annulé ne peut plus être modifié."), code="cancelled")
    if not isinstance(effective_date, datetime.date):
        raise ValidationFailed(_("Indiquez la date d'effet."), code="required", field="effective_date")
    if effective_date < contract.start_date:
        raise ValidationFailed(
            _("La date d'effet ne peut pas précéder le début du contrat (%(date)s).")
            % {"date": _day(contract.start_date)},
            code="before_start",
            field="effective_date",
        )
    if effective_date < today.replace(day=1):
        raise ValidationFailed(
            _("La date d'effet ne peut pas être antérieure au mois en cours."),
            code="in_the_past",
            field="effective_date",
        )
    if contract.end_date is not None and effective_date > contract.end_date:
        raise ValidationFailed(
            _("La date d'effet est après la fin du contrat (%(date)s).") % {"date": _day(contract.end_date)},
            code="after_end",
            field="effective_date",
        )
    add, remove_ids = list(add or []), [int(pk) for pk in (remove_line_ids or [])]
    if not add and not remove_ids and not change_space:
        raise ValidationFailed(_("Indiquez au moins une modification."), code="no_change", field="add")
    lines = list(contract.lines.select_related("space", "product").order_by("position", "id"))
    by_id = {line.pk: line for line in lines}
    in_force = {line.pk for line in active_lines_on(lines, effective_date)}
    version = contract.version + 1
    position = max((line.position for line in lines), default=0) + 1
    closed: list[ContractLine] = []
    opened: list[ContractLine] = []
    for pk in dict.fromkeys(remove_ids):
        line = by_id.get(pk)
        if line is None or pk not in in_force:
            raise ValidationFailed(
                _("Cette ligne n'est pas en vigueur à la date d'effet."), code="invalid_line", field="remove_line_ids"
            )
        closed.append(line)
    if change_space:
        line_id, new_space = change_space
        line = by_id.get(int(line_id)) if str(line_id).isdigit() else None
        if line is None or line.space_id is None or line.pk not in in_force:
            raise ValidationFailed(
                _("Choisissez un espace du contrat en vigueur à la date d'effet."), code="invalid_line", field="line"
            )
        space = _object(Space, new_space, org_id, "space")
        if space.pk == line.space_id:
            raise ValidationFailed(_("Choisissez un autre espace."), code="same_space", field="space")
        _check_space_free(contract, space, line.quantity, effective_date, set())
        if line not in closed:
            closed.append(line)
        opened.append(_priced_line(contract, space=space, quantity=line.quantity, version=version,
                                   start=effective_date, position=line.position))  # fmt: skip
    for item in add:
        quantity = _quantity(item.get("quantity"))
        if item.get("space"):
            space = _object(Space, item["space"], org_id, "space")
            _check_space_free(contract, space, quantity, effective_date, set())
            opened.append(_priced_line(contract, space=space, quantity=quantity, version=version,
                                       start=effective_date, position=position))  # fmt: skip
        elif item.get("product"):
            product = _object(Product, item["product"], org_id, "product")
            if not pricing.is_available(product, contract.center):
                raise ValidationFailed(
                    _("L'article %(product)s n'est pas disponible dans ce centre.") % {"product": product.name},
                    code="product_unavailable",
                    field="product",
                )
            opened.append(_priced_line(contract, product=product, quantity=quantity, version=version,
                                       start=effective_date, position=position))  # fmt: skip
        else:
            raise ValidationFailed(_("Choisissez un article ou un espace à ajouter."), code="required", field="add")
        position += 1
    closed_ids = {line.pk for line in closed}
    after_lines = [line for line in lines if line.pk not in closed_ids] + opened
    before_total = monthly_total(lines, effective_date)
    after_total = monthly_total(after_lines, effective_date)
    period_start, period_end = month_bounds(effective_date)
    prorated = [
        ProratedLine(
            line,
            -1,
            -prorate(line.amount_excl_vat, effective_date, line.end_date or period_end, period_start, period_end),
        )
        for line in closed
        if line.is_recurring
    ] + [
        ProratedLine(line, 1, prorate(line.amount_excl_vat, effective_date, period_end, period_start, period_end))
        for line in opened
        if line.is_recurring
    ]
    parts = []
    if closed:
        parts.append(_("retrait : %(lines)s") % {"lines": ", ".join(line.description for line in closed)})
    if opened:
        parts.append(_("ajout : %(lines)s") % {"lines": ", ".join(line.description for line in opened)})
    summary = _("Avenant v%(version)s au %(date)s — %(parts)s") % {
        "version": version,
        "date": _day(effective_date),
        "parts": " ; ".join(parts),
    }
    return AmendmentPreview(
        contract=contract,
        effective_date=effective_date,
        version=version,
        closed=closed,
        opened=opened,
        monthly_before=before_total,
        monthly_after=after_total,
        period_start=period_start,
        period_end=period_end,
        prorated=prorated,
        summary=summary[:255],
    )


@transaction.atomic
def amend_contract(
    *,
    contract: Contract,
    by: User,
    effective_date: datetime.date,
    add: list[dict[str, Any]] | None = None,
    remove_line_ids: list[int] | None = None,
    change_space: tuple[int, Any] | None = None,
    today: datetime.date | None = None,
) -> Amendment:
    """Apply an amendment: version n+1, the closed lines end the day before the effective date, the new lines
    start on it (priced by the current catalog); the `Amendment` keeps the summary and the changes."""
    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().select_related("center").get(pk=contract.pk)
    space_ids = {item.get("space") for item in (add or []) if item.get("space")}
    if change_space:
        space_ids.add(change_space[1])
    _lock_spaces({getattr(value, "pk", value) for value in space_ids if str(getattr(value, "pk", value)).isdigit()})
    preview = preview_amendment(
        contract=contract, effective_date=effective_date, add=add, remove_line_ids=remove_line_ids,
        change_space=change_space, today=today,
    )  # fmt: skip
    for line in preview.closed:
        line.end_date = effective_date - ONE_DAY
        line.save(update_fields=["end_date"])
    ContractLine.objects.bulk_create(preview.opened)
    contract.version = preview.version
    contract.updated_at = timezone.now()
    contract.save(update_fields=["version", "updated_at"])
    amendment = Amendment.objects.create(
        contract=contract,
        version=preview.version,
        effective_date=effective_date,
        summary=preview.summary,
        changes=preview.as_json(),
        created_by=by,
    )
    journal.record(
        actor=by,
        action="contract.amended",
        obj=contract,
        changes={
            "version": [preview.version - 1, preview.version],
            "effective_date": effective_date.isoformat(),
            "monthly_excl_vat": [str(preview.monthly_before), str(preview.monthly_after)],
        },
        message=preview.summary,
    )
    events.publish("contract.amended", contract=contract, amendment=amendment, by=by)
    return amendment


# --------------------------------------------------------------------------------------------------
# Company hooks
# --------------------------------------------------------------------------------------------------
def _company_deletion_check(*, company: Any, **_payload: Any) -> str | None:
    if Quote.objects.filter(company=company).exists() or Contract.objects.filter(company=company).exists():
        return _("elle a des devis ou des contrats")
    return None


events.subscribe("company.deletion_check", _company_deletion_check, order=50)


@transaction.atomic
def change_payment_method(*, contract: Contract, by: User, payment_method: str) -> Contract:
    """« Paiement personnalisé par dossier » (clients-prospects): the contract's own payment method, or "" for its
    company's default. Invoices issued from now on carry it (a direct-debit batch picks the contract's method)."""
    rights.require(by, "sales.change_contract", contract.organization_id)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status in (Contract.Status.ENDED, Contract.Status.CANCELLED):
        raise ContractError(_("Un contrat terminé ou annulé ne peut plus être modifié."), code="closed")
    payment_method = payment_method or ""
    if payment_method and payment_method not in PaymentMethod.values:
        raise ValidationFailed(_("Mode de paiement inconnu."), code="invalid_choice", field="payment_method")
    before = contract.payment_method
    if before != payment_method:
        contract.payment_method = payment_method
        contract.updated_at = timezone.now()
        contract.save(update_fields=["payment_method", "updated_at"])
        journal.record(actor=by, action="contract.payment_method_changed", obj=contract,
                       changes={"payment_method": [before, payment_method]})  # fmt: skip
    return contract


def payment_method_label(contract: Contract) -> str:
    """The contract's payment method, or the company's default (« Virement (mode de l'entreprise) »)."""
    if contract.payment_method:
        return str(PaymentMethod(contract.payment_method).label)
    label = contract.company.get_default_payment_method_display() if contract.company.default_payment_method else ""
    return _("%(method)s (mode de l'entreprise)") % {"method": label} if label else ""


__all__ = [
    "AmendmentPreview",
    "ContractError",
    "activate_contracts",
    "amend_contract",
    "cancel_contract",
    "change_payment_method",
    "create_contract_from_offer",
    "eligible_signers",
    "end_contract",
    "end_due_contracts",
    "format_money",
    "give_notice",
    "payment_method_label",
    "preview_amendment",
    "prorate",
    "send_for_signature",
]
