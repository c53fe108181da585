"""REST endpoints of consumptions under /api/v1/consumptions/: one-off services to bill (drinks, prints, a
booking), billed by the next monthly run or on their own invoice.

    GET    /consumptions/                 list (company, center, billed, date_from, date_to)
    POST   /consumptions/                 record one                                           Idempotency-Key
    GET    /consumptions/{id}/            one
    DELETE /consumptions/{id}/            delete one not billed yet
    POST   /consumptions/invoice/         {"consumptions": [ids], "issue": bool} → their invoice  Idempotency-Key

Views hold no rules: shapes in, one service (comptoir.billing.services.invoices), shapes out.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing import filters, selectors
from comptoir.billing.api.invoices import VAT_RATE_HELP, InvoiceOut, invoices_with_lines
from comptoir.billing.models import Consumption
from comptoir.billing.services import invoices as services
from comptoir.catalog.models import Product
from comptoir.catalog.selectors.products import products_for
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.models import Center
from comptoir.crm.models import Company, Contact
from comptoir.crm.selectors.companies import companies_for, contacts_for
from comptoir.sales.models import Contract
from comptoir.sales.selectors.contracts import contracts_for


class ConsumptionApiFilter(filters.ConsumptionFilter):
    api_help = {
        "center": "Id of the center.",
        "company": "Id of the company.",
        "billed": "true: already on an invoice; false: still to bill.",
        "date_from": "On this day (YYYY-MM-DD) or later.",
        "date_to": "On this day (YYYY-MM-DD) or earlier.",
    }


class ConsumptionOut(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)
    is_billed = serializers.BooleanField(read_only=True)
    invoice_reference = serializers.SerializerMethodField(help_text="Reference of its invoice (empty for a draft).")

    class Meta:
        model = Consumption
        fields = [
            "id", "kind", "company", "company_name", "contact", "center", "contract", "product", "description", "date",
            "quantity", "unit", "unit_price", "vat_rate", "vat_exemption_reason", "accounting_code", "amount_excl_vat",
            "source_id", "is_billed", "invoice", "invoice_reference", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_invoice_reference(self, consumption: Consumption) -> str | None:
        invoice = consumption.invoice
        return invoice.reference if invoice is not None else None


class ConsumptionIn(InSerializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the company.")
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, help_text="Id of the center.")
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of the member who consumed it.")  # fmt: skip
    contract = ScopedPrimaryKeyField(model=Contract, selector=contracts_for, required=False, allow_null=True,
                                     help_text="Id of a contract of the company.")  # fmt: skip
    product = ScopedPrimaryKeyField(model=Product, selector=products_for, required=False, allow_null=True,
                                    help_text="Id of a catalog article (its name, price, rate by default).")  # fmt: skip
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    date = serializers.DateField(required=False, help_text="Default: today.")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False,
                                        help_text="Default 1.")  # fmt: skip
    unit = serializers.CharField(required=False, allow_blank=True, max_length=20)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0"), required=False,
                                          help_text="Unit price excl. VAT (default: the article's).")  # fmt: skip
    vat_rate = serializers.CharField(required=False, max_length=10, help_text=VAT_RATE_HELP)
    vat_exemption_reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    accounting_code = serializers.CharField(required=False, allow_blank=True, max_length=20)


class InvoiceConsumptionsIn(InSerializer):
    consumptions = ScopedPrimaryKeyField(model=Consumption, selector=selectors.consumptions_for, many=True,
                                         help_text="Ids of unbilled consumptions of one company in one center.")  # fmt: skip
    issue = serializers.BooleanField(required=False, default=False,
                                     help_text="true: issue the invoice at once; false: leave it a draft.")  # fmt: skip


@extend_schema_view(
    list=extend_schema(summary="Consumptions, newest first."),
    retrieve=extend_schema(summary="A consumption."),
)
class ConsumptionViewSet(ApiViewSet):
    """One-off services to bill (drinks, prints, equipment, bookings) on a company, a member or a contract, in one
    center. The next monthly run bills them, or `POST /consumptions/invoice/` puts a selection on its own invoice.
    Rights: `billing.view_consumption`, `billing.add_consumption`, `billing.delete_consumption` (unbilled ones),
    `billing.add_invoice` (invoice a selection; `billing.issue_invoice` to issue it)."""

    model = Consumption
    serializer_class = ConsumptionOut
    filterset_class = ConsumptionApiFilter
    cursor_ordering = ("-id",)
    required_rights = {
        "list": "billing.view_consumption",
        "retrieve": "billing.view_consumption",
        "create": "billing.add_consumption",
        "destroy": "billing.delete_consumption",
        "invoice": "billing.add_invoice",
    }

    def scoped_queryset(self) -> QuerySet[Consumption]:
        return selectors.consumptions_for(self.request.user, self.organization)

    @extend_schema(request=ConsumptionIn, responses={201: ConsumptionOut}, summary="Record a consumption.",
                   description="400 `unknown_vat_rate`, `wrong_contact`, `wrong_contract`, `negative`...")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ConsumptionIn)
        consumption = services.record_consumption(by=request.user, organization_id=self.organization.pk, data=data)
        return Response(self.out(self.scoped_queryset().get(pk=consumption.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Delete a consumption that is not billed yet.",
                   description="400 `already_billed`.")  # fmt: skip
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_consumption(consumption=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=InvoiceConsumptionsIn, responses={201: InvoiceOut},
        summary="Invoice a selection of unbilled consumptions (one company, one center).",
        description="400 `empty_selection`, `unknown_consumption`, `already_billed`, `mixed_selection`.",
    )  # fmt: skip
    @action(detail=False, methods=["post"])
    @idempotent
    def invoice(self, request: Request) -> Response:
        data = self.validated(InvoiceConsumptionsIn)
        invoice = services.invoice_consumptions(
            by=request.user, organization_id=self.organization.pk,
            consumption_ids=[consumption.pk for consumption in data["consumptions"]], issue=data["issue"],
        )  # fmt: skip
        fresh = invoices_with_lines(request.user, self.organization).get(pk=invoice.pk)
        return Response(InvoiceOut(fresh, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)


ROUTES = [("consumptions", ConsumptionViewSet, "consumption")]
