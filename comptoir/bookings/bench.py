"""Benchmarks of bookings (issue 7), on DESIGN.md's scale: 2,000 bookable spaces, 2,000,000 bookings.

Generator step (order 500), in the `bench` tenant: 2,000 × scale bookable spaces spread over its centers (one in
ten a coworking area of 12 seats, the rest meeting rooms and drop-in offices), their booking settings, and
2,000,000 × scale bookings over two years centred on the generator's epoch (2026-01-01): for each space, a day's
bookings of 1 to 3 hours between 8:00 and 19:00 UTC, never overlapping on a space holding one booking at a time, one
in ten cancelled; the coworking areas hold overlapping bookings within their seats.

- `bookings.free_spaces.2000000`: « which of 2,000 spaces are free for this slot » through `free_space_ids` (what
  the UI and the API call: one statement with the centers' opening hours, the overlapping bookings per space read
  from one range of the organization's bookings, the seats of the coworking areas and the blocked slots); raw = one
  NOT EXISTS per space over the holding index, in plain SQL.
- `bookings.create.contention`: 50 clients (threads, one connection each) book the same slot of one room at once
  through `create_booking`: exactly one booking, 49 « slot taken » refusals, no other error; rows = 50 attempts.
  Raw = 50 single-row inserts of the same booking by one connection.
- `bookings.create.500`: 500 bookings of one future day across 500 rooms through `create_booking` (lock, checks,
  price, insert, journal), in a transaction rolled back; raw = the same 500 rows written by the database alone.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from decimal import Decimal
from typing import Any

from django.db import close_old_connections, connection, connections
from django.utils import timezone

from comptoir.bench.generator import EPOCH, SCALED_TENANT, GeneratorContext
from comptoir.bench.harness import BenchContext, raw_insert
from comptoir.bench.registry import BenchError, Case, benchmark, register_generator_step
from comptoir.billing.services.runs import db_rows, write_rows
from comptoir.bookings.models import Booking, SpaceBooking
from comptoir.bookings.services import availability
from comptoir.bookings.services import bookings as services
from comptoir.catalog.models import Space
from comptoir.core.errors import Conflict
from comptoir.core.models import Center, OpeningHours, Organization
from comptoir.crm.models import Company

SPACES = 2_000
BOOKINGS = 2_000_000
DAYS = 730
FIRST_DAY = EPOCH.date() - datetime.timedelta(days=DAYS // 2)
NAME_PREFIX = "Réservable "


def space_count(scale: float) -> int:
    return max(20, round(SPACES * scale))


def booking_count(scale: float) -> int:
    return max(200, round(BOOKINGS * scale))


def _write(model: type[Any], objects: list[Any]) -> None:
    for start in range(0, len(objects), 20_000):
        columns, rows = db_rows(model, objects[start : start + 20_000])
        write_rows(model._meta.db_table, columns, rows)


def bookings_data(gen: GeneratorContext) -> None:
    organization = gen.tenants.get(SCALED_TENANT) or Organization.objects.filter(slug=SCALED_TENANT).first()
    if organization is None:
        return
    centers = list(Center.objects.filter(organization=organization).order_by("id"))
    companies = list(Company.objects.filter(organization=organization).order_by("id").values_list("id", flat=True))
    if not centers or not companies:
        raise BenchError("The bench tenant has no centers or companies (the core and CRM steps did not run).")
    rng = gen.rng("bookings:data")
    count = space_count(gen.scale)
    spaces = []
    for index in range(count):
        kind = (Space.Kind.COWORKING_AREA if index % 10 == 9
                else Space.Kind.DROP_IN_OFFICE if index % 10 == 8 else Space.Kind.MEETING_ROOM)  # fmt: skip
        spaces.append(Space(organization=organization, center=centers[index % len(centers)], kind=kind,
                            name=f"{NAME_PREFIX}{index + 1:05d}", capacity=12 if kind == Space.Kind.COWORKING_AREA
                            else rng.choice([4, 6, 8, 12]), is_bookable=True, floor=rng.randint(0, 5),
                            amenities=rng.sample(["écran", "visio", "tableau blanc", "paperboard"], 2)))  # fmt: skip
    gen.bulk_create(Space, spaces)
    spaces = list(Space.objects.filter(organization=organization, name__startswith=NAME_PREFIX).order_by("id"))
    gen.bulk_create(SpaceBooking, [
        SpaceBooking(organization=organization, space=space, hour_price=Decimal("25.00"),
                     half_day_price=Decimal("80.00"), day_price=Decimal("150.00"))
        for space in spaces
    ])  # fmt: skip
    total, per_space = booking_count(gen.scale), booking_count(gen.scale) // len(spaces)
    rows: list[Booking] = []
    written = 0
    for space in spaces:
        shared = space.kind == Space.Kind.COWORKING_AREA
        # spread this space's bookings over the days, at most 3 a day, back to back on an exclusive space
        days = sorted(rng.sample(range(DAYS), min(DAYS, max(1, per_space // 3 + 1))))
        made = 0
        for day_index in days:
            day = FIRST_DAY + datetime.timedelta(days=day_index)
            hour = 8
            for _slot in range(3):
                if made >= per_space:
                    break
                length = rng.randint(1, 3)
                start = datetime.datetime(day.year, day.month, day.day, hour if not shared else rng.randint(8, 15),
                                          tzinfo=datetime.UTC)  # fmt: skip
                cancelled = rng.random() < 0.1
                rows.append(Booking(
                    organization=organization, center_id=space.center_id, space_id=space.pk,
                    company_id=companies[rng.randrange(len(companies))], starts_at=start,
                    ends_at=start + datetime.timedelta(hours=length), seats=rng.randint(1, 3) if shared else 1,
                    exclusive=not shared, uid=uuid.UUID(int=rng.getrandbits(128)).hex,  # hex: both databases' form
                    status=Booking.Status.CANCELLED if cancelled else Booking.Status.CONFIRMED,
                    payment=Booking.Payment.INVOICE, price_excl_vat=Decimal("25.00") * length, created_at=EPOCH,
                ))  # fmt: skip
                hour += length
                made += 1
        if len(rows) >= 50_000:
            _write(Booking, rows)
            written += len(rows)
            rows = []
    _write(Booking, rows)
    written += len(rows)
    gen.log(f"  bookings_booking: {written:,} rows ({total:,} asked)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE bookings_booking")


register_generator_step(500, bookings_data)


def _bench_space_ids(organization: Organization) -> list[int]:
    return list(Space.objects.filter(organization=organization, name__startswith=NAME_PREFIX).order_by("id")
                .values_list("id", flat=True))  # fmt: skip


def _slot() -> tuple[datetime.datetime, datetime.datetime]:
    """A weekday slot inside the generated history (10:00-11:00 UTC on the epoch's first Tuesday)."""
    day = EPOCH.date()
    while day.weekday() != 1:
        day += datetime.timedelta(days=1)
    start = datetime.datetime(day.year, day.month, day.day, 10, tzinfo=datetime.UTC)
    return start, start + datetime.timedelta(hours=1)


@benchmark("bookings.free_spaces.2000000")
def free_spaces(ctx: BenchContext) -> Case:
    """Which of 2,000 spaces are free for a slot, with 2,000,000 bookings."""
    organization = ctx.organization(SCALED_TENANT)
    start, end = _slot()
    spaces = _bench_space_ids(organization)
    if not spaces:
        raise BenchError("bookings.free_spaces.2000000: no bookable spaces: run with --regenerate.")
    _open_every_day(organization)

    def run() -> list[int]:
        return availability.free_space_ids(organization.pk, start, end)

    def raw() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.id FROM catalog_space s WHERE s.organization_id = %s AND s.is_active AND s.is_bookable "
                "AND NOT EXISTS (SELECT 1 FROM bookings_booking b WHERE b.space_id = s.id "
                "AND b.status IN ('requested', 'confirmed') AND b.starts_at > %s AND b.starts_at < %s "
                "AND b.ends_at > %s) ORDER BY s.id",
                [organization.pk, start - datetime.timedelta(days=1), end, start],
            )
            return cursor.fetchall()

    def check(result: list[int]) -> int:
        if not result or len(result) >= len(spaces) + 1000:
            raise BenchError(f"bookings.free_spaces.2000000: {len(result)} free spaces of {len(spaces)}")
        return len(spaces)

    return Case(run=run, raw=raw, rows=len(spaces), check=check, repeat=20)


