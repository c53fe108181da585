"""Billing: invoices and credit notes fit for French law (frontmanager §7, §10, §11; clients-prospects
"Livraison des factures"; desk "Documents").

- A draft has no number. Issuing takes the next number of its legal entity's series in the same transaction,
  freezes the document (refused in the services and, on PostgreSQL, by a trigger), and chains its SHA-256
  to the previous document of the entity (`chain_index`, `previous_hash`, `record_hash`): `comptoir
  verify-ledger` recomputes the chain and finds any tampered or missing row (DESIGN.md invariant 4).
- Totals follow EN 16931 (invariant 3): line net amounts rounded half-up to the cent, VAT per category and
  rate on the sum of the lines, so every document passes the CEN schematron.
- A billing run bills each contract at most once per period: `BilledPeriod` is the unique key (invariant 7).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import Product, VatRate
from comptoir.core.models import Center, LegalEntity, TenantModel
from comptoir.crm.models import Company, Contact
from comptoir.sales.models import Contract, ContractLine

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class VatCategory(models.TextChoices):
    """EN 16931 VAT category codes (UNTDID 5305) used by Comptoir."""

    STANDARD = "S", _("Taux normal ou réduit")
    EXEMPT = "E", _("Exonéré")
    REVERSE_CHARGE = "AE", _("Autoliquidation")
    INTRA_EU = "K", _("Livraison intracommunautaire")
    OUTSIDE_SCOPE = "O", _("Hors champ de la TVA")


class BillingProfile(TenantModel):
    """A legal entity's invoicing settings: numbering, payment terms, legal mentions, accounts, locked period."""

    class Numbering(models.TextChoices):
        YEARLY = "yearly", _("Annuelle (FA-2026-000001, remise à zéro chaque année)")
        CONTINUOUS = "continuous", _("Continue (FA-000001)")

    legal_entity = models.OneToOneField(
        LegalEntity, on_delete=models.CASCADE, related_name="billing_profile", verbose_name=_("entité émettrice")
    )
    numbering = models.CharField(_("numérotation"), max_length=12, choices=Numbering.choices,
                                 default=Numbering.YEARLY)  # fmt: skip
    invoice_prefix = models.CharField(_("préfixe des factures"), max_length=10, default="FA")
    credit_note_prefix = models.CharField(_("préfixe des avoirs"), max_length=10, default="AV")
    payment_terms_days = models.PositiveSmallIntegerField(
        _("délai de paiement (jours)"), default=30, validators=[MaxValueValidator(60)],
        help_text=_("Au plus 60 jours à compter de la date d'émission (article L441-10 du Code de commerce)."),
    )  # fmt: skip
    late_penalty_rate = models.DecimalField(
        _("taux des pénalités de retard (%)"), max_digits=5, decimal_places=2, default=Decimal("12.00"),
        validators=[MinValueValidator(0)],
        help_text=_("Au moins trois fois le taux d'intérêt légal."),
    )  # fmt: skip
    recovery_indemnity = models.DecimalField(
        _("indemnité forfaitaire pour frais de recouvrement"), max_digits=8, decimal_places=2,
        default=Decimal("40.00"), validators=[MinValueValidator(0)],
    )  # fmt: skip
    early_payment_terms = models.CharField(
        _("escompte pour paiement anticipé"), max_length=255, default="Pas d'escompte pour paiement anticipé.",
    )  # fmt: skip
    customer_account = models.CharField(_("compte clients (collectif)"), max_length=20, default="411000")
    sales_account = models.CharField(_("compte de produits par défaut"), max_length=20, default="706000")
    deposit_account = models.CharField(_("compte des dépôts de garantie"), max_length=20, default="165000")
    vat_account_prefix = models.CharField(
        _("compte de TVA collectée"), max_length=20, default="44571",
        help_text=_("Le taux est ajouté au compte : 4457120 pour 20 %, 4457155 pour 5,5 %."),
    )  # fmt: skip
    sales_journal = models.CharField(_("journal des ventes"), max_length=10, default="VE")
    brand_color = models.CharField(
        _("couleur des documents"), max_length=7, default="#1F4E79",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("Une couleur au format #RRVVBB."))],
        help_text=_("Couleur des titres et des tableaux des factures (avec le logo de l'entité)."),
    )  # fmt: skip
    locked_until = models.DateField(
        _("période comptable verrouillée jusqu'au"), null=True, blank=True,
        help_text=_("Aucune facture ni avoir ne peut être émis ou daté de ce jour ou avant."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("paramètres de facturation")
        verbose_name_plural = _("paramètres de facturation")
        ordering = ["legal_entity__name", "id"]

    def __str__(self) -> str:
        return str(self.legal_entity)


class CustomerBillingProfile(TenantModel):
    """A client company's invoicing data that the CRM does not hold: public buyer (Chorus Pro) fields,
    its auxiliary account and payment terms."""

    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, related_name="billing_profile", verbose_name=_("entreprise")
    )
    is_public_entity = models.BooleanField(
        _("entité publique (Chorus Pro)"), default=False,
        help_text=_("Ses factures sont déposées sur Chorus Pro."),
    )  # fmt: skip
    service_code = models.CharField(_("code service (Chorus Pro)"), max_length=100, blank=True)
    commitment_number = models.CharField(_("numéro d'engagement (bon de commande)"), max_length=50, blank=True)
    auxiliary_account = models.CharField(
        _("compte auxiliaire"), max_length=20, blank=True, help_text=_("Vide : 411 suivi de la référence client.")
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        _("délai de paiement (jours)"), null=True, blank=True, validators=[MaxValueValidator(60)],
        help_text=_("Vide : celui de l'entité émettrice."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("paramètres de facturation du client")
        verbose_name_plural = _("paramètres de facturation des clients")
        default_permissions = ()

    def __str__(self) -> str:
        return str(self.company)


class BillingRun(TenantModel):
    """The monthly run of a period: one row per organization and period, resumed when it stopped half-way."""

    class Status(models.TextChoices):
        RUNNING = "running", _("En cours")
        COMPLETED = "completed", _("Terminée")
        FAILED = "failed", _("Interrompue")

    period = models.DateField(_("période"), help_text=_("Premier jour du mois facturé."))
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    issue_date = models.DateField(_("date d'émission"))
    contracts_total = models.PositiveIntegerField(_("contrats à facturer"), default=0)
    contracts_done = models.PositiveIntegerField(_("contrats facturés"), default=0)
    invoices_created = models.PositiveIntegerField(_("factures créées"), default=0)
    total_excl_vat = models.DecimalField(_("total HT"), **MONEY, default=ZERO)
    total_incl_vat = models.DecimalField(_("total TTC"), **MONEY, default=ZERO)
    error = models.TextField(_("erreur"), blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("lancée par"),
    )  # fmt: skip
    started_at = models.DateTimeField(_("lancée le"), default=timezone.now)
    heartbeat_at = models.DateTimeField(_("dernière activité"), default=timezone.now)
    finished_at = models.DateTimeField(_("terminée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("facturation mensuelle")
        verbose_name_plural = _("facturations mensuelles")
        ordering = ["-period", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "period"], name="billingrun_unique_period")]

    def __str__(self) -> str:
        return f"{self.period:%m/%Y}"

    def get_absolute_url(self) -> str:
        return reverse("billing:run_detail", args=[self.pk])

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.contracts_total:
            return 0
        return min(99, int(self.contracts_done * 100 / self.contracts_total))


class Invoice(TenantModel):
    """An invoice or a credit note (`kind`). Amounts of a credit note are positive, as in EN 16931."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Facture")
        CREDIT_NOTE = "credit_note", _("Avoir")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        ISSUED = "issued", _("Émise")
        CANCELLED = "cancelled", _("Annulée par avoir")

    class PaymentStatus(models.TextChoices):
        PENDING = "pending", _("En attente")
        PARTIALLY_PAID = "partially_paid", _("Partiellement payée")
        PAID = "paid", _("Payée")

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Saisie manuelle")
        DEPOSIT = "deposit", _("Dépôt de garantie")
        FIRST_MONTH = "first_month", _("Premier mois")
        RUN = "run", _("Facturation mensuelle")
        CONSUMPTIONS = "consumptions", _("Consommations")
        CREDIT = "credit", _("Avoir")
        ONLINE = "online", _("Achat en ligne")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(_("origine"), max_length=15, choices=Origin.choices, default=Origin.MANUAL)
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("entité émettrice"))  # fmt: skip
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("centre"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="invoices",
                                verbose_name=_("client"))  # fmt: skip
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("membre"))  # fmt: skip
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices",
                                 verbose_name=_("contrat"))  # fmt: skip
    credited_invoice = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="credit_notes", verbose_name=_("facture d'origine"))  # fmt: skip
    billing_run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="invoices", verbose_name=_("facturation mensuelle"))  # fmt: skip
    # numbering (issued documents only)
    number = models.PositiveIntegerField(_("numéro"), null=True, blank=True)
    reference = models.CharField(_("numéro"), max_length=40, blank=True, db_index=True)
    # dates
    issue_date = models.DateField(_("date d'émission"), null=True, blank=True)
    due_date = models.DateField(_("échéance"), null=True, blank=True)
    period_start = models.DateField(_("période du"), null=True, blank=True)
    period_end = models.DateField(_("période au"), null=True, blank=True)
    # parties, frozen at issue (drafts show the live values)
    seller = models.JSONField(_("vendeur"), default=dict, blank=True)
    buyer = models.JSONField(_("acheteur"), default=dict, blank=True)
    buyer_reference = models.CharField(_("référence acheteur / code service"), max_length=100, blank=True)
    purchase_order = models.CharField(_("numéro d'engagement / bon de commande"), max_length=50, blank=True)
    # terms
    currency = models.CharField(_("devise"), max_length=3, default="EUR")
    payment_method = models.CharField(_("mode de paiement"), max_length=20, blank=True)
    payment_terms = models.CharField(_("conditions de paiement"), max_length=255, blank=True)
    notes = models.TextField(_("commentaire"), blank=True)
    # totals (EN 16931: BT-106 sum of lines, BT-109 excl. VAT, BT-110 VAT, BT-112 incl. VAT)
    total_excl_vat = models.DecimalField(_("total HT"), **MONEY, default=ZERO)
    total_vat = models.DecimalField(_("total TVA"), **MONEY, default=ZERO)
    total_incl_vat = models.DecimalField(_("total TTC"), **MONEY, default=ZERO)
    vat_breakdown = models.JSONField(_("détail de la TVA"), default=list, blank=True)
    # settlement (invoices: kept by the payments app through `services.invoices.settle`; outside the hash chain)
    amount_credited = models.DecimalField(_("montant crédité par avoir"), **MONEY, default=ZERO)
    amount_paid = models.DecimalField(_("montant payé"), **MONEY, default=ZERO)
    payment_status = models.CharField(_("paiement"), max_length=15, choices=PaymentStatus.choices,
                                      default=PaymentStatus.PENDING)  # fmt: skip
    paid_on = models.DateField(_("payée le"), null=True, blank=True)
    # ledger chain (issued documents)
    chain_index = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    previous_hash = models.CharField(max_length=64, blank=True, editable=False)
    record_hash = models.CharField(_("empreinte SHA-256"), max_length=64, blank=True, editable=False)
    # documents, rendered once after issue and served as they were
    pdf = models.FileField(_("PDF"), upload_to="invoices/", blank=True)
    pdf_sha256 = models.CharField(_("empreinte SHA-256 du PDF"), max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("créée par"))  # fmt: skip
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    issued_at = models.DateTimeField(_("émise le"), null=True, blank=True)

    class Meta:
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        ordering = ["-issue_date", "-number", "-id"]
        permissions = [("issue_invoice", _("Émettre les factures et avoirs"))]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "reference"], condition=~Q(reference=""), name="invoice_unique_reference"
            ),
            models.UniqueConstraint(
                fields=["legal_entity", "chain_index"], condition=Q(chain_index__isnull=False),
                name="invoice_unique_chain_index",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(number__isnull=False) & ~Q(reference="") & Q(issue_date__isnull=False)),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(condition=Q(status="draft") | Q(total_incl_vat__gte=0),
                                   name="invoice_issued_total_not_negative"),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["organization", "-issue_date", "-id"], name="invoice_org_issue_idx"),
            models.Index(fields=["organization", "status", "due_date"], name="invoice_org_status_due_idx"),
            models.Index(fields=["company", "-issue_date"], name="invoice_company_issue_idx"),
            models.Index(fields=["contract", "period_start"], name="invoice_contract_period_idx"),
            models.Index(fields=["organization", "payment_status", "due_date"], name="invoice_org_payment_due_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or _("Brouillon n°%(id)s") % {"id": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice_detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def amount_due(self) -> Decimal:
        """What remains to be paid: the total, less its credit notes and its payments (0 for a credit note)."""
        if self.kind != self.Kind.INVOICE or self.status != self.Status.ISSUED:
            return ZERO
        return max(self.total_incl_vat - self.amount_credited - self.amount_paid, ZERO)

    def is_overdue(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return bool(self.amount_due > 0 and self.due_date and self.due_date < today)

    def payment_state(self, today: datetime.date | None = None) -> str:
        """pending, partially_paid, paid or overdue (past its due date, not paid), as the invoice's page shows."""
        if self.payment_status != self.PaymentStatus.PAID and self.is_overdue(today):
            return "overdue"
        return self.payment_status

    # The columns a trigger lets change on an issued document (status, the rendered PDF, the settlement); see
    # migrations 0002 and 0005.
    MUTABLE_AFTER_ISSUE = ("status", "pdf", "pdf_sha256", "amount_credited", "amount_paid", "payment_status",
                           "paid_on")  # fmt: skip


class InvoiceLine(models.Model):
    """A line of an invoice or credit note, with the source that produced it."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Saisie manuelle")
        CONTRACT_LINE = "contract_line", _("Ligne de contrat")
        OPTION = "option", _("Option mensuelle")
        DEPOSIT = "deposit", _("Dépôt de garantie")
        CONSUMPTION = "consumption", _("Consommation")
        BOOKING = "booking", _("Réservation")
        ADJUSTMENT = "adjustment", _("Régularisation")
        CREDIT = "credit", _("Avoir")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("facture"))
    position = models.PositiveIntegerField(_("ordre"), default=0)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("article"))  # fmt: skip
    description = models.CharField(_("désignation"), max_length=255)
    quantity = models.DecimalField(_("quantité"), max_digits=12, decimal_places=3, default=Decimal("1"))
    unit = models.CharField(_("unité"), max_length=20, default="unit")
    unit_price = models.DecimalField(_("prix unitaire HT"), max_digits=14, decimal_places=4)
    discount = models.DecimalField(_("remise HT"), **MONEY, default=ZERO, validators=[MinValueValidator(0)])
    vat_rate = models.CharField(_("taux de TVA"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    vat_category = models.CharField(_("catégorie de TVA"), max_length=2, choices=VatCategory.choices,
                                    default=VatCategory.STANDARD)  # fmt: skip
    vat_exemption_reason = models.CharField(_("motif d'exonération"), max_length=200, blank=True)
    accounting_code = models.CharField(_("code comptable"), max_length=20, blank=True)
    amount_excl_vat = models.DecimalField(_("montant HT"), **MONEY)  # round(quantity × unit price) − discount
    period_start = models.DateField(_("période du"), null=True, blank=True)
    period_end = models.DateField(_("période au"), null=True, blank=True)
    source = models.CharField(_("origine"), max_length=15, choices=Source.choices, default=Source.MANUAL)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    contract_line = models.ForeignKey(ContractLine, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="invoice_lines")  # fmt: skip
    source_id = models.PositiveBigIntegerField(null=True, blank=True)  # consumption / booking id

    class Meta:
        verbose_name = _("ligne de facture")
        verbose_name_plural = _("lignes de facture")
        ordering = ["position", "id"]
        default_permissions = ()
        indexes = [models.Index(fields=["contract_line", "period_start"], name="invoiceline_cline_period_idx")]

    def __str__(self) -> str:
        return self.description


class BilledPeriod(models.Model):
    """The unique key of recurring billing: a contract is billed at most once per period (a month). No invoice:
    nothing was due that month (the contract was paused all month)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+")
    period = models.DateField()
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["contract", "period"], name="billedperiod_unique")]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.period:%Y-%m}"


