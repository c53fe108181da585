"""Plans and credits in the back office (desk « Formules »; DESIGN invariants 6 and 12):

- the « Formules et crédits » tab of a company (crm's COMPANY_TABS): its plan assignments (« Attribuer une
  formule », « Terminer »), its credit balance today (the company's shared credits and each member's own), the
  ledger (date, type, credits, validity, booking) and « Offrir des crédits »;
- Gestion → « Formules attribuées »: every assignment of the organization, with filters.

Every object view fetches its object through a tenant-scoped query before it looks at the method, so another
organization's company or assignment answers 404 on GET and POST alike. The services decide
(comptoir.bookings.services.credits); a refusal is shown at its field.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.bookings.forms_plans import AssignPlanForm, EndPlanForm, GestureForm, PlanAssignmentFilter
from comptoir.bookings.models import CreditEntry, PlanAssignment
from comptoir.bookings.services import credits as services
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, right_required
from comptoir.crm import selectors as crm_selectors
from comptoir.crm.models import Company, Contact
from comptoir.crm.views import companies as crm_companies

MENU = [
    Entry("operations", gettext_lazy("Formules attribuées"), "bookings:plan_list", "bookings.view_planassignment", 26,
          "card-checklist"),
]  # fmt: skip
TAB = "plans"
LEDGER_ROWS = 100
ZERO = Decimal("0.00")
_PK_PLACEHOLDER = 987654321

if not any(tab[0] == TAB for tab in crm_companies.COMPANY_TABS):
    crm_companies.COMPANY_TABS.append(
        (TAB, gettext_lazy("Formules et crédits"), "bookings:company_plans", "bookings.view_planassignment")
    )
for _suffix, _verb, _icon in [
    ("assigned", gettext_lazy("Formule attribuée"), "card-checklist"),
    ("ended", gettext_lazy("Formule terminée"), "stop-circle"),
    ("granted", gettext_lazy("Crédits offerts"), "gift"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)

STATUS_BADGES = {
    PlanAssignment.Status.ACTIVE: "success",
    PlanAssignment.Status.ENDED: "secondary",
    PlanAssignment.Status.CANCELLED: "danger",
}
KIND_BADGES = {
    CreditEntry.Kind.GRANT: "success",
    CreditEntry.Kind.SPEND: "primary",
    CreditEntry.Kind.REFUND: "info",
    CreditEntry.Kind.EXPIRE: "secondary",
}


# --------------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------------
def _companies(request: HttpRequest) -> QuerySet[Company]:
    return crm_selectors.companies_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def assignments_for(request: HttpRequest) -> QuerySet[PlanAssignment]:
    """The organization's plan assignments the viewer may see (of the companies they see)."""
    organization = request.organization  # type: ignore[attr-defined]
    return PlanAssignment.objects.filter(organization=organization, company__in=_companies(request)).select_related(
        "company", "contact", "plan"
    )


def balances_on(company: Company, day: datetime.date) -> tuple[Decimal, list[tuple[Contact, Decimal]]]:
    """(the company's shared credits, [(member, their own credits)]) spendable on a day (two queries)."""
    grants = list(
        CreditEntry.objects.filter(
            company=company, kind=CreditEntry.Kind.GRANT, valid_from__lte=day, valid_until__gte=day
        ).select_related("contact")
    )
    used = dict(
        CreditEntry.objects.filter(grant__in=[grant.pk for grant in grants])
        .values_list("grant_id").annotate(total=Sum("amount")).values_list("grant_id", "total")
    )  # fmt: skip
    shared = ZERO
    members: dict[int, tuple[Contact, Decimal]] = {}
    for grant in grants:
        left = grant.amount + (used.get(grant.pk) or ZERO)
        if left <= 0:
            continue
        if grant.contact_id is None:
            shared += left
        else:
            contact, total = members.get(grant.contact_id, (grant.contact, ZERO))
            members[grant.contact_id] = (contact, total + left)
    return shared, sorted(members.values(), key=lambda row: str(row[0]).lower())


