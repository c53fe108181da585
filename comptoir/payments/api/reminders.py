"""REST endpoints of payment reminders under /api/v1/reminders/.

    GET  /reminders/                 reminders sent, newest first (?invoice=, ?level=manual|automatic, ?channel=)
    GET  /reminders/{id}/            one reminder, with the charges computed on its date
    GET  /reminders/{id}/pdf/        the letter (PDF) of a letter reminder
    POST /reminders/                 {"invoice": id, "channel": "email"|"letter"} → a manual reminder   Idempotency-Key

Views hold no rules: shapes in, one service (comptoir.payments.services.reminders), shapes out.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing import selectors as billing_selectors
from comptoir.billing.models import Invoice
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import NotFound, ValidationFailed
from comptoir.payments.models import Reminder
from comptoir.payments.services import reminders as services


@extend_schema_field({"type": "string", "pattern": "^(email|letter)$", "example": "email"})
class ChannelField(serializers.ChoiceField):
    # "email" or "letter": a pattern in the schema, not an enum (a "channel" enum component would collide with the
    # CRM's marketing source channel).

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Reminder.Channel.values, **kwargs)


class ReminderOut(serializers.ModelSerializer):
    channel = ChannelField(read_only=True)
    invoice_reference = serializers.CharField(source="invoice.reference", read_only=True)
    company = serializers.IntegerField(source="invoice.company_id", read_only=True)
    has_letter = serializers.SerializerMethodField(help_text="A letter reminder's PDF is at /reminders/{id}/pdf/.")

    class Meta:
        model = Reminder
        fields = [
            "id", "invoice", "invoice_reference", "company", "level", "channel", "sent_on", "days_late",
            "amount_due", "penalty", "indemnity", "recipient", "has_letter", "sent_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "level": {"help_text": "0: a manual reminder; 1, 2, 3...: the steps of the automatic schedule."},
            "days_late": {"help_text": "Days past the invoice's due date on `sent_on`."},
            "amount_due": {"help_text": "What remained to pay on the invoice (incl. VAT)."},
            "penalty": {"help_text": "Late-payment penalties: amount due x annual rate x days late / 365."},
            "indemnity": {"help_text": "The fixed recovery indemnity (40 EUR), for business buyers only."},
        }

    def get_has_letter(self, reminder: Reminder) -> bool:
        return bool(reminder.document)


class ReminderIn(InSerializer):
    invoice = ScopedPrimaryKeyField(model=Invoice, selector=billing_selectors.invoices_for,
                                    help_text="An issued invoice with an amount due.")  # fmt: skip
    channel = ChannelField(default="email", help_text="`email` to the company's billing contacts with the invoice "
                           "PDF, or `letter` (a PDF to print, at /reminders/{id}/pdf/).")  # fmt: skip


class PdfRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)  # an error envelope (the letter itself is an HttpResponse)


LEVELS = {"manual": {"level": 0}, "automatic": {"level__gt": 0}}


@extend_schema_view(
    list=extend_schema(
        summary="Payment reminders sent, newest first.",
        parameters=[
            OpenApiParameter("invoice", OpenApiTypes.INT, description="Only the reminders of this invoice."),
            OpenApiParameter(
                "level",
                OpenApiTypes.STR,
                enum=["manual", "automatic"],
                description="Manual reminders (level 0) or the automatic schedule's steps.",
            ),
            OpenApiParameter("channel", OpenApiTypes.STR, enum=["email", "letter"], description="E-mail or letter."),
        ],
    ),
    retrieve=extend_schema(summary="A payment reminder."),
)
class ReminderViewSet(ApiViewSet):
    """Payment reminders (dunning) of invoices: manual ones (level 0), and the steps of the organization's
    automatic schedule (levels 1, 2, 3..., each sent once per invoice by the daily job), with the late-payment
    penalties and the recovery indemnity on their date. Rights: `payments.view_reminder`, `payments.add_reminder`
    (send a manual reminder)."""

    model = Reminder
    serializer_class = ReminderOut
    cursor_ordering = ("-sent_on", "-id")
    required_rights = {
        "list": "payments.view_reminder",
        "retrieve": "payments.view_reminder",
        "pdf": "payments.view_reminder",
        "create": "payments.add_reminder",
    }

    def scoped_queryset(self) -> QuerySet[Reminder]:
        qs = services.reminders_for(self.request.user, self.organization)  # type: ignore[arg-type]
        if self.action != "list":
            return qs
        params = self.request.query_params
        invoice = params.get("invoice", "")
        if invoice:
            if not invoice.isdigit() or len(invoice) > 18:
                raise ValidationFailed(_("Identifiant de facture invalide."), code="invalid", field="invoice")
            qs = qs.filter(invoice_id=int(invoice))
        level = params.get("level", "")
        if level:
            if level not in LEVELS:
                raise ValidationFailed(_("Choisissez manual ou automatic."), code="invalid", field="level")
            qs = qs.filter(**LEVELS[level])
        channel = params.get("channel", "")
        if channel:
            if channel not in Reminder.Channel.values:
                raise ValidationFailed(_("Choisissez email ou letter."), code="invalid", field="channel")
            qs = qs.filter(channel=channel)
        return qs

    @extend_schema(request=ReminderIn, responses={201: ReminderOut}, summary="Send a manual reminder of an invoice.",
                   description="400 `not_remindable` (a draft, a credit note, a cancelled invoice), `nothing_due` "
                   "(paid), `no_recipient` (e-mail without any billing contact nor company e-mail), "
                   "`email_failed`.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ReminderIn)
        reminder = services.send_reminder(invoice=data["invoice"], by=request.user, channel=data["channel"])
        return Response(self.out(self.scoped_queryset().get(pk=reminder.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The letter.")},
        summary="The letter (PDF) of a letter reminder.", description="404 for an e-mail reminder.",
    )  # fmt: skip
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, PdfRenderer])
    def pdf(self, request: Request, pk: int) -> HttpResponse:
        reminder = self.get_object()
        if not reminder.document:
            raise NotFound(_("Cette relance n'a pas de lettre."), code="no_letter")
        with reminder.document.open("rb") as handle:
            content = handle.read()
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="relance-{reminder.invoice.reference}.pdf"'
        return response


ROUTES = [("reminders", ReminderViewSet, "reminder")]
