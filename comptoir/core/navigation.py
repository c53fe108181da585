"""The back office menu: fixed sections (the Front Manager's), entries contributed by each app.

An app registers its entries in AppConfig.ready(); a section with no entry the user may see is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from comptoir.core import rights

SECTIONS: list[tuple[str, Promise]] = [
    ("directory", _("Annuaire")),
    ("sales", _("Commerce")),
    ("finance", _("Finance")),
    ("operations", _("Gestion")),
    ("community", _("Communauté")),
    ("mail", _("Courrier et colis")),
    ("appointments", _("Rendez-vous")),
    ("staff", _("Staff")),
    ("marketing", _("Marketing")),
    ("stats", _("Statistiques")),
    ("settings", _("Paramètres")),
]


@dataclass(frozen=True)
class Entry:
    section: str
    label: Promise | str
    url_name: str
    permission: str | None = None  # None: every staff member of the organization
    order: int = 100
    icon: str = "circle"
    url_args: tuple = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return reverse(self.url_name, args=self.url_args)


_entries: dict[str, Entry] = {}


def register(*entries: Entry) -> None:
    section_keys = {key for key, _label in SECTIONS}
    for entry in entries:
        if entry.section not in section_keys:
            raise ValueError(f"Unknown menu section {entry.section!r}")
        _entries[entry.url_name] = entry


def all_entries() -> list[Entry]:
    return sorted(_entries.values(), key=lambda entry: (entry.section, entry.order))


def menu_for(user, organization) -> list[dict]:  # type: ignore[no-untyped-def]
    """[{key, label, entries: [Entry]}] with only the entries the user may open."""
    if not rights.is_staff_of(user, organization):
        return []
    held = rights.rights_of(user, organization)
    menu = []
    for key, label in SECTIONS:
        visible = sorted(
            (e for e in _entries.values() if e.section == key and (e.permission is None or e.permission in held)),
            key=lambda entry: entry.order,
        )
        if visible:
            menu.append({"key": key, "label": label, "entries": visible})
    return menu


def register_core_entries() -> None:
    register(
        Entry("staff", _("Collaborateurs"), "manage:staff_list", "core.view_staffmembership", 10, "people"),
        Entry("staff", _("Droits"), "manage:role_matrix", "core.view_role", 20, "shield-lock"),
        Entry(
            "settings",
            _("Organisation"),
            "manage:organization_settings",
            "core.view_organization",
            10,
            "building",
        ),
        Entry(
            "settings",
            _("Entités juridiques"),
            "manage:legalentity_list",
            "core.view_legalentity",
            20,
            "bank",
        ),
        Entry("settings", _("Centres"), "manage:center_list", "core.view_center", 30, "geo-alt"),
        Entry("settings", _("Jetons d'API"), "manage:apitoken_list", None, 40, "key"),
        Entry(
            "settings",
            _("Journal d'activité"),
            "manage:journal_list",
            "core.view_auditentry",
            50,
            "clock-history",
        ),
    )
