"""Shared fixtures: two organizations, staff of each predefined role, API clients."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from comptoir.core import services
from comptoir.core.tests.factories import PASSWORD, CenterFactory, OrganizationFactory, StaffFactory


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    url = os.environ.get("DATABASE_URL", "sqlite (default)")
    return f"comptoir database: {url.split('@')[-1]}"


@pytest.fixture(autouse=True)
def _media_and_static(settings, tmp_path):  # type: ignore[no-untyped-def]
    # Argon2 is the production hasher (test_settings checks it); tests hash with a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # the offline card form of the manual payment provider, as in development (`make run`); tests of its
    # refusal turn it off themselves
    settings.PAYMENTS_OFFLINE_CHECKOUT = "1"


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def org(db):  # type: ignore[no-untyped-def]
    return OrganizationFactory(name="Opérateur A", slug="operateur-a")


@pytest.fixture
def other_org(db):  # type: ignore[no-untyped-def]
    return OrganizationFactory(name="Opérateur B", slug="operateur-b")


@pytest.fixture
def center(org):  # type: ignore[no-untyped-def]
    return CenterFactory(organization=org, name="Paris Opéra", code="paris-opera")


@pytest.fixture
def other_center(other_org):  # type: ignore[no-untyped-def]
    return CenterFactory(organization=other_org, name="Lyon Part-Dieu", code="lyon")


@pytest.fixture
def admin(org):  # type: ignore[no-untyped-def]
    return StaffFactory(organization=org, kind="administrator").user


@pytest.fixture
def staff_of(org):  # type: ignore[no-untyped-def]
    """staff_of("reception") → a user holding that predefined role in `org`."""

    def make(kind: str, organization=None):  # type: ignore[no-untyped-def]
        return StaffFactory(organization=organization or org, kind=kind).user

    return make


@pytest.fixture
def other_admin(other_org):  # type: ignore[no-untyped-def]
    return StaffFactory(organization=other_org, kind="administrator").user


@pytest.fixture
def staff_client(client, org):  # type: ignore[no-untyped-def]
    """staff_client(user) → Django test client logged in as `user`, working in `org`."""

    def make(user, organization=None):  # type: ignore[no-untyped-def]
        client.force_login(user, backend="comptoir.core.auth.EmailBackend")
        session = client.session
        session["organization_id"] = (organization or org).pk
        session.save()
        return client

    return make


@pytest.fixture
def api_client(org):  # type: ignore[no-untyped-def]
    """api_client(user) → DRF APIClient with a Bearer token of `user` in `org`."""
    from rest_framework.test import APIClient

    def make(user, organization=None):  # type: ignore[no-untyped-def]
        _token, raw = services.create_api_token(organization=organization or org, user=user, by=None, name="test")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return api

    return make


@pytest.fixture
def is_postgres(db) -> bool:  # type: ignore[no-untyped-def]
    return connection.vendor == "postgresql"
