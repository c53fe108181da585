"""REST endpoints of quotes under /api/v1/quotes/: the quote builder through the API.

    POST   /quotes/                         create a draft (company or opportunity)      Idempotency-Key
    PUT    /quotes/{id}/offers/{position}/  create or replace offer 1-4 with its lines (priced by the catalog)
    DELETE /quotes/{id}/offers/{position}/  remove it
    POST   /quotes/{id}/send/               e-mail it (PDF attached)                      Idempotency-Key
    POST   /quotes/{id}/accept/             {"offer": position or id}                     Idempotency-Key
    POST   /quotes/{id}/refuse/             {"reason": "..."}
    GET    /quotes/{id}/pdf/                application/pdf

Views hold no rules: shapes in, one service, shapes out. Related ids go through tenant-scoped selectors.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.catalog.models import ServiceType
from comptoir.core import selectors as core_selectors
from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import ValidationFailed
from comptoir.core.models import Center
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.models import Company, Opportunity
from comptoir.sales.models import Offer, OfferLine, PricedLine, Quote
from comptoir.sales.selectors import quotes as selectors
from comptoir.sales.services import quotes as services


# --------------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------------
class OfferLineOut(serializers.ModelSerializer):
    breakdown = serializers.JSONField(read_only=True, help_text="The frozen price steps (base, grid, discounts).")

    class Meta:
        model = OfferLine
        fields = [
            "id", "position", "kind", "space", "product", "description", "quantity", "unit_price", "vat_rate",
            "vat_exemption_reason", "accounting_code", "amount_excl_vat", "is_recurring", "breakdown",
        ]  # fmt: skip
        read_only_fields = fields


class OfferOut(serializers.ModelSerializer):
    lines = OfferLineOut(many=True, read_only=True)
    vat_by_rate = serializers.SerializerMethodField(help_text="Monthly VAT per rate, on the sum of the lines.")

    class Meta:
        model = Offer
        fields = [
            "id", "position", "title", "service_type", "term_months", "start_date", "deposit", "monthly_excl_vat",
            "monthly_vat", "monthly_incl_vat", "one_off_excl_vat", "vat_by_rate", "lines",
        ]  # fmt: skip
        read_only_fields = fields

    def get_vat_by_rate(self, offer: Offer) -> dict[str, str]:
        totals = services.compute_totals(list(offer.lines.all()))
        return {str(rate): str(amount) for rate, amount in totals.monthly_vat_by_rate.items()}


class QuoteOut(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True, help_text="DV-000123.")
    offers = OfferOut(many=True, read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id", "number", "reference", "status", "company", "opportunity", "center", "legal_entity", "title",
            "valid_until", "notes", "chosen_offer", "refusal_reason", "created_at", "updated_at", "sent_at",
            "decided_at", "offers",
        ]  # fmt: skip
        read_only_fields = fields


class QuoteIn(InSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    valid_until = serializers.DateField(required=False, help_text="Default: today + 30 days.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class QuoteCreateIn(QuoteIn):
    company = ScopedPrimaryKeyField(model=Company, selector=crm_selectors.companies_for, required=False,
                                    help_text="Id of the company (or give an opportunity).")  # fmt: skip
    opportunity = ScopedPrimaryKeyField(model=Opportunity, selector=crm_selectors.opportunities_for, required=False,
                                        help_text="Id of the opportunity the quote answers.")  # fmt: skip
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, required=False,
                                   help_text="Default: the opportunity's or the company's center.")  # fmt: skip


class QuoteUpdateIn(QuoteIn):
    center = ScopedPrimaryKeyField(model=Center, selector=core_selectors.centers_for, required=False,
                                   help_text="Only while the quote has no offer.")  # fmt: skip


class AppliedDiscountIn(InSerializer):
    discount = serializers.IntegerField(help_text="Id of a discount.")
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True,
                                       help_text="Default: the discount's own percentage.")  # fmt: skip


class LineIn(InSerializer):
    kind = serializers.ChoiceField(choices=PricedLine.Kind.choices, required=False,
                                   help_text="Default: from the space or the article's kind.")  # fmt: skip
    space = serializers.IntegerField(required=False, allow_null=True, help_text="Id of a space of the center.")
    product = serializers.IntegerField(required=False, allow_null=True, help_text="Id of a catalog article.")
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, default=1)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    discounts = AppliedDiscountIn(many=True, required=False)


class OfferIn(InSerializer):
    title = serializers.CharField(max_length=160, required=False, allow_blank=True)
    service_type = serializers.ChoiceField(choices=ServiceType.choices)
    term_months = serializers.IntegerField(min_value=1, max_value=120, default=12)
    start_date = serializers.DateField()
    deposit = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, default=0)
    lines = LineIn(many=True, help_text="Each line: a space or a product, a quantity, discounts.")


class SendIn(InSerializer):
    recipients = serializers.ListField(child=serializers.EmailField(), required=False, max_length=20,
                                       help_text="Default: the company's administrators and invoice recipients.")  # fmt: skip


class AcceptIn(InSerializer):
    offer = serializers.IntegerField(help_text="The chosen offer: its position (1-4) or its id.")


class RefuseIn(InSerializer):
    reason = serializers.CharField(max_length=255)


def _scoped(request: Any, selector: Any) -> QuerySet:
    if request is None:
        return Quote.objects.none()
    return selector(request.user, getattr(request, "organization", None))


class QuoteFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Quote.Status.choices, help_text="draft, sent, accepted...")
    # related ids are checked against the caller's own objects (an unknown or huge id is a 400, never a 500)
    company = django_filters.ModelChoiceFilter(queryset=lambda request: _scoped(request, crm_selectors.companies_for),
                                               help_text="Id of the company.")  # fmt: skip
    center = django_filters.ModelChoiceFilter(queryset=lambda request: _scoped(request, core_selectors.centers_for),
                                              help_text="Id of the center.")  # fmt: skip
    opportunity = django_filters.ModelChoiceFilter(
        queryset=lambda request: _scoped(request, crm_selectors.opportunities_for), help_text="Id of the opportunity."
    )

    class Meta:
        model = Quote
        fields = ["status", "company", "center", "opportunity"]


def _plain_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plain = []
    for line in lines:
        item = {key: value for key, value in line.items() if value is not None}
        item["discounts"] = [dict(d) for d in line.get("discounts", [])]
        plain.append(item)
    return plain


# --------------------------------------------------------------------------------------------------
# The viewset
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Quotes, with their offers and lines."),
    retrieve=extend_schema(summary="A quote."),
)
class QuoteViewSet(ApiViewSet):
    """Quotes (DV-000123) with up to four alternative offers; each line keeps the price breakdown it was
    made with. Rights: `sales.view_quote`, `sales.add_quote`, `sales.change_quote` (offers, send, accept,
    refuse), `sales.delete_quote` (drafts)."""

    model = Quote
    serializer_class = QuoteOut
    filterset_class = QuoteFilter
    cursor_ordering = ("-number", "-id")
    required_rights = {
        "list": "sales.view_quote",
        "retrieve": "sales.view_quote",
        "pdf": "sales.view_quote",
        "create": "sales.add_quote",
        "update": "sales.change_quote",
        "partial_update": "sales.change_quote",
        "destroy": "sales.delete_quote",
        "offers": "sales.change_quote",
        "send": "sales.change_quote",
        "accept": "sales.change_quote",
        "refuse": "sales.change_quote",
    }

    def scoped_queryset(self) -> QuerySet[Quote]:
        return selectors.quote_with_offers(self.request.user, self.organization)

    def _fresh(self, quote: Quote) -> Quote:
        return self.scoped_queryset().get(pk=quote.pk)

    @extend_schema(request=QuoteCreateIn, responses={201: QuoteOut}, summary="Create a draft quote.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(QuoteCreateIn)
        company, opportunity = data.pop("company", None), data.pop("opportunity", None)
        quote = services.create_quote(organization=self.organization, by=request.user, company=company,
                                      opportunity=opportunity, data=data)  # fmt: skip
        return Response(self.out(self._fresh(quote)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QuoteUpdateIn, responses=QuoteOut, summary="Change a draft's subject, validity, notes.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=QuoteUpdateIn, responses=QuoteOut, summary="Change some of a draft's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        quote = self.get_object()
        data = self.validated(QuoteUpdateIn, partial=partial)
        quote = services.update_quote(quote=quote, by=self.request.user, data=data)
        return Response(self.out(self._fresh(quote)).data)

    @extend_schema(responses={204: None}, summary="Delete a draft quote.")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_quote(quote=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["PUT"], request=OfferIn, responses=QuoteOut,
        summary="Create or replace the offer at a position (1-4), its lines priced by the catalog.",
    )  # fmt: skip
    @extend_schema(methods=["DELETE"], request=None, responses=QuoteOut, summary="Remove the offer at a position.")
    @action(detail=True, methods=["put", "delete"], url_path="offers/<str:position>", url_name="offer")
    def offers(self, request: Request, pk: int, position: str) -> Response:
        quote = self.get_object()
        number = services.parse_position(position)
        if request.method == "DELETE":
            services.delete_offer(quote=quote, by=request.user, position=number)
        else:
            data = self.validated(OfferIn)
            data["lines"] = _plain_lines(data["lines"])
            services.save_offer(quote=quote, by=request.user, position=number, data=data)
        return Response(self.out(self._fresh(quote)).data)

    @extend_schema(request=SendIn, responses=QuoteOut, summary="E-mail the quote (PDF attached, portal link).")
    @action(detail=True, methods=["post"])
    @idempotent
    def send(self, request: Request, pk: int) -> Response:
        quote = self.get_object()
        data = self.validated(SendIn)
        quote = services.send_quote(quote=quote, by=request.user, recipients=data.get("recipients"))
        return Response(self.out(self._fresh(quote)).data)

    @extend_schema(request=AcceptIn, responses=QuoteOut, summary="Record the client's choice of an offer.")
    @action(detail=True, methods=["post"])
    @idempotent
    def accept(self, request: Request, pk: int) -> Response:
        quote = self.get_object()
        data = self.validated(AcceptIn)
        offers = list(quote.offers.all())
        wanted = data["offer"]
        offer = next((o for o in offers if o.position == wanted), None) or next(
            (o for o in offers if o.pk == wanted), None
        )
        if offer is None:
            raise ValidationFailed(_("Cette offre n'appartient pas au devis."), code="not_found", field="offer")
        quote = services.accept_offer(quote=quote, offer=offer, by=request.user)
        return Response(self.out(self._fresh(quote)).data)

    @extend_schema(request=RefuseIn, responses=QuoteOut, summary="Record the client's refusal, with its reason.")
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: int) -> Response:
        quote = self.get_object()
        data = self.validated(RefuseIn)
        quote = services.refuse_quote(quote=quote, by=request.user, reason=data["reason"])
        return Response(self.out(self._fresh(quote)).data)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="The quote's PDF.")  # fmt: skip
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: int) -> HttpResponse:
        from comptoir.sales.pdf.quote import render_quote_pdf

        quote = self.get_object()
        response = HttpResponse(render_quote_pdf(quote), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{quote.reference}.pdf"'
        return response


ROUTES = [("quotes", QuoteViewSet, "quote")]
