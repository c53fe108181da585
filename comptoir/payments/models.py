"""Payments (frontmanager §7, « Espace client » §2, desk « Suivi des paiements », clients-prospects): payments
received and their allocation to invoices, the companies' credit balances, payment links and card checkout,
SEPA mandates and direct-debit batches, provider webhook events, reminders.

Money never disappears: a payment is reversed (a bounced cheque, a returned debit), never deleted; what a payment
does not allocate is its company's credit balance. An invoice's settlement (`amount_paid`, `payment_status`) is
kept on the invoice by billing's `settle` service, called by `comptoir.payments.services` after each change.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.billing.models import Invoice
from comptoir.core import validators
from comptoir.core.models import LegalEntity, Organization, TenantModel
from comptoir.crm.models import Company, Contact

MONEY = {"max_digits": 14, "decimal_places": 2}
CENT = Decimal("0.01")


class Method(models.TextChoices):
    TRANSFER = "transfer", _("Virement")
    CHEQUE = "cheque", _("Chèque")
    CASH = "cash", _("Espèces")
    CARD = "card", _("Carte bancaire")
    DIRECT_DEBIT = "direct_debit", _("Prélèvement SEPA")
    OTHER = "other", _("Autre")


class Provider(models.TextChoices):
    MANUAL = "manual", _("Manuel (hors ligne)")
    STRIPE = "stripe", _("Stripe")


class PaymentProfile(models.Model):
    """An organization's payment settings: the card provider and its Stripe Connect account, the reminder
    schedule, how many days ahead debtors are told of a direct debit."""

    class StripeStatus(models.TextChoices):
        NONE = "none", _("Non activé")
        PENDING = "pending", _("À finaliser")
        ACTIVE = "active", _("Activé")

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="payment_profile")
    provider = models.CharField(_("paiement en ligne"), max_length=10, choices=Provider.choices,
                                default=Provider.MANUAL)  # fmt: skip
    stripe_account_id = models.CharField(_("compte Stripe Connect"), max_length=100, blank=True)
    stripe_status = models.CharField(_("état du compte Stripe"), max_length=10, choices=StripeStatus.choices,
                                     default=StripeStatus.NONE)  # fmt: skip
    # [{"days": 7, "channel": "email"}, {"days": 15, "channel": "email"}, {"days": 30, "channel": "letter"}]
    reminder_schedule = models.JSONField(_("relances automatiques"), default=list, blank=True)
    reminders_enabled = models.BooleanField(_("relances automatiques activées"), default=True)
    prenotification_days = models.PositiveSmallIntegerField(_("pré-notification des prélèvements (jours)"),
                                                            default=5)  # fmt: skip
    staff_email = models.EmailField(_("e-mail des avis de paiement"), blank=True)

    class Meta:
        verbose_name = _("paramètres de paiement")
        verbose_name_plural = _("paramètres de paiement")
        default_permissions = ("view", "change")

    def __str__(self) -> str:
        return str(self.organization)


DEFAULT_REMINDER_SCHEDULE = [
    {"days": 7, "channel": "email"},
    {"days": 15, "channel": "email"},
    {"days": 30, "channel": "letter"},
]


class Payment(TenantModel):
    """Money received from a company: allocated to invoices (`Allocation`), the rest is its credit balance."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Reçu")
        IN_COLLECTION = "in_collection", _("En cours d'encaissement")
        REVERSED = "reversed", _("Rejeté / annulé")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="payments", verbose_name=_("client"))
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("entité bénéficiaire"))  # fmt: skip
    method = models.CharField(_("moyen de paiement"), max_length=15, choices=Method.choices)
    amount = models.DecimalField(_("montant"), **MONEY, validators=[MinValueValidator(CENT)])
    received_on = models.DateField(_("reçu le"))
    reference = models.CharField(_("référence"), max_length=140, blank=True)
    payer = models.CharField(_("payeur"), max_length=200, blank=True)
    notes = models.CharField(_("commentaire"), max_length=255, blank=True)
    status = models.CharField(_("statut"), max_length=15, choices=Status.choices, default=Status.RECEIVED)
    provider = models.CharField(_("prestataire"), max_length=10, choices=Provider.choices, default=Provider.MANUAL)
    provider_reference = models.CharField(_("référence du prestataire"), max_length=255, blank=True)
    reversed_on = models.DateField(_("rejeté le"), null=True, blank=True)
    reversal_reason = models.CharField(_("motif du rejet"), max_length=255, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")  # fmt: skip
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("saisi par"))  # fmt: skip
    created_at = models.DateTimeField(_("saisi le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(fields=["organization", "provider", "provider_reference"],
                                    condition=~Q(provider_reference=""), name="payment_unique_provider_reference"),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["organization", "-received_on", "-id"], name="payment_org_received_idx"),
            models.Index(fields=["company", "status"], name="payment_company_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} € ({self.received_on:%d/%m/%Y})"

    def get_absolute_url(self) -> str:
        return reverse("payments:payment_detail", args=[self.pk])

    @property
    def is_reversed(self) -> bool:
        return self.status == self.Status.REVERSED


class Allocation(models.Model):
    """Part of a payment applied to an invoice. Never deleted: a reversed payment's allocations stop counting."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations",
                                verbose_name=_("facture"))  # fmt: skip
    amount = models.DecimalField(_("montant"), **MONEY, validators=[MinValueValidator(CENT)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("affecté le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("affectation")
        verbose_name_plural = _("affectations")
        ordering = ["created_at", "id"]
        default_permissions = ()
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} € → {self.invoice}"


class PaymentLink(TenantModel):
    """A link to pay all or part of an invoice by card, until it expires. Only the token's SHA-256 is kept."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Actif")
        PAID = "paid", _("Payé")
        CANCELLED = "cancelled", _("Annulé")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payment_links",
                                verbose_name=_("facture"))  # fmt: skip
    amount = models.DecimalField(_("montant"), **MONEY, validators=[MinValueValidator(CENT)])
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expire le"))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    provider = models.CharField(_("prestataire"), max_length=10, choices=Provider.choices, default=Provider.MANUAL)
    checkout_session_id = models.CharField(_("session de paiement"), max_length=255, blank=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    paid_at = models.DateTimeField(_("payé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("lien de paiement")
        verbose_name_plural = _("liens de paiement")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="paymentlink_amount_positive")]

    def __str__(self) -> str:
        return f"{self.invoice} {self.amount} €"

    def is_usable(self, now: timezone.datetime | None = None) -> bool:
        return self.status == self.Status.ACTIVE and (now or timezone.now()) < self.expires_at


class Mandate(TenantModel):
    """A SEPA direct-debit mandate of a company (its unique reference, RUM), signed in the portal by SMS code."""

    class Scheme(models.TextChoices):
        CORE = "CORE", _("CORE (particuliers et entreprises)")
        B2B = "B2B", _("B2B (entreprises)")

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de signature")
        ACTIVE = "active", _("Actif")
        REVOKED = "revoked", _("Révoqué")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="mandates", verbose_name=_("client"))
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("créancier"))  # fmt: skip
    reference = models.CharField(_("référence unique du mandat (RUM)"), max_length=35)
    account_holder = models.CharField(_("titulaire du compte"), max_length=140)
    iban = models.CharField(_("IBAN"), max_length=34, validators=[validators.validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validators.validate_bic])
    scheme = models.CharField(_("type de prélèvement"), max_length=4, choices=Scheme.choices, default=Scheme.CORE)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PENDING)
    signer = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("signataire"))  # fmt: skip
    signed_on = models.DateField(_("signé le"), null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signature_evidence = models.JSONField(default=dict, blank=True)
    code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sends = models.PositiveSmallIntegerField(default=0)
    first_collected_on = models.DateField(_("premier prélèvement le"), null=True, blank=True)
    revoked_on = models.DateField(_("révoqué le"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mandat SEPA")
        verbose_name_plural = _("mandats SEPA")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"], name="mandate_unique_reference"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def masked_iban(self) -> str:
        return f"{self.iban[:4]} •••• {self.iban[-4:]}" if self.iban else ""


class DebitBatch(TenantModel):
    """A direct-debit batch of one creditor (legal entity): its pain.008 file, sent to the bank, then its return."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Préparé")
        SENT = "sent", _("Envoyé à la banque")
        CLOSED = "closed", _("Retour de la banque importé")

    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("créancier"))  # fmt: skip
    reference = models.CharField(_("référence"), max_length=35)
    collection_date = models.DateField(_("date de prélèvement"))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    count = models.PositiveIntegerField(_("prélèvements"), default=0)
    total = models.DecimalField(_("total"), **MONEY, default=Decimal("0.00"))
    file = models.FileField(_("fichier pain.008"), upload_to="debits/", blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    notified_at = models.DateTimeField(_("débiteurs prévenus le"), null=True, blank=True)

    class Meta:
        verbose_name = _("lot de prélèvements")
        verbose_name_plural = _("lots de prélèvements")
        ordering = ["-collection_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"], name="debitbatch_unique_reference")
        ]

    def __str__(self) -> str:
        return self.reference


class DebitItem(models.Model):
    """One debit of a batch: an invoice's amount due, collected under a mandate (FRST the first time, RCUR after)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        IN_COLLECTION = "in_collection", _("En cours d'encaissement")
        REJECTED = "rejected", _("Rejeté")

    batch = models.ForeignKey(DebitBatch, on_delete=models.PROTECT, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="debit_items")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="debit_items")
    amount = models.DecimalField(_("montant"), **MONEY, validators=[MinValueValidator(CENT)])
    sequence_type = models.CharField(_("séquence"), max_length=4)  # FRST, RCUR
    end_to_end_id = models.CharField(max_length=35)
    status = models.CharField(_("statut"), max_length=15, choices=Status.choices, default=Status.PENDING)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="debit_item")
    reject_reason = models.CharField(_("motif du rejet"), max_length=10, blank=True)
    rejected_on = models.DateField(_("rejeté le"), null=True, blank=True)

    class Meta:
        verbose_name = _("prélèvement")
        verbose_name_plural = _("prélèvements")
        ordering = ["id"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["batch", "end_to_end_id"], name="debititem_unique_e2e")]

    def __str__(self) -> str:
        return self.end_to_end_id


