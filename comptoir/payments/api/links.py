"""REST endpoints of payment links under /api/v1/payment-links/.

    GET  /payment-links/?invoice=&status=        links of the organization's invoices, newest first
    GET  /payment-links/{id}/                    one link (never its token)
    POST /payment-links/                         {"invoice", "amount"?, "expires_in_days"?, "send_email"?}
                                                 → the link with its `url`, once                    Idempotency-Key
    POST /payment-links/{id}/cancel/             the link stops working

Views hold no rules: shapes in, one service (comptoir.payments.services.links), shapes out.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
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
from comptoir.payments.models import PaymentLink
from comptoir.payments.services import links as services


def links_for(user, organization) -> QuerySet[PaymentLink]:  # type: ignore[no-untyped-def]
    """The links of the invoices the user sees (tenant-scoped, the user's centers)."""
    return (
        PaymentLink.objects.filter(organization=organization, invoice__in=invoices_for(user, organization))
        .select_related("invoice")
        .order_by("-created_at", "-id")
    )


MAX_ID = 2**63 - 1  # a larger id would overflow the database's integer


@extend_schema_field({"type": "string", "enum": PaymentLink.Status.values})  # inline: no second "status" enum
class StatusFilter(django_filters.ChoiceFilter):
    pass


class PaymentLinkFilter(django_filters.FilterSet):
    invoice = django_filters.NumberFilter(
        field_name="invoice_id", min_value=1, max_value=MAX_ID, help_text="Id of the invoice."
    )
    status = StatusFilter(choices=PaymentLink.Status.choices, help_text="active, paid or cancelled.")

    class Meta:
        model = PaymentLink
        fields = ["invoice", "status"]


# A plain string: a "status" enum of these values in two components would collide with the other "status" enums.
@extend_schema_field({"type": "string", "example": "active"})
class LinkStatusField(serializers.CharField):
    pass


class PaymentLinkOut(serializers.ModelSerializer):
    status = LinkStatusField(read_only=True, help_text="active, paid or cancelled.")
    invoice_reference = serializers.CharField(source="invoice.reference", read_only=True)
    is_usable = serializers.SerializerMethodField(help_text="Active and not expired: the payer may pay now.")

    class Meta:
        model = PaymentLink
        fields = ["id", "invoice", "invoice_reference", "amount", "status", "is_usable", "expires_at", "provider",
                  "payment", "created_by", "created_at", "paid_at"]  # fmt: skip
        read_only_fields = fields

    def get_is_usable(self, link: PaymentLink) -> bool:
        return link.is_usable()


class PaymentLinkCreatedOut(PaymentLinkOut):
    url = serializers.CharField(read_only=True, allow_null=True,
                                help_text="The payer's page. Shown once: null when the answer is replayed.")  # fmt: skip
    sent_to = serializers.ListField(child=serializers.EmailField(), read_only=True,
                                    help_text="Addresses the link was e-mailed to (with send_email).")  # fmt: skip

    class Meta(PaymentLinkOut.Meta):
        fields = [*PaymentLinkOut.Meta.fields, "url", "sent_to"]
        read_only_fields = fields


class PaymentLinkIn(InSerializer):
    invoice = ScopedPrimaryKeyField(model=Invoice, selector=invoices_for, help_text="Id of an issued invoice.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True,
                                      help_text="Amount to pay, up to what remains (default: all that remains).")  # fmt: skip
    expires_in_days = serializers.IntegerField(required=False, default=services.DEFAULT_VALIDITY_DAYS,
                                               min_value=1, max_value=services.MAX_VALIDITY_DAYS)  # fmt: skip
    send_email = serializers.BooleanField(required=False, default=False,
                                          help_text="Also e-mail the link to the company's billing contacts.")  # fmt: skip


@extend_schema_view(
    list=extend_schema(summary="Payment links, newest first."),
    retrieve=extend_schema(summary="A payment link (never its token)."),
)
class PaymentLinkViewSet(ApiViewSet):
    """Links to pay all or part of an issued invoice by card, until they expire. Only a hash of each link's token
    is stored: the URL is in the creation's answer, once. Rights: `payments.view_paymentlink`,
    `payments.add_paymentlink` (create), `payments.change_paymentlink` (cancel)."""

    model = PaymentLink
    serializer_class = PaymentLinkOut
    filterset_class = PaymentLinkFilter
    cursor_ordering = ("-created_at", "-id")
    required_rights = {
        "list": "payments.view_paymentlink",
        "retrieve": "payments.view_paymentlink",
        "create": "payments.add_paymentlink",
        "cancel": "payments.change_paymentlink",
    }

    def scoped_queryset(self) -> QuerySet[PaymentLink]:
        return links_for(self.request.user, self.organization)

    @extend_schema(request=PaymentLinkIn, responses={201: PaymentLinkCreatedOut},
                   summary="Create a payment link of an invoice; its URL is in the answer, once.",
                   description="400 `not_payable` (draft, credit note, cancelled), `already_paid`, "
                   "`exceeds_remaining`, `negative_amount`, `no_recipient` (send_email without a billing address).")  # fmt: skip
    @idempotent(secret_fields=["url"])
    def create(self, request: Request) -> Response:
        from django.db import transaction

        data = self.validated(PaymentLinkIn)
        with transaction.atomic():
            link, token = services.create_link(invoice=data["invoice"], by=request.user, amount=data.get("amount"),
                                               expires_in_days=data["expires_in_days"])  # fmt: skip
            sent_to = services.send_link(link=link, token=token, by=request.user) if data["send_email"] else []
        body = dict(self.out(self.scoped_queryset().get(pk=link.pk)).data)
        body["url"] = request.build_absolute_uri(reverse("portal:pay", args=[token]))
        body["sent_to"] = sent_to
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PaymentLinkOut, summary="Cancel a link (it stops working at once).",
                   description="400 `not_active` for a link already paid or cancelled.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        link = services.cancel_link(link=self.get_object(), by=request.user)
        return Response(self.out(self.scoped_queryset().get(pk=link.pk)).data)


ROUTES = [("payment-links", PaymentLinkViewSet, "paymentlink")]
