"""No double booking on PostgreSQL (DESIGN invariant 5): an exclusion constraint over the bookings that hold their
slot on a space holding one booking at a time. The services serialize per space (a row lock on the space) in front
of it, so concurrent requests queue instead of deadlocking on the constraint; the constraint is the safety net.
SQLite has no such constraint: its immediate transactions serialize every writer."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE bookings_booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist (
    space_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
) WHERE (exclusive AND status IN ('requested', 'confirmed'));
"""
DROP = "ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
