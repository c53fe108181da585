"""Catalog: the rentable and bookable spaces of each center and their floor plans, the service catalog
(main services, monthly options, consumptions, plans) and office pricing (price per m² per center, price
grids, discounts allowed per staff role)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Center, Role, TenantModel

MONEY = {"max_digits": 12, "decimal_places": 2}


class VatRate(models.TextChoices):
    """French VAT rates; 0 % needs an exemption reason (article of the CGI or of the VAT directive)."""

    STANDARD = "20.00", _("20 %")
    INTERMEDIATE = "10.00", _("10 %")
    REDUCED = "5.50", _("5,5 %")
    SUPER_REDUCED = "2.10", _("2,1 %")
    ZERO = "0.00", _("0 % (exonéré)")


class ServiceType(models.TextChoices):
    """The main services a quote offer is built on (frontmanager §5), plus parking."""

    DOMICILIATION = "domiciliation", _("Domiciliation d'entreprise")
    PRIVATE_OFFICE = "private_office", _("Bureau privatif")
    COWORKING = "coworking", _("Espace de coworking")
    NOMAD = "nomad", _("Formule nomade")
    PARKING = "parking", _("Parking")


# --------------------------------------------------------------------------------------------------
# Spaces and floor plans
# --------------------------------------------------------------------------------------------------
class Space(TenantModel):
    """A rentable or bookable unit of a center."""

    class Kind(models.TextChoices):
        PRIVATE_OFFICE = "private_office", _("Bureau privatif")
        SHARED_OFFICE = "shared_office", _("Bureau partagé")
        COWORKING_AREA = "coworking_area", _("Espace de coworking")
        MEETING_ROOM = "meeting_room", _("Salle de réunion")
        DROP_IN_OFFICE = "drop_in_office", _("Bureau de passage")
        MAILBOX = "mailbox", _("Boîte aux lettres")
        PARKING = "parking", _("Parking")

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="spaces", verbose_name=_("centre"))
    name = models.CharField(_("nom"), max_length=120)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    floor = models.SmallIntegerField(_("étage"), default=0, validators=[MinValueValidator(-5), MaxValueValidator(200)])
    area_m2 = models.DecimalField(
        _("surface (m²)"), max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    capacity = models.PositiveIntegerField(
        _("capacité"), default=1, validators=[MinValueValidator(1)], help_text=_("Postes ou personnes.")
    )
    description = models.TextField(_("description"), blank=True)
    amenities = models.JSONField(_("équipements"), default=list, blank=True)
    is_bookable = models.BooleanField(_("réservable"), default=False)
    is_active = models.BooleanField(_("actif"), default=True)
    # The space's polygon on its floor's plan: [[x, y], ...] in the plan's coordinates (None: not drawn).
    shape = models.JSONField(_("forme sur le plan"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("espace")
        verbose_name_plural = _("espaces")
        ordering = ["center__name", "floor", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["center", "name"], name="space_unique_name_per_center"),
        ]
        indexes = [models.Index(fields=["organization", "center", "floor"], name="space_org_center_floor_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:space_detail", args=[self.pk])

    @property
    def is_office(self) -> bool:
        return self.kind in (self.Kind.PRIVATE_OFFICE, self.Kind.SHARED_OFFICE, self.Kind.DROP_IN_OFFICE)


def space_photo_path(instance: SpacePhoto, filename: str) -> str:
    return f"org/{instance.space.organization_id}/spaces/{instance.space_id}/{filename}"


class SpacePhoto(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="photos", verbose_name=_("espace"))
    image = models.ImageField(_("photo"), upload_to=space_photo_path)
    caption = models.CharField(_("légende"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("photo d'espace")
        verbose_name_plural = _("photos d'espace")
        ordering = ["position", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.caption or self.image.name


def floor_plan_path(instance: FloorPlan, filename: str) -> str:
    return f"org/{instance.organization_id}/plans/{instance.center_id}/{filename}"


class FloorPlan(TenantModel):
    """The plan of one floor of a center: a background (image or SVG) and the spaces' polygons on it."""

    center = models.ForeignKey(Center, on_delete=models.CASCADE, related_name="floor_plans", verbose_name=_("centre"))
    floor = models.SmallIntegerField(_("étage"), default=0)
    name = models.CharField(_("nom"), max_length=120, blank=True)
    background = models.FileField(_("fond de plan"), upload_to=floor_plan_path, blank=True)
    width = models.PositiveIntegerField(_("largeur"), default=1000, validators=[MinValueValidator(10)])
    height = models.PositiveIntegerField(_("hauteur"), default=600, validators=[MinValueValidator(10)])
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)

    class Meta:
        verbose_name = _("plan d'étage")
        verbose_name_plural = _("plans d'étage")
        ordering = ["center__name", "floor", "id"]
        constraints = [models.UniqueConstraint(fields=["center", "floor"], name="floorplan_unique_floor_per_center")]

    def __str__(self) -> str:
        return self.name or str(_("Étage %(floor)s") % {"floor": self.floor})

    def get_absolute_url(self) -> str:
        return reverse("catalog:floorplan_detail", args=[self.pk])


