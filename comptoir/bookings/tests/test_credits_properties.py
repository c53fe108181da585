"""Property tests of the credit ledger (DESIGN invariants 6 and 12): whatever the sequence of grants, spends and
refunds, the ledger agrees with a plain model of it — the balance of each day is the sum of what valid grants still
hold, never negative; a spend is refused (nothing written) when the valid credits do not cover it; spending takes
the soonest-expiring grants first; a refund gives back exactly what a booking took, once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.bookings.models import Booking, CreditEntry
from comptoir.bookings.services import credits
from comptoir.bookings.tests.factories import BookingFactory, RoomFactory, at
from comptoir.core.errors import Conflict
from comptoir.crm.tests.factories import CompanyFactory

TODAY = datetime.date(2027, 3, 1)
amounts = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 4)  # 0.25 to 10 credits
operation = st.one_of(
    st.tuples(st.just("grant"), amounts, st.integers(0, 20), st.integers(0, 30)),  # amount, starts in, lasts days
    st.tuples(st.just("spend"), amounts, st.integers(0, 40)),  # amount, on day
    st.tuples(st.just("refund"), st.integers(0, 50)),  # which earlier spend
)


@pytest.fixture
def holder(org, center):
    return CompanyFactory(organization=org), RoomFactory(organization=org, center=center)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_the_ledger_follows_its_model(holder, operations):
    company, room = holder
    with transaction.atomic():
        model: dict[int, list] = {}  # grant id -> [valid_from, valid_until, remaining]
        spent: list[tuple[Booking, dict[int, Decimal]]] = []
        for op in operations:
            if op[0] == "grant":
                _kind, amount, starts_in, days = op
                start = TODAY + datetime.timedelta(days=starts_in)
                grant = credits.gesture(company=company, contact=None, amount=amount, by=None, note="test",
                                        days=days, today=start)  # fmt: skip
                model[grant.pk] = [grant.valid_from, grant.valid_until, amount]
            elif op[0] == "spend":
                _kind, amount, on = op
                day = TODAY + datetime.timedelta(days=on)
                booking = BookingFactory(space=room, company=company, starts_at=at(day, 10), ends_at=at(day, 11),
                                         status=Booking.Status.CANCELLED, payment=Booking.Payment.CREDITS)  # fmt: skip
                valid = sorted((g for g, (a, b, left) in model.items() if a <= day <= b and left > 0),
                               key=lambda g: (model[g][1], g))  # fmt: skip
                available = sum((model[g][2] for g in valid), Decimal(0))
                if available < amount:
                    before = CreditEntry.objects.count()
                    with pytest.raises(Conflict):
                        credits.spend(booking=booking, amount=amount, by=None)
                    assert CreditEntry.objects.count() == before
                    continue
                entries = credits.spend(booking=booking, amount=amount, by=None)
                taken: dict[int, Decimal] = {}
                left = amount
                for g in valid:  # the model takes the soonest-expiring first
                    take = min(left, model[g][2])
                    if take:
                        taken[g] = take
                        model[g][2] -= take
                        left -= take
                assert {e.grant_id: -e.amount for e in entries} == taken
                spent.append((booking, taken))
            elif spent:
                booking, taken = spent[op[1] % len(spent)]
                refunds = credits.refund(booking=booking, by=None)
                given_back = {e.grant_id: e.amount for e in refunds}
                for g, amount in given_back.items():
                    model[g][2] += amount
                assert sum(given_back.values(), Decimal(0)) in (Decimal(0), sum(taken.values(), Decimal(0)))
            for offset in range(0, 52, 6):
                day = TODAY + datetime.timedelta(days=offset)
                expected = sum((left for a, b, left in model.values() if a <= day <= b), Decimal(0))
                assert credits.balance(company, None, day) == expected >= 0
        transaction.set_rollback(True)
