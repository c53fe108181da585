"""Paramètres → Conditions générales: the versions of the general terms of sale (CGV). Publishing makes a
new version; a published version is never edited (contracts keep the version they were made with)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, register_object_url, right_required
from comptoir.sales.forms_contracts import TermsForm
from comptoir.sales.selectors import contracts as selectors
from comptoir.sales.services import terms as services

register_object_url("sales.terms", "sales:terms_detail")
ACTION_VERBS.setdefault("published", gettext_lazy("Publication"))
ACTION_ICONS.setdefault("published", "megaphone")

MENU = [Entry("settings", gettext_lazy("Conditions générales"), "sales:terms_list", "sales.view_terms", 60,
              "file-earmark-ruled")]  # fmt: skip


def _breadcrumb() -> list[tuple[str, str]]:
    return [(_("Conditions générales"), reverse("sales:terms_list"))]


@right_required("sales.view_terms")
def terms_list(request: HttpRequest) -> HttpResponse:
    versions = selectors.terms_for(request.user, request.organization).order_by("-version")  # type: ignore[attr-defined]
    return render(
        request,
        "sales/terms/list.html",
        {"versions": versions, "title": _("Conditions générales"), "can_add": can(request, "sales.add_terms")},
    )


@right_required("sales.add_terms")
def terms_create(request: HttpRequest) -> HttpResponse:
    current = services.current_terms(request.organization)  # type: ignore[attr-defined]
    form = TermsForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            terms = services.publish_terms(
                organization=request.organization,  # type: ignore[attr-defined]
                by=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Version %(version)s publiée.") % {"version": terms.version})
            return redirect("sales:terms_detail", terms.pk)
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Publier une nouvelle version"),
            "intro": _("Les contrats déjà créés gardent la version avec laquelle ils ont été faits."),
            "cancel_url": reverse("sales:terms_list"),
            "breadcrumb": _breadcrumb(),
            "submit_label": _("Publier"),
        },
    )


@right_required("sales.view_terms")
def terms_detail(request: HttpRequest, pk: int) -> HttpResponse:
    terms = get_object_or_404(selectors.terms_for(request.user, request.organization), pk=pk)  # type: ignore[attr-defined]
    return render(
        request,
        "sales/terms/detail.html",
        {"terms": terms, "breadcrumb": _breadcrumb(), "paragraphs": [p for p in terms.body.split("\n") if p.strip()]},
    )


urlpatterns = [
    path("terms/", terms_list, name="terms_list"),
    path("terms/new/", terms_create, name="terms_create"),
    path("terms/<int:pk>/", terms_detail, name="terms_detail"),
]
