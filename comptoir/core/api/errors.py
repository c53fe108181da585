"""Every API error is `{"error": {"code", "message", "fields"}}` with a 4xx status; never a 500 for bad input.

`fields` maps an input name to its messages. Nested inputs use dotted paths
(`opening_hours.1.closes_at`); errors that belong to no single field are under `non_field_errors`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from comptoir.core.errors import DomainError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("Requête trop volumineuse.")
    default_code = "request_too_large"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = gettext_lazy("Requête invalide.")
    default_code = "bad_request"


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _merge(into: dict[str, list[str]], other: dict[str, list[str]]) -> None:
    for key, messages in other.items():
        into.setdefault(key, []).extend(messages)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as {dotted.path: [messages]}."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = non_field if key in (non_field, "__all__") and not prefix else str(key)
            _merge(flat, flatten_errors(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in detail):
            if detail:
                flat[prefix or non_field] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    _merge(flat, flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or non_field] = [str(detail)]
    return flat


def _domain_fields(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    return {(non_field if name == "__all__" else name): [str(m) for m in messages] for name, messages in fields.items()}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.message, _domain_fields(exc.fields))
        body["error"].update({key: value for key, value in exc.details.items() if key not in body["error"]})
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return Response(
            error_body("invalid", _("Données invalides."), _domain_fields(fields)), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = BadRequest()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()  # never echo Django's "No Center matches the given query."
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _("Données invalides."), flatten_errors(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
        response.data = error_body(str(code), message)
    return response


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """The JSON 404 for every unknown URL under /api/v1/ (any method, authenticated or not)."""
    message = _("Adresse inconnue.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message = _("Adresse inconnue. Vouliez-vous dire %(path)s ?") % {"path": request.path + "/"}
    return JsonResponse(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)
