"""The CRM's menu entries (registered by CrmConfig.ready). Add an entry only once its view exists."""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from comptoir.core.navigation import Entry, register

ENTRIES: list[Entry] = []


def register_entries() -> None:
    register(*ENTRIES)
