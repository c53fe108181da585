"""Exports of invoices and credit notes (desk « Documents » → Export; the accountant's FEC; Chorus Pro batches).

`request_export` checks the right and the parameters, records the job and schedules `build_export` after commit
(the `build_export_task` task). `build_export` makes the file in chunks, updating `done` / `total` so that the
page shows the progress, stores it in `ExportJob.file` and ends « Prêt » or « Échec » with the reason.

Parameters: `date_from` / `date_to` (issue dates), and for the zip and Chorus Pro the list filters of
`comptoir.billing.filters.InvoiceFilter` (`q`, `company`, `status`, `kind`, `center`) plus an optional selection
`ids` (else `all` must be true: every document matching the filters). The FEC is the whole sales journal of one legal entity over the period (filters and selection do not
apply: a partial journal is not a FEC); its closing date is `date_to`.
"""

from __future__ import annotations

import datetime
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from types import SimpleNamespace
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.billing import selectors
from comptoir.billing.documents import exports as files
from comptoir.billing.documents import fec
from comptoir.billing.models import BillingProfile, CustomerBillingProfile, ExportJob, Invoice, InvoiceLine
from comptoir.billing.services.invoices import BillingError, billing_profile
from comptoir.core import journal, rights
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import LegalEntity, Organization, User
from comptoir.core.selectors import allowed_center_ids

logger = logging.getLogger(__name__)

