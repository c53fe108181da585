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


@task
def deliver_issued(*, invoice_ids: list[int]) -> int:
    """Deliver issued documents by their company's methods (e-mail, Chorus Pro, direct debit); a method already
    done for a document is not done again."""
    from comptoir.billing.services.delivery import deliver_invoices

    return deliver_invoices(invoice_ids=invoice_ids)


@task
def build_export_task(*, job_id: int) -> str:
    """Build an export's file (zip of CSV + PDFs, FEC, Chorus Pro batch) in chunks, with its progress."""
    from comptoir.billing.services.exports import build_export

    return build_export(job_id=job_id).status


@task
def run_billing_task(*, run_id: int) -> int:
    """The monthly run (comptoir.billing.services.runs.execute_run): resumes where it stopped; a completed run
    is left as it is. Returns the number of invoices the run has created."""
    from comptoir.billing.models import BillingRun
    from comptoir.billing.services.runs import execute_run

    run = BillingRun.objects.filter(pk=run_id).first()
    if run is None:
        return 0
    return execute_run(run=run).invoices_created
