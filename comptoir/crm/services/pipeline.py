"""Every write of the sales pipeline: opportunities (stages, kanban positions) and commercial activities.

Keyword-only functions that check the actor's rights, validate, run in one transaction and write the
audit journal. Winning an opportunity publishes `opportunity.won` (the sales app converts the prospect).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core import events, journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import User
from comptoir.core.services import apply_changes
from comptoir.crm.models import Activity, Company, Opportunity

__all__ = [
    "ACTIVITY_FIELDS",
    "OPPORTUNITY_FIELDS",
    "complete_activity",
    "create_opportunity",
    "delete_activity",
    "move_opportunity",
    "plan_activity",
    "update_activity",
    "update_opportunity",
]

OPPORTUNITY_FIELDS = [
    "title", "estimated_amount", "probability", "expected_close_date", "marketing_source", "owner", "center",
]  # fmt: skip
ACTIVITY_FIELDS = ["kind", "scheduled_at", "staff", "notes", "opportunity"]
CLOSED_STAGES = (Opportunity.Stage.WON, Opportunity.Stage.LOST)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _check_opportunity_references(opportunity: Opportunity) -> None:
    """The source and the center belong to the organization; the owner is one of its staff."""
    org_id = opportunity.organization_id
    for field in ("center", "marketing_source"):
        related = getattr(opportunity, field)
        if related is not None and related.organization_id != org_id:
            raise ValidationFailed(_("Objet inconnu."), code="not_found", field=field)
    if opportunity.owner is not None and not rights.is_staff_of(opportunity.owner, org_id):
        raise ValidationFailed(_("Le responsable doit faire partie du staff."), code="not_staff", field="owner")


def _check_stage(stage: str) -> None:
    if stage not in Opportunity.Stage.values:
        raise ValidationFailed(_("Étape inconnue."), code="invalid", field="stage")


def _require_lost_reason(lost_reason: str) -> str:
    reason = (lost_reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Indiquez la raison de la perte."), code="lost_reason_required", field="lost_reason")
    return reason[:255]


def _column(organization_id: int, stage: str, *, lock: bool = True) -> list[Opportunity]:
    qs = Opportunity.objects.filter(organization_id=organization_id, stage=stage).order_by("position", "-id")
    if lock:
        qs = qs.select_for_update()
    return list(qs.only("pk", "position", "stage", "organization_id"))


def _renumber(cards: list[Opportunity]) -> None:
    """Positions 0..n-1 in the given order; only the rows whose position changed are written."""
    changed = []
    for index, card in enumerate(cards):
        if card.position != index:
            card.position = index
            changed.append(card)
    if changed:
        Opportunity.objects.bulk_update(changed, ["position"])


def _close(opportunity: Opportunity, stage: str) -> None:
    if stage in CLOSED_STAGES:
        opportunity.closed_at = opportunity.closed_at if opportunity.stage == stage else timezone.now()
    else:
        opportunity.closed_at = None
        opportunity.lost_reason = ""


def _check_activity(activity: Activity) -> None:
    if not rights.is_staff_of(activity.staff, activity.organization_id):
        raise ValidationFailed(_("Le collaborateur doit faire partie du staff."), code="not_staff", field="staff")
    if activity.opportunity is not None and activity.opportunity.company_id != activity.company_id:
        raise ValidationFailed(
            _("Cette opportunité ne concerne pas cette entreprise."), code="not_found", field="opportunity"
        )


# --------------------------------------------------------------------------------------------------
# Opportunities
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_opportunity(
    *, company: Company, by: User, data: dict[str, Any], stage: str = Opportunity.Stage.LEAD, lost_reason: str = ""
) -> Opportunity:
    """A new opportunity of a company, at the end of its stage's column; the probability defaults by stage."""
    rights.require(by, "crm.add_opportunity", company.organization_id)
    _check_stage(stage)
    data = dict(data)
    if data.get("probability") in (None, ""):
        data["probability"] = Opportunity.DEFAULT_PROBABILITY[stage]
    opportunity = Opportunity(organization_id=company.organization_id, company=company, stage=stage)
    apply_changes(opportunity, data, OPPORTUNITY_FIELDS)
    _check_opportunity_references(opportunity)
    if stage == Opportunity.Stage.LOST:
        opportunity.lost_reason = _require_lost_reason(lost_reason)
    if stage in CLOSED_STAGES:
        opportunity.closed_at = timezone.now()
    column = _column(company.organization_id, stage)
    opportunity.position = len(column)
    opportunity.save()
    journal.record(
        actor=by,
        action="opportunity.created",
        obj=opportunity,
        changes=journal.snapshot(opportunity, ["stage", *OPPORTUNITY_FIELDS]),
    )
    journal.record(
        actor=by, action="company.opportunity_added", obj=company, changes={"opportunity": opportunity.title}
    )
    if stage == Opportunity.Stage.WON:
        events.publish("opportunity.won", opportunity=opportunity, by=by)
    return opportunity


@transaction.atomic
def update_opportunity(*, opportunity: Opportunity, by: User, data: dict[str, Any]) -> Opportunity:
    """Edit the fields of an opportunity (its stage changes through `move_opportunity`)."""
    rights.require(by, "crm.change_opportunity", opportunity.organization_id)
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    data = dict(data)
    if data.get("probability") in (None, ""):
        data["probability"] = opportunity.probability
    allowed = (
        [*OPPORTUNITY_FIELDS, "lost_reason"] if opportunity.stage == Opportunity.Stage.LOST else OPPORTUNITY_FIELDS
    )
    if "lost_reason" in data and "lost_reason" in allowed:
        data["lost_reason"] = _require_lost_reason(data["lost_reason"])
    elif "lost_reason" in data and not data["lost_reason"]:
        data.pop("lost_reason")
    changes = apply_changes(opportunity, data, allowed)
    if changes:
        _check_opportunity_references(opportunity)
        opportunity.save()
        journal.record(actor=by, action="opportunity.updated", obj=opportunity, changes=changes)
    return opportunity


