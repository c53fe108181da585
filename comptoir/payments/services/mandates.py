"""SEPA direct-debit mandates (clients-prospects « Modalités de paiement », « Espace client » §2 « Mandat de
prélèvement SEPA»).

    mandate = create_mandate(company=..., by=user, data={"account_holder", "iban", "bic", "scheme"})  # pending
    send_mandate_code(mandate=mandate, contact=admin_member, ip=..., user_agent=...)                  # SMS
    mandate = sign_mandate(mandate=mandate, contact=admin_member, code="123456", ip=..., user_agent=...)  # active
    revoke_mandate(mandate=mandate, by=user)                                                          # revoked

A mandate is created by the staff (right `payments.add_mandate`) or by a company administrator in the portal
(capability `pay_invoices`), always pending; only a company administrator with portal access signs it, with a
code received by SMS, as a contract is signed (comptoir.sales.services.signature): the code is random
(`secrets`), stored as an HMAC-SHA256 bound to the mandate, valid 10 minutes, a new one 60 s after the previous
one and at most 5 per mandate; 5 wrong codes lock the mandate (a new one must be set up). The creditor is the
legal entity of the company's running contract, else of its center, else the organization's only legal entity;
it must have a SEPA creditor identifier. A pending or revoked mandate is never used for a debit.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, NotFound, RightsError, ValidationFailed
from comptoir.core.models import LegalEntity, Organization, User
from comptoir.core.sms import SmsError, send_sms
from comptoir.core.validators import validate_bic, validate_iban
from comptoir.crm import capabilities
from comptoir.crm.models import Company, Contact
from comptoir.payments.models import Mandate
from comptoir.payments.sepa import SEPA_TEXT

CODE_DIGITS = 6
CODE_VALIDITY = datetime.timedelta(minutes=10)
RESEND_DELAY = datetime.timedelta(seconds=60)
MAX_SENDS = 5
MAX_ATTEMPTS = 5
CAPABILITY = "pay_invoices"  # the company's administrators
MANDATE_FIELDS = {"account_holder", "iban", "bic", "scheme", "legal_entity"}


class MandateError(DomainError):
    default_code = "invalid_mandate"


class TooManyCodes(ValidationFailed):
    """A new code asked too soon or too often (the API answers 429)."""

    status = 429
    default_code = "too_many_codes"


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------
def mandates_for(user: User, organization: Organization) -> QuerySet[Mandate]:
    """The organization's mandates a staff member may see (none for anyone else)."""
    if not rights.has_right(user, "payments.view_mandate", organization):
        return Mandate.objects.none()
    return Mandate.objects.filter(organization=organization).select_related("company", "legal_entity", "signer")


def mandates_of_member(contact: Contact) -> QuerySet[Mandate]:
    """The mandates of the member's company, for a member holding the capability (else none)."""
    if not capabilities.can(contact, CAPABILITY):
        return Mandate.objects.none()
    return Mandate.objects.filter(
        organization_id=contact.organization_id, company_id=contact.company_id
    ).select_related("legal_entity", "signer")


def is_locked(mandate: Mandate) -> bool:
    return mandate.status == Mandate.Status.PENDING and mandate.attempts >= MAX_ATTEMPTS


def remaining_attempts(mandate: Mandate) -> int:
    return max(0, MAX_ATTEMPTS - mandate.attempts)


def code_sent(mandate: Mandate) -> bool:
    return bool(mandate.code_hash and mandate.code_expires_at)


def last_sent_at(mandate: Mandate) -> datetime.datetime | None:
    return mandate.code_expires_at - CODE_VALIDITY if mandate.code_expires_at else None


def seconds_before_resend(mandate: Mandate, now: datetime.datetime | None = None) -> int:
    sent = last_sent_at(mandate)
    if sent is None:
        return 0
    wait = (sent + RESEND_DELAY - (now or timezone.now())).total_seconds()
    return max(0, int(wait + 0.999))


def mask_phone(phone: str) -> str:
    from comptoir.sales.services.signature import mask_phone as mask

    return mask(phone)


def creditor_for(company: Company, legal_entity: LegalEntity | None = None) -> LegalEntity:
    """The legal entity that collects the company's debits (see the module's docstring)."""
    if legal_entity is not None:
        if legal_entity.organization_id != company.organization_id:
            raise ValidationFailed(_("Entité inconnue."), code="unknown_legal_entity", field="legal_entity")
        entity = legal_entity
    else:
        from comptoir.sales.models import Contract

        contract = (
            Contract.objects.filter(company_id=company.pk, status__in=Contract.RUNNING)
            .select_related("legal_entity")
            .order_by("-id")
            .first()
        )
        entity = contract.legal_entity if contract is not None else None
        if entity is None and company.center_id:
            entity = company.center.legal_entity
        if entity is None:
            entities = list(LegalEntity.objects.filter(organization_id=company.organization_id, is_active=True)[:2])
            entity = entities[0] if len(entities) == 1 else None
        if entity is None:
            raise ValidationFailed(
                _("Impossible de déterminer le créancier : l'entreprise n'a ni contrat en cours ni centre."),
                code="no_creditor",
                field="legal_entity",
            )
    if not entity.sepa_creditor_id:
        raise ValidationFailed(
            _(
                "L'entité %(entity)s n'a pas d'identifiant créancier SEPA (ICS) : renseignez-le dans ses "
                "paramètres avant de créer un mandat."
            )
            % {"entity": entity.name},
            code="no_creditor_id",
            field="legal_entity",
        )
    return entity


