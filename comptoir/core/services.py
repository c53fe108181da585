"""Every write of the core app: organizations, legal entities, centers, staff, roles, API tokens.

Each function is keyword-only, checks the actor's rights, validates, runs in one transaction and
writes the audit journal. Views and API endpoints call these and nothing else to change data.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from comptoir.core import events, journal, rights
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import (
    PREDEFINED_ROLE_NAMES,
    ApiToken,
    Center,
    LegalEntity,
    OpeningHours,
    Organization,
    Role,
    StaffMembership,
    User,
)
from comptoir.core.tasks import send_activation_email_task

PREDEFINED_ROLES: list[tuple[str, str]] = list(PREDEFINED_ROLE_NAMES.items())


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
# A database constraint's violation_error_code → the input field its message belongs to (apps add theirs).
CONSTRAINT_FIELDS: dict[str, str] = {}


def validate(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Model validation turned into a DomainError whose `fields` point at the faulty inputs."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        code = "invalid"
        for name, errors in exc.error_dict.items():
            for error in errors:
                target = name
                if name == "__all__" and (error.code or "") in CONSTRAINT_FIELDS:
                    target, code = CONSTRAINT_FIELDS[error.code], error.code
                fields.setdefault(target, []).extend(error.messages)
        first = next(iter(fields.values()))[0] if fields else _("Données invalides.")
        raise ValidationFailed(first, code=code, fields=fields) from exc


def apply_changes(instance: models.Model, data: dict[str, Any], allowed: Iterable[str]) -> dict[str, list[Any]]:
    """Set the allowed fields from `data`, validate, and return the {field: [before, after]} diff."""
    allowed = list(allowed)
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationFailed(
            _("Champ non modifiable : %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="unknown_field",
            fields={name: [_("Champ non modifiable.")] for name in sorted(unknown)},
        )
    before = journal.snapshot(instance, allowed)
    for name, value in data.items():
        setattr(instance, name, value)
    validate(instance)
    return journal.diff(before, journal.snapshot(instance, allowed))


def _same_org(obj: models.Model, organization: Organization, label: str) -> None:
    if getattr(obj, "organization_id", None) != organization.pk:
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field=label)


# --------------------------------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------------------------------
ORGANIZATION_FIELDS = ["name", "email", "phone", "website"]


@transaction.atomic
def create_organization(*, name: str, slug: str, by: User | None = None, **fields: Any) -> Organization:
    """A new operator account with its predefined roles (a platform operation)."""
    organization = Organization(name=name, slug=slug, **fields)
    validate(organization)
    organization.save()
    seed_roles(organization=organization)
    journal.record(actor=by, action="organization.created", obj=organization)
    events.publish("organization.created", organization=organization)
    return organization


@transaction.atomic
def update_organization(*, organization: Organization, by: User, data: dict[str, Any]) -> Organization:
    rights.require(by, "core.change_organization", organization)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    changes = apply_changes(organization, data, ORGANIZATION_FIELDS)
    if changes:
        organization.save()
        journal.record(actor=by, action="organization.updated", obj=organization, changes=changes)
    return organization


@transaction.atomic
def add_first_administrator(
    *,
    organization: Organization,
    email: str,
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    send_activation: bool = True,
) -> StaffMembership:
    """The platform gives a new organization its first administrator (nobody there holds a right yet)."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if StaffMembership.objects.filter(
        organization=organization, role__kind=Role.Kind.ADMINISTRATOR, is_active=True
    ).exists():
        raise DomainError(_("Cette organisation a déjà un administrateur."), code="has_administrator")
    email = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(email__iexact=email).first()
    created_user = user is None
    if user is None:
        user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip())
        user.set_unusable_password()
        validate(user, exclude=["password"])
        user.save()
    role = Role.objects.get(organization=organization, kind=Role.Kind.ADMINISTRATOR)
    staff, _created = StaffMembership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role, "job_title": job_title, "is_active": True}
    )
    journal.record(
        actor=None,
        action="staff.added",
        obj=staff,
        changes={"email": email, "role": role.name, "centers": [], "new_account": created_user},
        message="first administrator",
    )
    if send_activation and not user.has_usable_password():
        _enqueue_activation(user=user, organization=organization)
    return staff