def _open_every_day(organization: Organization) -> None:
    """The bench centers open 0:00-23:59 every day, so the slot is inside the opening hours whatever the data."""
    centers = list(Center.objects.filter(organization=organization).values_list("id", flat=True))
    have = set(OpeningHours.objects.filter(center_id__in=centers, opens_at=datetime.time(0))
               .values_list("center_id", "weekday"))  # fmt: skip
    missing = [OpeningHours(center_id=center, weekday=day, opens_at=datetime.time(0),
                            closes_at=datetime.time(23, 59))
               for center in centers for day in range(7) if (center, day) not in have]  # fmt: skip
    OpeningHours.objects.bulk_create(missing)


def _future_day() -> datetime.date:
    day = timezone.localdate() + datetime.timedelta(days=30)
    while day.weekday() != 2:
        day += datetime.timedelta(days=1)
    return day


@benchmark("bookings.create.contention")
def contention(ctx: BenchContext) -> Case:
    """50 parallel clients book one slot of one room: exactly one wins, 49 are told « slot taken »."""
    organization = ctx.organization(SCALED_TENANT)
    _open_every_day(organization)
    admin = ctx.administrator(SCALED_TENANT)
    space = Space.objects.filter(organization=organization, name__startswith=NAME_PREFIX,
                                 kind=Space.Kind.MEETING_ROOM).order_by("id").first()  # fmt: skip
    company = Company.objects.filter(organization=organization).order_by("id").first()
    if space is None or company is None:
        raise BenchError("bookings.create.contention: no room: run with --regenerate.")
    day = _future_day()
    tz = space.center.tz
    start = datetime.datetime(day.year, day.month, day.day, 10, tzinfo=tz)
    end = start + datetime.timedelta(hours=1)
    clients = 50

    def run() -> dict[str, int]:
        Booking.objects.filter(space=space, starts_at=start).delete()
        outcome = {"created": 0, "conflict": 0, "error": 0}
        lock = threading.Lock()
        barrier = threading.Barrier(clients)

        def client() -> None:
            try:
                barrier.wait()
                services.create_booking(organization=organization, by=admin, data={
                    "space": space, "company": company, "starts_at": start, "ends_at": end})  # fmt: skip
                key = "created"
            except Conflict:
                key = "conflict"
            except Exception:  # counted: the check fails the bench on any other error
                key = "error"
            finally:
                connections.close_all()
            with lock:
                outcome[key] += 1

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        close_old_connections()
        return outcome

    def raw() -> None:
        Booking.objects.filter(space=space, starts_at=start).delete()
        template = Booking(organization=organization, center_id=space.center_id, space=space, company=company,
                           starts_at=start, ends_at=end, status=Booking.Status.CANCELLED, created_at=EPOCH,
                           uid=uuid.uuid4().hex)  # fmt: skip
        columns, rows = db_rows(Booking, [template])
        for _ in range(clients):
            row = list(rows[0])
            row[columns.index("uid")] = uuid.uuid4().hex
            raw_insert(Booking._meta.db_table, columns, [tuple(row)])
        Booking.objects.filter(space=space, starts_at=start).delete()

    def check(result: dict[str, int]) -> int:
        if result != {"created": 1, "conflict": clients - 1, "error": 0}:
            raise BenchError(f"bookings.create.contention: {result} (expected one booking, {clients - 1} conflicts)")
        return clients

    return Case(run=run, raw=raw, rows=clients, check=check, repeat=5)


