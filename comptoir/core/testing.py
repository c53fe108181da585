"""Test helpers shared by every app.

The tenancy walker proves DESIGN.md invariant 1: it walks every URL pattern of the project (back office,
portal, API) that takes an object id, substitutes the id of an object that belongs to *another*
organization, and expects 404 for every method — and that nothing of the other organization changed.

Each app registers, in its ``tests/factories.py``, how to build one of its objects for an organization::

    from comptoir.core.testing import register_tenant_object
    register_tenant_object("company", lambda organization: CompanyFactory(organization=organization))

and adds one line to its tests to walk its own URLs::

    test_other_organizations_objects_answer_404 = tenancy_walk_test(namespaces=["crm"], api_prefixes=["companies"])

The key is the start of the URL name (``company_detail``, DRF basename ``company-detail``) or of the URL
argument (``company_pk``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

TenantFactory = Callable[[Any], models.Model]
_factories: dict[str, TenantFactory] = {}

ID_ARGUMENT = re.compile(r"^(?:(?P<key>[a-z]+)_)?(?:pk|id)$")
API_PREFIX = "/api/"


def register_tenant_object(key: str, factory: TenantFactory) -> None:
    _factories[key] = factory


def _autodiscover() -> None:
    for config in apps.get_app_configs():
        if config.name.startswith("comptoir."):
            try:
                importlib.import_module(f"{config.name}.tests.factories")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.tests.factories" and exc.name != f"{config.name}.tests":
                    raise


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name
    arguments: tuple[str, ...]  # names of the URL arguments
    is_api: bool


def _routes(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            child = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry, child)
        elif entry.name:
            yield f"{namespace}{entry.name}", entry


def object_routes() -> list[Route]:
    """Every named URL pattern that takes at least one object-id argument (one entry per name)."""
    seen: dict[str, Route] = {}
    for name, pattern in _routes(get_resolver()):
        arguments = tuple(sorted(pattern.pattern.regex.groupindex))
        id_arguments = [argument for argument in arguments if ID_ARGUMENT.match(argument)]
        if not id_arguments or name in seen:
            continue
        arguments = tuple(argument for argument in arguments if argument != "format")
        try:
            path = reverse(name, kwargs=dict.fromkeys(arguments, 1))
        except Exception:  # a pattern with non-numeric arguments: built below per argument
            path = ""
        seen[name] = Route(name=name, arguments=arguments, is_api=path.startswith(API_PREFIX))
    return list(seen.values())


def key_for(route: Route, argument: str) -> str:
    match = ID_ARGUMENT.match(argument)
    if match and match.group("key"):
        return match.group("key")
    short_name = route.name.rsplit(":", 1)[-1]
    return re.split(r"[_-]", short_name, maxsplit=1)[0]


@dataclass
class WalkResult:
    checked: list[str]
    failures: list[str]


def walk(
    *,
    own_organization: Any,
    foreign_organization: Any,
    web_client: Any,
    api_client: Any,
    namespaces: Iterable[str] | None = None,
    api_prefixes: Iterable[str] | None = None,
    foreign_objects: dict[str, models.Model] | None = None,
) -> WalkResult:
    """Request every object URL with another organization's ids; collect what did not answer 404."""
    _autodiscover()
    wanted_namespaces = set(namespaces or [])
    wanted_api = tuple(f"/api/v1/{prefix.strip('/')}/" for prefix in (api_prefixes or []))
    foreign_objects = dict(foreign_objects or {})
    checked: list[str] = []
    failures: list[str] = []
    for route in object_routes():
        namespace = route.name.rsplit(":", 1)[0] if ":" in route.name else ""
        kwargs: dict[str, Any] = {}
        missing = False
        for argument in route.arguments:
            if not ID_ARGUMENT.match(argument):
                kwargs[argument] = "x"
                continue
            key = key_for(route, argument)
            if key not in _factories:
                failures.append(f"{route.name}: no tenant object registered for key {key!r}")
                missing = True
                break
            if key not in foreign_objects:
                foreign_objects[key] = _factories[key](foreign_organization)
            kwargs[argument] = foreign_objects[key].pk
        if missing:
            continue
        path = reverse(route.name, kwargs=kwargs)
        if route.is_api:
            if wanted_api and not path.startswith(wanted_api):
                continue
            if not wanted_api and (namespaces is not None):
                continue
        elif wanted_namespaces and namespace not in wanted_namespaces:
            continue
        client = api_client if route.is_api else web_client
        methods = ["get", "post", "put", "patch", "delete"] if route.is_api else ["get", "post"]
        statuses = {}
        for method in methods:
            response = getattr(client, method)(path, **({"format": "json"} if route.is_api and method != "get" else {}))
            statuses[method] = response.status_code
        checked.append(f"{route.name} {path} {statuses}")
        answered_404 = [method for method, status in statuses.items() if status == 404]
        leaked = {method: status for method, status in statuses.items() if status not in (404, 405)}
        if leaked or not answered_404:
            failures.append(f"{route.name} {path}: expected 404, got {statuses}")
    return WalkResult(checked=checked, failures=failures)


def _fingerprint(organization: Any) -> dict[str, int]:
    """Row counts per tenant model of one organization (to prove the walk changed nothing there)."""
    counts = {}
    for model in apps.get_models():
        if model._meta.app_label not in {c.label for c in apps.get_app_configs() if c.name.startswith("comptoir.")}:
            continue
        field_names = {field.name for field in model._meta.get_fields()}
        if "organization" in field_names and model._meta.label != "core.AuditEntry":
            counts[model._meta.label] = model._default_manager.filter(organization=organization).count()
    return counts


def tenancy_walk_test(
    *, namespaces: Iterable[str] | None = None, api_prefixes: Iterable[str] | None = None
) -> Callable[..., None]:
    """A pytest test function walking the given namespaces / API prefixes (None: the whole project)."""
    namespaces = list(namespaces) if namespaces is not None else None
    api_prefixes = list(api_prefixes) if api_prefixes is not None else None

    def test(org, other_org, admin, staff_client, api_client) -> None:  # type: ignore[no-untyped-def]
        from comptoir.core.models import AuditEntry

        web = staff_client(admin)
        api = api_client(admin)
        _autodiscover()
        # the other organization has one object of every kind
        foreign_objects = {key: factory(other_org) for key, factory in _factories.items()}
        before = _fingerprint(other_org)
        journal_before = AuditEntry.objects.filter(organization=other_org).count()

        result = walk(
            own_organization=org,
            foreign_organization=other_org,
            web_client=web,
            api_client=api,
            namespaces=namespaces,
            api_prefixes=api_prefixes,
            foreign_objects=foreign_objects,
        )

        assert result.checked, "the walker found no URL with an object id to check"
        assert not result.failures, "\n".join(result.failures)
        assert _fingerprint(other_org) == before, "the walk changed another organization's data"
        assert AuditEntry.objects.filter(organization=other_org).count() == journal_before

    test.__doc__ = "Every object URL answers 404 for another organization's objects, and changes nothing."
    return test
