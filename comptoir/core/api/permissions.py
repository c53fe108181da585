"""API permissions: the same rights as the UI (comptoir.core.rights), per viewset action.

A viewset declares `required_rights = {"action": "app.codename" | None}`; `None` lets any active staff
member of the token's organization in (the service and the selector still decide what they may do and
see). Actions it does not declare fall back to the model's view / add / change / delete right, and an
action with no right at all is refused. A method the view does not offer answers 405, not 403.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
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

ANY_STAFF = None
_UNDECLARED = object()


def required_right(view: Any) -> str | object | None:
    """The right an action needs, `None` for any staff member, or `_UNDECLARED` when nothing says."""
    action = getattr(view, "action", None)
    explicit = getattr(view, "required_rights", {})
    if action in explicit:
        return explicit[action]
    verb = ACTION_RIGHTS.get(action or "")
    queryset = getattr(view, "queryset", None)
    model = getattr(view, "model", None) or (queryset.model if queryset is not None else None)
    if verb and model is not None:
        return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"
    return _UNDECLARED


def _offers_method(request: Request, view: Any) -> bool:
    action_map = getattr(view, "action_map", None)
    if action_map is None:
        return True
    return request.method.lower() in action_map


class HasModulePermission(permissions.BasePermission):
    """Authenticated staff of the token's organization holding the action's right."""

    message = _("Vous n'avez pas le droit d'effectuer cette action.")
    code = "forbidden"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        organization = getattr(request._request, "organization", None)
        if not rights.is_staff_of(user, organization):
            return False
        if not _offers_method(request, view):
            return True  # the view answers 405 Method Not Allowed
        perm = required_right(view)
        if perm is _UNDECLARED:
            return False
        if perm is ANY_STAFF:
            return True
        return rights.has_right(user, perm, organization)  # type: ignore[arg-type]
