"""Deterministic bulk data for the bench: the same scale and seed always give the same rows.

Tenants (organizations) made by the core step, the same at every scale except the first:

- `bench`: the operator at DESIGN.md's scale: 100 × scale centers (at least 1), 2,000 × scale staff
  (at least 1), one legal entity per 20 centers. Later apps put their scaled rows (companies,
  contracts, invoices, bookings...) here;
- `bench-list-10`: 10 centers, 10 staff — a list page with 10 rows;
- `bench-list-1000`: 1,000 centers, 1,000 staff — the same page with 1,000 rows behind it;
- `bench-staff-1000`: 1,000 staff in 100 centers (DESIGN.md's number of centers): the staff list at
  1,000 rows, whose center filter lists the operator's centers as a real operator's would.
These exist at any scale, so "10 rows vs 1,000 rows" is always measured on the same volumes.

Rows are written with `bulk_create` in batches (no per-row services or journal: this is test data);
each step draws from its own seeded random stream, so adding a step never changes another step's rows.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction

from comptoir.bench import registry
from comptoir.core import services
from comptoir.core.demo import french_identifiers
from comptoir.core.models import (
    Center,
    LegalEntity,
    OpeningHours,
    Organization,
    Role,
    StaffMembership,
    User,
)

GENERATOR_VERSION = 2
SEED = 20260101
BATCH_SIZE = 1000
BENCH_PASSWORD = "Bench-Comptoir-2026"  # administrators of the bench tenants (to browse the bench database)
EPOCH = datetime.datetime(2026, 1, 1, 8, 0, tzinfo=datetime.UTC)

SCALED_TENANT = "bench"
# slug: (centers, staff)
LIST_TENANTS = {"bench-list-10": (10, 10), "bench-list-1000": (1000, 1000), "bench-staff-1000": (100, 1000)}

M = TypeVar("M", bound=models.Model)


@dataclass
class GeneratorContext:
    """What a generator step gets: the scale, seeded random streams, the tenants, bulk helpers."""

    scale: float
    seed: int = SEED
    log: Callable[[str], None] = lambda message: None
    tenants: dict[str, Organization] = field(default_factory=dict)

    def rng(self, purpose: str) -> random.Random:
        """An independent random stream per purpose (a step's name), reproducible from the seed."""
        return random.Random(f"{self.seed}:{purpose}")

    def scaled(self, at_scale_one: int, minimum: int = 1) -> int:
        return max(minimum, round(at_scale_one * self.scale))

    def bulk_create(self, model: type[M], objects: Iterable[M], batch_size: int = BATCH_SIZE) -> list[M]:
        """Insert in batches; returns the objects with their primary keys (PostgreSQL and SQLite)."""
        objects = list(objects)
        started = time.perf_counter()
        created = model.objects.bulk_create(objects, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        rate = len(objects) / elapsed if elapsed else 0
        self.log(f"  {model._meta.db_table}: {len(objects):,} rows in {elapsed:.2f} s ({rate:,.0f}/s)")
        return created


def generate(*, scale: float, log: Callable[[str], None] | None = None) -> GeneratorContext:
    """Run every registered generator step, in order, in one transaction; then refresh the planner statistics."""
    gen = GeneratorContext(scale=scale, log=log or (lambda message: None))
    with transaction.atomic():
        for _order, name, step in registry.generator_steps():
            gen.log(f"generating: {name}")
            step(gen)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return gen


# --------------------------------------------------------------------------------------------------
# Core data: organizations, legal entities, centers with opening hours, users and staff memberships
# --------------------------------------------------------------------------------------------------
CITIES = [
    ("Paris", "75008"), ("Lyon", "69003"), ("Marseille", "13001"), ("Toulouse", "31000"), ("Nice", "06000"),
    ("Nantes", "44000"), ("Strasbourg", "67000"), ("Montpellier", "34000"), ("Bordeaux", "33000"),
    ("Lille", "59000"), ("Rennes", "35000"), ("Reims", "51100"), ("Grenoble", "38000"), ("Dijon", "21000"),
]  # fmt: skip
STREETS = [
    "rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue du Commerce", "place de la Gare",
    "quai des Chartrons", "rue Nationale", "cours Lafayette", "avenue de la Libération", "rue Pasteur",
]  # fmt: skip
FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Lucas", "Hugo", "Louis", "Nathan",
    "Thomas", "Antoine", "Karim", "Yasmine", "Mehdi", "Sofia", "Paul", "Claire",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefebvre", "Michel", "Garcia", "Haddad", "Nguyen", "Roux", "Fontaine", "Chevalier",
]  # fmt: skip
WEEKDAY_HOURS = (datetime.time(8), datetime.time(19))
SATURDAY_HOURS = (datetime.time(9), datetime.time(13))


def core_data(gen: GeneratorContext) -> None:
    sizes = {SCALED_TENANT: (gen.scaled(100), gen.scaled(2000))}
    sizes.update(LIST_TENANTS)
    admin_password = make_password(BENCH_PASSWORD)  # hashed once, shared by the tenants' administrators
    for slug, (center_count, staff_count) in sizes.items():
        rng = gen.rng(f"core:{slug}")
        organization = services.create_organization(name=f"Bench {slug}", slug=slug)
        gen.tenants[slug] = organization
        entities = _legal_entities(gen, organization, count=max(1, -(-center_count // 20)))
        centers = _centers(gen, rng, organization, entities, count=center_count)
        _staff(gen, rng, organization, centers, count=staff_count, admin_password=admin_password)


def _legal_entities(gen: GeneratorContext, organization: Organization, *, count: int) -> list[LegalEntity]:
    entities = []
    for index in range(count):
        city, postal_code = CITIES[index % len(CITIES)]
        entities.append(
            LegalEntity(
                organization=organization,
                name=f"{organization.slug} entité {index + 1:03d} SAS",
                legal_form="SAS",
                **french_identifiers(f"{organization.slug}-{index}"),
                address_line1="1 rue de la Paix",
                postal_code=postal_code,
                city=city,
            )
        )
    return gen.bulk_create(LegalEntity, entities)


def _centers(
    gen: GeneratorContext,
    rng: random.Random,
    organization: Organization,
    entities: list[LegalEntity],
    *,
    count: int,
) -> list[Center]:
    centers = []
    for index in range(count):
        city, postal_code = CITIES[rng.randrange(len(CITIES))]
        centers.append(
            Center(
                organization=organization,
                legal_entity=entities[index // 20 % len(entities)],
                name=f"{city} {index + 1:04d}",
                code=f"c{index + 1:04d}",
                timezone="Europe/Paris",
                email=f"c{index + 1:04d}@{organization.slug}.bench.test",
                phone=f"+33 1 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} 00",
                address_line1=f"{rng.randrange(1, 200)} {STREETS[rng.randrange(len(STREETS))]}",
                postal_code=postal_code,
                city=city,
                created_at=EPOCH + datetime.timedelta(hours=index),
            )
        )
    centers = gen.bulk_create(Center, centers)
    hours = []
    for index, center in enumerate(centers):
        hours.extend(OpeningHours(center=center, weekday=day, opens_at=WEEKDAY_HOURS[0], closes_at=WEEKDAY_HOURS[1])
                     for day in range(5))  # fmt: skip
        if index % 3 == 0:
            hours.append(
                OpeningHours(center=center, weekday=5, opens_at=SATURDAY_HOURS[0], closes_at=SATURDAY_HOURS[1])
            )
    gen.bulk_create(OpeningHours, hours)
    return centers


def _staff(
    gen: GeneratorContext,
    rng: random.Random,
    organization: Organization,
    centers: list[Center],
    *,
    count: int,
    admin_password: str,
) -> None:
    roles = {role.kind: role for role in Role.objects.filter(organization=organization)}
    kinds = [Role.Kind.MANAGER, Role.Kind.RECEPTION, Role.Kind.RECEPTION, Role.Kind.TECHNICIAN]
    users, memberships, limited = [], [], []
    for index in range(count):
        first, last = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))], LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        kind = Role.Kind.ADMINISTRATOR if index == 0 else kinds[rng.randrange(len(kinds))]
        users.append(
            User(
                email=f"{'admin' if index == 0 else 'staff'}{index:05d}@{organization.slug}.bench.test",
                first_name=first,
                last_name=last,
                # no usable password except the administrator's: "!" + random, as set_unusable_password does
                password=admin_password if index == 0 else f"!{rng.getrandbits(160):040x}",
                date_joined=EPOCH + datetime.timedelta(minutes=index),
            )
        )
        memberships.append((kind, index))
    users = gen.bulk_create(User, users)
    staff = gen.bulk_create(
        StaffMembership,
        (
            StaffMembership(
                organization=organization,
                user=user,
                role=roles[kind],
                job_title=str(roles[kind].name),
                created_at=EPOCH + datetime.timedelta(minutes=index),
            )
            for user, (kind, index) in zip(users, memberships, strict=True)
        ),
    )
    # reception agents work in one center; the others see every center
    through = StaffMembership.centers.through
    for membership in staff:
        if membership.role.kind == Role.Kind.RECEPTION:
            limited.append(through(staffmembership_id=membership.pk, center_id=centers[rng.randrange(len(centers))].pk))
    gen.bulk_create(through, limited)


def objects_per_tenant(scale: float) -> dict[str, Any]:
    """The sizes `core_data` generates (for the docs and the tests)."""
    gen = GeneratorContext(scale=scale)
    return {SCALED_TENANT: {"centers": gen.scaled(100), "staff": gen.scaled(2000)}} | {
        slug: {"centers": centers, "staff": staff} for slug, (centers, staff) in LIST_TENANTS.items()
    }


registry.register_generator_step(0, core_data)
