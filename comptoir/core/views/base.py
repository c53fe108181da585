"""Building blocks of every back office view: access decorators, detail-page tabs, the timeline.

    @right_required("core.view_center")          # login + staff of request.organization + the right
    def center_detail(request, pk):
        center = get_object_or_404(selectors.centers_for(request.user, request.organization), pk=pk)
        ...

Views check rights to answer 403 early and to hide what the viewer may not do; the services check
them again, so a forged request changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_time
from django.utils.formats import date_format, time_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django_htmx.http import HttpResponseClientRedirect

from comptoir.core import rights, selectors, tenancy
from comptoir.core.models import AuditEntry

View = Callable[..., HttpResponse]


# --------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------
def to_login(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(f"{reverse('accounts:login')}?next={request.htmx.current_url_abs_path or ''}")
    return redirect_to_login(request.get_full_path())


def staff_required(view: View) -> View:
    """Logged in (else the login page) and staff of the organization the session works in (else 403).

    Replaces the lazy `request.organization` by the organization itself for the rest of the request.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return to_login(request)
        organization = tenancy.session_organization(request)
        request.organization = organization  # type: ignore[attr-defined]
        if organization is None or not rights.is_staff_of(request.user, organization):
            raise PermissionDenied(_("Cet espace est réservé au staff de l'organisation."))
        return view(request, *args, **kwargs)

    wrapper.staff_required = True  # type: ignore[attr-defined]
    return wrapper


