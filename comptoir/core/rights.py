"""Staff rights: per organization, a role holds view / add / change / delete per module.

A *module* is a model of a Comptoir app; its rights are the four Django model permissions
(`crm.view_company`, ...) plus any custom ones a model declares (`billing.issue_invoice`).
Every service checks them with `require(user, "app.codename", organization)`; views and API
permission classes ask the same `has_right`, so the UI and the API can never disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from comptoir.core.errors import RightsError

if TYPE_CHECKING:
    from comptoir.core.models import Organization, Role, StaffMembership, User

ACTIONS = ("view", "add", "change", "delete")
COMPTOIR_APP_PREFIX = "comptoir."

# Default rights of the predefined roles, per model label: letters v(iew) a(dd) c(hange) d(elete);
# a custom right is named in full with "*" ({"billing.issue_invoice": "*"}).
# Each app adds its own with `register_default_rights` in its rights.py (imported by AppConfig.ready).
_DEFAULT_RIGHTS: dict[str, dict[str, str]] = {"manager": {}, "reception": {}, "technician": {}}


def register_default_rights(rights: dict[str, dict[str, str]]) -> None:
    for role_kind, per_model in rights.items():
        _DEFAULT_RIGHTS.setdefault(role_kind, {}).update(per_model)


register_default_rights(
    {
        "manager": {
            "core.organization": "v",
            "core.legalentity": "v",
            "core.center": "vac",
            "core.staffmembership": "v",
            "core.role": "v",
            "core.auditentry": "v",
            "core.apitoken": "vacd",
        },
        "reception": {"core.organization": "v", "core.center": "v", "core.staffmembership": "v"},
        "technician": {"core.center": "v"},
    }
)


def module_app_labels() -> list[str]:
    from django.apps import apps

    return [config.label for config in apps.get_app_configs() if config.name.startswith(COMPTOIR_APP_PREFIX)]


def declared_rights() -> set[tuple[str, str]]:
    """(app_label, codename) of every right the models of Comptoir's apps declare today.

    Permission rows left behind by a model that no longer declares them are not rights.
    """
    from django.apps import apps
    from django.contrib.auth.management import _get_all_permissions

    declared = set()
    for label in module_app_labels():
        for model in apps.get_app_config(label).get_models():
            declared.update((label, codename) for codename, _name in _get_all_permissions(model._meta))
    return declared


@functools.cache
def every_right() -> frozenset[str]:
    """The names of every right ("crm.view_company"): what an administrator holds. The models' declarations
    do not change while the process runs, and migrate creates a Permission row for each of them."""
    return frozenset(f"{app_label}.{codename}" for app_label, codename in declared_rights())


def module_permissions() -> QuerySet[Permission]:
    """Every right that a role can hold, in a stable order."""
    declared = declared_rights()
    condition = Q(pk__in=[])
    for app_label, codename in declared:
        condition |= Q(content_type__app_label=app_label, codename=codename)
    return (
        Permission.objects.filter(condition)
        .select_related("content_type")
        .order_by("content_type__app_label", "content_type__model", "id")
    )


def permission_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def default_permission_names(role_kind: str) -> set[str]:
    names: set[str] = set()
    for model_label, letters in _DEFAULT_RIGHTS.get(role_kind, {}).items():
        app_label, model = model_label.split(".")
        if letters == "*":  # a custom right named in full: {"billing.issue_invoice": "*"}
            names.add(model_label)
            continue
        for letter in letters:
            action = {"v": "view", "a": "add", "c": "change", "d": "delete"}[letter]
            names.add(f"{app_label}.{action}_{model}")
    return names


def permissions_from_names(names: Iterable[str]) -> list[Permission]:
    wanted = set(names)
    return [perm for perm in module_permissions() if permission_name(perm) in wanted]


def membership(user: User | None, organization: Organization | int | None) -> StaffMembership | None:
    """The user's active staff membership in the organization (cached on the user object)."""
    if user is None or not getattr(user, "is_authenticated", False) or organization is None:
        return None
    org_id = organization if isinstance(organization, int) else organization.pk
    cache: dict[int, StaffMembership | None] = user.__dict__.setdefault("_staff_memberships", {})
    if org_id not in cache:
        from comptoir.core.models import StaffMembership

        cache[org_id] = (
            StaffMembership.objects.select_related("role", "organization")
            .filter(user=user, organization_id=org_id, is_active=True, organization__is_active=True)
            .first()
        )
    return cache[org_id]


def role_rights(role: Role) -> frozenset[str]:
    if role.holds_every_right:
        return every_right()
    return frozenset(
        f"{app_label}.{codename}"
        for app_label, codename in role.permissions.values_list("content_type__app_label", "codename")
    )


def rights_of(user: User | None, organization: Organization | int | None) -> frozenset[str]:
    staff = membership(user, organization)
    if staff is None:
        return frozenset()
    cache: dict[int, frozenset[str]] = user.__dict__.setdefault("_staff_rights", {})  # type: ignore[union-attr]
    if staff.pk not in cache:
        cache[staff.pk] = role_rights(staff.role)
    return cache[staff.pk]


def forget(user: User) -> None:
    """Drop the cached memberships and rights (after a role or membership change)."""
    user.__dict__.pop("_staff_memberships", None)
    user.__dict__.pop("_staff_rights", None)


def has_right(user: User | None, perm: str, organization: Organization | int | None) -> bool:
    return perm in rights_of(user, organization)


def is_staff_of(user: User | None, organization: Organization | int | None) -> bool:
    return membership(user, organization) is not None


def require(user: User | None, perm: str, organization: Organization | int | None) -> None:
    if not has_right(user, perm, organization):
        raise RightsError(_("Vous n'avez pas le droit d'effectuer cette action."), code="forbidden")


def require_staff(user: User | None, organization: Organization | int | None) -> StaffMembership:
    staff = membership(user, organization)
    if staff is None:
        raise RightsError(_("Réservé au staff de cette organisation."), code="forbidden")
    return staff
