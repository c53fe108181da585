"""Benchmarks of the core app: bulk insert of centers, and the back-office list pages at 10 and 1,000 rows."""

from __future__ import annotations

import datetime
import html
from typing import Any

from django.db import connection
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from comptoir.bench.generator import BATCH_SIZE, EPOCH, SCALED_TENANT
from comptoir.bench.harness import BenchContext, raw_insert
from comptoir.bench.registry import BenchError, Case, benchmark
from comptoir.core.models import Center, LegalEntity, StaffMembership

PAGE_SIZE = 50  # the list pages' page size; the rows actually shown are counted on the page
RESULTS_MARKER = 'id="list-results"'  # where manage/list.html's results start


# --------------------------------------------------------------------------------------------------
# generate.centers: Django's bulk_create vs the database's own executemany INSERT
# --------------------------------------------------------------------------------------------------
@benchmark("generate.centers")
def generate_centers(ctx: BenchContext) -> Case:
    """Insert 1,000 × max(1, scale) centers: bulk_create in batches vs COPY (PostgreSQL) / executemany (SQLite)."""
    organization = ctx.organization(SCALED_TENANT)
    entity_id = LegalEntity.objects.filter(organization=organization).order_by("pk").values_list("pk", flat=True)[0]
    count = max(1000, round(1000 * ctx.scale))
    rows = [
        {
            "organization_id": organization.pk,
            "legal_entity_id": entity_id,
            "name": f"Généré {index:05d}",
            "code": f"gen{index:05d}",
            "timezone": "Europe/Paris",
            "email": f"gen{index:05d}@bench.test",
            "phone": "+33 1 00 00 00 00",
            "is_active": True,
            "created_at": EPOCH + datetime.timedelta(seconds=index),
            "address_line1": f"{index % 200 + 1} rue du Banc d'Essai",
            "address_line2": "",
            "postal_code": "75011",
            "city": "Paris",
            "country": "FR",
        }
        for index in range(count)
    ]
    fields = [field for field in Center._meta.concrete_fields if not field.primary_key]
    if {field.attname for field in fields} != set(rows[0]):
        raise BenchError("core_center's columns changed: update generate.centers")
    columns = [field.column for field in fields]
    adapt = connection.ops.adapt_datetimefield_value if connection.vendor == "sqlite" else lambda value: value

    def orm() -> list[Center]:
        return Center.objects.bulk_create([Center(**row) for row in rows], batch_size=BATCH_SIZE)

    def raw() -> None:
        raw_insert(
            Center._meta.db_table,
            columns,
            [
                tuple(
                    adapt(row[field.attname]) if field.attname == "created_at" else row[field.attname]
                    for field in fields
                )
                for row in rows
            ],
        )

    def check(created: list[Center]) -> int:
        if len(created) != count:
            raise BenchError(f"bulk_create returned {len(created)} centers instead of {count}")
        return count

    return Case(run=orm, raw=raw, rows=count, check=check, in_rollback=True, repeat=5)


# --------------------------------------------------------------------------------------------------
# list.*: the tenant-scoped back-office list page, first page, rendered through the test client
# --------------------------------------------------------------------------------------------------
def _list_case(
    ctx: BenchContext,
    *,
    url_name: str,
    slug: str,
    labels: list[str],
    raw_sql: str,
    raw_follow_up: str | None = None,
) -> Case:
    """GET the list page as the tenant's administrator; `labels` are what identifies each row on the page."""
    try:
        url = reverse(url_name)
    except NoReverseMatch as exc:
        raise BenchError(f"the page {url_name!r} does not exist") from exc
    client = ctx.staff_client(slug)
    organization_id = ctx.organization(slug).pk
    page = {"size": min(PAGE_SIZE, len(labels))}

    def run() -> HttpResponse:
        return client.get(url)

    def check(response: HttpResponse) -> int:
        if response.status_code != 200:
            raise BenchError(f"GET {url} as the administrator of {slug} answered {response.status_code}")
        body = response.content.decode()
        # count the rows inside the results, not in the filters' drop-downs or the header (the user's e-mail)
        results_start = body.find(RESULTS_MARKER)
        body = body[results_start:] if results_start >= 0 else body
        shown = sum(1 for label in labels if html.escape(label) in body)
        if len(labels) <= PAGE_SIZE and shown != len(labels):
            raise BenchError(f"GET {url} shows {shown} of the {len(labels)} rows of {slug}")
        if not 0 < shown < len(labels) and len(labels) > PAGE_SIZE:
            raise BenchError(f"GET {url} shows {shown} of {len(labels)} rows: expected one page of rows")
        page["size"] = shown
        return shown

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(raw_sql, [organization_id, page["size"]])
            rows = cursor.fetchall()
            if raw_follow_up and rows:
                ids = [row[0] for row in rows]
                cursor.execute(raw_follow_up.format(ids=", ".join(["%s"] * len(ids))), ids)
                cursor.fetchall()

    return Case(run=run, raw=raw, rows=page["size"], check=check, repeat=20)


