"""Gap-free numbering: the sequence row is locked for the rest of the caller's transaction."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from comptoir.core.models import Organization, Sequence


def next_numbers(*, organization: Organization, series: str, scope: str = "", count: int = 1) -> range:
    """Reserve `count` consecutive numbers of a series; must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_numbers() must be called inside a transaction.")
    try:
        with transaction.atomic():
            Sequence.objects.get_or_create(organization=organization, series=series, scope=scope)
    except IntegrityError:  # created by a concurrent transaction in the meantime
        pass
    sequence = Sequence.objects.select_for_update().get(organization=organization, series=series, scope=scope)
    first = sequence.last_value + 1
    sequence.last_value += count
    sequence.save(update_fields=["last_value"])
    return range(first, first + count)


def next_number(*, organization: Organization, series: str, scope: str = "") -> int:
    return next_numbers(organization=organization, series=series, scope=scope, count=1)[0]
