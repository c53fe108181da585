"""What a member of a client company may do in the portal, by company role (frontmanager §2).

One table, checked by the services (never only by templates):
- administrator: everything (contract signature, the company's documents, paid bookings, incidents, mail...);
- manager: the same WITHOUT the company's documents (contracts, quotes, invoices);
- user: the same as a manager, but no paid bookings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from comptoir.core.errors import RightsError

if TYPE_CHECKING:
    from comptoir.crm.models import Contact

ADMINISTRATOR, MANAGER, USER = "administrator", "manager", "user"

CAPABILITIES: dict[str, frozenset[str]] = {
    "sign_contracts": frozenset({ADMINISTRATOR}),
    "view_documents": frozenset({ADMINISTRATOR}),  # quotes, contracts, invoices, credit notes
    "pay_invoices": frozenset({ADMINISTRATOR}),
    "manage_members": frozenset({ADMINISTRATOR}),
    "make_paid_bookings": frozenset({ADMINISTRATOR, MANAGER}),
    "make_free_bookings": frozenset({ADMINISTRATOR, MANAGER, USER}),
    "report_incidents": frozenset({ADMINISTRATOR, MANAGER, USER}),
    "receive_mail": frozenset({ADMINISTRATOR, MANAGER, USER}),
    "book_appointments": frozenset({ADMINISTRATOR, MANAGER, USER}),
    "request_services": frozenset({ADMINISTRATOR, MANAGER, USER}),
    "view_events": frozenset({ADMINISTRATOR, MANAGER, USER}),
}


def can(contact: Contact | None, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise KeyError(f"Unknown capability {capability!r}")
    if contact is None or not contact.is_active or not contact.has_portal_access:
        return False
    return contact.company_role in CAPABILITIES[capability]


def require(contact: Contact | None, capability: str) -> None:
    if not can(contact, capability):
        raise RightsError(_("Votre rôle dans l'entreprise ne permet pas cette action."), code="forbidden")


def capabilities_of(contact: Contact | None) -> frozenset[str]:
    return frozenset(name for name in CAPABILITIES if can(contact, name))
