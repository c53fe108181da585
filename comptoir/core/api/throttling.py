"""Rate limits per token (or per address for anonymous calls); 429 with `Retry-After` when exceeded.

The rate is `settings.API_RATE` ("1200/min" by default, `API_RATE` in the environment), read at each
request so that tests and deployments can change it without a restart of DRF's settings.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str | None:
        rate = getattr(settings, "API_RATE", None)
        if rate is None:
            rate = self.THROTTLE_RATES.get(self.scope)
        return rate or None

    def get_cache_key(self, request: Request, view: Any) -> str:
        token = getattr(request, "auth", None)
        ident = f"token:{token.pk}" if token is not None and hasattr(token, "pk") else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
