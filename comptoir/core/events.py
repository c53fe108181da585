"""A small explicit event hub for domain flow between apps (DESIGN.md: no Django signals for this).

A lower app publishes `events.publish("contract.signed", contract=contract)`; a higher app registers
`events.subscribe("contract.signed", handler, order=10)` in its AppConfig.ready(). Handlers run
synchronously, inside the caller's transaction, in ascending `order`; an exception aborts the operation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]
_handlers: dict[str, list[tuple[int, str, Handler]]] = defaultdict(list)


def subscribe(event: str, handler: Handler, *, order: int = 100) -> None:
    key = f"{handler.__module__}.{handler.__qualname__}"
    entries = _handlers[event]
    if any(existing_key == key for _, existing_key, _ in entries):
        return
    entries.append((order, key, handler))
    entries.sort(key=lambda entry: (entry[0], entry[1]))


def unsubscribe(event: str, handler: Handler) -> None:
    _handlers[event] = [entry for entry in _handlers[event] if entry[2] is not handler]


def handlers(event: str) -> list[Handler]:
    return [handler for _, _, handler in _handlers[event]]


def publish(event: str, **payload: Any) -> list[Any]:
    return [handler(**payload) for handler in handlers(event)]
