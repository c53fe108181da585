"""Forms of the bookings back office (« Réservations », « Bloquer des créneaux »), and the list's FilterSet.

Forms parse the input: dates and times are typed in the center's timezone and turned into aware instants here;
the services decide (comptoir.bookings.services) and their refusals come back at the field through
comptoir.core.forms.add_domain_error.
"""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from comptoir.bookings.models import BlockedSlot, Booking
from comptoir.bookings.services import availability
from comptoir.catalog.models import Product, Space
from comptoir.core.forms import StyledFormMixin, date_input, time_input
from comptoir.core.models import Center
from comptoir.core.selectors import centers_for
from comptoir.core.widgets import DataSelect
from comptoir.crm.models import Company, Contact
from comptoir.crm.selectors import companies_for, contacts_for
from comptoir.sales.models import Contract

MAX_BLOCK_DAYS = 62
MAX_YEARS_AHEAD = 3


def check_day(day: datetime.date | None) -> datetime.date | None:
    """A day of a booking or a block: not absurdly far (a typo such as 2206), so that nothing overflows."""
    if day is None:
        return None
    today = datetime.date.today()
    if (
        not today.replace(year=today.year - 1, day=min(today.day, 28))
        <= day
        <= today.replace(year=today.year + MAX_YEARS_AHEAD, day=min(today.day, 28))
    ):
        raise forms.ValidationError(
            _("Choisissez une date dans les %(years)s ans à venir.") % {"years": MAX_YEARS_AHEAD}
        )
    return day


def local_instant(center: Center, day: datetime.date, at: datetime.time) -> datetime.datetime | None:
    """A wall-clock time of the center as an aware instant; None for a time that does not exist that day (the hour
    skipped in March)."""
    return availability.aware(day, at, center.tz)


class _Labelled(forms.ModelChoiceField):
    """A choice field whose labels are stored data (names), marked translate="no"."""

    widget = DataSelect


class SpaceChoiceField(_Labelled):
    def label_from_instance(self, obj: Space) -> str:
        return f"{obj.center.name} — {obj.name}"


class ContactChoiceField(_Labelled):
    def label_from_instance(self, obj: Contact) -> str:
        return f"{obj.full_name} ({obj.company.name})"


class ContractChoiceField(_Labelled):
    def label_from_instance(self, obj: Contract) -> str:
        return f"{obj.reference} — {obj.company.name}"


# --------------------------------------------------------------------------------------------------
# The list's filters
# --------------------------------------------------------------------------------------------------
def _centers(request: Any) -> QuerySet[Center]:
    if request is None:
        return Center.objects.none()
    return centers_for(request.user, request.organization).order_by("name")


def _spaces(request: Any) -> QuerySet[Space]:
    from comptoir.bookings.selectors import spaces_of_centers_for

    if request is None:
        return Space.objects.none()
    return spaces_of_centers_for(request.user, request.organization)


def _companies(request: Any) -> QuerySet[Company]:
    if request is None:
        return Company.objects.none()
    return companies_for(request.user, request.organization).order_by("name")


class BookingFilter(django_filters.FilterSet):
    to_process = django_filters.BooleanFilter(
        label=_("À traiter"), method="filter_to_process",
        widget=forms.CheckboxInput, help_text=_("Les demandes en attente de réponse."),
    )  # fmt: skip
    status = django_filters.ChoiceFilter(label=_("Statut"), choices=Booking.Status.choices, empty_label=_("Tous"))
    center = django_filters.ModelChoiceFilter(label=_("Centre"), queryset=_centers, empty_label=_("Tous"),
                                              widget=DataSelect)  # fmt: skip
    space = django_filters.ModelChoiceFilter(label=_("Espace"), queryset=_spaces, empty_label=_("Tous"),
                                             widget=DataSelect)  # fmt: skip
    company = django_filters.ModelChoiceFilter(label=_("Entreprise"), queryset=_companies, empty_label=_("Toutes"),
                                               widget=DataSelect)  # fmt: skip
    date_from = django_filters.DateFilter(label=_("Du"), method="filter_date_from", widget=date_input())
    date_to = django_filters.DateFilter(label=_("Au"), method="filter_date_to", widget=date_input())

    class Meta:
        model = Booking
        fields = ["to_process", "status", "center", "space", "company", "date_from", "date_to"]

    def filter_to_process(self, queryset: QuerySet[Booking], name: str, value: bool | None) -> QuerySet[Booking]:
        return queryset.filter(status=Booking.Status.REQUESTED) if value else queryset

    def _day_bound(self, queryset: QuerySet[Booking], value: datetime.date, *, after: bool) -> QuerySet[Booking]:
        """A day is the center's day: the bound is the local midnight of each timezone of the organization's
        centers (one small query for the timezones)."""
        organization = getattr(self.request, "organization", None)
        if organization is not None:
            centers = Center.objects.filter(organization=organization)
        else:
            centers = Center.objects.filter(pk__in=queryset.values("center_id"))
        zones = sorted(set(centers.values_list("timezone", flat=True)))
        condition = Q()
        for zone in zones:
            tz = zoneinfo.ZoneInfo(zone)
            try:
                day = value if after else value + datetime.timedelta(days=1)
                moment = availability.aware(day, datetime.time(0, 0), tz) or datetime.datetime.combine(
                    day, datetime.time(1, 0), tzinfo=tz
                )  # a midnight skipped by a daylight-saving change: the next hour
            except OverflowError:  # a bound at the edge of the calendar (year 1 or 9999) bounds nothing
                return queryset
            lookup = {"starts_at__gte": moment} if after else {"starts_at__lt": moment}
            condition |= Q(center__timezone=zone, **lookup)
        return queryset.filter(condition) if zones else queryset

    def filter_date_from(self, queryset: QuerySet[Booking], name: str, value: datetime.date | None) -> QuerySet:
        return self._day_bound(queryset, value, after=True) if value else queryset

    def filter_date_to(self, queryset: QuerySet[Booking], name: str, value: datetime.date | None) -> QuerySet:
        return self._day_bound(queryset, value, after=False) if value else queryset


