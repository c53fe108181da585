"""Calendar feeds (issue 7 item 9): the public subscription URL and the staff page of the feeds.

    GET  /manage/bookings/calendar/<token>.ics          the feed itself (no login: the token is the credential)
    GET  /manage/bookings/feeds/                        the staff page: every feed, with « Révoquer »
    GET/POST /manage/bookings/feeds/new/                « Créer un abonnement » for a space or a member
    POST /manage/bookings/feeds/<calendarfeed_pk>/revoke/

A feed is created by the staff on « Créer un abonnement » (a space, or a member found by e-mail), by a member for
themselves in the portal (« Synchroniser avec mon agenda »), or with POST /api/v1/calendar-feeds/; the raw URL is
shown once. The public view answers 404 for an unknown or revoked token and is rate-limited per address, so guessing
tokens is pointless on top of being hopeless (256 random bits).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from comptoir.bookings.forms import FeedForm
from comptoir.bookings.services import feeds as services
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, right_required

LOOKUPS_PER_MINUTE = 60  # calendar clients poll every few minutes or hours
ROWS_SHOWN = 500

MENU = [
    Entry("settings", gettext_lazy("Abonnements calendrier"), "bookings:feed_list", services.VIEW_RIGHT, 60,
          "calendar-week"),
]  # fmt: skip
ACTION_VERBS.setdefault("calendar_feed.created", gettext_lazy("Abonnement calendrier créé"))
ACTION_VERBS.setdefault("calendar_feed.revoked", gettext_lazy("Abonnement calendrier révoqué"))
ACTION_ICONS.setdefault("calendar_feed.created", "calendar-plus")
ACTION_ICONS.setdefault("calendar_feed.revoked", "calendar-x")


def _throttled(request: HttpRequest) -> bool:
    """At most LOOKUPS_PER_MINUTE feed reads a minute per address."""
    key = f"bookings:feed:{request.META.get('REMOTE_ADDR', '')}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=60)
        return False
    return count > LOOKUPS_PER_MINUTE


@never_cache
@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar document of a feed (text/calendar), or 404."""
    if _throttled(request):
        response = HttpResponse(_("Trop de requêtes : réessayez dans une minute."), status=429,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
        response["Retry-After"] = "60"
        return response
    feed = services.find_feed(token)
    if feed is None:
        return HttpResponse(_("Abonnement inconnu ou révoqué."), status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(services.render_feed(feed), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="reservations.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


@right_required(services.VIEW_RIGHT)
def feed_list(request: HttpRequest) -> HttpResponse:
    """Every feed of the organization (newest first), active ones with « Révoquer »."""
    feeds = list(services.feeds_for(request.user, request.organization)[:ROWS_SHOWN])  # type: ignore[arg-type, attr-defined]
    context: dict[str, Any] = {
        "title": _("Abonnements calendrier"),
        "feeds": feeds,
        "can_revoke": can(request, services.CHANGE_RIGHT),
        "can_create": can(request, services.CHANGE_RIGHT),
        "rows_shown": ROWS_SHOWN,
        "breadcrumb": [],
    }
    return render(request, "bookings/feeds/list.html", context)


@right_required(services.VIEW_RIGHT)
def feed_revoke(request: HttpRequest, calendarfeed_pk: int) -> HttpResponse:
    feed = get_object_or_404(services.feeds_for(request.user, request.organization), pk=calendarfeed_pk)  # type: ignore[arg-type, attr-defined]
    refused = post_only(request)
    if refused is not None:
        return refused
    if not can(request, services.CHANGE_RIGHT):
        raise Http404  # nothing to reveal: the list shows no button then
    try:
        services.revoke_feed(feed=feed, by=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("L'abonnement est révoqué : son adresse ne répond plus."))
    return redirect("bookings:feed_list")


@right_required(services.CHANGE_RIGHT)
def feed_create(request: HttpRequest) -> HttpResponse:
    """« Créer un abonnement »: for a space or a member; the new address is shown once, on the answer page."""
    form = FeedForm(request.POST or None, user=request.user, organization=request.organization)  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                feed, raw = services.create_feed(organization=request.organization, by=request.user,  # type: ignore[attr-defined, arg-type]
                                                 contact=form.cleaned_data["contact"],
                                                 space=form.cleaned_data["space"])  # fmt: skip
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                url = request.build_absolute_uri(reverse("bookings:calendar_feed", args=[raw]))
                return render(request, "bookings/feeds/created.html", {
                    "title": _("Abonnement calendrier créé"), "feed": feed, "url": url,
                    "webcal": "webcal://" + url.split("://", 1)[1],
                    "breadcrumb": [(_("Abonnements calendrier"), reverse("bookings:feed_list"))],
                })  # fmt: skip
        status = 400
    return render(request, "manage/form_page.html", {
        "title": _("Créer un abonnement calendrier"), "form": form,
        "intro": _("Une adresse privée que Google Agenda, Outlook ou Apple Calendar consultent pour afficher les "
                   "réservations d'un espace ou d'un membre. Elle n'est affichée qu'une fois."),
        "breadcrumb": [(_("Abonnements calendrier"), reverse("bookings:feed_list"))],
        "cancel_url": reverse("bookings:feed_list"), "submit_label": _("Créer l'abonnement"),
    }, status=status)  # fmt: skip


urlpatterns = [
    path("calendar/<str:token>.ics", calendar_feed, name="calendar_feed"),
    path("feeds/", feed_list, name="feed_list"),
    path("feeds/new/", feed_create, name="feed_create"),
    path("feeds/<int:calendarfeed_pk>/revoke/", feed_revoke, name="calendarfeed_revoke"),
]
