"""Reads of contracts, their lines, the general terms, and the readiness of an offer to become a contract
(frontmanager §6: 👍 available, ❓ not possible)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext as _

from comptoir.catalog.models import ProductCenterPrice, Space
from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.sales.models import (
    Amendment,
    Contract,
    ContractLine,
    ContractPause,
    Offer,
    OfferLine,
    PricedLine,
    Terms,
)

# A contract in one of these states holds its spaces (a contract sent for signature reserves them).
HOLDING = (Contract.Status.AWAITING_SIGNATURE, *Contract.RUNNING)


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (the month's last day when it is shorter: 31/01 + 1 → 28/02)."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def commitment_end(start: datetime.date, term_months: int) -> datetime.date:
    """start + term months − 1 day (12 months from 01/03/2026 → 28/02/2027)."""
    return add_months(start, term_months) - datetime.timedelta(days=1)


def term_months_of(contract: Contract) -> int:
    """The commitment term in months, from the contract's dates."""
    end = contract.commitment_end + datetime.timedelta(days=1)
    months = (end.year - contract.start_date.year) * 12 + end.month - contract.start_date.month
    return max(months, 1)


# --------------------------------------------------------------------------------------------------
# Contracts and terms
# --------------------------------------------------------------------------------------------------
def contracts_for(user: User, organization: Organization | int) -> QuerySet[Contract]:
    """Staff see the organization's contracts of their centers."""
    if not rights.has_right(user, "sales.view_contract", organization):
        return Contract.objects.none()
    qs = Contract.objects.filter(organization_id=_org_id(organization)).select_related(
        "company", "center", "legal_entity", "terms", "signer", "quote"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(center_id__in=restricted)
    return qs


def contract_rows_for(user: User, organization: Organization | int) -> QuerySet[Contract]:
    """The list page's rows: the contract with its current monthly total (one query for any size)."""
    return contracts_for(user, organization).annotate(
        monthly_total=Sum("lines__amount_excl_vat", filter=Q(lines__is_recurring=True, lines__end_date__isnull=True))
    )


def contract_lines(contract: Contract) -> list[ContractLine]:
    return list(contract.lines.select_related("space", "product").order_by("start_date", "position", "id"))


def amendments_of(contract: Contract) -> list[Amendment]:
    return list(contract.amendments.select_related("created_by").order_by("version", "id"))


def pauses_of(contract: Contract) -> list[ContractPause]:
    """Every pause of the contract, cancelled ones included (they stay in its history)."""
    return list(contract.pauses.select_related("created_by", "cancelled_by").order_by("start_date", "id"))


def pause_spans(
    contracts: QuerySet[Contract] | Iterable[int], start: datetime.date, end: datetime.date
) -> dict[int, list[tuple[datetime.date, datetime.date]]]:
    """{contract id: [(first, last paused day)]} of the pauses (not cancelled) that touch [start, end]: one query
    (`contracts` may be a queryset of contracts, read as a subquery)."""
    if isinstance(contracts, QuerySet):
        contracts = contracts.values("pk")
    spans: dict[int, list[tuple[datetime.date, datetime.date]]] = defaultdict(list)
    for contract_id, first, last in (
        ContractPause.objects.filter(contract__in=contracts, cancelled_at__isnull=True, start_date__lte=end,
                                     end_date__gte=start)
        .order_by("contract_id", "start_date")
        .values_list("contract_id", "start_date", "end_date")
    ):  # fmt: skip
        spans[contract_id].append((first, last))
    return spans


def paused_on(contract: Contract, day: datetime.date) -> ContractPause | None:
    return contract.pauses.filter(cancelled_at__isnull=True, start_date__lte=day, end_date__gte=day).first()


def terms_for(user: User, organization: Organization | int) -> QuerySet[Terms]:
    if not rights.has_right(user, "sales.view_terms", organization):
        return Terms.objects.none()
    return Terms.objects.filter(organization_id=_org_id(organization)).select_related("created_by")


def offers_for(user: User, organization: Organization | int) -> QuerySet[Offer]:
    """Offers of the organization's quotes (of the viewer's centers)."""
    if not rights.has_right(user, "sales.view_quote", organization):
        return Offer.objects.none()
    qs = Offer.objects.filter(quote__organization_id=_org_id(organization)).select_related(
        "quote", "quote__company", "quote__center"
    )
    restricted = allowed_center_ids(user, organization)
    if restricted is not None:
        qs = qs.filter(quote__center_id__in=restricted)
    return qs


def active_lines_on(lines: Iterable[ContractLine], day: datetime.date) -> list[ContractLine]:
    return [line for line in lines if line.start_date <= day and (line.end_date is None or line.end_date >= day)]


def monthly_total(lines: Iterable[ContractLine], day: datetime.date) -> Decimal:
    return sum((line.amount_excl_vat for line in active_lines_on(lines, day) if line.is_recurring), Decimal("0.00"))


# --------------------------------------------------------------------------------------------------
# Space availability for a period
# --------------------------------------------------------------------------------------------------
def holding_lines(
    space_ids: Iterable[int], start: datetime.date, end: datetime.date | None, *, exclude_contract: int | None = None
) -> dict[int, list[ContractLine]]:
    """Lines of contracts that hold the spaces (sent for signature, signed, active, notice given) at some
    day of [start, end] (end None: open-ended). An open line holds its space from its start on. One query."""
    ids = list(space_ids)
    if not ids:
        return {}
    qs = ContractLine.objects.filter(space_id__in=ids, contract__status__in=HOLDING).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start),
        Q(contract__end_date__isnull=True) | Q(contract__end_date__gte=start),
    )
    if end is not None:
        qs = qs.filter(start_date__lte=end)
    if exclude_contract is not None:
        qs = qs.exclude(contract_id=exclude_contract)
    found: dict[int, list[ContractLine]] = defaultdict(list)
    for line in qs.select_related("contract"):
        found[line.space_id].append(line)  # type: ignore[index]
    return found