# --------------------------------------------------------------------------------------------------
# « Créer une réservation »
# --------------------------------------------------------------------------------------------------
class BookingForm(StyledFormMixin, forms.Form):
    PAYMENT_CHOICES = [
        ("", _("Automatique (crédits s'il y en a assez, sinon facturée)")),
        (Booking.Payment.INVOICE, _("Facturée (facturation mensuelle)")),
        (Booking.Payment.CREDITS, _("Crédits")),
        (Booking.Payment.PREPAID, _("Facturée maintenant (facture émise à la réservation)")),
    ]

    space = SpaceChoiceField(label=_("Espace"), queryset=Space.objects.none(), empty_label=_("Choisir…"))
    company = _Labelled(label=_("Entreprise"), queryset=Company.objects.none(), empty_label=_("Choisir…"))
    contact = ContactChoiceField(label=_("Membre"), queryset=Contact.objects.none(), required=False,
                                 empty_label=_("Toute l'entreprise"),
                                 help_text=_("Facultatif : le membre de l'entreprise qui réserve."))  # fmt: skip
    contract = ContractChoiceField(label=_("Contrat"), queryset=Contract.objects.none(), required=False,
                                   empty_label=_("Aucun (facturée à part)"),
                                   help_text=_("Facultatif : le contrat de l'entreprise auquel rattacher la réservation."))  # fmt: skip
    date = forms.DateField(label=_("Date"), widget=date_input())
    start = forms.TimeField(label=_("Début"), widget=time_input())
    end = forms.TimeField(label=_("Fin"), widget=time_input())
    seats = forms.IntegerField(label=_("Places"), min_value=1, max_value=1000, initial=1, required=False,
                               help_text=_("Pour un espace de coworking : le nombre de postes."))  # fmt: skip
    title = forms.CharField(label=_("Objet"), max_length=160, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    payment = forms.ChoiceField(label=_("Paiement"), choices=PAYMENT_CHOICES, required=False)

    FIELDSETS = [
        (_("Espace et créneau"), ["space", "date", "start", "end", "seats"]),
        (_("Pour qui"), ["company", "contact", "contract", "payment"]),
        (_("Détails"), ["title", "notes"]),
    ]

    def __init__(self, *args: Any, user: Any, organization: Any, **kwargs: Any) -> None:
        from comptoir.bookings.selectors import bookable_spaces_for

        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = bookable_spaces_for(user, organization)
        companies = companies_for(user, organization).filter(is_archived=False).order_by("name", "pk")
        self.fields["company"].queryset = companies
        contacts = contacts_for(user, organization).filter(is_active=True).order_by("last_name", "first_name", "pk")
        contracts = Contract.objects.filter(organization_id=organization.pk, status__in=Contract.RUNNING,
                                            company__in=companies).select_related("company").order_by("number")  # fmt: skip
        # The dependent select: changing the company reloads the form (HTMX GET of the same page, the typed values
        # kept as its prefill) with that company's members and contracts.
        self.fields["company"].widget.attrs.update({
            "hx-get": reverse("bookings:create"), "hx-trigger": "change", "hx-include": "closest form",
            "hx-params": "not csrfmiddlewaretoken",
            "hx-target": "#booking-form", "hx-select": "#booking-form", "hx-swap": "outerHTML",
        })  # fmt: skip
        company_id = self._raw("company")
        if company_id:  # a simple filtered select: the chosen company's members and contracts
            contacts, contracts = contacts.filter(company_id=company_id), contracts.filter(company_id=company_id)
        self.fields["contact"].queryset = contacts
        self.fields["contract"].queryset = contracts

    def clean_date(self) -> datetime.date | None:
        return check_day(self.cleaned_data.get("date"))

    def _raw(self, name: str) -> int | None:
        raw = self.data.get(name) if self.is_bound else self.initial.get(name)
        raw = getattr(raw, "pk", raw)
        return int(raw) if str(raw or "").isdigit() else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        space, day, start, end = (cleaned.get(name) for name in ("space", "date", "start", "end"))
        contact, company = cleaned.get("contact"), cleaned.get("company")
        if contact is not None and company is not None and contact.company_id != company.pk:
            self.add_error("contact", _("Ce membre n'appartient pas à cette entreprise."))
        if space is None or day is None or start is None or end is None:
            return cleaned
        starts_at = local_instant(space.center, day, start)
        ends_at = local_instant(space.center, day, end)
        if starts_at is None:
            self.add_error("start", _("Cette heure n'existe pas ce jour-là (changement d'heure)."))
        if ends_at is None:
            self.add_error("end", _("Cette heure n'existe pas ce jour-là (changement d'heure)."))
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("end", _("La fin doit être après le début."))
        cleaned["starts_at"], cleaned["ends_at"] = starts_at, ends_at
        return cleaned

    def booking_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "space": data["space"], "company": data["company"], "contact": data.get("contact"),
            "contract": data.get("contract"), "starts_at": data["starts_at"], "ends_at": data["ends_at"],
            "seats": data.get("seats") or 1, "title": data.get("title", ""), "notes": data.get("notes", ""),
            "payment": data.get("payment", ""),
        }  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Decisions on a booking
