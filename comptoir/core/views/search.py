"""Global search (header box and results page): the groups of `comptoir.core.search`, filled by the apps."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from comptoir.core import search as global_search
from comptoir.core.views.base import staff_required

DROPDOWN_LIMIT = 5
PAGE_LIMIT = 20


@staff_required
def search(request: HttpRequest) -> HttpResponse:
    """GET /manage/search/?q=...: the header's drop-down (HTMX request from the box) or the full page."""
    query = global_search.clean_query(request.GET.get("q"))
    dropdown = bool(getattr(request, "htmx", False)) and request.GET.get("dropdown") == "1"
    groups = global_search.search(
        user=request.user,
        organization=request.organization,  # type: ignore[attr-defined]
        query=query,
        limit_per_kind=DROPDOWN_LIMIT if dropdown else PAGE_LIMIT,
    )
    context = {
        "query": query,
        "groups": groups,
        "too_short": 0 < len(query) < global_search.MIN_QUERY_LENGTH,
        "title": _("Recherche"),
    }
    template = "core/search/_dropdown.html" if dropdown else "core/search/results.html"
    return render(request, template, context)
