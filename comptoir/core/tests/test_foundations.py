"""Money formatting, the events hub, validators, numbering under concurrency, health check."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from comptoir.core import events, numbering, validators
from comptoir.core.models import Sequence
from comptoir.core.money import format_money, round_cents


def test_money_is_formatted_the_french_way():
    with translation.override("fr"):
        assert format_money(Decimal("1234.56")) == "1\u202f234,56\u00a0€"
        assert format_money(Decimal("-0.5")) == "-0,50\u00a0€"
        assert format_money(Decimal("1000000")) == "1\u202f000\u202f000,00\u00a0€"
    with translation.override("en"):
        assert format_money(Decimal("1234.56")) == "€1,234.56"


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        round_cents(0.1)  # type: ignore[arg-type]


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False))
def test_rounding_is_half_up_to_the_cent(value):
    rounded = round_cents(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")


def test_events_run_in_declared_order_and_once_per_handler():
    calls = []

    def second(**payload):
        calls.append(("second", payload["value"]))

    def first(**payload):
        calls.append(("first", payload["value"]))

    events.subscribe("test.happened", second, order=20)
    events.subscribe("test.happened", first, order=10)
    events.subscribe("test.happened", first, order=10)  # registering twice is harmless
    try:
        events.publish("test.happened", value=1)
    finally:
        events.unsubscribe("test.happened", first)
        events.unsubscribe("test.happened", second)

    assert calls == [("first", 1), ("second", 1)]
    assert events.handlers("test.happened") == []


@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        (validators.validate_siren, "732829320", "732829321"),
        (validators.validate_siret, "73282932000074", "73282932000075"),
        (validators.validate_vat_number, "FR44732829320", "FR00732829320"),
        (validators.validate_iban, "FR7630006000011234567890189", "FR7630006000011234567890188"),
        (validators.validate_bic, "AGRIFRPPXXX", "AGRI"),
        (validators.validate_sepa_creditor_id, "FR72ZZZ123456", "FR73ZZZ123456"),
        (validators.validate_timezone, "Europe/Paris", "Europe/Lutece"),
        (validators.validate_country, "FR", "XX"),
    ],
)
def test_identifier_validators(validator, good, bad):
    validator(good)
    with pytest.raises(ValidationError):
        validator(bad)


@pytest.mark.django_db(transaction=True)
def test_concurrent_numbering_has_no_gap_and_no_duplicate(org):
    """Eight threads take numbers at the same time: 1..N exactly once each.

    PostgreSQL: the sequence row lock; SQLite: immediate transactions serialize the writers.
    """
    taken: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            for _ in range(5):
                with transaction.atomic():
                    taken.append(numbering.next_number(organization=org, series="FA", scope="2026"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(taken) == list(range(1, 41))
    assert Sequence.objects.get(organization=org, series="FA", scope="2026").last_value == 40


def test_healthz_answers_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_integers_in_templates_are_not_grouped_so_ids_stay_usable():
    """An id in an HTML attribute must read 2034, never "2 034" (amounts and counts are grouped explicitly)."""
    from django.template import Context, Template

    with translation.override("fr"):
        assert Template('<span id="action-{{ pk }}">').render(Context({"pk": 2034})) == '<span id="action-2034">'
