from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "comptoir.billing"
    label = "billing"
    verbose_name = _("Facturation")

    def ready(self) -> None:
        from comptoir.billing import hooks, navigation, rights  # noqa: F401  (rights: default rights of the roles)

        navigation.register_entries()
        hooks.register()
