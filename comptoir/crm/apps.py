from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "comptoir.crm"
    label = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from comptoir.core import tenancy
        from comptoir.crm import navigation, rights, search  # noqa: F401  (rights: default rights of the roles)
        from comptoir.crm.selectors import has_portal_access

        tenancy.register_portal_access(has_portal_access)
        navigation.register_entries()
        search.register()
        post_migrate.connect(search.repair_sqlite_index, sender=self)
        # The back office views register their journal links and home-page widget when imported:
        # import them at start-up, not at the first request.
        from comptoir.crm import urls  # noqa: F401
