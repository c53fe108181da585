"""Cursor (keyset) pagination: constant cost at any depth; `?cursor=` links in `next` / `previous`.

A view picks its order with `cursor_ordering` (default `"-id"`); the first field must be unique or
nearly so (DRF adds an offset for ties). A tampered cursor answers 400 `invalid_cursor`, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination, status
from rest_framework.request import Request


class InvalidCursor(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Curseur de pagination invalide.")
    default_code = "invalid_cursor"


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any] | None:
        self._model = queryset.model
        self._view = view
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise InvalidCursor() from exc
        if cursor is None or cursor.position is None:
            return cursor
        # The position is compared with the first ordering field: it must be a valid value of that field.
        field_name = self.get_ordering(request, self._model.objects.none(), self._view)[0].lstrip("-")
        try:
            field = self._model._meta.get_field(field_name)
            if "\x00" in cursor.position:
                raise ValidationError("NUL")
            field.to_python(cursor.position)
        except (ValidationError, ValueError, TypeError) as exc:
            raise InvalidCursor() from exc
        return cursor
