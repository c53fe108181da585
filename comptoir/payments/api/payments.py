"""REST endpoints of payments under /api/v1/payments/.

    GET    /payments/                  list (method, status, company, dates, q), newest first
    POST   /payments/                  record a payment and allocate it to invoices      Idempotency-Key
    GET    /payments/{id}/             one payment, with its allocations
    POST   /payments/{id}/allocate/    allocate what remains of it to invoices           Idempotency-Key
    POST   /payments/{id}/reverse/     reverse it (bounced cheque, returned debit)       Idempotency-Key

An invoice's settlement (`amount_paid`, `payment_status`) is billing's, read on GET /invoices/{id}/. Views hold no
rules: shapes in, one service (comptoir.payments.services.payments), shapes out.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing.models import Invoice
from comptoir.billing.selectors import invoices_for
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.crm.models import Company
from comptoir.crm.selectors.companies import companies_for
from comptoir.payments import selectors
from comptoir.payments.api.imports import StatementImportMixin
from comptoir.payments.forms import PaymentFilter, check_reversal_date
from comptoir.payments.models import Allocation, Method, Payment
from comptoir.payments.services import payments as services

MAX_ALLOCATIONS = 200


class PaymentApiFilter(PaymentFilter):
    api_help = {
        "method": "transfer, cheque, cash, card, direct_debit or other.",
        "status": "received, in_collection (a direct debit sent to the bank) or reversed.",
        "company": "Id of the company that paid.",
        "date_from": "Received on this day (YYYY-MM-DD) or later.",
        "date_to": "Received on this day (YYYY-MM-DD) or earlier.",
        "q": "Company name, reference, payer, the reference of an invoice it paid, or the exact amount (1 200,50).",
    }


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
# Inline under allOf: billing's `DeliveryOut.method` already holds the enum component named after "method" (a
# component here would need an ENUM_NAME_OVERRIDES entry in the settings).
@extend_schema_field({"allOf": [{"type": "string", "enum": Method.values}], "description": "How the money came."})
class MethodField(serializers.ChoiceField):
    """The payment method: transfer, cheque, cash, card, direct_debit or other."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Method.choices, **kwargs)


class AllocationOut(serializers.ModelSerializer):
    invoice_reference = serializers.CharField(source="invoice.reference", read_only=True)

    class Meta:
        model = Allocation
        fields = ["id", "invoice", "invoice_reference", "amount", "created_at"]
        read_only_fields = fields


class PaymentOut(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)
    method = MethodField(read_only=True)
    allocated = serializers.SerializerMethodField(help_text="The sum of its allocations (kept when reversed).")
    unallocated = serializers.SerializerMethodField(
        help_text="What it leaves to allocate: the company's credit balance from it (0 once reversed)."
    )
    allocations = AllocationOut(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id", "company", "company_name", "legal_entity", "method", "amount", "received_on", "reference", "payer",
            "notes", "status", "provider", "provider_reference", "reversed_on", "reversal_reason", "created_at",
            "allocated", "unallocated", "allocations",
        ]  # fmt: skip
        read_only_fields = fields

    def get_allocated(self, payment: Payment) -> str:
        allocated = getattr(payment, "allocated", None)
        if allocated is None:
            allocated = sum((a.amount for a in payment.allocations.all()), Decimal("0.00"))
        return f"{allocated:.2f}"

    def get_unallocated(self, payment: Payment) -> str:
        return f"{selectors.remainder_of(payment):.2f}"


class AllocationIn(InSerializer):
    invoice = ScopedPrimaryKeyField(model=Invoice, selector=invoices_for,
                                    help_text="Id of an issued invoice of the same company.")  # fmt: skip
    amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      help_text="Amount allocated to the invoice, at most what remains to pay.")  # fmt: skip


class PaymentIn(InSerializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the company that paid.")
    method = MethodField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Amount received, positive.")
    received_on = serializers.DateField(help_text="Day the money was received; not in the future.")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=140,
                                      help_text="Cheque number, transfer label...")  # fmt: skip
    payer = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                  help_text="Who paid, when not the company itself.")  # fmt: skip
    notes = serializers.CharField(required=False, allow_blank=True, max_length=255)
    allocations = AllocationIn(many=True, required=False, max_length=MAX_ALLOCATIONS,
                               help_text="Invoices it pays; what it does not allocate is the company's credit "
                               "balance.")  # fmt: skip


