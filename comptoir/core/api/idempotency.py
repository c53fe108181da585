"""`Idempotency-Key` for POST actions that create documents or move money (DESIGN.md, invariant 14).

Put `@idempotent` on a viewset action (under `@action`/`@extend_schema`) and the action becomes safe
to retry::

    @extend_schema(request=InvoiceIssueIn, responses=InvoiceOut)
    @action(detail=True, methods=["post"])
    @idempotent
    def issue(self, request, pk): ...

Semantics (keys are scoped to the token's organization and user):

- no header: the action runs as usual;
- first request with a key: the key is claimed (committed at once, so concurrent requests see it),
  then the action and the storing of its answer run in one transaction. A successful (2xx) answer is
  stored; any other outcome releases the key, so a corrected request may use it again;
- same key, same method, path and body (JSON compared canonically): the stored status and body are
  replayed with `Idempotent-Replayed: true`, and the action does not run again;
- same key, different request: 422 `idempotency_key_reused`;
- same key while the first request is still running: 409 `idempotency_in_progress`;
- records older than 24 hours may be purged (`purge_expired`); an expired key may be used afresh.

The `IdempotencyRecord` table is a transport-level cache of answers, not domain data: it is written
here rather than through a service, and not journaled (the action's own service journals the change).
Fields listed in `secret_fields` (a raw API token...) are not stored: a replay answers `null` there.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core.errors import Conflict, DomainError, ValidationFailed
from comptoir.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = datetime.timedelta(hours=24)
# A claim left without an answer this long belongs to a request that died (its transaction rolled back).
ABANDONED_AFTER = datetime.timedelta(minutes=5)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, like a UUID or a ULID


class IdempotencyKeyReused(DomainError):
    status = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the body (parsed JSON, keys sorted: formatting does not count)."""
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    except (RecursionError, ValueError) as exc:
        raise ParseError(_("Corps de requête illisible.")) from exc
    digest = hashlib.sha256()
    for part in (request.method, request.path, body):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _claim(request: Request, key: str, print_: str) -> tuple[IdempotencyRecord, datetime.datetime | None]:
    """(record, claimed_at) when this request owns the key now; (record, None) when its answer must be replayed."""
    organization, user = request._request.organization, request.user  # type: ignore[attr-defined]
    scope = {"organization": organization, "user": user, "key": key}
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    **scope, method=request.method, path=request.path[:500], fingerprint=print_, created_at=now
                )
            return record, now
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(**scope).first()
        if record is None:  # released in between: try again
            continue
        if record.created_at <= now - RETENTION:
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.fingerprint != print_:
            raise IdempotencyKeyReused(
                _("Cette clé d'idempotence a déjà servi pour une autre requête."), field=HEADER.lower()
            )
        if record.status_code is None:
            if record.created_at <= now - ABANDONED_AFTER:
                taken = IdempotencyRecord.objects.filter(
                    pk=record.pk, status_code__isnull=True, created_at=record.created_at
                ).update(created_at=now)
                if taken:
                    return record, now
                continue
            raise Conflict(
                _("Une requête avec cette clé d'idempotence est en cours ; réessayez dans un instant."),
                code="idempotency_in_progress",
            )
        return record, None
    raise Conflict(
        _("Une requête avec cette clé d'idempotence est en cours ; réessayez dans un instant."),
        code="idempotency_in_progress",
    )


def _release(record: IdempotencyRecord, claimed_at: datetime.datetime) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True, created_at=claimed_at).delete()


def _storable(data: Any, secret_fields: Iterable[str]) -> Any:
    plain = json.loads(JSONRenderer().render(data)) if data is not None else None
    if isinstance(plain, dict):
        for name in secret_fields:
            if name in plain:
                plain[name] = None
    return plain


def replay(record: IdempotencyRecord) -> Response:
    return Response(record.response_body, status=record.status_code, headers={REPLAYED_HEADER: "true"})


def idempotent(
    func: Callable[..., Response] | None = None, *, secret_fields: Iterable[str] = ()
) -> Callable[..., Response]:
    """Decorate a viewset action (`def create(self, request, ...)`); see the module docstring."""
    secret_fields = tuple(secret_fields)

    def decorate(view_method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view_method)
        def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return view_method(self, request, *args, **kwargs)
            if not KEY_PATTERN.match(key):
                raise ValidationFailed(
                    _("Clé d'idempotence invalide : 1 à 255 caractères ASCII visibles."),
                    code="invalid_idempotency_key",
                    field=HEADER.lower(),
                )
            record, claimed_at = _claim(request, key, fingerprint(request))
            if claimed_at is None:
                return replay(record)
            try:
                with transaction.atomic():
                    response = view_method(self, request, *args, **kwargs)
                    if not status.is_success(response.status_code):
                        _release(record, claimed_at)
                        return response
                    stored = IdempotencyRecord.objects.filter(
                        pk=record.pk, status_code__isnull=True, created_at=claimed_at
                    ).update(status_code=response.status_code, response_body=_storable(response.data, secret_fields))
                    if not stored:  # another request took over a claim it believed abandoned
                        raise Conflict(
                            _("Une requête avec cette clé d'idempotence est en cours ; réessayez dans un instant."),
                            code="idempotency_in_progress",
                        )
            except BaseException:
                _release(record, claimed_at)
                raise
            return response

        wrapper.idempotent = True  # type: ignore[attr-defined]
        return wrapper

    if func is not None:
        return decorate(func)
    return decorate  # type: ignore[return-value]


def is_idempotent(view_method: Any) -> bool:
    return bool(getattr(view_method, "idempotent", False))


def purge_expired(*, now: datetime.datetime | None = None, older_than: datetime.timedelta = RETENTION) -> int:
    """Delete the records older than `older_than` (24 h); returns how many. Run it daily."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _per_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
