"""Issued invoices and credit notes are frozen at the database level on PostgreSQL (DESIGN.md invariant 4).

- billing_invoice: an issued row can only change its status (issued → cancelled, and the payment statuses of
  later migrations) and its rendered PDF; it can never go back to draft nor be deleted.
- billing_invoiceline: the lines of an issued document can be neither changed nor deleted; a line can only be
  added to a draft, or by the one code path that creates issued documents with their lines in bulk (the
  monthly run), which says so for its own transaction with `SET LOCAL comptoir.issuing = 'on'`.

TRUNCATE (test tear-downs) is a table-level statement and is not affected. SQLite relies on the services and on
`comptoir verify-ledger`, whose hash chain detects any change.
"""

from django.db import migrations

MUTABLE = "ARRAY['status', 'pdf', 'pdf_sha256']"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION billing_invoice_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'issued document % cannot be deleted', OLD.reference USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' THEN
        IF NEW.status = 'draft' OR (to_jsonb(NEW) - {MUTABLE}) IS DISTINCT FROM (to_jsonb(OLD) - {MUTABLE}) THEN
            RAISE EXCEPTION 'issued document % cannot be changed', OLD.reference USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_frozen BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_frozen();

CREATE OR REPLACE FUNCTION billing_invoiceline_frozen() RETURNS trigger AS $$
DECLARE
    parent_status text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT status INTO parent_status FROM billing_invoice WHERE id = NEW.invoice_id;
        IF parent_status IS NOT NULL AND parent_status <> 'draft'
           AND coalesce(current_setting('comptoir.issuing', true), '') <> 'on' THEN
            RAISE EXCEPTION 'lines cannot be added to an issued document' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    SELECT status INTO parent_status FROM billing_invoice WHERE id = OLD.invoice_id;
    IF parent_status IS NOT NULL AND parent_status <> 'draft' THEN
        RAISE EXCEPTION 'lines of an issued document cannot be changed' USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_frozen BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_frozen();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS billing_invoiceline_frozen ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoice_frozen ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoiceline_frozen();
DROP FUNCTION IF EXISTS billing_invoice_frozen();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
