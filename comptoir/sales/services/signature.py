"""The SMS-code e-signature of a contract ("Espace client" §1), used by the portal and the API alike.

    signature = start_signature(contract=..., contact=..., ip=..., user_agent=...)   # event "viewed"
    accept_terms(signature=signature, ip=..., user_agent=...)                         # the CGV version
    send_code(signature=signature, ip=..., user_agent=...)                            # SMS, 6 digits
    contract = confirm_code(signature=signature, code="123456", ip=..., user_agent=...)

Only a member holding the capability "sign_contracts" (the company's administrators) may sign.
The code is random (`secrets`), stored as an HMAC-SHA256 keyed with settings.SECRET_KEY and bound to the
signature id (never the code itself), valid 10 minutes; a new code may be asked 60 s after the previous
one, at most 5 times per signature. The 5th wrong code locks the signature: the member must then wait
for the staff to send the contract again (which sets a new `sent_for_signature_at`); only then may a new
signature start.

On success, in one transaction with the contract row locked (a double submit signs once; the partial
unique constraint `signature_one_signed_per_contract` is the last guard): the document hash is checked
again, the evidence page (comptoir/sales/typst/evidence.typ) is appended to the contract PDF as a new
revision (the original bytes stay a prefix of the signed file), the whole is sealed (comptoir.sales.seal),
the contract becomes signed, the prospect a client, the opportunity "Contrat signé", and
`contract.signed` is published (billing issues the first invoices).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import secrets
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from comptoir.core import events, journal
from comptoir.core.errors import DomainError, NotFound, RightsError, ValidationFailed
from comptoir.core.pdf import render_pdf
from comptoir.core.sms import SmsError, send_sms
from comptoir.crm import capabilities
from comptoir.crm.models import Company, Contact, Opportunity
from comptoir.sales import seal
from comptoir.sales.models import Contract, Signature, SignatureEvent

CODE_DIGITS = 6
CODE_VALIDITY = datetime.timedelta(minutes=10)
RESEND_DELAY = datetime.timedelta(seconds=60)
MAX_SENDS = 5
MAX_ATTEMPTS = 5


class TooManyCodes(ValidationFailed):
    """A new code asked too soon or too often (the API answers 429 with Retry-After)."""

    status = 429
    default_code = "too_many_codes"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code="too_many_codes", field="code")
        self.retry_after = retry_after


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def code_hash(signature_id: int, code: str) -> str:
    message = f"comptoir-signature:{signature_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """+33 6 •• •• •• 78: the last two digits only."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if len(digits) <= 4:
        return "•" * len(digits)
    return f"{digits[:3]}{'•' * (len(digits) - 5)}{digits[-2:]}"


def signer_phone(contact: Contact) -> str:
    return (contact.mobile or contact.phone or "").strip()


def _user_agent(value: str | None) -> str:
    return (value or "")[:500]


def _ip(value: str | None) -> str | None:
    return value or None


def _event(signature: Signature, kind: str, *, ip: str | None, user_agent: str, **detail: Any) -> SignatureEvent:
    return SignatureEvent.objects.create(
        signature=signature, kind=kind, ip_address=_ip(ip), user_agent=_user_agent(user_agent), detail=detail
    )


def _actor(contact: Contact):  # type: ignore[no-untyped-def]
    return contact.user if contact.user_id else None