class AllocateIn(InSerializer):
    allocations = AllocationIn(many=True, min_length=1, max_length=MAX_ALLOCATIONS,
                               help_text="Invoices of the payment's company and the amount allocated to each.")  # fmt: skip


class ReverseIn(InSerializer):
    reason = serializers.CharField(max_length=255, help_text="Why: bounced cheque, returned debit (AM04)...")
    on = serializers.DateField(required=False, help_text="Day of the reversal (default today); not in the future.")

    def validate_on(self, value: datetime.date) -> datetime.date:
        try:
            return check_reversal_date(value, self.context.get("received_on"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


def _plan(rows: list[dict[str, Any]]) -> list[tuple[Invoice, Decimal]]:
    return [(row["invoice"], row["amount"]) for row in rows]


# --------------------------------------------------------------------------------------------------
# The viewset
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Payments received, newest first."),
    retrieve=extend_schema(summary="A payment, with its allocations to invoices."),
)
class PaymentViewSet(StatementImportMixin, ApiViewSet):
    """Payments received from companies (transfer, cheque, cash, card, direct debit) and their allocation to
    invoices; what a payment does not allocate is its company's credit balance. A payment is never deleted: it is
    reversed, and its invoices are to pay again. Each invoice's `amount_paid` and `payment_status` follow. Rights:
    `payments.view_payment`, `payments.add_payment` (record), `payments.change_payment` (allocate, reverse)."""

    model = Payment
    serializer_class = PaymentOut
    filterset_class = PaymentApiFilter
    cursor_ordering = ("-id",)
    required_rights = {
        "list": "payments.view_payment",
        "retrieve": "payments.view_payment",
        "create": "payments.add_payment",
        "allocate": "payments.change_payment",
        "reverse": "payments.change_payment",
        "import_statement": "payments.add_payment",
    }

    def scoped_queryset(self) -> QuerySet[Payment]:
        return selectors.payments_for(self.request.user, self.organization)

    def _answer(self, payment: Payment, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.out(self.scoped_queryset().get(pk=payment.pk)).data, status=code)

    @extend_schema(request=PaymentIn, responses={201: PaymentOut}, summary="Record a payment and allocate it.",
                   description="400 `future_date`, `negative_amount`, `invalid_amount`, `exceeds_payment` (the "
                   "allocations are more than the amount), `exceeds_remaining` (more than an invoice awaits), "
                   "`other_company`, `not_payable` (a draft, a credit note, a cancelled invoice).")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(PaymentIn)
        allocations = _plan(data.pop("allocations", []))
        payment = services.record_payment(organization=self.organization, by=request.user, data=data,
                                          allocations=allocations)  # fmt: skip
        return self._answer(payment, status.HTTP_201_CREATED)

    @extend_schema(request=AllocateIn, responses=PaymentOut, summary="Allocate what remains of a payment.",
                   description="400 `exceeds_payment` (more than remains of it), `exceeds_remaining`, "
                   "`other_company`, `not_payable`, `reversed`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def allocate(self, request: Request, pk: int) -> Response:
        payment = self.get_object()
        data = self.validated(AllocateIn)
        services.allocate_payment(payment=payment, by=request.user, allocations=_plan(data["allocations"]))
        return self._answer(payment)

    @extend_schema(request=ReverseIn, responses=PaymentOut, summary="Reverse a payment (bounced, returned).",
                   description="The payment is kept, marked `reversed`; its allocations stop counting and its "
                   "invoices are to pay again. 400 `already_reversed`, `required` (the reason).")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def reverse(self, request: Request, pk: int) -> Response:
        payment = self.get_object()
        serializer = ReverseIn(data=request.data, context={**self.get_serializer_context(),
                                                          "received_on": payment.received_on})  # fmt: skip
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.reverse_payment(payment=payment, by=request.user, reason=data["reason"], on=data.get("on"))
        return self._answer(payment)


ROUTES = [("payments", PaymentViewSet, "payment")]
