"""Gestion → Créneaux bloqués (desk « Bloquer des créneaux »): the blocked slots of the centers (active and to come
by default; past and unblocked ones in a filter), « Bloquer des créneaux » (one space or every space of a center,
from/to each day of a range of days, with a reason) and « Débloquer ».

Every object view fetches its block through the tenant-scoped selector first: another organization's block answers
404 on GET and POST alike. The services decide (comptoir.bookings.services.blocks); a refusal is shown at its field.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.bookings import selectors
from comptoir.bookings.forms import BlockFilter, BlockForm
from comptoir.bookings.models import BlockedSlot
from comptoir.bookings.services import blocks as services
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, right_required

for _suffix, _verb, _icon in [
    ("slots_blocked", gettext_lazy("Créneaux bloqués"), "slash-circle"),
    ("slot_unblocked", gettext_lazy("Créneau débloqué"), "unlock"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

MENU = [Entry("operations", gettext_lazy("Créneaux bloqués"), "bookings:block_list", "bookings.view_blockedslot", 25,
              "slash-circle")]  # fmt: skip


def _local(moment: datetime.datetime, block: BlockedSlot) -> datetime.datetime:
    return moment.astimezone(block.center.tz)


def block_when(block: BlockedSlot) -> str:
    """« 23/11/2026 09:00–11:00 » in the center's timezone (a block over several days shows both dates)."""
    start, end = _local(block.starts_at, block), _local(block.ends_at, block)
    day = formats.date_format(start.date(), "SHORT_DATE_FORMAT")
    if start.date() == end.date():
        return f"{day} {start:%H:%M}–{end:%H:%M}"
    return f"{day} {start:%H:%M} – {formats.date_format(end.date(), 'SHORT_DATE_FORMAT')} {end:%H:%M}"


def _space_cell(block: BlockedSlot) -> SafeString:
    if block.space_id is None:
        return format_html('<span class="badge text-bg-light border">{}</span><br><span class="small '
                           'text-body-secondary" translate="no">{}</span>', _("Tout le centre"), block.center.name)  # fmt: skip
    return format_html('<span translate="no">{}</span><br><span class="small text-body-secondary" translate="no">{}'
                       "</span>", block.space.name, block.center.name)  # fmt: skip


def _state(block: BlockedSlot) -> str:
    return _("Débloqué") if block.cancelled_at else _("Actif")


def block_columns() -> list[Column]:
    return [
        Column("starts_at", gettext_lazy("Créneau"), accessor=block_when, sort="starts_at", css_class="text-nowrap"),
        Column(
            "space",
            gettext_lazy("Espace"),
            accessor=lambda b: b,
            render=_space_cell,
            export=lambda b: f"{b.center.name} — {b.space.name if b.space_id else _('Tout le centre')}",
        ),
        Column("reason", gettext_lazy("Motif"), data=True, sort="reason"),
        Column("state", gettext_lazy("État"), accessor=_state),
        Column(
            "actions",
            gettext_lazy("Actions"),
            accessor=lambda b: b,
            template="bookings/blocks/_actions.html",
            export=False,
            css_class="text-end",
        ),
    ]


def _blocks(request: HttpRequest) -> QuerySet[BlockedSlot]:
    return selectors.blocks_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


class BlockListPage(ListPage):
    """Active and future blocks unless the « État » filter says otherwise."""

    def filtered_queryset(self) -> QuerySet:
        queryset = super().filtered_queryset()
        if not self.request.GET.get("state"):
            queryset = queryset.filter(cancelled_at=None, ends_at__gt=timezone.now())
        return queryset


@right_required("bookings.view_blockedslot")
def block_list(request: HttpRequest) -> HttpResponse:
    return BlockListPage(
        request,
        queryset=_blocks(request),
        columns=block_columns(),
        filterset_class=BlockFilter,
        default_sort="starts_at",
        title=gettext_lazy("Créneaux bloqués"),
        export_name="creneaux-bloques",
        create_url=reverse("bookings:block_create") if can(request, "bookings.add_blockedslot") else None,
        create_label=gettext_lazy("Bloquer des créneaux"),
        empty_message=gettext_lazy("Aucun créneau bloqué."),
        row_url=lambda block: None,
        extra_context={"can_unblock": can(request, "bookings.change_blockedslot")},
    ).response()


@right_required("bookings.add_blockedslot")
def block_create(request: HttpRequest) -> HttpResponse:
    user, organization = request.user, request.organization  # type: ignore[attr-defined]
    initial = {}
    for name in ("center", "space"):
        raw = request.GET.get(name, "")
        if raw.isdigit():
            initial[name] = int(raw)
    form = BlockForm(request.POST if request.method == "POST" else None, initial=initial, user=user,
                     organization=organization)  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            made = services.block_slots(center=form.cleaned_data["center"], by=user,  # type: ignore[arg-type]
                                        slots=form.cleaned_data["slots"], reason=form.cleaned_data["reason"],
                                        space=form.cleaned_data["space"])  # fmt: skip
        except Conflict as exc:
            form.add_error("start", exc.message)
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"slots": "start"})
        else:
            messages.success(request, _("%(count)s créneau(x) bloqué(s).") % {"count": len(made)})
            return redirect("bookings:block_list")
    return render(request, "manage/form_page.html", {
        "form": form, "title": _("Bloquer des créneaux"),
        "intro": _("Un espace, ou tous les espaces du centre, indisponible de telle heure à telle heure chaque jour "
                   "de la période (heures du centre). Une réservation en cours sur ces créneaux doit d'abord être "
                   "annulée."),
        "breadcrumb": [(_("Créneaux bloqués"), reverse("bookings:block_list"))],
        "cancel_url": reverse("bookings:block_list"), "submit_label": _("Bloquer"),
    })  # fmt: skip


@right_required("bookings.change_blockedslot")
def block_unblock(request: HttpRequest, blockedslot_pk: int) -> HttpResponse:
    """« Débloquer »: the block stays in the history, marked unblocked; its slot can be booked again."""
    block = get_object_or_404(_blocks(request), pk=blockedslot_pk)
    if (refused := post_only(request)) is not None:
        return refused
    try:
        services.unblock(block=block, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Le créneau du %(when)s est débloqué.") % {"when": block_when(block)})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(back)  # the planning it was unblocked from
    return redirect("bookings:block_list")


urlpatterns = [
    path("blocks/", block_list, name="block_list"),
    path("blocks/new/", block_create, name="block_create"),
    path("blocks/<int:blockedslot_pk>/unblock/", block_unblock, name="block_unblock"),
]