def _url_builder(name: str) -> Callable[[int], str | None]:
    try:
        pattern = reverse(name, args=[_PK_PLACEHOLDER])
    except NoReverseMatch:
        return lambda pk: None
    return lambda pk: pattern.replace(str(_PK_PLACEHOLDER), str(pk))


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _tab_url(company: Company) -> str:
    return f"{company.get_absolute_url()}?tab={TAB}"


# --------------------------------------------------------------------------------------------------
# The company's tab
# --------------------------------------------------------------------------------------------------
def _tab(
    request: HttpRequest, company: Company, *, assign_form: AssignPlanForm | None = None,
    gesture_form: GestureForm | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    today = timezone.localdate()
    can_assign = can(request, "bookings.add_planassignment")
    can_grant = can(request, "bookings.add_creditentry")
    can_see_ledger = can(request, "bookings.view_creditentry")
    if assign_form is None and can_assign:
        assign_form = AssignPlanForm(company=company, initial={"starts_on": today})
    if gesture_form is None and can_grant:
        gesture_form = GestureForm(company=company)
    assignments = list(
        PlanAssignment.objects.filter(company=company).select_related("plan", "contact").order_by("-starts_on", "-id")
    )
    booking_url = _url_builder("bookings:detail")
    ledger: list[dict[str, Any]] = []
    shared, members = ZERO, []
    if can_see_ledger:
        shared, members = balances_on(company, today)
        entries = services.ledger(company).select_related("contact")[:LEDGER_ROWS]
        for entry in entries:
            source = entry if entry.kind == CreditEntry.Kind.GRANT else entry.grant
            ledger.append({
                "entry": entry,
                "badge": KIND_BADGES.get(entry.kind, "secondary"),
                "valid_from": source.valid_from if source else None,
                "valid_until": source.valid_until if source else None,
                "booking_url": booking_url(entry.booking_id) if entry.booking_id else None,
            })  # fmt: skip
    template = "bookings/plans/_company_plans.html" if _is_htmx(request) else "bookings/plans/company_plans.html"
    return render(
        request,
        template,
        {
            "company": company,
            "assignments": assignments,
            "badges": STATUS_BADGES,
            "today": today,
            "shared_balance": shared,
            "member_balances": members,
            "ledger": ledger,
            "ledger_limit": LEDGER_ROWS,
            "assign_form": assign_form,
            "gesture_form": gesture_form,
            "end_form": EndPlanForm(initial={"ends_on": today}),
            "can_assign": can_assign,
            "can_end": can(request, "bookings.change_planassignment"),
            "can_grant": can_grant,
            "can_see_ledger": can_see_ledger,
            "breadcrumb": [(_("Entreprises"), reverse("crm:company_list")), (company.name, _tab_url(company))],
        },
        status=status,
    )


@right_required("bookings.view_planassignment")
def company_plans(request: HttpRequest, pk: int) -> HttpResponse:
    """The « Formules et crédits » tab."""
    return _tab(request, get_object_or_404(_companies(request), pk=pk))


@right_required("bookings.view_planassignment", "bookings.add_planassignment")
def company_plan_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """« Attribuer une formule » (POST): its first credits are granted at once."""
    company = get_object_or_404(_companies(request), pk=pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = AssignPlanForm(request.POST, company=company)
    if form.is_valid():
        try:
            assignment = services.assign_plan(company=company, by=request.user, data=form.service_data())  # type: ignore[arg-type]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("La formule « %(plan)s » est attribuée à %(holder)s.")
                             % {"plan": assignment.plan.name, "holder": assignment.contact or company.name})  # fmt: skip
            if _is_htmx(request):
                return _tab(request, company)
            return redirect(_tab_url(company))
    return _tab(request, company, assign_form=form, status=400)


@right_required("bookings.view_planassignment", "bookings.add_creditentry")
def company_credit_grant(request: HttpRequest, pk: int) -> HttpResponse:
    """« Offrir des crédits » (POST)."""
    company = get_object_or_404(_companies(request), pk=pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = GestureForm(request.POST, company=company)
    if form.is_valid():
        try:
            entry = services.grant_gesture(company=company, by=request.user, data=form.service_data())  # type: ignore[arg-type]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("%(amount)s crédits offerts, valables jusqu'au %(day)s.") % {
                "amount": formats.number_format(entry.amount, use_l10n=True),
                "day": formats.date_format(entry.valid_until, "SHORT_DATE_FORMAT"),
            })  # fmt: skip
            if _is_htmx(request):
                return _tab(request, company)
            return redirect(_tab_url(company))
    return _tab(request, company, gesture_form=form, status=400)


