"""An app's back office is split into areas, one views module each (`comptoir.<app>.views.<area>`), and its
API into modules (`comptoir.<app>.api.<area>`). Each module declares what it contributes at module level:

    urlpatterns = [...]                      # back office URL patterns (the app's namespace)
    MENU = [Entry(...)]                      # back office menu entries (comptoir.core.navigation)
    ROUTES = [("spaces", SpaceViewSet, "space")]   # API routes: prefix, viewset, basename

`collect()` gathers one of them across an app's areas; an area whose module does not exist yet is skipped.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any


def modules(package: str, areas: list[str]) -> list[ModuleType]:
    found = []
    for area in areas:
        name = f"{package}.{area}"
        try:
            found.append(import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def collect(package: str, areas: list[str], attribute: str) -> list[Any]:
    items: list[Any] = []
    for module in modules(package, areas):
        items += getattr(module, attribute, [])
    return items
