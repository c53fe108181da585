"""REST endpoints of contracts under /api/v1/contracts/: list, retrieve, creation from an accepted offer,
readiness of an offer (❓ / 👍), sending for signature, amendment preview and amendment, notice, end,
cancellation, pauses and the PDF. Views hold no rules: they check shapes and call comptoir.sales.services.contracts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.catalog.models import Product, Space
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import NotFound
from comptoir.core.models import Organization, User
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.models import Company, Contact
from comptoir.sales.forms_contracts import ContractFilter
from comptoir.sales.models import Amendment, Contract, ContractLine, ContractPause, Offer, PaymentMethod
from comptoir.sales.selectors import contracts as selectors
from comptoir.sales.services import contracts as services


def _spaces(user: User, organization: Organization) -> QuerySet[Space]:
    return Space.objects.filter(organization=organization)


def _products(user: User, organization: Organization) -> QuerySet[Product]:
    return Product.objects.filter(organization=organization)


def _companies(request: Any) -> QuerySet[Company]:
    if request is None:
        return Company.objects.none()
    return crm_selectors.companies_for(request.user, getattr(request, "organization", None))


class ContractApiFilter(ContractFilter):
    company = django_filters.ModelChoiceFilter(queryset=_companies, help_text="Id of the client company.")

    class Meta(ContractFilter.Meta):
        fields = [*ContractFilter.Meta.fields, "company"]


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class ContractLineOut(serializers.ModelSerializer):
    class Meta:
        model = ContractLine
        fields = [
            "id", "kind", "space", "product", "description", "quantity", "unit_price", "vat_rate",
            "amount_excl_vat", "is_recurring", "breakdown", "start_date", "end_date", "version",
        ]  # fmt: skip
        read_only_fields = fields


class AmendmentOut(serializers.ModelSerializer):
    class Meta:
        model = Amendment
        fields = ["id", "version", "effective_date", "summary", "changes", "created_at"]
        read_only_fields = fields


class PauseOut(serializers.ModelSerializer):
    days = serializers.IntegerField(read_only=True)

    class Meta:
        model = ContractPause
        fields = ["id", "start_date", "end_date", "days", "reason", "created_at", "cancelled_at"]
        read_only_fields = fields


class ContractOut(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    lines = ContractLineOut(many=True, read_only=True)
    amendments = AmendmentOut(many=True, read_only=True)
    pauses = PauseOut(many=True, read_only=True)
    terms_version = serializers.IntegerField(source="terms.version", read_only=True, allow_null=True)

    class Meta:
        model = Contract
        fields = [
            "id", "reference", "number", "company", "legal_entity", "center", "quote", "offer", "status",
            "service_type", "start_date", "commitment_end", "end_date", "notice_months", "renewal", "deposit",
            "billing_day", "payment_method", "terms", "terms_version", "version", "signer", "created_at",
            "sent_for_signature_at", "signed_at", "notice_given_at", "document_sha256", "signed_document_sha256",
            "lines", "amendments", "pauses",
        ]  # fmt: skip
        read_only_fields = fields


class ContractCreateIn(InSerializer):
    offer = ScopedPrimaryKeyField(model=Offer, selector=selectors.offers_for,
                                  help_text="The chosen offer of an accepted quote.")  # fmt: skip
    notice_months = serializers.IntegerField(min_value=0, max_value=24, required=False)
    renewal = serializers.ChoiceField(choices=Contract.Renewal.choices, required=False)
    billing_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False, allow_blank=True)


class ReadinessOut(serializers.Serializer):
    line = serializers.IntegerField(source="line.pk")
    description = serializers.CharField(source="line.description")
    ok = serializers.BooleanField()
    reason = serializers.CharField()


class SendForSignatureIn(InSerializer):
    signer = ScopedPrimaryKeyField(model=Contact, selector=crm_selectors.contacts_for,
                                   help_text="An administrator of the company with portal access.")  # fmt: skip


class AddItemIn(InSerializer):
    product = ScopedPrimaryKeyField(model=Product, selector=_products, required=False)
    space = ScopedPrimaryKeyField(model=Space, selector=_spaces, required=False)
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False)


class ChangeSpaceIn(InSerializer):
    line = serializers.IntegerField(help_text="The contract line of the current space.")
    space = ScopedPrimaryKeyField(model=Space, selector=_spaces, help_text="The new space.")


class AmendmentIn(InSerializer):
    effective_date = serializers.DateField()
    add = AddItemIn(many=True, required=False)
    remove_line_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=200)
    change_space = ChangeSpaceIn(required=False, allow_null=True)


class AmendmentPreviewOut(serializers.Serializer):
    effective_date = serializers.DateField()
    version = serializers.IntegerField()
    closed = serializers.ListField(child=serializers.DictField())
    opened = serializers.ListField(child=serializers.DictField())
    monthly_before = serializers.CharField()
    monthly_after = serializers.CharField()
    first_period = serializers.ListField(child=serializers.DateField())
    first_period_difference = serializers.CharField()
    summary = serializers.CharField()


class NoticeIn(InSerializer):
    notice_date = serializers.DateField()


class PauseIn(InSerializer):
    start_date = serializers.DateField(help_text="First paused day.")
    end_date = serializers.DateField(help_text="Last paused day.")
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class PaymentMethodIn(InSerializer):
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, allow_blank=True,
                                             help_text="\"\" for the company's default payment method.")  # fmt: skip


class CancelIn(InSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


def _amendment_arguments(data: dict[str, Any]) -> dict[str, Any]:
    change = data.get("change_space")
    return {
        "effective_date": data["effective_date"],
        "add": [dict(item) for item in data.get("add") or []],
        "remove_line_ids": list(data.get("remove_line_ids") or []),
        "change_space": (change["line"], change["space"]) if change else None,
    }


# --------------------------------------------------------------------------------------------------
# The viewset
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Contracts."),
    retrieve=extend_schema(summary="A contract, with its lines (frozen prices) and amendments."),
)
class ContractViewSet(ApiViewSet):
    """Contracts (CT-000123): made from the chosen offer of an accepted quote, sent for signature to an
    administrator of the client company, then signed, active, under notice, ended (or cancelled before
    signature). Amendments close lines and open new ones from an effective date. Rights:
    `sales.view_contract`, `sales.add_contract`, `sales.change_contract`."""

    model = Contract
    serializer_class = ContractOut
    filterset_class = ContractApiFilter
    required_rights = {
        "list": "sales.view_contract",
        "retrieve": "sales.view_contract",
        "readiness": "sales.view_contract",
        "pdf": "sales.view_contract",
        "create": "sales.add_contract",
        "send_for_signature": "sales.change_contract",
        "amendment_preview": "sales.change_contract",
        "amend": "sales.change_contract",
        "notice": "sales.change_contract",
        "end": "sales.change_contract",
        "cancel": "sales.change_contract",
        "pause": "sales.change_contract",
        "cancel_pause": "sales.change_contract",
        "payment_method": "sales.change_contract",
    }

    def scoped_queryset(self) -> QuerySet[Contract]:
        return selectors.contracts_for(self.request.user, self.organization).prefetch_related(
            "lines", "amendments", "pauses"
        )

    def _fresh(self, contract: Contract) -> Contract:
        return self.scoped_queryset().get(pk=contract.pk)

    @extend_schema(request=ContractCreateIn, responses={201: ContractOut},
                   summary="Generate the contract of an accepted quote's chosen offer (👍).",
                   description="400 `not_accepted`, `already_contracted`, or `not_ready` with the reasons "
                   "(a space already under contract for the period, an inactive space or product...).")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ContractCreateIn)
        offer = data.pop("offer")
        contract = services.create_contract_from_offer(offer=offer, by=request.user, data=data)
        return Response(self.out(self._fresh(contract)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("offer", OpenApiTypes.INT, required=True, description="The offer's id.")],
        responses=ReadinessOut(many=True),
        summary="Readiness of an offer's lines: ok (👍) or not (❓) with the reason.",
    )
    @action(detail=False, methods=["get"])
    def readiness(self, request: Request) -> Response:
        raw = request.query_params.get("offer", "")
        offer = (
            selectors.offers_for(request.user, self.organization).filter(pk=int(raw)).first() if raw.isdigit() else None
        )
        if offer is None:
            raise NotFound("Offre introuvable.")
        return Response(ReadinessOut(selectors.offer_readiness(offer), many=True).data)

    @extend_schema(request=SendForSignatureIn, responses=ContractOut, summary="Send the contract for signature.",
                   description="Renders the PDF (its SHA-256 in `document_sha256`) and e-mails the signer a link "
                   "to the portal. 400 `invalid_signer`, `no_terms`, `invalid_status`.")  # fmt: skip
    @action(detail=True, methods=["post"], url_path="send-for-signature")
    def send_for_signature(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(SendForSignatureIn)
        contract = services.send_for_signature(contract=contract, by=request.user, signer=data["signer"])
        return Response(self.out(self._fresh(contract)).data)

    @extend_schema(request=AmendmentIn, responses=AmendmentPreviewOut, summary="Preview an amendment (no change).")
    @action(detail=True, methods=["post"], url_path="amendment-preview")
    def amendment_preview(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(AmendmentIn)
        preview = services.preview_amendment(contract=contract, **_amendment_arguments(data))
        return Response(preview.as_json())

    @extend_schema(request=AmendmentIn, responses={201: AmendmentOut}, summary="Apply an amendment (version n+1).")
    @action(detail=True, methods=["post"])
    @idempotent
    def amend(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(AmendmentIn)
        amendment = services.amend_contract(contract=contract, by=request.user, **_amendment_arguments(data))
        return Response(AmendmentOut(amendment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoticeIn, responses=ContractOut, summary="Give notice (the end date follows).")
    @action(detail=True, methods=["post"])
    def notice(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(NoticeIn)
        contract = services.give_notice(contract=contract, by=request.user, notice_date=data["notice_date"])
        return Response(self.out(self._fresh(contract)).data)

    @extend_schema(request=None, responses=ContractOut, summary="End a contract whose end date has passed.")
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: int) -> Response:
        contract = services.end_contract(contract=self.get_object(), by=request.user)
        return Response(self.out(self._fresh(contract)).data)

    @extend_schema(request=CancelIn, responses=ContractOut, summary="Cancel a draft or a contract awaiting signature.")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(CancelIn)
        contract = services.cancel_contract(contract=contract, by=request.user, reason=data.get("reason", ""))
        return Response(self.out(self._fresh(contract)).data)

    @extend_schema(request=PauseIn, responses={201: PauseOut}, summary="Pause a running contract.",
                   description="Its recurring lines are not billed from `start_date` to `end_date` (both included); "
                   "the days around are prorated, a month already billed is regularised on the next run. 400 "
                   "`invalid_status`, `invalid_dates`, `past_period`, `before_start`, `after_end`, "
                   "`overlapping_pause`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def pause(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(PauseIn)
        pause = services.pause_contract(contract=contract, by=request.user, start_date=data["start_date"],
                                        end_date=data["end_date"], reason=data.get("reason", ""))  # fmt: skip
        return Response(PauseOut(pause).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PauseOut, summary="Cancel a pause (kept, marked cancelled).",
                   description="400 `already_cancelled`, or `past_period` for a pause that began before the "
                   "current month.")  # fmt: skip
    @action(detail=True, methods=["post"], url_path="pauses/<int:pause_id>/cancel", url_name="cancel-pause")
    def cancel_pause(self, request: Request, pk: int, pause_id: int) -> Response:
        contract = self.get_object()
        pause = contract.pauses.filter(pk=pause_id).first()
        if pause is None:
            raise NotFound(_("Pause introuvable."))
        pause = services.cancel_pause(pause=pause, by=request.user)
        return Response(PauseOut(pause).data)

    @extend_schema(request=PaymentMethodIn, responses=ContractOut,
                   summary="Set the contract's own payment method (\"\": the company's default).")  # fmt: skip
    @action(detail=True, methods=["post"], url_path="payment-method")
    def payment_method(self, request: Request, pk: int) -> Response:
        contract = self.get_object()
        data = self.validated(PaymentMethodIn)
        contract = services.change_payment_method(contract=contract, by=request.user,
                                                  payment_method=data["payment_method"])  # fmt: skip
        return Response(self.out(self._fresh(contract)).data)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="The contract's PDF.")
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: int) -> HttpResponse:
        contract = self.get_object()
        stored = contract.signed_document or contract.document
        if stored:
            return FileResponse(stored.open("rb"), content_type="application/pdf", filename=f"{contract.reference}.pdf")
        from comptoir.sales.pdf.contract import render_contract_pdf

        response = HttpResponse(render_contract_pdf(contract), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{contract.reference}.pdf"'
        return response


ROUTES = [("contracts", ContractViewSet, "contract")]