# --------------------------------------------------------------------------------------------------
# Creating
# --------------------------------------------------------------------------------------------------
def _compact(value: Any) -> str:
    return "".join(str(value or "").split()).upper()


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - MANDATE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(unknown)},
                               code="unknown_field", fields={name: [_("Champ non modifiable.")] for name in unknown})  # fmt: skip
    errors: dict[str, list[str]] = {}
    holder = " ".join(str(data.get("account_holder") or "").split())
    if not holder:
        errors["account_holder"] = [_("Indiquez le titulaire du compte.")]
    elif len(holder) > 70:
        errors["account_holder"] = [_("70 caractères au plus.")]
    iban = _compact(data.get("iban"))
    if not iban:
        errors["iban"] = [_("Indiquez l'IBAN.")]
    else:
        try:
            validate_iban(iban)
        except ValidationError:
            errors["iban"] = [_("IBAN invalide : vérifiez les chiffres (clé de contrôle incorrecte).")]
        else:
            from schwifty import IBAN

            if not IBAN(iban).in_sepa_zone:
                errors["iban"] = [_("Ce compte n'est pas dans la zone SEPA : le prélèvement SEPA est impossible.")]
    bic = _compact(data.get("bic"))
    if not bic and iban and "iban" not in errors:
        from schwifty import IBAN

        try:
            found = IBAN(iban).bic
        except Exception:  # schwifty may not know the bank
            found = None
        bic = str(found) if found else ""
    if not bic:
        errors.setdefault("bic", [_("Indiquez le BIC de la banque.")])
    else:
        try:
            validate_bic(bic)
        except ValidationError:
            errors["bic"] = [_("BIC invalide : 8 ou 11 caractères (ex. BNPAFRPP).")]
    scheme = str(data.get("scheme") or Mandate.Scheme.CORE)
    if scheme not in Mandate.Scheme.values:
        errors["scheme"] = [_("Choisissez CORE ou B2B.")]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="invalid_mandate", fields=errors)
    return {"account_holder": holder, "iban": iban, "bic": bic, "scheme": scheme}