@right_required("bookings.view_planassignment", "bookings.change_planassignment")
def plan_end(request: HttpRequest, pk: int) -> HttpResponse:
    """« Terminer » (POST): no credit period starts after the given day; credits granted stay valid."""
    assignment = get_object_or_404(assignments_for(request), pk=pk)
    if (refused := post_only(request)) is not None:
        return refused
    form = EndPlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Date invalide."))
    else:
        try:
            services.end_plan(assignment=assignment, by=request.user, ends_on=form.cleaned_data.get("ends_on"))  # type: ignore[arg-type]
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("La formule « %(plan)s » est terminée.") % {"plan": assignment.plan.name})
    if _is_htmx(request):
        return _tab(request, assignment.company)
    return redirect(_tab_url(assignment.company))


# --------------------------------------------------------------------------------------------------
# « Formules attribuées »
# --------------------------------------------------------------------------------------------------
def _status_cell(assignment: PlanAssignment) -> SafeString:
    return format_html('<span class="badge rounded-pill text-bg-{}">{}</span>',
                       STATUS_BADGES.get(assignment.status, "secondary"), assignment.get_status_display())  # fmt: skip


COLUMNS = [
    Column("company", gettext_lazy("Entreprise"), accessor="company.name", sort="company__name", link=True, data=True),
    Column("contact", gettext_lazy("Membre"), accessor=lambda row: str(row.contact) if row.contact else "—", data=True),
    Column("plan", gettext_lazy("Formule"), accessor="plan.name", sort="plan__name", data=True),
    Column("plan_type", gettext_lazy("Type"), accessor=lambda row: row.plan.get_plan_type_display()),
    Column("credits", gettext_lazy("Crédits"), accessor="plan.credits", kind="number", css_class="text-end"),
    Column("starts_on", gettext_lazy("Début"), sort="starts_on", kind="date"),
    Column("ends_on", gettext_lazy("Fin"), sort="ends_on", kind="date"),
    Column(
        "status",
        gettext_lazy("Statut"),
        accessor=lambda row: row,
        sort="status",
        render=_status_cell,
        export=lambda row: row.get_status_display(),
    ),
]


@right_required("bookings.view_planassignment")
def plan_list(request: HttpRequest) -> HttpResponse:
    return ListPage(
        request,
        queryset=assignments_for(request),
        columns=COLUMNS,
        filterset_class=PlanAssignmentFilter,
        search_fields=["company__name", "plan__name", "contact__last_name", "contact__first_name"],
        search_placeholder=gettext_lazy("Entreprise, formule ou membre…"),
        default_sort="-starts_on",
        title=_("Formules attribuées"),
        export_name="formules-attribuees",
        row_url=lambda row: _tab_url(row.company),
        empty_message=gettext_lazy(
            "Aucune formule attribuée : attribuez-en une depuis l'onglet « Formules et crédits » d'une entreprise."
        ),
    ).response()


urlpatterns = [
    path("plans/", plan_list, name="plan_list"),
    path("plans/<int:pk>/end/", plan_end, name="plan_end"),
    path("companies/<int:pk>/plans/", company_plans, name="company_plans"),
    path("companies/<int:pk>/plans/assign/", company_plan_assign, name="company_plan_assign"),
    path("companies/<int:pk>/credits/grant/", company_credit_grant, name="company_credit_grant"),
]
