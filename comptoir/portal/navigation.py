"""The client portal's menu: bottom bar on phones, sidebar on desktop.

Each portal page adds its entry here (the portal is one app; its pages call the other apps' services).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    label: Promise | str
    url_name: str
    icon: str
    order: int = 100
    capability: str | None = None  # shown only to a member holding it in one of their companies
    phone: bool = True  # in the phone's bottom bar; otherwise in its « Compte » sheet (the bar holds five or six)


ENTRIES: list[Entry] = [
    Entry(_("Accueil"), "portal:home", "house", 10),
    Entry(_("Mon entreprise"), "portal:documents", "folder2-open", 20, capability="view_documents"),
    Entry(_("Membres"), "portal:members", "people", 80, capability="manage_members"),
]


def _capabilities(request: HttpRequest) -> frozenset[str]:
    """What the member may do in at least one of their companies (comptoir.crm.capabilities)."""
    from comptoir.crm import capabilities
    from comptoir.crm.selectors import portal_contacts

    organization = getattr(request, "portal_organization", None)
    if organization is None or not request.user.is_authenticated:
        return frozenset()
    held: set[str] = set()
    for contact in portal_contacts(request.user, organization):  # type: ignore[arg-type]
        held |= capabilities.capabilities_of(contact)
    return frozenset(held)


def menu_for(request: HttpRequest) -> list[dict]:
    """[{label, url, icon, is_active, phone}] in menu order, without the entries the member may not use."""
    current = request.resolver_match.view_name if request.resolver_match else ""
    held = _capabilities(request) if any(entry.capability for entry in ENTRIES) else frozenset()
    return [
        {
            "label": entry.label,
            "url": reverse(entry.url_name),
            "icon": entry.icon,
            "is_active": entry.url_name == current,
            "phone": entry.phone,
        }
        for entry in sorted(ENTRIES, key=lambda entry: entry.order)
        if entry.capability is None or entry.capability in held
    ]
