"""REST endpoints of SEPA mandates under /api/v1/mandates/.

    GET  /mandates/                 list (company, status), newest first
    POST /mandates/                 create a mandate to sign (pending)                         Idempotency-Key
    GET  /mandates/{id}/            one mandate (IBAN masked), with its signature evidence
    POST /mandates/{id}/revoke/     revoke it

Signing happens in the client portal (a company administrator, with a code received by SMS): an integrator creates
the mandate, the member signs it in « Mon entreprise → Moyens de paiement ». Views hold no rules: shapes in, one
service (comptoir.payments.services.mandates), shapes out.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.models import LegalEntity
from comptoir.core.selectors import legal_entities_for
from comptoir.crm.models import Company
from comptoir.crm.selectors.companies import companies_for
from comptoir.payments.models import Mandate
from comptoir.payments.services import mandates as services

MAX_ID = 2**63 - 1  # a larger id would overflow the database's integer


class MandateFilter(django_filters.FilterSet):
    company = django_filters.NumberFilter(
        field_name="company_id", min_value=1, max_value=MAX_ID, help_text="Id of the company."
    )
    status = django_filters.ChoiceFilter(choices=Mandate.Status.choices, help_text="pending, active or revoked.")

    class Meta:
        model = Mandate
        fields = ["company", "status"]


class MandateOut(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)
    iban = serializers.CharField(source="masked_iban", read_only=True, help_text="Masked: FR76 •••• 0189.")
    creditor_id = serializers.CharField(source="legal_entity.sepa_creditor_id", read_only=True,
                                        help_text="SEPA creditor identifier of the creditor (legal entity).")  # fmt: skip
    status = serializers.CharField(read_only=True, help_text="pending (to sign in the portal), active or revoked.")
    signature_evidence = serializers.SerializerMethodField(
        help_text="Once signed: signer, masked phone, IP address, user agent, time, and the signing steps."
    )

    class Meta:
        model = Mandate
        fields = [
            "id", "reference", "company", "company_name", "legal_entity", "creditor_id", "account_holder", "iban",
            "bic", "scheme", "status", "signer", "signed_on", "signed_at", "signature_evidence",
            "first_collected_on", "revoked_on", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_signature_evidence(self, mandate: Mandate) -> dict[str, Any]:
        return dict(mandate.signature_evidence or {})


class MandateIn(InSerializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the debtor company.")
    account_holder = serializers.CharField(max_length=70)
    iban = serializers.CharField(max_length=50, help_text="Spaces allowed; stored compact, upper case.")
    bic = serializers.CharField(max_length=15, required=False, allow_blank=True,
                                help_text="Default: found from the IBAN when the bank is known.")  # fmt: skip
    scheme = serializers.ChoiceField(choices=Mandate.Scheme.choices, required=False, help_text="CORE (default) or B2B.")
    legal_entity = ScopedPrimaryKeyField(model=LegalEntity, selector=legal_entities_for, required=False,
                                         allow_null=True, help_text="The creditor; default: the legal entity of the "
                                         "company's running contract, else of its center.")  # fmt: skip


class RevokeIn(InSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


@extend_schema_view(
    list=extend_schema(summary="SEPA direct-debit mandates, newest first."),
    retrieve=extend_schema(summary="A SEPA mandate (IBAN masked), with its signature evidence."),
)
class MandateViewSet(ApiViewSet):
    """SEPA direct-debit mandates of the client companies: a unique mandate reference (RUM), the debtor's account
    and the creditor (legal entity with its SEPA creditor identifier). A mandate is created pending and signed in
    the client portal by a company administrator (SMS code); only an active mandate is used for debits. Rights:
    `payments.view_mandate`, `payments.add_mandate`, `payments.change_mandate` (revoke)."""

    model = Mandate
    serializer_class = MandateOut
    filterset_class = MandateFilter
    cursor_ordering = ("-created_at", "-id")
    required_rights = {
        "list": "payments.view_mandate",
        "retrieve": "payments.view_mandate",
        "create": "payments.add_mandate",
        "revoke": "payments.change_mandate",
    }

    def scoped_queryset(self) -> QuerySet[Mandate]:
        return services.mandates_for(self.request.user, self.organization)  # type: ignore[arg-type]

    @extend_schema(request=MandateIn, responses={201: MandateOut}, summary="Create a mandate to sign (pending).",
                   description="400 at `iban` / `bic` for a wrong IBAN (checksum) or BIC, `no_creditor_id` when the "
                   "creditor has no SEPA creditor identifier.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(MandateIn)
        company = data.pop("company")
        if data.get("legal_entity") is None:
            data.pop("legal_entity", None)
        mandate = services.create_mandate(company=company, by=request.user, data=data)  # type: ignore[arg-type]
        return Response(self.out(self.scoped_queryset().get(pk=mandate.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeIn, responses=MandateOut, summary="Revoke a mandate (no new debit under it).",
                   description="400 `already_revoked`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: int) -> Response:
        mandate = self.get_object()
        data = self.validated(RevokeIn)
        services.revoke_mandate(mandate=mandate, by=request.user, reason=data.get("reason", ""))  # type: ignore[arg-type]
        return Response(self.out(self.scoped_queryset().get(pk=mandate.pk)).data)


ROUTES = [("mandates", MandateViewSet, "mandate")]
