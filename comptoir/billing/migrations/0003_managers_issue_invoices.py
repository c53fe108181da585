"""Existing organizations' manager roles get the right to issue invoices and credit notes, as new ones do
(comptoir/billing/rights.py). The permission row is created here when migrate has not created it yet."""

from django.db import migrations


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Role = apps.get_model("core", "Role")
    content_type, _ = ContentType.objects.get_or_create(app_label="billing", model="invoice")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="issue_invoice", defaults={"name": "Émettre les factures et avoirs"}
    )
    for role in Role.objects.filter(kind="manager"):
        role.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_issued_documents_frozen"), ("core", "0004_smsmessage")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
