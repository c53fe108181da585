"""REST endpoints of invoices and credit notes under /api/v1/invoices/.

    GET    /invoices/                          list (status, kind, center, company, billing_run, dates, q)
    POST   /invoices/                          create a draft                                  Idempotency-Key
    GET    /invoices/{id}/                     one document, with its lines, VAT breakdown and hash chain
    PATCH  /invoices/{id}/                     change a draft's details
    DELETE /invoices/{id}/                     delete a draft
    POST   /invoices/{id}/lines/               add a line to a draft                           Idempotency-Key
    PATCH  /invoices/{id}/lines/{line_id}/     change a line of a draft
    DELETE /invoices/{id}/lines/{line_id}/     remove it
    POST   /invoices/{id}/issue/               draft → issued (number, freeze, hash)           Idempotency-Key
    POST   /invoices/{id}/credit/              issue a credit note (all of it, or lines)       Idempotency-Key
    GET    /invoices/{id}/pdf/                 the Factur-X PDF (application/pdf)
    GET    /invoices/{id}/facturx.xml/         its CII XML (application/xml)
    GET    /invoices/{id}/ubl.xml/             the same document as UBL 2.1 (application/xml)
    GET    /invoices/{id}/deliveries/          where and when it was sent

Views hold no rules: shapes in, one service (comptoir.billing.services.invoices), shapes out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing import filters, selectors
from comptoir.billing.models import Invoice, InvoiceDelivery, InvoiceLine
from comptoir.billing.services import invoices as services
from comptoir.catalog.models import Product
from comptoir.catalog.selectors.products import products_for
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import NotFound
from comptoir.core.models import Center, Organization, User
from comptoir.crm.models import Company, Contact
from comptoir.crm.selectors.companies import companies_for, contacts_for
from comptoir.sales.models import Contract, PaymentMethod
from comptoir.sales.selectors.contracts import contracts_for

MAX_LINES = 200
VAT_RATE_HELP = 'VAT rate in percent: "20.00", "10.00", "5.50", "2.10" or "0.00" ("20" is read as "20.00").'


# --------------------------------------------------------------------------------------------------
# Filters (the back office's FilterSet, with English descriptions for the API documentation)
# --------------------------------------------------------------------------------------------------
class InvoiceApiFilter(filters.InvoiceFilter):
    api_help = {
        "status": "draft, issued or cancelled (an invoice fully credited).",
        "kind": "invoice or credit_note.",
        "center": "Id of the center.",
        "company": "Id of the client company.",
        "billing_run": "Id of the monthly billing run that made the documents.",
        "date_from": "Issued on this day (YYYY-MM-DD) or later.",
        "date_to": "Issued on this day (YYYY-MM-DD) or earlier.",
        "q": "Reference, client name, a line's description, or the exact amount incl. VAT (1 200,50).",
    }


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class InvoiceLineOut(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "id", "position", "product", "description", "quantity", "unit", "unit_price", "discount", "vat_rate",
            "vat_category", "vat_exemption_reason", "accounting_code", "amount_excl_vat", "period_start",
            "period_end", "source", "contract", "contract_line", "source_id",
        ]  # fmt: skip
        read_only_fields = fields


class VatBreakdownOut(serializers.Serializer):
    category = serializers.CharField(help_text="EN 16931 VAT category: S, E, AE, K or O.")
    rate = serializers.CharField(help_text='Rate in percent ("20.00").')
    base = serializers.CharField(help_text="Taxable amount of the category and rate (sum of its lines).")
    vat = serializers.CharField(help_text="VAT of the category and rate, rounded half-up to the cent.")
    exemption_reason = serializers.CharField(help_text="Why no VAT is charged (categories other than S).")


class InvoiceOut(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True, help_text="FA-2026-000123 (AV-... for a credit note); empty "
                                      "for a draft.")  # fmt: skip
    company_name = serializers.CharField(source="company.name", read_only=True)
    credited_invoice_reference = serializers.SerializerMethodField(
        help_text="The reference of the credited invoice (credit notes)."
    )
    vat_breakdown = VatBreakdownOut(many=True, read_only=True, help_text="VAT per category and rate.")
    record_hash = serializers.CharField(read_only=True, help_text="SHA-256 chaining the document to the previous one "
                                        "of the legal entity (issued documents).")  # fmt: skip
    lines = InvoiceLineOut(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id", "reference", "number", "kind", "status", "origin", "legal_entity", "center", "company",
            "company_name", "contact", "contract", "credited_invoice", "credited_invoice_reference", "billing_run",
            "issue_date", "due_date", "period_start", "period_end", "buyer_reference", "purchase_order", "currency",
            "payment_method", "payment_terms", "notes", "total_excl_vat", "total_vat", "total_incl_vat",
            "vat_breakdown", "chain_index", "previous_hash", "record_hash", "pdf_sha256", "created_at", "issued_at",
            "lines",
        ]  # fmt: skip
        read_only_fields = fields

    def get_credited_invoice_reference(self, invoice: Invoice) -> str | None:
        credited = invoice.credited_invoice
        return credited.reference if credited is not None else None


class DeliveryOut(serializers.ModelSerializer):
    class Meta:
        model = InvoiceDelivery
        fields = ["id", "method", "status", "recipient", "detail", "at", "by"]
        read_only_fields = fields


class InvoiceCreateIn(InSerializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the client company.")
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for,
                                   help_text="Id of the center; its legal entity issues the invoice.")  # fmt: skip
    contract = ScopedPrimaryKeyField(model=Contract, selector=contracts_for, required=False, allow_null=True,
                                     help_text="Id of a contract of the company (its legal entity issues it).")  # fmt: skip
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of a member of the company, shown on the invoice.")  # fmt: skip
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class InvoiceUpdateIn(InSerializer):
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of a member of the company (null: none).")  # fmt: skip
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    due_date = serializers.DateField(required=False, allow_null=True,
                                     help_text="Default at issue: the issue date plus the payment terms.")  # fmt: skip
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)
    buyer_reference = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                            help_text="Buyer reference, the service code for Chorus Pro.")  # fmt: skip
    purchase_order = serializers.CharField(required=False, allow_blank=True, max_length=50,
                                           help_text="Purchase order or commitment number.")  # fmt: skip
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False, allow_blank=True)


class InvoiceLineIn(InSerializer):
    product = ScopedPrimaryKeyField(model=Product, selector=products_for, required=False, allow_null=True,
                                    help_text="Id of a catalog article (its name, price, rate by default).")  # fmt: skip
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, required=False,
                                        help_text="Default 1; negative for a deduction.")  # fmt: skip
    unit = serializers.CharField(required=False, allow_blank=True, max_length=20, help_text='Default "unit".')
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, required=False,
                                          help_text="Unit price excl. VAT (default: the article's).")  # fmt: skip
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False,
                                        help_text="Discount excl. VAT on the line.")  # fmt: skip
    vat_rate = serializers.CharField(required=False, max_length=10, help_text=VAT_RATE_HELP)
    vat_exemption_reason = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                                 help_text="Required at 0 % (e.g. an article of the CGI).")  # fmt: skip
    accounting_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(required=False, allow_null=True)


class IssueIn(InSerializer):
    issue_date = serializers.DateField(required=False, help_text="Default: today; never in the future nor in a "
                                       "locked accounting period.")  # fmt: skip


class CreditLineIn(InSerializer):
    description = serializers.CharField(max_length=255)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, required=False, help_text="Default 1.")
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, help_text="Unit price excl. VAT.")
    vat_rate = serializers.CharField(required=False, max_length=10, help_text=VAT_RATE_HELP)
    vat_exemption_reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CreditIn(InSerializer):
    lines = CreditLineIn(many=True, required=False, max_length=MAX_LINES,
                         help_text="The credit note's lines; omitted: all of the invoice.")  # fmt: skip
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                   help_text="Shown on the credit note.")  # fmt: skip
    issue_date = serializers.DateField(required=False, help_text="Default: today.")


def invoices_with_lines(user: User, organization: Organization) -> QuerySet[Invoice]:
    lines = Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))
    return selectors.invoices_for(user, organization).prefetch_related(lines)


# --------------------------------------------------------------------------------------------------
# File answers
# --------------------------------------------------------------------------------------------------
class PdfRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)  # an error envelope (the document itself is an HttpResponse)


class XmlRenderer(renderers.BaseRenderer):
    media_type = "application/xml"
    format = "xml"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)


PDF_RESPONSE = {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF.")}
XML_RESPONSE = {(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="The XML document.")}


def _file(content: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content.encode("utf-8") if isinstance(content, str) else content,
                            content_type=content_type)  # fmt: skip
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _require_issued(invoice: Invoice) -> None:
    if invoice.is_draft:
        raise services.BillingError(_("Un brouillon n'a pas encore de document : émettez-le d'abord."),
                                    code="not_issued")  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The viewset
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Invoices and credit notes, newest first."),
    retrieve=extend_schema(summary="An invoice or credit note, with its lines, VAT breakdown and hash."),
)
class InvoiceViewSet(ApiViewSet):
    """Invoices and credit notes. A draft has no number; issuing gives it the next number of its legal entity's
    series, freezes it and chains its SHA-256 to the previous document; corrections are credit notes. Rights:
    `billing.view_invoice`, `billing.add_invoice`, `billing.change_invoice` (drafts and their lines),
    `billing.delete_invoice` (drafts), `billing.issue_invoice` (issue, credit)."""

    model = Invoice
    serializer_class = InvoiceOut
    filterset_class = InvoiceApiFilter
    cursor_ordering = ("-id",)
    required_rights = {
        "list": "billing.view_invoice",
        "retrieve": "billing.view_invoice",
        "pdf": "billing.view_invoice",
        "facturx": "billing.view_invoice",
        "ubl": "billing.view_invoice",
        "deliveries": "billing.view_invoice",
        "create": "billing.add_invoice",
        "partial_update": "billing.change_invoice",
        "destroy": "billing.delete_invoice",
        "lines": "billing.change_invoice",
        "line": "billing.change_invoice",
        "issue": "billing.issue_invoice",
        "credit": "billing.issue_invoice",
    }

    def scoped_queryset(self) -> QuerySet[Invoice]:
        return invoices_with_lines(self.request.user, self.organization)

    def _fresh(self, invoice: Invoice) -> Invoice:
        return self.scoped_queryset().get(pk=invoice.pk)

    def _answer(self, invoice: Invoice, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.out(self._fresh(invoice)).data, status=code)

    @extend_schema(request=InvoiceCreateIn, responses={201: InvoiceOut}, summary="Create a draft invoice.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(InvoiceCreateIn)
        invoice = services.create_invoice(
            by=request.user, company=data["company"], center=data["center"], contract=data.get("contract"),
            contact=data.get("contact"), notes=data.get("notes", ""),
        )  # fmt: skip
        return self._answer(invoice, status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceUpdateIn, responses=InvoiceOut, summary="Change some of a draft's details.",
                   description="400 `not_draft` once issued: make a credit note.")  # fmt: skip
    def partial_update(self, request: Request, pk: int) -> Response:
        invoice = self.get_object()
        data = self.validated(InvoiceUpdateIn, partial=True)
        invoice = services.update_invoice(invoice=invoice, by=request.user, data=data)
        return self._answer(invoice)

    @extend_schema(responses={204: None}, summary="Delete a draft (its consumptions become unbilled again).")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_draft(invoice=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=InvoiceLineIn, responses={201: InvoiceOut}, summary="Add a line to a draft.",
                   description="400 `unknown_vat_rate`, `exemption_reason_required`, `not_draft`...")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def lines(self, request: Request, pk: int) -> Response:
        invoice = self.get_object()
        data = self.validated(InvoiceLineIn)
        services.add_invoice_line(invoice=invoice, by=request.user, data=data)
        return self._answer(invoice, status.HTTP_201_CREATED)

    @extend_schema(methods=["PATCH"], request=InvoiceLineIn, responses=InvoiceOut, summary="Change a line of a draft.")
    @extend_schema(methods=["DELETE"], request=None, responses=InvoiceOut, summary="Remove a line from a draft.")
    @action(detail=True, methods=["patch", "delete"], url_path="lines/<int:line_id>", url_name="line")
    def line(self, request: Request, pk: int, line_id: int) -> Response:
        invoice = self.get_object()
        line = InvoiceLine.objects.filter(invoice=invoice, pk=line_id).select_related("invoice").first()
        if line is None:
            raise NotFound(_("Ligne introuvable."))
        if request.method == "DELETE":
            services.delete_invoice_line(line=line, by=request.user)
        else:
            data = self.validated(InvoiceLineIn, partial=True)
            services.update_invoice_line(line=line, by=request.user, data=data)
        return self._answer(invoice)

    @extend_schema(request=IssueIn, responses=InvoiceOut, summary="Issue a draft: its number, frozen, hash chained.",
                   description="400 `no_lines`, `negative_total`, `locked_period`, `future_date`, "
                   "`credit_exceeds_invoice`; 409 `already_issued`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def issue(self, request: Request, pk: int) -> Response:
        invoice = self.get_object()
        data = self.validated(IssueIn)
        invoice = services.issue_invoice(invoice=invoice, by=request.user, issue_date=data.get("issue_date"))
        return self._answer(invoice)

    @extend_schema(request=CreditIn, responses={201: InvoiceOut}, summary="Issue a credit note of an invoice.",
                   description="Without `lines`: all of the invoice (which becomes `cancelled`). 400 `not_issued`, "
                   "`fully_credited`, `partially_credited`, `credit_exceeds_invoice`, `locked_period`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def credit(self, request: Request, pk: int) -> Response:
        invoice = self.get_object()
        data = self.validated(CreditIn)
        lines = [dict(line) for line in data["lines"]] if "lines" in data else None
        credit = services.credit_invoice(invoice=invoice, by=request.user, lines=lines, reason=data.get("reason", ""),
                                         issue_date=data.get("issue_date"))  # fmt: skip
        return self._answer(credit, status.HTTP_201_CREATED)

    @extend_schema(responses=PDF_RESPONSE, summary="The document's Factur-X PDF (PDF/A-3 with its CII XML).",
                   description="400 `not_issued` for a draft.")  # fmt: skip
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, PdfRenderer])
    def pdf(self, request: Request, pk: int) -> HttpResponse:
        from comptoir.billing.documents.render import ensure_pdf

        invoice = self.get_object()
        _require_issued(invoice)
        return _file(ensure_pdf(invoice), "application/pdf", f"{invoice.reference}.pdf")

    @extend_schema(responses=XML_RESPONSE, summary="The document's CII XML (Factur-X, EN 16931), as embedded in the "
                   "PDF.", description="400 `not_issued` for a draft.")  # fmt: skip
    @action(detail=True, methods=["get"], url_path="facturx.xml", renderer_classes=[renderers.JSONRenderer,
                                                                                   XmlRenderer])  # fmt: skip
    def facturx(self, request: Request, pk: int) -> HttpResponse:
        from comptoir.billing.documents.render import stored_cii

        invoice = self.get_object()
        _require_issued(invoice)
        return _file(stored_cii(invoice), "application/xml", f"{invoice.reference}.xml")

    @extend_schema(responses=XML_RESPONSE, summary="The document as UBL 2.1 (EN 16931).",
                   description="400 `not_issued` for a draft.")  # fmt: skip
    @action(detail=True, methods=["get"], url_path="ubl.xml", renderer_classes=[renderers.JSONRenderer,
                                                                               XmlRenderer])  # fmt: skip
    def ubl(self, request: Request, pk: int) -> HttpResponse:
        from comptoir.billing.documents.ubl import invoice_ubl

        invoice = self.get_object()
        _require_issued(invoice)
        return _file(invoice_ubl(invoice), "application/xml", f"{invoice.reference}-ubl.xml")

    @extend_schema(responses=DeliveryOut(many=True), summary="Deliveries of the document (e-mail, Chorus Pro...).")
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: int) -> Response:
        invoice = self.get_object()
        rows = InvoiceDelivery.objects.filter(invoice=invoice).order_by("-at", "-id")[:500]
        return Response(DeliveryOut(rows, many=True).data)


ROUTES = [("invoices", InvoiceViewSet, "invoice")]
