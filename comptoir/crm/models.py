"""CRM: companies (prospects and clients), their contacts (members), opportunities, activities, notes,
actions (dated tasks), marketing sources and the per-organization list of job functions."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core import validators
from comptoir.core.models import Address, Center, TenantModel

NON_DIGITS = re.compile(r"\D+")


def phone_digits(phone: str) -> str:
    """The digits of a phone number in national form, for search: "+33 6 12 34" → "0612 34" → "061234"."""
    digits = NON_DIGITS.sub("", phone or "")
    if phone and phone.strip().startswith("+33") and digits.startswith("33"):
        digits = "0" + digits[2:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits


class MarketingSource(TenantModel):
    """An acquisition channel ("Marketing → Sources") whose leads, wins and ROI are measured."""

    class Channel(models.TextChoices):
        SOCIAL = "social", _("Réseaux sociaux")
        TRADE_SHOW = "trade_show", _("Salon")
        WORD_OF_MOUTH = "word_of_mouth", _("Bouche-à-oreille")
        WEBSITE = "website", _("Site web")
        ADVERTISING = "advertising", _("Publicité")
        BROKER = "broker", _("Apporteur d'affaires")
        EMAILING = "emailing", _("E-mailing")
        OTHER = "other", _("Autre")

    class CostPeriod(models.TextChoices):
        ONE_OFF = "one_off", _("Ponctuel")
        MONTH = "month", _("Par mois")
        QUARTER = "quarter", _("Par trimestre")
        YEAR = "year", _("Par an")

    name = models.CharField(_("nom"), max_length=120)
    channel = models.CharField(_("canal"), max_length=20, choices=Channel.choices, default=Channel.OTHER)
    cost = models.DecimalField(
        _("coût"), max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    cost_period = models.CharField(
        _("période du coût"), max_length=10, choices=CostPeriod.choices, default=CostPeriod.MONTH
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("source marketing")
        verbose_name_plural = _("sources marketing")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="marketingsource_unique_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("crm:marketingsource_detail", args=[self.pk])


class JobFunction(TenantModel):
    """A contact's function (Commercial, Technique, Administratif, Facturation...): customizable per organization."""

    name = models.CharField(_("nom"), max_length=80)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("fonction")
        verbose_name_plural = _("fonctions")
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="jobfunction_unique_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class Company(TenantModel, Address):
    """A prospect or a client (a company, or an individual such as a freelancer)."""

    class Kind(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CLIENT = "client", _("Client")

    class LegalType(models.TextChoices):
        COMPANY = "company", _("Entreprise")
        INDIVIDUAL = "individual", _("Particulier / indépendant")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Actif")
        PROSPECT = "prospect", _("Prospect")
        INACTIVE = "inactive", _("Inactif")
        SUSPENDED = "suspended", _("Suspendu")

    class PaymentMethod(models.TextChoices):
        TRANSFER = "transfer", _("Virement")
        DIRECT_DEBIT = "direct_debit", _("Prélèvement SEPA")
        CARD = "card", _("Carte bancaire")
        CHEQUE = "cheque", _("Chèque")
        CASH = "cash", _("Espèces")

    class DeliveryMethod(models.TextChoices):
        EMAIL_PDF = "email_pdf", _("E-mail avec la facture en pièce jointe")
        EMAIL_NOTIFICATION = "email_notification", _("E-mail de notification (facture dans l'espace client)")
        CHORUS_PRO = "chorus_pro", _("Export Chorus Pro")
        GOCARDLESS = "gocardless", _("Export GoCardless")

    REFERENCE_PREFIX = {Kind.PROSPECT: "PR", Kind.CLIENT: "CL"}

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.PROSPECT)
    legal_type = models.CharField(_("nature"), max_length=12, choices=LegalType.choices, default=LegalType.COMPANY)
    number = models.PositiveIntegerField(_("numéro"), editable=False)
    name = models.CharField(_("raison sociale"), max_length=200)
    legal_form = models.CharField(_("forme juridique"), max_length=60, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, validators=[validators.validate_siren])
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[validators.validate_siret])
    vat_number = models.CharField(
        _("n° de TVA intracommunautaire"), max_length=20, blank=True, validators=[validators.validate_vat_number]
    )
    website = models.URLField(_("site web"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True, validators=[validators.validate_phone])
    email = models.EmailField(_("e-mail"), blank=True)
    sector = models.CharField(_("secteur d'activité"), max_length=120, blank=True)
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("centre")
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chargé de compte"),
    )
    marketing_source = models.ForeignKey(
        MarketingSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="companies",
        verbose_name=_("source marketing"),
    )
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PROSPECT)
    # Billing settings (stored now, used by billing later)
    group_invoices = models.BooleanField(
        _("regrouper les factures"),
        default=False,
        help_text=_("Une seule facture par période pour tous les contrats de l'entreprise."),
    )
    subject_to_vat = models.BooleanField(_("assujetti à la TVA"), default=True)
    default_payment_method = models.CharField(
        _("mode de paiement par défaut"), max_length=15, choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER
    )
    invoice_delivery_methods = models.JSONField(
        _("envoi des factures"), default=list, blank=True, help_text=_("Plusieurs méthodes possibles.")
    )
    is_archived = models.BooleanField(_("archivée"), default=False)
    converted_at = models.DateTimeField(_("devenue cliente le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifiée le"), default=timezone.now)
    # search helpers (kept in sync by the services)
    phone_digits = models.CharField(max_length=30, blank=True, editable=False)

    class Meta:
        verbose_name = _("entreprise")
        verbose_name_plural = _("entreprises")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="company_unique_number_per_org"),
            models.UniqueConstraint(
                fields=["organization", "siret"],
                condition=~Q(siret=""),
                name="company_unique_siret_per_org",
                violation_error_code="duplicate_siret",
                violation_error_message=_("Une entreprise de votre organisation a déjà ce SIRET."),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name", "id"], name="company_org_name_idx"),
            models.Index(fields=["organization", "kind", "status"], name="company_org_kind_status_idx"),
            models.Index(fields=["organization", "-created_at", "-id"], name="company_org_created_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("crm:company_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """PR-000123 for a prospect, CL-000123 once a client: the number is kept at conversion."""
        return f"{self.REFERENCE_PREFIX[self.kind]}-{self.number:06d}"

    @property
    def is_individual(self) -> bool:
        return self.legal_type == self.LegalType.INDIVIDUAL


class Contact(TenantModel):
    """A person of a client or prospect company ("membre"); with portal access, linked to a user account."""

    class CompanyRole(models.TextChoices):
        ADMINISTRATOR = "administrator", _("Administrateur")
        MANAGER = "manager", _("Manager")
        USER = "user", _("Utilisateur")

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("entreprise")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("compte"),
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    last_name = models.CharField(_("nom"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True, validators=[validators.validate_phone])
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, validators=[validators.validate_phone])
    job_function = models.ForeignKey(
        JobFunction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("fonction")
    )
    company_role = models.CharField(
        _("rôle dans l'entreprise"), max_length=15, choices=CompanyRole.choices, default=CompanyRole.USER
    )
    is_main = models.BooleanField(_("contact principal"), default=False)
    is_active = models.BooleanField(_("actif"), default=True)
    is_invoice_recipient = models.BooleanField(_("destinataire des factures"), default=False)
    has_portal_access = models.BooleanField(_("accès espace client"), default=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    phone_digits = models.CharField(max_length=30, blank=True, editable=False)
    mobile_digits = models.CharField(max_length=30, blank=True, editable=False)

    class Meta:
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        ordering = ["-is_main", "last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "email"],
                condition=~Q(email=""),
                name="contact_unique_email_per_company",
                violation_error_code="duplicate_email",
                violation_error_message=_("Un membre de cette entreprise a déjà cette adresse e-mail."),
            ),
            models.UniqueConstraint(fields=["company"], condition=Q(is_main=True), name="contact_one_main_per_company"),
        ]
        indexes = [models.Index(fields=["organization", "last_name", "id"], name="contact_org_name_idx")]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("crm:contact_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Opportunity(TenantModel):
    """A sale being followed from the first lead to the signed contract (or its loss)."""

    class Stage(models.TextChoices):
        LEAD = "lead", _("Lead")
        QUALIFIED = "qualified", _("Lead qualifié")
        QUOTE_SENT = "quote_sent", _("Devis envoyé")
        VISIT_PLANNED = "visit_planned", _("Visite planifiée")
        CONTRACT_SENT = "contract_sent", _("Contrat envoyé")
        WON = "won", _("Contrat signé")
        LOST = "lost", _("Perdue")

    DEFAULT_PROBABILITY = {
        Stage.LEAD: 10,
        Stage.QUALIFIED: 25,
        Stage.QUOTE_SENT: 40,
        Stage.VISIT_PLANNED: 55,
        Stage.CONTRACT_SENT: 80,
        Stage.WON: 100,
        Stage.LOST: 0,
    }
    OPEN_STAGES = (Stage.LEAD, Stage.QUALIFIED, Stage.QUOTE_SENT, Stage.VISIT_PLANNED, Stage.CONTRACT_SENT)

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("entreprise")
    )
    title = models.CharField(_("intitulé"), max_length=200)
    stage = models.CharField(_("étape"), max_length=15, choices=Stage.choices, default=Stage.LEAD)
    lost_reason = models.CharField(_("raison de la perte"), max_length=255, blank=True)
    estimated_amount = models.DecimalField(
        _("montant estimé (HT)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(0)],
    )
    probability = models.PositiveSmallIntegerField(
        _("probabilité (%)"), default=10, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    expected_close_date = models.DateField(_("date de signature prévue"), null=True, blank=True)
    marketing_source = models.ForeignKey(
        MarketingSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("source marketing"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsable"),
    )
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("centre")
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    closed_at = models.DateTimeField(_("clôturée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("opportunité")
        verbose_name_plural = _("opportunités")
        ordering = ["stage", "position", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100), name="opportunity_probability_range"
            ),
            models.CheckConstraint(condition=Q(estimated_amount__gte=0), name="opportunity_amount_positive"),
        ]
        indexes = [models.Index(fields=["organization", "stage", "position"], name="opportunity_org_stage_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("crm:opportunity_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.stage in self.OPEN_STAGES


class Activity(TenantModel):
    """A commercial activity (visit, call, e-mail, follow-up, meeting) on a company or an opportunity."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Visite")
        CALL = "call", _("Appel")
        EMAIL = "email", _("E-mail")
        FOLLOW_UP = "follow_up", _("Relance")
        MEETING = "meeting", _("Rendez-vous")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Prévue")
        DONE = "done", _("Réalisée")

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="activities", verbose_name=_("entreprise")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("opportunité"),
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    scheduled_at = models.DateTimeField(_("date"))
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("collaborateur")
    )
    notes = models.TextField(_("compte rendu"), blank=True)
    done_at = models.DateTimeField(_("réalisée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("activité")
        verbose_name_plural = _("activités")
        ordering = ["-scheduled_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "staff", "scheduled_at"], name="activity_org_staff_date_idx"),
            models.Index(fields=["company", "-scheduled_at"], name="activity_company_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.company}"


class Note(TenantModel):
    """A permanent internal note on a company: never shown in the portal nor to portal users in the API."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="notes", verbose_name=_("entreprise"))
    body = models.TextField(_("note"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("auteur")
    )
    is_pinned = models.BooleanField(_("épinglée"), default=False)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modifiée le"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-is_pinned", "-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:60]


class Action(TenantModel):
    """A dated task assigned to a staff member, usually about a company ("Actions", daily list)."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, null=True, blank=True, related_name="actions", verbose_name=_("entreprise")
    )
    title = models.CharField(_("intitulé"), max_length=200)
    details = models.TextField(_("détails"), blank=True)
    due_date = models.DateField(_("échéance"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsable")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("créée par")
    )
    completed_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["organization", "assignee", "due_date"], name="action_org_assignee_due_idx"),
            models.Index(fields=["company", "due_date"], name="action_company_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None

    def is_overdue(self, today=None) -> bool:  # type: ignore[no-untyped-def]
        return not self.is_done and self.due_date < (today or timezone.localdate())
