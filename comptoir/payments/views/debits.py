"""Finance → Prélèvements (clients-prospects « prélèvements SEPA », « Export GoCardless »): the direct-debit
batches, « Préparer un lot » (creditor and collection date: the pain.008 is made and the debtors are told), a
batch's page (its debits and totals, « Télécharger le fichier pain.008 », « Marquer comme envoyé », « Importer le
retour de la banque »), and the GoCardless export of the active mandates.

Every object view fetches its batch through a tenant-scoped query before it looks at the method, so another
organization's batch answers 404 on GET and POST alike. The services decide (comptoir.payments.services.debits).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error, date_input
from comptoir.core.lists import Column, ListPage
from comptoir.core.models import LegalEntity
from comptoir.core.navigation import Entry
from comptoir.core.views.base import (
    ACTION_ICONS,
    ACTION_VERBS,
    can,
    post_only,
    register_object_url,
    right_required,
    timeline,
)
from comptoir.payments import sepa
from comptoir.payments.models import DebitBatch, DebitItem
from comptoir.payments.services import debits as services

register_object_url("payments.debitbatch", "payments:debitbatch_detail")
for _suffix, _verb, _icon in [
    ("prepared", gettext_lazy("Lot préparé"), "file-earmark-code"),
    ("sent", gettext_lazy("Envoyé à la banque"), "send"),
    ("return_imported", gettext_lazy("Retour de la banque importé"), "inbox"),
    ("debit_prepared", gettext_lazy("Prélèvement préparé"), "bank"),
    ("debit_rejected", gettext_lazy("Prélèvement rejeté"), "x-octagon"),
    ("debit_notified", gettext_lazy("Prélèvement annoncé"), "envelope"),
    ("debit_notice_failed", gettext_lazy("Annonce du prélèvement non envoyée"), "envelope-exclamation"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [Entry("finance", gettext_lazy("Prélèvements"), "payments:debitbatch_list", "payments.view_debitbatch", 14,
              "bank")]  # fmt: skip

STATUS_BADGES = {
    DebitBatch.Status.DRAFT: "warning",
    DebitBatch.Status.SENT: "info",
    DebitBatch.Status.CLOSED: "success",
}
ITEM_BADGES = {
    DebitItem.Status.PENDING: "warning",
    DebitItem.Status.IN_COLLECTION: "info",
    DebitItem.Status.REJECTED: "danger",
}


class PrepareForm(forms.Form):
    legal_entity = forms.ModelChoiceField(label=gettext_lazy("Créancier"), queryset=LegalEntity.objects.none())
    collection_date = forms.DateField(label=gettext_lazy("Date de prélèvement"), widget=date_input())

    def __init__(self, *args: Any, organization: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entities = LegalEntity.objects.filter(organization=organization, is_active=True).order_by("name")
        self.fields["legal_entity"].queryset = entities
        if entities.count() == 1:
            self.fields["legal_entity"].initial = entities.first()


class ReturnForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Fichier de retour de la banque"),
        help_text=gettext_lazy("camt.054 (XML) ou CSV « end_to_end_id;status;reason_code;date »."),
    )


def batch_rows(request: HttpRequest) -> QuerySet[DebitBatch]:
    return services.batches_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _batch(request: HttpRequest, pk: int) -> DebitBatch:
    return get_object_or_404(batch_rows(request), pk=pk)


def _status_cell(batch: DebitBatch) -> SafeString:
    return format_html('<span class="badge rounded-pill text-bg-{}">{}</span>',
                       STATUS_BADGES.get(batch.status, "secondary"), batch.get_status_display())  # fmt: skip


def _reference_cell(batch: DebitBatch) -> SafeString:
    return format_html('<a href="{}" translate="no">{}</a>', reverse("payments:debitbatch_detail", args=[batch.pk]),
                       batch.reference)  # fmt: skip


def batch_columns() -> list[Column]:
    return [
        Column("reference", gettext_lazy("Référence"), accessor=lambda b: b, sort="reference", render=_reference_cell,
               css_class="font-monospace text-nowrap", export=lambda b: b.reference),
        Column("legal_entity", gettext_lazy("Créancier"), accessor="legal_entity.name", sort="legal_entity__name"),
        Column("collection_date", gettext_lazy("Date de prélèvement"), kind="date", sort="collection_date"),
        Column("count", gettext_lazy("Prélèvements"), sort="count", css_class="text-end"),
        Column("total", gettext_lazy("Total"), kind="money", sort="total", css_class="text-end text-nowrap",
               export=lambda b: f"{b.total:.2f}".replace(".", ",")),
        Column("status", gettext_lazy("Statut"), accessor=lambda b: b, sort="status", render=_status_cell,
               export=lambda b: b.get_status_display()),
    ]  # fmt: skip


@right_required("payments.view_debitbatch")
def debitbatch_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=batch_rows(request),
        columns=batch_columns(),
        default_sort="-collection_date",
        title=gettext_lazy("Lots de prélèvements SEPA"),
        export_name="prelevements",
        create_url=reverse("payments:debitbatch_prepare") if can(request, "payments.add_debitbatch") else None,
        create_label=gettext_lazy("Préparer un lot"),
        empty_message=gettext_lazy("Aucun lot de prélèvements pour le moment."),
        row_url=lambda batch: reverse("payments:debitbatch_detail", args=[batch.pk]),
        intro_template="payments/debits/_list_intro.html",
    ).response()


@right_required("payments.view_debitbatch", "payments.add_debitbatch")
def debitbatch_prepare(request: HttpRequest) -> HttpResponse:
    """« Préparer un lot »: creditor and date (the earliest date the pre-notification allows by default)."""
    organization = request.organization  # type: ignore[attr-defined]
    earliest = services.earliest_collection_date(organization)
    form = PrepareForm(request.POST or None, organization=organization, initial={"collection_date": earliest})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                batch = services.prepare_batch(organization=organization, by=request.user,  # type: ignore[arg-type]
                                               legal_entity=form.cleaned_data["legal_entity"],
                                               collection_date=form.cleaned_data["collection_date"])  # fmt: skip
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Le lot %(reference)s est prêt : %(count)s prélèvement(s), débiteurs "
                                            "prévenus par e-mail.") % {"reference": batch.reference, "count": batch.count})  # fmt: skip
                return redirect("payments:debitbatch_detail", batch.pk)
        status = 400
    return render(
        request,
        "payments/debits/prepare.html",
        {
            "form": form,
            "earliest": earliest,
            "prenotification_days": services.profile_of(organization).prenotification_days,
            "title": _("Préparer un lot de prélèvements"),
            "breadcrumb": [(_("Prélèvements"), reverse("payments:debitbatch_list"))],
        },
        status=status,
    )


def _detail(request: HttpRequest, batch: DebitBatch, *, return_form: ReturnForm | None = None,
            result: services.ReturnResult | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    items = list(services.batch_items(batch))
    can_change = can(request, "payments.change_debitbatch")
    rejected = [item for item in items if item.status == DebitItem.Status.REJECTED]
    return render(
        request,
        "payments/debits/detail.html",
        {
            "batch": batch,
            "object": batch,
            "items": items,
            "badge": STATUS_BADGES.get(batch.status, "secondary"),
            "item_badges": ITEM_BADGES,
            "reasons": {item.pk: sepa.reason_label(item.reject_reason) for item in rejected},
            "frst": sum(1 for item in items if item.sequence_type == "FRST"),
            "rcur": sum(1 for item in items if item.sequence_type == "RCUR"),
            "rejected_total": sum((item.amount for item in rejected), services.ZERO),
            "can_send": can_change and batch.status == DebitBatch.Status.DRAFT,
            "can_import": can_change and batch.status != DebitBatch.Status.DRAFT,
            "return_form": return_form or (ReturnForm() if can_change else None),
            "result": result,
            "timeline": timeline(batch),
            "title": _("Lot %(reference)s") % {"reference": batch.reference},
            "breadcrumb": [(_("Prélèvements"), reverse("payments:debitbatch_list"))],
        },
        status=status,
    )


@right_required("payments.view_debitbatch")
def debitbatch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _batch(request, pk))


@right_required("payments.view_debitbatch")
def debitbatch_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The pain.008.001.02 file, as stored (its SHA-256 is on the batch's page)."""
    batch = _batch(request, pk)
    if not batch.file:
        raise Http404(_("Fichier introuvable."))
    with batch.file.open("rb") as handle:
        content = handle.read()
    response = HttpResponse(content, content_type="application/xml")
    response["Content-Disposition"] = content_disposition_header(True, f"{batch.reference}.xml")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@right_required("payments.view_debitbatch", "payments.change_debitbatch")
