"""REST endpoints of bookings under /api/v1/bookings/ (issue 7 item 11).

    GET  /bookings/                      list (center, space, company, contact, status, starts_after, ends_before)
    POST /bookings/                      book a space for a slot → 201, or 409 with `error.conflict`   Idempotency-Key
    GET  /bookings/{id}/                 one booking
    POST /bookings/{id}/confirm/         accept a request
    POST /bookings/{id}/decline/         decline a request (its slot is freed, its credits given back)
    POST /bookings/{id}/cancel/          cancel, refunded in money or in credits as chosen                Idempotency-Key
    POST /bookings/{id}/consumptions/    attach a consumption (drinks, prints, equipment)                 Idempotency-Key

Views hold no rules: shapes in, one service (comptoir.bookings.services.bookings), shapes out. A slot taken or
blocked is 409 `slot_taken` / `blocked` with `error.conflict = {starts_at, ends_at, kind}` (the taken slot).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.billing.api.consumptions import ConsumptionOut
from comptoir.billing.api.invoices import VAT_RATE_HELP
from comptoir.bookings.api import common
from comptoir.bookings.models import Booking
from comptoir.bookings.services import bookings as services
from comptoir.catalog.models import Product, Space
from comptoir.catalog.selectors.products import products_for
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.models import Center
from comptoir.crm.models import Company, Contact
from comptoir.crm.selectors.companies import companies_for, contacts_for
from comptoir.sales.models import Contract
from comptoir.sales.selectors.contracts import contracts_for


# --------------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------------
class AwareDateTimeFormField(forms.Field):
    """An ISO 8601 instant with its offset, for the query string (a naive one is refused, not guessed)."""

    default_error_messages = {
        "invalid": _("Date et heure invalides (ISO 8601 avec fuseau, par exemple 2026-11-23T14:30:00+01:00)."),
        "naive": _("Indiquez le fuseau horaire (par exemple 2026-11-23T14:30:00+01:00)."),
    }

    def to_python(self, value: Any) -> datetime.datetime | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().replace(" ", "+")  # a "+" left unencoded in a query string arrives as a space
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if moment.tzinfo is None:
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        if not common.FIRST_DAY <= moment.date() <= common.LAST_DAY:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return moment


class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareDateTimeFormField


def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return core_selectors.centers_for(request.user, request.organization)


def _spaces(request: Any) -> QuerySet[Space]:
    if request is None:
        return Space.objects.none()
    return common.bookable_spaces_for(request.user, request.organization)


def _companies(request: Any) -> QuerySet[Company]:
    if request is None:
        return Company.objects.none()
    return companies_for(request.user, request.organization)


def _contacts(request: Any) -> QuerySet[Contact]:
    if request is None:
        return Contact.objects.none()
    return contacts_for(request.user, request.organization)


class BookingApiFilter(django_filters.FilterSet):
    api_help = {
        "center": "Id of the center.",
        "space": "Id of the space.",
        "company": "Id of the company.",
        "contact": "Id of the member.",
        "status": "requested, confirmed, declined, cancelled or expired.",
        "starts_after": "Bookings starting at this instant or later (ISO 8601 with an offset).",
        "ends_before": "Bookings ending at this instant or earlier (ISO 8601 with an offset).",
    }
    center = django_filters.ModelChoiceFilter(queryset=_centers, help_text="Id of the center.")
    space = django_filters.ModelChoiceFilter(queryset=_spaces, help_text="Id of the space.")
    company = django_filters.ModelChoiceFilter(queryset=_companies, help_text="Id of the company.")
    contact = django_filters.ModelChoiceFilter(queryset=_contacts, help_text="Id of the member.")
    status = django_filters.ChoiceFilter(choices=Booking.Status.choices)
    starts_after = AwareDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    ends_before = AwareDateTimeFilter(field_name="ends_at", lookup_expr="lte")

    class Meta:
        model = Booking
        fields = ["center", "space", "company", "contact", "status", "starts_after", "ends_before"]


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class BookingOut(serializers.ModelSerializer):
    space_name = serializers.CharField(source="space.name", read_only=True)
    company_name = serializers.CharField(source="company.name", read_only=True)
    channel = serializers.CharField(read_only=True, help_text="How it was made: staff, portal, api or public.")
    contact_name = serializers.SerializerMethodField(help_text="The member's name, or null.")
    uid = serializers.SerializerMethodField(help_text="The iCalendar UID of its invitations.")
    cancellation_deadline = serializers.SerializerMethodField(
        help_text="Until when a member may cancel it in the portal (the staff always may)."
    )

    class Meta:
        model = Booking
        fields = [
            "id", "center", "space", "space_name", "company", "company_name", "contact", "contact_name", "contract",
            "starts_at", "ends_at", "seats", "status", "expires_at", "title", "notes", "channel", "payment",
            "price_excl_vat", "discount_percent", "vat_rate", "credits", "consumption", "invoice", "refund", "reason",
            "uid", "sequence", "cancellation_deadline", "created_at", "decided_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "requested (waits for the staff until expires_at), confirmed, declined, "
                                    "cancelled or expired."},
            "payment": {"help_text": "invoice (monthly billing), credits, prepaid or free."},
            "price_excl_vat": {"help_text": "Billed price excl. VAT (0 when paid in credits)."},
            "credits": {"help_text": "Credits it took (paid in credits)."},
            "refund": {"help_text": "How it was refunded when cancelled: money, credits or empty."},
            "sequence": {"help_text": "The iCalendar SEQUENCE (grows at each change)."},
        }  # fmt: skip

    def get_contact_name(self, booking: Booking) -> str | None:
        return str(booking.contact) if booking.contact_id else None

    def get_uid(self, booking: Booking) -> str:
        return f"{booking.uid}@comptoir"

    def get_cancellation_deadline(self, booking: Booking) -> datetime.datetime:
        return services.cancellation_deadline(booking)


class BookingIn(InSerializer):
    space = ScopedPrimaryKeyField(model=Space, selector=common.bookable_spaces_for,
                                  help_text="Id of a bookable space (meeting room, drop-in office, coworking area).")  # fmt: skip
    company = ScopedPrimaryKeyField(model=Company, selector=companies_for, required=False, allow_null=True,
                                    help_text="Id of the company it is for (default: the member's).")  # fmt: skip
    contact = ScopedPrimaryKeyField(model=Contact, selector=contacts_for, required=False, allow_null=True,
                                    help_text="Id of the member it is for, one of the company's.")  # fmt: skip
    contract = ScopedPrimaryKeyField(model=Contract, selector=contracts_for, required=False, allow_null=True,
                                     help_text="Id of a running contract of the company to bill it with.")  # fmt: skip
    starts_at = common.AwareDateTimeField(help_text="Start, ISO 8601 with an offset (2026-11-23T14:30:00+01:00).")
    ends_at = common.AwareDateTimeField(help_text="End, after the start, the same day inside the opening hours.")
    seats = serializers.IntegerField(required=False, min_value=1, max_value=1000,
                                     help_text="Seats (a coworking area); a room or an office is booked whole.")  # fmt: skip
    title = serializers.CharField(required=False, allow_blank=True, max_length=160)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    payment = serializers.ChoiceField(choices=["invoice", "credits", "prepaid"], required=False, allow_blank=True,
                                      help_text="invoice (the monthly run), credits, or prepaid (an invoice issued "
                                      "now, due on receipt); default: credits when the holder has enough valid on the "
                                      "day, else invoice (free when the price is nothing).")  # fmt: skip


class BookingDeclineIn(InSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, help_text="Told to the member.")


class BookingCancelIn(InSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)
    refund = serializers.ChoiceField(choices=["", "money", "credits"], required=False, allow_blank=True,
                                     help_text="money (the unbilled consumption withdrawn, or a credit note), credits, "
                                     "or empty (no refund).")  # fmt: skip


class BookingConsumptionIn(InSerializer):
    product = ScopedPrimaryKeyField(model=Product, selector=products_for, required=False, allow_null=True,
                                    help_text="Id of a catalog article (its name, price, rate by default).")  # fmt: skip
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"),
                                        max_value=Decimal("1000000"), required=False, help_text="Default 1.")  # fmt: skip
    unit = serializers.CharField(required=False, allow_blank=True, max_length=20)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0"), required=False,
                                          help_text="Unit price excl. VAT (default: the article's).")  # fmt: skip
    vat_rate = serializers.CharField(required=False, max_length=10, help_text=VAT_RATE_HELP)


# --------------------------------------------------------------------------------------------------
# The viewset
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Bookings, latest start first."),
    retrieve=extend_schema(summary="A booking."),
)
class BookingViewSet(ApiViewSet):
    """Bookings of meeting rooms, drop-in offices and coworking seats, for a company or one of its members. A
    booking made through the API is confirmed at once (the staff books); it is priced by the space's rates less the
    holder's plan discount, paid in credits when the holder has enough, else billed by the monthly run. No double
    booking: a slot taken or blocked is 409 with `error.conflict`. Rights: `bookings.view_booking`,
    `bookings.add_booking`, `bookings.change_booking` (confirm, decline, cancel), `billing.add_consumption`."""

    model = Booking
    serializer_class = BookingOut
    filterset_class = BookingApiFilter
    cursor_ordering = ("-starts_at", "-id")
    required_rights = {
        "list": "bookings.view_booking",
        "retrieve": "bookings.view_booking",
        "create": "bookings.add_booking",
        "confirm": "bookings.change_booking",
        "decline": "bookings.change_booking",
        "cancel": "bookings.change_booking",
        "consumptions": "billing.add_consumption",
    }

    def scoped_queryset(self) -> QuerySet[Booking]:
        return common.bookings_for(self.request.user, self.organization).select_related("space__booking")

    def _answer(self, booking: Booking, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.out(self.scoped_queryset().get(pk=booking.pk)).data, status=code)

    @extend_schema(request=BookingIn, responses={201: BookingOut}, summary="Book a space for a slot.",
                   description="400 `in_the_past`, `ends_before_start`, `outside_opening_hours`, `not_bookable`, "
                   "`over_capacity`, `wrong_contact`, `wrong_contract`, `not_enough_credits`, `no_credits_here`; "
                   "409 `slot_taken` or `blocked` with `error.conflict` = {starts_at, ends_at, kind: booking, "
                   "capacity or blocked_slot}.")  # fmt: skip
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(BookingIn)
        booking = services.create_booking(organization=self.organization, by=request.user, data=data,
                                          channel=Booking.Channel.API)  # fmt: skip
        return self._answer(booking, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BookingOut, summary="Confirm a request.",
                   description="400 `not_requested`, `expired` (the request expired: its slot was freed).")  # fmt: skip
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: int) -> Response:
        booking = services.confirm_booking(booking=self.get_object(), by=request.user)
        return self._answer(booking)

    @extend_schema(request=BookingDeclineIn, responses=BookingOut, summary="Decline a request.",
                   description="Its slot is freed and the credits it took are given back. 400 `not_requested`.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: int) -> Response:
        booking = self.get_object()
        data = self.validated(BookingDeclineIn)
        booking = services.decline_booking(booking=booking, by=request.user, reason=data.get("reason", ""))
        return self._answer(booking)

    @extend_schema(request=BookingCancelIn, responses=BookingOut, summary="Cancel a booking, with its refund.",
                   description="400 `not_cancellable` (already cancelled, declined or expired), `on_draft_invoice` "
                   "(billed on a draft invoice: edit the draft).")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: int) -> Response:
        booking = self.get_object()
        data = self.validated(BookingCancelIn)
        booking = services.cancel_booking(booking=booking, by=request.user, reason=data.get("reason", ""),
                                          refund=data.get("refund", ""))  # fmt: skip
        return self._answer(booking)

    @extend_schema(request=BookingConsumptionIn, responses={201: ConsumptionOut},
                   summary="Attach a consumption to a booking.",
                   description="Billed with the booking: its company, member, contract and center, dated its day. "
                   "400 `not_held` (a declined or expired booking).")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def consumptions(self, request: Request, pk: int) -> Response:
        booking = self.get_object()
        data = self.validated(BookingConsumptionIn)
        consumption = services.add_consumption(booking=booking, by=request.user, data=data)
        return Response(self.out(consumption, serializer_class=ConsumptionOut).data, status=status.HTTP_201_CREATED)


ROUTES = [("bookings", BookingViewSet, "booking")]
