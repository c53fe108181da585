"""Sales: quotes with up to four alternative offers (the quote builder, frontmanager §5), contracts and
their versions (§6), general terms (CGV) per organization, and the SMS-code e-signature ("Espace client" §1).

Prices are snapshots (DESIGN.md invariant 11): every offer line and contract line stores its unit price
and the price breakdown it was made with; later catalog changes only affect new documents.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import Product, ServiceType, Space, VatRate
from comptoir.core.models import Center, LegalEntity, TenantModel
from comptoir.crm.models import Company, Contact, Opportunity

MONEY = {"max_digits": 12, "decimal_places": 2}
MAX_OFFERS = 4


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", _("Virement")
    DIRECT_DEBIT = "direct_debit", _("Prélèvement SEPA")
    CARD = "card", _("Carte bancaire")
    CHEQUE = "cheque", _("Chèque")
    CASH = "cash", _("Espèces")


class Terms(TenantModel):
    """The general terms of sale (CGV) of an organization, versioned: a contract keeps the version it was
    signed with."""

    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("titre"), max_length=200, default=_("Conditions générales de vente"))
    body = models.TextField(_("texte"))
    published_at = models.DateTimeField(_("publiée le"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("conditions générales")
        verbose_name_plural = _("conditions générales")
        ordering = ["-version", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "version"], name="terms_unique_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


# --------------------------------------------------------------------------------------------------
# Quotes
# --------------------------------------------------------------------------------------------------
class Quote(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SENT = "sent", _("Envoyé")
        ACCEPTED = "accepted", _("Accepté")
        REFUSED = "refused", _("Refusé")
        EXPIRED = "expired", _("Expiré")

    number = models.PositiveIntegerField(_("numéro"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("entreprise"))
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes",
        verbose_name=_("opportunité"),
    )  # fmt: skip
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("centre"))
    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="+", verbose_name=_("entité émettrice")
    )
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(_("objet"), max_length=200, blank=True)
    valid_until = models.DateField(_("valable jusqu'au"))
    notes = models.TextField(_("conditions particulières"), blank=True)
    chosen_offer = models.ForeignKey(
        "Offer", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("offre retenue")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("créé par")
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    refusal_reason = models.CharField(_("motif du refus"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("devis")
        verbose_name_plural = _("devis")
        ordering = ["-number", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="quote_unique_number")]
        indexes = [models.Index(fields=["organization", "status", "valid_until"], name="quote_org_status_idx")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"DV-{self.number:06d}"

    def get_absolute_url(self) -> str:
        return reverse("sales:quote_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class Offer(models.Model):
    """One of the (up to four) alternative solutions of a quote."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="offers", verbose_name=_("devis"))
    position = models.PositiveSmallIntegerField(
        _("position"), validators=[MinValueValidator(1), MaxValueValidator(MAX_OFFERS)]
    )
    title = models.CharField(_("intitulé"), max_length=160)
    service_type = models.CharField(_("service principal"), max_length=20, choices=ServiceType.choices)
    term_months = models.PositiveSmallIntegerField(
        _("engagement (mois)"), default=12, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    start_date = models.DateField(_("date de début"))
    deposit = models.DecimalField(_("dépôt de garantie"), **MONEY, default=Decimal("0.00"),
                                  validators=[MinValueValidator(0)])  # fmt: skip
    # totals of the monthly lines (frozen with the lines)
    monthly_excl_vat = models.DecimalField(_("total mensuel HT"), **MONEY, default=Decimal("0.00"))
    monthly_vat = models.DecimalField(_("TVA mensuelle"), **MONEY, default=Decimal("0.00"))
    monthly_incl_vat = models.DecimalField(_("total mensuel TTC"), **MONEY, default=Decimal("0.00"))
    one_off_excl_vat = models.DecimalField(_("frais uniques HT"), **MONEY, default=Decimal("0.00"))

    class Meta:
        verbose_name = _("offre")
        verbose_name_plural = _("offres")
        ordering = ["position", "id"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["quote", "position"], name="offer_unique_position")]

    def __str__(self) -> str:
        return self.title


