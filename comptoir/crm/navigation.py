"""The CRM's menu entries (registered by CrmConfig.ready). Add an entry only once its view exists."""

from django.utils.translation import gettext_lazy as _

from comptoir.core.navigation import Entry, register

ENTRIES: list[Entry] = [
    Entry("sales", _("Opportunités"), "crm:opportunity_board", "crm.view_opportunity", 10, "kanban"),
    Entry("sales", _("Activités"), "crm:activity_list", "crm.view_activity", 20, "calendar-check"),
]


def register_entries() -> None:
    register(*ENTRIES)
