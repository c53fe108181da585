"""Serializers of the core resources: `XxxIn` validate what a client sends, `XxxOut` shape what it gets.

An `In` serializer only checks types and shapes and hands `validated_data` to a service; it never
saves. Related ids are looked up through the tenant-scoped selectors, so another organization's id is
"does not exist", exactly like an unknown one. Unknown or read-only keys are refused (a misspelt
field must not be silently ignored).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from comptoir.core import rights
from comptoir.core.models import (
    ApiToken,
    AuditEntry,
    Center,
    LegalEntity,
    OpeningHours,
    Organization,
    Role,
    StaffMembership,
    User,
)

Selector = Callable[[User, Organization], QuerySet]


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------
class StrictInput:
    # Mixin for input serializers: keys that are not writable fields are an error.
    # (A comment, not a docstring: the schema would show it as every input's description.)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}  # type: ignore[attr-defined]
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {name[:100]: [_("Champ inconnu ou non modifiable.")] for name in unknown[:20]}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class InSerializer(StrictInput, serializers.Serializer):
    pass


class BoundedManyRelatedField(serializers.ManyRelatedField):
    # A list of ids, at most MAX_ITEMS (each id is one lookup).

    MAX_ITEMS = 500

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list) and len(data) > self.MAX_ITEMS:
            raise serializers.ValidationError(_("Au plus %(count)d éléments.") % {"count": self.MAX_ITEMS})
        return super().to_internal_value(data)


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    # An id of an object the request's user may see in the request's organization (through a selector).

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> BoundedManyRelatedField:
        list_kwargs: dict[str, Any] = {"child_relation": cls(*args, **kwargs)}
        for key in kwargs:
            if key in MANY_RELATION_KWARGS:
                list_kwargs[key] = kwargs[key]
        return BoundedManyRelatedField(**list_kwargs)

    def __init__(self, *, model: type[Model], selector: Selector, **kwargs: Any) -> None:
        self.model = model
        self.selector = selector
        super().__init__(**kwargs)
        self.queryset = model.objects.none()  # tells the schema which model the id belongs to

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if request is None or user is None or not user.is_authenticated:
            return self.model.objects.none()
        return self.selector(user, request._request.organization)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, float):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


def scoped(model: type[Model], selector_name: str, **kwargs: Any) -> ScopedPrimaryKeyField:
    from comptoir.core import selectors

    return ScopedPrimaryKeyField(model=model, selector=getattr(selectors, selector_name), **kwargs)


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code (invalid, not_found, escalation...).")
    message = serializers.CharField(help_text="Human-readable message, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input (dotted paths for nested inputs; non_field_errors for the whole request).",
    )


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


# --------------------------------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------------------------------
class OrganizationOut(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "email", "phone", "website", "is_active", "created_at"]
        read_only_fields = fields
        extra_kwargs = {"slug": {"help_text": "Workspace identifier that members type to sign in to the portal."}}


class OrganizationIn(StrictInput, serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["name", "email", "phone", "website"]


# --------------------------------------------------------------------------------------------------
# Legal entities
# --------------------------------------------------------------------------------------------------
LEGAL_ENTITY_WRITABLE = [
    "name", "legal_form", "share_capital", "siren", "siret", "vat_number", "rcs", "iban", "bic",
    "sepa_creditor_id", "approval_number", "email", "phone", "invoice_legal_mentions", "is_active",
    "address_line1", "address_line2", "postal_code", "city", "country",
]  # fmt: skip

LEGAL_ENTITY_HELP = {
    "siren": {"help_text": "SIREN, 9 digits (spaces are removed)."},
    "siret": {"help_text": "SIRET, 14 digits, starting with the SIREN."},
    "vat_number": {"help_text": "Intra-community VAT number, e.g. FR44732829320."},
    "sepa_creditor_id": {"help_text": "SEPA creditor identifier (ICS)."},
    "approval_number": {"help_text": "Prefectoral approval number for domiciliation."},
    "invoice_legal_mentions": {"help_text": "Text printed at the foot of every invoice (late-payment penalties...)."},
    "country": {"help_text": "ISO 3166-1 alpha-2 country code."},
}


class LegalEntityOut(serializers.ModelSerializer):
    center_count = serializers.SerializerMethodField(help_text="Number of centers invoiced by this entity.")
    logo = serializers.ImageField(read_only=True, allow_null=True, help_text="URL of the logo, or null.")

    class Meta:
        model = LegalEntity
        fields = ["id", *LEGAL_ENTITY_WRITABLE, "logo", "center_count"]
        read_only_fields = fields
        extra_kwargs = LEGAL_ENTITY_HELP

    def get_center_count(self, entity: LegalEntity) -> int:
        count = getattr(entity, "center_count", None)
        return entity.centers.count() if count is None else count


class LegalEntityIn(StrictInput, serializers.ModelSerializer):
    COMPACT_FIELDS = ("siren", "siret", "vat_number", "iban", "bic", "sepa_creditor_id")

    class Meta:
        model = LegalEntity
        fields = LEGAL_ENTITY_WRITABLE
        extra_kwargs = LEGAL_ENTITY_HELP

    def to_internal_value(self, data: Any) -> Any:
        # Identifiers are often written with spaces ("FR76 3000 6000 ..."): compact them before the length checks.
        if isinstance(data, Mapping):
            data = {
                key: value.replace(" ", "").upper() if key in self.COMPACT_FIELDS and isinstance(value, str) else value
                for key, value in data.items()
            }
        return super().to_internal_value(data)


# --------------------------------------------------------------------------------------------------
# Centers
# --------------------------------------------------------------------------------------------------
class OpeningHoursOut(serializers.ModelSerializer):
    opens_at = serializers.TimeField(format="%H:%M")
    closes_at = serializers.TimeField(format="%H:%M")

    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens_at", "closes_at"]
        read_only_fields = fields
        extra_kwargs = {"weekday": {"help_text": "0 = Monday … 6 = Sunday."}}


class OpeningHoursIn(InSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday.")
    opens_at = serializers.TimeField(help_text="Opening time, HH:MM (center's local time).")
    closes_at = serializers.TimeField(help_text="Closing time, HH:MM, after opens_at.")

    def to_internal_value(self, data: Any) -> Any:
        # Each interval is whole, even inside a PATCH of its center (DRF would make its fields optional).
        errors: dict[str, Any] = {}
        if isinstance(data, Mapping):
            required = serializers.Field.default_error_messages["required"]
            errors = {name: [required] for name in self.fields if name not in data}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors or not isinstance(exc.detail, dict):
                raise
            errors = {**errors, **exc.detail}
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["closes_at"] <= attrs["opens_at"]:
            raise serializers.ValidationError(
                {"closes_at": [_("L'heure de fermeture doit suivre l'heure d'ouverture.")]}
            )
        return attrs


CENTER_WRITABLE = [
    "name", "code", "legal_entity", "timezone", "email", "phone", "is_active",
    "address_line1", "address_line2", "postal_code", "city", "country",
]  # fmt: skip

CENTER_HELP = {
    "code": {"help_text": "Short code of the center, unique in the organization, e.g. par-opera."},
    "timezone": {"help_text": "IANA time zone, e.g. Europe/Paris."},
    "country": {"help_text": "ISO 3166-1 alpha-2 country code."},
}


class CenterOut(serializers.ModelSerializer):
    opening_hours = OpeningHoursOut(many=True, read_only=True, help_text="Opening intervals; none on a day = closed.")

    class Meta:
        model = Center
        fields = ["id", *CENTER_WRITABLE, "opening_hours", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            **CENTER_HELP,
            "legal_entity": {"help_text": "Id of the legal entity that invoices the center."},
        }


class CenterIn(StrictInput, serializers.ModelSerializer):
    legal_entity = scoped(LegalEntity, "legal_entities_for", help_text="Id of the legal entity that invoices it.")
    opening_hours = OpeningHoursIn(
        many=True,
        required=False,
        max_length=50,
        help_text="Replaces every opening interval when given; an empty list closes the center every day.",
    )

    class Meta:
        model = Center
        fields = [*CENTER_WRITABLE, "opening_hours"]
        extra_kwargs = CENTER_HELP


# --------------------------------------------------------------------------------------------------
# Staff
# --------------------------------------------------------------------------------------------------
class StaffOut(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    phone = serializers.CharField(source="user.phone", read_only=True)
    centers = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Centers the staff member is limited to; empty = every center."
    )
    is_activated = serializers.SerializerMethodField(help_text="Whether the person has chosen a password.")

    class Meta:
        model = StaffMembership
        fields = [
            "id", "user", "email", "first_name", "last_name", "phone", "role", "centers", "job_title",
            "is_active", "is_activated", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"user": {"help_text": "Id of the person's user account."}}

    def get_is_activated(self, staff: StaffMembership) -> bool:
        return staff.user.has_usable_password()


class StaffCreateIn(InSerializer):
    email = serializers.EmailField(max_length=254, help_text="The person's e-mail; an existing account is reused.")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    role = scoped(Role, "roles_for", help_text="Id of the role.")
    centers = scoped(
        Center, "centers_for", many=True, required=False, help_text="Ids of the centers; empty = every center."
    )
    job_title = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    send_activation = serializers.BooleanField(
        default=True, help_text="E-mail the activation link (to choose a password) to a new account."
    )


class StaffUpdateIn(InSerializer):
    role = scoped(Role, "roles_for", help_text="Id of the role.")
    centers = scoped(
        Center, "centers_for", many=True, required=False, help_text="Ids of the centers; empty = every center."
    )
    job_title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="False removes the person's access.")


# --------------------------------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------------------------------
class RoleOut(serializers.ModelSerializer):
    rights = serializers.SerializerMethodField(help_text='Rights held, as "app_label.codename" strings.')
    member_count = serializers.SerializerMethodField(help_text="Number of staff members holding the role.")

    class Meta:
        model = Role
        fields = ["id", "name", "kind", "description", "rights", "member_count"]
        read_only_fields = fields

    def get_rights(self, role: Role) -> list[str]:
        if role.holds_every_right:
            cache = self.context.setdefault("_every_right", None)
            if cache is None:
                cache = sorted(rights.role_rights(role))
                self.context["_every_right"] = cache
            return cache
        return sorted(f"{perm.content_type.app_label}.{perm.codename}" for perm in role.permissions.all())

    def get_member_count(self, role: Role) -> int:
        count = getattr(role, "member_count", None)
        return role.memberships.count() if count is None else count


class RoleRightsIn(InSerializer):
    rights = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=1000,
        allow_empty=True,
        help_text='The complete new list of rights, as "app_label.codename" strings.',
    )


# --------------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------------
class ApiTokenOut(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True, help_text="Neither revoked nor expired.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = fields
        extra_kwargs = {"prefix": {"help_text": "Public part of the token, to recognize it (cpt_PREFIX_…)."}}


class ApiTokenCreatedOut(ApiTokenOut):
    token = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The raw token, shown once (null in an idempotent replay). Send it as `Authorization: Bearer …`.",
    )

    class Meta(ApiTokenOut.Meta):
        fields = [*ApiTokenOut.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenIn(InSerializer):
    name = serializers.CharField(max_length=100, help_text="What the token is for, e.g. the integration's name.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Optional expiry, in the future.")


# --------------------------------------------------------------------------------------------------
# Audit journal
# --------------------------------------------------------------------------------------------------
class AuditEntryOut(serializers.ModelSerializer):
    object_type = serializers.SerializerMethodField(help_text='Model of the object, "app_label.model", or null.')
    changes = serializers.JSONField(read_only=True, help_text="Changed fields as {field: [before, after]}, or details.")

    class Meta:
        model = AuditEntry
        fields = [
            "id", "created_at", "action", "actor", "actor_label", "object_type", "object_id", "object_repr",
            "changes", "message", "request_id",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"actor": {"help_text": "Id of the user who made the change; null for the system."}}

    def get_object_type(self, entry: AuditEntry) -> str | None:
        if entry.content_type_id is None:
            return None
        return f"{entry.content_type.app_label}.{entry.content_type.model}"