# --------------------------------------------------------------------------------------------------
# Service catalog
# --------------------------------------------------------------------------------------------------
class Product(TenantModel):
    """An article of the service catalog ("Catalogue de services", frontmanager §16)."""

    class Kind(models.TextChoices):
        MAIN_SERVICE = "main_service", _("Service principal")
        OPTION = "option", _("Option mensuelle")
        CONSUMPTION = "consumption", _("Consommation")
        PLAN = "plan", _("Formule")

    class PlanType(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Abonnement")
        PACK = "pack", _("Pack de crédits")
        DOMICILIATION = "domiciliation", _("Domiciliation")

    class Unit(models.TextChoices):
        MONTH = "month", _("mois")
        UNIT = "unit", _("unité")
        PRINT = "print", _("impression")
        DRINK = "drink", _("boisson")
        HOUR = "hour", _("heure")
        HALF_DAY = "half_day", _("demi-journée")
        DAY = "day", _("jour")
        DESK = "desk", _("poste")

    class CreditPeriod(models.TextChoices):
        WEEK = "week", _("par semaine")
        MONTH = "month", _("par mois")
        YEAR = "year", _("par an")

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    service_type = models.CharField(
        _("service"), max_length=20, choices=ServiceType.choices, blank=True,
        help_text=_("Pour un service principal : le service qu'il fournit."),
    )  # fmt: skip
    plan_type = models.CharField(_("type de formule"), max_length=20, choices=PlanType.choices, blank=True)
    name = models.CharField(_("nom"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    unit = models.CharField(_("unité"), max_length=20, choices=Unit.choices, default=Unit.MONTH)
    unit_price = models.DecimalField(
        _("prix unitaire HT"), **MONEY, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    vat_rate = models.CharField(_("taux de TVA"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    vat_exemption_reason = models.CharField(
        _("motif d'exonération de TVA"), max_length=200, blank=True,
        help_text=_("Obligatoire à 0 %, ex. « Article 261 D-4° du CGI »."),
    )  # fmt: skip
    accounting_code = models.CharField(_("code comptable"), max_length=20, blank=True)
    # plans
    credits = models.DecimalField(
        _("crédits"), max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    credit_period = models.CharField(
        _("renouvellement des crédits"), max_length=10, choices=CreditPeriod.choices, blank=True
    )
    validity_days = models.PositiveIntegerField(_("validité (jours)"), null=True, blank=True)
    booking_discount = models.DecimalField(
        _("remise sur les réservations (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Pour une formule : la remise de ses titulaires sur les réservations payantes."),
    )  # fmt: skip
    included_services = models.TextField(_("services inclus"), blank=True)
    available_everywhere = models.BooleanField(
        _("disponible dans tous les centres"), default=True,
        help_text=_("Sinon, seulement dans les centres où il est activé."),
    )  # fmt: skip
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("article du catalogue")
        verbose_name_plural = _("articles du catalogue")
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "name"], name="product_unique_name_per_kind"),
            models.CheckConstraint(
                condition=~Q(vat_rate="0.00") | ~Q(vat_exemption_reason=""), name="product_zero_vat_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", args=[self.pk])

    @property
    def vat_rate_decimal(self) -> Decimal:
        return Decimal(self.vat_rate)


class ProductCenterPrice(TenantModel):
    """A product's availability and price in one center (overrides the catalog price)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="center_prices")
    center = models.ForeignKey(Center, on_delete=models.CASCADE, related_name="+", verbose_name=_("centre"))
    is_available = models.BooleanField(_("disponible"), default=True)
    unit_price = models.DecimalField(
        _("prix HT dans ce centre"), **MONEY, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("prix par centre")
        verbose_name_plural = _("prix par centre")
        ordering = ["center__name", "id"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["product", "center"], name="productcenterprice_unique")]

    def __str__(self) -> str:
        return f"{self.product} — {self.center}"


# --------------------------------------------------------------------------------------------------
# Office pricing (frontmanager §17)
# --------------------------------------------------------------------------------------------------
class PriceGrid(TenantModel):
    """Coefficients that adjust the base office price by typology, commitment term and service."""

    name = models.CharField(_("nom"), max_length=120)
    description = models.CharField(_("description"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("grille tarifaire")
        verbose_name_plural = _("grilles tarifaires")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="pricegrid_unique_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:pricegrid_detail", args=[self.pk])


class PriceGridRule(models.Model):
    """One coefficient of a grid. Typology and service rules match their value exactly; a term rule applies
    from its number of months on (the rule with the longest term not above the commitment wins)."""

    class Dimension(models.TextChoices):
        TYPOLOGY = "typology", _("Typologie")
        TERM = "term", _("Durée d'engagement")
        SERVICE = "service", _("Service")

    grid = models.ForeignKey(PriceGrid, on_delete=models.CASCADE, related_name="rules", verbose_name=_("grille"))
    dimension = models.CharField(_("critère"), max_length=10, choices=Dimension.choices)
    value = models.CharField(_("valeur"), max_length=30, help_text=_("Type d'espace, nombre de mois ou service."))
    coefficient = models.DecimalField(
        _("coefficient"), max_digits=6, decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("99"))],
    )  # fmt: skip

    class Meta:
        verbose_name = _("règle de grille")
        verbose_name_plural = _("règles de grille")
        ordering = ["dimension", "value", "id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["grid", "dimension", "value"], name="pricegridrule_unique_value"),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()} {self.value} × {self.coefficient}"


class CenterRate(TenantModel):
    """A center's reference price per m² per month and the price grid it uses."""

    center = models.OneToOneField(Center, on_delete=models.CASCADE, related_name="rate", verbose_name=_("centre"))
    price_per_m2 = models.DecimalField(
        _("prix au m² par mois HT"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    price_grid = models.ForeignKey(
        PriceGrid, on_delete=models.SET_NULL, null=True, blank=True, related_name="centers",
        verbose_name=_("grille tarifaire"),
    )  # fmt: skip
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)

    class Meta:
        verbose_name = _("prix par centre")
        verbose_name_plural = _("prix par centre")
        ordering = ["center__name", "id"]

    def __str__(self) -> str:
        return f"{self.center} — {self.price_per_m2} €/m²"


class Discount(TenantModel):
    """A discount staff may grant on a quote, up to the maximum of their role (frontmanager §17)."""

    name = models.CharField(_("nom"), max_length=120)
    percent = models.DecimalField(
        _("pourcentage"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )  # fmt: skip
    centers = models.ManyToManyField(
        Center, blank=True, related_name="+", verbose_name=_("centres"),
        help_text=_("Aucun : tous les centres."),
    )  # fmt: skip
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("réduction")
        verbose_name_plural = _("réductions")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="discount_unique_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:discount_detail", args=[self.pk])


class DiscountAllowance(models.Model):
    """The staff roles allowed to grant a discount, and the maximum percentage for each."""

    discount = models.ForeignKey(Discount, on_delete=models.CASCADE, related_name="allowances")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+", verbose_name=_("rôle"))
    max_percent = models.DecimalField(
        _("maximum (%)"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )  # fmt: skip

    class Meta:
        verbose_name = _("autorisation de réduction")
        verbose_name_plural = _("autorisations de réduction")
        ordering = ["role_id", "id"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["discount", "role"], name="discountallowance_unique_role")]

    def __str__(self) -> str:
        return f"{self.discount} — {self.role}: {self.max_percent} %"
