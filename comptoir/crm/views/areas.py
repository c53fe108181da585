"""The CRM's back office areas; each module lists its URL patterns in a module-level `urlpatterns`."""

from __future__ import annotations

from importlib import import_module

from django.urls import URLPattern

AREAS = ["companies", "contacts", "pipeline", "followup", "sources", "imports"]


def urlpatterns() -> list[URLPattern]:
    patterns: list[URLPattern] = []
    for area in AREAS:
        name = f"comptoir.crm.views.{area}"
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # an area not written yet
        patterns += module.urlpatterns
    return patterns