def seed_roles(*, organization: Organization) -> list[Role]:
    """Create the predefined roles with their default rights (existing roles are left as they are)."""
    roles = []
    for kind, name in PREDEFINED_ROLES:
        role, created = Role.objects.get_or_create(organization=organization, kind=kind, defaults={"name": name})
        if created and kind != Role.Kind.ADMINISTRATOR:
            role.permissions.set(rights.permissions_from_names(rights.default_permission_names(kind)))
        roles.append(role)
    return roles


# --------------------------------------------------------------------------------------------------
# Legal entities
# --------------------------------------------------------------------------------------------------
LEGAL_ENTITY_FIELDS = [
    "name", "legal_form", "share_capital", "siren", "siret", "vat_number", "rcs", "iban", "bic",
    "sepa_creditor_id", "approval_number", "email", "phone", "logo", "invoice_legal_mentions", "is_active",
    "address_line1", "address_line2", "postal_code", "city", "country",
]  # fmt: skip


def _normalize_identifiers(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    for name in ("siren", "siret", "vat_number", "iban", "bic", "sepa_creditor_id"):
        if isinstance(data.get(name), str):
            data[name] = data[name].replace(" ", "").upper()
    if isinstance(data.get("country"), str):
        data["country"] = data["country"].upper()
    return data


@transaction.atomic
def create_legal_entity(*, organization: Organization, by: User, data: dict[str, Any]) -> LegalEntity:
    rights.require(by, "core.add_legalentity", organization)
    entity = LegalEntity(organization=organization)
    apply_changes(entity, _normalize_identifiers(data), LEGAL_ENTITY_FIELDS)
    try:
        with transaction.atomic():
            entity.save()
    except IntegrityError as exc:
        raise ValidationFailed(_("Une entité porte déjà ce nom."), code="duplicate", field="name") from exc
    journal.record(actor=by, action="legal_entity.created", obj=entity, changes=journal.snapshot(entity))
    return entity


@transaction.atomic
def update_legal_entity(*, entity: LegalEntity, by: User, data: dict[str, Any]) -> LegalEntity:
    rights.require(by, "core.change_legalentity", entity.organization_id)
    entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
    changes = apply_changes(entity, _normalize_identifiers(data), LEGAL_ENTITY_FIELDS)
    if changes:
        try:
            with transaction.atomic():
                entity.save()
        except IntegrityError as exc:
            raise ValidationFailed(_("Une entité porte déjà ce nom."), code="duplicate", field="name") from exc
        journal.record(actor=by, action="legal_entity.updated", obj=entity, changes=changes)
    return entity


# --------------------------------------------------------------------------------------------------
# Centers
# --------------------------------------------------------------------------------------------------
CENTER_FIELDS = [
    "name", "code", "legal_entity", "timezone", "email", "phone", "is_active",
    "address_line1", "address_line2", "postal_code", "city", "country",
]  # fmt: skip

OpeningInterval = tuple[int, datetime.time, datetime.time]


@transaction.atomic
def create_center(
    *,
    organization: Organization,
    by: User,
    data: dict[str, Any],
    opening_hours: Sequence[OpeningInterval] | None = None,
) -> Center:
    rights.require(by, "core.add_center", organization)
    if data.get("legal_entity") is not None:
        _same_org(data["legal_entity"], organization, "legal_entity")
    center = Center(organization=organization)
    apply_changes(center, data, CENTER_FIELDS)
    try:
        with transaction.atomic():
            center.save()
    except IntegrityError as exc:
        raise ValidationFailed(_("Un centre porte déjà ce code."), code="duplicate", field="code") from exc
    journal.record(actor=by, action="center.created", obj=center, changes=journal.snapshot(center))
    if opening_hours is not None:
        _write_opening_hours(center, opening_hours)
    return center


@transaction.atomic
def update_center(*, center: Center, by: User, data: dict[str, Any]) -> Center:
    rights.require(by, "core.change_center", center.organization_id)
    center = Center.objects.select_for_update().get(pk=center.pk)
    if data.get("legal_entity") is not None:
        _same_org(data["legal_entity"], center.organization, "legal_entity")
    changes = apply_changes(center, data, CENTER_FIELDS)
    if changes:
        try:
            with transaction.atomic():
                center.save()
        except IntegrityError as exc:
            raise ValidationFailed(_("Un centre porte déjà ce code."), code="duplicate", field="code") from exc
        journal.record(actor=by, action="center.updated", obj=center, changes=changes)
    return center


def _check_intervals(intervals: Sequence[OpeningInterval]) -> list[OpeningInterval]:
    cleaned = sorted((int(day), opens, closes) for day, opens, closes in intervals)
    for day, opens, closes in cleaned:
        if not 0 <= day <= 6:
            raise ValidationFailed(_("Jour de la semaine invalide."), code="invalid_weekday", field="opening_hours")
        if closes <= opens:
            raise ValidationFailed(
                _("L'heure de fermeture doit suivre l'heure d'ouverture."),
                code="invalid_hours",
                field="opening_hours",
            )
    for (day_a, _opens_a, closes_a), (day_b, opens_b, _closes_b) in itertools.pairwise(cleaned):
        if day_a == day_b and opens_b < closes_a:
            raise ValidationFailed(
                _("Deux plages horaires du même jour se chevauchent."),
                code="overlapping_hours",
                field="opening_hours",
            )
    return cleaned


def _write_opening_hours(center: Center, intervals: Sequence[OpeningInterval]) -> None:
    cleaned = _check_intervals(intervals)
    before = [str(hours) for hours in center.opening_hours.all()]
    center.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(center=center, weekday=day, opens_at=opens, closes_at=closes) for day, opens, closes in cleaned
    )
    after = [str(hours) for hours in center.opening_hours.all()]
    return before, after  # type: ignore[return-value]