# --------------------------------------------------------------------------------------------------
class DeclineForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Motif"), max_length=255, required=False,
                             help_text=_("Envoyé au membre avec le refus."))  # fmt: skip


class CancelForm(StyledFormMixin, forms.Form):
    REFUND_CHOICES = [
        (Booking.Refund.MONEY, _("En argent (consommation retirée, ou avoir si déjà facturée)")),
        (Booking.Refund.CREDITS, _("En crédits")),
    ]

    reason = forms.CharField(label=_("Motif"), max_length=255, required=False)
    refund = forms.BooleanField(label=_("Rembourser"), required=False)
    refund_kind = forms.ChoiceField(label=_("Remboursement"), choices=REFUND_CHOICES, required=False,
                                    widget=forms.RadioSelect, initial=Booking.Refund.MONEY)  # fmt: skip

    def __init__(self, *args: Any, booking: Booking, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.booking = booking
        if booking.payment == Booking.Payment.CREDITS:  # credits go back to their grants
            self.fields["refund_kind"].choices = [(Booking.Refund.CREDITS, _("En crédits"))]
            self.fields["refund_kind"].initial = Booking.Refund.CREDITS
        if not self.is_bound:
            self.fields["refund"].initial = booking.payment in (Booking.Payment.CREDITS, Booking.Payment.INVOICE,
                                                                Booking.Payment.PREPAID)  # fmt: skip

    def refund_value(self) -> str:
        if not self.cleaned_data.get("refund"):
            return ""
        return self.cleaned_data.get("refund_kind") or (
            Booking.Refund.CREDITS if self.booking.payment == Booking.Payment.CREDITS else Booking.Refund.MONEY
        )


class ConsumptionForm(StyledFormMixin, forms.Form):
    product = _Labelled(label=_("Article"), queryset=Product.objects.none(), empty_label=_("Choisir…"))
    quantity = forms.DecimalField(label=_("Quantité"), min_value=Decimal("0.001"), max_digits=10, decimal_places=3,
                                  initial=1, localize=True)  # fmt: skip

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products


# --------------------------------------------------------------------------------------------------
# « Bloquer des créneaux »
# --------------------------------------------------------------------------------------------------
class BlockFilter(django_filters.FilterSet):
    STATES = [("active", _("Actifs, à venir")), ("past", _("Passés")), ("cancelled", _("Débloqués")),
              ("all", _("Tous"))]  # fmt: skip

    center = django_filters.ModelChoiceFilter(label=_("Centre"), queryset=_centers, empty_label=_("Tous"),
                                              widget=DataSelect)  # fmt: skip
    state = django_filters.ChoiceFilter(label=_("État"), choices=STATES, method="filter_state",
                                        empty_label=None)  # fmt: skip

    class Meta:
        model = BlockedSlot
        fields = ["center", "state"]

    def filter_state(self, queryset: QuerySet[BlockedSlot], name: str, value: str) -> QuerySet[BlockedSlot]:
        from django.utils import timezone

        now = timezone.now()
        if value == "past":
            return queryset.filter(cancelled_at=None, ends_at__lte=now)
        if value == "cancelled":
            return queryset.exclude(cancelled_at=None)
        if value == "all":
            return queryset
        return queryset.filter(cancelled_at=None, ends_at__gt=now)


class BlockForm(StyledFormMixin, forms.Form):
    """One space or every space of a center, blocked from `start` to `end` each day of a range of days."""

    center = _Labelled(label=_("Centre"), queryset=Center.objects.none(), empty_label=_("Choisir…"))
    space = SpaceChoiceField(label=_("Espace"), queryset=Space.objects.none(), required=False,
                             empty_label=_("Tous les espaces du centre"))  # fmt: skip
    date_from = forms.DateField(label=_("Du"), widget=date_input())
    date_to = forms.DateField(label=_("Au"), widget=date_input(), required=False,
                              help_text=_("Facultatif : chaque jour jusqu'à cette date."))  # fmt: skip
    start = forms.TimeField(label=_("De"), widget=time_input())
    end = forms.TimeField(label=_("À"), widget=time_input())
    reason = forms.CharField(label=_("Motif"), max_length=255)

    def __init__(self, *args: Any, user: Any, organization: Any, **kwargs: Any) -> None:
        from comptoir.bookings.selectors import spaces_of_centers_for

        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers_for(user, organization).order_by("name")
        self.fields["space"].queryset = spaces_of_centers_for(user, organization)

    def clean_date_from(self) -> datetime.date | None:
        return check_day(self.cleaned_data.get("date_from"))

    def clean_date_to(self) -> datetime.date | None:
        return check_day(self.cleaned_data.get("date_to"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        center, space = cleaned.get("center"), cleaned.get("space")
        if center is not None and space is not None and space.center_id != center.pk:
            self.add_error("space", _("Cet espace n'est pas dans ce centre."))
        first, last, start, end = (cleaned.get(name) for name in ("date_from", "date_to", "start", "end"))
        if first is None or start is None or end is None or center is None:
            return cleaned
        last = last or first
        if last < first:
            self.add_error("date_to", _("La date de fin doit suivre la date de début."))
            return cleaned
        if (last - first).days >= MAX_BLOCK_DAYS:
            self.add_error("date_to", _("%(days)s jours au plus à la fois.") % {"days": MAX_BLOCK_DAYS})
            return cleaned
        if end <= start:
            self.add_error("end", _("La fin doit être après le début."))
            return cleaned
        slots = []
        day = first
        while day <= last:
            slot_start, slot_end = local_instant(center, day, start), local_instant(center, day, end)
            if slot_start is not None and slot_end is not None:
                slots.append((slot_start, slot_end))
            day += datetime.timedelta(days=1)
        cleaned["slots"] = slots
        return cleaned


class FeedForm(StyledFormMixin, forms.Form):
    """« Créer un abonnement calendrier »: for a space (chosen among the viewer's bookable spaces) or for a member
    (found by e-mail: the organization has too many members for a list)."""

    FOR_CHOICES = [("space", _("Un espace")), ("contact", _("Un membre"))]

    target = forms.ChoiceField(label=_("Abonnement pour"), choices=FOR_CHOICES, initial="space",
                               widget=forms.RadioSelect)  # fmt: skip
    space = SpaceChoiceField(label=_("Espace"), queryset=Space.objects.none(), required=False,
                             empty_label=_("Choisir…"))  # fmt: skip
    email = forms.EmailField(label=_("E-mail du membre"), required=False,
                             help_text=_("L'adresse e-mail du membre, telle qu'elle figure sur sa fiche."))  # fmt: skip

    def __init__(self, *args: Any, user: Any, organization: Any, **kwargs: Any) -> None:
        from comptoir.bookings.selectors import bookable_spaces_for

        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["space"].queryset = bookable_spaces_for(user, organization)
        self.contacts = contacts_for(user, organization).filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["contact"] = None
        if data.get("target") == "contact":
            data["space"] = None
            email = data.get("email")
            if not email:
                if "email" not in self.errors:
                    self.add_error("email", _("Indiquez l'e-mail du membre."))
                return data
            found = list(self.contacts.filter(email__iexact=email).select_related("company")[:2])
            if not found:
                self.add_error("email", _("Aucun membre actif n'a cette adresse e-mail."))
            elif len(found) > 1:
                self.add_error("email", _("Plusieurs membres ont cette adresse : créez l'abonnement par l'API."))
            else:
                data["contact"] = found[0]
        elif not data.get("space") and "space" not in self.errors:
            self.add_error("space", _("Choisissez l'espace."))
        return data