def debitbatch_send(request: HttpRequest, pk: int) -> HttpResponse:
    """« Marquer comme envoyé » (POST): each debit is in collection, its invoice shows paid."""
    batch = _batch(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.mark_sent(batch=batch, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le lot %(reference)s est marqué comme envoyé à la banque.")
                         % {"reference": batch.reference})  # fmt: skip
    return redirect("payments:debitbatch_detail", batch.pk)


@right_required("payments.view_debitbatch", "payments.change_debitbatch")
def debitbatch_return(request: HttpRequest, pk: int) -> HttpResponse:
    """« Importer le retour de la banque » (POST, a camt.054 or CSV file)."""
    batch = _batch(request, pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = ReturnForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > sepa.MAX_RETURN_BYTES:
            form.add_error("file", _("Fichier trop volumineux (10 Mo au plus)."))
        else:
            try:
                result = services.import_return(batch=batch, by=request.user, data=upload.read())  # type: ignore[arg-type]
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Retour importé : %(accepted)s accepté(s), %(rejected)s rejeté(s).")
                                 % {"accepted": result.accepted, "rejected": result.rejected})  # fmt: skip
                batch.refresh_from_db()
                return _detail(request, batch, result=result)
    return _detail(request, batch, return_form=form, status=400)


@right_required("payments.view_mandate")
def gocardless_export(request: HttpRequest) -> HttpResponse:
    """The active mandates and their customers, as a CSV for GoCardless's import (comptoir.payments.sepa)."""
    content = services.gocardless_export(organization=request.organization, by=request.user)  # type: ignore[arg-type, attr-defined]
    response = HttpResponse(content.encode("utf-8"), content_type="text/csv; charset=utf-8")
    filename = f"gocardless-mandats-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


urlpatterns = [
    path("debits/", debitbatch_list, name="debitbatch_list"),
    path("debits/prepare/", debitbatch_prepare, name="debitbatch_prepare"),
    path("debits/gocardless.csv", gocardless_export, name="debit_gocardless_export"),
    path("debits/<int:pk>/", debitbatch_detail, name="debitbatch_detail"),
    path("debits/<int:pk>/pain008.xml", debitbatch_file, name="debitbatch_file"),
    path("debits/<int:pk>/send/", debitbatch_send, name="debitbatch_send"),
    path("debits/<int:pk>/return/", debitbatch_return, name="debitbatch_return"),
]