@transaction.atomic
def set_opening_hours(*, center: Center, by: User, intervals: Sequence[OpeningInterval]) -> Center:
    rights.require(by, "core.change_center", center.organization_id)
    center = Center.objects.select_for_update().get(pk=center.pk)
    before, after = _write_opening_hours(center, intervals)  # type: ignore[misc]
    if before != after:
        journal.record(
            actor=by,
            action="center.opening_hours_changed",
            obj=center,
            changes={"opening_hours": [before, after]},
        )
    return center


# --------------------------------------------------------------------------------------------------
# Roles and rights
# --------------------------------------------------------------------------------------------------
def _refuse_escalation(by: User, organization: Organization, granted: Iterable[str]) -> None:
    """Nobody grants a right they do not hold themselves (to a role, to someone else, or to themselves)."""
    missing = set(granted) - rights.rights_of(by, organization)
    if missing:
        raise RightsError(
            _("Vous ne pouvez pas accorder des droits que vous ne détenez pas : %(rights)s.")
            % {"rights": ", ".join(sorted(missing))},
            code="escalation",
        )


@transaction.atomic
def create_role(
    *,
    organization: Organization,
    by: User,
    name: str,
    description: str = "",
    permission_names: Iterable[str] = (),
) -> Role:
    rights.require(by, "core.add_role", organization)
    names = set(permission_names)
    _refuse_escalation(by, organization, names)
    role = Role(organization=organization, name=name.strip(), description=description, kind=Role.Kind.CUSTOM)
    validate(role, exclude=["organization"])
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError as exc:
        raise ValidationFailed(_("Un rôle porte déjà ce nom."), code="duplicate", field="name") from exc
    role.permissions.set(rights.permissions_from_names(names))
    journal.record(actor=by, action="role.created", obj=role, changes={"rights": sorted(names)})
    return role


