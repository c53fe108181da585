"""Reads of the e-signature: the portal's contracts to sign and company documents, the back office's
evidence. Tenant-scoped; the portal's reads go through the member's contacts (comptoir.crm.capabilities)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from comptoir.core import rights
from comptoir.core.models import Organization, User
from comptoir.crm import capabilities
from comptoir.crm.models import Contact
from comptoir.sales.models import Contract, Quote, Signature, SignatureEvent

# what a client sees of their documents: never a draft
VISIBLE_QUOTE_STATUSES = [Quote.Status.SENT, Quote.Status.ACCEPTED, Quote.Status.REFUSED, Quote.Status.EXPIRED]
VISIBLE_CONTRACT_STATUSES = [status for status in Contract.Status.values if status != Contract.Status.DRAFT]


def _org_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else organization.pk


# --------------------------------------------------------------------------------------------------
# Portal
# --------------------------------------------------------------------------------------------------
def contracts_to_sign(contacts: Iterable[Contact]) -> list[Contract]:
    """Contracts awaiting signature of the companies where one of these contacts may sign (one query)."""
    company_ids = [contact.company_id for contact in contacts if capabilities.can(contact, "sign_contracts")]
    if not company_ids:
        return []
    return list(
        Contract.objects.filter(company_id__in=company_ids, status=Contract.Status.AWAITING_SIGNATURE)
        .exclude(document="")
        .select_related("company")
        .order_by("sent_for_signature_at", "id")
    )


@dataclass(frozen=True)
class MemberContract:
    contract: Contract
    contact: Contact  # the member's contact in the contract's company


def member_contract(contacts: Iterable[Contact], organization: Organization | int, pk: int) -> MemberContract | None:
    """A contract of one of the member's companies (None for any other: the view answers 404)."""
    by_company = {contact.company_id: contact for contact in contacts}
    if not by_company:
        return None
    contract = (
        Contract.objects.filter(organization_id=_org_id(organization), pk=pk, company_id__in=list(by_company))
        .select_related("company", "terms", "organization", "legal_entity")
        .first()
    )
    if contract is None:
        return None
    return MemberContract(contract=contract, contact=by_company[contract.company_id])


def member_quote(contacts: Iterable[Contact], organization: Organization | int, pk: int) -> Quote | None:
    """A non-draft quote of a company where the member may see the documents."""
    company_ids = [contact.company_id for contact in contacts if capabilities.can(contact, "view_documents")]
    if not company_ids:
        return None
    return (
        Quote.objects.filter(
            organization_id=_org_id(organization), pk=pk, company_id__in=company_ids, status__in=VISIBLE_QUOTE_STATUSES
        )
        .select_related("company")
        .first()
    )


@dataclass(frozen=True)
class CompanyDocuments:
    contact: Contact
    quotes: list[Quote]
    contracts: list[Contract]


def company_documents(contacts: Iterable[Contact]) -> list[CompanyDocuments]:
    """ "Mon entreprise": for each company where the member may see documents, its quotes and contracts
    (two queries whatever the number of companies or documents)."""
    allowed = [contact for contact in contacts if capabilities.can(contact, "view_documents")]
    if not allowed:
        return []
    company_ids = [contact.company_id for contact in allowed]
    quotes: dict[int, list[Quote]] = {company_id: [] for company_id in company_ids}
    contracts: dict[int, list[Contract]] = {company_id: [] for company_id in company_ids}
    for quote in Quote.objects.filter(company_id__in=company_ids, status__in=VISIBLE_QUOTE_STATUSES).order_by(
        "-number"
    ):
        quotes[quote.company_id].append(quote)
    for contract in Contract.objects.filter(company_id__in=company_ids, status__in=VISIBLE_CONTRACT_STATUSES).order_by(
        "-number"
    ):
        contracts[contract.company_id].append(contract)
    return [
        CompanyDocuments(contact=contact, quotes=quotes[contact.company_id], contracts=contracts[contact.company_id])
        for contact in allowed
    ]


def pending_signature(contract: Contract, contact: Contact) -> Signature | None:
    return (
        Signature.objects.filter(contract=contract, signer=contact, status=Signature.Status.PENDING)
        .order_by("-id")
        .first()
    )


# --------------------------------------------------------------------------------------------------
# Back office
# --------------------------------------------------------------------------------------------------
def contracts_for(user: User, organization: Organization | int) -> QuerySet[Contract]:
    """The organization's contracts for staff holding sales.view_contract (else none)."""
    if not rights.has_right(user, "sales.view_contract", organization):
        return Contract.objects.none()
    return Contract.objects.filter(organization_id=_org_id(organization)).select_related(
        "company", "signer", "terms", "organization"
    )


def signatures_of(contract: Contract) -> list[Signature]:
    """Every signature attempt of a contract (the signed one first), with its events and signer."""
    return list(
        Signature.objects.filter(contract=contract)
        .select_related("signer")
        .prefetch_related(Prefetch("events", queryset=SignatureEvent.objects.order_by("at", "id")))
        .order_by("-status", "-id")
    )


def signed_signature(contract: Contract) -> Signature | None:
    return (
        Signature.objects.filter(contract=contract, status=Signature.Status.SIGNED)
        .select_related("signer", "contract__company")
        .prefetch_related(Prefetch("events", queryset=SignatureEvent.objects.order_by("at", "id")))
        .first()
    )


def signatures_for(user: User, organization: Organization | int) -> QuerySet[Signature]:
    """Signatures of the organization's contracts for staff holding sales.view_contract (the API)."""
    if not rights.has_right(user, "sales.view_contract", organization):
        return Signature.objects.none()
    return (
        Signature.objects.filter(contract__organization_id=_org_id(organization))
        .select_related("contract", "contract__company", "signer")
        .prefetch_related(Prefetch("events", queryset=SignatureEvent.objects.order_by("at", "id")))
    )
