"""OpenAPI: the Bearer security scheme, the standard error responses of every operation, the
`Idempotency-Key` header of `@idempotent` actions, and the generator behind `comptoir apischema`.

The committed schema is docs/openapi.yaml; a test regenerates it and fails when it differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_spectacular.validation import validate_schema

from comptoir.core.api import idempotency

SCHEMA_FILE = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
UPDATE_COMMAND = "comptoir apischema"

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `error.fields` names each faulty input (also a malformed JSON body or cursor).",
    "401": "Missing, unknown, expired or revoked token, or its user is no longer active staff.",
    "403": "The token's user lacks the right for this action (`forbidden`, `escalation`...).",
    "404": "No such object in the token's organization.",
    "409": "`idempotency_in_progress`: a request with the same Idempotency-Key is still running.",
    "422": "`idempotency_key_reused`: the Idempotency-Key was used for a different request.",
    "429": "Rate limit exceeded (`throttled`); retry after `Retry-After` seconds.",
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "comptoir.core.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: `comptoir apitoken --org SLUG --email EMAIL`, or POST /api/v1/tokens/.",
        }


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus Comptoir's conventions (errors, idempotency)."""

    def _view_method(self) -> Any:
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _is_idempotent(self) -> bool:
        return idempotency.is_idempotent(self._view_method())

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_idempotent():
            parameters.append(
                OpenApiParameter(
                    idempotency.HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Makes the request safe to retry: the same key with the same body replays the first answer "
                        "(header `Idempotent-Replayed: true`) instead of acting twice. 1-255 visible ASCII "
                        "characters, e.g. a UUID; kept 24 hours, per token user."
                    ),
                )
            )
        return parameters

    def _get_serializer_field_meta(self, field: Any, direction: str) -> dict[str, Any]:
        # Titles would be the models' French verbose names; descriptions are the serializers' English help texts.
        meta = super()._get_serializer_field_meta(field, direction)
        meta.pop("title", None)
        if isinstance(getattr(field, "help_text", None), Promise):
            # a model's help text (lazy, French UI text for the forms): not the API's documentation
            meta.pop("description", None)
        return meta

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or not operation.get("security"):
            return operation  # public views (schema, docs) have no error conventions to document
        # Filters shared with the back office carry French labels: the API FilterSet gives English ones.
        api_help = getattr(getattr(self.view, "filterset_class", None), "api_help", {})
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in api_help:
                parameter["description"] = api_help[parameter["name"]]
        codes = ["401", "403", "429"]
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            codes.append("400")
        if "{" in path:
            codes.append("404")
        if self._is_idempotent():
            codes += ["409", "422"]
            for code, response in operation["responses"].items():
                if code.startswith("2"):
                    response.setdefault("headers", {})[idempotency.REPLAYED_HEADER] = {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "Present when this answer is the replay of an earlier request with the key.",
                    }
        from comptoir.core.api.serializers import ErrorOut

        error_ref = self.resolve_serializer(ErrorOut, "response").ref
        for code in sorted(codes):
            response = {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": error_ref}}}
            if code == "429":
                response["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
                }
            operation["responses"].setdefault(code, response)
        operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation


def generate() -> tuple[str, list[str]]:
    """The OpenAPI document as YAML, and the generator's warnings and errors.

    Translations are switched off, so the document is the same whether or not the .mo catalogs are
    compiled; its texts are the API's English help texts (never the models' French labels).
    Raises when the document does not validate against the OpenAPI 3 JSON schema.
    """
    GENERATOR_STATS.reset()
    with translation.override(None), GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
        validate_schema(schema)
        text = OpenApiYamlRenderer().render(schema, renderer_context={}).decode("utf-8")
    problems = [f"warning: {message}" for message in GENERATOR_STATS._warn_cache]
    problems += [f"error: {message}" for message in GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    return text, problems
