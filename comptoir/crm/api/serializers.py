"""Serializers of the CRM resources: `XxxIn` check shapes and hand `validated_data` to a crm service,
`XxxOut` shape answers. Related ids go through the tenant-scoped selectors (another organization's id
is "does not exist", like an unknown one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from comptoir.core import selectors as core_selectors
from comptoir.core.api.serializers import InSerializer, ScopedPrimaryKeyField, StrictInput
from comptoir.core.models import Center, Organization, User
from comptoir.crm import selectors
from comptoir.crm.models import Action, Activity, Company, Contact, JobFunction, MarketingSource, Note, Opportunity


def staff_users_for(user: User, organization: Organization) -> QuerySet[User]:
    """The organization's active staff, as user accounts (account managers, owners, assignees)."""
    staff = core_selectors.staff_for(user, organization).filter(is_active=True)
    return User.objects.filter(pk__in=staff.values("user_id"))


def crm_scoped(model: type, selector: Any, **kwargs: Any) -> ScopedPrimaryKeyField:
    return ScopedPrimaryKeyField(model=model, selector=selector, **kwargs)


class CompactIdentifiers:
    # SIRET / SIREN / VAT numbers are often written with spaces or dots: compact them before the checks.
    COMPACT_FIELDS = ("siren", "siret", "vat_number")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = {
                key: value.replace(" ", "").replace(".", "").upper()
                if key in self.COMPACT_FIELDS and isinstance(value, str)
                else value
                for key, value in data.items()
            }
        return super().to_internal_value(data)  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Job functions
# --------------------------------------------------------------------------------------------------
class JobFunctionOut(serializers.ModelSerializer):
    class Meta:
        model = JobFunction
        fields = ["id", "name", "position", "is_active"]
        read_only_fields = fields


class JobFunctionIn(InSerializer):
    name = serializers.CharField(max_length=80, help_text="Name of the function, unique in the organization.")
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False, help_text="Order in lists.")
    is_active = serializers.BooleanField(required=False, help_text="False hides it from new choices.")


# --------------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------------
CONTACT_WRITABLE = [
    "first_name", "last_name", "email", "phone", "mobile", "job_function", "company_role", "is_active",
    "is_invoice_recipient", "has_portal_access",
]  # fmt: skip

CONTACT_HELP = {
    "phone": {"help_text": "Phone number (French numbers may omit +33)."},
    "company_role": {"help_text": "Role in the company: administrator, manager or user (portal capabilities)."},
    "has_portal_access": {"help_text": "May sign in to the client portal (needs an e-mail)."},
}


class ContactOut(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    has_account = serializers.SerializerMethodField(help_text="Whether the member has a user account.")

    class Meta:
        model = Contact
        fields = ["id", "company", *CONTACT_WRITABLE, "full_name", "is_main", "has_account", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            **CONTACT_HELP,
            "company": {"help_text": "Id of the contact's company."},
            "job_function": {"help_text": "Id of the job function, or null."},
        }

    def get_has_account(self, contact: Contact) -> bool:
        return contact.user_id is not None


class ContactIn(StrictInput, serializers.ModelSerializer):
    job_function = crm_scoped(
        JobFunction, selectors.job_functions_for, required=False, allow_null=True, help_text="Id of a job function."
    )

    class Meta:
        model = Contact
        fields = CONTACT_WRITABLE
        extra_kwargs = CONTACT_HELP


class ContactCreateIn(ContactIn):
    company = crm_scoped(Company, selectors.companies_for, help_text="Id of the member's company.")
    is_main = serializers.BooleanField(default=False, help_text="Make the new member the company's main contact.")

    class Meta(ContactIn.Meta):
        fields = ["company", *CONTACT_WRITABLE, "is_main"]


class MainContactIn(ContactIn):
    class Meta(ContactIn.Meta):
        pass


# --------------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------------
COMPANY_WRITABLE = [
    "name", "legal_type", "legal_form", "siren", "siret", "vat_number", "website", "phone", "email", "sector",
    "center", "account_manager", "marketing_source", "group_invoices", "subject_to_vat", "default_payment_method",
    "invoice_delivery_methods", "address_line1", "address_line2", "postal_code", "city", "country",
]  # fmt: skip

COMPANY_HELP = {
    "siren": {"help_text": "SIREN, 9 digits (spaces are removed)."},
    "siret": {"help_text": "SIRET, 14 digits, unique in the organization."},
    "vat_number": {"help_text": "Intra-community VAT number, e.g. FR44732829320."},
    "country": {"help_text": "ISO 3166-1 alpha-2 country code."},
    "legal_type": {"help_text": "company, or individual (a freelancer or a private person)."},
    "group_invoices": {"help_text": "One invoice per period for all the company's contracts."},
}


class CompanyOut(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True, help_text="PR-000123 for a prospect, CL-000123 for a client.")
    invoice_delivery_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=Company.DeliveryMethod.choices), read_only=True
    )

    class Meta:
        model = Company
        fields = [
            "id", "reference", "kind", "status", *COMPANY_WRITABLE, "is_archived", "converted_at", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            **COMPANY_HELP,
            "center": {"help_text": "Id of the company's center, or null."},
            "account_manager": {"help_text": "Id of the staff user who manages the account, or null."},
            "marketing_source": {"help_text": "Id of the marketing source, or null."},
        }


