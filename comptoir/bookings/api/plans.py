"""REST endpoints of plans and credits (desk « Formules »; DESIGN invariants 6 and 12).

    GET  /plans/                 plan assignments (company, contact, plan, status)
    POST /plans/                 assign a plan to a company or one of its members (first credits granted)  Idempotency-Key
    GET  /plans/{id}/            one assignment
    POST /plans/{id}/end/        end it (credits granted stay valid to their end)
    GET  /credits/?company=&contact=&day=    the holder's balance on a day, its valid grants and its ledger
    POST /credits/               give credits by hand (a commercial gesture)                          Idempotency-Key

The ledger is append-only (grant, spend, refund, expire): nothing here changes or deletes an entry.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.bookings.api import common
from comptoir.bookings.api.bookings import _companies, _contacts
from comptoir.bookings.models import CreditEntry, PlanAssignment
from comptoir.bookings.services import credits as services
from comptoir.catalog.models import Product
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.models import Organization
from comptoir.crm.models import Company, Contact
from comptoir.crm.selectors.companies import companies_for, contacts_for

LEDGER_ROWS = 200


# --------------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------------
class PlanApiFilter(django_filters.FilterSet):
    api_help = {
        "company": "Id of the company.",
        "contact": "Id of the member.",
        "status": "active, ended or cancelled.",
    }
    company = django_filters.ModelChoiceFilter(queryset=_companies)
    contact = django_filters.ModelChoiceFilter(queryset=_contacts)
    status = django_filters.ChoiceFilter(choices=PlanAssignment.Status.choices)

    class Meta:
        model = PlanAssignment
        fields = ["company", "contact", "status"]


class PlanAssignmentOut(serializers.ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    plan_type = serializers.CharField(source="plan.plan_type", read_only=True,
                                      help_text="subscription, pack or domiciliation.")  # fmt: skip
    credits = serializers.DecimalField(source="plan.credits", max_digits=12, decimal_places=2, read_only=True,
                                       allow_null=True, help_text="Credits the plan grants per period (or once).")  # fmt: skip

    class Meta:
        model = PlanAssignment
        fields = ["id", "company", "company_name", "contact", "plan", "plan_name", "plan_type", "credits",
                  "starts_on", "ends_on", "status", "invoice", "created_at", "created_by"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"contact": {"help_text": "Id of the member who holds it; null: the whole company."}}


class PlanIn(InSerializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the company.")
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of one of its members; empty: the whole company.")  # fmt: skip
    plan = ScopedPrimaryKeyField(model=Product, selector=common.plan_products_for,
                                 help_text="Id of a catalog product of kind plan (subscription, pack, domiciliation).")  # fmt: skip
    starts_on = common.BoundedDateField(required=False, help_text="Default: today.")
    ends_on = common.BoundedDateField(required=False, allow_null=True,
                                      help_text="Last day (a pack: its validity by default).")  # fmt: skip


class EndPlanIn(InSerializer):
    ends_on = common.BoundedDateField(required=False, help_text="Last day (default: today).")


@extend_schema_view(
    list=extend_schema(summary="Plans assigned to companies and members, newest first."),
    retrieve=extend_schema(summary="A plan assignment."),
)
class PlanAssignmentViewSet(ApiViewSet):
    """Plans (catalog products of kind « Formule »: subscription, pack of credits, domiciliation) held by a company
    or one of its members. A subscription grants its credits each period while it runs (exactly once per period); a
    pack grants them once, valid for its days. Rights: `bookings.view_planassignment`,
    `bookings.add_planassignment`, `bookings.change_planassignment` (end)."""

    model = PlanAssignment
    serializer_class = PlanAssignmentOut
    filterset_class = PlanApiFilter
    cursor_ordering = ("-id",)
    required_rights = {
        "list": "bookings.view_planassignment",
        "retrieve": "bookings.view_planassignment",
        "create": "bookings.add_planassignment",
        "end": "bookings.change_planassignment",
    }

    def scoped_queryset(self) -> QuerySet[PlanAssignment]:
        return common.plans_for(self.request.user, self.organization)

    def _answer(self, assignment: PlanAssignment, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.out(self.scoped_queryset().get(pk=assignment.pk)).data, status=code)

    @extend_schema(request=PlanIn, responses={201: PlanAssignmentOut}, summary="Assign a plan.",
                   description="Its first period's credits are granted at once. 400 `inactive_plan`, `wrong_contact`, "
                   "`ends_before_start`.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(PlanIn)
        company = data.pop("company")
        assignment = services.assign_plan(company=company, by=request.user, data=data)
        return self._answer(assignment, status.HTTP_201_CREATED)

    @extend_schema(
        request=EndPlanIn,
        responses=PlanAssignmentOut,
        summary="End a plan.",
        description="No period starts after its last day. 400 `not_active`, `ends_before_start`.",
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: int) -> Response:
        assignment = self.get_object()
        data = self.validated(EndPlanIn)
        assignment = services.end_plan(assignment=assignment, by=request.user, ends_on=data.get("ends_on"))
        return self._answer(assignment)


# --------------------------------------------------------------------------------------------------
# Credits
# --------------------------------------------------------------------------------------------------
class CreditEntryOut(serializers.ModelSerializer):
    class Meta:
        model = CreditEntry
        fields = ["id", "kind", "amount", "contact", "valid_from", "valid_until", "grant", "assignment", "booking",
                  "note", "created_at", "created_by"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "kind": {"help_text": "grant, spend, refund or expire."},
            "amount": {"help_text": "Positive for a grant or a refund, negative for a spend or an expiry."},
            "grant": {"help_text": "The grant a spend, a refund or an expiry draws on."},
        }


class GrantOut(serializers.Serializer):
    grant = serializers.IntegerField(help_text="Id of the grant entry.")
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Credits granted.")
    remaining = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Credits left to spend.")


class CreditsOut(serializers.Serializer):
    company = serializers.IntegerField()
    contact = serializers.IntegerField(allow_null=True)
    day = serializers.DateField()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2,
                                       help_text="Credits spendable on `day` (the company's shared ones and the "
                                       "member's own).")  # fmt: skip
    grants = GrantOut(many=True, help_text="The grants valid on `day` that hold credits, soonest-expiring first.")
    entries = CreditEntryOut(many=True, help_text=f"The ledger, newest first (at most {LEDGER_ROWS}).")
    entries_truncated = serializers.BooleanField(help_text="More entries than shown.")


class CreditsQuery(serializers.Serializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the company.")
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False,
                                    help_text="Id of one of its members: their own credits and the company's.")  # fmt: skip
    day = common.BoundedDateField(required=False, help_text="The balance on this day (default: today).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        contact = attrs.get("contact")
        if contact is not None and contact.company_id != attrs["company"].pk:
            raise serializers.ValidationError({"contact": [_("Ce membre n'appartient pas à cette entreprise.")]})
        return attrs


class GestureIn(InSerializer):
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, help_text="Id of the company.")
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of one of its members; empty: the whole company.")  # fmt: skip
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                                      max_value=Decimal("1000000"), help_text="Credits given, positive.")  # fmt: skip
    days = serializers.IntegerField(required=False, min_value=1, max_value=3660,
                                    help_text="Validity in days from today (default 365).")  # fmt: skip
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)


class CreditViewSet(viewsets.GenericViewSet):
    """The credit ledger of a company (or one of its members) and its balance; credits given by hand. Rights:
    `bookings.view_creditentry`, `bookings.add_creditentry`."""

    model = CreditEntry
    queryset = CreditEntry.objects.none()
    pagination_class = None
    filter_backends: list[type] = []
    required_rights = {"list": "bookings.view_creditentry", "create": "bookings.add_creditentry"}

    @property
    def organization(self) -> Organization:
        return self.request._request.organization  # type: ignore[attr-defined]

    @extend_schema(parameters=[CreditsQuery], responses=CreditsOut, summary="A holder's credit balance and ledger.")
    def list(self, request: Request) -> Response:
        query = CreditsQuery(data=request.query_params.dict(), context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        company, contact = query.validated_data["company"], query.validated_data.get("contact")
        day: datetime.date = query.validated_data.get("day") or timezone.localdate()
        grants = services.grants_valid_on(company, contact, day)
        entries = list(services.ledger(company, contact)[: LEDGER_ROWS + 1])
        return Response(CreditsOut({
            "company": company.pk, "contact": contact.pk if contact else None, "day": day,
            "balance": sum((row.remaining for row in grants), services.ZERO),
            "grants": [{"grant": row.grant.pk, "valid_from": row.grant.valid_from, "valid_until": row.grant.valid_until,
                        "amount": row.grant.amount, "remaining": row.remaining} for row in grants],
            "entries": entries[:LEDGER_ROWS], "entries_truncated": len(entries) > LEDGER_ROWS,
        }).data)  # fmt: skip

    @extend_schema(request=GestureIn, responses={201: CreditEntryOut}, summary="Give credits (a commercial gesture).",
                   description="A grant valid from today for `days`. 400 `wrong_contact`, `invalid_number`.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = GestureIn(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        company = data.pop("company")
        entry = services.grant_gesture(company=company, by=request.user, data=data)  # type: ignore[arg-type]
        return Response(CreditEntryOut(entry).data, status=status.HTTP_201_CREATED)


ROUTES = [("plans", PlanAssignmentViewSet, "plan"), ("credits", CreditViewSet, "credit")]
