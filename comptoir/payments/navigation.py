"""The payments app's menu entries: each area's views module lists its own in `MENU`."""

from comptoir.core.areas import collect
from comptoir.core.navigation import register
from comptoir.payments.areas import AREAS


def register_entries() -> None:
    register(*collect("comptoir.payments.views", AREAS, "MENU"))
