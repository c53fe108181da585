"""Reactions of payments to other apps' operations (comptoir.core.events), registered in AppConfig.ready()."""

from __future__ import annotations


def register() -> None:
    """Nothing yet: the services of this app call billing's `settle` directly (a higher app calls a lower one)."""
