"""CRM reads for the client portal: what a member sees of their own companies (never internal notes)."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.crm import capabilities
from comptoir.crm.models import Contact


def company_members(*, contact: Contact) -> QuerySet[Contact]:
    """The active members of `contact`'s company, for a member allowed to manage them ("manage_members")."""
    capabilities.require(contact, "manage_members")
    return (
        Contact.objects.filter(company_id=contact.company_id, organization_id=contact.organization_id, is_active=True)
        .select_related("job_function")
        .order_by("-is_main", "last_name", "first_name", "id")
    )
