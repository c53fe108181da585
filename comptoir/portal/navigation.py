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


ENTRIES: list[Entry] = [
    Entry(_("Accueil"), "portal:home", "house", 10),
]


def menu_for(request: HttpRequest) -> list[dict]:
    """[{label, url, icon, is_active}] in menu order; the current page is marked active."""
    current = request.resolver_match.view_name if request.resolver_match else ""
    return [
        {
            "label": entry.label,
            "url": reverse(entry.url_name),
            "icon": entry.icon,
            "is_active": entry.url_name == current,
        }
        for entry in sorted(ENTRIES, key=lambda entry: entry.order)
    ]
