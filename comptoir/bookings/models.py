"""Bookings (frontmanager §8-9, « Espace client » §3, desk « Réservations »): meeting rooms, drop-in offices and
coworking seats booked for a slot, the slots an operator blocks, the plans (subscription, pack, domiciliation)
assigned to a company or a member, and the credit ledger those plans feed.

No double booking, ever (DESIGN invariant 5): a booking that holds its slot (requested or confirmed) on a space
that holds one booking at a time (`exclusive`) cannot overlap another — on PostgreSQL an exclusion constraint
(btree_gist, migration 0001) is the safety net behind the per-space row lock the services take; on SQLite the
services' immediate transactions serialize writers. A coworking area holds bookings up to its seats (checked
under the same lock).

Credits (invariants 6 and 12): an append-only ledger. A grant carries its validity; a spend, a refund or an
expiry names the grant it draws on, so a grant's remaining credits are its amount plus the entries that name it,
and credits pay only bookings inside their grant's validity.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.billing.models import Consumption, Invoice
from comptoir.catalog.models import Product, Space, VatRate
from comptoir.core.models import Center, TenantModel
from comptoir.crm.models import Company, Contact
from comptoir.sales.models import Contract

MONEY = {"max_digits": 14, "decimal_places": 2}
CREDITS = {"max_digits": 12, "decimal_places": 2}


class SpaceBooking(TenantModel):
    """How a bookable space is booked and priced (one row per space; a space without one uses the defaults)."""

    space = models.OneToOneField(Space, on_delete=models.CASCADE, related_name="booking", verbose_name=_("espace"))
    auto_accept = models.BooleanField(
        _("acceptation automatique"), default=True,
        help_text=_("Sinon, chaque demande attend la confirmation du staff jusqu'à son expiration."),
    )  # fmt: skip
    request_hours = models.PositiveIntegerField(
        _("délai de réponse (heures)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text=_("Une demande sans réponse dans ce délai expire et libère son créneau."),
    )  # fmt: skip
    prepayment = models.BooleanField(
        _("paiement à la réservation"), default=False,
        help_text=_("Une réservation payante faite dans l'espace client est facturée et payée par carte à la "
                    "réservation ; elle ne tient son créneau qu'une fois payée (desk : pré-paiement)."),
    )  # fmt: skip
    cancellation_hours = models.PositiveIntegerField(
        _("annulation possible jusqu'à (heures avant)"), default=24, validators=[MaxValueValidator(720)]
    )
    hour_price = models.DecimalField(_("prix à l'heure HT"), **MONEY, null=True, blank=True,
                                     validators=[MinValueValidator(0)])  # fmt: skip
    half_day_price = models.DecimalField(_("prix à la demi-journée HT"), **MONEY, null=True, blank=True,
                                         validators=[MinValueValidator(0)])  # fmt: skip
    day_price = models.DecimalField(_("prix à la journée HT"), **MONEY, null=True, blank=True,
                                    validators=[MinValueValidator(0)])  # fmt: skip
    vat_rate = models.CharField(_("taux de TVA"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    credits_per_hour = models.DecimalField(
        _("crédits par heure"), **CREDITS, default=Decimal("1.00"), validators=[MinValueValidator(0)],
        help_text=_("Crédits décomptés par heure réservée (0 : non payable en crédits)."),
    )  # fmt: skip
    slot_minutes = models.PositiveIntegerField(
        _("pas des créneaux (minutes)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    color = models.CharField(_("couleur"), max_length=7, default="#2563eb")

    class Meta:
        verbose_name = _("paramètres de réservation")
        verbose_name_plural = _("paramètres de réservation")
        default_permissions = ()  # part of a space: catalog.change_space

    def __str__(self) -> str:
        return str(self.space)


class Booking(TenantModel):
    """A space booked for a slot by (or for) a company, optionally one of its members."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Demandée")
        CONFIRMED = "confirmed", _("Confirmée")
        DECLINED = "declined", _("Déclinée")
        CANCELLED = "cancelled", _("Annulée")
        EXPIRED = "expired", _("Expirée")

    class Payment(models.TextChoices):
        INVOICE = "invoice", _("Facturée (facturation mensuelle)")
        CREDITS = "credits", _("Crédits")
        PREPAID = "prepaid", _("Payée à la réservation")
        FREE = "free", _("Gratuite")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Back office")
        PORTAL = "portal", _("Espace client")
        API = "api", _("API")
        PUBLIC = "public", _("Page publique")

    class Refund(models.TextChoices):
        NONE = "", _("Aucun")
        MONEY = "money", _("En argent")
        CREDITS = "credits", _("En crédits")

    HOLDING = (Status.REQUESTED, Status.CONFIRMED)  # the statuses that hold the slot

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("centre"))
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("espace"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="bookings",
                                verbose_name=_("entreprise"))  # fmt: skip
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings",
                                verbose_name=_("membre"))  # fmt: skip
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings",
                                 verbose_name=_("contrat"))  # fmt: skip
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    seats = models.PositiveSmallIntegerField(_("places"), default=1, validators=[MinValueValidator(1)])
    # The space holds one booking at a time (everything but a coworking area): the exclusion constraint's scope.
    exclusive = models.BooleanField(default=True, editable=False)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    title = models.CharField(_("objet"), max_length=160, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    channel = models.CharField(_("origine"), max_length=10, choices=Channel.choices, default=Channel.STAFF)
    payment = models.CharField(_("paiement"), max_length=10, choices=Payment.choices, default=Payment.INVOICE)
    price_excl_vat = models.DecimalField(_("prix HT"), **MONEY, default=Decimal("0.00"))
    discount_percent = models.DecimalField(_("remise (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    vat_rate = models.CharField(_("taux de TVA"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    credits = models.DecimalField(_("crédits"), **CREDITS, default=Decimal("0.00"))
    consumption = models.ForeignKey(Consumption, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("consommation"))  # fmt: skip
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("facture de prépaiement"))  # fmt: skip
    refund = models.CharField(_("remboursement"), max_length=10, choices=Refund.choices, blank=True, default="")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # the iCalendar UID
    sequence = models.PositiveIntegerField(default=0, editable=False)  # the iCalendar SEQUENCE
    reason = models.CharField(_("motif"), max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("créée par"))  # fmt: skip
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("traitée par"))  # fmt: skip
    decided_at = models.DateTimeField(_("traitée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("réservation")
        verbose_name_plural = _("réservations")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="booking_ends_after_start"),
            models.CheckConstraint(condition=Q(seats__gte=1), name="booking_seats_positive"),
            models.CheckConstraint(
                condition=Q(price_excl_vat__gte=0) & Q(credits__gte=0), name="booking_amounts_not_negative"
            ),
        ]
        indexes = [
            # Availability: the bookings that hold a slot, per space and start (a booking lasts less than a day,
            # so "overlaps [a, b)" is the range starts_at in (a - 1 day, b) of this index).
            models.Index(
                fields=["space", "starts_at"],
                name="booking_holding_idx",
                condition=Q(status__in=["requested", "confirmed"]),
            ),
            models.Index(fields=["organization", "starts_at"], name="booking_org_start_idx"),
            models.Index(fields=["company", "-starts_at"], name="booking_company_idx"),
            models.Index(fields=["contact", "-starts_at"], name="booking_contact_idx"),
            models.Index(fields=["expires_at"], name="booking_expiry_idx", condition=Q(status="requested")),
        ]

    def __str__(self) -> str:
        return f"{self.space} {self.starts_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("bookings:detail", args=[self.pk])

    @property
    def holds_slot(self) -> bool:
        return self.status in self.HOLDING

    @property
    def hours(self) -> Decimal:
        return (Decimal((self.ends_at - self.starts_at).total_seconds()) / 3600).quantize(Decimal("0.01"))


class BlockedSlot(TenantModel):
    """« Bloquer des créneaux »: one space, or every space of a center (space empty), unavailable for a while."""

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("centre"))
    space = models.ForeignKey(Space, on_delete=models.PROTECT, null=True, blank=True, related_name="blocked_slots",
                              verbose_name=_("espace"), help_text=_("Vide : tous les espaces du centre."))  # fmt: skip
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    reason = models.CharField(_("motif"), max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("créé par"))  # fmt: skip
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("débloqué par"))  # fmt: skip
    cancelled_at = models.DateTimeField(_("débloqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("créneau bloqué")
        verbose_name_plural = _("créneaux bloqués")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="blockedslot_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["center", "ends_at"], name="blockedslot_active_idx", condition=Q(cancelled_at=None)),
        ]

    def __str__(self) -> str:
        return self.reason

    @property
    def is_active(self) -> bool:
        return self.cancelled_at is None


class PlanAssignment(TenantModel):
    """A plan (catalog product of kind « Formule »: subscription, pack, domiciliation) held by a company, or by one
    of its members. A subscription or a domiciliation grants its credits each period while it runs; a pack grants
    them once, valid for its number of days."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de paiement")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Terminée")
        CANCELLED = "cancelled", _("Annulée")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="plans", verbose_name=_("entreprise"))
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="plans",
                                verbose_name=_("membre"), help_text=_("Vide : pour toute l'entreprise."))  # fmt: skip
    plan = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("formule"),
                             limit_choices_to={"kind": "plan"})  # fmt: skip
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("facture d'achat"))  # fmt: skip
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("attribuée par"))  # fmt: skip
    created_at = models.DateTimeField(_("attribuée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("formule attribuée")
        verbose_name_plural = _("formules attribuées")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on=None) | Q(ends_on__gte=models.F("starts_on")),
                name="planassignment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} — {self.contact or self.company}"


class CreditEntry(TenantModel):
    """One line of the append-only credit ledger of a company (or one of its members)."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Attribution")
        SPEND = "spend", _("Utilisation")
        REFUND = "refund", _("Remboursement")
        EXPIRE = "expire", _("Expiration")

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="credit_entries",
                                verbose_name=_("entreprise"))  # fmt: skip
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="credit_entries", verbose_name=_("membre"))  # fmt: skip
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    # Positive for a grant or a refund, negative for a spend or an expiry.
    amount = models.DecimalField(_("crédits"), **CREDITS)
    # A grant's validity (inclusive days); the other entries name the grant they draw on.
    valid_from = models.DateField(_("valable du"), null=True, blank=True)
    valid_until = models.DateField(_("valable jusqu'au"), null=True, blank=True)
    grant = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="uses",
                              verbose_name=_("attribution"))  # fmt: skip
    assignment = models.ForeignKey(PlanAssignment, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="credit_entries", verbose_name=_("formule"))  # fmt: skip
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="credit_entries", verbose_name=_("réservation"))  # fmt: skip
    note = models.CharField(_("libellé"), max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("par"))  # fmt: skip
    created_at = models.DateTimeField(_("le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mouvement de crédits")
        verbose_name_plural = _("mouvements de crédits")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="grant",
                        amount__gt=0,
                        grant=None,
                        valid_from__isnull=False,
                        valid_until__isnull=False,
                        valid_until__gte=models.F("valid_from"),
                    )
                    | Q(kind="refund", amount__gt=0, grant__isnull=False)
                    | Q(kind__in=["spend", "expire"], amount__lt=0, grant__isnull=False)
                ),
                name="creditentry_kind_shape",
            ),
            # A plan's period is granted once, however many times the renewal job runs.
            models.UniqueConstraint(
                fields=["assignment", "valid_from"], condition=Q(kind="grant"), name="creditentry_one_grant_per_period"
            ),
            # An expiry is written once per grant.
            models.UniqueConstraint(fields=["grant"], condition=Q(kind="expire"), name="creditentry_one_expiry"),
        ]
        indexes = [
            models.Index(fields=["company", "kind", "valid_until"], name="creditentry_holder_idx"),
            models.Index(fields=["grant"], name="creditentry_grant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class CalendarFeed(TenantModel):
    """A private iCalendar subscription URL of a member or of a space (Google Calendar, Outlook, Apple Calendar
    subscribe to it). The URL carries a random token stored hashed; revoking the feed stops it at once."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                                verbose_name=_("membre"))  # fmt: skip
    space = models.ForeignKey(Space, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                              verbose_name=_("espace"))  # fmt: skip
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière lecture"), null=True, blank=True)

    class Meta:
        verbose_name = _("abonnement calendrier")
        verbose_name_plural = _("abonnements calendrier")
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) ^ Q(space__isnull=False), name="calendarfeed_member_or_space"
            ),
        ]

    def __str__(self) -> str:
        return str(self.contact or self.space)
