"""Quote reads that depend on who asks: tenant-scoped, restricted to the viewer's centers, no N+1."""

from __future__ import annotations

from django.db.models import Count, Min, Prefetch, QuerySet

from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.crm.models import Contact
from comptoir.sales.models import Offer, OfferLine, Quote


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def quotes_for(user: User, organization: Organization | int) -> QuerySet[Quote]:
    """The organization's quotes the staff member may see (those of their centers when limited)."""
    if not rights.has_right(user, "sales.view_quote", organization):
        return Quote.objects.none()
    qs = Quote.objects.filter(organization=_org_id(organization)).select_related(
        "company", "center", "opportunity", "chosen_offer", "legal_entity", "created_by"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


def quote_list(user: User, organization: Organization | int) -> QuerySet[Quote]:
    """The list: with the number of offers and the lowest monthly total, in the same query."""
    return quotes_for(user, organization).annotate(
        offer_count=Count("offers", distinct=True), lowest_monthly=Min("offers__monthly_excl_vat")
    )


def offers_with_lines() -> Prefetch:
    lines = OfferLine.objects.select_related("space", "product").order_by("position", "id")
    return Prefetch("offers", queryset=Offer.objects.prefetch_related(Prefetch("lines", queryset=lines)))


def quote_with_offers(user: User, organization: Organization | int) -> QuerySet[Quote]:
    """For a quote's page, its PDF and the API: offers and lines prefetched (3 queries in all)."""
    return quotes_for(user, organization).prefetch_related(offers_with_lines())


def offers_for(user: User, organization: Organization | int) -> QuerySet[Offer]:
    return Offer.objects.filter(quote__in=quotes_for(user, organization)).select_related("quote")


def portal_quotes(contact: Contact) -> QuerySet[Quote]:
    """The quotes a portal member may see: those sent to their company (never drafts), when their role
    may see the company's documents (capability "view_documents")."""
    from comptoir.crm import capabilities

    if not capabilities.can(contact, "view_documents"):
        return Quote.objects.none()
    return (
        Quote.objects.filter(organization_id=contact.organization_id, company_id=contact.company_id)
        .exclude(status=Quote.Status.DRAFT)
        .select_related("center", "legal_entity", "chosen_offer")
        .prefetch_related(offers_with_lines())
    )