@transaction.atomic
def set_role_rights(*, role: Role, by: User, permission_names: Iterable[str]) -> Role:
    """Replace a role's rights. Only rights the actor holds can be added; the administrator role is fixed."""
    rights.require(by, "core.change_role", role.organization_id)
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.holds_every_right:
        raise DomainError(
            _("Le rôle administrateur détient tous les droits ; il ne se modifie pas."), code="fixed_role"
        )
    wanted = set(permission_names)
    known = {rights.permission_name(perm) for perm in rights.module_permissions()}
    if unknown := wanted - known:
        raise ValidationFailed(
            _("Droit inconnu : %(rights)s.") % {"rights": ", ".join(sorted(unknown))},
            code="unknown_right",
            field="permissions",
        )
    current = set(rights.role_rights(role))
    added, removed = wanted - current, current - wanted
    _refuse_escalation(by, role.organization, added)
    if added or removed:
        role.permissions.set(rights.permissions_from_names(wanted))
        journal.record(
            actor=by,
            action="role.rights_changed",
            obj=role,
            changes={"added": sorted(added), "removed": sorted(removed)},
        )
    rights.forget(by)
    return role


@transaction.atomic
def update_role(*, role: Role, by: User, data: dict[str, Any]) -> Role:
    rights.require(by, "core.change_role", role.organization_id)
    role = Role.objects.select_for_update().get(pk=role.pk)
    changes = apply_changes(role, data, ["name", "description"])
    if changes:
        try:
            with transaction.atomic():
                role.save()
        except IntegrityError as exc:
            raise ValidationFailed(_("Un rôle porte déjà ce nom."), code="duplicate", field="name") from exc
        journal.record(actor=by, action="role.updated", obj=role, changes=changes)
    return role


@transaction.atomic
def delete_role(*, role: Role, by: User) -> None:
    rights.require(by, "core.delete_role", role.organization_id)
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.kind != Role.Kind.CUSTOM:
        raise DomainError(_("Un rôle prédéfini ne peut pas être supprimé."), code="predefined_role")
    if role.memberships.exists():
        raise DomainError(_("Ce rôle est attribué à des collaborateurs."), code="role_in_use")
    journal.record(actor=by, action="role.deleted", obj=role)
    role.delete()


# --------------------------------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------------------------------
def _check_role_assignment(by: User, organization: Organization, role: Role) -> None:
    _same_org(role, organization, "role")
    _refuse_escalation(by, organization, rights.role_rights(role))


def _check_centers(organization: Organization, centers: Iterable[Center]) -> list[Center]:
    centers = list(centers)
    for center in centers:
        _same_org(center, organization, "centers")
    return centers


@transaction.atomic
def add_staff_member(
    *,
    organization: Organization,
    by: User,
    email: str,
    role: Role,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    job_title: str = "",
    centers: Iterable[Center] = (),
    send_activation: bool = True,
) -> StaffMembership:
    """Add a collaborator: creates the user account when the e-mail is new, and e-mails the activation link."""
    rights.require(by, "core.add_staffmembership", organization)
    _check_role_assignment(by, organization, role)
    centers = _check_centers(organization, centers)
    email = User.objects.normalize_email(email.strip()).lower()
    user = User.objects.filter(email__iexact=email).first()
    created_user = user is None
    if user is None:
        user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip(), phone=phone.strip())
        user.set_unusable_password()
        validate(user, exclude=["password"])
        user.save()
    if StaffMembership.objects.filter(organization=organization, user=user).exists():
        raise ValidationFailed(_("Cette personne fait déjà partie du staff."), code="duplicate", field="email")
    staff = StaffMembership.objects.create(organization=organization, user=user, role=role, job_title=job_title)
    staff.centers.set(centers)
    journal.record(
        actor=by,
        action="staff.added",
        obj=staff,
        changes={
            "email": email,
            "role": role.name,
            "centers": [c.pk for c in centers],
            "new_account": created_user,
        },
    )
    if send_activation and not user.has_usable_password():
        _enqueue_activation(user=user, organization=organization)
    return staff


