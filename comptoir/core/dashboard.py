"""Widgets of the back office home page, contributed by the apps.

An app registers a widget once (at import of its views module, or in AppConfig.ready())::

    dashboard.register_widget("crm/pipeline/_widget_my_activities.html", my_activities_widget, order=10)

`context_function(request)` returns the widget's context (a dict, given to the template as `widget`), or
None to hide the widget for this viewer (no right, nothing to show). Widgets are shown in `order`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

ContextFunction = Callable[[HttpRequest], dict[str, Any] | None]


@dataclass(frozen=True)
class Widget:
    template_name: str
    context_function: ContextFunction
    order: int = 100


_widgets: dict[str, Widget] = {}


def register_widget(template_name: str, context_function: ContextFunction, order: int = 100) -> None:
    """Add (or replace: registering twice is harmless) the widget rendered by `template_name`."""
    _widgets[template_name] = Widget(template_name, context_function, order)


def registered_widgets() -> list[Widget]:
    return sorted(_widgets.values(), key=lambda widget: (widget.order, widget.template_name))


def widgets_for(request: HttpRequest) -> list[dict[str, Any]]:
    """[{"template_name", "context"}] of the widgets this viewer sees, in order."""
    shown = []
    for widget in registered_widgets():
        context = widget.context_function(request)
        if context is not None:
            shown.append({"template_name": widget.template_name, "context": context})
    return shown
