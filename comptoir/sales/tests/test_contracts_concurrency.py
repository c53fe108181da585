"""Two drafts on the same office sent for signature at the same time: exactly one takes the office
(row lock on the space, PostgreSQL with real threads); sequentially, the second is refused everywhere."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, connections

from comptoir.catalog.tests.factories import SpaceFactory
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.crm.models import Contact
from comptoir.crm.tests.factories import ContactFactory
from comptoir.sales.models import Contract
from comptoir.sales.services import contracts as services
from comptoir.sales.tests.factories import ContractFactory, ContractLineFactory, TermsFactory

START = datetime.date.today() + datetime.timedelta(days=7)


def two_drafts_on_one_office(org, center):  # type: ignore[no-untyped-def]
    TermsFactory(organization=org, version=1)
    office = SpaceFactory(organization=org, center=center)
    drafts = []
    for index in range(2):
        contract = ContractFactory(organization=org, center=center, start_date=START)
        ContractLineFactory(contract=contract, space=office)
        signer = ContactFactory(organization=org, company=contract.company, email=f"admin{index}@client.test",
                                company_role=Contact.CompanyRole.ADMINISTRATOR, has_portal_access=True)  # fmt: skip
        drafts.append((contract, signer))
    return drafts


def test_second_draft_on_the_same_office_cannot_be_sent(org, center, admin):
    (first, first_signer), (second, second_signer) = two_drafts_on_one_office(org, center)
    services.send_for_signature(contract=first, by=admin, signer=first_signer)
    with pytest.raises(ValidationFailed) as exc:
        services.send_for_signature(contract=second, by=admin, signer=second_signer)
    assert exc.value.code == "not_ready" and first.reference in exc.value.message
    second.refresh_from_db()
    assert second.status == Contract.Status.DRAFT and not second.document


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sendings_take_the_office_once(org, center, admin):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL (SQLite serializes writers)")
    drafts = two_drafts_on_one_office(org, center)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def send(contract, signer):  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=10)
            services.send_for_signature(contract=contract, by=admin, signer=signer)
            outcomes.append("sent")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=draft) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["not_ready", "sent"]
    assert Contract.objects.filter(status=Contract.Status.AWAITING_SIGNATURE).count() == 1