def _file_sha256(field) -> str:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256()
    with field.open("rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_file(field) -> bytes:  # type: ignore[no-untyped-def]
    with field.open("rb") as handle:
        return handle.read()


def _check_contract(contract: Contract) -> None:
    if contract.status in Contract.RUNNING or contract.status == Contract.Status.ENDED:
        raise DomainError(_("Ce contrat est déjà signé."), code="already_signed")
    if contract.status != Contract.Status.AWAITING_SIGNATURE:
        raise DomainError(_("Ce contrat n'attend pas de signature."), code="not_awaiting_signature")
    if not contract.document or not contract.document_sha256:
        raise DomainError(_("Le document du contrat n'est pas encore prêt."), code="no_document")


def _check_signer(contract: Contract, contact: Contact) -> None:
    if contact.organization_id != contract.organization_id or contact.company_id != contract.company_id:
        raise NotFound(_("Contrat introuvable."))
    if not capabilities.can(contact, "sign_contracts"):
        raise RightsError(
            _("Seul un administrateur de l'entreprise peut signer ses contrats : demandez-le à votre administrateur."),
            code="forbidden",
        )


def _lock_signature(signature: Signature) -> Signature:
    return Signature.objects.select_for_update(of=("self",)).select_related("contract", "signer").get(pk=signature.pk)


def _check_pending(signature: Signature) -> None:
    if signature.status == Signature.Status.SIGNED:
        raise DomainError(_("Ce contrat est déjà signé."), code="already_signed")
    if signature.status == Signature.Status.LOCKED:
        raise DomainError(
            _("Trop d'essais : la signature est bloquée. Votre centre doit vous renvoyer le contrat."), code="locked"
        )


def is_locked_out(contract: Contract, contact: Contact) -> bool:
    """A signature of this signer was locked since the contract was last sent for signature."""
    locked = Signature.objects.filter(contract=contract, signer=contact, status=Signature.Status.LOCKED)
    if contract.sent_for_signature_at is not None:
        locked = locked.filter(created_at__gte=contract.sent_for_signature_at)
    return locked.exists()


def seconds_before_resend(signature: Signature, now: datetime.datetime | None = None) -> int:
    if signature.last_sent_at is None:
        return 0
    wait = (signature.last_sent_at + RESEND_DELAY - (now or timezone.now())).total_seconds()
    return max(0, int(wait + 0.999))


def remaining_attempts(signature: Signature) -> int:
    return max(0, MAX_ATTEMPTS - signature.attempts)


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def start_signature(*, contract: Contract, contact: Contact, ip: str | None, user_agent: str) -> Signature:
    """The signer opens the contract: their pending signature (or a new one); event "viewed"."""
    _check_signer(contract, contact)
    contract = Contract.objects.select_for_update(of=("self",)).select_related("terms").get(pk=contract.pk)
    _check_contract(contract)
    if is_locked_out(contract, contact):
        raise DomainError(
            _("Trop d'essais : la signature est bloquée. Votre centre doit vous renvoyer le contrat."), code="locked"
        )
    signature = (
        Signature.objects.select_for_update()
        .filter(contract=contract, signer=contact, status=Signature.Status.PENDING)
        .order_by("-id")
        .first()
    )
    if signature is None:
        signature = Signature.objects.create(
            contract=contract,
            signer=contact,
            document_sha256=contract.document_sha256,
            ip_address=_ip(ip),
            user_agent=_user_agent(user_agent),
        )
        journal.record(
            actor=_actor(contact),
            action="contract.signature_started",
            obj=contract,
            changes={"signer": str(contact), "document_sha256": contract.document_sha256},
        )
    elif signature.document_sha256 != contract.document_sha256:
        # the staff sent a new version: what was accepted before no longer counts
        signature.document_sha256 = contract.document_sha256
        signature.terms_accepted_at = None
        signature.terms_version = None
        signature.code_hash = ""
        signature.code_expires_at = None
        signature.attempts = 0
        signature.save(
            update_fields=[
                "document_sha256", "terms_accepted_at", "terms_version", "code_hash", "code_expires_at", "attempts",
            ]
        )  # fmt: skip
    _event(
        signature, SignatureEvent.Kind.VIEWED, ip=ip, user_agent=user_agent, document_sha256=contract.document_sha256
    )
    signature.contract = contract
    return signature


@transaction.atomic
def accept_terms(*, signature: Signature, ip: str | None, user_agent: str) -> Signature:
    """ "J'ai lu et j'accepte les conditions générales": the CGV version and the time are recorded."""
    signature = _lock_signature(signature)
    _check_pending(signature)
    contract = signature.contract
    _check_contract(contract)
    version = contract.terms.version if contract.terms_id else None
    signature.terms_accepted_at = timezone.now()
    signature.terms_version = version
    signature.save(update_fields=["terms_accepted_at", "terms_version"])
    _event(signature, SignatureEvent.Kind.TERMS_ACCEPTED, ip=ip, user_agent=user_agent, terms_version=version)
    journal.record(
        actor=_actor(signature.signer),
        action="contract.terms_accepted",
        obj=contract,
        changes={"signer": str(signature.signer), "terms_version": version},
    )
    return signature


def send_code(*, signature: Signature, ip: str | None, user_agent: str) -> Signature:
    """A new 6-digit code by SMS to the signer's mobile (else phone). Raises TooManyCodes when asked
    within 60 s of the previous one or more than 5 times."""
    with transaction.atomic():
        signature = _lock_signature(signature)
        _check_pending(signature)
        contract = signature.contract
        _check_contract(contract)
        if signature.terms_accepted_at is None:
            raise ValidationFailed(
                _("Acceptez d'abord les conditions générales."), code="terms_not_accepted", field="accept_terms"
            )
        phone = signer_phone(signature.signer)
        if not phone:
            raise ValidationFailed(
                _("Aucun numéro de mobile n'est enregistré pour vous : demandez à votre centre de l'ajouter."),
                code="no_phone",
                field="code",
            )
        now = timezone.now()
        if signature.sends >= MAX_SENDS:
            raise TooManyCodes(
                _("Vous avez demandé trop de codes. Votre centre doit vous renvoyer le contrat."), retry_after=3600
            )
        wait = seconds_before_resend(signature, now)
        if wait:
            raise TooManyCodes(
                _("Patientez %(seconds)s secondes avant de demander un nouveau code.") % {"seconds": wait},
                retry_after=wait,
            )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        signature.phone = phone
        signature.code_hash = code_hash(signature.pk, code)
        signature.code_expires_at = now + CODE_VALIDITY
        signature.attempts = 0
        signature.sends += 1
        signature.last_sent_at = now
        signature.save(update_fields=["phone", "code_hash", "code_expires_at", "attempts", "sends", "last_sent_at"])
        masked = mask_phone(phone)
        _event(signature, SignatureEvent.Kind.CODE_SENT, ip=ip, user_agent=user_agent, phone=masked)
        journal.record(
            actor=_actor(signature.signer),
            action="contract.signature_code_sent",
            obj=contract,
            changes={"signer": str(signature.signer), "phone": masked},
        )
        try:
            send_sms(
                to=phone,
                body=_("Comptoir : votre code de signature est %(code)s (valable 10 minutes).") % {"code": code},
                organization=contract.organization,
                purpose="contract_signature",
            )
        except SmsError as exc:
            raise DomainError(
                _("Le SMS n'a pas pu être envoyé. Réessayez dans quelques instants."), code="sms_failed"
            ) from exc
    return signature


def confirm_code(*, signature: Signature, code: str, ip: str | None, user_agent: str) -> Contract:
    """Check the code; on success sign and seal the contract (see the module's docstring).

    A wrong or expired code is recorded (attempts, evidence event) in its own committed transaction before
    the error is raised: a caller must not run this inside an outer transaction that the error would roll
    back (the API's @idempotent confirm answers the error instead of raising it), or tries would not count."""
    code = "".join((code or "").split())
    if not (len(code) == CODE_DIGITS and code.isdigit()):
        raise ValidationFailed(_("Saisissez les 6 chiffres reçus par SMS."), code="invalid_code", field="code")
    failure: DomainError | None = None
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=signature.contract_id)
        signature = _lock_signature(signature)
        _check_pending(signature)
        _check_contract(contract)
        if not signature.code_hash or signature.code_expires_at is None:
            raise ValidationFailed(_("Demandez d'abord un code par SMS."), code="no_code", field="code")
        now = timezone.now()
        if now >= signature.code_expires_at:
            _event(signature, SignatureEvent.Kind.CODE_EXPIRED, ip=ip, user_agent=user_agent)
            failure = ValidationFailed(
                _("Ce code a expiré, demandez-en un nouveau."), code="code_expired", field="code"
            )
        elif not hmac.compare_digest(signature.code_hash, code_hash(signature.pk, code)):
            signature.attempts += 1
            _event(signature, SignatureEvent.Kind.CODE_FAILED, ip=ip, user_agent=user_agent, attempt=signature.attempts)
            if signature.attempts >= MAX_ATTEMPTS:
                signature.status = Signature.Status.LOCKED
                signature.code_hash = ""
                signature.save(update_fields=["attempts", "status", "code_hash"])
                _event(signature, SignatureEvent.Kind.LOCKED, ip=ip, user_agent=user_agent)
                journal.record(
                    actor=_actor(signature.signer),
                    action="contract.signature_locked",
                    obj=contract,
                    changes={"signer": str(signature.signer), "attempts": signature.attempts},
                )
                failure = DomainError(
                    _("Trop d'essais : la signature est bloquée. Votre centre doit vous renvoyer le contrat."),
                    code="locked",
                    field="code",
                )
            else:
                signature.save(update_fields=["attempts"])
                remaining = remaining_attempts(signature)
                failure = ValidationFailed(
                    _("Code incorrect. Il vous reste %(count)s essai(s).") % {"count": remaining},
                    code="wrong_code",
                    field="code",
                )
        else:
            return _sign(contract=contract, signature=signature, ip=ip, user_agent=user_agent)
    raise failure


