"""Tenants (organizations), issuers (legal entities), centers, users, staff roles, audit journal, API tokens."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Permission, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.translation import gettext_lazy as _

from comptoir.core import validators


# --------------------------------------------------------------------------------------------------
# Tenancy
# --------------------------------------------------------------------------------------------------
class Organization(models.Model):
    """One operator's account. Its slug is the workspace identifier members type in the portal."""

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(
        _("espace de travail"),
        max_length=60,
        unique=True,
        help_text=_("Identifiant saisi par vos clients pour se connecter à leur espace."),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    website = models.URLField(_("site web"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), default=djtz.now, editable=False)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | int) -> TenantQuerySet:
        return self.filter(organization=organization)


class TenantModel(models.Model):
    """Every row that belongs to an operator carries its organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Address(models.Model):
    address_line1 = models.CharField(_("adresse"), max_length=200, blank=True)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=20, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    country = models.CharField(_("pays"), max_length=2, default="FR", validators=[validators.validate_country])

    class Meta:
        abstract = True

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(part for part in [self.postal_code, self.city] if part)
        return [line for line in [self.address_line1, self.address_line2, city_line] if line]


class LegalEntity(TenantModel, Address):
    """A company of the operator that issues invoices (the seller on its documents)."""

    name = models.CharField(_("raison sociale"), max_length=200)
    legal_form = models.CharField(_("forme juridique"), max_length=60, blank=True)
    share_capital = models.CharField(_("capital social"), max_length=60, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, validators=[validators.validate_siren])
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[validators.validate_siret])
    vat_number = models.CharField(
        _("n° de TVA intracommunautaire"),
        max_length=20,
        blank=True,
        validators=[validators.validate_vat_number],
    )
    rcs = models.CharField(_("RCS"), max_length=100, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validators.validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validators.validate_bic])
    sepa_creditor_id = models.CharField(
        _("identifiant créancier SEPA (ICS)"),
        max_length=35,
        blank=True,
        validators=[validators.validate_sepa_creditor_id],
    )
    approval_number = models.CharField(_("n° d'agrément préfectoral (domiciliation)"), max_length=60, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    invoice_legal_mentions = models.TextField(
        _("mentions légales des factures"),
        blank=True,
        help_text=_("Texte ajouté en pied de chaque facture (pénalités de retard, escompte, etc.)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("entité juridique")
        verbose_name_plural = _("entités juridiques")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="legalentity_unique_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("manage:legalentity_detail", args=[self.pk])

    def clean(self) -> None:
        if self.siren and self.siret and not self.siret.startswith(self.siren):
            raise ValidationError({"siret": _("Le SIRET doit commencer par le SIREN de l'entité.")})


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class Center(TenantModel, Address):
    """A site of the operator, attached to the legal entity that invoices its services."""

    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="centers", verbose_name=_("entité juridique")
    )
    name = models.CharField(_("nom"), max_length=200)
    code = models.SlugField(_("code"), max_length=30, help_text=_("Code court du centre, ex. PAR-OPERA."))
    timezone = models.CharField(
        _("fuseau horaire"), max_length=60, default="Europe/Paris", validators=[validators.validate_timezone]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), default=djtz.now, editable=False)

    class Meta:
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="center_unique_code_per_org"),
        ]
        indexes = [models.Index(fields=["organization", "name", "id"], name="center_org_name_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("manage:center_detail", args=[self.pk])

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class OpeningHours(models.Model):
    """One opening interval of a center on a weekday (several per day for a lunch break; none = closed)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("lundi")
        TUESDAY = 1, _("mardi")
        WEDNESDAY = 2, _("mercredi")
        THURSDAY = 3, _("jeudi")
        FRIDAY = 4, _("vendredi")
        SATURDAY = 5, _("samedi")
        SUNDAY = 6, _("dimanche")

    center = models.ForeignKey(Center, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=Weekday.choices)
    opens_at = models.TimeField(_("ouverture"))
    closes_at = models.TimeField(_("fermeture"))

    class Meta:
        verbose_name = _("horaire d'ouverture")
        verbose_name_plural = _("horaires d'ouverture")
        default_permissions = ()  # part of a center: changing them is core.change_center
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="openinghours_closes_after_opens"
            ),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="openinghours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


# --------------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------------
class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_superuser"] = True
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person: staff of one or more organizations and/or member of client companies. Logs in by e-mail."""

    email = models.EmailField(_("e-mail"), unique=True)
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    phone = models.CharField(_("téléphone mobile"), max_length=30, blank=True)
    language = models.CharField(_("langue"), max_length=5, choices=settings.LANGUAGES, default="fr")
    is_active = models.BooleanField(_("actif"), default=True)
    date_joined = models.DateTimeField(_("inscrit le"), default=djtz.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        default_permissions = ()  # accounts are managed through staff memberships (and members, later)
        ordering = ["last_name", "first_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_staff(self) -> bool:
        """Django's admin flag; Comptoir has no Django admin, staff rights are per organization."""
        return False


