"""Payment reminders (dunning; frontmanager §7 « Relancer un client »).

- `late_charges(invoice, on)`: what a late invoice costs its buyer on a day, as its legal mentions state (billing's
  `legal_notes`): the late-payment penalties, amount due × the annual rate × days late / 365 (rounded half-up to
  the cent), and the 40 € recovery indemnity (article D441-5 of the Code de commerce) for business buyers only.
  The rate and the indemnity are the ones the invoice states (its seller snapshot, copied from the legal entity's
  `BillingProfile` when it was issued), so a later change of the profile does not change an issued invoice.
- `send_reminder(invoice, by, channel)`: a manual reminder (level 0, as often as needed), from the invoice's page
  or the API: an e-mail to the company's billing contacts with the invoice PDF attached, or a letter (PDF, stored in
  `reminder.document`, to print and post as a registered letter).
- `send_due_reminders(today)`: the daily job. Each organization's schedule (`PaymentProfile.reminder_schedule`,
  default J+7 e-mail, J+15 e-mail, J+30 letter) gives levels 1, 2, 3...; an open invoice gets the highest step its
  days late reach, once (the unique constraint on (invoice, level) and a row lock on the invoice: running the job
  twice, or twice at once, sends nothing twice), never a lower step after a higher one, and nothing once it is paid.

Every reminder is journaled on its invoice (`invoice.reminded`). The e-mail leaves inside the reminder's
transaction, after its row is written: a refused e-mail leaves no reminder (a manual one tells why, an automatic one
is tried again the next day).
"""

from __future__ import annotations

import datetime
import logging
import secrets
import smtplib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, IntegerField, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from comptoir.billing.models import BillingProfile, Invoice
from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.housekeeping import register_daily
from comptoir.core.models import Organization, User
from comptoir.core.money import format_money
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm.models import Company
from comptoir.payments.models import DEFAULT_REMINDER_SCHEDULE, PaymentProfile, Reminder

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
DAYS_IN_YEAR = Decimal(365)
DEFAULT_INDEMNITY = Decimal("40.00")
PAYMENT_DEADLINE_DAYS = 8  # the letter and the e-mail ask for payment within this many days
MAX_STEPS = 6
MAX_STEP_DAYS = 365
OPEN = (Invoice.PaymentStatus.PENDING, Invoice.PaymentStatus.PARTIALLY_PAID)
Channel = Reminder.Channel


class ReminderError(DomainError):
    default_code = "invalid_reminder"


# --------------------------------------------------------------------------------------------------
# Late-payment charges
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LateCharges:
    """What a late invoice costs on `on`: its amount due, the penalties and the recovery indemnity."""

    on: datetime.date
    due_date: datetime.date | None
    days_late: int
    amount_due: Decimal
    rate: Decimal  # annual rate, in percent (12.00)
    penalty: Decimal
    indemnity: Decimal
    is_business: bool

    @property
    def total(self) -> Decimal:
        return self.amount_due + self.penalty + self.indemnity

    @property
    def charges(self) -> Decimal:
        return self.penalty + self.indemnity


def _decimal(value: Any, default: Decimal) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else default
    except ArithmeticError:
        return default


def _terms(invoice: Invoice) -> tuple[Decimal, Decimal, bool]:
    """(annual rate %, indemnity, business buyer) as the invoice states them; its legal entity's billing profile
    and its company for an invoice without snapshot."""
    seller, buyer = invoice.seller or {}, invoice.buyer or {}
    rate, indemnity = seller.get("late_penalty_rate"), seller.get("recovery_indemnity")
    if rate in (None, "") or indemnity in (None, ""):
        profile = BillingProfile.objects.filter(legal_entity_id=invoice.legal_entity_id).first()
        rate = rate if rate not in (None, "") else (profile.late_penalty_rate if profile else Decimal("12.00"))
        indemnity = indemnity if indemnity not in (None, "") else (profile.recovery_indemnity if profile else None)
    if "is_business" in buyer:
        is_business = bool(buyer["is_business"])
    else:
        legal_type = Company.objects.filter(pk=invoice.company_id).values_list("legal_type", flat=True).first()
        is_business = legal_type == Company.LegalType.COMPANY
    return _decimal(rate, Decimal("0")), _decimal(indemnity, DEFAULT_INDEMNITY), is_business


