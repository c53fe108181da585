"""Every write of the CRM follow-up: internal notes, actions (dated tasks) and marketing sources.

Keyword-only functions that check the actor's rights, validate, run in one transaction and write the
audit journal. The back office views and the API call these and nothing else.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import Organization, User
from comptoir.core.services import apply_changes, validate
from comptoir.crm.models import Action, Company, MarketingSource, Note

__all__ = [
    "ACTION_FIELDS",
    "MARKETING_SOURCE_FIELDS",
    "NOTE_FIELDS",
    "add_note",
    "complete_action",
    "create_action",
    "create_marketing_source",
    "deactivate_marketing_source",
    "delete_action",
    "delete_note",
    "reopen_action",
    "update_action",
    "update_marketing_source",
    "update_note",
]

NOTE_FIELDS = ["body", "is_pinned"]
ACTION_FIELDS = ["company", "title", "details", "due_date", "assignee"]
MARKETING_SOURCE_FIELDS = ["name", "channel", "cost", "cost_period", "is_active"]


# --------------------------------------------------------------------------------------------------
# Notes (internal, permanent, on a company)
# --------------------------------------------------------------------------------------------------
def _clean_body(body: Any) -> str:
    body = (body or "").strip() if isinstance(body, str) else body
    if not body:
        raise ValidationFailed(_("La note ne peut pas être vide."), code="required", field="body")
    return body


@transaction.atomic
def add_note(*, company: Company, by: User, body: str, is_pinned: bool = False) -> Note:
    """An internal note on a company or prospect; its author is the actor."""
    rights.require(by, "crm.add_note", company.organization_id)
    note = Note(
        organization_id=company.organization_id,
        company=company,
        author=by,
        body=_clean_body(body),
        is_pinned=bool(is_pinned),
    )
    validate(note, exclude=["organization", "company", "author"])
    note.save()
    journal.record(actor=by, action="note.created", obj=note, organization=company.organization,
                   changes=journal.snapshot(note, ["company", *NOTE_FIELDS]))  # fmt: skip
    journal.record(actor=by, action="company.note_added", obj=company, changes={"note": note.body[:80]})
    return note


@transaction.atomic
def update_note(*, note: Note, by: User, data: dict[str, Any]) -> Note:
    rights.require(by, "crm.change_note", note.organization_id)
    note = Note.objects.select_for_update().get(pk=note.pk)
    data = dict(data)
    if "body" in data:
        data["body"] = _clean_body(data["body"])
    changes = apply_changes(note, data, NOTE_FIELDS)
    if changes:
        note.updated_at = timezone.now()
        note.save()
        journal.record(actor=by, action="note.updated", obj=note, changes=changes)
    return note


@transaction.atomic
def delete_note(*, note: Note, by: User) -> None:
    rights.require(by, "crm.delete_note", note.organization_id)
    note = Note.objects.select_for_update().get(pk=note.pk)
    journal.record(actor=by, action="note.deleted", obj=note, changes=journal.snapshot(note, ["company", "body"]))
    note.delete()


# --------------------------------------------------------------------------------------------------
# Actions (dated tasks)
# --------------------------------------------------------------------------------------------------
def _check_action(action: Action) -> None:
    """The company belongs to the organization; the assignee is one of its (active) staff."""
    if action.company is not None and action.company.organization_id != action.organization_id:
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field="company")
    if action.assignee_id is None:
        raise ValidationFailed(_("Choisissez un responsable."), code="required", field="assignee")
    if not rights.is_staff_of(action.assignee, action.organization_id):
        raise ValidationFailed(
            _("Le responsable doit faire partie du staff de l'organisation."), code="not_staff", field="assignee"
        )


def _normalize_action(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    for name in ("title", "details"):
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data


@transaction.atomic
def create_action(*, organization: Organization, by: User, data: dict[str, Any]) -> Action:
    """A dated task (title, due date, assignee; company and details optional)."""
    rights.require(by, "crm.add_action", organization)
    data = _normalize_action(data)
    action = Action(organization=organization, created_by=by)
    if "assignee" not in data or data["assignee"] is None:
        raise ValidationFailed(_("Choisissez un responsable."), code="required", field="assignee")
    apply_changes(action, data, ACTION_FIELDS)
    _check_action(action)
    action.save()
    journal.record(actor=by, action="action.created", obj=action, changes=journal.snapshot(action, ACTION_FIELDS))
    if action.company is not None:  # shown in the company's timeline too
        journal.record(actor=by, action="company.action_added", obj=action.company, changes={"action": action.title})
    return action


@transaction.atomic
def update_action(*, action: Action, by: User, data: dict[str, Any]) -> Action:
    rights.require(by, "crm.change_action", action.organization_id)
    action = Action.objects.select_for_update().get(pk=action.pk)
    changes = apply_changes(action, _normalize_action(data), ACTION_FIELDS)
    if changes:
        _check_action(action)
        action.save()
        journal.record(actor=by, action="action.updated", obj=action, changes=changes)
    return action


@transaction.atomic
def complete_action(*, action: Action, by: User) -> Action:
    rights.require(by, "crm.change_action", action.organization_id)
    action = Action.objects.select_for_update().get(pk=action.pk)
    if action.is_done:
        raise DomainError(_("Cette action est déjà terminée."), code="already_done")
    action.completed_at = timezone.now()
    action.save(update_fields=["completed_at"])
    journal.record(actor=by, action="action.completed", obj=action, changes=journal.snapshot(action, ["completed_at"]))
    return action


@transaction.atomic
def reopen_action(*, action: Action, by: User) -> Action:
    rights.require(by, "crm.change_action", action.organization_id)
    action = Action.objects.select_for_update().get(pk=action.pk)
    if not action.is_done:
        raise DomainError(_("Cette action n'est pas terminée."), code="not_done")
    action.completed_at = None
    action.save(update_fields=["completed_at"])
    journal.record(actor=by, action="action.reopened", obj=action)
    return action


@transaction.atomic
def delete_action(*, action: Action, by: User) -> None:
    rights.require(by, "crm.delete_action", action.organization_id)
    action = Action.objects.select_for_update().get(pk=action.pk)
    journal.record(actor=by, action="action.deleted", obj=action, changes=journal.snapshot(action, ACTION_FIELDS))
    action.delete()


# --------------------------------------------------------------------------------------------------
# Marketing sources
# --------------------------------------------------------------------------------------------------
DUPLICATE_SOURCE = "duplicate_name"


def _check_source_name(source: MarketingSource) -> None:
    if (
        MarketingSource.objects.filter(organization_id=source.organization_id, name__iexact=source.name)
        .exclude(pk=source.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("Une source marketing de votre organisation porte déjà ce nom."), code=DUPLICATE_SOURCE, field="name"
        )


def _normalize_source(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if isinstance(data.get("name"), str):
        data["name"] = " ".join(data["name"].split())
    return data


def _save_source(source: MarketingSource) -> None:
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError as exc:  # a concurrent insert with the same name
        raise ValidationFailed(
            _("Une source marketing de votre organisation porte déjà ce nom."), code=DUPLICATE_SOURCE, field="name"
        ) from exc


def _set_source_fields(source: MarketingSource, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Name uniqueness first (a French message at the name), then the model's own validation."""
    if "name" in data and isinstance(data["name"], str):
        probe = MarketingSource(pk=source.pk, organization_id=source.organization_id, name=data["name"])
        _check_source_name(probe)
    return apply_changes(source, data, MARKETING_SOURCE_FIELDS)


