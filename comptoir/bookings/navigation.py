"""The bookings app's menu entries: each area's views module lists its own in `MENU`."""

from comptoir.bookings.areas import AREAS
from comptoir.core.areas import collect
from comptoir.core.navigation import register


def register_entries() -> None:
    register(*collect("comptoir.bookings.views", AREAS, "MENU"))
