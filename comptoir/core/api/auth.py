"""`Authorization: Bearer TOKEN`: a token belongs to one user in one organization; only its hash is stored."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from comptoir.core import rights
from comptoir.core.models import ApiToken, User
from comptoir.core.services import hash_token

LAST_USED_PRECISION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("En-tête Authorization invalide."))
        token = ApiToken.objects.select_related("user", "organization").filter(key_hash=hash_token(parts[1])).first()
        if token is None or not token.is_active:
            raise exceptions.AuthenticationFailed(_("Jeton invalide, expiré ou révoqué."))
        if not token.user.is_active or not token.organization.is_active:
            raise exceptions.AuthenticationFailed(_("Compte désactivé."))
        if not rights.is_staff_of(token.user, token.organization):
            raise exceptions.AuthenticationFailed(_("Ce jeton n'a plus accès à cette organisation."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        # The API works in the token's organization (the session has no say here).
        request._request.organization = token.organization  # type: ignore[attr-defined]
        request._request.staff = rights.membership(token.user, token.organization)  # type: ignore[attr-defined]
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
