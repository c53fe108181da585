"""REST endpoints of exports under /api/v1/exports/: long exports made in the background with their progress.

    GET  /exports/              exports, newest first
    POST /exports/              {"kind": "zip" | "fec" | "chorus_pro", "date_from", "date_to", ...}  Idempotency-Key
    GET  /exports/{id}/         one export: status, total, done, progress_percent, download_url
    GET  /exports/{id}/file/    the file once done (404 `not_ready` before)

Views hold no rules: shapes in, one service (comptoir.billing.services.exports), shapes out.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing.models import ExportJob, Invoice
from comptoir.billing.services import exports as services
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import NotFound
from comptoir.core.models import Center, LegalEntity
from comptoir.crm.models import Company
from comptoir.crm.selectors.companies import companies_for

CONTENT_TYPES = {
    ExportJob.Kind.ZIP: "application/zip",
    ExportJob.Kind.FEC: "text/plain; charset=utf-8",
    ExportJob.Kind.CHORUS_PRO: "application/gzip",
}


class ExportOut(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True, help_text="0-100; 100 once done.")
    download_url = serializers.SerializerMethodField(help_text="Where to download the file once done, else null.")

    class Meta:
        model = ExportJob
        fields = [
            "id", "kind", "status", "parameters", "total", "done", "progress_percent", "download_url", "error",
            "created_by", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.DONE or not job.file:
            return None
        url = reverse("api:exportjob-file", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ExportIn(InSerializer):
    kind = serializers.ChoiceField(choices=ExportJob.Kind.choices,
                                   help_text="zip: the documents as CSV + PDFs; fec: the sales journal of one legal "
                                   "entity (FEC); chorus_pro: the public buyers' invoices for Chorus Pro.")  # fmt: skip
    date_from = serializers.DateField(required=False, help_text="Documents issued on this day or later "
                                      "(required for the FEC).")  # fmt: skip
    date_to = serializers.DateField(required=False, help_text="Documents issued on this day or earlier "
                                    "(required for the FEC; its closing date).")  # fmt: skip
    legal_entity = ScopedPrimaryKeyField(model=LegalEntity, selector=core_selectors.legal_entities_for, required=False,
                                         help_text="FEC: the legal entity (optional when there is only one).")  # fmt: skip
    all = serializers.BooleanField(required=False, default=False,
                                   help_text="zip, chorus_pro: every document matching the filters.")  # fmt: skip
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False,
                                max_length=20000, help_text="zip, chorus_pro: the selected documents (else all).")  # fmt: skip
    q = serializers.CharField(required=False, allow_blank=True, max_length=100,
                              help_text="zip, chorus_pro: as the invoice list's search.")  # fmt: skip
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, required=False,
                                    help_text="zip, chorus_pro: only this client's documents.")  # fmt: skip
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, required=False,
                                   help_text="zip, chorus_pro: only this center's documents.")  # fmt: skip
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False,
                                     help_text="zip, chorus_pro: issued or cancelled (fully credited).")  # fmt: skip
    document_kind = serializers.ChoiceField(choices=Invoice.Kind.choices, required=False,
                                            help_text="zip, chorus_pro: invoice or credit_note.")  # fmt: skip


class FileRenderer(renderers.BaseRenderer):
    media_type = "*/*"
    format = "file"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)  # an error envelope (the file itself is a FileResponse)


def _parameters(data: dict[str, Any]) -> dict[str, Any]:
    """The service's parameters: dates ISO, objects by id, the invoice kind under the list filter's name."""
    parameters: dict[str, Any] = {}
    for name, value in data.items():
        if name == "kind" or value is None:
            continue
        if name == "document_kind":
            parameters["kind"] = value
        elif hasattr(value, "isoformat"):
            parameters[name] = value.isoformat()
        elif hasattr(value, "pk"):
            parameters[name] = value.pk
        else:
            parameters[name] = value
    return parameters


@extend_schema_view(
    list=extend_schema(summary="Exports, newest first."),
    retrieve=extend_schema(summary="An export, with its progress and, once done, its download URL."),
)
class ExportViewSet(ApiViewSet):
    """Exports made in the background: the invoices of a period as CSV + PDFs (zip), the accounting entries (FEC),
    the public buyers' invoices for Chorus Pro. Follow `progress_percent`, then download `download_url`.
    Needs `billing.view_invoice`."""

    model = ExportJob
    serializer_class = ExportOut
    cursor_ordering = ("-id",)
    required_rights = {
        "list": "billing.view_invoice",
        "retrieve": "billing.view_invoice",
        "create": "billing.view_invoice",
        "file": "billing.view_invoice",
    }

    def scoped_queryset(self) -> QuerySet[ExportJob]:
        return services.exports_visible_to(self.request.user, self.organization)

    @extend_schema(request=ExportIn, responses={201: ExportOut}, summary="Ask for an export.",
                   description="400 `period_order`, `period_required`, `empty_selection` (give `ids` or "
                   "`all`), `empty_export` (no document matches), `no_siren`.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ExportIn)
        job = services.request_export(organization=self.organization, by=request.user, kind=data["kind"],
                             parameters=_parameters(data))  # fmt: skip
        return Response(self.out(self.scoped_queryset().get(pk=job.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
        summary="The export's file (zip, FEC text file or tar.gz); 404 `not_ready` until it is done.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, FileRenderer])
    def file(self, request: Request, pk: int) -> FileResponse:
        job = self.get_object()
        if job.status != ExportJob.Status.DONE or not job.file:
            raise NotFound(_("Cet export n'est pas encore prêt."), code="not_ready")
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=services.download_name(job),
                            content_type=CONTENT_TYPES.get(job.kind, "application/octet-stream"))  # fmt: skip


ROUTES = [("exports", ExportViewSet, "exportjob")]