def _tables() -> dict[str, Any]:
    quote = connection.ops.quote_name
    return {
        "center": quote(Center._meta.db_table),
        "entity": quote(LegalEntity._meta.db_table),
        "staff": quote(StaffMembership._meta.db_table),
        "staff_centers": quote(StaffMembership.centers.through._meta.db_table),
        "user": quote(StaffMembership._meta.get_field("user").related_model._meta.db_table),
        "role": quote(StaffMembership._meta.get_field("role").related_model._meta.db_table),
    }


def _centers_case(ctx: BenchContext, slug: str) -> Case:
    labels = list(Center.objects.filter(organization=ctx.organization(slug)).values_list("name", flat=True))
    t = _tables()
    # one page by keyset on the (organization, name, id) index: the first page has no lower bound yet
    sql = (
        f"SELECT c.id, c.name, c.code, c.city, c.postal_code, c.is_active, e.name FROM {t['center']} c "
        f"JOIN {t['entity']} e ON e.id = c.legal_entity_id "
        "WHERE c.organization_id = %s ORDER BY c.name, c.id LIMIT %s"
    )
    return _list_case(ctx, url_name="manage:center_list", slug=slug, labels=labels, raw_sql=sql)


def _staff_case(ctx: BenchContext, slug: str) -> Case:
    labels = list(
        StaffMembership.objects.filter(organization=ctx.organization(slug)).values_list("user__email", flat=True)
    )
    t = _tables()
    sql = (
        f"SELECT s.id, s.job_title, s.is_active, u.first_name, u.last_name, u.email, r.name FROM {t['staff']} s "
        f"JOIN {t['user']} u ON u.id = s.user_id JOIN {t['role']} r ON r.id = s.role_id "
        "WHERE s.organization_id = %s ORDER BY s.id LIMIT %s"
    )
    centers_of_page = (
        f"SELECT sc.staffmembership_id, c.id, c.name FROM {t['staff_centers']} sc "
        f"JOIN {t['center']} c ON c.id = sc.center_id WHERE sc.staffmembership_id IN ({{ids}})"
    )
    return _list_case(
        ctx, url_name="manage:staff_list", slug=slug, labels=labels, raw_sql=sql, raw_follow_up=centers_of_page
    )


@benchmark("list.centers.10")
def list_centers_10(ctx: BenchContext) -> Case:
    """Center list page of an operator with 10 centers."""
    return _centers_case(ctx, "bench-list-10")


@benchmark("list.centers.1000", same_queries_as="list.centers.10")
def list_centers_1000(ctx: BenchContext) -> Case:
    """Center list page (first page) of an operator with 1,000 centers."""
    return _centers_case(ctx, "bench-list-1000")


@benchmark("list.staff.10")
def list_staff_10(ctx: BenchContext) -> Case:
    """Staff list page of an operator with 10 staff members."""
    return _staff_case(ctx, "bench-list-10")


@benchmark("list.staff.1000", same_queries_as="list.staff.10")
def list_staff_1000(ctx: BenchContext) -> Case:
    """Staff list page (first page) of an operator with 1,000 staff members in 100 centers."""
    return _staff_case(ctx, "bench-staff-1000")