class CompanyIn(CompactIdentifiers, StrictInput, serializers.ModelSerializer):
    center = ScopedPrimaryKeyField(
        model=Center, selector=core_selectors.centers_for, required=False, allow_null=True, help_text="Id of a center."
    )
    account_manager = crm_scoped(
        User, staff_users_for, required=False, allow_null=True, help_text="Id of a staff user (account manager)."
    )
    marketing_source = crm_scoped(
        MarketingSource,
        selectors.marketing_sources_for,
        required=False,
        allow_null=True,
        help_text="Id of a marketing source.",
    )
    invoice_delivery_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=Company.DeliveryMethod.choices),
        required=False,
        max_length=10,
        help_text="How invoices are sent (several allowed).",
    )

    class Meta:
        model = Company
        fields = COMPANY_WRITABLE
        extra_kwargs = COMPANY_HELP


class CompanyCreateIn(CompanyIn):
    kind = serializers.ChoiceField(
        choices=Company.Kind.choices, default=Company.Kind.PROSPECT, help_text="prospect (default) or client."
    )
    main_contact = MainContactIn(
        required=False, allow_null=True, help_text="The main contact, created as the company's first member."
    )

    class Meta(CompanyIn.Meta):
        fields = ["kind", *COMPANY_WRITABLE, "main_contact"]


class CompanyStatusIn(InSerializer):
    status = serializers.ChoiceField(
        choices=[Company.Status.ACTIVE, Company.Status.INACTIVE, Company.Status.SUSPENDED],
        help_text="A client's status: active, inactive or suspended.",
    )


class CompanyConvertIn(InSerializer):
    reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Recorded in the journal."
    )