@benchmark("bookings.create.500")
def create_many(ctx: BenchContext) -> Case:
    """500 bookings across 500 rooms through the booking service."""
    organization = ctx.organization(SCALED_TENANT)
    _open_every_day(organization)
    admin = ctx.administrator(SCALED_TENANT)
    rooms = list(Space.objects.filter(organization=organization, name__startswith=NAME_PREFIX,
                                      kind=Space.Kind.MEETING_ROOM).select_related("center", "booking")
                 .order_by("id")[:500])  # fmt: skip
    company = Company.objects.filter(organization=organization).order_by("id").first()
    day = _future_day() + datetime.timedelta(days=7)
    slots = []
    for room in rooms:
        tz = room.center.tz
        start = datetime.datetime(day.year, day.month, day.day, 14, tzinfo=tz)
        slots.append((room, start, start + datetime.timedelta(hours=2)))

    def run() -> int:
        for room, start, end in slots:
            services.create_booking(organization=organization, by=admin, data={
                "space": room, "company": company, "starts_at": start, "ends_at": end})  # fmt: skip
        return len(slots)

    def raw() -> None:
        objects = [Booking(organization=organization, center_id=room.center_id, space=room, company=company,
                           starts_at=start, ends_at=end, status=Booking.Status.CONFIRMED, created_at=EPOCH,
                           uid=uuid.uuid4().hex)
                   for room, start, end in slots]  # fmt: skip
        columns, rows = db_rows(Booking, objects)
        raw_insert(Booking._meta.db_table, columns, rows)

    def check(result: int) -> int:
        if result != len(slots):
            raise BenchError(f"bookings.create.500: {result} bookings")
        return result

    return Case(run=run, raw=raw, rows=len(slots), check=check, in_rollback=True, repeat=3)
