"""Finance → Relances (frontmanager §7 « Relancer un client »): the automatic schedule (days after the due date,
e-mail or letter; right payments.change_paymentprofile to change it) and the reminders sent, with filters; the
« Relancer » button of an invoice's page (billing's `INVOICE_ACTIONS`) opens a confirmation showing the e-mail and
the late-payment charges; a letter's PDF is downloaded from the list.

Every object view fetches its object through a tenant-scoped selector first: another organization's invoice or
reminder answers 404 on GET and POST alike. The services decide; a refusal is shown at its field.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.billing import selectors as billing_selectors
from comptoir.billing.models import Invoice
from comptoir.billing.views.invoices import INVOICE_ACTIONS
from comptoir.core.errors import DomainError
from comptoir.core.forms import add_domain_error, date_input, style_form
from comptoir.core.lists import Column, ListPage
from comptoir.core.navigation import Entry
from comptoir.core.views.base import ACTION_ICONS, ACTION_VERBS, can, post_only, right_required
from comptoir.payments.models import Reminder
from comptoir.payments.services import reminders as services

MENU = [Entry("finance", gettext_lazy("Relances"), "payments:reminder_list", "payments.view_reminder", 16, "bell")]

_action = (gettext_lazy("Relancer"), "payments:invoice_remind", "payments.add_reminder", services.is_remindable)
if not any(action[1] == _action[1] for action in INVOICE_ACTIONS):
    INVOICE_ACTIONS.append(_action)
for _suffix, _verb, _icon in [
    ("reminded", gettext_lazy("Relance"), "bell"),
    ("reminders_changed", gettext_lazy("Relances automatiques modifiées"), "bell"),
]:
    ACTION_VERBS.setdefault(_suffix, _verb)
    ACTION_ICONS.setdefault(_suffix, _icon)


# --------------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------------
class ScheduleForm(forms.Form):
    """The automatic reminders: on or off, and up to MAX_STEPS steps (an empty delay removes a step)."""

    enabled = forms.BooleanField(label=gettext_lazy("Relances automatiques activées"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index in range(1, services.MAX_STEPS + 1):
            self.fields[f"days_{index}"] = forms.IntegerField(
                label=gettext_lazy("Jours après l'échéance"), required=False, min_value=1,
                max_value=services.MAX_STEP_DAYS,
            )  # fmt: skip
            self.fields[f"channel_{index}"] = forms.ChoiceField(
                label=gettext_lazy("Canal"), choices=Reminder.Channel.choices, required=False
            )
        style_form(self)

    @classmethod
    def for_profile(cls, profile: Any, data: Any = None) -> ScheduleForm:
        initial: dict[str, Any] = {"enabled": profile.reminders_enabled}
        for step in services.schedule_steps(profile):
            initial[f"days_{step.level}"] = step.days
            initial[f"channel_{step.level}"] = step.channel
        return cls(data, initial=initial)

    @property
    def steps(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(index, self[f"days_{index}"], self[f"channel_{index}"]) for index in range(1, services.MAX_STEPS + 1)]

    def schedule(self) -> list[dict[str, Any]]:
        return [
            {"days": self.cleaned_data[f"days_{index}"],
             "channel": self.cleaned_data.get(f"channel_{index}") or Reminder.Channel.EMAIL}
            for index in range(1, services.MAX_STEPS + 1)
            if self.cleaned_data.get(f"days_{index}") is not None
        ]  # fmt: skip


class RemindForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Envoyer par"), choices=Reminder.Channel.choices,
                                widget=forms.RadioSelect, initial=Reminder.Channel.EMAIL)  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_form(self)


class ReminderFilter(django_filters.FilterSet):
    KINDS = [("manual", gettext_lazy("Manuelles")), ("automatic", gettext_lazy("Automatiques"))]

    kind = django_filters.ChoiceFilter(label=gettext_lazy("Type"), choices=KINDS, method="filter_kind",
                                       empty_label=gettext_lazy("Toutes"))  # fmt: skip
    channel = django_filters.ChoiceFilter(label=gettext_lazy("Canal"), choices=Reminder.Channel.choices,
                                          empty_label=gettext_lazy("Tous"))  # fmt: skip
    date_from = django_filters.DateFilter(label=gettext_lazy("Envoyées du"), field_name="sent_on",
                                          lookup_expr="gte", widget=date_input())  # fmt: skip
    date_to = django_filters.DateFilter(label=gettext_lazy("au"), field_name="sent_on", lookup_expr="lte",
                                        widget=date_input())  # fmt: skip

    class Meta:
        model = Reminder
        fields = ["kind", "channel", "date_from", "date_to"]

    def filter_kind(self, queryset: QuerySet[Reminder], name: str, value: str) -> QuerySet[Reminder]:
        if value == "manual":
            return queryset.filter(level=0)
        if value == "automatic":
            return queryset.filter(level__gt=0)
        return queryset


# --------------------------------------------------------------------------------------------------
# The list and the schedule
# --------------------------------------------------------------------------------------------------
def level_label(reminder: Reminder) -> str:
    if reminder.level == 0:
        return _("Manuelle")
    return _("Automatique n°%(level)s") % {"level": reminder.level}


def _invoice_cell(reminder: Reminder) -> SafeString:
    return format_html('<a href="{}" translate="no">{}</a>', reverse("billing:invoice_detail",
                       args=[reminder.invoice_id]), reminder.invoice.reference)  # fmt: skip


def _company_cell(reminder: Reminder) -> SafeString:
    company = reminder.invoice.company
    return format_html('<a href="{}" translate="no">{}</a>', reverse("crm:company_detail", args=[company.pk]),
                       company.name)  # fmt: skip


def _channel_cell(reminder: Reminder) -> SafeString:
    if reminder.document:
        return format_html(
            '<a href="{}"><i class="bi bi-file-earmark-pdf" aria-hidden="true"></i> {}</a>',
            reverse("payments:reminder_document", args=[reminder.pk]), _("Lettre (PDF)"),
        )  # fmt: skip
    return format_html("{}", reminder.get_channel_display())


def reminder_columns() -> list[Column]:
    return [
        Column("sent_on", gettext_lazy("Envoyée le"), kind="date", sort="sent_on"),
        Column(
            "invoice",
            gettext_lazy("Facture"),
            accessor=lambda r: r,
            render=_invoice_cell,
            sort="invoice__reference",
            export=lambda r: r.invoice.reference,
        ),
        Column(
            "company",
            gettext_lazy("Client"),
            accessor=lambda r: r,
            render=_company_cell,
            sort="invoice__company__name",
            export=lambda r: r.invoice.company.name,
        ),
        Column("level", gettext_lazy("Relance"), accessor=level_label, sort="level"),
        Column(
            "channel",
            gettext_lazy("Canal"),
            accessor=lambda r: r,
            render=_channel_cell,
            sort="channel",
            export=lambda r: r.get_channel_display(),
        ),
        Column("days_late", gettext_lazy("Jours de retard"), kind="number", sort="days_late", css_class="text-end"),
        Column(
            "amount_due", gettext_lazy("Reste dû"), kind="money", sort="amount_due", css_class="text-end text-nowrap"
        ),
        Column("penalty", gettext_lazy("Pénalités"), kind="money", css_class="text-end text-nowrap"),
        Column("indemnity", gettext_lazy("Indemnité"), kind="money", css_class="text-end text-nowrap"),
        Column("recipient", gettext_lazy("Destinataire"), data=True),
    ]


def _reminders(request: HttpRequest) -> QuerySet[Reminder]:
    return services.reminders_for(request.user, request.organization)  # type: ignore[arg-type, attr-defined]


def _list(request: HttpRequest, form: ScheduleForm | None = None) -> HttpResponse:
    profile = services.payment_profile(request.organization)  # type: ignore[attr-defined]
    return ListPage(
        request,
        queryset=_reminders(request),
        columns=reminder_columns(),
        filterset_class=ReminderFilter,
        search_fields=["invoice__reference", "invoice__company__name"],
        search_placeholder=gettext_lazy("Numéro de facture, client…"),
        default_sort="-sent_on",
        title=gettext_lazy("Relances"),
        export_name="relances",
        empty_message=gettext_lazy("Aucune relance envoyée pour le moment."),
        row_url=lambda reminder: reverse("billing:invoice_detail", args=[reminder.invoice_id]),
        intro_template="payments/reminders/_schedule.html",
        extra_context={
            "schedule_form": form or ScheduleForm.for_profile(profile),
            "schedule_steps": services.schedule_steps(profile),
            "reminders_enabled": profile.reminders_enabled,
            "can_change_schedule": can(request, "payments.change_paymentprofile"),
        },
    ).response()


@right_required("payments.view_reminder")
def reminder_list(request: HttpRequest) -> HttpResponse:
    return _list(request)


@right_required("payments.view_reminder", "payments.change_paymentprofile")
def reminder_schedule_update(request: HttpRequest) -> HttpResponse:
    if (refused := post_only(request)) is not None:
        return refused
    profile = services.payment_profile(request.organization)  # type: ignore[attr-defined]
    form = ScheduleForm.for_profile(profile, request.POST)
    if form.is_valid():
        try:
            schedule = form.schedule()
            if not schedule and not form.cleaned_data["enabled"]:  # switched off without steps: keep the steps
                schedule = [{"days": step.days, "channel": step.channel} for step in services.schedule_steps(profile)]
            services.update_reminder_schedule(organization=request.organization, by=request.user,  # type: ignore[attr-defined, arg-type]
                                              enabled=form.cleaned_data["enabled"], schedule=schedule)  # fmt: skip
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"schedule": None})
        else:
            messages.success(request, _("Les relances automatiques sont enregistrées."))
            return redirect("payments:reminder_list")
    return _list(request, form)


# --------------------------------------------------------------------------------------------------
# « Relancer » an invoice, a letter's PDF
# --------------------------------------------------------------------------------------------------
def _invoice(request: HttpRequest, pk: int) -> Invoice:
    return get_object_or_404(billing_selectors.invoices_for(request.user, request.organization), pk=pk)  # type: ignore[arg-type, attr-defined]


@right_required("payments.add_reminder")
def invoice_remind(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice page's « Relancer » (a POST without `confirm`) and GET: the confirmation, with the e-mail's text
    and the charges; POST with `confirm`: send it."""
    invoice = _invoice(request, pk)
    form = RemindForm(request.POST if "confirm" in request.POST else None)
    if request.method == "POST" and "confirm" in request.POST and form.is_valid():
        try:
            reminder = services.send_reminder(invoice=invoice, by=request.user, channel=form.cleaned_data["channel"])  # type: ignore[arg-type]
        except DomainError as exc:
            add_domain_error(form, exc, aliases={"on": None})
        else:
            if reminder.channel == Reminder.Channel.LETTER:
                messages.success(request, format_html(
                    '{} <a href="{}">{}</a>', _("La lettre de relance est prête."),
                    reverse("payments:reminder_document", args=[reminder.pk]), _("Télécharger le PDF"),
                ))  # fmt: skip
            else:
                messages.success(request, _("La relance est envoyée à %(recipient)s.") % {
                    "recipient": reminder.recipient})  # fmt: skip
            return redirect(invoice)
    if not services.is_remindable(invoice):
        messages.error(request, _("Cette facture n'a rien à relancer (brouillon, avoir, annulée ou payée)."))
        return redirect(invoice)
    charges = services.late_charges(invoice)
    subject, body = services.reminder_email(invoice, charges)
    return render(
        request,
        "payments/reminders/confirm.html",
        {
            "title": _("Relancer %(reference)s ?") % {"reference": invoice.reference},
            "invoice": invoice,
            "charges": charges,
            "rate": f"{charges.rate.normalize():f}".replace(".", ","),
            "recipients": services.recipients(invoice),
            "subject": subject,
            "body": body,
            "form": form,
            "deadline": services.payment_deadline(charges.on),
            "history": list(invoice.reminders.select_related("sent_by").order_by("-sent_on", "-id")[:20]),
            "breadcrumb": [(_("Factures"), reverse("billing:invoice_list")), (invoice.reference,
                                                                              invoice.get_absolute_url())],
        },
        status=400 if form.is_bound and form.errors else 200,
    )  # fmt: skip


@right_required("payments.view_reminder")
def reminder_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The letter of a reminder (PDF)."""
    reminder = get_object_or_404(_reminders(request), pk=pk)
    if not reminder.document:
        raise Http404
    try:
        handle = reminder.document.open("rb")
    except OSError as exc:
        raise Http404 from exc
    name = f"relance-{reminder.invoice.reference}-{reminder.sent_on:%Y-%m-%d}.pdf"
    return FileResponse(handle, content_type="application/pdf", filename=name, as_attachment=False)


urlpatterns = [
    path("reminders/", reminder_list, name="reminder_list"),
    path("reminders/schedule/", reminder_schedule_update, name="reminder_schedule_update"),
    path("reminders/<int:pk>/letter.pdf", reminder_document, name="reminder_document"),
    path("reminders/invoice/<int:pk>/", invoice_remind, name="invoice_remind"),
]
