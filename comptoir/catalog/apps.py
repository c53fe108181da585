from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "comptoir.catalog"
    label = "catalog"
    verbose_name = _("Catalogue")

    def ready(self) -> None:
        from comptoir.catalog import navigation, rights  # noqa: F401  (rights: default rights of the roles)

        navigation.register_entries()
        # The back office views register their journal links when imported: import them at start-up.
        from comptoir.catalog import urls  # noqa: F401