def space_refusal(space: Space, quantity: Decimal, holders: list[ContractLine]) -> str | None:
    """Why the space cannot be contracted for the period (None: it can)."""
    if not space.is_active:
        return _("L'espace %(space)s est désactivé.") % {"space": space.name}
    if not holders:
        return None
    if space.kind == Space.Kind.PRIVATE_OFFICE:
        other = holders[0].contract
        return _("L'espace %(space)s est déjà sous contrat (%(reference)s) sur cette période.") % {
            "space": space.name,
            "reference": other.reference,
        }
    taken = sum((line.quantity for line in holders), Decimal("0"))
    if taken + quantity > space.capacity:
        return _("L'espace %(space)s est complet sur cette période (%(taken)s / %(capacity)s postes occupés).") % {
            "space": space.name,
            "taken": f"{taken.normalize():f}",
            "capacity": space.capacity,
        }
    return None


# --------------------------------------------------------------------------------------------------
# Readiness of an offer (❓ / 👍)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineReadiness:
    line: OfferLine
    ok: bool
    reason: str = ""


def offer_readiness(offer: Offer, *, exclude_contract: int | None = None) -> list[LineReadiness]:
    """Each line of the offer, ready (👍) or not (❓) with the reason, in two queries: the lines (with each
    product's availability in the quote's center, the rule of comptoir.catalog.pricing.is_available) and
    the contract lines that hold the offer's spaces."""
    quote = offer.quote
    start = offer.start_date
    end = commitment_end(start, offer.term_months)
    center_setting = ProductCenterPrice.objects.filter(product_id=OuterRef("product_id"), center_id=quote.center_id)
    lines = list(
        OfferLine.objects.filter(offer_id=offer.pk)
        .select_related("space", "product")
        .annotate(available_in_center=Subquery(center_setting.values("is_available")[:1]))
        .order_by("position", "id")
    )
    holders = holding_lines(
        {line.space_id for line in lines if line.space_id}, start, end, exclude_contract=exclude_contract
    )  # type: ignore[arg-type]
    result = []
    for line in lines:
        reason = None
        if line.space_id is not None:
            space = line.space
            if space.center_id != quote.center_id:  # type: ignore[union-attr]
                reason = _("L'espace %(space)s n'est pas dans le centre du devis.") % {"space": space.name}  # type: ignore[union-attr]
            else:
                reason = space_refusal(space, line.quantity, holders.get(space.pk, []))  # type: ignore[arg-type, union-attr]
        if reason is None and line.product_id is not None:
            product = line.product
            setting = line.available_in_center  # type: ignore[attr-defined]
            available = product.is_active and (product.available_everywhere if setting is None else setting)  # type: ignore[union-attr]
            if not available:
                reason = _("L'article %(product)s n'est pas disponible dans ce centre.") % {"product": product.name}  # type: ignore[union-attr]
        result.append(LineReadiness(line, reason is None, reason or ""))
    return result


def is_ready(readiness: list[LineReadiness]) -> bool:
    return bool(readiness) and all(item.ok for item in readiness)


__all__ = [
    "HOLDING",
    "LineReadiness",
    "PricedLine",
    "active_lines_on",
    "add_months",
    "amendments_of",
    "commitment_end",
    "contract_lines",
    "contract_rows_for",
    "contracts_for",
    "holding_lines",
    "is_ready",
    "monthly_total",
    "offer_readiness",
    "offers_for",
    "space_refusal",
    "term_months_of",
    "terms_for",
]
