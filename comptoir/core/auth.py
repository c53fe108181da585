"""E-mail login. Staff rights are per organization (comptoir.core.rights), not global Django permissions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from comptoir.core import rights
from comptoir.core.models import Organization, User


class EmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (username or kwargs.get("email") or "").strip()
        if not email or password is None:
            return None
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            User().set_password(password)  # same cost as a real check: no timing oracle on e-mails
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        """`user.has_perm("core.view_center", organization)`: the right in that organization."""
        if isinstance(obj, Organization):
            return rights.has_right(user_obj, perm, obj)
        return False

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return False

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if isinstance(obj, Organization):
            return set(rights.rights_of(user_obj, obj))
        return set()
