"""API: the SMS-code e-signature driven by an integrator acting for the signer (its own signing page).

    POST /api/v1/signatures/                      {"contract": 12, "signer": 34}   → the signature (event "viewed")
    POST /api/v1/signatures/{id}/accept-terms/                                     → CGV version recorded
    POST /api/v1/signatures/{id}/send-code/                                        → SMS to the signer (429 + Retry-After)
    POST /api/v1/signatures/{id}/confirm/         {"code": "123456"}               → the contract signed and sealed
    GET  /api/v1/signatures/{id}/                                                  → the evidence

The staff token needs `sales.change_contract` to act, `sales.view_contract` to read. The signer must be
an administrator of the contract's company with portal access. The IP address and user agent recorded
as evidence are the request's (REMOTE_ADDR, User-Agent).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core.api.errors import error_body
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import DomainError
from comptoir.crm.models import Contact
from comptoir.sales.models import Contract, Signature
from comptoir.sales.selectors import signature as selectors
from comptoir.sales.services import signature as service


def _organization_contacts(user: Any, organization: Any) -> QuerySet[Contact]:
    return Contact.objects.filter(organization=organization).select_related("company")


class SignatureIn(InSerializer):
    contract = ScopedPrimaryKeyField(model=Contract, selector=selectors.contracts_for, help_text="Id of the contract.")
    signer = ScopedPrimaryKeyField(
        model=Contact,
        selector=_organization_contacts,
        help_text="Id of the signing member: an administrator of the contract's company with portal access.",
    )


class CodeIn(InSerializer):
    code = serializers.CharField(max_length=12, help_text="The 6 digits the signer received by SMS.")


class SignatureEventOut(serializers.Serializer):
    kind = serializers.CharField(
        help_text="viewed, terms_accepted, code_sent, code_failed, code_expired, locked, signed."
    )
    at = serializers.DateTimeField()
    ip_address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    detail = serializers.JSONField()


class SignatureOut(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField(help_text="The phone the code was sent to, masked.")
    remaining_attempts = serializers.SerializerMethodField()
    resend_in = serializers.SerializerMethodField(help_text="Seconds before a new code may be asked.")
    code_sent = serializers.SerializerMethodField()
    contract_status = serializers.CharField(source="contract.status", read_only=True)
    document_sha256 = serializers.CharField(
        read_only=True, help_text="SHA-256 of the contract PDF the signer approved."
    )
    signed_document_sha256 = serializers.CharField(source="contract.signed_document_sha256", read_only=True)
    events = SignatureEventOut(many=True, read_only=True)

    class Meta:
        model = Signature
        fields = [
            "id", "contract", "signer", "status", "contract_status", "phone", "terms_version", "terms_accepted_at",
            "code_sent", "code_expires_at", "remaining_attempts", "sends", "resend_in", "signed_at", "ip_address",
            "user_agent", "document_sha256", "signed_document_sha256", "events", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_phone(self, obj: Signature) -> str:
        return service.mask_phone(obj.phone) if obj.phone else ""

    def get_remaining_attempts(self, obj: Signature) -> int:
        return service.remaining_attempts(obj)

    def get_resend_in(self, obj: Signature) -> int:
        return service.seconds_before_resend(obj)

    def get_code_sent(self, obj: Signature) -> bool:
        return bool(obj.code_hash)


def _ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _agent(request: Request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


@extend_schema_view(
    list=extend_schema(summary="Signatures of the organization's contracts (each with its evidence)."),
    retrieve=extend_schema(summary="A signature and its evidence (events, hashes, IP, user agent)."),
)
class SignatureViewSet(ApiViewSet):
    """The SMS-code e-signature of a contract, for an integrator acting for the signer. Reading needs
    `sales.view_contract`; every step needs `sales.change_contract`. A new code may be asked 60 s after
    the previous one, 5 times at most (429 `too_many_codes` with `Retry-After`); the 5th wrong code locks
    the signature (400 `locked`) until the contract is sent again."""

    model = Signature
    serializer_class = SignatureOut
    required_rights = {
        "list": "sales.view_contract",
        "retrieve": "sales.view_contract",
        "create": "sales.change_contract",
        "accept_terms": "sales.change_contract",
        "send_code": "sales.change_contract",
        "confirm": "sales.change_contract",
    }

    def scoped_queryset(self) -> QuerySet[Signature]:
        return selectors.signatures_for(self.request.user, self.organization).order_by("id")

    def _fresh(self, signature: Signature) -> Signature:
        return self.scoped_queryset().get(pk=signature.pk)

    @extend_schema(request=SignatureIn, responses={201: SignatureOut}, summary="Start (or resume) a signature.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(SignatureIn)
        signature = service.start_signature(
            contract=data["contract"], contact=data["signer"], ip=_ip(request), user_agent=_agent(request)
        )
        return Response(self.out(self._fresh(signature)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=SignatureOut, summary="Record the signer's acceptance of the CGV.")
    @action(detail=True, methods=["post"], url_path="accept-terms")
    def accept_terms(self, request: Request, pk: int) -> Response:
        signature = service.accept_terms(signature=self.get_object(), ip=_ip(request), user_agent=_agent(request))
        return Response(self.out(self._fresh(signature)).data)

    @extend_schema(request=None, responses=SignatureOut, summary="Send a new 6-digit code by SMS to the signer.")
    @action(detail=True, methods=["post"], url_path="send-code")
    def send_code(self, request: Request, pk: int) -> Response:
        try:
            signature = service.send_code(signature=self.get_object(), ip=_ip(request), user_agent=_agent(request))
        except service.TooManyCodes as exc:
            return Response(
                error_body(exc.code, exc.message, exc.fields),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return Response(self.out(self._fresh(signature)).data)

    @extend_schema(request=CodeIn, responses=SignatureOut, summary="Check the code: on success the contract is signed.")
    @action(detail=True, methods=["post"])
    @idempotent
    def confirm(self, request: Request, pk: int) -> Response:
        signature = self.get_object()
        data = self.validated(CodeIn)
        try:
            service.confirm_code(signature=signature, code=data["code"], ip=_ip(request), user_agent=_agent(request))
        except DomainError as exc:
            # answered, not raised: @idempotent runs the view in a transaction that an exception would roll
            # back, and a wrong code's counted try (and the lock) must stay recorded
            return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
        return Response(self.out(self._fresh(signature)).data)


ROUTES = [("signatures", SignatureViewSet, "signature")]
