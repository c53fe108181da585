"""The audit journal: one helper that every service calls after it changes data."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.fields.files import FieldFile

from comptoir.core.context import current_request_id

if TYPE_CHECKING:
    from comptoir.core.models import AuditEntry, Organization, User


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a field value."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    return value


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The current values of a model's concrete fields (by attribute name: `center_id` → `center`)."""
    names = fields or [
        field.name for field in obj._meta.concrete_fields if not field.primary_key and field.name != "organization"
    ]
    values: dict[str, Any] = {}
    for name in names:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = _plain(getattr(obj, attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field whose value changed."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    organization: Organization | None = None,
    changes: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEntry:
    """Append one entry. `changes` is {field: [before, after]} (see `diff`) or any JSON details."""
    from comptoir.core.models import AuditEntry, Organization

    organization_id = organization.pk if organization is not None else None
    if organization is None and obj is not None:
        # The id when the object carries it (no query for the organization row), else its `organization`.
        organization_id = obj.pk if isinstance(obj, Organization) else getattr(obj, "organization_id", None)
        if organization_id is None:
            found = getattr(obj, "organization", None)
            organization_id = found.pk if found is not None else None
    actor_label = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_label = f"{actor.full_name} <{actor.email}>" if actor.full_name else actor.email
    else:
        actor = None
        actor_label = "system"
    return AuditEntry.objects.create(
        organization_id=organization_id,
        actor=actor,
        actor_label=actor_label[:255],
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        changes={key: _plain(value) for key, value in (changes or {}).items()},
        message=message[:500],
        request_id=current_request_id() or "",
    )