# The names the predefined roles are created with (French, as stored); see Role.display_name.
PREDEFINED_ROLE_NAMES = {
    "administrator": "Administrateur",
    "reception": "Agent d'accueil",
    "manager": "Manager",
    "technician": "Technicien",
}


class Role(TenantModel):
    """A staff role of an organization: view / add / change / delete per module (Django permissions)."""

    class Kind(models.TextChoices):
        ADMINISTRATOR = "administrator", _("Administrateur")
        RECEPTION = "reception", _("Agent d'accueil")
        MANAGER = "manager", _("Manager")
        TECHNICIAN = "technician", _("Technicien")
        CUSTOM = "custom", _("Personnalisé")

    name = models.CharField(_("nom"), max_length=100)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.CUSTOM)
    description = models.CharField(_("description"), max_length=255, blank=True)
    permissions = models.ManyToManyField(Permission, blank=True, related_name="+", verbose_name=_("droits"))

    class Meta:
        verbose_name = _("rôle")
        verbose_name_plural = _("rôles")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="role_unique_name_per_org"),
            models.UniqueConstraint(
                fields=["organization", "kind"],
                condition=~Q(kind="custom"),
                name="role_one_predefined_kind_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """A predefined role keeps its name translated until the operator renames it."""
        if self.kind != self.Kind.CUSTOM and self.name == PREDEFINED_ROLE_NAMES.get(self.kind):
            return str(self.Kind(self.kind).label)
        return self.name

    @property
    def holds_every_right(self) -> bool:
        """The administrator role holds every right, including those of modules added later."""
        return self.kind == self.Kind.ADMINISTRATOR


class StaffMembership(TenantModel):
    """A user's job as staff of an organization: a role, optionally limited to some centers."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("rôle"))
    centers = models.ManyToManyField(
        Center,
        blank=True,
        related_name="+",
        verbose_name=_("centres autorisés"),
        help_text=_("Laisser vide pour donner accès à tous les centres."),
    )
    job_title = models.CharField(_("fonction"), max_length=100, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), default=djtz.now, editable=False)

    class Meta:
        verbose_name = _("collaborateur")
        verbose_name_plural = _("collaborateurs")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="staff_unique_user_per_org"),
        ]
        indexes = [models.Index(fields=["organization", "id"], name="staff_org_id_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    def get_absolute_url(self) -> str:
        return reverse("manage:staff_detail", args=[self.pk])


# --------------------------------------------------------------------------------------------------
# Audit journal
# --------------------------------------------------------------------------------------------------
class AuditEntryQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> AuditEntryQuerySet:
        return self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))

    def update(self, **kwargs: Any) -> int:
        raise TypeError("The audit journal is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit journal is append-only.")


class AuditEntry(models.Model):
    """One change made by a service: who, what, on which object, which fields (before/after), when."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_label = models.CharField(_("auteur"), max_length=255, blank=True)
    action = models.CharField(_("action"), max_length=100)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(_("objet"), max_length=255, blank=True)
    changes = models.JSONField(_("modifications"), default=dict, blank=True)
    message = models.CharField(_("détail"), max_length=500, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("date"), default=djtz.now, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("journal d'activité")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["content_type", "object_id", "-created_at"], name="audit_object_idx"),
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The audit journal is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit journal is append-only.")


# --------------------------------------------------------------------------------------------------
# Numbering sequences (invoice numbers, company references...)
# --------------------------------------------------------------------------------------------------
class Sequence(TenantModel):
    """The last number used in a series; `next_number` locks this row so numbers have no gap and no duplicate."""

    series = models.CharField(max_length=40)
    scope = models.CharField(max_length=40, blank=True, help_text="Legal entity id, year... ('' = whole org).")
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("séquence de numérotation")
        verbose_name_plural = _("séquences de numérotation")
        default_permissions = ()  # internal: numbers are taken by the services that issue documents
        constraints = [
            models.UniqueConstraint(fields=["organization", "series", "scope"], name="sequence_unique_series"),
        ]

    def __str__(self) -> str:
        return f"{self.series}/{self.scope}: {self.last_value}"


# --------------------------------------------------------------------------------------------------
# API tokens and idempotency
# --------------------------------------------------------------------------------------------------
class ApiToken(TenantModel):
    """A Bearer token of one user in one organization. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100)
    prefix = models.CharField(_("préfixe"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), default=djtz.now)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at:
            return False
        return not (self.expires_at and self.expires_at <= djtz.now())


class IdempotencyRecord(TenantModel):
    """The stored answer to a POST sent with an Idempotency-Key, replayed when the same key comes again."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=djtz.now, db_index=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


class SmsMessage(models.Model):
    """The SMS outbox: every text message the platform sends, whatever the transport (comptoir.core.sms).
    The default transport only writes here and to the log, so a developer reads the codes in the outbox."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Échec")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", null=True)
    to = models.CharField(_("destinataire"), max_length=30)
    body = models.TextField(_("message"))
    purpose = models.CharField(_("objet"), max_length=40, blank=True)
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    transport = models.CharField(_("transport"), max_length=100, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=djtz.now, db_index=True)

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS")
        ordering = ["-created_at", "-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.to}: {self.body[:30]}"
