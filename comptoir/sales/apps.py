from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "comptoir.sales"
    label = "sales"
    verbose_name = _("Ventes")

    def ready(self) -> None:
        from comptoir.sales import navigation, rights  # noqa: F401  (rights: default rights of the roles)

        navigation.register_entries()
        # The back office views register their journal links when imported: import them at start-up.
        # Contracts: daily jobs, company hooks (imported for their registrations), floor plan occupancy.
        from comptoir.catalog import occupancy
        from comptoir.sales import occupancy as contract_occupancy
        from comptoir.sales import urls  # noqa: F401
        from comptoir.sales.services import contracts  # noqa: F401

        occupancy.register(contract_occupancy.provider)

        from comptoir.sales import crm_hooks

        crm_hooks.register_company_columns()
        crm_hooks.register_status_hooks()
