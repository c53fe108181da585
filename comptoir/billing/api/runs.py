"""REST endpoints of the monthly billing runs under /api/v1/billing-runs/.

    GET  /billing-runs/                          runs, newest period first
    GET  /billing-runs/{id}/                     one run: status, counts, totals, progress
    GET  /billing-runs/preview/?period=2027-01   what a run of that month would invoice (nothing is written)
    POST /billing-runs/                          {"period": "2027-01", "issue_date"?} → start it     Idempotency-Key

Views hold no rules: shapes in, one service (comptoir.billing.services.runs), shapes out.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing import selectors
from comptoir.billing.models import BillingRun
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer
from comptoir.core.api.views import ApiViewSet

PERIOD_PATTERN = re.compile(r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])")
PERIOD_HELP = "The month billed, YYYY-MM (e.g. 2027-01)."


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$", "example": "2027-01"})
class PeriodField(serializers.Field):
    """A month written YYYY-MM, read as the first day of that month."""

    default_error_messages = {"invalid": _("Indiquez un mois au format AAAA-MM (ex. 2027-01).")}

    def to_internal_value(self, data: Any) -> datetime.date:
        match = PERIOD_PATTERN.fullmatch(data) if isinstance(data, str) else None
        if match is None or not 2000 <= int(match["year"]) <= 2999:
            self.fail("invalid")
        return datetime.date(int(match["year"]), int(match["month"]), 1)

    def to_representation(self, value: datetime.date) -> str:
        return f"{value:%Y-%m}"


class BillingRunOut(serializers.ModelSerializer):
    period = PeriodField(read_only=True, help_text=PERIOD_HELP)
    progress_percent = serializers.IntegerField(read_only=True, help_text="0-100; 100 once completed.")

    class Meta:
        model = BillingRun
        fields = [
            "id", "period", "status", "issue_date", "contracts_total", "contracts_done", "invoices_created",
            "total_excl_vat", "total_incl_vat", "progress_percent", "error", "started_by", "started_at",
            "heartbeat_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class BillingRunIn(InSerializer):
    period = PeriodField(help_text=PERIOD_HELP)
    issue_date = serializers.DateField(required=False, help_text="Issue date of the invoices (default: today).")


class PeriodQuery(serializers.Serializer):
    period = PeriodField(help_text=PERIOD_HELP)


class PreviewLineOut(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    vat_rate = serializers.CharField()
    amount_excl_vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    source = serializers.CharField(help_text="contract_line, option, consumption, booking, adjustment...")


class PreviewInvoiceOut(serializers.Serializer):
    company = serializers.IntegerField(source="company_id")
    company_name = serializers.CharField()
    center = serializers.IntegerField(source="center_id")
    center_name = serializers.CharField()
    legal_entity = serializers.IntegerField(source="legal_entity_id")
    contracts = serializers.ListField(source="contract_ids", child=serializers.IntegerField())
    contract_references = serializers.ListField(child=serializers.CharField())
    lines = PreviewLineOut(many=True)
    total_excl_vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_incl_vat = serializers.DecimalField(max_digits=14, decimal_places=2)


class PreviewOut(serializers.Serializer):
    period = PeriodField(help_text=PERIOD_HELP)
    count = serializers.IntegerField(help_text="Number of invoices the run would issue.")
    total_excl_vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_incl_vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    invoices = PreviewInvoiceOut(many=True)
    credit_notes = PreviewInvoiceOut(many=True, help_text="Credit notes of the previous month's invoices, when a "
                                     "regularisation (a pause, an amendment) is larger than the month it is billed "
                                     "with.")  # fmt: skip
    skipped = serializers.ListField(child=serializers.CharField(), help_text="What the run would leave out, and why "
                                    "(a regularisation that no credit note can carry).")  # fmt: skip


@extend_schema_view(
    list=extend_schema(summary="Monthly billing runs, newest period first."),
    retrieve=extend_schema(summary="A billing run, with its progress."),
)
class BillingRunViewSet(ApiViewSet):
    """Monthly billing runs: one per month, invoicing every running contract once for that month (its recurring
    lines, prorated, and its unbilled consumptions). A run that stopped half-way resumes without duplicates.
    Rights: `billing.view_billingrun`, `billing.add_billingrun` (start; the invoices are issued)."""

    model = BillingRun
    serializer_class = BillingRunOut
    cursor_ordering = ("-period", "-id")
    required_rights = {
        "list": "billing.view_billingrun",
        "retrieve": "billing.view_billingrun",
        "preview": "billing.view_billingrun",
        "create": "billing.add_billingrun",
    }

    def scoped_queryset(self) -> QuerySet[BillingRun]:
        return selectors.runs_for(self.request.user, self.organization)

    @extend_schema(request=BillingRunIn, responses={201: BillingRunOut}, summary="Start the run of a month.",
                   description="400 `already_run` for a month already billed, `locked_period`; 409 "
                   "`run_in_progress`. The run goes on in the background: follow `progress_percent`.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        from comptoir.billing.services.runs import start_run

        data = self.validated(BillingRunIn)
        run = start_run(organization=self.organization, period=data["period"], by=request.user,
                        issue_date=data.get("issue_date"))  # fmt: skip
        return Response(self.out(self.scoped_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("period", OpenApiTypes.STR, required=True, description=PERIOD_HELP)],
        responses=PreviewOut, summary="What the run of a month would invoice, per client (nothing is written).",
    )  # fmt: skip
    @action(detail=False, methods=["get"])
    def preview(self, request: Request) -> Response:
        from comptoir.billing.services.runs import preview_run

        query = PeriodQuery(data={"period": request.query_params.get("period")})
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        result = preview_run(organization=self.organization, period=period, by=request.user)
        return Response(
            PreviewOut(
                {
                    "period": period,
                    "count": result.count,
                    "total_excl_vat": result.total_excl_vat,
                    "total_incl_vat": result.total_incl_vat,
                    "invoices": result.invoices,
                    "credit_notes": result.credit_notes,
                    "skipped": result.skipped,
                }
            ).data
        )


ROUTES = [("billing-runs", BillingRunViewSet, "billingrun")]