@transaction.atomic
def update_staff_member(*, staff: StaffMembership, by: User, data: dict[str, Any]) -> StaffMembership:
    rights.require(by, "core.change_staffmembership", staff.organization_id)
    staff = StaffMembership.objects.select_for_update().select_related("organization").get(pk=staff.pk)
    data = dict(data)
    centers = data.pop("centers", None)
    if "role" in data and data["role"] != staff.role:
        _check_role_assignment(by, staff.organization, data["role"])
        if staff.user_id == by.pk:
            raise RightsError(_("Vous ne pouvez pas changer votre propre rôle."), code="escalation")
    if staff.user_id == by.pk and data.get("is_active") is False:
        raise DomainError(_("Vous ne pouvez pas désactiver votre propre accès."), code="self_deactivation")
    changes = apply_changes(staff, data, ["role", "job_title", "is_active"])
    if centers is not None:
        centers = _check_centers(staff.organization, centers)
        if staff.user_id == by.pk and set(centers) != set(staff.centers.all()):
            raise RightsError(_("Vous ne pouvez pas modifier vos propres centres."), code="escalation")
        before = sorted(staff.centers.values_list("pk", flat=True))
        after = sorted(center.pk for center in centers)
        if before != after:
            staff.centers.set(centers)
            changes["centers"] = [before, after]
    if changes:
        staff.save()
        journal.record(actor=by, action="staff.updated", obj=staff, changes=changes)
        rights.forget(staff.user)
    return staff


def _enqueue_activation(*, user: User, organization: Organization) -> None:
    """The activation e-mail goes out after the commit, as a background task."""
    transaction.on_commit(lambda: send_activation_email_task.enqueue(user_id=user.pk, organization_id=organization.pk))


def activation_link(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("accounts:activate", args=[uid, token])


def send_activation_email(*, user: User, organization: Organization) -> None:
    """The activation e-mail: a link to choose a password, valid PASSWORD_RESET_TIMEOUT; names the workspace."""
    with translation.override(user.language or "fr"):
        context = {
            "user": user,
            "organization": organization,
            "link": activation_link(user=user),
            "workspace": organization.slug,
            "site_url": settings.SITE_URL,
            "valid_days": settings.PASSWORD_RESET_TIMEOUT // 86400,
        }
        subject = _("Activez votre compte %(organization)s") % {"organization": organization.name}
        body = render_to_string("accounts/email/activation.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def resend_activation(*, staff: StaffMembership, by: User) -> None:
    rights.require(by, "core.change_staffmembership", staff.organization_id)
    user = staff.user
    if user.has_usable_password():
        raise DomainError(_("Ce compte est déjà activé."), code="already_active")
    journal.record(actor=by, action="staff.activation_sent", obj=staff)
    _enqueue_activation(user=user, organization=staff.organization)


@transaction.atomic
def activate_account(*, user: User, password: str) -> User:
    """The user chose a password from the activation (or reset) link."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    journal.record(actor=user, action="user.password_set", obj=user)
    return user


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------
TOKEN_PREFIX = "cpt"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(
    *,
    organization: Organization,
    user: User,
    by: User | None,
    name: str,
    expires_at: datetime.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` in `organization`; the raw value is returned once and only its hash is kept.

    `by=None` is the command line (`comptoir apitoken`), run by the platform's operator.
    """
    if by is not None:
        rights.require(by, "core.add_apitoken", organization)
        if by.pk != user.pk:
            rights.require(by, "core.change_staffmembership", organization)
    if not rights.is_staff_of(user, organization):
        raise ValidationFailed(_("Cette personne ne fait pas partie du staff."), code="not_staff", field="user")
    if expires_at and expires_at <= timezone.now():
        raise ValidationFailed(_("La date d'expiration doit être dans le futur."), code="expired", field="expires_at")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        organization=organization, user=user, name=name.strip() or "API", prefix=prefix,
        key_hash=hash_token(raw), expires_at=expires_at,
    )  # fmt: skip
    validate(token, exclude=["organization", "user"])
    token.save()
    journal.record(actor=by, action="api_token.created", obj=token, organization=organization,
                   changes={"user": user.email, "name": token.name})  # fmt: skip
    return token, raw


@transaction.atomic
def revoke_api_token(*, token: ApiToken, by: User) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != by.pk:
        rights.require(by, "core.delete_apitoken", token.organization_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        journal.record(actor=by, action="api_token.revoked", obj=token)
    return token
