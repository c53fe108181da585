"""Which spaces are taken on a given day: the extension point through which a higher app tells the catalog.

The catalog knows spaces, not contracts. The sales app (which knows contracts) registers a provider at
start-up; the floor plans ask `states()` and never import sales:

    # comptoir/sales/apps.py, in ready()
    occupancy.register(contract_occupancy)      # (space_ids, on) -> {space_id: OCCUPIED | RESERVED}

A provider answers for some of the given spaces in one query: OCCUPIED when a contract runs on that date,
RESERVED when a signed contract starts later. A space no provider mentions is FREE; an inactive space is
UNAVAILABLE whatever the providers say.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.utils.translation import gettext_lazy as _

from comptoir.catalog.models import Space

FREE, OCCUPIED, RESERVED, UNAVAILABLE = "free", "occupied", "reserved", "unavailable"
STATES = (FREE, OCCUPIED, RESERVED, UNAVAILABLE)
LABELS = {
    FREE: _("Libre"),
    OCCUPIED: _("Occupé"),
    RESERVED: _("Réservé"),
    UNAVAILABLE: _("Indisponible"),
}
# A provider's answer wins over another's when it ranks higher.
_RANK = {RESERVED: 1, OCCUPIED: 2}

Provider = Callable[[list[int], datetime.date], dict[int, str]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a provider (once; registering it again changes nothing). Usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister(provider: Provider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def providers() -> list[Provider]:
    return list(_providers)


def states(spaces: Iterable[Space], on: datetime.date) -> dict[int, str]:
    """{space id: state} for every given space (anything with `pk` and `is_active`) on that day; one call,
    so one query, per provider."""
    result: dict[int, str] = {}
    active: list[int] = []
    for space in spaces:
        if space.is_active:
            active.append(space.pk)
        else:
            result[space.pk] = UNAVAILABLE
    answers: dict[int, str] = {}
    if active:
        asked = set(active)
        for provider in _providers:
            for space_id, state in (provider(list(active), on) or {}).items():
                if space_id in asked and state in _RANK and _RANK[state] > _RANK.get(answers.get(space_id, ""), 0):
                    answers[space_id] = state
    for space_id in active:
        result[space_id] = answers.get(space_id, FREE)
    return result
