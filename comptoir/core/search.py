"""Global search: a registry of providers, one per kind of result, that each app fills in.

    # comptoir/crm/apps.py, in ready():
    register_provider("company", _("Entreprises"), search_companies, order=10)

A provider is `fn(user, organization, query, limit) -> list[hit]`, a hit being a dict with `kind`,
`label`, `sublabel`, `url` and `reference`. It applies the viewer's rights itself (an empty list when
they may not see that kind) and may return `limit + 1` hits: the extra one only says "more than
`limit`" (shown "8+"), since exact counts cost too much on large tables. Core never imports the apps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from django.utils.functional import Promise

MAX_QUERY_LENGTH = 100
MIN_QUERY_LENGTH = 2


class Hit(TypedDict):
    kind: str
    label: str
    sublabel: str
    url: str
    reference: str


Provider = Callable[[Any, Any, str, int], list[Hit]]


@dataclass(frozen=True)
class _Registered:
    kind: str
    label: str | Promise
    fn: Provider
    order: int


@dataclass
class Group:
    kind: str
    label: str
    hits: list[Hit]
    has_more: bool

    @property
    def count_label(self) -> str:
        """The count shown: "3", or "8+" when the provider found more than it shows."""
        return f"{len(self.hits)}+" if self.has_more else str(len(self.hits))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "has_more": self.has_more, "results": list(self.hits)}


_providers: dict[str, _Registered] = {}


def register_provider(kind: str, label: str | Promise, fn: Provider, order: int = 100) -> None:
    """Add (or replace) the provider of `kind`; groups come out by `order`, then kind."""
    _providers[kind] = _Registered(kind=kind, label=label, fn=fn, order=order)


def providers() -> list[str]:
    return [registered.kind for registered in sorted(_providers.values(), key=lambda r: (r.order, r.kind))]


def clean_query(query: str | None) -> str:
    """Strip, collapse spaces, drop NUL characters (PostgreSQL refuses them), cap the length."""
    return " ".join((query or "").replace("\x00", "").split())[:MAX_QUERY_LENGTH]


def search(*, user: Any, organization: Any, query: str | None, limit_per_kind: int = 8) -> list[Group]:
    """The non-empty groups of hits for `query`, in the providers' order; nothing for a too short query."""
    query = clean_query(query)
    if len(query) < MIN_QUERY_LENGTH or organization is None:
        return []
    groups = []
    for registered in sorted(_providers.values(), key=lambda r: (r.order, r.kind)):
        hits = registered.fn(user, organization, query, limit_per_kind)
        if hits:
            groups.append(
                Group(
                    kind=registered.kind,
                    label=str(registered.label),
                    hits=hits[:limit_per_kind],
                    has_more=len(hits) > limit_per_kind,
                )
            )
    return groups