@transaction.atomic
def move_opportunity(
    *, opportunity: Opportunity, by: User | None, stage: str, position: int | None = None, lost_reason: str = ""
) -> Opportunity:
    """Move a card of the kanban: to another stage (journaled with before / after) and / or another place.

    "Perdue" requires a reason; "Contrat signé" and "Perdue" set the closing date; the probability
    becomes the new stage's default. `position` is the index in the target column (None: at the end);
    the positions of both columns stay 0..n-1. `by=None` is the system (e.g. a contract signed in the
    portal moves its opportunity to "Contrat signé"): no rights check, the journal's actor is None.
    """
    if by is not None:
        rights.require(by, "crm.change_opportunity", opportunity.organization_id)
    _check_stage(stage)
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    before = journal.snapshot(opportunity, ["stage", "probability", "lost_reason", "closed_at"])
    moving = stage != opportunity.stage
    if stage == Opportunity.Stage.LOST and (moving or lost_reason):
        reason = _require_lost_reason(lost_reason)
    else:
        reason = opportunity.lost_reason
    org_id = opportunity.organization_id
    if moving:
        source = [card for card in _column(org_id, opportunity.stage) if card.pk != opportunity.pk]
        _renumber(source)
    target = [card for card in _column(org_id, stage) if card.pk != opportunity.pk]
    index = len(target) if position is None else max(0, min(int(position), len(target)))
    old_position = opportunity.position
    if moving:
        _close(opportunity, stage)
        opportunity.stage = stage
        opportunity.probability = Opportunity.DEFAULT_PROBABILITY[stage]
    opportunity.lost_reason = reason if stage == Opportunity.Stage.LOST else ""
    opportunity.position = index
    target.insert(index, opportunity)
    _renumber(target)
    opportunity.save(update_fields=["stage", "probability", "lost_reason", "closed_at", "position"])
    changes = journal.diff(before, journal.snapshot(opportunity, ["stage", "probability", "lost_reason", "closed_at"]))
    if moving:
        journal.record(actor=by, action="opportunity.stage_changed", obj=opportunity, changes=changes)
        if stage == Opportunity.Stage.WON:
            events.publish("opportunity.won", opportunity=opportunity, by=by)
    elif changes:
        journal.record(actor=by, action="opportunity.updated", obj=opportunity, changes=changes)
    elif old_position != opportunity.position:
        journal.record(
            actor=by, action="opportunity.reordered", obj=opportunity,
            changes={"position": [old_position, opportunity.position]},
        )  # fmt: skip
    return opportunity


# --------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def plan_activity(
    *, company: Company, by: User, data: dict[str, Any], opportunity: Opportunity | None = None
) -> Activity:
    """Plan a visit, call, e-mail, follow-up or meeting on a company (or on one of its opportunities)."""
    rights.require(by, "crm.add_activity", company.organization_id)
    data = dict(data)
    if opportunity is not None:
        data["opportunity"] = opportunity
    if not data.get("staff"):
        data["staff"] = by
    activity = Activity(organization_id=company.organization_id, company=company, status=Activity.Status.PLANNED)
    apply_changes(activity, data, ACTIVITY_FIELDS)
    _check_activity(activity)
    activity.save()
    journal.record(
        actor=by, action="activity.created", obj=activity, changes=journal.snapshot(activity, ACTIVITY_FIELDS)
    )
    return activity


@transaction.atomic
def update_activity(*, activity: Activity, by: User, data: dict[str, Any]) -> Activity:
    rights.require(by, "crm.change_activity", activity.organization_id)
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    data = dict(data)
    if "staff" in data and not data["staff"]:
        data.pop("staff")
    changes = apply_changes(activity, data, ACTIVITY_FIELDS)
    if changes:
        _check_activity(activity)
        activity.save()
        journal.record(actor=by, action="activity.updated", obj=activity, changes=changes)
    return activity


@transaction.atomic
def complete_activity(*, activity: Activity, by: User, notes: str | None = None) -> Activity:
    """Mark an activity done ("fait"), with its report (notes) when given."""
    rights.require(by, "crm.change_activity", activity.organization_id)
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.status == Activity.Status.DONE:
        raise DomainError(_("Cette activité est déjà réalisée."), code="already_done")
    before = journal.snapshot(activity, ["status", "notes", "done_at"])
    activity.status = Activity.Status.DONE
    activity.done_at = timezone.now()
    if notes is not None and notes.strip():
        activity.notes = notes.strip()
    activity.save(update_fields=["status", "done_at", "notes"])
    changes = journal.diff(before, journal.snapshot(activity, ["status", "notes", "done_at"]))
    journal.record(actor=by, action="activity.status_changed", obj=activity, changes=changes)
    return activity


@transaction.atomic
def delete_activity(*, activity: Activity, by: User) -> None:
    rights.require(by, "crm.delete_activity", activity.organization_id)
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    journal.record(
        actor=by, action="activity.deleted", obj=activity, changes=journal.snapshot(activity, ["kind", "scheduled_at"])
    )
    activity.delete()
