"""Global search of the CRM: companies (prospects and clients) and contacts.

One service, `search_crm(user=, organization=, query=, limit=)`, two engines chosen by the database:

- PostgreSQL: GIN trigram indexes (pg_trgm, migration 0002_search_indexes) on lower(name), lower(email)
  and phone_digits of companies, lower(first_name || ' ' || last_name), lower(email), phone_digits and
  mobile_digits of contacts. One query per kind: a UNION ALL of one `LIKE '%fragment%'` query per column,
  each with the organization (and center) filter and its own LIMIT — never one query with OR, whose
  generic plan reads the whole table (DESIGN.md, "Performance").
- SQLite: an FTS5 table with the trigram tokenizer (`crm_search`, kept in sync by SQL triggers on
  crm_company and crm_contact); fragments shorter than 3 characters fall back to a bounded LIKE.

What a query finds: a name or e-mail fragment (case-insensitive; accents must match: "societe" does not
find "Société"), a phone fragment in any formatting ("06 12", "+33 6 12", "12 34" → digits "0612",
"1234" found inside the stored digits), a reference ("PR-000123", "CL-12", "000123": by its number, so a
prospect's old reference still finds it once converted). Counts are never exact: a provider returns at
most `limit + 1` hits, the extra one meaning "more" ("8+").
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from django.db import connection, connections
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from comptoir.core import rights
from comptoir.core.search import Hit, clean_query, register_provider
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm.models import Company, Contact, phone_digits

PHONE_LIKE = re.compile(r"^\+?[\d\s.\-()/]+$")
REFERENCE = re.compile(r"^(?:(?:PR|CL)\s*-?\s*)?(\d{1,9})$", re.IGNORECASE)
MIN_DIGITS = 3
TRIGRAM = 3  # FTS5's trigram tokenizer needs 3 characters; shorter fragments use LIKE
FTS_CANDIDATES = 5  # SQLite: FTS candidates read per hit wanted, before the center restriction

# The GIN trigram indexes (PostgreSQL), by name: the migration made them; the bench drops and remakes them
# around its bulk load.
POSTGRESQL_INDEXES = {
    "crm_company_name_trgm": "CREATE INDEX {if_not_exists} crm_company_name_trgm ON crm_company "
    "USING gin (lower(name) gin_trgm_ops)",
    "crm_company_email_trgm": "CREATE INDEX {if_not_exists} crm_company_email_trgm ON crm_company "
    "USING gin (lower(email) gin_trgm_ops)",
    "crm_company_phone_trgm": "CREATE INDEX {if_not_exists} crm_company_phone_trgm ON crm_company "
    "USING gin (phone_digits gin_trgm_ops)",
    "crm_contact_name_trgm": "CREATE INDEX {if_not_exists} crm_contact_name_trgm ON crm_contact "
    "USING gin (lower(first_name || ' ' || last_name) gin_trgm_ops)",
    "crm_contact_email_trgm": "CREATE INDEX {if_not_exists} crm_contact_email_trgm ON crm_contact "
    "USING gin (lower(email) gin_trgm_ops)",
    "crm_contact_phone_trgm": "CREATE INDEX {if_not_exists} crm_contact_phone_trgm ON crm_contact "
    "USING gin (phone_digits gin_trgm_ops)",
    "crm_contact_mobile_trgm": "CREATE INDEX {if_not_exists} crm_contact_mobile_trgm ON crm_contact "
    "USING gin (mobile_digits gin_trgm_ops)",
}
# The searched expressions, written exactly as in the indexes so that the planner uses them.
COMPANY_COLUMNS = {"name": "lower(crm_company.name)", "email": "lower(crm_company.email)"}
CONTACT_COLUMNS = {
    "name": "lower(crm_contact.first_name || ' ' || crm_contact.last_name)",
    "email": "lower(crm_contact.email)",
}
COMPANY_DIGITS = ["crm_company.phone_digits"]
CONTACT_DIGITS = ["crm_contact.phone_digits", "crm_contact.mobile_digits"]
COMPANY_FIELDS = ("pk", "name", "kind", "number", "city", "email")
# no join to the company in the searched query: with LIMIT, PostgreSQL would walk the contacts in company
# order (a merge join) instead of using the trigram index; the companies of the hits come in a second query
CONTACT_FIELDS = ("pk", "first_name", "last_name", "email", "company_id")


# --------------------------------------------------------------------------------------------------
# The query: what to look for
# --------------------------------------------------------------------------------------------------
class Terms:
    """A query cut into what each column can match: text, phone digits, a reference number."""

    def __init__(self, query: str) -> None:
        self.query = clean_query(query)
        self.text = self.query.lower()
        self.digits = ""
        self.number: int | None = None
        if PHONE_LIKE.match(self.query):
            digits = phone_digits(self.query)
            if len(digits) >= MIN_DIGITS:
                self.digits = digits
        if match := REFERENCE.match(self.query.replace(" ", "")):
            self.number = int(match.group(1))
        # a phone-like query ("06 12 34") is not looked for in names and e-mails
        self.is_phone_like = bool(PHONE_LIKE.match(self.query))


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --------------------------------------------------------------------------------------------------
# Rights: the base querysets (tenant, right, centers)
# --------------------------------------------------------------------------------------------------
def _companies(user: Any, organization: Any) -> QuerySet[Company] | None:
    if not rights.has_right(user, "crm.view_company", organization):
        return None
    qs = Company.objects.filter(organization=organization)
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(Q(center_id__in=restricted) | Q(center__isnull=True))
    return qs.order_by()


def _contacts(user: Any, organization: Any) -> QuerySet[Contact] | None:
    if not (
        rights.has_right(user, "crm.view_contact", organization)
        and rights.has_right(user, "crm.view_company", organization)
    ):
        return None
    qs = Contact.objects.filter(organization=organization)
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(Q(company__center_id__in=restricted) | Q(company__center__isnull=True))
    return qs.order_by()


# --------------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------------
def _matching(expression: str, value: str) -> Q:
    """`expression LIKE '%value%'` (escaped), the expression written as its index."""
    return Q(RawSQL(f"{expression} LIKE %s", [_like(value)], output_field=BooleanField()))


def _postgresql_rows(
    base: QuerySet,
    terms: Terms,
    organization_id: int,
    *,
    columns: dict[str, str],
    digit_columns: list[str],
    fields: tuple,
    limit: int,
) -> list[dict[str, Any]]:
    """UNION ALL of one LIMITed query per column; one SQL query."""
    parts: list[QuerySet] = []
    if terms.number is not None and base.model is Company:
        parts.append(base.filter(number=terms.number))
    if terms.digits:
        parts.extend(base.filter(_matching(column, terms.digits)) for column in digit_columns)
    if not terms.is_phone_like:
        parts.extend(base.filter(_matching(column, terms.text)) for column in columns.values())
    if not parts:
        return []
    parts = [part.values(*fields)[: limit + 1] for part in parts]
    query = parts[0].union(*parts[1:], all=True).order_by() if len(parts) > 1 else parts[0]
    return list(query)


FTS_KIND = {Company: "company", Contact: "contact"}


def _sqlite_rows(
    base: QuerySet,
    terms: Terms,
    organization_id: int,
    *,
    columns: dict[str, str],
    digit_columns: list[str],
    fields: tuple,
    limit: int,
) -> list[dict[str, Any]]:
    """FTS5 trigram candidates (or a bounded LIKE below 3 characters), then the rights; one SQL query."""
    condition = Q()
    fragments = []
    if terms.digits:
        fragments.append(terms.digits)
    if not terms.is_phone_like:
        fragments.append(terms.text)
    for fragment in fragments:
        if len(fragment) >= TRIGRAM:
            phrase = '"' + fragment.replace('"', '""') + '"'
            candidates = RawSQL(
                "SELECT object_id FROM crm_search WHERE crm_search MATCH %s AND kind = %s AND organization_id = %s "
                "LIMIT %s",
                [phrase, FTS_KIND[base.model], organization_id, limit * FTS_CANDIDATES],
            )
            condition |= Q(pk__in=candidates)
        else:
            searched = list(columns.values()) if fragment == terms.text else digit_columns
            for column in searched:
                condition |= _matching(column, fragment)
    if terms.number is not None and base.model is Company:
        condition |= Q(number=terms.number)
    if not condition:
        return []
    return list(base.filter(condition).values(*fields)[: limit + 1])


def _rows(base: QuerySet, terms: Terms, organization: Any, **kwargs: Any) -> list[dict[str, Any]]:
    engine = _postgresql_rows if connection.vendor == "postgresql" else _sqlite_rows
    organization_id = organization if isinstance(organization, int) else organization.pk
    rows = engine(base, terms, organization_id, **kwargs)
    unique: dict[int, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["pk"], row)
    return list(unique.values())


# --------------------------------------------------------------------------------------------------
# The service and the providers
# --------------------------------------------------------------------------------------------------
def _url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # the page is not written yet
        return ""


def _reference(kind: str, number: int) -> str:
    return f"{Company.REFERENCE_PREFIX[kind]}-{number:06d}"


def search_companies(user: Any, organization: Any, query: str, limit: int) -> list[Hit]:
    base = _companies(user, organization)
    terms = Terms(query)
    if base is None or not terms.query:
        return []
    rows = _rows(
        base, terms, organization, columns=COMPANY_COLUMNS, digit_columns=COMPANY_DIGITS, fields=COMPANY_FIELDS,
        limit=limit,
    )  # fmt: skip
    rows.sort(key=lambda row: (row["number"] != terms.number, row["name"].lower(), row["pk"]))
    kinds = dict(Company.Kind.choices)
    return [
        {
            "kind": "company",
            "label": row["name"],
            "sublabel": " · ".join(part for part in (str(kinds[row["kind"]]), row["city"], row["email"]) if part),
            "url": _url("crm:company_detail", row["pk"]),
            "reference": _reference(row["kind"], row["number"]),
        }
        for row in rows[: limit + 1]
    ]


def search_contacts(user: Any, organization: Any, query: str, limit: int) -> list[Hit]:
    base = _contacts(user, organization)
    terms = Terms(query)
    if base is None or not terms.query:
        return []
    rows = _rows(
        base, terms, organization, columns=CONTACT_COLUMNS, digit_columns=CONTACT_DIGITS, fields=CONTACT_FIELDS,
        limit=limit,
    )  # fmt: skip
    rows.sort(key=lambda row: (row["last_name"].lower(), row["first_name"].lower(), row["pk"]))
    rows = rows[: limit + 1]
    companies = (
        {
            pk: (name, kind, number)
            for pk, name, kind, number in Company.objects.filter(
                pk__in={row["company_id"] for row in rows}
            ).values_list("pk", "name", "kind", "number")
        }
        if rows
        else {}
    )
    for row in rows:
        row["company__name"], row["company__kind"], row["company__number"] = companies[row["company_id"]]
    return [
        {
            "kind": "contact",
            "label": f"{row['first_name']} {row['last_name']}".strip(),
            "sublabel": " · ".join(part for part in (row["company__name"], row["email"]) if part),
            "url": _url("crm:contact_detail", row["pk"]),
            "reference": _reference(row["company__kind"], row["company__number"]),
        }
        for row in rows
    ]


def search_crm(*, user: Any, organization: Any, query: str, limit: int = 8) -> dict[str, list[Hit]]:
    """Companies and contacts matching `query` that `user` may see in `organization`: at most
    `limit + 1` hits per kind (the extra one says "more"); one SQL query per kind."""
    return {
        "company": search_companies(user, organization, query, limit),
        "contact": search_contacts(user, organization, query, limit),
    }


def repair_sqlite_index(*, using: str = "default", **kwargs: Any) -> list[str]:
    """After `migrate` on SQLite: recreate the FTS triggers a table rebuild dropped, and refill the index.

    Django rebuilds a SQLite table for some schema changes (copy, drop, rename), which drops its
    triggers; migration 0002_search_indexes holds the statements. Returns the triggers recreated."""
    db = connections[using]
    if db.vendor != "sqlite":
        return []
    with db.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE 'crm_%'")
        present = {row[0] for row in cursor.fetchall()}
        if "crm_search" not in present:
            return []
        migration = importlib.import_module("comptoir.crm.migrations.0002_search_indexes")
        triggers = {
            statement.split()[2]: statement
            for statement in migration.SQLITE_FORWARDS
            if statement.startswith("CREATE TRIGGER")
        }
        missing = sorted(set(triggers) - present)
        if missing:
            for name in missing:
                cursor.execute(triggers[name])
            cursor.execute("DELETE FROM crm_search")
            for statement in migration.SQLITE_FORWARDS:
                if statement.startswith("INSERT INTO crm_search"):
                    cursor.execute(statement)
    return missing


def register() -> None:
    """Called by CrmConfig.ready(): the CRM's kinds in the global search."""
    register_provider("company", _("Entreprises et prospects"), search_companies, order=10)
    register_provider("contact", _("Contacts"), search_contacts, order=20)


__all__ = ["POSTGRESQL_INDEXES", "Terms", "register", "search_companies", "search_contacts", "search_crm"]