class ProviderEvent(models.Model):
    """A webhook event of a payment provider, applied once per event id (DESIGN.md invariant 7)."""

    provider = models.CharField(max_length=10, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="providerevent_unique_id")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class Reminder(TenantModel):
    """A payment reminder of an invoice: manual (level 0, as often as needed) or a step of the automatic
    schedule (level 1, 2, 3..., each sent once), with the late-payment penalties computed on its date."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Lettre recommandée (PDF)")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("facture"))
    level = models.PositiveSmallIntegerField(_("niveau"), default=0)
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    sent_on = models.DateField(_("envoyée le"))
    days_late = models.PositiveIntegerField(_("jours de retard"), default=0)
    amount_due = models.DecimalField(_("reste dû"), **MONEY)
    penalty = models.DecimalField(_("pénalités de retard"), **MONEY, default=Decimal("0.00"))
    indemnity = models.DecimalField(_("indemnité forfaitaire"), **MONEY, default=Decimal("0.00"))
    recipient = models.CharField(_("destinataire"), max_length=254, blank=True)
    document = models.FileField(_("lettre (PDF)"), upload_to="reminders/", blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("relance")
        verbose_name_plural = _("relances")
        ordering = ["sent_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], condition=Q(level__gt=0),
                                    name="reminder_once_per_level"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.invoice} #{self.level}"
