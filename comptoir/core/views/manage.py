"""The back office home, the organization switcher, API tokens and the audit journal."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from comptoir.core import dashboard, rights, selectors, services, tenancy
from comptoir.core.errors import DomainError
from comptoir.core.filters import ApiTokenFilter, JournalFilter
from comptoir.core.forms import ApiTokenForm, add_domain_error
from comptoir.core.lists import Column, ListPage, bounded_count, count_label
from comptoir.core.models import ApiToken, AuditEntry
from comptoir.core.views.base import (
    action_icon,
    action_verb,
    actor_name,
    can,
    changed_field_labels,
    object_url,
    post_only,
    right_required,
    staff_required,
    to_login,
)


# --------------------------------------------------------------------------------------------------
# Home and organization switcher
# --------------------------------------------------------------------------------------------------
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: key counts, recent activity and shortcuts to the pages the viewer may open."""
    organization = request.organization  # type: ignore[attr-defined]
    user = request.user
    cards = []
    centers = bounded_count(selectors.centers_for(user, organization))
    cards.append(
        {
            "label": _("Centres"),
            "value": count_label(*centers),
            "icon": "geo-alt",
            "url": reverse("manage:center_list") if can(request, "core.view_center") else None,
        }
    )
    if can(request, "core.view_staffmembership"):
        staff = bounded_count(selectors.staff_for(user, organization).filter(is_active=True))
        cards.append(
            {
                "label": _("Collaborateurs actifs"),
                "value": count_label(*staff),
                "icon": "people",
                "url": reverse("manage:staff_list"),
            }
        )
    if can(request, "core.view_legalentity"):
        entities = bounded_count(selectors.legal_entities_for(user, organization))
        cards.append(
            {
                "label": _("Entités juridiques"),
                "value": count_label(*entities),
                "icon": "bank",
                "url": reverse("manage:legalentity_list"),
            }
        )
    recent = None
    if can(request, "core.view_auditentry"):
        recent = [
            {
                "entry": entry,
                "verb": action_verb(entry.action),
                "icon": action_icon(entry.action),
                "url": object_url(entry),
                "who": actor_name(entry.actor_label),
            }
            for entry in selectors.journal_for(user, organization)[:8]
        ]
    widgets = dashboard.widgets_for(request)
    return render(request, "core/home.html", {"cards": cards, "recent": recent, "widgets": widgets})


