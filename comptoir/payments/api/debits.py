"""REST endpoints of SEPA direct-debit batches under /api/v1/debit-batches/.

    GET  /debit-batches/                 list (legal_entity, status), newest collection date first
    POST /debit-batches/                 prepare a batch {legal_entity, collection_date}            Idempotency-Key
    GET  /debit-batches/{id}/            one batch with its debits
    GET  /debit-batches/{id}/file/       its pain.008.001.02 file (application/xml)
    POST /debit-batches/{id}/send/       the file went to the bank: debits in collection             Idempotency-Key
    POST /debit-batches/{id}/return/     the bank's return (multipart `file`: camt.054 or CSV)       Idempotency-Key

Views hold no rules: shapes in, one service (comptoir.payments.services.debits), shapes out. The CSV return's
columns are documented in comptoir.payments.sepa (end_to_end_id;status;reason_code;date).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import parsers, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import NotFound, ValidationFailed
from comptoir.core.models import LegalEntity
from comptoir.core.selectors import legal_entities_for
from comptoir.payments import sepa
from comptoir.payments.models import DebitBatch, DebitItem
from comptoir.payments.services import debits as services

MAX_ID = 2**63 - 1  # a larger id would overflow the database's integer


class DebitBatchFilter(django_filters.FilterSet):
    legal_entity = django_filters.NumberFilter(
        field_name="legal_entity_id", min_value=1, max_value=MAX_ID, help_text="Id of the creditor."
    )
    status = django_filters.ChoiceFilter(choices=DebitBatch.Status.choices,
                                         help_text="draft (prepared), sent (to the bank) or closed (return imported).")  # fmt: skip

    class Meta:
        model = DebitBatch
        fields = ["legal_entity", "status"]


class DebitItemOut(serializers.ModelSerializer):
    invoice_reference = serializers.CharField(source="invoice.reference", read_only=True)
    company = serializers.IntegerField(source="invoice.company_id", read_only=True)
    company_name = serializers.CharField(source="invoice.company.name", read_only=True)
    mandate_reference = serializers.CharField(source="mandate.reference", read_only=True)
    status = serializers.CharField(read_only=True, help_text="pending (not sent yet), in_collection or rejected.")
    reject_reason_label = serializers.SerializerMethodField(help_text="French label of the reason code.")

    class Meta:
        model = DebitItem
        fields = [
            "id", "invoice", "invoice_reference", "company", "company_name", "mandate", "mandate_reference",
            "amount", "sequence_type", "end_to_end_id", "status", "payment", "reject_reason", "reject_reason_label",
            "rejected_on",
        ]  # fmt: skip
        read_only_fields = fields

    def get_reject_reason_label(self, item: DebitItem) -> str:
        return sepa.reason_label(item.reject_reason) if item.reject_reason else ""


class DebitBatchOut(serializers.ModelSerializer):
    legal_entity_name = serializers.CharField(source="legal_entity.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text="draft (prepared), sent (to the bank) or closed (the "
                                   "bank's return imported).")  # fmt: skip
    items = DebitItemOut(many=True, read_only=True)

    class Meta:
        model = DebitBatch
        fields = [
            "id", "reference", "legal_entity", "legal_entity_name", "collection_date", "status", "count", "total",
            "file_sha256", "created_at", "notified_at", "sent_at", "items",
        ]  # fmt: skip
        read_only_fields = fields


class DebitBatchIn(InSerializer):
    legal_entity = ScopedPrimaryKeyField(model=LegalEntity, selector=legal_entities_for,
                                         help_text="Id of the creditor (its IBAN, BIC and SEPA creditor id are used).")  # fmt: skip
    collection_date = serializers.DateField(help_text="Day of the debit: at least the pre-notification delay "
                                            "(5 days by default) after today.")  # fmt: skip


class ReturnOut(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejections = serializers.ListField(child=serializers.DictField(), help_text="invoice, company, reason_code, "
                                       "reason, amount of each rejected debit.")  # fmt: skip
    batch = DebitBatchOut()


class ReturnUploadParser(parsers.MultiPartParser):
    """multipart/form-data with a `file` part (the bank's return)."""


class XmlRenderer(renderers.BaseRenderer):
    media_type = "application/xml"
    format = "xml"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)  # an error envelope (the file itself is an HttpResponse)


