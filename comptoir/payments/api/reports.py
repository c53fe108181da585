"""REST endpoint of the receivables aging under /api/v1/receivables/.

    GET /receivables/?on=YYYY-MM-DD&group=company|center   the open invoices' amounts due per bucket of days past due

One aggregate query (comptoir.payments.services.reports), whatever the number of invoices.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing.models import Invoice
from comptoir.core.models import Organization
from comptoir.payments.services import reports as services

AMOUNT = {"max_digits": 16, "decimal_places": 2}


class BucketsOut(serializers.Serializer):
    current = serializers.DecimalField(**AMOUNT, help_text="Not yet due on `on`.")
    days_1_30 = serializers.DecimalField(**AMOUNT, help_text="1 to 30 days past due.")
    days_31_60 = serializers.DecimalField(**AMOUNT, help_text="31 to 60 days past due.")
    days_61_90 = serializers.DecimalField(**AMOUNT, help_text="61 to 90 days past due.")
    days_over_90 = serializers.DecimalField(**AMOUNT, help_text="More than 90 days past due.")


class AgingRowOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The company's id (group=company) or the center's (group=center).")
    name = serializers.CharField()
    reference = serializers.CharField(help_text="The company's reference (CL-000123) or the center's code.")
    count = serializers.IntegerField(help_text="Open invoices.")
    buckets = BucketsOut()
    total = serializers.DecimalField(**AMOUNT)
    oldest_due_date = serializers.DateField(allow_null=True)


@extend_schema_serializer(many=False)
class AgingOut(serializers.Serializer):
    on = serializers.DateField()
    group = serializers.ChoiceField(choices=list(services.GROUPS))
    count = serializers.IntegerField(help_text="Open invoices in all.")
    totals = BucketsOut(help_text="Per bucket: the sums of the rows.")
    total = serializers.DecimalField(**AMOUNT, help_text="The sum of the open invoices' amounts due.")
    rows = AgingRowOut(many=True, help_text="Largest total first.")


class AgingQuery(serializers.Serializer):
    on = serializers.DateField(required=False, help_text="Default: today.")
    group = serializers.ChoiceField(choices=list(services.GROUPS), required=False, default="company")

    def validate_on(self, value: datetime.date) -> datetime.date:
        if not datetime.date(2000, 1, 1) <= value <= datetime.date(2999, 12, 31):
            raise serializers.ValidationError("2000-01-01 .. 2999-12-31")
        return value


class ReceivablesViewSet(viewsets.GenericViewSet):
    """The receivables aging: the open invoices (issued, with an amount due after credit notes and payments),
    their amounts due summed per company or per center in five buckets of days past due on a date. Right
    `payments.view_payment`; staff limited to some centers see their centers' invoices."""

    # A report, not a collection of objects: no detail route, no pagination, no filter backend.
    model = Invoice
    queryset = Invoice.objects.none()
    serializer_class = AgingOut
    pagination_class = None
    filter_backends: list[type] = []
    required_rights = {"list": services.REPORT_RIGHT}

    @property
    def organization(self) -> Organization:
        return self.request._request.organization  # type: ignore[attr-defined]

    @extend_schema(
        parameters=[
            OpenApiParameter("on", OpenApiTypes.DATE, description="The date the days past due are counted on "
                             "(default today); invoices issued after it are left out."),
            OpenApiParameter("group", OpenApiTypes.STR, enum=list(services.GROUPS),
                             description="One row per company (default) or per center."),
        ],
        responses=AgingOut, summary="The receivables aging on a date, per company or per center.",
    )  # fmt: skip
    def list(self, request: Request) -> Response:
        query = AgingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on") or timezone.localdate()
        report = services.receivables_aging(user=request.user, organization=self.organization, on=on,  # type: ignore[arg-type]
                                            group=query.validated_data["group"])  # fmt: skip
        rows = [
            {"id": row.id, "name": row.name, "reference": row.reference, "count": row.count, "buckets": row.buckets,
             "total": row.total, "oldest_due_date": row.oldest_due_date}
            for row in report.rows
        ]  # fmt: skip
        return Response(AgingOut({"on": on, "group": report.group, "count": report.count, "totals": report.totals,
                                  "total": report.total, "rows": rows}).data)  # fmt: skip


ROUTES = [("receivables", ReceivablesViewSet, "receivables")]
