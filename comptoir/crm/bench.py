"""Benchmarks of the CRM: the global search on 1,000,000 rows and the company list at 20,000 companies.

Generator step (order 100):

- `bench`: 20,000 × scale companies and 60,000 × scale contacts (the company list at DESIGN.md's scale);
- `bench-list-10`: 10 companies (the same list with 10 rows);
- `bench-search`: 250,000 × scale companies and 750,000 × scale contacts, 1,000,000 rows at scale 1,
  written by COPY (PostgreSQL, trigram indexes dropped during the load and rebuilt after) or executemany
  (SQLite, the FTS triggers filling `crm_search` as they go).

`search.*` run the service (`search_crm`) over 50 varied queries, one per timed run; the raw baseline is
the indexed SQL alone (UNION ALL of the per-column LIKE queries on PostgreSQL, the FTS5 MATCH on SQLite).
The harness's JSON has fixed keys, so their p95 goes to the progress output (stderr):
`search.name.3chars p95: service 12.3 ms, raw 4.5 ms`.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models
from django.urls import NoReverseMatch, reverse

from comptoir.bench.generator import (
    BENCH_PASSWORD,
    CITIES,
    EPOCH,
    SCALED_TENANT,
    GeneratorContext,
    _staff,
)
from comptoir.bench.harness import BenchContext, raw_insert
from comptoir.bench.registry import BenchError, Case, benchmark, register_generator_step
from comptoir.core import services as core_services
from comptoir.crm.models import Company, Contact, phone_digits
from comptoir.crm.search import POSTGRESQL_INDEXES, search_crm

SEARCH_TENANT = "bench-search"
LIST_TENANT_10 = "bench-list-10"
QUERIES = 50
LIMIT = 8

FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Lucas", "Hugo", "Louis", "Nathan",
    "Thomas", "Antoine", "Karim", "Yasmine", "Mehdi", "Sofia", "Paul", "Claire", "Jeanne", "Gabriel", "Arthur",
    "Zoé", "Élodie", "Mathieu", "Nicolas", "Aurélie", "Sébastien", "Céline", "Romain", "Amandine", "Benoît",
    "Hélène", "François", "Margaux", "Théo", "Lina", "Adrien", "Océane",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
    "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand",
    "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
    "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
    "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Haddad",
]  # fmt: skip
COMPANY_WORDS = [
    "Atelier", "Cabinet", "Studio", "Agence", "Société", "Groupe", "Maison", "Conseil", "Laboratoire", "Bureau",
    "Compagnie", "Établissements", "Fabrique", "Collectif", "Comptoir", "Institut",
]  # fmt: skip
COMPANY_SUFFIXES = ["SAS", "SARL", "& Associés", "Conseil", "Digital", "Partenaires", "Architecture", "Design", ""]
DOMAINS = ["orange.fr", "gmail.com", "free.fr", "laposte.net", "outlook.fr", "sfr.fr"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _phone(rng: random.Random, mobile: bool) -> str:
    head = rng.choice(["06", "07"]) if mobile else rng.choice(["01", "02", "03", "04", "05", "09"])
    pairs = " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
    return f"+33 {head[1]} {pairs}" if rng.random() < 0.3 else f"{head} {pairs}"


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------
def _db_values(instance: models.Model) -> dict[str, Any]:
    """Every concrete column of an unsaved instance, in the database's form (the defaults of the rows)."""
    return {
        field.column: field.get_db_prep_save(getattr(instance, field.attname), connection)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


def _insert(gen: GeneratorContext, model: type[models.Model], template: dict[str, Any], rows: list[dict]) -> None:
    """COPY (PostgreSQL) / executemany (SQLite) of `rows`, each overriding some columns of `template`."""
    columns = list(template)
    started = time.perf_counter()
    for start in range(0, len(rows), 50_000):
        raw_insert(
            model._meta.db_table,
            columns,
            [tuple(row.get(column, template[column]) for column in columns) for row in rows[start : start + 50_000]],
        )
    elapsed = time.perf_counter() - started
    gen.log(
        f"  {model._meta.db_table}: {len(rows):,} rows in {elapsed:.2f} s ({len(rows) / max(elapsed, 1e-9):,.0f}/s)"
    )


def _companies_and_contacts(
    gen: GeneratorContext, organization_id: int, *, companies: int, contacts: int, purpose: str, number_from: int = 1
) -> None:
    rng = gen.rng(purpose)
    company_template = _db_values(
        Company(organization_id=organization_id, number=0, name="", created_at=EPOCH, updated_at=EPOCH)
    )
    company_rows = []
    for index in range(companies):
        last = rng.choice(LAST_NAMES)
        name = " ".join(part for part in (rng.choice(COMPANY_WORDS), last, rng.choice(COMPANY_SUFFIXES)) if part)
        is_client = rng.random() < 0.6
        phone = _phone(rng, mobile=False)
        city, postal_code = CITIES[rng.randrange(len(CITIES))]
        company_rows.append(
            {
                "number": number_from + index,
                "name": name,
                "kind": "client" if is_client else "prospect",
                "status": "active" if is_client else "prospect",
                "email": f"contact@{_ascii(last)}{index}.fr",
                "phone": phone,
                "phone_digits": phone_digits(phone),
                "city": city,
                "postal_code": postal_code,
            }
        )
    _insert(gen, Company, company_template, company_rows)
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, id FROM crm_company WHERE organization_id = %s", [organization_id])
        company_ids = dict(cursor.fetchall())
    contact_template = _db_values(
        Contact(organization_id=organization_id, company_id=0, last_name="", created_at=EPOCH)
    )
    contact_rows = []
    per_company = max(1, contacts // max(1, companies))
    for index in range(contacts):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        mobile = _phone(rng, mobile=True)
        phone = _phone(rng, mobile=False) if rng.random() < 0.5 else ""
        contact_rows.append(
            {
                "company_id": company_ids[number_from + min(companies - 1, index // per_company)],
                "first_name": first,
                "last_name": last,
                "email": f"{_ascii(first)}.{_ascii(last)}{index}@{rng.choice(DOMAINS)}",
                "phone": phone,
                "phone_digits": phone_digits(phone),
                "mobile": mobile,
                "mobile_digits": phone_digits(mobile),
                "is_main": index % per_company == 0,
                "company_role": "administrator" if index % per_company == 0 else "user",
            }
        )
    _insert(gen, Contact, contact_template, contact_rows)


def crm_data(gen: GeneratorContext) -> None:
    postgresql = connection.vendor == "postgresql"
    if postgresql:  # building the indexes once after the load is much faster than keeping them up to date
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for name in POSTGRESQL_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
    _companies_and_contacts(
        gen, gen.tenants[SCALED_TENANT].pk, companies=gen.scaled(20_000), contacts=gen.scaled(60_000),
        purpose="crm:bench",
    )  # fmt: skip
    _companies_and_contacts(gen, gen.tenants[LIST_TENANT_10].pk, companies=10, contacts=10, purpose="crm:list-10")
    organization = core_services.create_organization(name=f"Bench {SEARCH_TENANT}", slug=SEARCH_TENANT)
    gen.tenants[SEARCH_TENANT] = organization
    _staff(gen, gen.rng("crm:search-staff"), organization, [], count=1, admin_password=make_password(BENCH_PASSWORD))
    _companies_and_contacts(
        gen, organization.pk, companies=gen.scaled(250_000), contacts=gen.scaled(750_000), purpose="crm:search"
    )
    if postgresql:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the deferred foreign keys now: no pending events
            for statement in POSTGRESQL_INDEXES.values():
                cursor.execute(statement.format(if_not_exists="IF NOT EXISTS"))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        gen.log(f"  trigram indexes rebuilt in {time.perf_counter() - started:.1f} s")


register_generator_step(100, crm_data)


# --------------------------------------------------------------------------------------------------
# search.*: the service over 50 varied queries, beside the indexed SQL alone
# --------------------------------------------------------------------------------------------------
def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1] if len(timings) >= 2 else (timings or [0.0])[0]


def _raw_search(organization_id: int, company_columns: list[str], contact_columns: list[str]) -> Callable[[str], int]:
    """The indexed SQL of one query, without Django: per-column LIMITed LIKEs (PostgreSQL) or FTS5 MATCH."""

    def run(fragment: str) -> int:
        found = 0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                pattern = f"%{fragment}%"
                for table, columns in (("crm_company", company_columns), ("crm_contact", contact_columns)):
                    sql = " UNION ALL ".join(
                        f"(SELECT id FROM {table} WHERE organization_id = %s AND {column} LIKE %s LIMIT {LIMIT + 1})"
                        for column in columns
                    )
                    cursor.execute(sql, [value for _ in columns for value in (organization_id, pattern)])
                    found += len(cursor.fetchall())
            else:
                for kind in ("company", "contact"):
                    cursor.execute(
                        "SELECT object_id FROM crm_search WHERE crm_search MATCH %s AND kind = %s "
                        "AND organization_id = %s LIMIT %s",
                        [f'"{fragment}"', kind, organization_id, (LIMIT + 1) * 5],
                    )
                    found += len(cursor.fetchall())
        return found

    return run


def _search_case(
    ctx: BenchContext,
    name: str,
    queries: list[str],
    fragments: list[str],
    columns: tuple[list[str], list[str]],
    *,
    must_find: bool = True,
) -> Case:
    """`queries` go to the service; `fragments` (what the service looks for) to the raw SQL."""
    organization = ctx.organization(SEARCH_TENANT)
    user = ctx.administrator(SEARCH_TENANT)
    service_queries, raw_fragments = itertools.cycle(queries), itertools.cycle(fragments)
    raw_one = _raw_search(organization.pk, *columns)
    service_timings: list[float] = []
    raw_timings: list[float] = []

    def run() -> dict[str, list]:
        started = time.perf_counter()
        result = search_crm(user=user, organization=organization, query=next(service_queries), limit=LIMIT)
        service_timings.append((time.perf_counter() - started) * 1000)
        return result

    def raw() -> None:
        started = time.perf_counter()
        raw_one(next(raw_fragments))
        raw_timings.append((time.perf_counter() - started) * 1000)
        if len(raw_timings) == len(service_timings):  # the last raw run: the harness is done with this case
            ctx.log(
                f"{name} p50 / p95 over {len(queries)} queries: service {statistics.median(service_timings[1:]):.2f}"
                f" / {_p95(service_timings[1:]):.2f} ms, raw SQL {statistics.median(raw_timings[1:]):.2f}"
                f" / {_p95(raw_timings[1:]):.2f} ms"
            )

    def check(result: dict[str, list]) -> int:
        shown = len(result["company"]) + len(result["contact"])
        if not shown and must_find:
            raise BenchError(f"{name}: the query {queries[0]!r} found nothing in {SEARCH_TENANT}")
        return shown

    return Case(run=run, raw=raw, rows=LIMIT, check=check, repeat=QUERIES)


@benchmark("search.name.3chars")
def search_name_3chars(ctx: BenchContext) -> Case:
    """Global search (service) for 50 different 3-letter name fragments in 1,000,000 × scale rows."""
    rng = random.Random("crm:search-name-queries")
    queries: list[str] = []
    while len(queries) < QUERIES:
        word = rng.choice(LAST_NAMES + FIRST_NAMES).lower()
        start = rng.randrange(len(word) - 2)
        if (fragment := word[start : start + 3]) not in queries:
            queries.append(fragment)
    columns = (["lower(name)", "lower(email)"], ["lower(first_name || ' ' || last_name)", "lower(email)"])
    return _search_case(ctx, "search.name.3chars", queries, queries, columns)


@benchmark("search.phone.4digits")
def search_phone_4digits(ctx: BenchContext) -> Case:
    """Global search (service) for 50 different 4-digit phone fragments ("12 34") in 1,000,000 × scale rows."""
    rng = random.Random("crm:search-phone-queries")
    queries = [f"{rng.randrange(100):02d} {rng.randrange(100):02d}" for _ in range(QUERIES)]
    columns = (["phone_digits"], ["phone_digits", "mobile_digits"])
    digits = [query.replace(" ", "") for query in queries]
    # 4 given digits: about one phone in a thousand has them, so a tiny data set may not
    return _search_case(ctx, "search.phone.4digits", queries, digits, columns, must_find=ctx.scale >= 0.1)


# --------------------------------------------------------------------------------------------------
# list.companies.*: the company list page at 10 and 20,000 × scale companies
# --------------------------------------------------------------------------------------------------
def _companies_case(ctx: BenchContext, slug: str) -> Case:
    from comptoir.bench.core import _list_case

    try:
        reverse("crm:company_list")
    except NoReverseMatch as exc:
        raise BenchError("the company list page does not exist yet") from exc
    organization = ctx.organization(slug)
    labels = list(Company.objects.filter(organization=organization).values_list("name", flat=True))
    # names repeat in generated data: count each distinct name once on the page
    labels = sorted(set(labels))
    sql = (
        "SELECT c.id, c.name, c.kind, c.number, c.status FROM crm_company c "
        "WHERE c.organization_id = %s AND NOT c.is_archived ORDER BY c.name, c.id LIMIT %s"
    )
    return _list_case(ctx, url_name="crm:company_list", slug=slug, labels=labels, raw_sql=sql)


@benchmark("list.companies.10")
def list_companies_10(ctx: BenchContext) -> Case:
    """Company list page of an operator with 10 companies."""
    return _companies_case(ctx, LIST_TENANT_10)


@benchmark("list.companies.20000", same_queries_as="list.companies.10")
def list_companies_20000(ctx: BenchContext) -> Case:
    """Company list page (first page) of the operator with 20,000 × scale companies and 60,000 × scale contacts."""
    return _companies_case(ctx, SCALED_TENANT)
