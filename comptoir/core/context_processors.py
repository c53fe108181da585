from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from comptoir.core import navigation
from comptoir.core.tenancy import staff_organizations


def shell(request: HttpRequest) -> dict[str, Any]:
    """The back office shell: the current organization, the menu, the organizations to switch to."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not request.path.startswith("/manage/"):
        return {}
    organization = request.organization  # type: ignore[attr-defined]
    return {
        "current_organization": organization,
        "menu": navigation.menu_for(user, organization),
        "switchable_organizations": staff_organizations(user),
    }
