from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "comptoir.payments"
    label = "payments"
    verbose_name = _("Paiements")

    def ready(self) -> None:
        from comptoir.payments import hooks, navigation, rights  # noqa: F401  (rights: default rights of the roles)

        navigation.register_entries()
        hooks.register()