CHUNK_SIZE = 200
MAX_SELECTED = 20000
FILTER_KEYS = ("q", "company", "status", "kind", "center")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
ERROR_MAX = 2000


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------
def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def _date(value: Any, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(str(value).strip(), pattern).date()
        except ValueError:
            continue
    raise ValidationFailed(_("Date invalide."), code="invalid_date", field=field)


def _ids(value: Any) -> list[int]:
    raw = value if isinstance(value, list | tuple) else ([value] if value not in (None, "") else [])
    ids = []
    for item in raw:
        text = str(item).strip()
        if not text.isdigit():
            raise ValidationFailed(_("Sélection invalide."), code="invalid_selection", field="ids")
        ids.append(int(text))
    if len(ids) > MAX_SELECTED:
        raise ValidationFailed(
            _("Sélectionnez au plus %(count)s documents, ou cochez toute la période.") % {"count": MAX_SELECTED},
            code="too_many", field="ids",
        )  # fmt: skip
    return sorted(set(ids))


def _filter_data(parameters: dict[str, Any]) -> dict[str, str]:
    data = {key: str(parameters[key]) for key in FILTER_KEYS if parameters.get(key) not in (None, "")}
    for key in ("date_from", "date_to"):
        if parameters.get(key):
            data[key] = str(parameters[key])
    return data


def _filtered(queryset: QuerySet[Invoice], data: dict[str, str], user: User, organization_id: int) -> QuerySet:
    """The invoice list's filters (the UI's InvoiceFilter when present; the issue dates otherwise)."""
    try:
        from comptoir.billing.filters import InvoiceFilter
    except ImportError:  # pragma: no cover - the filters module comes with the invoice list
        InvoiceFilter = None
    if InvoiceFilter is None:
        if data.get("date_from"):
            queryset = queryset.filter(issue_date__gte=data["date_from"])
        if data.get("date_to"):
            queryset = queryset.filter(issue_date__lte=data["date_to"])
        return queryset
    request = SimpleNamespace(user=user, organization=Organization.objects.get(pk=organization_id))
    filterset = InvoiceFilter(data, queryset=queryset, request=request)
    if not filterset.is_valid():
        fields = {name: [str(error) for error in errors] for name, errors in filterset.errors.items()}
        first = next(iter(fields.values()))[0] if fields else _("Filtre invalide.")
        raise ValidationFailed(first, code="invalid_filter", fields=fields)
    return filterset.qs


def _entity(organization_id: int, value: Any) -> LegalEntity:
    entities = LegalEntity.objects.filter(organization_id=organization_id)
    if value not in (None, ""):
        entity = entities.filter(pk=int(value) if str(value).isdigit() else 0).first()
        if entity is None:
            raise ValidationFailed(_("Entité émettrice inconnue."), code="unknown_entity", field="legal_entity")
        return entity
    found = list(entities.order_by("pk")[:2])
    if len(found) != 1:
        raise ValidationFailed(_("Choisissez l'entité émettrice du FEC."), code="required", field="legal_entity")
    return found[0]


def _issued(user: User, organization_id: int) -> QuerySet[Invoice]:
    return selectors.invoices_for(user, organization_id).exclude(status=Invoice.Status.DRAFT)


def export_queryset(job: ExportJob) -> QuerySet[Invoice]:
    """The documents of a job, in their export order, as its requester sees them (centers included)."""
    parameters = job.parameters or {}
    queryset = _issued(job.created_by, job.organization_id)
    if job.kind == ExportJob.Kind.FEC:
        queryset = queryset.filter(
            legal_entity_id=parameters["legal_entity"],
            issue_date__gte=parameters["date_from"],
            issue_date__lte=parameters["date_to"],
        )
        return queryset.order_by("issue_date", "chain_index", "pk")
    queryset = _filtered(queryset, _filter_data(parameters), job.created_by, job.organization_id)
    if parameters.get("ids"):
        queryset = queryset.filter(pk__in=parameters["ids"])
    if job.kind == ExportJob.Kind.CHORUS_PRO:
        queryset = queryset.filter(company__billing_profile__is_public_entity=True)
    return queryset.order_by("issue_date", "legal_entity_id", "chain_index", "pk")


@transaction.atomic
def request_export(
    *, organization: Organization | int, by: User, kind: str, parameters: dict[str, Any] | None = None
) -> ExportJob:
    """Record an export of the documents matching `parameters` and build it in the background."""
    organization_id = _org_id(organization)
    rights.require(by, "billing.view_invoice", organization_id)
    if kind not in ExportJob.Kind.values:
        raise ValidationFailed(_("Type d'export inconnu."), code="unknown_kind", field="kind")
    parameters = dict(parameters or {})
    date_from = _date(parameters.get("date_from"), "date_from")
    date_to = _date(parameters.get("date_to"), "date_to")
    if date_from and date_to and date_to < date_from:
        raise ValidationFailed(_("La fin de la période précède son début."), code="period_order", field="date_to")
    stored: dict[str, Any] = {
        "date_from": date_from.isoformat() if date_from else "",
        "date_to": date_to.isoformat() if date_to else "",
        "language": translation.get_language() or "fr",
    }
    if kind == ExportJob.Kind.FEC:
        if date_from is None or date_to is None:
            raise ValidationFailed(_("Le FEC demande une période : indiquez ses dates de début et de fin."),
                                   code="period_required", field="date_from")  # fmt: skip
        entity = _entity(organization_id, parameters.get("legal_entity"))
        if not entity.siren:
            raise ValidationFailed(
                _("L'entité « %(entity)s » n'a pas de SIREN : il nomme le FEC.") % {"entity": entity.name},
                code="no_siren", field="legal_entity",
            )  # fmt: skip
        stored["legal_entity"] = entity.pk
    else:
        stored.update({key: str(parameters[key]) for key in FILTER_KEYS if parameters.get(key) not in (None, "")})
        ids = _ids(parameters.get("ids"))
        if ids:
            stored["ids"] = ids
        elif not parameters.get("all"):
            raise ValidationFailed(
                _("Cochez des documents, ou « Toutes les factures de la période »."), code="empty_selection",
                field="ids",
            )  # fmt: skip
    job = ExportJob(organization_id=organization_id, kind=kind, parameters=stored, created_by=by)
    count = export_queryset(job).count()
    if count == 0:
        messages = {
            ExportJob.Kind.CHORUS_PRO: _("Aucune facture d'entité publique ne correspond à cette sélection."),
            ExportJob.Kind.FEC: _("Aucune facture ni aucun avoir émis sur cette période."),
        }
        raise BillingError(messages.get(kind, _("Aucun document ne correspond à cette sélection.")),
                           code="empty_export")  # fmt: skip
    job.total = count
    job.save()
    journal.record(actor=by, action="export.requested", obj=job, changes={"kind": kind, "documents": count})
    from comptoir.billing import tasks

    transaction.on_commit(partial(tasks.build_export_task.enqueue, job_id=job.pk))
    return job


def download_name(job: ExportJob) -> str:
    return os.path.basename(job.file.name) if job.file else ""


def exports_visible_to(user: User, organization: Organization | int) -> QuerySet[ExportJob]:
    """The export jobs a staff member may see and download: all of the organization's, or their own when they
    are limited to some centers (another's export may hold other centers' documents)."""
    queryset = selectors.exports_for(user, organization)
    if allowed_center_ids(user, organization) is not None:
        queryset = queryset.filter(created_by=user)
    return queryset


# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------
def _chunks(ids: Sequence[int], size: int = CHUNK_SIZE) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _load(ids: list[int], *, lines: bool = False) -> list[Invoice]:
    queryset = Invoice.objects.filter(pk__in=ids).select_related(
        "company", "center", "legal_entity", "credited_invoice"
    )
    if lines:
        queryset = queryset.prefetch_related("lines")
    by_id = {invoice.pk: invoice for invoice in queryset}
    return [by_id[pk] for pk in ids if pk in by_id]


def _progress(job: ExportJob, done: int) -> None:
    job.done = done
    ExportJob.objects.filter(pk=job.pk).update(done=done)


def _write_zip(job: ExportJob, ids: list[int], handle: IO[bytes]) -> tuple[str, str]:
    from comptoir.billing.documents.render import ensure_pdf

    done = 0
    with files.ZipExport(handle) as export:
        for chunk in _chunks(ids):
            for invoice in _load(chunk):
                export.add(invoice, ensure_pdf(invoice, reload=False))
            done += len(chunk)
            _progress(job, done)
    parameters = job.parameters
    period = "-".join(value for value in (parameters.get("date_from"), parameters.get("date_to")) if value)
    return f"factures-{period or timezone.localdate().isoformat()}.zip", ""


def _accounts(profile: BillingProfile) -> fec.Accounts:
    return fec.Accounts(
        journal_code=profile.sales_journal,
        customer=profile.customer_account,
        sales=profile.sales_account,
        deposit=profile.deposit_account,
        vat_prefix=profile.vat_account_prefix,
    )


def _write_fec(job: ExportJob, ids: list[int], handle: IO[bytes]) -> tuple[str, str]:
    entity = LegalEntity.objects.get(pk=job.parameters["legal_entity"])
    accounts = _accounts(billing_profile(entity))
    handle.write(fec.encode(fec.header()))
    number = done = 0
    for chunk in _chunks(ids):
        invoices = _load(chunk, lines=True)
        auxiliaries = dict(
            CustomerBillingProfile.objects.filter(company_id__in={invoice.company_id for invoice in invoices})
            .exclude(auxiliary_account="")
            .values_list("company_id", "auxiliary_account")
        )
        text = []
        for invoice in invoices:
            number += 1
            rows = fec.invoice_entry(
                number=number,
                accounts=accounts,
                reference=invoice.reference,
                is_credit_note=invoice.is_credit_note,
                issue_date=invoice.issue_date,  # type: ignore[arg-type]
                customer_name=(invoice.buyer or {}).get("name") or invoice.company.name,
                customer_auxiliary=fec.auxiliary_account(
                    auxiliaries.get(invoice.company_id, ""), invoice.company.reference
                ),
                total_incl_vat=invoice.total_incl_vat,
                lines=[
                    (
                        accounts.deposit if line.source == InvoiceLine.Source.DEPOSIT else line.accounting_code,
                        line.amount_excl_vat,
                    )
                    for line in invoice.lines.all()
                ],
                vat_groups=[(group["rate"], group["vat"]) for group in invoice.vat_breakdown or []],
            )
            if not fec.is_balanced(rows):
                raise BillingError(
                    _("L'écriture de %(reference)s n'est pas équilibrée : ses totaux ne sont pas ceux de ses lignes.")
                    % {"reference": invoice.reference},
                    code="unbalanced_entry",
                )  # fmt: skip
            text.extend(fec.render_line(row) for row in rows)
        handle.write(fec.encode("".join(text)))
        done += len(chunk)
        _progress(job, done)
    closing = datetime.date.fromisoformat(job.parameters["date_to"])
    return fec.filename(entity.siren, closing), ""


def _write_chorus(job: ExportJob, ids: list[int], handle: IO[bytes]) -> tuple[str, str]:
    from comptoir.billing.documents.render import ensure_pdf, stored_cii
    from comptoir.billing.services.delivery import chorus_problems

    done = 0
    with files.ChorusExport(handle) as export:
        for chunk in _chunks(ids):
            invoices = _load(chunk)
            profiles = {
                profile.company_id: profile
                for profile in CustomerBillingProfile.objects.filter(
                    company_id__in={invoice.company_id for invoice in invoices}
                )
            }
            for invoice in invoices:
                problems = chorus_problems(invoice, profiles.get(invoice.company_id))
                if problems:
                    export.skip(invoice, " ".join(problems))
                    continue
                pdf = ensure_pdf(invoice, reload=False)
                problems = files.chorus_xml_problems(
                    stored_cii(invoice),
                    siret=(invoice.buyer or {}).get("siret") or invoice.company.siret,
                    service_code=invoice.buyer_reference,
                    commitment_number=invoice.purchase_order,
                )
                if problems:
                    export.skip(invoice, " ".join(problems))
                else:
                    export.add(invoice, pdf)
            done += len(chunk)
            _progress(job, done)
    note = ""
    if export.skipped:
        note = _("%(count)s document(s) écarté(s) : voir le manifeste (manifeste.csv).") % {"count": export.skipped}
    return f"chorus-pro-{timezone.localdate():%Y%m%d}-{job.pk}.tar.gz", note


WRITERS: dict[str, Callable[[ExportJob, list[int], IO[bytes]], tuple[str, str]]] = {
    ExportJob.Kind.ZIP: _write_zip,
    ExportJob.Kind.FEC: _write_fec,
    ExportJob.Kind.CHORUS_PRO: _write_chorus,
}


def build_export(*, job_id: int) -> ExportJob:
    """Make the job's file. Safe to run twice: a finished job is left as it is; an interrupted one starts over."""
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
        return job
    job.status, job.done, job.error = ExportJob.Status.RUNNING, 0, ""
    job.save(update_fields=["status", "done", "error"])
    try:
        with translation.override((job.parameters or {}).get("language") or "fr"):
            ids = list(export_queryset(job).values_list("pk", flat=True))
            job.total = len(ids)
            job.save(update_fields=["total"])
            with tempfile.TemporaryFile() as handle:
                name, note = WRITERS[job.kind](job, ids, handle)
                handle.seek(0)
                if job.file:
                    job.file.delete(save=False)
                job.file.save(f"{job.pk}/{os.path.basename(name)}", File(handle, name=name), save=False)
        job.status, job.error, job.finished_at = ExportJob.Status.DONE, note, timezone.now()
        job.save(update_fields=["status", "error", "file", "finished_at", "done"])
    except Exception as exc:
        logger.exception("Export %s failed", job.pk)
        message = exc.message if isinstance(exc, BillingError | ValidationFailed) else str(exc) or type(exc).__name__
        job.status, job.error, job.finished_at = ExportJob.Status.FAILED, message[:ERROR_MAX], timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
    return job
