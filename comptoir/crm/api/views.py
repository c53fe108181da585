"""REST endpoints of the CRM under /api/v1/: companies (with conversion, archiving, status and the CSV
import), contacts (members), job functions, opportunities, activities, notes, actions and marketing
sources.

Views hold no rules: they validate the input's shape (`XxxIn`), call one crm service and shape the
answer (`XxxOut`). Querysets come from the crm selectors with the token's user and organization, so
another organization's object answers 404. The API is staff-only (tokens belong to staff members).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from comptoir.core.api.idempotency import idempotent
from comptoir.core.api.views import ApiViewSet
from comptoir.core.errors import ValidationFailed
from comptoir.crm import imports, selectors, services
from comptoir.crm.api import filters
from comptoir.crm.api.serializers import (
    ActionIn,
    ActionOut,
    ActivityCompleteIn,
    ActivityCreateIn,
    ActivityIn,
    ActivityOut,
    CompanyConvertIn,
    CompanyCreateIn,
    CompanyIn,
    CompanyOut,
    CompanyStatusIn,
    ContactCreateIn,
    ContactIn,
    ContactOut,
    ImportReportOut,
    JobFunctionIn,
    JobFunctionOut,
    MarketingSourceIn,
    MarketingSourceOut,
    MarketingSourceStatsOut,
    MarketingSourceStatsQuery,
    NoteCreateIn,
    NoteIn,
    NoteOut,
    OpportunityCreateIn,
    OpportunityIn,
    OpportunityMoveIn,
    OpportunityOut,
)
from comptoir.crm.models import Action, Activity, Company, Contact, JobFunction, MarketingSource, Note, Opportunity


def _read(right: str) -> dict[str, str]:
    return {"list": right, "retrieve": right}


# --------------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------------
class CsvUploadParser(parsers.MultiPartParser):
    """multipart/form-data with a `file` part (the CSV import)."""


@extend_schema_view(
    list=extend_schema(summary="Companies: prospects and clients."),
    retrieve=extend_schema(summary="A company."),
)
class CompanyViewSet(ApiViewSet):
    """Companies: prospects (PR-000123) and clients (CL-000123), with their billing settings. Staff limited
    to some centers see the companies of those centers and those without a center. Rights:
    `crm.view_company`, `crm.add_company`, `crm.change_company` (convert, archive, status),
    `crm.delete_company`."""

    model = Company
    serializer_class = CompanyOut
    filterset_class = filters.CompanyFilter
    required_rights = {
        **_read("crm.view_company"),
        "create": "crm.add_company",
        "update": "crm.change_company",
        "partial_update": "crm.change_company",
        "destroy": "crm.delete_company",
        "convert": "crm.change_company",
        "archive": "crm.change_company",
        "unarchive": "crm.change_company",
        "set_status": "crm.change_company",
        "import_csv": "crm.add_company",
    }

    def scoped_queryset(self) -> QuerySet[Company]:
        return selectors.companies_for(self.request.user, self.organization)

    def _fresh(self, company: Company) -> Company:
        return self.scoped_queryset().get(pk=company.pk)

    @extend_schema(
        request=CompanyCreateIn,
        responses={201: CompanyOut},
        summary="Create a prospect (or a client), optionally with its main contact (its first member).",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(CompanyCreateIn)
        kind = data.pop("kind")
        main_contact = data.pop("main_contact", None)
        company = services.create_company(
            organization=self.organization, by=request.user, data=data, main_contact=main_contact or None, kind=kind
        )
        return Response(self.out(self._fresh(company)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CompanyIn, responses=CompanyOut, summary="Replace a company's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=CompanyIn, responses=CompanyOut, summary="Change some of a company's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        company = self.get_object()
        data = self.validated(CompanyIn, partial=partial)
        company = services.update_company(company=company, by=self.request.user, data=data)
        return Response(self.out(self._fresh(company)).data)

    @extend_schema(
        responses={204: None},
        summary="Delete a company that has no history.",
        description="Refused (400 `has_history`, with the reasons) when the company has opportunities, "
        "activities, members with an account or documents: archive it instead.",
    )
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_company(company=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=CompanyConvertIn,
        responses=CompanyOut,
        summary="Convert a prospect into a client (PR-000123 becomes CL-000123).",
        description="400 `already_client` for a client, `archived` for an archived company.",
    )
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: int) -> Response:
        company = self.get_object()
        data = self.validated(CompanyConvertIn)
        company = services.convert_to_client(company=company, by=request.user, reason=data["reason"])
        return Response(self.out(self._fresh(company)).data)

    @extend_schema(request=None, responses=CompanyOut, summary="Archive a company (hidden from the usual lists).")
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: int) -> Response:
        company = services.archive_company(company=self.get_object(), by=request.user, archived=True)
        return Response(self.out(self._fresh(company)).data)

    @extend_schema(request=None, responses=CompanyOut, summary="Bring an archived company back.")
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: int) -> Response:
        company = services.archive_company(company=self.get_object(), by=request.user, archived=False)
        return Response(self.out(self._fresh(company)).data)

    @extend_schema(
        request=CompanyStatusIn,
        responses=CompanyOut,
        summary="Set a client's status (active, inactive, suspended).",
        description="400 `prospect` for a prospect: convert it first.",
    )
    @action(detail=True, methods=["post"], url_path="status", url_name="status")
    def set_status(self, request: Request, pk: int) -> Response:
        company = self.get_object()
        data = self.validated(CompanyStatusIn)
        company = services.set_company_status(company=company, by=request.user, status=data["status"])
        return Response(self.out(self._fresh(company)).data)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "CompanyImportIn", {"file": serializers.FileField(help_text="The CSV file (see docs/api.md).")}
            )
        },
        parameters=[
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                OpenApiParameter.QUERY,
                description="1 (default): check the file and report, import nothing. 0: import, all or nothing.",
            )
        ],
        responses={200: ImportReportOut, 201: ImportReportOut},
        summary="Import companies (with their main contact) and members of existing companies from a CSV file.",
        description="Answers 200 with the report on a dry run or when a row has an error (nothing imported), "
        "201 when every row was imported.",
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import", parser_classes=[CsvUploadParser])
    def import_csv(self, request: Request) -> Response:
        dry_run = str(request.query_params.get("dry_run", "1")).strip().lower() not in ("0", "false", "no")
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is None:
            raise ValidationFailed(_("Joignez le fichier CSV (champ « file »)."), code="invalid", field="file")
        report = imports.import_companies(organization=self.organization, by=request.user, file=upload, dry_run=dry_run)
        code = status.HTTP_201_CREATED if report.imported else status.HTTP_200_OK
        return Response(report.as_dict(), status=code)


# --------------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Members (contacts) of the companies."),
    retrieve=extend_schema(summary="A member."),
)
class ContactViewSet(ApiViewSet):
    """Members of client and prospect companies, with their company role (administrator, manager, user),
    job function and flags. Rights: `crm.view_contact`, `crm.add_contact`, `crm.change_contact`
    (activate), `crm.delete_contact`."""

    model = Contact
    serializer_class = ContactOut
    filterset_class = filters.ContactFilter
    required_rights = {
        **_read("crm.view_contact"),
        "create": "crm.add_contact",
        "update": "crm.change_contact",
        "partial_update": "crm.change_contact",
        "destroy": "crm.delete_contact",
        "activate": "crm.change_contact",
        "make_main": "crm.change_contact",
    }

    def scoped_queryset(self) -> QuerySet[Contact]:
        return selectors.contacts_for(self.request.user, self.organization)

    def _fresh(self, contact: Contact) -> Contact:
        return self.scoped_queryset().get(pk=contact.pk)

    @extend_schema(request=ContactCreateIn, responses={201: ContactOut}, summary="Add a member to a company.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ContactCreateIn)
        company = data.pop("company")
        is_main = data.pop("is_main")
        contact = services.add_contact(company=company, by=request.user, data=data, is_main=is_main)
        return Response(self.out(self._fresh(contact)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactIn, responses=ContactOut, summary="Replace a member's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=ContactIn, responses=ContactOut, summary="Change some of a member's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        contact = self.get_object()
        data = self.validated(ContactIn, partial=partial)
        contact = services.update_contact(contact=contact, by=self.request.user, data=data)
        return Response(self.out(self._fresh(contact)).data)

    @extend_schema(
        responses={204: None},
        summary="Delete a member.",
        description="400 `has_account` for a member with an account (deactivate it instead), "
        "`main_contact` for the main contact of a company that has other members.",
    )
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_contact(contact=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses=ContactOut,
        summary="Activate the member's portal account: e-mails the activation link.",
        description="400 `email_required` without an e-mail, `inactive` for a deactivated member.",
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: int) -> Response:
        contact = services.activate_contact_account(contact=self.get_object(), by=request.user)
        return Response(self.out(self._fresh(contact)).data)

    @extend_schema(request=None, responses=ContactOut, summary="Make the member its company's main contact.")
    @action(detail=True, methods=["post"], url_path="make-main", url_name="make-main")
    def make_main(self, request: Request, pk: int) -> Response:
        contact = services.set_main_contact(contact=self.get_object(), by=request.user)
        return Response(self.out(self._fresh(contact)).data)


# --------------------------------------------------------------------------------------------------
# Job functions
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Job functions of members (the organization's list)."),
    retrieve=extend_schema(summary="A job function."),
)
class JobFunctionViewSet(ApiViewSet):
    """The organization's customizable list of members' job functions (Commercial, Technique...).
    Rights: `crm.view_jobfunction`, `crm.add_jobfunction`, `crm.change_jobfunction`."""

    model = JobFunction
    serializer_class = JobFunctionOut
    required_rights = {
        **_read("crm.view_jobfunction"),
        "create": "crm.add_jobfunction",
        "update": "crm.change_jobfunction",
        "partial_update": "crm.change_jobfunction",
    }

    def scoped_queryset(self) -> QuerySet[JobFunction]:
        return selectors.job_functions_for(self.request.user, self.organization)

    @extend_schema(request=JobFunctionIn, responses={201: JobFunctionOut}, summary="Add a job function.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(JobFunctionIn)
        extra = {key: data[key] for key in ("position", "is_active") if key in data}
        with transaction.atomic():  # created with its position and state, or not at all
            function = services.create_job_function(organization=self.organization, by=request.user, name=data["name"])
            if extra:
                function = services.update_job_function(function=function, by=request.user, data=extra)
        return Response(self.out(function).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=JobFunctionIn, responses=JobFunctionOut, summary="Replace a job function.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=JobFunctionIn, responses=JobFunctionOut, summary="Change a job function.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        function = self.get_object()
        data = self.validated(JobFunctionIn, partial=partial)
        function = services.update_job_function(function=function, by=self.request.user, data=data)
        return Response(self.out(function).data)


# --------------------------------------------------------------------------------------------------
# Opportunities
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Opportunities (the sales pipeline)."),
    retrieve=extend_schema(summary="An opportunity."),
)
class OpportunityViewSet(ApiViewSet):
    """Opportunities from the first lead to the signed contract (or its loss), by stage and position in
    the stage's column. Moving stages is journaled. Rights: `crm.view_opportunity`,
    `crm.add_opportunity`, `crm.change_opportunity` (move)."""

    model = Opportunity
    serializer_class = OpportunityOut
    filterset_class = filters.OpportunityFilter
    required_rights = {
        **_read("crm.view_opportunity"),
        "create": "crm.add_opportunity",
        "update": "crm.change_opportunity",
        "partial_update": "crm.change_opportunity",
        "move": "crm.change_opportunity",
    }

    def scoped_queryset(self) -> QuerySet[Opportunity]:
        return selectors.opportunities_for(self.request.user, self.organization)

    def _fresh(self, opportunity: Opportunity) -> Opportunity:
        return self.scoped_queryset().get(pk=opportunity.pk)

    @extend_schema(request=OpportunityCreateIn, responses={201: OpportunityOut}, summary="Create an opportunity.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(OpportunityCreateIn)
        company, stage = data.pop("company"), data.pop("stage")
        lost_reason = data.pop("lost_reason", "")
        opportunity = services.create_opportunity(
            company=company, by=request.user, data=data, stage=stage, lost_reason=lost_reason
        )
        return Response(self.out(self._fresh(opportunity)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OpportunityIn, responses=OpportunityOut, summary="Replace an opportunity's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=OpportunityIn, responses=OpportunityOut, summary="Change some of an opportunity's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        opportunity = self.get_object()
        data = self.validated(OpportunityIn, partial=partial)
        opportunity = services.update_opportunity(opportunity=opportunity, by=self.request.user, data=data)
        return Response(self.out(self._fresh(opportunity)).data)

    @extend_schema(
        request=OpportunityMoveIn,
        responses=OpportunityOut,
        summary="Move an opportunity to a stage (and a place in its column).",
        description="Moving to `lost` needs a `lost_reason`; `won` and `lost` close it; the probability becomes "
        "the stage's default.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: int) -> Response:
        opportunity = self.get_object()
        data = self.validated(OpportunityMoveIn)
        opportunity = services.move_opportunity(
            opportunity=opportunity,
            by=request.user,
            stage=data["stage"],
            position=data.get("position"),
            lost_reason=data["lost_reason"],
        )
        return Response(self.out(self._fresh(opportunity)).data)


# --------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Commercial activities (visits, calls, e-mails, follow-ups, meetings)."),
    retrieve=extend_schema(summary="An activity."),
)
class ActivityViewSet(ApiViewSet):
    """Activities on a company or one of its opportunities: planned, then done. Rights:
    `crm.view_activity`, `crm.add_activity`, `crm.change_activity` (complete), `crm.delete_activity`."""

    model = Activity
    serializer_class = ActivityOut
    filterset_class = filters.ActivityFilter
    cursor_ordering = "-id"
    required_rights = {
        **_read("crm.view_activity"),
        "create": "crm.add_activity",
        "update": "crm.change_activity",
        "partial_update": "crm.change_activity",
        "destroy": "crm.delete_activity",
        "complete": "crm.change_activity",
    }

    def scoped_queryset(self) -> QuerySet[Activity]:
        return selectors.activities_for(self.request.user, self.organization)

    def _fresh(self, activity: Activity) -> Activity:
        return self.scoped_queryset().get(pk=activity.pk)

    @extend_schema(request=ActivityCreateIn, responses={201: ActivityOut}, summary="Plan an activity.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ActivityCreateIn)
        company = data.pop("company")
        activity = services.plan_activity(company=company, by=request.user, data=data)
        return Response(self.out(self._fresh(activity)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ActivityIn, responses=ActivityOut, summary="Replace an activity's details.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=ActivityIn, responses=ActivityOut, summary="Change some of an activity's details.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        activity = self.get_object()
        data = self.validated(ActivityIn, partial=partial)
        activity = services.update_activity(activity=activity, by=self.request.user, data=data)
        return Response(self.out(self._fresh(activity)).data)

    @extend_schema(responses={204: None}, summary="Delete an activity.")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_activity(activity=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ActivityCompleteIn,
        responses=ActivityOut,
        summary="Mark an activity done, with its report.",
        description="400 `already_done` when it is done already.",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: int) -> Response:
        activity = self.get_object()
        data = self.validated(ActivityCompleteIn)
        activity = services.complete_activity(activity=activity, by=request.user, notes=data.get("notes"))
        return Response(self.out(self._fresh(activity)).data)


# --------------------------------------------------------------------------------------------------
# Notes
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Internal notes on companies (staff only)."),
    retrieve=extend_schema(summary="An internal note."),
)
class NoteViewSet(ApiViewSet):
    """Permanent internal notes on a company or prospect. Internal: API tokens belong to staff members
    only, and notes are never shown in the client portal. Rights: `crm.view_note`, `crm.add_note`,
    `crm.change_note`, `crm.delete_note`."""

    model = Note
    serializer_class = NoteOut
    filterset_class = filters.NoteFilter
    cursor_ordering = "-id"
    required_rights = {
        **_read("crm.view_note"),
        "create": "crm.add_note",
        "update": "crm.change_note",
        "partial_update": "crm.change_note",
        "destroy": "crm.delete_note",
    }

    def scoped_queryset(self) -> QuerySet[Note]:
        return selectors.notes_for(self.request.user, self.organization)

    def _fresh(self, note: Note) -> Note:
        return self.scoped_queryset().get(pk=note.pk)

    @extend_schema(request=NoteCreateIn, responses={201: NoteOut}, summary="Add an internal note to a company.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(NoteCreateIn)
        note = services.add_note(
            company=data["company"], by=request.user, body=data["body"], is_pinned=data.get("is_pinned", False)
        )
        return Response(self.out(self._fresh(note)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteIn, responses=NoteOut, summary="Replace a note.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=NoteIn, responses=NoteOut, summary="Change a note (text or pin).")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        note = self.get_object()
        data = self.validated(NoteIn, partial=partial)
        note = services.update_note(note=note, by=self.request.user, data=data)
        return Response(self.out(self._fresh(note)).data)

    @extend_schema(responses={204: None}, summary="Delete a note.")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_note(note=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Actions: dated tasks assigned to staff."),
    retrieve=extend_schema(summary="An action."),
)
class ActionViewSet(ApiViewSet):
    """Actions: dated tasks (title, due date, assignee, usually about a company). Rights:
    `crm.view_action`, `crm.add_action`, `crm.change_action` (complete, reopen), `crm.delete_action`."""

    model = Action
    serializer_class = ActionOut
    filterset_class = filters.ActionFilter
    required_rights = {
        **_read("crm.view_action"),
        "create": "crm.add_action",
        "update": "crm.change_action",
        "partial_update": "crm.change_action",
        "destroy": "crm.delete_action",
        "complete": "crm.change_action",
        "reopen": "crm.change_action",
    }

    def scoped_queryset(self) -> QuerySet[Action]:
        return selectors.actions_for(self.request.user, self.organization)

    def _fresh(self, item: Action) -> Action:
        return self.scoped_queryset().get(pk=item.pk)

    @extend_schema(request=ActionIn, responses={201: ActionOut}, summary="Create an action.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(ActionIn)
        item = services.create_action(organization=self.organization, by=request.user, data=data)
        return Response(self.out(self._fresh(item)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ActionIn, responses=ActionOut, summary="Replace an action.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=ActionIn, responses=ActionOut, summary="Change some of an action.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        item = self.get_object()
        data = self.validated(ActionIn, partial=partial)
        item = services.update_action(action=item, by=self.request.user, data=data)
        return Response(self.out(self._fresh(item)).data)

    @extend_schema(responses={204: None}, summary="Delete an action.")
    def destroy(self, request: Request, pk: int) -> Response:
        services.delete_action(action=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ActionOut, summary="Mark an action done.")
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: int) -> Response:
        item = services.complete_action(action=self.get_object(), by=request.user)
        return Response(self.out(self._fresh(item)).data)

    @extend_schema(request=None, responses=ActionOut, summary="Reopen a done action.")
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: int) -> Response:
        item = services.reopen_action(action=self.get_object(), by=request.user)
        return Response(self.out(self._fresh(item)).data)


# --------------------------------------------------------------------------------------------------
# Marketing sources
# --------------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Marketing sources (acquisition channels)."),
    retrieve=extend_schema(summary="A marketing source."),
)
class MarketingSourceViewSet(ApiViewSet):
    """Marketing sources ("Marketing → Sources"): name, channel, cost per period; deactivated with
    `"is_active": false`. `stats` gives leads, wins, conversion rate and ROI over a period. Rights:
    `crm.view_marketingsource`, `crm.add_marketingsource`, `crm.change_marketingsource`."""

    model = MarketingSource
    serializer_class = MarketingSourceOut
    required_rights = {
        **_read("crm.view_marketingsource"),
        "create": "crm.add_marketingsource",
        "update": "crm.change_marketingsource",
        "partial_update": "crm.change_marketingsource",
        "stats": "crm.view_marketingsource",
    }

    def scoped_queryset(self) -> QuerySet[MarketingSource]:
        return selectors.marketing_sources_for(self.request.user, self.organization)

    @extend_schema(request=MarketingSourceIn, responses={201: MarketingSourceOut}, summary="Create a source.")
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.validated(MarketingSourceIn)
        source = services.create_marketing_source(organization=self.organization, by=request.user, data=data)
        return Response(self.out(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MarketingSourceIn, responses=MarketingSourceOut, summary="Replace a source.")
    def update(self, request: Request, pk: int) -> Response:
        return self._update(partial=False)

    @extend_schema(request=MarketingSourceIn, responses=MarketingSourceOut, summary="Change some of a source.")
    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(partial=True)

    def _update(self, *, partial: bool) -> Response:
        source = self.get_object()
        data = self.validated(MarketingSourceIn, partial=partial)
        source = services.update_marketing_source(source=source, by=self.request.user, data=data)
        return Response(self.out(source).data)

    @extend_schema(
        parameters=[MarketingSourceStatsQuery],
        responses=MarketingSourceStatsOut(many=True),
        summary="Per source over a period: leads, won opportunities and amount, conversion rate, cost, ROI.",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def stats(self, request: Request) -> Response:
        query = MarketingSourceStatsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        statistics = selectors.marketing_source_statistics(
            request.user, self.organization, start=query.validated_data["start"], end=query.validated_data["end"]
        )
        return Response(MarketingSourceStatsOut(statistics, many=True).data)