def new_reference(organization_id: int) -> str:
    """RUM-<organization id>-<10 random characters>: unique, ≤ 35 characters, SEPA identifier characters."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for _attempt in range(10):
        candidate = f"RUM-{organization_id}-{''.join(secrets.choice(alphabet) for _ in range(10))}"
        if not Mandate.objects.filter(organization_id=organization_id, reference=candidate).exists():
            assert len(candidate) <= 35 and not SEPA_TEXT.search(candidate)
            return candidate
    raise MandateError(_("Référence de mandat indisponible, réessayez."), code="reference_unavailable")


def _check_member(company: Company, contact: Contact) -> None:
    if contact.organization_id != company.organization_id or contact.company_id != company.pk:
        raise NotFound(_("Entreprise introuvable."))
    if not capabilities.can(contact, CAPABILITY):
        raise RightsError(
            _("Seul un administrateur de l'entreprise peut gérer ses mandats de prélèvement."), code="forbidden"
        )


@transaction.atomic
def create_mandate(
    *, company: Company, by: User | None, data: dict[str, Any], contact: Contact | None = None
) -> Mandate:
    """A pending mandate of the company (its holder, IBAN, BIC, scheme), waiting for an administrator's signature.

    By the staff (`payments.add_mandate`) or, with `contact`, by a company administrator in the portal."""
    if contact is not None:
        _check_member(company, contact)
    else:
        rights.require(by, "payments.add_mandate", company.organization_id)
    values = _clean(data)
    legal_entity = data.get("legal_entity")
    if legal_entity is not None and not isinstance(legal_entity, LegalEntity):
        legal_entity = LegalEntity.objects.filter(organization_id=company.organization_id, pk=legal_entity).first()
        if legal_entity is None:
            raise ValidationFailed(_("Entité inconnue."), code="unknown_legal_entity", field="legal_entity")
    creditor = creditor_for(company, legal_entity)
    mandate = Mandate.objects.create(
        organization_id=company.organization_id,
        company=company,
        legal_entity=creditor,
        reference=new_reference(company.organization_id),
        status=Mandate.Status.PENDING,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        **values,
    )
    journal.record(
        actor=by,
        action="mandate.created",
        obj=mandate,
        changes={"company": company.pk, "reference": mandate.reference, "iban": mandate.masked_iban,
                 "bic": mandate.bic, "scheme": mandate.scheme, "legal_entity": creditor.pk},
    )  # fmt: skip
    journal.record(actor=by, action="company.mandate_created", obj=company,
                   changes={"reference": mandate.reference, "iban": mandate.masked_iban})  # fmt: skip
    return mandate


# --------------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------------
def code_hash(mandate_id: int, code: str) -> str:
    message = f"comptoir-mandate:{mandate_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _lock(mandate: Mandate) -> Mandate:
    return Mandate.objects.select_for_update(of=("self",)).select_related("company").get(pk=mandate.pk)


def _check_signable(mandate: Mandate, contact: Contact) -> None:
    _check_member(mandate.company, contact)
    if mandate.status == Mandate.Status.ACTIVE:
        raise MandateError(_("Ce mandat est déjà signé."), code="already_signed")
    if mandate.status == Mandate.Status.REVOKED:
        raise MandateError(_("Ce mandat est révoqué."), code="revoked")
    if is_locked(mandate):
        raise MandateError(
            _("Trop d'essais : ce mandat est bloqué. Mettez en place un nouveau mandat."), code="locked", field="code"
        )


def _event(mandate: Mandate, kind: str, *, ip: str | None, user_agent: str, **detail: Any) -> None:
    evidence = dict(mandate.signature_evidence or {})
    events = list(evidence.get("events", []))
    events.append({"kind": kind, "at": timezone.now().isoformat(), "ip": ip or "", "user_agent": (user_agent or "")[:300],
                   **detail})  # fmt: skip
    evidence["events"] = events[-50:]
    mandate.signature_evidence = evidence


def _actor(contact: Contact) -> User | None:
    return contact.user if contact.user_id else None


def send_mandate_code(*, mandate: Mandate, contact: Contact, ip: str | None, user_agent: str) -> Mandate:
    """A new 6-digit code by SMS to the signer's mobile (else phone); TooManyCodes within 60 s or after 5."""
    with transaction.atomic():
        mandate = _lock(mandate)
        _check_signable(mandate, contact)
        phone = (contact.mobile or contact.phone or "").strip()
        if not phone:
            raise ValidationFailed(
                _("Aucun numéro de mobile n'est enregistré pour vous : demandez à votre centre de l'ajouter."),
                code="no_phone", field="code",
            )  # fmt: skip
        if mandate.sends >= MAX_SENDS:
            raise TooManyCodes(
                _("Vous avez demandé trop de codes pour ce mandat. Mettez en place un nouveau mandat."),
                code="too_many_codes", field="code",
            )  # fmt: skip
        now = timezone.now()
        wait = seconds_before_resend(mandate, now)
        if wait:
            raise TooManyCodes(
                _("Patientez %(seconds)s secondes avant de demander un nouveau code.") % {"seconds": wait},
                code="too_many_codes", field="code",
            )  # fmt: skip
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        mandate.code_hash = code_hash(mandate.pk, code)
        mandate.code_expires_at = now + CODE_VALIDITY
        mandate.sends += 1
        masked = mask_phone(phone)
        _event(mandate, "code_sent", ip=ip, user_agent=user_agent, phone=masked, signer=contact.pk)
        mandate.save(update_fields=["code_hash", "code_expires_at", "sends", "signature_evidence"])
        journal.record(actor=_actor(contact), action="mandate.code_sent", obj=mandate,
                       changes={"signer": str(contact), "phone": masked})  # fmt: skip
        try:
            send_sms(
                to=phone,
                body=_("Comptoir : votre code de signature du mandat SEPA %(reference)s est %(code)s "
                       "(valable 10 minutes).") % {"reference": mandate.reference, "code": code},
                organization=mandate.organization,
                purpose="mandate_signature",
            )  # fmt: skip
        except SmsError as exc:
            raise MandateError(
                _("Le SMS n'a pas pu être envoyé. Réessayez dans quelques instants."), code="sms_failed"
            ) from exc
    return mandate