# --------------------------------------------------------------------------------------------------
# CSV import
# --------------------------------------------------------------------------------------------------
class ImportErrorOut(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line of the file (the header is line 1).")
    column = serializers.CharField(help_text="Column of the file (its header), empty for the whole row.")
    message = serializers.CharField(help_text="Why the value is refused (in the request's language).")


class ImportReportOut(serializers.Serializer):
    dry_run = serializers.BooleanField(help_text="True: nothing was imported (preview).")
    rows_read = serializers.IntegerField(help_text="Data rows in the file.")
    rows_valid = serializers.IntegerField(help_text="Rows without any error.")
    companies_created = serializers.IntegerField(help_text="Companies imported (0 on a dry run or any error).")
    contacts_created = serializers.IntegerField(help_text="Members imported (0 on a dry run or any error).")
    errors = ImportErrorOut(many=True, help_text="Every error, by line and column; the import is all-or-nothing.")


# --------------------------------------------------------------------------------------------------
# Opportunities
# --------------------------------------------------------------------------------------------------
OPPORTUNITY_WRITABLE = [
    "title", "estimated_amount", "probability", "expected_close_date", "marketing_source", "owner", "center",
]  # fmt: skip

OPPORTUNITY_HELP = {
    "estimated_amount": {"help_text": "Estimated amount excluding tax, as a decimal string."},
    "probability": {"help_text": "Probability of winning, 0-100; defaults by stage."},
    "lost_reason": {"help_text": "Why it was lost (stage lost only)."},
}


class OpportunityOut(serializers.ModelSerializer):
    is_open = serializers.BooleanField(read_only=True, help_text="Not yet won or lost.")

    class Meta:
        model = Opportunity
        fields = [
            "id", "company", "stage", "lost_reason", *OPPORTUNITY_WRITABLE, "position", "is_open", "created_at",
            "closed_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {**OPPORTUNITY_HELP, "position": {"help_text": "Place in its stage's column (0 = top)."}}


class OpportunityIn(StrictInput, serializers.ModelSerializer):
    marketing_source = crm_scoped(
        MarketingSource, selectors.marketing_sources_for, required=False, allow_null=True, help_text="Id of a source."
    )
    owner = crm_scoped(User, staff_users_for, required=False, allow_null=True, help_text="Id of a staff user.")
    center = ScopedPrimaryKeyField(
        model=Center, selector=core_selectors.centers_for, required=False, allow_null=True, help_text="Id of a center."
    )
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    lost_reason = serializers.CharField(max_length=255, required=False, allow_blank=True)

    class Meta:
        model = Opportunity
        fields = [*OPPORTUNITY_WRITABLE, "lost_reason"]
        extra_kwargs = OPPORTUNITY_HELP


class OpportunityCreateIn(OpportunityIn):
    company = crm_scoped(Company, selectors.companies_for, help_text="Id of the company.")
    stage = serializers.ChoiceField(choices=Opportunity.Stage.choices, default=Opportunity.Stage.LEAD)

    class Meta(OpportunityIn.Meta):
        fields = ["company", "stage", *OPPORTUNITY_WRITABLE, "lost_reason"]


class OpportunityMoveIn(InSerializer):
    stage = serializers.ChoiceField(choices=Opportunity.Stage.choices, help_text="The target stage.")
    position = serializers.IntegerField(
        min_value=0, max_value=1_000_000, required=False, allow_null=True, help_text="Index in the column; null: last."
    )
    lost_reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Required to move to lost."
    )


# --------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------
class ActivityOut(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id", "company", "opportunity", "kind", "status", "scheduled_at", "staff", "notes", "done_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"staff": {"help_text": "Id of the staff user in charge."}}


class ActivityIn(StrictInput, serializers.ModelSerializer):
    opportunity = crm_scoped(
        Opportunity, selectors.opportunities_for, required=False, allow_null=True, help_text="Id of an opportunity."
    )
    staff = crm_scoped(User, staff_users_for, required=False, help_text="Id of a staff user (default: the caller).")

    class Meta:
        model = Activity
        fields = ["kind", "scheduled_at", "staff", "notes", "opportunity"]
        extra_kwargs = {"notes": {"help_text": "Report of the activity."}}


class ActivityCreateIn(ActivityIn):
    company = crm_scoped(Company, selectors.companies_for, help_text="Id of the company.")

    class Meta(ActivityIn.Meta):
        fields = ["company", "kind", "scheduled_at", "staff", "notes", "opportunity"]


class ActivityCompleteIn(InSerializer):
    notes = serializers.CharField(
        max_length=20_000, required=False, allow_blank=True, allow_null=True, help_text="The report, if any."
    )


# --------------------------------------------------------------------------------------------------
# Notes (internal: staff only)
# --------------------------------------------------------------------------------------------------
class NoteOut(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "company", "body", "author", "is_pinned", "created_at", "updated_at"]
        read_only_fields = fields


class NoteIn(InSerializer):
    body = serializers.CharField(max_length=20_000, help_text="The note (internal: never shown to clients).")
    is_pinned = serializers.BooleanField(required=False, help_text="Pinned notes come first.")


class NoteCreateIn(NoteIn):
    company = crm_scoped(Company, selectors.companies_for, help_text="Id of the company.")


# --------------------------------------------------------------------------------------------------
# Actions (dated tasks)
# --------------------------------------------------------------------------------------------------
class ActionOut(serializers.ModelSerializer):
    is_done = serializers.BooleanField(read_only=True)

    class Meta:
        model = Action
        fields = [
            "id", "company", "title", "details", "due_date", "assignee", "created_by", "completed_at", "is_done",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ActionIn(StrictInput, serializers.ModelSerializer):
    company = crm_scoped(
        Company, selectors.companies_for, required=False, allow_null=True, help_text="Id of a company."
    )
    assignee = crm_scoped(User, staff_users_for, help_text="Id of the staff user in charge.")

    class Meta:
        model = Action
        fields = ["company", "title", "details", "due_date", "assignee"]


# --------------------------------------------------------------------------------------------------
# Marketing sources
# --------------------------------------------------------------------------------------------------
SOURCE_WRITABLE = ["name", "channel", "cost", "cost_period", "is_active"]


class MarketingSourceOut(serializers.ModelSerializer):
    class Meta:
        model = MarketingSource
        fields = ["id", *SOURCE_WRITABLE, "created_at"]
        read_only_fields = fields
        extra_kwargs = {"cost": {"help_text": "Cost per cost_period, excluding tax."}}


class MarketingSourceIn(StrictInput, serializers.ModelSerializer):
    class Meta:
        model = MarketingSource
        fields = SOURCE_WRITABLE


class MarketingSourceStatsOut(serializers.Serializer):
    source = serializers.IntegerField(source="source.id", help_text="Id of the source.")
    name = serializers.CharField(source="source.name")
    leads = serializers.IntegerField(help_text="Companies and opportunities created with the source in the period.")
    company_leads = serializers.IntegerField()
    opportunity_leads = serializers.IntegerField()
    opportunities = serializers.IntegerField(help_text="Opportunities created in the period.")
    won = serializers.IntegerField(help_text="Opportunities won (closed) in the period.")
    won_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Cost prorated to the period.")
    conversion_rate = serializers.DecimalField(
        max_digits=9, decimal_places=2, allow_null=True, help_text="Won / opportunities, in percent."
    )
    roi = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="(Won amount - cost) / cost, in percent."
    )


class MarketingSourceStatsQuery(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period (YYYY-MM-DD).")
    end = serializers.DateField(help_text="Last day of the period (YYYY-MM-DD).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": [_("La fin doit suivre le début.")]})
        if (attrs["end"] - attrs["start"]).days > 3660:
            raise serializers.ValidationError({"end": [_("Dix ans au plus.")]})
        return attrs