def late_charges(invoice: Invoice, on: datetime.date | None = None) -> LateCharges:
    """The invoice's late-payment charges on `on` (default today): days late counted from the due date, penalty =
    amount due × rate × days / 365 rounded half-up to the cent, indemnity for a business buyer once late."""
    on = on or timezone.localdate()
    amount_due = invoice.amount_due
    due_date = invoice.due_date or invoice.issue_date
    days_late = max((on - due_date).days, 0) if due_date else 0
    rate, indemnity, is_business = _terms(invoice)
    late = days_late > 0 and amount_due > 0
    penalty = ZERO
    if late and rate > 0:
        penalty = (amount_due * rate / Decimal(100) * Decimal(days_late) / DAYS_IN_YEAR).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
    return LateCharges(
        on=on,
        due_date=due_date,
        days_late=days_late,
        amount_due=amount_due,
        rate=rate,
        penalty=penalty,
        indemnity=indemnity.quantize(CENT) if late and is_business else ZERO,
        is_business=is_business,
    )


# --------------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------------
def reminders_for(user: User, organization: Organization | int) -> QuerySet[Reminder]:
    """The organization's reminders, of the invoices of the viewer's centers (right payments.view_reminder)."""
    if not rights.has_right(user, "payments.view_reminder", organization):
        return Reminder.objects.none()
    organization_id = organization if isinstance(organization, int) else organization.pk
    qs = Reminder.objects.filter(organization_id=organization_id).select_related(
        "invoice", "invoice__company", "invoice__center", "sent_by"
    )
    restricted = allowed_center_ids(user, organization)
    return qs.filter(invoice__center_id__in=restricted) if restricted is not None else qs


def is_remindable(invoice: Invoice) -> bool:
    """An issued invoice with something left to pay (the invoice page's « Relancer » button)."""
    return invoice.kind == Invoice.Kind.INVOICE and invoice.status == Invoice.Status.ISSUED and invoice.amount_due > 0


def recipients(invoice: Invoice) -> list[str]:
    """Who receives an e-mail reminder: the company's contacts flagged « destinataire des factures », else the
    company's e-mail (as billing's delivery)."""
    from comptoir.billing.services.delivery import invoice_recipients

    return invoice_recipients(invoice.company)


