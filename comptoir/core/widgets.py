"""Form widgets shared by the apps."""

from __future__ import annotations

from typing import Any

from django import forms


class DataSelect(forms.Select):
    """A select whose choices are stored data (center, source, staff names...), not interface labels: each
    option but the empty one is marked translate="no", so that neither a browser's translator nor the
    English page check takes a French name for an untranslated label."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if value not in (None, ""):
            option["attrs"]["translate"] = "no"
        return option
