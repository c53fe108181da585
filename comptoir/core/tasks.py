"""Background work of the core app (Django's task interface, `django.tasks`).

Each task takes ids (JSON-friendly arguments), loads its rows, calls a service and is safe to run
twice: a job retried by the queue, or enqueued again by a user, does no harm. With the default
ImmediateBackend a task runs at once in the enqueuing process; with TASK_BACKEND=rq it runs in
`comptoir worker`.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.tasks import task

from comptoir.core import journal, tenancy
from comptoir.core.models import Organization, User

logger = logging.getLogger(__name__)


@task
def send_activation_email_task(*, user_id: int, organization_id: int) -> bool:
    """E-mail the activation link of a new collaborator. Returns False when there is nothing to send.

    Nothing is sent when the account was activated meanwhile, was removed, or is no longer an active
    member of the organization's staff, so a replayed job never sends a link that makes no sense.
    Running it twice before activation sends the same valid link twice, which is harmless.
    """
    from comptoir.core import services  # services enqueue this task: import at run time, not at load time

    user = User.objects.filter(pk=user_id, is_active=True).first()
    organization = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if user is None or organization is None:
        logger.info("activation e-mail skipped: user %s or organization %s is gone", user_id, organization_id)
        return False
    if user.has_usable_password():
        logger.info("activation e-mail skipped: user %s already chose a password", user_id)
        return False
    if not tenancy.can_enter(user, organization):
        logger.info("activation e-mail skipped: user %s may not enter %s", user_id, organization_id)
        return False
    services.send_activation_email(user=user, organization=organization)
    return True


@task
def record_task_heartbeat(*, organization_id: int, note: str = "") -> int:
    """Write a `task.heartbeat` entry in the organization's journal; returns the entry id.

    Proves end to end that a worker picks jobs up and can write to the database (used by the tests
    and by operators checking a deployment: `comptoir shell -c` + `.enqueue(...)`, then the journal).
    """
    organization = Organization.objects.get(pk=organization_id)
    with transaction.atomic():
        entry = journal.record(actor=None, action="task.heartbeat", obj=organization, message=note)
    return entry.pk
