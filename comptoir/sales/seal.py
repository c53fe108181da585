"""Sealing signed contracts: a PAdES signature of the organization over the whole signed PDF (pyHanko).

Each organization has its own key and self-signed X.509 certificate (CN = the organization's name, valid
ten years), generated with `cryptography` on first use and stored in `SealingCertificate`: the private key
is PKCS#8 PEM encrypted with a key derived from settings.SECRET_KEY (HMAC-SHA256 of the organization id).

Production may use a certificate issued by a real CA instead: set `COMPTOIR_SEAL_PKCS12` to the path of a
PKCS#12 file (and `COMPTOIR_SEAL_PKCS12_PASSWORD` to its password); every organization then seals with it,
and verification trusts that certificate.

    sealed = seal_pdf(organization, pdf_bytes)
    result = verify_sealed_pdf(organization, sealed)   # VerificationResult(intact, signed_by, signed_at, message)

The seal covers every byte of the document but the signature itself: any change to a sealed file (even
one byte) makes the verification fail.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from comptoir.core.models import Organization
from comptoir.sales.models import SealingCertificate

logger = logging.getLogger("comptoir.seal")

FIELD_NAME = "Comptoir"
VALIDITY_DAYS = 3653  # ten years


class SealError(RuntimeError):
    """The document could not be sealed (a bug or a broken configuration, never the user's input)."""


@dataclass(frozen=True)
class VerificationResult:
    intact: bool
    signed_by: str
    signed_at: datetime.datetime | None
    message: str


# --------------------------------------------------------------------------------------------------
# Keys and certificates
# --------------------------------------------------------------------------------------------------
def _key_password(organization_id: int) -> bytes:
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"comptoir-seal:{organization_id}".encode(), hashlib.sha256).hexdigest().encode()


def _generate(organization: Organization) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, (organization.name or organization.slug)[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, (organization.name or organization.slug)[:64]),
        ]
    )
    now = timezone.now().replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _create_certificate(organization: Organization) -> SealingCertificate:
    certificate, key = _generate(organization)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_key_password(organization.pk)),
    )
    try:
        with transaction.atomic():
            return SealingCertificate.objects.create(
                organization=organization,
                certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
                private_key_pem=pem.decode(),
                fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
            )
    except IntegrityError:  # another request created it first
        return SealingCertificate.objects.get(organization=organization, is_current=True)


def sealing_certificate(organization: Organization) -> SealingCertificate:
    """The organization's current sealing certificate, generated on first use (or when it expired or
    its key can no longer be read after a SECRET_KEY change)."""
    current = SealingCertificate.objects.filter(organization=organization, is_current=True).first()
    if current is not None:
        usable = current.not_after > timezone.now()
        if usable:
            try:
                _load_key(current)
            except (ValueError, TypeError):
                usable = False
        if usable:
            return current
        SealingCertificate.objects.filter(pk=current.pk).update(is_current=False)
        logger.warning("Sealing certificate %s of %s replaced", current.pk, organization.slug)
    return _create_certificate(organization)


def _load_key(record: SealingCertificate) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(  # type: ignore[return-value]
        record.private_key_pem.encode(), password=_key_password(record.organization_id)
    )


def _pkcs12() -> tuple[bytes, bytes] | None:
    """(key DER, certificate DER) of settings.COMPTOIR_SEAL_PKCS12, when set."""
    path = getattr(settings, "COMPTOIR_SEAL_PKCS12", "")
    if not path:
        return None
    password = getattr(settings, "COMPTOIR_SEAL_PKCS12_PASSWORD", "") or None
    key, certificate, _chain = pkcs12.load_key_and_certificates(
        Path(path).read_bytes(), password.encode() if password else None
    )
    if key is None or certificate is None:
        raise SealError(f"No key or certificate in {path}")
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_der, certificate.public_bytes(serialization.Encoding.DER)


def _signer(organization: Organization) -> signers.SimpleSigner:
    configured = _pkcs12()
    if configured is not None:
        key_der, cert_der = configured
    else:
        record = sealing_certificate(organization)
        key = _load_key(record)
        key_der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        cert_der = x509.load_pem_x509_certificate(record.certificate_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
    certificate = asn1_x509.Certificate.load(cert_der)
    return signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )


def trusted_certificates(organization: Organization) -> list[asn1_x509.Certificate]:
    """Every certificate the organization ever sealed with (or the configured PKCS#12 one)."""
    configured = _pkcs12()
    if configured is not None:
        return [asn1_x509.Certificate.load(configured[1])]
    return [
        asn1_x509.Certificate.load(
            x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
        )
        for pem in SealingCertificate.objects.filter(organization=organization).values_list(
            "certificate_pem", flat=True
        )
    ]


# --------------------------------------------------------------------------------------------------
# Seal and verify
# --------------------------------------------------------------------------------------------------
def seal_pdf(organization: Organization, pdf_bytes: bytes, *, reason: str = "") -> bytes:
    """The PDF with an invisible PAdES baseline signature field "Comptoir" of the organization."""
    signer = _signer(organization)
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or _("Scellement du contrat signé"),
        name=organization.name,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        output = signers.PdfSigner(metadata, signer=signer).sign_pdf(writer)
    except Exception as exc:  # pyHanko raises several types; all mean "not sealed"
        raise SealError(f"Sealing failed: {exc}") from exc
    return output.getvalue()


def verify_sealed_pdf(organization: Organization, pdf_bytes: bytes) -> VerificationResult:
    """Check the seal: the signed bytes are unchanged, nothing was added after, and the signer is the
    organization's certificate. Never raises: a broken or foreign file is reported as not intact."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        seals = [sig for sig in reader.embedded_signatures if sig.field_name == FIELD_NAME]
    except Exception:  # an unreadable file
        return VerificationResult(False, "", None, _("Ce fichier n'est pas un PDF lisible."))
    if not seals:
        return VerificationResult(False, "", None, _("Ce document ne porte pas le sceau électronique."))
    seal = seals[-1]
    try:
        context = ValidationContext(trust_roots=trusted_certificates(organization), allow_fetching=False)
        status = validate_pdf_signature(seal, context)
    except Exception as exc:
        logger.info("Seal validation error: %s", exc)
        return VerificationResult(False, "", None, _("Le sceau électronique est invalide : le document a été modifié."))
    signed_by = ""
    try:
        signed_by = status.signing_cert.subject.native.get("common_name", "")
    except Exception:  # pragma: no cover - a certificate without a subject
        signed_by = ""
    signed_at = status.signer_reported_dt
    covers_all = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not status.intact or not status.valid:
        return VerificationResult(
            False, signed_by, signed_at, _("Le sceau électronique est invalide : le document a été modifié.")
        )
    if not status.trusted:
        return VerificationResult(
            False, signed_by, signed_at, _("Le sceau électronique n'est pas celui de votre organisation.")
        )
    if not covers_all:
        return VerificationResult(False, signed_by, signed_at, _("Le document a été modifié après son scellement."))
    return VerificationResult(True, signed_by, signed_at, _("Le sceau électronique est valide."))
