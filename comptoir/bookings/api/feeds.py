"""REST endpoints of calendar feeds under /api/v1/calendar-feeds/ (issue 7 item 9).

GET  /calendar-feeds/                 feeds of members and spaces (contact, space, active)
POST /calendar-feeds/                 a new private subscription URL (shown once)        Idempotency-Key
GET  /calendar-feeds/{id}/            one feed (never its URL: only a hash of its token is stored)
POST /calendar-feeds/{id}/revoke/     stop it at once (its URL answers 404)
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.bookings.api import common
from comptoir.bookings.api.bookings import _contacts, _spaces
from comptoir.bookings.models import CalendarFeed
from comptoir.bookings.services import feeds as services
from comptoir.catalog.models import Space
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.crm.models import Contact
from comptoir.crm.selectors.companies import contacts_for


class CalendarFeedApiFilter(django_filters.FilterSet):
    api_help = {
        "contact": "Id of the member.",
        "space": "Id of the space.",
        "active": "true: not revoked; false: revoked.",
    }
    contact = django_filters.ModelChoiceFilter(queryset=_contacts)
    space = django_filters.ModelChoiceFilter(queryset=_spaces)
    active = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull")

    class Meta:
        model = CalendarFeed
        fields = ["contact", "space", "active"]


class CalendarFeedOut(serializers.ModelSerializer):
    is_active = serializers.SerializerMethodField(help_text="Not revoked.")

    class Meta:
        model = CalendarFeed
        fields = ["id", "contact", "space", "is_active", "created_at", "created_by", "revoked_at", "last_used_at"]
        read_only_fields = fields
        extra_kwargs = {
            "contact": {"help_text": "Id of the member whose bookings it lists, or null."},
            "space": {"help_text": "Id of the space whose bookings it lists, or null."},
            "last_used_at": {"help_text": "When a calendar last read it (to the minute)."},
        }

    def get_is_active(self, feed: CalendarFeed) -> bool:
        return feed.revoked_at is None


class CalendarFeedCreatedOut(CalendarFeedOut):
    url = serializers.CharField(read_only=True, allow_null=True,
                                help_text="The private subscription URL (.ics), shown once (null in an idempotent "
                                "replay). Anyone holding it reads the calendar: revoke it if it leaks.")  # fmt: skip

    class Meta(CalendarFeedOut.Meta):
        fields = [*CalendarFeedOut.Meta.fields, "url"]
        read_only_fields = fields


class CalendarFeedIn(InSerializer):
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of a member: the feed lists their bookings.")  # fmt: skip
    space = ScopedPrimaryKeyField(model=Space, selector=common.bookable_spaces_for, required=False, allow_null=True,
                                  help_text="Id of a space: the feed lists its bookings.")  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("contact") is None) == (attrs.get("space") is None):
            raise serializers.ValidationError({"contact": [_("Choisissez un membre ou un espace.")]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Calendar subscription feeds, newest first."),
    retrieve=extend_schema(summary="A calendar feed."),
)
class CalendarFeedViewSet(ApiViewSet):
    """Private iCalendar subscription URLs of members and spaces (Google Calendar, Outlook, Apple Calendar): the
    bookings of the member or the space from 30 days ago to a year ahead. Only a hash of each URL's token is
    stored: the URL is in the creation's answer, once. Rights: `bookings.view_booking`, `bookings.change_booking`
    (create, revoke)."""

    model = CalendarFeed
    serializer_class = CalendarFeedOut
    filterset_class = CalendarFeedApiFilter
    cursor_ordering = ("-id",)
    required_rights = {
        "list": services.VIEW_RIGHT,
        "retrieve": services.VIEW_RIGHT,
        "create": services.CHANGE_RIGHT,
        "revoke": services.CHANGE_RIGHT,
    }

    def scoped_queryset(self) -> QuerySet[CalendarFeed]:
        return services.feeds_for(self.request.user, self.organization)

    @extend_schema(request=CalendarFeedIn, responses={201: CalendarFeedCreatedOut},
                   summary="Create a subscription URL for a member or a space (shown once).")  # fmt: skip
    @idempotent(secret_fields=["url"])
    def create(self, request: Request) -> Response:
        data = self.validated(CalendarFeedIn)
        feed, raw = services.create_feed(organization=self.organization, by=request.user, contact=data.get("contact"),
                                         space=data.get("space"))  # fmt: skip
        body = self.out(self.scoped_queryset().get(pk=feed.pk), serializer_class=CalendarFeedCreatedOut).data
        body["url"] = request.build_absolute_uri(reverse("bookings:calendar_feed", args=[raw]))
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=CalendarFeedOut,
        summary="Revoke a feed (at once, for good).",
        description="400 `already_revoked`.",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: int) -> Response:
        feed = services.revoke_feed(feed=self.get_object(), by=request.user)
        return Response(self.out(self.scoped_queryset().get(pk=feed.pk)).data)


ROUTES = [("calendar-feeds", CalendarFeedViewSet, "calendarfeed")]