def right_required(*perms: str) -> Callable[[View], View]:
    """staff_required, plus every listed right in the current organization (else 403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            for perm in perms:
                if not rights.has_right(request.user, perm, request.organization):  # type: ignore[attr-defined]
                    raise PermissionDenied(_("Vous n'avez pas le droit d'accéder à cette page."))
            return view(request, *args, **kwargs)

        guarded = staff_required(checked)
        guarded.required_rights = perms  # type: ignore[attr-defined]
        return guarded

    return decorator


def require_right(request: HttpRequest, perm: str) -> None:
    """The same check inside a view (for a POST that needs more than the page's GET)."""
    if not rights.has_right(request.user, perm, request.organization):  # type: ignore[arg-type, attr-defined]
        raise PermissionDenied(_("Vous n'avez pas le droit d'effectuer cette action."))


def can(request: HttpRequest, perm: str) -> bool:
    return rights.has_right(request.user, perm, request.organization)  # type: ignore[arg-type, attr-defined]


def post_only(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but POST — called after the object was fetched, so a foreign pk still answers 404."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


# --------------------------------------------------------------------------------------------------
# Detail pages ("fiches")
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tab:
    """A tab of a detail page: rendered inline from `template`, or loaded by HTMX from `url`."""

    key: str
    label: Promise | str
    template: str | None = None
    url: str | None = None
    count: int | None = None


# --------------------------------------------------------------------------------------------------
# Timeline (the audit journal of one object)
# --------------------------------------------------------------------------------------------------
ACTION_VERBS: dict[str, Promise] = {
    "created": gettext_lazy("Création"),
    "updated": gettext_lazy("Modification"),
    "deleted": pgettext_lazy("journal", "Suppression"),  # context: "Deleted", not the right "Delete"
    "added": pgettext_lazy("journal", "Ajout"),
    "revoked": gettext_lazy("Révocation"),
    "rights_changed": gettext_lazy("Droits modifiés"),
    "opening_hours_changed": gettext_lazy("Horaires modifiés"),
    "activation_sent": gettext_lazy("Invitation envoyée"),
    "password_set": gettext_lazy("Mot de passe défini"),
}
ACTION_ICONS = {
    "created": "plus-circle",
    "added": "person-plus",
    "updated": "pencil",
    "deleted": "trash",
    "revoked": "x-circle",
    "rights_changed": "shield-lock",
    "opening_hours_changed": "clock",
    "activation_sent": "envelope",
    "password_set": "key",
}
CHANGE_LABELS: dict[str, Promise] = {
    "added": gettext_lazy("Droits ajoutés"),
    "removed": gettext_lazy("Droits retirés"),
    "rights": gettext_lazy("Droits"),
    "opening_hours": gettext_lazy("Horaires d'ouverture"),
    "email": gettext_lazy("E-mail"),
    "new_account": gettext_lazy("Nouveau compte"),
    "user": gettext_lazy("Utilisateur"),
}
# Pages of the objects the journal may name (model label → URL name taking the pk).
OBJECT_URL_NAMES: dict[str, str] = {
    "core.center": "manage:center_detail",
    "core.legalentity": "manage:legalentity_detail",
    "core.staffmembership": "manage:staff_detail",
    "core.role": "manage:role_edit",
    "core.organization": "manage:organization_settings",
}


def register_object_url(model_label: str, url_name: str) -> None:
    """Other apps name the page of their objects, so the journal links to them."""
    OBJECT_URL_NAMES[model_label] = url_name


def action_verb(action: str) -> str:
    suffix = action.split(".", 1)[-1]
    return str(ACTION_VERBS.get(suffix, suffix.replace("_", " ").capitalize()))


def action_icon(action: str) -> str:
    return ACTION_ICONS.get(action.split(".", 1)[-1], "dot")


def object_url(entry: AuditEntry) -> str | None:
    if entry.content_type_id is None or not entry.object_id:
        return None
    url_name = OBJECT_URL_NAMES.get(f"{entry.content_type.app_label}.{entry.content_type.model}")
    if url_name is None:
        return None
    if url_name == "manage:organization_settings":
        return reverse(url_name)
    try:
        return reverse(url_name, args=[int(entry.object_id)])
    except (NoReverseMatch, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)  # type: ignore[return-value]
    except FieldDoesNotExist:
        return None


def change_label(model: type[models.Model] | None, name: str) -> str:
    field = _field(model, name)
    if field is not None and getattr(field, "verbose_name", None):
        label = str(field.verbose_name)
        return label[:1].upper() + label[1:]
    return str(CHANGE_LABELS.get(name, name.replace("_", " ").capitalize()))


def changed_field_labels(entry: AuditEntry) -> str:
    """The names of the fields an entry changed, for the journal list (no extra query)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    return ", ".join(change_label(model, name) for name in changes)


def _is_diff(action: str, name: str, value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and name not in ("added", "removed")
        and action.endswith(("updated", "_changed"))
    )


@dataclass
class Change:
    label: str
    before: Any
    after: Any
    is_diff: bool


@dataclass
class TimelineItem:
    entry: AuditEntry
    verb: str
    icon: str
    who: str
    changes: list[Change]


def _display(value: Any, field: models.Field | None, related: dict[tuple[type, Any], str]) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, list):
        return ", ".join(str(_display(item, field, related) or "—") for item in value) or None
    if field is not None and field.is_relation and field.related_model is not None:
        return related.get((field.related_model, str(value)), value)
    if field is not None and getattr(field, "flatchoices", None):
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, str) and isinstance(field, models.DateTimeField | models.DateField | models.TimeField):
        return _format_moment(value, field)
    return value


def _format_moment(value: str, field: models.Field) -> str:
    """The journal stores dates as ISO strings: show them the local way (23/11/2026 14:05)."""
    if isinstance(field, models.DateTimeField):
        moment = parse_datetime(value)
        if moment is not None:
            return date_format(
                timezone.localtime(moment) if timezone.is_aware(moment) else moment, "SHORT_DATETIME_FORMAT"
            )
    elif isinstance(field, models.DateField):
        day = parse_date(value)
        if day is not None:
            return date_format(day, "SHORT_DATE_FORMAT")
    else:
        moment = parse_time(value)
        if moment is not None:
            return time_format(moment, "TIME_FORMAT")
    return value


def actor_name(label: str) -> str:
    """ "Camille Martin <camille@example.test>" → "Camille Martin"; "system" → "Système"."""
    if label == "system" or not label:
        return _("Système")
    return label.split(" <", 1)[0] if " <" in label else label


def timeline(obj: models.Model, *, limit: int = 50) -> list[TimelineItem]:
    """The object's journal, newest first, with readable changes: who, what, when, before → after.

    Foreign keys in the changes are shown by name (one query per related model, whatever the size).
    """
    entries = list(selectors.timeline_for(obj, limit=limit))
    model = type(obj)
    wanted: dict[type[models.Model], set[str]] = defaultdict(set)
    for entry in entries:
        for name, value in (entry.changes or {}).items() if isinstance(entry.changes, dict) else ():
            field = _field(model, name)
            if field is not None and field.is_relation and field.related_model is not None:
                values = value if isinstance(value, list) else [value]
                flat = [item for part in values for item in (part if isinstance(part, list) else [part])]
                wanted[field.related_model].update(str(item) for item in flat if item not in (None, ""))
    related: dict[tuple[type, Any], str] = {}
    for related_model, pks in wanted.items():
        valid = [pk for pk in pks if pk.isdigit()]
        for related_obj in related_model._default_manager.filter(pk__in=valid):
            related[(related_model, str(related_obj.pk))] = str(related_obj)
    items = []
    for entry in entries:
        changes = []
        for name, value in (entry.changes or {}).items() if isinstance(entry.changes, dict) else ():
            field = _field(model, name)
            if _is_diff(entry.action, name, value):
                before, after = value
                changes.append(
                    Change(
                        change_label(model, name),
                        _display(before, field, related),
                        _display(after, field, related),
                        True,
                    )
                )
            else:
                shown = _display(value, field, related)
                if shown is not None:  # a creation lists the fields that were filled in
                    changes.append(Change(change_label(model, name), None, shown, False))
        items.append(
            TimelineItem(
                entry, action_verb(entry.action), action_icon(entry.action), actor_name(entry.actor_label), changes
            )
        )
    return items
