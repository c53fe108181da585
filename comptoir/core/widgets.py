"""Form widgets shared by the apps."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


class Select(forms.Select):
    """Django's select, rendered in Python rather than through one template include per option: the same
    HTML as django/forms/widgets/select.html, at a fraction of the cost for the long lists of centers and
    staff that filter bars and forms show."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], _attributes(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    str(option["value"]),
                    _attributes(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # every piece above is escaped by format_html


def _attributes(attrs: dict[str, Any]) -> SafeString:
    """HTML attributes as django/forms/widgets/attrs.html writes them (True: bare name, False: left out)."""
    return mark_safe(
        "".join(
            format_html(" {}", key) if value is True else format_html(' {}="{}"', key, str(value))
            for key, value in attrs.items()
            if value is not False and value is not None
        )
    )


class DataSelect(Select):
    """A select whose choices are stored data (center, source, staff names...), not interface labels: each
    option but the empty one is marked translate="no", so that neither a browser's translator nor the
    English page check takes a French name for an untranslated label."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if value not in (None, ""):
            option["attrs"]["translate"] = "no"
        return option
