"""No double booking over HTTP (DESIGN invariant 5, issue 7): 50 clients POST the same slot of one room at once to
a real gunicorn with several workers (separate processes, separate database connections) — exactly one 201, every
other answer a 409 « slot taken » with the conflicting slot, never a 500.

The data is committed (a transactional test) so that the server's processes see it; the server uses the test
database itself, on PostgreSQL (the exclusion constraint behind the per-space lock) and on SQLite (immediate
transactions). Then the database is checked: one booking holds the slot.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from comptoir.bookings.models import Booking
from comptoir.bookings.tests.factories import RoomFactory, SpaceBookingFactory, at, next_weekday
from comptoir.core import services
from comptoir.core.tests.factories import CenterFactory, OrganizationFactory, StaffFactory
from comptoir.crm.tests.factories import CompanyFactory
from tests.gunicorn import serve

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 50


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, tmp_path):  # type: ignore[no-untyped-def]
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.fail("the SQLite test database must be a file for a server to share it (SQLITE_TEST_FILE)")
    env = {
        **{name: value for name, value in os.environ.items() if name not in {"REDIS_URL", "HTTPS"}},
        "COMPTOIR_VAR_DIR": str(tmp_path),
        "DATABASE_URL": _database_url(),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TASK_BACKEND": "immediate",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    log = tmp_path / "gunicorn.log"
    with serve(env, log, workers=4, threads=4) as url:
        yield url, log


def test_fifty_clients_one_slot_exactly_one_booking(gunicorn):  # type: ignore[no-untyped-def]
    url, log = gunicorn
    organization = OrganizationFactory()
    center = CenterFactory(organization=organization)
    room = SpaceBookingFactory(space=RoomFactory(organization=organization, center=center)).space
    company = CompanyFactory(organization=organization, kind="client")
    admin = StaffFactory(organization=organization, kind="administrator").user
    _token, raw = services.create_api_token(organization=organization, user=admin, by=None, name="contention")
    monday = next_weekday(0)
    body = json.dumps({"space": room.pk, "company": company.pk, "starts_at": at(monday, 10).isoformat(),
                       "ends_at": at(monday, 11, 30).isoformat()}).encode()  # fmt: skip
    barrier = threading.Barrier(CLIENTS)

    def client(_index: int) -> tuple[int, dict]:
        request = urllib.request.Request(f"{url}/api/v1/bookings/", data=body, method="POST", headers={
            "Authorization": f"Bearer {raw}", "Content-Type": "application/json"})  # fmt: skip
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(client, range(CLIENTS)))

    statuses = sorted(status for status, _body in answers)
    assert statuses.count(201) == 1, (statuses, log.read_text()[-3000:])
    assert statuses.count(409) == CLIENTS - 1, (statuses, [b for s, b in answers if s not in (201, 409)][:3])
    conflict = next(body for status, body in answers if status == 409)["error"]
    assert conflict["code"] == "slot_taken" and conflict["conflict"]["kind"] == "booking"
    holding = Booking.objects.filter(space=room, status__in=Booking.HOLDING)
    assert holding.count() == 1
