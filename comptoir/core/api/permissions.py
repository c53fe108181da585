"""API permissions: the same rights as the UI (comptoir.core.rights), per viewset action."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from comptoir.core import rights

ACTION_RIGHTS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def required_right(view: Any) -> str | None:
    """A view declares `required_rights = {"action": "app.codename"}` or a `queryset` model (view/add/...)."""
    action = getattr(view, "action", None) or request_method_action(view)
    explicit = getattr(view, "required_rights", {})
    if action in explicit:
        return explicit[action]
    verb = ACTION_RIGHTS.get(action or "")
    queryset = getattr(view, "queryset", None)
    model = getattr(view, "model", None) or (queryset.model if queryset is not None else None)
    if verb and model is not None:
        return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"
    return None


def request_method_action(view: Any) -> str | None:
    method = getattr(getattr(view, "request", None), "method", "GET")
    return "list" if method in permissions.SAFE_METHODS else None


class HasModulePermission(permissions.BasePermission):
    """Authenticated staff of the token's organization holding the action's right."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user is None or not request.user.is_authenticated:
            return False
        organization = getattr(request._request, "organization", None)
        if not rights.is_staff_of(request.user, organization):
            return False
        perm = required_right(view)
        if perm is None:
            return bool(getattr(view, "allow_any_staff", False))
        return rights.has_right(request.user, perm, organization)