def sign_mandate(*, mandate: Mandate, contact: Contact, code: str, ip: str | None, user_agent: str) -> Mandate:
    """Check the code; on success the mandate is active (signed today, with its evidence).

    A wrong or expired code is recorded in its own committed transaction before the error is raised: do not
    call this inside an outer transaction that the error would roll back."""
    code = "".join((code or "").split())
    if not (len(code) == CODE_DIGITS and code.isdigit()):
        raise ValidationFailed(_("Saisissez les 6 chiffres reçus par SMS."), code="invalid_code", field="code")
    failure: DomainError
    with transaction.atomic():
        mandate = _lock(mandate)
        _check_signable(mandate, contact)
        if not code_sent(mandate):
            raise ValidationFailed(_("Demandez d'abord un code par SMS."), code="no_code", field="code")
        now = timezone.now()
        if now >= mandate.code_expires_at:  # type: ignore[operator]
            _event(mandate, "code_expired", ip=ip, user_agent=user_agent)
            mandate.save(update_fields=["signature_evidence"])
            failure = ValidationFailed(_("Ce code a expiré, demandez-en un nouveau."), code="code_expired",
                                       field="code")  # fmt: skip
        elif not hmac.compare_digest(mandate.code_hash, code_hash(mandate.pk, code)):
            mandate.attempts += 1
            _event(mandate, "code_failed", ip=ip, user_agent=user_agent, attempt=mandate.attempts)
            if mandate.attempts >= MAX_ATTEMPTS:
                mandate.code_hash = ""
                _event(mandate, "locked", ip=ip, user_agent=user_agent)
                mandate.save(update_fields=["attempts", "code_hash", "signature_evidence"])
                journal.record(actor=_actor(contact), action="mandate.locked", obj=mandate,
                               changes={"signer": str(contact), "attempts": mandate.attempts})  # fmt: skip
                failure = MandateError(
                    _("Trop d'essais : ce mandat est bloqué. Mettez en place un nouveau mandat."),
                    code="locked", field="code",
                )  # fmt: skip
            else:
                mandate.save(update_fields=["attempts", "signature_evidence"])
                failure = ValidationFailed(
                    _("Code incorrect. Il vous reste %(count)s essai(s).") % {"count": remaining_attempts(mandate)},
                    code="wrong_code", field="code",
                )  # fmt: skip
        else:
            return _sign(mandate, contact, now=now, ip=ip, user_agent=user_agent)
    raise failure


def _sign(mandate: Mandate, contact: Contact, *, now: datetime.datetime, ip: str | None, user_agent: str) -> Mandate:
    phone = (contact.mobile or contact.phone or "").strip()
    _event(mandate, "signed", ip=ip, user_agent=user_agent)
    evidence = dict(mandate.signature_evidence)
    evidence.update({
        "signer": contact.full_name if hasattr(contact, "full_name") else str(contact),
        "signer_id": contact.pk,
        "signer_email": contact.email,
        "phone": mask_phone(phone),
        "ip_address": ip or "",
        "user_agent": (user_agent or "")[:500],
        "signed_at": now.isoformat(),
        "iban": mandate.masked_iban,
        "creditor_id": mandate.legal_entity.sepa_creditor_id,
    })  # fmt: skip
    mandate.signature_evidence = evidence
    mandate.status = Mandate.Status.ACTIVE
    mandate.signer = contact
    mandate.signed_at = now
    mandate.signed_on = timezone.localdate(now)
    mandate.code_hash = ""
    mandate.save(update_fields=["signature_evidence", "status", "signer", "signed_at", "signed_on", "code_hash"])
    journal.record(
        actor=_actor(contact),
        action="mandate.signed",
        obj=mandate,
        changes={"status": [Mandate.Status.PENDING, Mandate.Status.ACTIVE], "signer": contact.pk,
                 "signed_on": mandate.signed_on.isoformat()},
        message=_("Signé par SMS (code envoyé au %(phone)s)") % {"phone": mask_phone(phone)},
    )  # fmt: skip
    journal.record(actor=_actor(contact), action="company.mandate_signed", obj=mandate.company,
                   changes={"reference": mandate.reference})  # fmt: skip
    return mandate


# --------------------------------------------------------------------------------------------------
# Revoking
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def revoke_mandate(*, mandate: Mandate, by: User | None, contact: Contact | None = None, reason: str = "") -> Mandate:
    """The mandate is no longer used (debits already sent keep their course)."""
    mandate = _lock(mandate)
    if contact is not None:
        _check_member(mandate.company, contact)
    else:
        rights.require(by, "payments.change_mandate", mandate.organization_id)
    if mandate.status == Mandate.Status.REVOKED:
        raise MandateError(_("Ce mandat est déjà révoqué."), code="already_revoked")
    before = mandate.status
    mandate.status = Mandate.Status.REVOKED
    mandate.revoked_on = timezone.localdate()
    mandate.code_hash = ""
    mandate.save(update_fields=["status", "revoked_on", "code_hash"])
    journal.record(actor=by, action="mandate.revoked", obj=mandate,
                   changes={"status": [before, mandate.status], "reason": (reason or "").strip()[:255]})  # fmt: skip
    journal.record(actor=by, action="company.mandate_revoked", obj=mandate.company,
                   changes={"reference": mandate.reference})  # fmt: skip
    return mandate
