"""REST endpoints of the core app under /api/v1/: organizations, legal entities, centers, staff, roles,
API tokens and the audit journal.

Views hold no rules: they validate the shape of the input (`XxxIn`), call one service, and shape the
output (`XxxOut`). Every queryset comes from a tenant-scoped selector with the token's user and
organization, so another organization's object answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core import rights, selectors, services
from comptoir.core.api import filters
from comptoir.core.api.errors import error_body
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.permissions import ANY_STAFF
from comptoir.core.api.serializers import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    AuditEntryOut,
    CenterIn,
    CenterOut,
    LegalEntityIn,
    LegalEntityOut,
    OrganizationIn,
    OrganizationOut,
    RoleOut,
    RoleRightsIn,
    StaffCreateIn,
    StaffOut,
    StaffUpdateIn,
)
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import ApiToken, AuditEntry, Center, LegalEntity, Organization, Role, StaffMembership

from . import schema as _schema  # noqa: F401  (registers the Bearer security scheme)


class ApiViewSet(viewsets.GenericViewSet):
    # Base of every Comptoir API viewset: integer ids, rights per action, selector-based querysets.
    # Subclasses set `model`, `serializer_class` (the Out serializer), `required_rights` and implement
    # `scoped_queryset()` with a selector. Their docstring is the resource's description in the docs.

    model: type[Model]
    lookup_value_converter = "int"
    required_rights: dict[str, str | None] = {}
    cursor_ordering: str | tuple[str, ...] = "id"

    @property
    def queryset(self) -> QuerySet:  # type: ignore[override]
        # Read by the schema generator and the permission fallback; requests go through get_queryset().
        return self.model.objects.none()

    def scoped_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.scoped_queryset()

    @property
    def organization(self) -> Organization:
        return self.request._request.organization  # type: ignore[attr-defined]

    def validated(self, serializer_class: type[serializers.Serializer], *, partial: bool = False) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def out(self, obj: Any, *, serializer_class: type[serializers.Serializer] | None = None, **kwargs: Any) -> Any:
        return (serializer_class or self.get_serializer_class())(obj, context=self.get_serializer_context(), **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.out(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.out(self.get_object()).data)


def _read(right: str) -> dict[str, str | None]:
    return {"list": right, "retrieve": right}


# --------------------------------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="The token's organization (a list of one)."),
    retrieve=extend_schema(summary="An organization."),
)
class OrganizationViewSet(ApiViewSet):
    """The operator's account the token belongs to. Needs `core.view_organization`; changes need
    `core.change_organization`."""

    model = Organization
    serializer_class = OrganizationOut
    required_rights = {**_read("core.view_organization"), "partial_update": "core.change_organization"}

    def scoped_queryset(self) -> QuerySet[Organization]:
        return selectors.organizations_for(self.request.user).filter(pk=self.organization.pk)

    @extend_schema(request=OrganizationIn, responses=OrganizationOut, summary="Change the organization's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        organization = self.get_object()
        data = self.validated(OrganizationIn, partial=True)
        organization = services.update_organization(organization=organization, by=request.user, data=data)
        return Response(self.out(organization).data)


# --------------------------------------------------------------------------------------------------
# Legal entities
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Legal entities (the companies that issue invoices)."),
    retrieve=extend_schema(summary="A legal entity."),
)
class LegalEntityViewSet(ApiViewSet):
    """Legal entities: the operator's companies that issue invoices (SIREN, VAT number, IBAN, SEPA creditor
    id...). Rights: `core.view_legalentity`, `core.add_legalentity`, `core.change_legalentity`."""

    model = LegalEntity
    serializer_class = LegalEntityOut
    filterset_class = filters.LegalEntityFilter
    required_rights = {
        **_read("core.view_legalentity"),
        "create": "core.add_legalentity",
        "update": "core.change_legalentity",
        "partial_update": "core.change_legalentity",
    }

    def scoped_queryset(self) -> QuerySet[LegalEntity]:
        return selectors.legal_entities_for(self.request.user, self.organization)

    def _fresh(self, entity: LegalEntity) -> LegalEntity:
        return self.scoped_queryset().get(pk=entity.pk)

    @extend_schema(request=LegalEntityIn, responses={201: LegalEntityOut}, summary="Create a legal entity.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(LegalEntityIn)
        entity = services.create_legal_entity(organization=self.organization, by=request.user, data=data)
        return Response(self.out(self._fresh(entity)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LegalEntityIn, responses=LegalEntityOut, summary="Replace a legal entity's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=LegalEntityIn, responses=LegalEntityOut, summary="Change some of a legal entity's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        entity = self.get_object()
        data = self.validated(LegalEntityIn, partial=partial)
        entity = services.update_legal_entity(entity=entity, by=self.request.user, data=data)
        return Response(self.out(self._fresh(entity)).data)


# --------------------------------------------------------------------------------------------------
# Centers
# --------------------------------------------------------------------------------------------------
def _intervals(hours: list[dict[str, Any]] | None) -> list[services.OpeningInterval] | None:
    if hours is None:
        return None
    return [(item["weekday"], item["opens_at"], item["closes_at"]) for item in hours]


@extend_schema_view(
    list=extend_schema(summary="Centers (sites) the token's user may work in."),
    retrieve=extend_schema(summary="A center, with its opening hours."),
)
class CenterViewSet(ApiViewSet):
    """Centers: the operator's sites, each invoiced by one legal entity, with a time zone and opening hours.
    Staff limited to some centers see only those. Rights: `core.view_center`, `core.add_center`,
    `core.change_center`."""

    model = Center
    serializer_class = CenterOut
    filterset_class = filters.CenterFilter
    required_rights = {
        **_read("core.view_center"),
        "create": "core.add_center",
        "update": "core.change_center",
        "partial_update": "core.change_center",
    }

    def scoped_queryset(self) -> QuerySet[Center]:
        return selectors.center_with_hours(selectors.centers_for(self.request.user, self.organization))

    @extend_schema(request=CenterIn, responses={201: CenterOut}, summary="Create a center.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(CenterIn)
        hours = _intervals(data.pop("opening_hours", None))
        center = services.create_center(organization=self.organization, by=request.user, data=data, opening_hours=hours)
        return Response(self.out(center).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CenterIn, responses=CenterOut, summary="Replace a center's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=CenterIn, responses=CenterOut, summary="Change some of a center's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        center = self.get_object()
        data = self.validated(CenterIn, partial=partial)
        hours = _intervals(data.pop("opening_hours", None))
        with transaction.atomic():  # details and hours change together or not at all
            center = services.update_center(center=center, by=self.request.user, data=data)
            if hours is not None:
                center = services.set_opening_hours(center=center, by=self.request.user, intervals=hours)
        return Response(self.out(center).data)


# --------------------------------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Staff members of the organization."),
    retrieve=extend_schema(summary="A staff member."),
)
class StaffViewSet(ApiViewSet):
    """Staff members: a person's role in the organization, optionally limited to some centers. Nobody
    grants a role holding rights they do not hold themselves (`escalation`). Rights:
    `core.view_staffmembership`, `core.add_staffmembership`, `core.change_staffmembership`."""

    model = StaffMembership
    serializer_class = StaffOut
    filterset_class = filters.StaffFilter
    required_rights = {
        **_read("core.view_staffmembership"),
        "create": "core.add_staffmembership",
        "update": "core.change_staffmembership",
        "partial_update": "core.change_staffmembership",
    }

    def scoped_queryset(self) -> QuerySet[StaffMembership]:
        return selectors.staff_for(self.request.user, self.organization)

    def _fresh(self, staff: StaffMembership) -> StaffMembership:
        return self.scoped_queryset().get(pk=staff.pk)

    @extend_schema(
        request=StaffCreateIn,
        responses={201: StaffOut},
        summary="Add a staff member (creates the account and e-mails the activation link when the e-mail is new).",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(StaffCreateIn)
        staff = services.add_staff_member(
            organization=self.organization,
            by=request.user,
            email=data["email"],
            role=data["role"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            phone=data["phone"],
            job_title=data["job_title"],
            centers=data.get("centers", []),
            send_activation=data["send_activation"],
        )
        return Response(self.out(self._fresh(staff)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StaffUpdateIn, responses=StaffOut, summary="Replace a staff member's role and access.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=StaffUpdateIn, responses=StaffOut, summary="Change a staff member's role or access.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        staff = self.get_object()
        data = self.validated(StaffUpdateIn, partial=partial)
        staff = services.update_staff_member(staff=staff, by=self.request.user, data=data)
        return Response(self.out(self._fresh(staff)).data)


# --------------------------------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Staff roles, with their rights."),
    retrieve=extend_schema(summary="A role, with its rights."),
)
class RoleViewSet(ApiViewSet):
    """Staff roles and their rights ("app_label.codename" strings). Rights: `core.view_role`,
    `core.change_role` to replace a role's rights."""

    model = Role
    serializer_class = RoleOut
    required_rights = {**_read("core.view_role"), "set_rights": "core.change_role"}

    def scoped_queryset(self) -> QuerySet[Role]:
        return selectors.roles_for(self.request.user, self.organization).prefetch_related(
            Prefetch("permissions", queryset=rights.module_permissions())
        )

    @extend_schema(
        request=RoleRightsIn,
        responses=RoleOut,
        summary="Replace a role's rights.",
        description="Only rights the token's user holds can be added (`escalation` otherwise, 403); "
        "the administrator role always holds every right (`fixed_role`).",
    )
    @action(detail=True, methods=["post"], url_path="rights", url_name="rights")
    def set_rights(self, request: Request, pk: int) -> Response:
        role = self.get_object()
        data = self.validated(RoleRightsIn)
        try:
            role = services.set_role_rights(role=role, by=request.user, permission_names=data["rights"])
        except ValidationFailed as exc:
            if "permissions" in exc.fields:
                exc.fields["rights"] = exc.fields.pop("permissions")
            raise
        return Response(self.out(self.scoped_queryset().get(pk=role.pk)).data)


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="The API tokens of the token's user."),
    retrieve=extend_schema(summary="One of the user's API tokens (never its raw value)."),
)
class ApiTokenViewSet(ApiViewSet):
    """API tokens of the token's own user. Creating one needs `core.add_apitoken`; listing and revoking
    one's own tokens needs no particular right. Only a hash of each token is stored."""

    model = ApiToken
    serializer_class = ApiTokenOut
    cursor_ordering = "-id"
    required_rights = {**_read(ANY_STAFF), "create": "core.add_apitoken", "revoke": ANY_STAFF}  # type: ignore[dict-item]

    def scoped_queryset(self) -> QuerySet[ApiToken]:
        return selectors.api_tokens_for(self.request.user, self.organization).filter(user=self.request.user)

    @extend_schema(
        request=ApiTokenIn,
        responses={201: ApiTokenCreatedOut},
        summary="Create an API token for the token's user; the raw value is in the answer, once.",
    )
    @idempotent(secret_fields=["token"])
    def create(self, request: Request) -> Response:
        data = self.validated(ApiTokenIn)
        token, raw = services.create_api_token(
            organization=self.organization,
            user=request.user,
            by=request.user,
            name=data["name"],
            expires_at=data.get("expires_at"),
        )
        body = self.out(token, serializer_class=ApiTokenCreatedOut).data
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenOut, summary="Revoke a token (at once, for good).")
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: int) -> Response:
        token = services.revoke_api_token(token=self.get_object(), by=request.user)
        return Response(self.out(token).data)


