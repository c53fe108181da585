"""GET /api/v1/search/?q=...: the global search of the back office header, as JSON."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core import search as global_search
from comptoir.core.api.permissions import ANY_STAFF

DEFAULT_LIMIT = 8
MAX_LIMIT = 50


class SearchHitOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    sublabel = serializers.CharField()
    url = serializers.CharField(help_text="Back office page of the result (empty when there is none).")
    reference = serializers.CharField(help_text="PR-000123 / CL-000123 (of the contact's company for a contact).")


class SearchGroupOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    has_more = serializers.BooleanField(help_text="More results exist than returned (counts are never exact).")
    results = SearchHitOut(many=True)


class SearchOut(serializers.Serializer):
    query = serializers.CharField()
    groups = SearchGroupOut(many=True)


class SearchViewSet(viewsets.ViewSet):
    """Global search: companies and prospects (name, e-mail, phone fragment, reference PR-/CL-), contacts
    (name, e-mail, phone fragment in any formatting), grouped by kind, limited to what the token's user may
    see. Any staff member; each kind needs its view right (crm.view_company, crm.view_contact)."""

    required_rights = {"list": ANY_STAFF}

    @extend_schema(
        summary="Search companies, prospects and contacts.",
        parameters=[
            OpenApiParameter("q", str, description="At least 2 characters; at most 100 are used.", required=True),
            OpenApiParameter("limit", int, description=f"Results per kind, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
        ],
        responses=SearchOut,
    )
    def list(self, request: Request) -> Response:
        try:
            limit = min(MAX_LIMIT, max(1, int(request.query_params.get("limit", DEFAULT_LIMIT))))
        except ValueError:
            limit = DEFAULT_LIMIT
        query = global_search.clean_query(request.query_params.get("q"))
        groups = global_search.search(
            user=request.user,
            organization=request._request.organization,  # type: ignore[attr-defined]
            query=query,
            limit_per_kind=limit,
        )
        return Response({"query": query, "groups": [group.as_dict() for group in groups]})
