"""The catalog's floor plans ask which spaces are taken: contracts answer (registered in SalesConfig.ready()).

A space is "occupied" on a day when a line of a signed, active or notice-given contract covers that day,
"reserved" when such a contract's line on it starts later.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import Q

from comptoir.sales.models import Contract, ContractLine

OCCUPIED, RESERVED = "occupied", "reserved"


def provider(space_ids: Iterable[int], on: datetime.date) -> dict[int, str]:
    """{space_id: "occupied" | "reserved"} for the given spaces on `on` (one query)."""
    ids = list(space_ids)
    if not ids:
        return {}
    rows = (
        ContractLine.objects.filter(space_id__in=ids, contract__status__in=Contract.RUNNING)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .filter(Q(contract__end_date__isnull=True) | Q(contract__end_date__gte=on))
        .values_list("space_id", "start_date")
    )
    states: dict[int, str] = {}
    for space_id, start in rows:
        if start <= on:
            states[space_id] = OCCUPIED
        elif states.get(space_id) != OCCUPIED:
            states[space_id] = RESERVED
    return states