@transaction.atomic
def create_marketing_source(*, organization: Organization, by: User, data: dict[str, Any]) -> MarketingSource:
    rights.require(by, "crm.add_marketingsource", organization)
    source = MarketingSource(organization=organization)
    _set_source_fields(source, _normalize_source(data))
    _save_source(source)
    journal.record(
        actor=by, action="marketing_source.created", obj=source,
        changes=journal.snapshot(source, MARKETING_SOURCE_FIELDS),
    )  # fmt: skip
    return source


@transaction.atomic
def update_marketing_source(*, source: MarketingSource, by: User, data: dict[str, Any]) -> MarketingSource:
    rights.require(by, "crm.change_marketingsource", source.organization_id)
    source = MarketingSource.objects.select_for_update().get(pk=source.pk)
    changes = _set_source_fields(source, _normalize_source(data))
    if changes:
        _save_source(source)
        journal.record(actor=by, action="marketing_source.updated", obj=source, changes=changes)
    return source


@transaction.atomic
def deactivate_marketing_source(*, source: MarketingSource, by: User, active: bool = False) -> MarketingSource:
    """A source is never deleted (companies and opportunities keep it): it is deactivated (or reactivated)."""
    rights.require(by, "crm.change_marketingsource", source.organization_id)
    source = MarketingSource.objects.select_for_update().get(pk=source.pk)
    if source.is_active != active:
        source.is_active = active
        source.save(update_fields=["is_active"])
        journal.record(
            actor=by, action="marketing_source.deactivated" if not active else "marketing_source.reactivated",
            obj=source, changes={"is_active": [not active, active]},
        )  # fmt: skip
    return source