class Consumption(TenantModel):
    """A one-off service to bill (drinks, prints, equipment, a booking): on a company, a member or a contract,
    in one center. Billed by the next monthly run, or on its own invoice ("Générer une facture")."""

    class Kind(models.TextChoices):
        CONSUMPTION = "consumption", _("Consommation")
        BOOKING = "booking", _("Réservation")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.CONSUMPTION)
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="consumptions",
                                verbose_name=_("entreprise"))  # fmt: skip
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="consumptions",
                                verbose_name=_("membre"))  # fmt: skip
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("centre"))
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="consumptions", verbose_name=_("contrat"))  # fmt: skip
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("article"))  # fmt: skip
    description = models.CharField(_("désignation"), max_length=255)
    date = models.DateField(_("date"))
    quantity = models.DecimalField(_("quantité"), max_digits=12, decimal_places=3, default=Decimal("1"),
                                   validators=[MinValueValidator(Decimal("0.001"))])  # fmt: skip
    unit = models.CharField(_("unité"), max_length=20, default="unit")
    unit_price = models.DecimalField(_("prix unitaire HT"), max_digits=14, decimal_places=4,
                                     validators=[MinValueValidator(0)])  # fmt: skip
    vat_rate = models.CharField(_("taux de TVA"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    vat_exemption_reason = models.CharField(_("motif d'exonération"), max_length=200, blank=True)
    accounting_code = models.CharField(_("code comptable"), max_length=20, blank=True)
    amount_excl_vat = models.DecimalField(_("montant HT"), **MONEY)
    # The booking: the booking's own price (kind=booking), or a consumption attached to it (kind=consumption).
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="consumptions", verbose_name=_("facture"))  # fmt: skip
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("saisie par"))  # fmt: skip
    created_at = models.DateTimeField(_("saisie le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("consommation")
        verbose_name_plural = _("consommations")
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["organization", "invoice", "date"], name="consumption_org_unbilled_idx"),
            models.Index(fields=["company", "center", "-date"], name="consumption_company_idx"),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_billed(self) -> bool:
        return self.invoice_id is not None


class InvoiceDelivery(models.Model):
    """One delivery of a document: e-mail with the PDF, e-mail notification, Chorus Pro or direct-debit export."""

    class Method(models.TextChoices):
        EMAIL_PDF = "email_pdf", _("E-mail avec la facture en pièce jointe")
        EMAIL_NOTIFICATION = "email_notification", _("E-mail de notification")
        CHORUS_PRO = "chorus_pro", _("Export Chorus Pro")
        GOCARDLESS = "gocardless", _("Export GoCardless")
        DIRECT_DEBIT = "direct_debit", _("Export prélèvement")

    class Status(models.TextChoices):
        DONE = "done", _("Effectuée")
        FAILED = "failed", _("Échec")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="deliveries")
    method = models.CharField(_("méthode"), max_length=20, choices=Method.choices)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.DONE)
    recipient = models.CharField(_("destinataire"), max_length=255, blank=True)
    detail = models.CharField(_("détail"), max_length=500, blank=True)
    at = models.DateTimeField(_("date"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("envoi de facture")
        verbose_name_plural = _("envois de factures")
        ordering = ["-at", "-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.invoice} {self.get_method_display()}"


class ExportJob(TenantModel):
    """A long export (zip of CSV + PDFs, FEC, Chorus Pro batch) made in the background with its progress."""

    class Kind(models.TextChoices):
        ZIP = "zip", _("Factures (CSV + PDF)")
        FEC = "fec", _("Fichier des écritures comptables (FEC)")
        CHORUS_PRO = "chorus_pro", _("Chorus Pro (.tar.gz)")

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Prêt")
        FAILED = "failed", _("Échec")

    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.PENDING)
    parameters = models.JSONField(_("paramètres"), default=dict, blank=True)
    total = models.PositiveIntegerField(_("documents"), default=0)
    done = models.PositiveIntegerField(_("traités"), default=0)
    file = models.FileField(_("fichier"), upload_to="exports/", blank=True)
    error = models.TextField(_("erreur"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(self.done * 100 / self.total)) if self.total else 0
