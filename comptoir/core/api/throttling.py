"""Rate limits per token (or per address for anonymous calls); DRF answers 429 with Retry-After."""

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        token = getattr(request, "auth", None)
        ident = f"token:{token.pk}" if token is not None and hasattr(token, "pk") else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
