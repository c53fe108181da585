"""Background work of billing (Django's task interface): documents of issued invoices, runs, exports.

Each task takes ids, loads its rows, calls a service and is safe to run twice (a document already rendered
is not rendered again; a run resumes where it stopped; an export that is done is not redone).
"""

from __future__ import annotations

import logging

from django.tasks import task

logger = logging.getLogger(__name__)


@task
def render_documents_task(*, invoice_ids: list[int]) -> int:
    """Render and store the Factur-X PDF of issued documents that have none yet."""
    from comptoir.billing.documents.render import ensure_pdf
    from comptoir.billing.models import Invoice

    rendered = 0
    for invoice in Invoice.objects.filter(pk__in=invoice_ids, pdf="").exclude(status=Invoice.Status.DRAFT):
        ensure_pdf(invoice)
        rendered += 1
    return rendered


def enqueue_documents(invoice_ids: list[int]) -> None:
    if invoice_ids:
        render_documents_task.enqueue(invoice_ids=list(invoice_ids))
