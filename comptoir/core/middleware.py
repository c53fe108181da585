"""Request id (for the journal and the logs) and the current organization of each request."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from comptoir.core import tenancy
from comptoir.core.context import reset_request_id, set_request_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-Id"] = request_id
        return response


class TenantMiddleware:
    """Sets `request.organization` (the organization the user works in now) and `request.staff`.

    The organization comes from the session (chosen at login or with the switcher); a user who is
    staff of several organizations switches between them. API requests get theirs from the token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = SimpleLazyObject(lambda: tenancy.session_organization(request))  # type: ignore[attr-defined]
        request.staff = SimpleLazyObject(lambda: tenancy.session_staff(request))  # type: ignore[attr-defined]
        return self.get_response(request)
