"""Global search indexes (comptoir/crm/search.py).

PostgreSQL: the pg_trgm extension and GIN trigram indexes on the searched expressions of companies and
contacts. SQLite: an FTS5 table with the trigram tokenizer, `crm_search`, filled from the existing rows
and kept in sync by triggers on crm_company and crm_contact (FTS rowid: company id × 2, contact id × 2 + 1).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

POSTGRESQL_INDEXES = {
    "crm_company_name_trgm": "crm_company USING gin (lower(name) gin_trgm_ops)",
    "crm_company_email_trgm": "crm_company USING gin (lower(email) gin_trgm_ops)",
    "crm_company_phone_trgm": "crm_company USING gin (phone_digits gin_trgm_ops)",
    "crm_contact_name_trgm": "crm_contact USING gin (lower(first_name || ' ' || last_name) gin_trgm_ops)",
    "crm_contact_email_trgm": "crm_contact USING gin (lower(email) gin_trgm_ops)",
    "crm_contact_phone_trgm": "crm_contact USING gin (phone_digits gin_trgm_ops)",
    "crm_contact_mobile_trgm": "crm_contact USING gin (mobile_digits gin_trgm_ops)",
}

COMPANY_TEXT = "{row}.name || ' ' || {row}.email || ' ' || {row}.phone_digits"
CONTACT_TEXT = (
    "{row}.first_name || ' ' || {row}.last_name || ' ' || {row}.email || ' ' || {row}.phone_digits || ' ' || "
    "{row}.mobile_digits"
)
SQLITE_FORWARDS = [
    "CREATE VIRTUAL TABLE crm_search USING fts5("
    "kind UNINDEXED, object_id UNINDEXED, organization_id UNINDEXED, text, tokenize='trigram')",
]
for table, kind, text, rowid in [
    ("crm_company", "company", COMPANY_TEXT, "{row}.id * 2"),
    ("crm_contact", "contact", CONTACT_TEXT, "{row}.id * 2 + 1"),
]:
    insert = (
        "INSERT INTO crm_search (rowid, kind, object_id, organization_id, text) "
        f"VALUES ({rowid.format(row='new')}, '{kind}', new.id, new.organization_id, {text.format(row='new')});"
    )
    delete = f"DELETE FROM crm_search WHERE rowid = {rowid.format(row='old')};"
    SQLITE_FORWARDS += [
        f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} BEGIN {delete} {insert} END",
        f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {delete} END",
        "INSERT INTO crm_search (rowid, kind, object_id, organization_id, text) "
        f"SELECT {rowid.format(row=table)}, '{kind}', id, organization_id, {text.format(row=table)} FROM {table}",
    ]
SQLITE_BACKWARDS = [
    f"DROP TRIGGER IF EXISTS {table}_search_{event}"
    for table in ("crm_company", "crm_contact")
    for event in ("insert", "update", "delete")
] + ["DROP TABLE IF EXISTS crm_search"]


def create_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, definition in POSTGRESQL_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARDS:
            schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name in POSTGRESQL_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARDS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