def _day(value: datetime.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f").replace(".", ",") + "\u00a0%"


def _issuer_name(invoice: Invoice) -> str:
    return str((invoice.seller or {}).get("name") or invoice.legal_entity.name)


def payment_deadline(on: datetime.date) -> datetime.date:
    return on + datetime.timedelta(days=PAYMENT_DEADLINE_DAYS)


def _portal_url(invoice: Invoice) -> str:
    from comptoir.billing.services.delivery import portal_url

    return portal_url(invoice)


def reminder_email(invoice: Invoice, charges: LateCharges, *, level: int = 0) -> tuple[str, str]:
    """(subject, body) of the e-mail reminder, in French: shown on the confirmation page, then sent."""
    with translation.override("fr"):
        context = {
            "invoice": invoice,
            "company": invoice.company,
            "issuer_name": _issuer_name(invoice),
            "issue_date": _day(invoice.issue_date),
            "due_date": _day(charges.due_date),
            "days_late": charges.days_late,
            "total": format_money(invoice.total_incl_vat),
            "amount_due": format_money(charges.amount_due),
            "already_settled": format_money(invoice.total_incl_vat - charges.amount_due)
            if invoice.total_incl_vat > charges.amount_due
            else "",
            "rate": _rate(charges.rate),
            "penalty": format_money(charges.penalty),
            "indemnity": format_money(charges.indemnity) if charges.indemnity else "",
            "grand_total": format_money(charges.total),
            "deadline": _day(payment_deadline(charges.on)),
            "portal_url": _portal_url(invoice),
            "iban": _grouped((invoice.seller or {}).get("iban") or ""),
            "level": level,
        }
        values = {"reference": invoice.reference, "issuer": context["issuer_name"]}
        if charges.days_late > 0:
            subject = _("Relance : facture %(reference)s impayée — %(issuer)s") % values
        else:
            subject = _("Rappel : facture %(reference)s — %(issuer)s") % values
        body = render_to_string("payments/emails/reminder_email.txt", context)
    return subject, body


def _grouped(iban: str) -> str:
    compact = str(iban).replace(" ", "")
    return " ".join(compact[index : index + 4] for index in range(0, len(compact), 4))


# --------------------------------------------------------------------------------------------------
# The letter (PDF, comptoir/payments/typst/reminder.typ)
# --------------------------------------------------------------------------------------------------
def _address_lines(party: dict[str, Any]) -> list[str]:
    city = " ".join(str(part) for part in (party.get("postal_code"), party.get("city")) if part)
    lines = [str(party.get(key) or "") for key in ("address_line1", "address_line2")] + [city]
    if (party.get("country") or "FR") != "FR":
        lines.append(str(party["country"]))
    return [line for line in lines if line]


def letter_data(invoice: Invoice, charges: LateCharges, *, level: int = 0, final: bool = False) -> dict[str, Any]:
    """Every word, amount and date the letter prints, in French."""
    from comptoir.billing.documents.cii import seller_legal_info
    from comptoir.billing.services.invoices import billing_profile, buyer_snapshot, seller_snapshot

    with translation.override("fr"):
        seller = invoice.seller or seller_snapshot(invoice.legal_entity, billing_profile(invoice.legal_entity_id))
        company = invoice.company
        # the company's current postal address (it may have moved since the invoice)
        buyer = buyer_snapshot(company)
        ids = [part for part in [seller_legal_info(seller)] if part]
        if seller.get("siret"):
            ids.append(_("SIRET %(siret)s") % {"siret": seller["siret"]})
        if seller.get("vat_number"):
            ids.append(_("TVA intracommunautaire %(vat)s") % {"vat": seller["vat_number"]})
        contact = " · ".join(str(seller[key]) for key in ("phone", "email") if seller.get(key))
        late = charges.days_late > 0
        title = (
            _("Mise en demeure de payer")
            if final
            else _("Relance de facture impayée")
            if late
            else _("Rappel d'échéance")
        )
        deadline = _day(payment_deadline(charges.on))
        settled = invoice.total_incl_vat - charges.amount_due
        invoice_rows = [
            [_("Facture"), invoice.reference],
            [_("Émise le"), _day(invoice.issue_date)],
            [_("Échéance"), _day(charges.due_date)],
            [_("Montant TTC"), format_money(invoice.total_incl_vat)],
        ]
        if settled > 0:
            invoice_rows.append([_("Déjà réglé ou crédité"), format_money(settled)])
        charge_rows = [[_("Reste dû sur la facture"), format_money(charges.amount_due)]]
        if late:
            charge_rows.append([
                _("Pénalités de retard (%(rate)s l'an, %(days)s jours)") % {"rate": _rate(charges.rate),
                                                                             "days": charges.days_late},
                format_money(charges.penalty),
            ])  # fmt: skip
            if charges.indemnity:
                charge_rows.append([_("Indemnité forfaitaire pour frais de recouvrement (art. D441-5 C. com.)"),
                                    format_money(charges.indemnity)])  # fmt: skip
        paragraphs = [
            _("Madame, Monsieur,"),
            (
                _("Sauf erreur ou omission de notre part, la facture %(reference)s du %(issued)s, arrivée à "
                  "échéance le %(due)s, reste impayée à ce jour, soit %(days)s jours de retard.")
                % {"reference": invoice.reference, "issued": _day(invoice.issue_date), "due": _day(charges.due_date),
                   "days": charges.days_late}
                if late
                else _("Nous vous rappelons que la facture %(reference)s du %(issued)s arrive à échéance le %(due)s.")
                % {"reference": invoice.reference, "issued": _day(invoice.issue_date), "due": _day(charges.due_date)}
            ),
        ]  # fmt: skip
        if late:
            paragraphs.append(
                _("Conformément à nos conditions générales et à l'article L441-10 du Code de commerce, ce retard "
                  "rend exigibles des pénalités au taux annuel de %(rate)s%(indemnity)s.")
                % {"rate": _rate(charges.rate),
                   "indemnity": _(" ainsi que l'indemnité forfaitaire pour frais de recouvrement de %(amount)s")
                   % {"amount": format_money(charges.indemnity)} if charges.indemnity else ""}
            )  # fmt: skip
        request = _(
            "Nous vous demandons de bien vouloir régler la somme de %(amount)s au plus tard le %(deadline)s."
        ) % {"amount": format_money(charges.total), "deadline": deadline}
        if final:
            request += " " + _("À défaut de règlement dans ce délai, nous engagerons sans autre avis les procédures "
                               "de recouvrement nécessaires.")  # fmt: skip
        paragraphs.append(request)
        paragraphs.append(_("Si votre règlement a été effectué entre-temps, nous vous prions de ne pas tenir compte "
                            "de ce courrier."))  # fmt: skip
        paragraphs.append(_("Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations "
                            "distinguées."))  # fmt: skip
        payment = []
        if seller.get("iban"):
            bank = _("IBAN %(iban)s") % {"iban": _grouped(str(seller["iban"]))}
            if seller.get("bic"):
                bank += " · " + _("BIC %(bic)s") % {"bic": seller["bic"]}
            payment.append([_("Virement"), bank])
        payment.append([_("Référence à rappeler"), invoice.reference])
        payment.append([_("En ligne"), _portal_url(invoice)])
        place = invoice.center.city or seller.get("city") or ""
        dated = _("Le %(date)s") % {"date": _day(charges.on)}
        return {
            "title": title,
            "subject": _("Objet : %(title)s — facture %(reference)s") % {"title": title,
                                                                        "reference": invoice.reference},
            "registered": _("Lettre recommandée avec accusé de réception") if final else "",
            "place_date": f"{place}, {dated[:1].lower()}{dated[1:]}" if place else dated,
            "issuer": {"name": seller.get("name", ""), "address": _address_lines(seller), "contact": contact,
                       "ids": ids},
            "recipient": {"name": company.name, "address": _address_lines(buyer),
                          "reference": _("Client %(reference)s") % {"reference": company.reference}
                          if getattr(company, "reference", "") else ""},
            "paragraphs": paragraphs,
            "invoice_rows": invoice_rows,
            "charge_rows": charge_rows,
            "grand_total": [_("Total à régler"), format_money(charges.total)],
            "deadline": [_("À régler avant le"), deadline],
            "payment": payment,
            "signature": seller.get("name", ""),
            "accent": _accent(invoice),
            "labels": {"invoice": _("La facture"), "charges": _("Sommes dues"), "payment": _("Règlement")},
            "footer": " · ".join(part for part in [seller.get("name", ""), " ".join(_address_lines(seller)),
                                                   " · ".join(ids)] if part),
        }  # fmt: skip


def _accent(invoice: Invoice) -> str:
    color = (
        BillingProfile.objects.filter(legal_entity_id=invoice.legal_entity_id)
        .values_list("brand_color", flat=True)
        .first()
    )
    return color or "#1F4E79"


def _logo(invoice: Invoice) -> bytes | None:
    entity = invoice.legal_entity
    if not entity.logo:
        return None
    try:
        with entity.logo.open("rb") as handle:
            return handle.read()
    except OSError:
        return None


def letter_pdf(invoice: Invoice, charges: LateCharges, *, level: int = 0, final: bool = False) -> bytes:
    from comptoir.core.pdf import render_pdf

    return render_pdf("payments/reminder.typ", letter_data(invoice, charges, level=level, final=final),
                      logo=_logo(invoice))  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------------
def _check_remindable(invoice: Invoice) -> None:
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
        raise ReminderError(_("Seule une facture émise peut être relancée."), code="not_remindable")
    if invoice.amount_due <= 0:
        raise ReminderError(_("Cette facture est payée : il n'y a rien à relancer."), code="nothing_due")


def _lock(invoice: Invoice | int) -> Invoice:
    pk = invoice if isinstance(invoice, int) else invoice.pk
    locked = Invoice.objects.select_for_update().get(pk=pk)
    return Invoice.objects.select_related("company", "center", "legal_entity").get(pk=locked.pk)


def _store_letter(reminder: Reminder, pdf: bytes) -> None:
    invoice = reminder.invoice
    name = f"reminders/{invoice.organization_id}/{get_valid_filename(invoice.reference)}-{reminder.level}-" \
           f"{secrets.token_hex(6)}.pdf"  # fmt: skip
    reminder.document.save(name, ContentFile(pdf), save=False)
    reminder.save(update_fields=["document"])


def _send_email(invoice: Invoice, charges: LateCharges, addresses: list[str], level: int) -> None:
    from comptoir.billing.documents.render import ensure_pdf

    subject, body = reminder_email(invoice, charges, level=level)
    try:
        pdf = ensure_pdf(invoice)
    except Exception as exc:  # a rendering bug must not pass for a refused reminder silently
        logger.exception("Invoice %s: the PDF could not be rendered for a reminder", invoice.pk)
        raise ReminderError(_("Le PDF de la facture n'a pas pu être produit : %(error)s") % {"error": exc},
                            code="pdf_failed") from exc  # fmt: skip
    reply_to = [invoice.center.email] if invoice.center.email else None
    message = EmailMessage(subject, body, to=addresses, reply_to=reply_to)
    message.attach(f"{invoice.reference}.pdf", pdf, "application/pdf")
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("Invoice %s: reminder e-mail to %s failed: %s", invoice.pk, addresses, exc)
        raise ReminderError(_("L'e-mail n'a pas pu partir : %(error)s") % {"error": exc},
                            code="email_failed") from exc  # fmt: skip


def _letter_recipient(invoice: Invoice) -> str:
    company = invoice.company
    return " ".join(part for part in [company.name, "—", company.postal_code, company.city] if part).strip(" —")


def _create(
    invoice: Invoice,
    *,
    level: int,
    channel: str,
    on: datetime.date,
    by: User | None,
    addresses: list[str],
    final: bool = False,
) -> Reminder:
    """Write the reminder, then its letter or its e-mail, then the journal (inside the caller's transaction)."""
    charges = late_charges(invoice, on)
    reminder = Reminder.objects.create(
        organization_id=invoice.organization_id, invoice=invoice, level=level, channel=channel, sent_on=on,
        days_late=charges.days_late, amount_due=charges.amount_due, penalty=charges.penalty,
        indemnity=charges.indemnity,
        recipient=(", ".join(addresses) if channel == Channel.EMAIL else _letter_recipient(invoice))[:254],
        sent_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    if channel == Channel.LETTER:
        from comptoir.core.pdf import PdfError

        try:
            pdf = letter_pdf(invoice, charges, level=level, final=final)
        except PdfError as exc:  # a broken logo or template: refused (rolled back), never a 500 nor a stopped job
            logger.exception("Invoice %s: the reminder letter could not be rendered", invoice.pk)
            raise ReminderError(_("La lettre de relance n'a pas pu être produite : réessayez plus tard."),
                                code="pdf_failed") from exc  # fmt: skip
        _store_letter(reminder, pdf)
    else:
        _send_email(invoice, charges, addresses, level)
    journal.record(actor=by, action="invoice.reminded", obj=invoice, changes={
        "reminder": reminder.pk, "level": level, "channel": channel, "recipient": reminder.recipient,
        "days_late": charges.days_late, "amount_due": charges.amount_due, "penalty": charges.penalty,
        "indemnity": charges.indemnity,
    })  # fmt: skip
    return reminder


def _no_recipient() -> ValidationFailed:
    return ValidationFailed(
        _("Aucun destinataire : ajoutez un membre « destinataire des factures » avec une adresse e-mail, ou "
          "l'e-mail de l'entreprise, ou choisissez la lettre."),
        code="no_recipient", field="channel",
    )  # fmt: skip


def send_reminder(
    *,
    invoice: Invoice,
    by: User | None,
    channel: str = Channel.EMAIL,
    on: datetime.date | None = None,
    check_rights: bool = True,
) -> Reminder:
    """A manual reminder (level 0) of an issued invoice with an amount due: an e-mail to the company's billing
    contacts with the invoice PDF attached, or a letter (PDF stored on the reminder). Refused, with nothing
    written: a draft, a credit note, a cancelled or paid invoice, an e-mail without recipient or that does not
    leave, a future date."""
    if channel not in Channel.values:
        raise ValidationFailed(_("Choisissez l'e-mail ou la lettre."), code="invalid_channel", field="channel")
    today = timezone.localdate()
    on = on or today
    if on > today:
        raise ValidationFailed(_("Une relance ne peut pas être datée dans le futur."), code="future_date",
                               field="on")  # fmt: skip
    with transaction.atomic():
        locked = _lock(invoice)
        if check_rights:
            rights.require(by, "payments.add_reminder", locked.organization_id)
        _check_remindable(locked)
        addresses = recipients(locked) if channel == Channel.EMAIL else []
        if channel == Channel.EMAIL and not addresses:
            raise _no_recipient()
        return _create(locked, level=0, channel=channel, on=on, by=by, addresses=addresses)


# --------------------------------------------------------------------------------------------------
# The automatic schedule
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    level: int
    days: int
    channel: str


def clean_schedule(raw: Any) -> list[dict[str, Any]]:
    """A schedule as stored ([{"days", "channel"}], sorted by days), or ValidationFailed at field "schedule"."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationFailed(_("Indiquez au moins une relance."), code="required", field="schedule")
    if len(raw) > MAX_STEPS:
        raise ValidationFailed(_("Au plus %(count)s relances automatiques.") % {"count": MAX_STEPS},
                               code="too_many_steps", field="schedule")  # fmt: skip
    steps: list[dict[str, Any]] = []
    for item in raw:
        days = item.get("days") if isinstance(item, dict) else None
        channel = item.get("channel") if isinstance(item, dict) else None
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_STEP_DAYS:
            raise ValidationFailed(
                _("Chaque relance a un délai entre 1 et %(max)s jours après l'échéance.") % {"max": MAX_STEP_DAYS},
                code="invalid_days", field="schedule",
            )  # fmt: skip
        if channel not in Channel.values:
            raise ValidationFailed(_("Chaque relance est un e-mail ou une lettre."), code="invalid_channel",
                                   field="schedule")  # fmt: skip
        steps.append({"days": days, "channel": channel})
    steps.sort(key=lambda step: step["days"])
    if len({step["days"] for step in steps}) != len(steps):
        raise ValidationFailed(_("Deux relances ne peuvent pas avoir le même délai."), code="duplicate_days",
                               field="schedule")  # fmt: skip
    return steps


def schedule_steps(profile: PaymentProfile) -> list[Step]:
    """The profile's steps as levels 1, 2, 3...; an empty or unreadable schedule is the default one."""
    try:
        stored = clean_schedule(profile.reminder_schedule)
    except ValidationFailed:
        stored = clean_schedule(DEFAULT_REMINDER_SCHEDULE)
    return [Step(level=index, days=step["days"], channel=step["channel"]) for index, step in enumerate(stored, 1)]


def payment_profile(organization: Organization | int) -> PaymentProfile:
    """The organization's payment settings, created with the default reminder schedule the first time."""
    organization_id = organization if isinstance(organization, int) else organization.pk
    profile, _created = PaymentProfile.objects.get_or_create(
        organization_id=organization_id, defaults={"reminder_schedule": list(DEFAULT_REMINDER_SCHEDULE)}
    )
    return profile


@transaction.atomic
def update_reminder_schedule(
    *, organization: Organization, by: User, enabled: bool, schedule: list[dict[str, Any]]
) -> PaymentProfile:
    """Finance → Relances: turn the automatic reminders on or off and set their steps (days after the due date,
    e-mail or letter). Right payments.change_paymentprofile."""
    rights.require(by, "payments.change_paymentprofile", organization)
    steps = clean_schedule(schedule)
    profile = PaymentProfile.objects.select_for_update().get(pk=payment_profile(organization).pk)
    before = {"reminders_enabled": profile.reminders_enabled, "reminder_schedule": profile.reminder_schedule}
    profile.reminders_enabled = bool(enabled)
    profile.reminder_schedule = steps
    profile.save(update_fields=["reminders_enabled", "reminder_schedule"])
    after = {"reminders_enabled": profile.reminders_enabled, "reminder_schedule": profile.reminder_schedule}
    changes = journal.diff(before, after)
    if changes:
        journal.record(actor=by, action="paymentprofile.reminders_changed", obj=profile, organization=organization,
                       changes=changes)  # fmt: skip
    return profile


def open_amount() -> ExpressionWrapper:
    """SQL: what an invoice still awaits (its total, less its credit notes and its payments)."""
    return ExpressionWrapper(
        F("total_incl_vat") - F("amount_credited") - F("amount_paid"),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def _due_candidates(organization_id: int, today: datetime.date, first_days: int) -> QuerySet:
    reached = (
        Reminder.objects.filter(invoice_id=OuterRef("pk"), level__gt=0)
        .values("invoice_id")
        .annotate(top=Max("level"))
        .values("top")
    )
    return (
        Invoice.objects.filter(
            organization_id=organization_id,
            kind=Invoice.Kind.INVOICE,
            status=Invoice.Status.ISSUED,
            payment_status__in=OPEN,
            due_date__lte=today - datetime.timedelta(days=first_days),
        )
        .annotate(open_amount=open_amount())
        .filter(open_amount__gt=0)
        .annotate(reached=Coalesce(Subquery(reached, output_field=IntegerField()), Value(0)))
        .values_list("pk", "due_date", "reached")
        .order_by("due_date", "pk")
    )


def send_scheduled_reminder(
    *, invoice: Invoice | int, step: Step, on: datetime.date, last: bool = False, staff_email: str = ""
) -> Reminder | None:
    """One step of the schedule for one invoice, in its own transaction; None when there is nothing to do any
    more (paid meanwhile, this step or a later one already sent — by a concurrent run too)."""
    with transaction.atomic():
        locked = _lock(invoice)
        if not is_remindable(locked) or not locked.due_date:
            return None
        if (on - locked.due_date).days < step.days:
            return None
        if Reminder.objects.filter(invoice_id=locked.pk, level__gte=step.level).exists():
            return None
        channel = step.channel
        addresses = recipients(locked) if channel == Channel.EMAIL else []
        if channel == Channel.EMAIL and not addresses:
            channel = Channel.LETTER  # nobody to e-mail: the letter to post instead
        reminder = _create(locked, level=step.level, channel=channel, on=on, by=None, addresses=addresses,
                           final=last and channel == Channel.LETTER)  # fmt: skip
        if channel == Channel.LETTER and staff_email:
            _notify_staff(reminder, staff_email)
        return reminder


def _notify_staff(reminder: Reminder, address: str) -> None:
    """The payment notices' address hears of a letter to post (the PDF attached); a failure is only logged."""
    invoice = reminder.invoice
    with translation.override("fr"):
        subject = _("Lettre de relance à envoyer : facture %(reference)s (%(company)s)") % {
            "reference": invoice.reference, "company": invoice.company.name}  # fmt: skip
        body = _("La relance automatique de niveau %(level)s de la facture %(reference)s est une lettre : imprimez "
                 "le PDF joint et envoyez-le en recommandé avec accusé de réception à %(company)s.") % {
            "level": reminder.level, "reference": invoice.reference, "company": invoice.company.name}  # fmt: skip
    message = EmailMessage(subject, body, to=[address])
    try:
        with reminder.document.open("rb") as handle:
            message.attach(f"relance-{invoice.reference}.pdf", handle.read(), "application/pdf")
        message.send()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("Reminder %s: the staff notice to %s failed: %s", reminder.pk, address, exc)


def send_due_reminders(today: datetime.date | None = None, *, organization: Organization | None = None) -> int:
    """The daily job: every organization's due steps, each invoice's highest step reached, once. Returns the
    number of reminders sent. Safe to run twice, and twice at once."""
    today = today or timezone.localdate()
    late = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED, payment_status__in=OPEN,
                                  due_date__lt=today)  # fmt: skip
    if organization is not None:
        late = late.filter(organization_id=organization.pk)
    organization_ids = sorted(set(late.values_list("organization_id", flat=True).distinct()))
    sent = 0
    for organization_id in organization_ids:
        profile = payment_profile(organization_id)
        if not profile.reminders_enabled:
            continue
        steps = schedule_steps(profile)
        if not steps:
            continue
        for invoice_id, due_date, reached in _due_candidates(organization_id, today, steps[0].days):
            days_late = (today - due_date).days
            step = next((step for step in reversed(steps) if days_late >= step.days), None)
            if step is None or step.level <= reached:
                continue
            try:
                reminder = send_scheduled_reminder(invoice=invoice_id, step=step, on=today,
                                                   last=step.level == steps[-1].level,
                                                   staff_email=profile.staff_email)  # fmt: skip
            except (DomainError, IntegrityError, OSError) as exc:
                logger.warning("Invoice %s: automatic reminder %s not sent: %s", invoice_id, step.level, exc)
                continue
            sent += reminder is not None
    return sent


register_daily("payment reminders sent", send_due_reminders)