@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Work in another organization the user is staff of (a POST from the top bar's switcher)."""
    if not request.user.is_authenticated:
        return to_login(request)
    raw = request.POST.get("organization", "")
    if not raw.isdigit():
        raise Http404
    organization = tenancy.staff_organizations(request.user).filter(pk=int(raw)).first()  # type: ignore[arg-type]
    if organization is None or not rights.is_staff_of(request.user, organization):  # type: ignore[arg-type]
        raise Http404
    tenancy.enter(request, organization)
    messages.success(request, _("Vous travaillez maintenant dans « %(name)s ».") % {"name": organization.name})
    return redirect("manage:home")


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------
def token_status(token: ApiToken) -> tuple[str, str]:
    if token.revoked_at:
        return "secondary", _("Révoqué")
    if not token.is_active:
        return "warning", _("Expiré")
    return "success", _("Actif")


@staff_required
def apitoken_list(request: HttpRequest) -> HttpResponse:
    """Everyone lists their own tokens; holders of core.view_apitoken see the organization's."""
    sees_all = can(request, "core.view_apitoken")
    columns = [
        Column("name", gettext_lazy("Nom"), sort="name", data=True),
        Column(
            "prefix",
            gettext_lazy("Préfixe"),
            accessor=lambda token: f"cpt_{token.prefix}_…",
            css_class="font-monospace",
        ),
    ]
    if sees_all:
        columns.append(Column("user", gettext_lazy("Utilisateur"), accessor="user.email", sort="user__email"))
    columns += [
        Column("created_at", gettext_lazy("Créé le"), kind="datetime", sort="created_at"),
        Column("expires_at", gettext_lazy("Expire le"), kind="datetime", sort="expires_at"),
        Column("last_used_at", gettext_lazy("Dernière utilisation"), kind="datetime", sort="last_used_at"),
        Column(
            "status",
            gettext_lazy("Statut"),
            accessor=lambda token: token,
            template="core/apitoken/_status_cell.html",
            export=lambda token: token_status(token)[1],
        ),
        Column("actions", "", accessor=lambda token: token, template="core/apitoken/_actions_cell.html", export=False),
    ]
    return ListPage(
        request,
        queryset=selectors.api_tokens_for(request.user, request.organization),  # type: ignore[arg-type, attr-defined]
        columns=columns,
        filterset_class=ApiTokenFilter,
        search_fields=["name", "prefix", "user__email"] if sees_all else ["name", "prefix"],
        search_placeholder=gettext_lazy("Nom ou préfixe…"),
        default_sort="-created_at",
        title=gettext_lazy("Jetons d'API"),
        export_name="jetons-api" if sees_all else None,
        create_url=reverse("manage:apitoken_create") if can(request, "core.add_apitoken") else None,
        create_label=gettext_lazy("Créer un jeton"),
        empty_message=gettext_lazy("Aucun jeton d'API. Un jeton permet à un logiciel d'utiliser l'API en votre nom."),
        row_url=lambda token: None,
        intro_template="core/apitoken/_intro.html",
        extra_context={"can_delete_any": can(request, "core.delete_apitoken")},
    ).response()


@never_cache
@right_required("core.add_apitoken")
def apitoken_create(request: HttpRequest) -> HttpResponse:
    """Creates a token for the viewer and shows its value once (never stored, never shown again)."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.create_api_token(
                organization=request.organization,  # type: ignore[attr-defined]
                user=request.user,  # type: ignore[arg-type]
                by=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                expires_at=form.expiry(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            breadcrumb = [(_("Jetons d'API"), reverse("manage:apitoken_list"))]
            response = render(
                request, "core/apitoken/created.html", {"token": token, "raw": raw, "breadcrumb": breadcrumb}
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request,
        "manage/form_page.html",
        {
            "form": form,
            "title": _("Nouveau jeton d'API"),
            "intro": _(
                "Le jeton agit avec vos droits dans cette organisation. Sa valeur ne s'affiche qu'une fois : "
                "copiez-la dans le logiciel qui l'utilisera."
            ),
            "cancel_url": reverse("manage:apitoken_list"),
            "breadcrumb": [(_("Jetons d'API"), reverse("manage:apitoken_list"))],
            "submit_label": _("Créer le jeton"),
        },
    )


@staff_required
def apitoken_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(selectors.api_tokens_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]
    if refused := post_only(request):
        return refused
    try:
        services.revoke_api_token(token=token, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le jeton « %(name)s » est révoqué.") % {"name": token.name})
    return redirect("manage:apitoken_list")


# --------------------------------------------------------------------------------------------------
# Journal d'activité
# --------------------------------------------------------------------------------------------------
def _object_cell(entry: AuditEntry) -> dict[str, str | None]:
    return {"label": entry.object_repr, "url": object_url(entry)}


JOURNAL_COLUMNS = [
    Column("created_at", gettext_lazy("Date"), kind="datetime", sort="created_at"),
    Column(
        "actor",
        gettext_lazy("Auteur"),
        accessor=lambda entry: actor_name(entry.actor_label),
        export=lambda entry: entry.actor_label,
    ),
    Column(
        "action",
        gettext_lazy("Action"),
        accessor=lambda entry: {
            "verb": action_verb(entry.action),
            "code": entry.action,
            "icon": action_icon(entry.action),
        },
        template="core/journal/_action_cell.html",
        export=lambda entry: entry.action,
    ),
    Column(
        "object",
        gettext_lazy("Objet"),
        accessor=_object_cell,
        template="core/journal/_object_cell.html",
        export=lambda entry: entry.object_repr,
    ),
    Column(
        "fields",
        gettext_lazy("Champs modifiés"),
        accessor=changed_field_labels,
        export=lambda entry: json.dumps(entry.changes, ensure_ascii=False),
    ),
]


@right_required("core.view_auditentry")
def journal_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=selectors.journal_for(request.user, request.organization),  # type: ignore[arg-type, attr-defined]
        columns=JOURNAL_COLUMNS,
        filterset_class=JournalFilter,
        search_fields=["object_repr", "actor_label"],
        search_placeholder=gettext_lazy("Objet ou auteur…"),
        default_sort="-created_at",
        title=gettext_lazy("Journal d'activité"),
        export_name="journal",
        row_url=lambda entry: None,
        empty_message=gettext_lazy("Aucune activité enregistrée."),
    ).response()
