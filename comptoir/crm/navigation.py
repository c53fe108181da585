"""The CRM's menu entries (registered by CrmConfig.ready). Add an entry only once its view exists."""

from django.utils.translation import gettext_lazy as _

from comptoir.core.navigation import Entry, register

ENTRIES: list[Entry] = [
    Entry("directory", _("Entreprises"), "crm:company_list", "crm.view_company", 10, "buildings"),
    Entry("directory", _("Prospects"), "crm:prospect_list", "crm.view_company", 11, "person-lines-fill"),
    Entry("directory", _("Clients"), "crm:client_list", "crm.view_company", 12, "briefcase"),
    Entry("settings", _("Fonctions des membres"), "crm:jobfunction_list", "crm.view_jobfunction", 60, "tags"),
    Entry("sales", _("Opportunités"), "crm:opportunity_board", "crm.view_opportunity", 10, "kanban"),
    Entry("sales", _("Activités"), "crm:activity_list", "crm.view_activity", 20, "calendar-check"),
    Entry("directory", _("Actions"), "crm:action_list", "crm.view_action", 20, "check2-square"),
    Entry("marketing", _("Sources"), "crm:marketingsource_list", "crm.view_marketingsource", 10, "megaphone"),
]


def register_entries() -> None:
    register(*ENTRIES)