@extend_schema_view(
    list=extend_schema(summary="Direct-debit batches, newest collection date first."),
    retrieve=extend_schema(summary="A direct-debit batch, with its debits."),
)
class DebitBatchViewSet(ApiViewSet):
    """SEPA direct-debit batches of one creditor (legal entity): the issued invoices with an amount due of the
    companies paying by direct debit under an active mandate, one debit each (FRST under a mandate never collected,
    RCUR after), the pain.008.001.02 file, then the bank's return. Rights: `payments.view_debitbatch`,
    `payments.add_debitbatch` (prepare), `payments.change_debitbatch` (send, return)."""

    model = DebitBatch
    serializer_class = DebitBatchOut
    filterset_class = DebitBatchFilter
    cursor_ordering = ("-collection_date", "-id")
    required_rights = {
        "list": "payments.view_debitbatch",
        "retrieve": "payments.view_debitbatch",
        "file": "payments.view_debitbatch",
        "create": "payments.add_debitbatch",
        "send": "payments.change_debitbatch",
        "bank_return": "payments.change_debitbatch",
    }

    def scoped_queryset(self) -> QuerySet[DebitBatch]:
        items = Prefetch(
            "items", queryset=DebitItem.objects.select_related("invoice__company", "mandate").order_by("id")
        )
        return services.batches_for(self.request.user, self.organization).prefetch_related(items)  # type: ignore[arg-type]

    def _fresh(self, batch: DebitBatch) -> Any:
        return self.out(self.scoped_queryset().get(pk=batch.pk)).data

    @extend_schema(request=DebitBatchIn, responses={201: DebitBatchOut}, summary="Prepare a batch (and its pain.008).",
                   description="The debtors are told by e-mail. 400 `prenotification_delay` (collection date too "
                   "early), `nothing_to_collect`, `creditor_incomplete` (no IBAN, BIC or SEPA creditor id).")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(DebitBatchIn)
        batch = services.prepare_batch(organization=self.organization, by=request.user,  # type: ignore[arg-type]
                                       legal_entity=data["legal_entity"], collection_date=data["collection_date"])  # fmt: skip
        return Response(self._fresh(batch), status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="pain.008.001.02")},
        summary="The batch's pain.008.001.02 file, to send to the bank.",
    )  # fmt: skip
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, XmlRenderer])
    def file(self, request: Request, pk: int) -> HttpResponse:
        batch = self.get_object()
        if not batch.file:
            raise NotFound(_("Fichier introuvable."))
        with batch.file.open("rb") as handle:
            content = handle.read()
        response = HttpResponse(content, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{batch.reference}.xml"'
        return response

    @extend_schema(request=None, responses=DebitBatchOut, summary="Mark the batch as sent to the bank.",
                   description="Each debit becomes a payment in collection of its invoice (the invoice shows paid). "
                   "400 `already_sent`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def send(self, request: Request, pk: int) -> Response:
        batch = services.mark_sent(batch=self.get_object(), by=request.user)  # type: ignore[arg-type]
        return Response(self._fresh(batch))

    @extend_schema(
        request={"multipart/form-data": inline_serializer("DebitReturnIn", {
            "file": serializers.FileField(help_text="camt.054 XML, or CSV end_to_end_id;status;reason_code;date.")})},
        responses=ReturnOut, summary="Import the bank's return of a sent batch.",
        description="A rejected debit reverses its payment with the reason (the invoice reopens); an accepted one "
        "confirms its collection. 400 at `file`: `unreadable_return`, `unknown_debits`; 400 `not_sent`.",
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="return", url_name="return", parser_classes=[ReturnUploadParser])
    @idempotent
    def bank_return(self, request: Request, pk: int) -> Response:
        batch = self.get_object()
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is None:
            raise ValidationFailed(_("Joignez le fichier de retour de la banque (champ « file »)."), code="required",
                                   field="file")  # fmt: skip
        if upload.size > sepa.MAX_RETURN_BYTES:
            raise ValidationFailed(_("Fichier trop volumineux (10 Mo au plus)."), code="too_large", field="file")
        result = services.import_return(batch=batch, by=request.user, data=upload.read())  # type: ignore[arg-type]
        return Response({"accepted": result.accepted, "rejected": result.rejected, "unchanged": result.unchanged,
                         "rejections": [{**line, "amount": str(line["amount"])} for line in result.rejections],
                         "batch": self._fresh(batch)})  # fmt: skip


ROUTES = [("debit-batches", DebitBatchViewSet, "debitbatch")]