# --------------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------------
def append_pdf(base: bytes, extra: bytes) -> bytes:
    """`base` with the pages of `extra` added as a new revision (incremental update: `base` stays a prefix)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(base), strict=False)
    reader = PdfFileReader(io.BytesIO(extra), strict=False)
    for index in range(int(reader.root["/Pages"]["/Count"])):
        page_ref, _resources = reader.find_page_for_modification(index)
        media_box = page_ref.get_object()["/MediaBox"]
        xobject = writer.import_page_as_xobject(reader, page_ix=index)
        content = writer.add_object(generic.StreamObject(stream_data=b"q /Evidence Do Q"))
        name = generic.pdf_name
        page = generic.DictionaryObject(
            {
                name("/Type"): name("/Page"),
                name("/MediaBox"): generic.ArrayObject([generic.FloatObject(float(v)) for v in media_box]),
                name("/Resources"): generic.DictionaryObject(
                    {name("/XObject"): generic.DictionaryObject({name("/Evidence"): xobject})}
                ),
                name("/Contents"): content,
            }
        )
        writer.insert_page(page)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _when(value: datetime.datetime | None) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M:%S %Z")


def evidence(signature: Signature) -> dict[str, Any]:
    """The evidence of a signature as plain data (the evidence page, the back office, the API)."""
    signer = signature.signer
    return {
        "contract": signature.contract.reference,
        "signer": signer.full_name if hasattr(signer, "full_name") else str(signer),
        "signer_email": signer.email,
        "company": signature.contract.company.name,
        "phone": mask_phone(signature.phone) if signature.phone else "",
        "status": signature.status,
        "terms_version": signature.terms_version,
        "terms_accepted_at": signature.terms_accepted_at,
        "signed_at": signature.signed_at,
        "ip_address": signature.ip_address,
        "user_agent": signature.user_agent,
        "document_sha256": signature.document_sha256,
        "events": [
            {
                "kind": event.kind,
                "label": event.get_kind_display(),
                "at": event.at,
                "ip_address": event.ip_address,
                "user_agent": event.user_agent,
                "detail": event.detail,
            }
            for event in signature.events.all()
        ],
    }


def _evidence_pdf(signature: Signature, contract: Contract) -> bytes:
    data = evidence(signature)
    entity = contract.legal_entity
    address = [
        line
        for line in [
            getattr(entity, "address_line1", ""),
            " ".join(part for part in [getattr(entity, "postal_code", ""), getattr(entity, "city", "")] if part),
        ]
        if line
    ]

    def breakable(value: Any) -> str:
        # long tokens (hashes) may wrap inside the table's cell
        text = str(value)
        return "\u200b".join(text[i : i + 16] for i in range(0, len(text), 16)) if len(text) > 24 else text

    def detail_text(detail: dict[str, Any]) -> str:
        return ", ".join(f"{key} : {breakable(value)}" for key, value in detail.items())

    terms = _("version %(version)s, le %(when)s") % {
        "version": data["terms_version"] if data["terms_version"] is not None else "—",
        "when": _when(data["terms_accepted_at"]),
    }
    rows = [
        [_("Contrat"), data["contract"]],
        [_("Entreprise"), data["company"]],
        [_("Signataire"), f"{data['signer']} <{data['signer_email']}>" if data["signer_email"] else data["signer"]],
        [_("Téléphone (code SMS)"), data["phone"] or "—"],
        [_("Conditions générales acceptées"), terms],
        [_("Signé le"), _when(data["signed_at"])],
        [_("Adresse IP"), data["ip_address"] or "—"],
        [_("Navigateur"), data["user_agent"] or "—"],
        [_("Empreinte SHA-256 du contrat"), data["document_sha256"]],
    ]
    payload = {
        "title": _("Preuve de signature électronique"),
        "subtitle": _("Contrat %(reference)s") % {"reference": contract.reference},
        "issuer": {"name": getattr(entity, "name", contract.organization.name), "address": address, "ids": ""},
        "footer": _("Preuve de signature — %(reference)s") % {"reference": contract.reference},
        "rows": rows,
        "labels": {
            "events": _("Journal de la signature"),
            "event_header": [_("Date"), _("Étape"), _("Adresse IP"), _("Détail")],
        },
        "events": [
            {
                "at": _when(event["at"]),
                "kind": str(event["label"]),
                "ip": event["ip_address"] or "—",
                "detail": detail_text(event["detail"]),
            }
            for event in data["events"]
        ],
        "notice": _(
            "Le signataire a consulté le contrat, accepté les conditions générales puis saisi le code à usage "
            "unique reçu par SMS. Ce document est scellé électroniquement par %(organization)s : toute "
            "modification ultérieure invalide le sceau."
        )
        % {"organization": contract.organization.name},
    }
    return render_pdf("sales/evidence.typ", payload, when=signature.signed_at)


def _sign(*, contract: Contract, signature: Signature, ip: str | None, user_agent: str) -> Contract:
    """Inside confirm_code's transaction, with the contract and the signature locked."""
    if signature.terms_accepted_at is None:
        raise ValidationFailed(
            _("Acceptez d'abord les conditions générales."), code="terms_not_accepted", field="accept_terms"
        )
    if contract.terms_id and signature.terms_version != contract.terms.version:
        raise DomainError(_("Les conditions générales ont changé : acceptez-les de nouveau."), code="terms_changed")
    if Signature.objects.filter(contract=contract, status=Signature.Status.SIGNED).exists():
        raise DomainError(_("Ce contrat est déjà signé."), code="already_signed")
    original = read_file(contract.document)
    document_sha256 = hashlib.sha256(original).hexdigest()
    if document_sha256 != contract.document_sha256 or document_sha256 != signature.document_sha256:
        raise DomainError(
            _("Le contrat a changé depuis son envoi : rechargez la page et relisez-le."), code="document_changed"
        )
    now = timezone.now()
    signature.status = Signature.Status.SIGNED
    signature.signed_at = now
    signature.code_hash = ""
    signature.ip_address = _ip(ip)
    signature.user_agent = _user_agent(user_agent)
    try:
        with transaction.atomic():
            signature.save(update_fields=["status", "signed_at", "code_hash", "ip_address", "user_agent"])
    except IntegrityError as exc:
        raise DomainError(_("Ce contrat est déjà signé."), code="already_signed") from exc
    _event(
        signature,
        SignatureEvent.Kind.SIGNED,
        ip=ip,
        user_agent=user_agent,
        document_sha256=document_sha256,
        terms_version=signature.terms_version,
    )

    signed = seal.seal_pdf(
        contract.organization,
        append_pdf(original, _evidence_pdf(signature, contract)),
        reason=_("Contrat %(reference)s signé par %(signer)s")
        % {"reference": contract.reference, "signer": str(signature.signer)},
    )
    before = journal.snapshot(contract, ["status", "signer", "signed_at"])
    contract.signed_document.save(f"{contract.reference}-signe.pdf", ContentFile(signed), save=False)
    contract.signed_document_sha256 = hashlib.sha256(signed).hexdigest()
    contract.status = Contract.Status.SIGNED
    contract.signed_at = now
    contract.signer = signature.signer
    contract.updated_at = now
    contract.save(
        update_fields=["signed_document", "signed_document_sha256", "status", "signed_at", "signer", "updated_at"]
    )
    changes = journal.diff(before, journal.snapshot(contract, ["status", "signer", "signed_at"]))
    changes["signed_document_sha256"] = contract.signed_document_sha256
    changes["document_sha256"] = document_sha256
    journal.record(
        actor=_actor(signature.signer),
        action="contract.signed",
        obj=contract,
        changes=changes,
        message=_("Signé par SMS (code envoyé au %(phone)s)") % {"phone": mask_phone(signature.phone)},
    )
    reason = _("Contrat %(reference)s signé") % {"reference": contract.reference}
    company = Company.objects.get(pk=contract.company_id)
    if company.kind == Company.Kind.PROSPECT and not company.is_archived:
        from comptoir.crm.services.companies import convert_to_client

        convert_to_client(company=company, by=None, reason=reason)
    opportunity_id = contract.opportunity_id or (contract.quote.opportunity_id if contract.quote_id else None)
    if opportunity_id:
        opportunity = Opportunity.objects.get(pk=opportunity_id)
        if opportunity.stage != Opportunity.Stage.WON:
            from comptoir.crm.services.pipeline import move_opportunity

            move_opportunity(opportunity=opportunity, by=None, stage=Opportunity.Stage.WON)
    events.publish("contract.signed", contract=contract, by=None)
    return contract
