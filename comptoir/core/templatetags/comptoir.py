"""Template helpers available in every template (registered as builtins in settings)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.http import urlencode

from comptoir.core import rights
from comptoir.core.money import format_money

register = template.Library()


@register.filter
def money(value: Any, currency: str = "€") -> str:
    return format_money(value, currency)


@register.filter
def percent(value: Any, decimals: str = "-2") -> str:
    """10 % in French (narrow no-break space), 10% in English; decimals as floatformat's argument."""
    if value is None or value == "":
        return ""
    number = floatformat(value, decimals)
    if (translation.get_language() or "fr").startswith("en"):
        return f"{number}%"
    return f"{number}\u202f%"


@register.simple_tag(takes_context=True)
def can(context: template.Context, perm: str) -> bool:
    """{% can "core.change_center" as allowed %}: the viewer's right in the current organization."""
    request = context.get("request")
    if request is None:
        return False
    return rights.has_right(request.user, perm, getattr(request, "organization", None))


@register.simple_tag(takes_context=True)
def list_row(context: template.Context, row: Any) -> str:
    """The cells of a row of a ListPage (comptoir.core.lists.Row)."""
    return row.render(context)


@register.simple_tag(takes_context=True)
def query_replace(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    request = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = urlencode(sorted(params.lists()), doseq=True)
    return f"?{encoded}" if encoded else "?"


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.simple_tag(takes_context=True)
def active_tab(context: template.Context, tabs: Any) -> str:
    """The key of the tab a detail page opens on: `?tab=KEY` when the page has it (a redirect after an action
    lands on the tab it changed), else the first."""
    request = context.get("request")
    requested = request.GET.get("tab", "") if request is not None else ""
    keys = [tab.key for tab in tabs or []]
    return requested if requested in keys else (keys[0] if keys else "")
