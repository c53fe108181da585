"""The catalog's demo data: in each of the demo's three centers, spaces on two floors with a floor plan per
floor (a tidy grid computed here, a polygon per space), a price per m² and a price grid; the service
catalog (main services, monthly options, consumptions, plans) with its VAT rates (one at 0 % with its
exemption reason) and per-center prices; discounts with the maximum each staff role may grant.

Deterministic and idempotent: spaces are looked up by (center, name), plans by (center, floor), products by
(kind, name), grids and discounts by name; only what is missing is created, through the services (which
journal). Runs after the core steps (centers, staff) and before the sales demo.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from comptoir.catalog.models import (
    CenterRate,
    Discount,
    FloorPlan,
    PriceGrid,
    PriceGridRule,
    Product,
    ServiceType,
    Space,
    VatRate,
)
from comptoir.catalog.services import floorplans, pricing, products, spaces
from comptoir.core.demo import DemoContext, register_demo_step
from comptoir.core.models import Role

K = Space.Kind
PLAN_WIDTH, PLAN_HEIGHT = 1000, 600
MARGIN, GAP = 20, 12

# (floor, name, kind, area m², capacity, bookable, amenities); the same layout in each center
SPACES: list[tuple[int, str, str, str | None, int, bool, list[str]]] = [
    (0, "Bureau 001", K.PRIVATE_OFFICE, "12", 2, False, ["wifi", "furnished", "window"]),
    (0, "Bureau 002", K.PRIVATE_OFFICE, "16", 3, False, ["wifi", "furnished", "window"]),
    (0, "Bureau 003", K.PRIVATE_OFFICE, "20", 4, False, ["wifi", "furnished", "air_conditioning"]),
    (0, "Bureau 004", K.PRIVATE_OFFICE, "9", 1, False, ["wifi", "furnished"]),
    (0, "Espace coworking", K.COWORKING_AREA, "120", 24, False, ["wifi", "screen", "storage"]),
    (0, "Bureau de passage", K.DROP_IN_OFFICE, "10", 1, True, ["wifi", "furnished"]),
    (0, "Salle Verrière", K.MEETING_ROOM, "18", 6, True, ["wifi", "screen", "whiteboard", "videoconference"]),
    (0, "Boîtes aux lettres", K.MAILBOX, "4", 200, False, []),
    (0, "Parking", K.PARKING, "250", 12, False, ["accessible"]),
    (1, "Bureau 101", K.PRIVATE_OFFICE, "14", 2, False, ["wifi", "furnished", "window"]),
    (1, "Bureau 102", K.PRIVATE_OFFICE, "18", 3, False, ["wifi", "furnished", "window"]),
    (1, "Bureau 103", K.PRIVATE_OFFICE, "25", 5, False, ["wifi", "furnished", "window", "air_conditioning"]),
    (1, "Bureau 104", K.PRIVATE_OFFICE, "32", 6, False, ["wifi", "furnished", "window", "air_conditioning"]),
    (1, "Bureau 105", K.PRIVATE_OFFICE, "45", 9, False, ["wifi", "furnished", "window", "storage"]),
    (1, "Bureau 106", K.PRIVATE_OFFICE, "60", 12, False, ["wifi", "furnished", "window", "storage", "phone"]),
    (1, "Bureau partagé", K.SHARED_OFFICE, "30", 6, False, ["wifi", "furnished", "window"]),
    (1, "Salle Grand Large", K.MEETING_ROOM, "35", 12, True, ["wifi", "screen", "videoconference", "accessible"]),
]  # fmt: skip
DESCRIPTIONS = {
    K.PRIVATE_OFFICE: "Bureau fermé et meublé, accessible 24 h/24, ménage et fibre inclus.",
    K.SHARED_OFFICE: "Bureau partagé au calme, un poste attitré par personne.",
    K.COWORKING_AREA: "Plateau ouvert lumineux, postes libres, cuisine et cabines téléphoniques.",
    K.DROP_IN_OFFICE: "Bureau fermé à réserver à l'heure, à la demi-journée ou à la journée.",
    K.MEETING_ROOM: "Salle de réunion équipée, réservable à l'heure.",
    K.MAILBOX: "Boîtes aux lettres des entreprises domiciliées.",
    K.PARKING: "Parking souterrain sécurisé, accès par badge.",
}

# price per m² per month excl. VAT, by center code
CENTER_RATES = {"paris-opera": Decimal("48.00"), "lyon-part-dieu": Decimal("32.00"), "bordeaux-chartrons": Decimal("28.00")}  # fmt: skip
GRID_NAME = "Grille standard 2026"
GRID_RULES = [
    (PriceGridRule.Dimension.TYPOLOGY, K.PRIVATE_OFFICE, "1.00"),
    (PriceGridRule.Dimension.TYPOLOGY, K.SHARED_OFFICE, "0.85"),
    (PriceGridRule.Dimension.TYPOLOGY, K.COWORKING_AREA, "0.70"),
    (PriceGridRule.Dimension.TYPOLOGY, K.DROP_IN_OFFICE, "1.20"),
    (PriceGridRule.Dimension.TERM, "3", "1.10"),
    (PriceGridRule.Dimension.TERM, "12", "1.00"),
    (PriceGridRule.Dimension.TERM, "24", "0.95"),
    (PriceGridRule.Dimension.TERM, "36", "0.90"),
    (PriceGridRule.Dimension.SERVICE, ServiceType.PRIVATE_OFFICE, "1.00"),
    (PriceGridRule.Dimension.SERVICE, ServiceType.COWORKING, "0.95"),
    (PriceGridRule.Dimension.SERVICE, ServiceType.NOMAD, "1.05"),
    (PriceGridRule.Dimension.SERVICE, ServiceType.DOMICILIATION, "1.00"),
    (PriceGridRule.Dimension.SERVICE, ServiceType.PARKING, "1.00"),
]

P = Product.Kind
EXEMPTION = "Débours refacturés à l'euro près (article 267 II-2° du CGI)"
PRODUCTS: list[dict[str, Any]] = [
    # main services
    {"kind": P.MAIN_SERVICE, "service_type": ServiceType.DOMICILIATION, "name": "Domiciliation commerciale",
     "description": "Adresse du siège social, réception et mise à disposition du courrier.",
     "unit": Product.Unit.MONTH, "unit_price": "49.00", "accounting_code": "706100"},
    {"kind": P.MAIN_SERVICE, "service_type": ServiceType.PRIVATE_OFFICE, "name": "Services du bureau privatif",
     "description": "Accueil, ménage, fibre, charges et fluides, par poste.",
     "unit": Product.Unit.DESK, "unit_price": "35.00", "accounting_code": "706200"},
    {"kind": P.MAIN_SERVICE, "service_type": ServiceType.COWORKING, "name": "Abonnement coworking",
     "description": "Un poste libre dans l'espace de coworking, du lundi au vendredi.",
     "unit": Product.Unit.DESK, "unit_price": "290.00", "accounting_code": "706300"},
    {"kind": P.MAIN_SERVICE, "service_type": ServiceType.NOMAD, "name": "Formule nomade",
     "description": "Dix jours par mois dans l'espace de coworking de tous nos centres.",
     "unit": Product.Unit.MONTH, "unit_price": "149.00", "accounting_code": "706300"},
    {"kind": P.MAIN_SERVICE, "service_type": ServiceType.PARKING, "name": "Place de parking",
     "description": "Une place attitrée au parking du centre.",
     "unit": Product.Unit.MONTH, "unit_price": "95.00", "accounting_code": "706400",
     "_center_prices": {"paris-opera": "180.00"}},
    # monthly options
    {"kind": P.OPTION, "name": "Réexpédition du courrier", "unit": Product.Unit.MONTH, "unit_price": "25.00",
     "description": "Une réexpédition par semaine (affranchissement en sus).", "accounting_code": "706500"},
    {"kind": P.OPTION, "name": "Numérisation du courrier", "unit": Product.Unit.MONTH, "unit_price": "15.00",
     "description": "Le courrier scanné et envoyé par e-mail le jour de sa réception.", "accounting_code": "706500"},
    {"kind": P.OPTION, "name": "Permanence téléphonique", "unit": Product.Unit.MONTH, "unit_price": "79.00",
     "description": "Accueil téléphonique personnalisé à votre nom.", "accounting_code": "706500"},
    {"kind": P.OPTION, "name": "Ligne téléphonique dédiée", "unit": Product.Unit.MONTH, "unit_price": "19.00",
     "accounting_code": "706500"},
    {"kind": P.OPTION, "name": "Casier sécurisé", "unit": Product.Unit.MONTH, "unit_price": "20.00",
     "accounting_code": "706500", "_center_prices": {"bordeaux-chartrons": None}},
    # consumptions
    {"kind": P.CONSUMPTION, "name": "Impression noir et blanc", "unit": Product.Unit.PRINT, "unit_price": "0.10",
     "accounting_code": "706600"},
    {"kind": P.CONSUMPTION, "name": "Impression couleur", "unit": Product.Unit.PRINT, "unit_price": "0.40",
     "accounting_code": "706600"},
    {"kind": P.CONSUMPTION, "name": "Boisson chaude", "unit": Product.Unit.DRINK, "unit_price": "1.50",
     "vat_rate": VatRate.INTERMEDIATE, "accounting_code": "707100"},
    {"kind": P.CONSUMPTION, "name": "Salle de réunion (heure)", "unit": Product.Unit.HOUR, "unit_price": "35.00",
     "accounting_code": "706700", "_center_prices": {"paris-opera": "45.00"}},
    {"kind": P.CONSUMPTION, "name": "Salle de réunion (demi-journée)", "unit": Product.Unit.HALF_DAY,
     "unit_price": "120.00", "accounting_code": "706700"},
    {"kind": P.CONSUMPTION, "name": "Bureau de passage (journée)", "unit": Product.Unit.DAY, "unit_price": "45.00",
     "accounting_code": "706700"},
    {"kind": P.CONSUMPTION, "name": "Frais de dossier", "unit": Product.Unit.UNIT, "unit_price": "150.00",
     "description": "Ouverture du dossier, badges et clés.", "accounting_code": "706800"},
    {"kind": P.CONSUMPTION, "name": "Affranchissement du courrier (débours)", "unit": Product.Unit.UNIT,
     "unit_price": "1.29", "vat_rate": VatRate.ZERO, "vat_exemption_reason": EXEMPTION, "accounting_code": "467000"},
    # plans
    {"kind": P.PLAN, "plan_type": Product.PlanType.SUBSCRIPTION, "name": "Abonnement Flex 10",
     "description": "10 crédits par mois à utiliser en salle de réunion ou en bureau de passage.",
     "unit": Product.Unit.MONTH, "unit_price": "190.00", "credits": "10", "credit_period": Product.CreditPeriod.MONTH,
     "accounting_code": "706900"},
    {"kind": P.PLAN, "plan_type": Product.PlanType.PACK, "name": "Pack 20 heures de salle",
     "description": "20 heures de salle de réunion, valables 6 mois.", "unit": Product.Unit.UNIT,
     "unit_price": "600.00", "credits": "20", "validity_days": 180, "accounting_code": "706900"},
    {"kind": P.PLAN, "plan_type": Product.PlanType.DOMICILIATION, "name": "Domiciliation Premium",
     "description": "La domiciliation avec les services du quotidien.", "unit": Product.Unit.MONTH,
     "unit_price": "89.00", "accounting_code": "706100",
     "included_services": "Numérisation du courrier\nRéexpédition hebdomadaire\n2 heures de salle de réunion par mois"},
]  # fmt: skip

# (name, percent, limited to these center codes, {role kind: max percent})
DISCOUNTS = [
    ("Remise commerciale", "5", (), {Role.Kind.MANAGER: "10", Role.Kind.RECEPTION: "5"}),
    ("Remise engagement longue durée", "10", (), {Role.Kind.MANAGER: "15"}),
    ("Offre de lancement Bordeaux", "15", ("bordeaux-chartrons",), {Role.Kind.MANAGER: "15"}),
]


def plan_layout(spaces_of_floor: list[tuple[str, Decimal]]) -> dict[str, list[list[float]]]:
    """A tidy grid: two rows of rooms, each as wide as its surface allows, on a PLAN_WIDTH × PLAN_HEIGHT plan."""
    half = (len(spaces_of_floor) + 1) // 2
    rows = [spaces_of_floor[:half], spaces_of_floor[half:]]
    height = (PLAN_HEIGHT - 2 * MARGIN - GAP) / 2
    shapes = {}
    for row_index, row in enumerate(rows):
        if not row:
            continue
        weights = [float(max(area, Decimal(8))) ** 0.5 for _name, area in row]
        usable = PLAN_WIDTH - 2 * MARGIN - GAP * (len(row) - 1)
        x = float(MARGIN)
        y0 = MARGIN + row_index * (height + GAP)
        for (name, _area), weight in zip(row, weights, strict=True):
            width = usable * weight / sum(weights)
            shapes[name] = [
                [round(x, 2), round(y0, 2)],
                [round(x + width, 2), round(y0, 2)],
                [round(x + width, 2), round(y0 + height, 2)],
                [round(x, 2), round(y0 + height, 2)],
            ]
            x += width + GAP
    return shapes


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------
def spaces_and_floor_plans(ctx: DemoContext) -> None:
    organization, admin = ctx.organization, ctx.administrator
    for center in ctx.centers.values():
        existing = {space.name: space for space in Space.objects.filter(center=center)}
        for floor, name, kind, area, capacity, bookable, amenities in SPACES:
            if name not in existing:
                existing[name] = spaces.create_space(
                    organization=organization,
                    by=admin,
                    data={
                        "center": center, "name": name, "kind": kind, "floor": floor,
                        "area_m2": Decimal(area) if area else None, "capacity": capacity,
                        "description": DESCRIPTIONS[kind], "amenities": amenities, "is_bookable": bookable,
                    },
                )  # fmt: skip
                ctx.created_one("spaces")
        plans = {plan.floor: plan for plan in FloorPlan.objects.filter(center=center)}
        for floor in sorted({spec[0] for spec in SPACES}):
            plan = plans.get(floor)
            if plan is None:
                plan = floorplans.create_floor_plan(
                    organization=organization,
                    by=admin,
                    data={
                        "center": center, "floor": floor,
                        "name": "Rez-de-chaussée" if floor == 0 else f"Étage {floor}",
                        "width": PLAN_WIDTH, "height": PLAN_HEIGHT,
                    },
                )  # fmt: skip
                ctx.created_one("floor plans")
            of_floor = [(spec[1], Decimal(spec[3] or "8")) for spec in SPACES if spec[0] == floor]
            wanted = {
                existing[name].pk: shape
                for name, shape in plan_layout(of_floor).items()
                if existing[name].shape is None
            }
            if wanted:
                floorplans.save_shapes(plan=plan, by=admin, shapes=wanted)
                ctx.created_one("floor plan drawings")


def center_pricing(ctx: DemoContext) -> None:
    organization, admin = ctx.organization, ctx.administrator
    grid = PriceGrid.objects.filter(organization=organization, name=GRID_NAME).first()
    if grid is None:
        grid = pricing.create_price_grid(
            organization=organization,
            by=admin,
            data={"name": GRID_NAME, "description": "Typologie, durée d'engagement et service principal."},
            rules=[{"dimension": d, "value": v, "coefficient": Decimal(c)} for d, v, c in GRID_RULES],
        )
        ctx.created_one("price grids")
    rates = set(CenterRate.objects.filter(organization=organization).values_list("center_id", flat=True))
    for code, center in ctx.centers.items():
        if center.pk not in rates:
            pricing.create_center_rate(
                organization=organization,
                by=admin,
                center=center,
                data={"price_per_m2": CENTER_RATES.get(code, Decimal("30.00")), "price_grid": grid},
            )
            ctx.created_one("center rates")


def catalog(ctx: DemoContext) -> None:
    organization, admin = ctx.organization, ctx.administrator
    existing = {(p.kind, p.name) for p in Product.objects.filter(organization=organization)}
    for spec in PRODUCTS:
        if (spec["kind"], spec["name"]) in existing:
            continue
        data = {key: value for key, value in spec.items() if not key.startswith("_")}
        for name in ("unit_price", "credits"):
            if name in data:
                data[name] = Decimal(data[name])
        center_prices = [
            {"center": ctx.centers[code], "is_available": price is not None,
             "unit_price": Decimal(price) if price else None}
            for code, price in spec.get("_center_prices", {}).items()
            if code in ctx.centers
        ]  # fmt: skip
        products.create_product(organization=organization, by=admin, data=data, center_prices=center_prices or None)
        ctx.created_one("products")


def discounts(ctx: DemoContext) -> None:
    organization, admin = ctx.organization, ctx.administrator
    roles = {role.kind: role for role in Role.objects.filter(organization=organization)}
    existing = set(Discount.objects.filter(organization=organization).values_list("name", flat=True))
    for name, percent, center_codes, allowances in DISCOUNTS:
        if name in existing:
            continue
        pricing.create_discount(
            organization=organization,
            by=admin,
            data={"name": name, "percent": Decimal(percent), "is_active": True,
                  "centers": [ctx.centers[code] for code in center_codes if code in ctx.centers]},
            allowances={roles[kind]: Decimal(value) for kind, value in allowances.items() if kind in roles},
        )  # fmt: skip
        ctx.created_one("discounts")


register_demo_step(110, spaces_and_floor_plans)
register_demo_step(120, center_pricing)
register_demo_step(130, catalog)
register_demo_step(140, discounts)