class PricedLine(models.Model):
    """A line with a frozen price: what an offer or a contract is made of."""

    class Kind(models.TextChoices):
        SPACE = "space", _("Espace")
        SERVICE = "service", _("Service principal")
        OPTION = "option", _("Option mensuelle")
        ONE_OFF = "one_off", _("Frais unique")

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    space = models.ForeignKey(Space, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("espace"))  # fmt: skip
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("article"))  # fmt: skip
    description = models.CharField(_("désignation"), max_length=255)
    quantity = models.DecimalField(_("quantité"), max_digits=10, decimal_places=2, default=Decimal("1"),
                                   validators=[MinValueValidator(Decimal("0.01"))])  # fmt: skip
    unit_price = models.DecimalField(_("prix unitaire HT"), **MONEY)  # after grid and discounts
    vat_rate = models.CharField(_("taux de TVA"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    vat_exemption_reason = models.CharField(_("motif d'exonération"), max_length=200, blank=True)
    accounting_code = models.CharField(_("code comptable"), max_length=20, blank=True)
    amount_excl_vat = models.DecimalField(_("montant HT"), **MONEY)  # quantity × unit price, to the cent
    is_recurring = models.BooleanField(_("mensuel"), default=True)
    breakdown = models.JSONField(_("détail du prix"), default=dict)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.description


class OfferLine(PricedLine):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="lines", verbose_name=_("offre"))

    class Meta:
        verbose_name = _("ligne d'offre")
        verbose_name_plural = _("lignes d'offre")
        ordering = ["position", "id"]
        default_permissions = ()


# --------------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------------
class Contract(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        AWAITING_SIGNATURE = "awaiting_signature", _("En attente de signature")
        SIGNED = "signed", _("Signé")
        ACTIVE = "active", _("Actif")
        NOTICE_GIVEN = "notice_given", _("Préavis donné")
        ENDED = "ended", _("Terminé")
        CANCELLED = "cancelled", _("Annulé")

    class Renewal(models.TextChoices):
        TACIT = "tacit", _("Reconduction tacite par période d'engagement")
        MONTHLY = "monthly", _("Reconduction tacite mois par mois")
        NONE = "none", _("Sans reconduction")

    number = models.PositiveIntegerField(_("numéro"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="contracts",
                                verbose_name=_("entreprise"))  # fmt: skip
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("entité émettrice"))  # fmt: skip
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("centre"))
    quote = models.ForeignKey(Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts",
                              verbose_name=_("devis"))  # fmt: skip
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts",
                              verbose_name=_("offre"))  # fmt: skip
    opportunity = models.ForeignKey(Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("opportunité"))  # fmt: skip
    status = models.CharField(_("statut"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    service_type = models.CharField(_("service principal"), max_length=20, choices=ServiceType.choices)
    start_date = models.DateField(_("date de début"))
    commitment_end = models.DateField(_("fin d'engagement"))
    end_date = models.DateField(_("date de fin"), null=True, blank=True)
    notice_months = models.PositiveSmallIntegerField(_("préavis (mois)"), default=3,
                                                     validators=[MaxValueValidator(24)])  # fmt: skip
    renewal = models.CharField(_("reconduction"), max_length=10, choices=Renewal.choices, default=Renewal.TACIT)
    deposit = models.DecimalField(_("dépôt de garantie"), **MONEY, default=Decimal("0.00"),
                                  validators=[MinValueValidator(0)])  # fmt: skip
    billing_day = models.PositiveSmallIntegerField(_("jour de facturation"), default=1,
                                                   validators=[MinValueValidator(1), MaxValueValidator(28)])  # fmt: skip
    payment_method = models.CharField(_("mode de paiement"), max_length=20, choices=PaymentMethod.choices,
                                      blank=True, help_text=_("Vide : celui de l'entreprise."))  # fmt: skip
    terms = models.ForeignKey(Terms, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("conditions générales"))  # fmt: skip
    version = models.PositiveIntegerField(_("version"), default=1)
    signer = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("signataire"))  # fmt: skip
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("créé par"))  # fmt: skip
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    sent_for_signature_at = models.DateTimeField(_("envoyé pour signature le"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signé le"), null=True, blank=True)
    notice_given_at = models.DateField(_("préavis donné le"), null=True, blank=True)
    # documents: the PDF to sign (its hash is what the signer approves) and the sealed, signed PDF
    document = models.FileField(_("contrat (PDF)"), upload_to="contracts/", blank=True)
    document_sha256 = models.CharField(_("empreinte SHA-256 du contrat"), max_length=64, blank=True)
    signed_document = models.FileField(_("contrat signé (PDF)"), upload_to="contracts/", blank=True)
    signed_document_sha256 = models.CharField(_("empreinte SHA-256 du contrat signé"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("contrat")
        verbose_name_plural = _("contrats")
        ordering = ["-number", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="contract_unique_number"),
            models.CheckConstraint(
                condition=Q(commitment_end__gte=models.F("start_date")), name="contract_commitment_after_start"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="contract_org_status_idx")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"CT-{self.number:06d}"

    def get_absolute_url(self) -> str:
        return reverse("sales:contract_detail", args=[self.pk])

    RUNNING = (Status.SIGNED, Status.ACTIVE, Status.NOTICE_GIVEN)


class ContractLine(PricedLine):
    """A line of a contract, valid from `start_date` to `end_date` (amendments close lines and open new ones)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines", verbose_name=_("contrat"))
    start_date = models.DateField(_("début"))
    end_date = models.DateField(_("fin"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("ligne de contrat")
        verbose_name_plural = _("lignes de contrat")
        ordering = ["position", "id"]
        default_permissions = ()
        indexes = [models.Index(fields=["space", "start_date"], name="contractline_space_start_idx")]


class Amendment(models.Model):
    """A new version of a contract: what it changes and from when."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="amendments")
    version = models.PositiveIntegerField(_("version"))
    effective_date = models.DateField(_("date d'effet"))
    summary = models.CharField(_("résumé"), max_length=255)
    changes = models.JSONField(_("modifications"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("avenant")
        verbose_name_plural = _("avenants")
        ordering = ["version", "id"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["contract", "version"], name="amendment_unique_version")]

    def __str__(self) -> str:
        return f"{self.contract} v{self.version}"


class ContractPause(models.Model):
    """Days a running contract is suspended (the client is away, works are under way...): its recurring lines
    are not billed for them, the parts around the pause are prorated. A pause is cancelled, never deleted."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="pauses", verbose_name=_("contrat"))
    start_date = models.DateField(_("début de la pause"))
    end_date = models.DateField(_("fin de la pause"))
    reason = models.CharField(_("motif"), max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    cancelled_at = models.DateTimeField(_("annulée le"), null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")  # fmt: skip

    class Meta:
        verbose_name = _("pause de contrat")
        verbose_name_plural = _("pauses de contrat")
        ordering = ["start_date", "id"]
        default_permissions = ()
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="pause_end_after_start"),
        ]
        indexes = [models.Index(fields=["contract", "start_date"], name="contractpause_contract_idx")]

    def __str__(self) -> str:
        return f"{self.contract} {self.start_date}–{self.end_date}"

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


# --------------------------------------------------------------------------------------------------
# E-signature
# --------------------------------------------------------------------------------------------------
class Signature(models.Model):
    """A signer's signature of a contract: the one-time codes (hashed) and the evidence."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En cours")
        SIGNED = "signed", _("Signé")
        LOCKED = "locked", _("Bloqué")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+", verbose_name=_("signataire"))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PENDING)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sends = models.PositiveSmallIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    terms_version = models.PositiveIntegerField(null=True, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=Q(status="signed"), name="signature_one_signed_per_contract"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} — {self.signer}"


class SignatureEvent(models.Model):
    """Append-only evidence: each step of a signature (terms accepted, code sent, code checked...)."""

    class Kind(models.TextChoices):
        VIEWED = "viewed", _("Contrat consulté")
        TERMS_ACCEPTED = "terms_accepted", _("Conditions acceptées")
        CODE_SENT = "code_sent", _("Code envoyé")
        CODE_FAILED = "code_failed", _("Code erroné")
        CODE_EXPIRED = "code_expired", _("Code expiré")
        LOCKED = "locked", _("Trop d'essais")
        SIGNED = "signed", _("Signé")

    signature = models.ForeignKey(Signature, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M:%S}"


class SealingCertificate(TenantModel):
    """The organization's key and self-signed X.509 certificate that seal signed contracts (comptoir.sales.seal).

    Generated on first use; the private key is stored as PKCS#8 PEM encrypted with a key derived from
    settings.SECRET_KEY (rotating SECRET_KEY makes it unreadable: a new certificate is then generated, and
    documents sealed before still verify against the stored certificate). Production may instead point
    settings.COMPTOIR_SEAL_PKCS12 to a PKCS#12 file issued by a real CA (see comptoir.sales.seal).
    """

    certificate_pem = models.TextField(_("certificat (PEM)"))
    private_key_pem = models.TextField(_("clé privée chiffrée (PEM)"))
    fingerprint_sha256 = models.CharField(_("empreinte SHA-256 du certificat"), max_length=64)
    not_before = models.DateTimeField(_("valide du"))
    not_after = models.DateTimeField(_("valide jusqu'au"))
    is_current = models.BooleanField(_("en cours"), default=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("certificat de scellement")
        verbose_name_plural = _("certificats de scellement")
        ordering = ["-id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(is_current=True), name="sealingcertificate_one_current_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.fingerprint_sha256[:16]}"
