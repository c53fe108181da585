"""The API reads JSON only; a malformed, oversized or non-UTF-8 body is a 4xx, never a 500."""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from comptoir.core.api.errors import RequestTooLarge


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus: a size limit, unknown charsets, too-deep nesting and lone surrogates refused."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise RequestTooLarge()
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ParseError(_("Jeu de caractères inconnu : %(charset)s.") % {"charset": encoding[:40]}) from exc
        try:
            data = super().parse(stream, media_type, parser_context)
            # Lone surrogates ("\ud800") parse as JSON but cannot be stored: refuse them here.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except RecursionError as exc:
            raise ParseError(_("JSON trop profondément imbriqué.")) from exc
        except UnicodeError as exc:
            raise ParseError(_("Le JSON contient des caractères invalides.")) from exc
        return data
