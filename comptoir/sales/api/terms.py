"""REST endpoints of the general terms of sale (CGV) under /api/v1/terms/: the versions, and publishing a
new one (a published version is never changed)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer
from comptoir.core.api.views import ApiViewSet
from comptoir.sales.models import Terms
from comptoir.sales.selectors import contracts as selectors
from comptoir.sales.services import terms as services


class TermsOut(serializers.ModelSerializer):
    class Meta:
        model = Terms
        fields = ["id", "version", "title", "body", "published_at"]
        read_only_fields = fields


class TermsIn(InSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=200000)


@extend_schema_view(
    list=extend_schema(summary="Versions of the general terms of sale, newest first."),
    retrieve=extend_schema(summary="One version of the general terms of sale."),
)
class TermsViewSet(ApiViewSet):
    """General terms of sale (CGV), versioned: each publication is version n+1; contracts keep theirs.
    Rights: `sales.view_terms`, `sales.add_terms`."""

    model = Terms
    serializer_class = TermsOut
    required_rights = {"list": "sales.view_terms", "retrieve": "sales.view_terms", "create": "sales.add_terms"}

    def scoped_queryset(self) -> QuerySet[Terms]:
        return selectors.terms_for(self.request.user, self.organization).order_by("-version")

    @extend_schema(request=TermsIn, responses={201: TermsOut}, summary="Publish a new version.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(TermsIn)
        terms = services.publish_terms(
            organization=self.organization, by=request.user, title=data.get("title", ""), body=data["body"]
        )
        return Response(self.out(terms).data, status=status.HTTP_201_CREATED)


ROUTES = [("terms", TermsViewSet, "terms")]
