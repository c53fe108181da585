from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "comptoir.core"
    label = "core"
    verbose_name = _("Administration")

    def ready(self) -> None:
        from comptoir.core import (
            navigation,
            rights,  # noqa: F401  (registers the default rights)
        )

        navigation.register_core_entries()
