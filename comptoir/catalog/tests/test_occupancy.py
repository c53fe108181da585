"""The occupancy extension point: inactive spaces are unavailable, providers say occupied / reserved
(occupied wins), the rest is free; one call per provider whatever the number of spaces."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.catalog import occupancy
from comptoir.catalog.models import Space
from comptoir.catalog.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 23)


@pytest.fixture
def provider():
    """A provider registered for the test only: space ids listed in `answers` (per day) are taken."""
    calls = []
    answers: dict[int, str] = {}

    def provide(space_ids, on):
        calls.append((list(space_ids), on))
        list(Space.objects.filter(pk__in=space_ids).values_list("pk"))  # one query, like a real provider
        return dict(answers)

    occupancy.register(provide)
    yield provide, answers, calls
    occupancy.unregister(provide)
    assert provide not in occupancy.providers()


def test_states_free_occupied_reserved_unavailable(org, center, provider):
    _provide, answers, calls = provider
    free, occupied, reserved = (SpaceFactory(organization=org, center=center) for _ in range(3))
    inactive = SpaceFactory(organization=org, center=center, is_active=False)
    answers.update({occupied.pk: occupancy.OCCUPIED, reserved.pk: occupancy.RESERVED, inactive.pk: occupancy.OCCUPIED})

    states = occupancy.states([free, occupied, reserved, inactive], DAY)

    assert states == {
        free.pk: occupancy.FREE,
        occupied.pk: occupancy.OCCUPIED,
        reserved.pk: occupancy.RESERVED,
        inactive.pk: occupancy.UNAVAILABLE,
    }
    # the provider is asked once, about the active spaces only, for that day
    assert calls == [([free.pk, occupied.pk, reserved.pk], DAY)]


def test_occupied_beats_reserved_whatever_the_order_of_providers(org, center, provider):
    _provide, answers, _calls = provider
    space = SpaceFactory(organization=org, center=center)
    answers[space.pk] = occupancy.RESERVED

    def says_occupied(space_ids, on):
        return {space.pk: occupancy.OCCUPIED}

    def says_reserved_again(space_ids, on):
        return {space.pk: occupancy.RESERVED}

    occupancy.register(says_occupied)
    occupancy.register(says_reserved_again)
    try:
        assert occupancy.states([space], DAY) == {space.pk: occupancy.OCCUPIED}
    finally:
        occupancy.unregister(says_occupied)
        occupancy.unregister(says_reserved_again)


def test_unknown_ids_and_states_from_a_provider_are_ignored(org, center, provider):
    _provide, answers, _calls = provider
    space = SpaceFactory(organization=org, center=center)
    answers.update({space.pk: "on fire", 999_999: occupancy.OCCUPIED})
    assert occupancy.states([space], DAY) == {space.pk: occupancy.FREE}


def test_registering_twice_registers_once(provider):
    provide, _answers, _calls = provider
    occupancy.register(provide)
    assert occupancy.providers().count(provide) == 1


def test_no_space_asks_no_provider(provider):
    _provide, _answers, calls = provider
    assert occupancy.states([], DAY) == {}
    assert calls == []


def _queries(spaces) -> int:
    with CaptureQueriesContext(connection) as queries:
        occupancy.states(spaces, DAY)
    return len(queries)


def test_one_query_per_provider_whatever_the_number_of_spaces(org, center, provider):
    few = [SpaceFactory(organization=org, center=center) for _ in range(2)]
    many = few + [SpaceFactory(organization=org, center=center) for _ in range(30)]
    assert _queries(few) == _queries(many) <= len(occupancy.providers())