# --------------------------------------------------------------------------------------------------
# Audit journal
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="The audit journal, newest first."),
    retrieve=extend_schema(summary="One journal entry."),
)
class AuditEntryViewSet(ApiViewSet):
    """The audit journal: who changed what, on which object, which fields (before / after), when.
    Read-only; needs `core.view_auditentry`."""

    model = AuditEntry
    serializer_class = AuditEntryOut
    filterset_class = filters.AuditEntryFilter
    cursor_ordering = "-id"
    required_rights = _read("core.view_auditentry")

    def scoped_queryset(self) -> QuerySet[AuditEntry]:
        return selectors.journal_for(self.request.user, self.organization)


# --------------------------------------------------------------------------------------------------
# Public: root, schema, docs
# --------------------------------------------------------------------------------------------------
class JsonErrorsMixin:
    # The schema (YAML) and docs (HTML) views render their errors (405, 429) as JSON like the rest of the API.

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        response = super().handle_exception(exc)  # type: ignore[misc]
        json_response = JsonResponse(response.data, status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                json_response[header] = response[header]
        return json_response


class PublicSchemaView(JsonErrorsMixin, SpectacularAPIView):
    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]


class PublicDocsView(JsonErrorsMixin, SpectacularSwaggerView):
    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]
    url_name = "api:schema"


@csrf_exempt
def api_root(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/: where the schema and the docs are."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse(
            error_body("method_not_allowed", _("Méthode « %(method)s » non autorisée.") % {"method": request.method}),
            status=405,
        )
        response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse(
        {
            "name": "Comptoir API",
            "version": "v1",
            "schema": request.build_absolute_uri(reverse("api:schema")),
            "docs": request.build_absolute_uri(reverse("api:docs")),
        }
    )
