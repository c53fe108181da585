"""Gestion → Réservations in the back office: the list (filters, « à traiter », CSV, a pinned query count), « Créer une
réservation » (times in the center's timezone, refusals at the field, a taken slot at the start with the slot that
holds it, the free ranges helper), a booking's page and its actions (Confirmer, Décliner, Annuler with a refund,
Ajouter une consommation, .ics); rights (reception books, a technician gets 403) and tenancy (404)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.billing.models import Consumption
from comptoir.bookings.models import Booking
from comptoir.bookings.services import bookings as services
from comptoir.bookings.tests.factories import (
    BookingFactory,
    CoworkingFactory,
    RoomFactory,
    SpaceBookingFactory,
    at,
    next_weekday,
)
from comptoir.catalog.models import Product
from comptoir.catalog.tests.factories import ProductFactory
from comptoir.core.testing import tenancy_walk_test
from comptoir.crm.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def room(org, center):  # type: ignore[no-untyped-def]
    space = RoomFactory(organization=org, center=center, name="Salle Eiffel")
    SpaceBookingFactory(space=space, organization=org)  # 30 € / hour
    return space


@pytest.fixture
def company(org):  # type: ignore[no-untyped-def]
    return CompanyFactory(organization=org, name="Lumière SAS")


def monday() -> datetime.date:
    return next_weekday(0)


def form_data(room, company, **extra):  # type: ignore[no-untyped-def]
    data = {"space": room.pk, "company": company.pk, "contact": "", "contract": "", "date": monday().isoformat(),
            "start": "10:00", "end": "11:30", "seats": "1", "title": "Comité", "notes": "", "payment": ""}  # fmt: skip
    data.update(extra)
    return data


# --------------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------------
def test_menu_entry_and_empty_list(admin, staff_client):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    page = web.get(reverse("bookings:list")).content.decode()
    assert "Aucune réservation pour le moment." in page
    assert reverse("bookings:create") in page
    assert f'href="{reverse("bookings:list")}"' in web.get(reverse("bookings:create")).content.decode()


def test_list_shows_local_times_status_and_amounts(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    day = monday()
    BookingFactory(space=room, company=company, starts_at=at(day, 14, 30), ends_at=at(day, 16),
                   payment=Booking.Payment.INVOICE, price_excl_vat=Decimal("45.00"))  # fmt: skip
    BookingFactory(space=room, company=company, starts_at=at(day, 9), ends_at=at(day, 10),
                   payment=Booking.Payment.CREDITS, credits=Decimal("1.50"), status=Booking.Status.REQUESTED)  # fmt: skip
    page = staff_client(admin).get(reverse("bookings:list")).content.decode()
    assert f"{day:%d/%m/%Y} 14:30–16:00" in page  # the center's time, not UTC
    assert "45,00\u00a0€" in page and "1,5 crédits" in page
    assert "Confirmée" in page and "Demandée" in page and "Salle Eiffel" in page and "Lumière SAS" in page


def test_list_filters_to_process_company_and_dates(admin, staff_client, room, company, org):  # type: ignore[no-untyped-def]
    other = CompanyFactory(organization=org, name="Zéphyr SARL")
    day = monday()
    BookingFactory(space=room, company=company, starts_at=at(day, 9), ends_at=at(day, 10),
                   status=Booking.Status.REQUESTED, title="Demande A")  # fmt: skip
    BookingFactory(space=room, company=other, starts_at=at(day + datetime.timedelta(days=7), 9),
                   ends_at=at(day + datetime.timedelta(days=7), 10), title="Confirmée B")  # fmt: skip
    web = staff_client(admin)
    url = reverse("bookings:list")

    def results(params: dict) -> str:  # type: ignore[type-arg]
        return web.get(url, params).content.decode().split('id="list-results"', 1)[1]

    to_process = results({"to_process": "on"})
    assert "Lumière SAS" in to_process and "Zéphyr SARL" not in to_process
    by_company = results({"company": other.pk})
    assert "Zéphyr SARL" in by_company and "Lumière SAS" not in by_company
    first_week = results({"date_from": day.isoformat(), "date_to": day.isoformat()})
    assert "Lumière SAS" in first_week and "Zéphyr SARL" not in first_week
    far = results({"date_from": "9999-12-31"})
    assert "Lumière SAS" not in far and "Zéphyr SARL" not in far
    assert "Lumière SAS" in results({"date_to": "9999-12-31", "date_from": "0001-01-01"})
    second_week = results({"date_from": (day + datetime.timedelta(days=1)).isoformat()})
    assert "Zéphyr SARL" in second_week and "Lumière SAS" not in second_week


def test_list_csv(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    BookingFactory(space=room, company=company)
    response = staff_client(admin).get(reverse("bookings:list"), {"export": "csv"})
    content = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Lumière SAS" in content and "Salle Eiffel" in content


def test_list_query_count_is_pinned(admin, staff_client, room, org):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    day = monday()

    def make(count: int, offset: int = 0) -> None:
        for index in range(offset, offset + count):
            start = at(day + datetime.timedelta(days=7 * (index // 8)), 8 + index % 8)
            company = CompanyFactory(organization=org)
            contact = ContactFactory(company=company, organization=org) if index % 2 else None
            BookingFactory(space=room, company=company, contact=contact, starts_at=start,
                           ends_at=start + datetime.timedelta(hours=1))  # fmt: skip

    make(3)
    web.get(reverse("bookings:list"))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert web.get(reverse("bookings:list")).status_code == 200
    make(27, offset=3)
    with CaptureQueriesContext(connection) as many:
        assert web.get(reverse("bookings:list")).status_code == 200
    assert len(few) == len(many), [q["sql"] for q in many.captured_queries]
    assert len(many) == 11  # session, user, organization, rights, menu, count, page, filter choices


def test_technician_gets_403_and_reception_sees(staff_of, staff_client, client):  # type: ignore[no-untyped-def]
    anonymous = client.get(reverse("bookings:list"))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert staff_client(staff_of("technician")).get(reverse("bookings:list")).status_code == 403
    assert staff_client(staff_of("technician")).get(reverse("bookings:create")).status_code == 403
    assert staff_client(staff_of("reception")).get(reverse("bookings:list")).status_code == 200


# --------------------------------------------------------------------------------------------------
# « Créer une réservation »
# --------------------------------------------------------------------------------------------------
def test_create_prefilled_from_the_planning_and_shows_free_ranges(admin, staff_client, room):  # type: ignore[no-untyped-def]
    day = monday()
    BookingFactory(space=room, starts_at=at(day, 10), ends_at=at(day, 12))
    page = staff_client(admin).get(reverse("bookings:create"),
                                   {"space": room.pk, "date": day.isoformat(), "start": "14:00", "end": "15:00"})  # fmt: skip
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="14:00"' in html and f'value="{day.isoformat()}"' in html
    assert "Créneaux libres" in html and "08:00–10:00" in html and "12:00–19:00" in html


def test_free_ranges_partial(admin, staff_client, room):  # type: ignore[no-untyped-def]
    day = monday()
    html = staff_client(admin).get(reverse("bookings:free_ranges"), {"space": room.pk, "date": day.isoformat()},
                                   **HTMX).content.decode()  # fmt: skip
    assert "08:00–19:00" in html and "<html" not in html
    sunday = day - datetime.timedelta(days=1)
    closed = staff_client(admin).get(reverse("bookings:free_ranges"), {"space": room.pk, "date": sunday.isoformat()})
    assert "Aucun créneau libre" in closed.content.decode()


def test_reception_creates_a_booking_in_the_centers_timezone(staff_of, staff_client, room, company):  # type: ignore[no-untyped-def]
    web = staff_client(staff_of("reception"))
    response = web.post(reverse("bookings:create"), form_data(room, company))
    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"] == booking.get_absolute_url()
    assert booking.starts_at == at(monday(), 10) and booking.ends_at == at(monday(), 11, 30)
    assert booking.status == Booking.Status.CONFIRMED and booking.payment == Booking.Payment.INVOICE
    assert booking.price_excl_vat == Decimal("45.00") and booking.title == "Comité"
    page = web.get(booking.get_absolute_url()).content.decode()
    assert "10:00–11:30" in page and "45,00\u00a0€" in page


def test_create_refusals_at_the_fields(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    response = web.post(reverse("bookings:create"), form_data(room, company, start="12:00", end="11:00"))
    assert response.status_code == 200
    assert "La fin doit être après le début." in response.content.decode()
    outside = web.post(reverse("bookings:create"), form_data(room, company, start="19:30", end="20:30"))
    assert outside.status_code == 200 and 'class="field mb-3 field-invalid"' in outside.content.decode()
    past = form_data(room, company, date=(monday() - datetime.timedelta(days=14)).isoformat())
    assert web.post(reverse("bookings:create"), past).status_code == 200
    far = web.post(reverse("bookings:create"), form_data(room, company, date="9999-12-31"))
    assert far.status_code == 200 and 'class="field mb-3 field-invalid" id="field-date"' in far.content.decode()
    assert web.get(reverse("bookings:free_ranges"), {"space": room.pk, "date": "9999-12-31"}).status_code == 200
    assert Booking.objects.count() == 0


def test_create_conflict_shown_at_the_start_with_the_taken_slot(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    BookingFactory(space=room, starts_at=at(monday(), 10, 30), ends_at=at(monday(), 12))
    response = staff_client(admin).post(reverse("bookings:create"), form_data(room, company))
    html = response.content.decode()
    assert response.status_code == 200 and Booking.objects.count() == 1
    assert 'id="field-start"' in html
    start_field = html.split('id="field-start"', 1)[1].split('id="field-end"', 1)[0]
    assert "10:30–12:00" in start_field


def test_create_contact_of_another_company_is_refused(admin, staff_client, room, company, org):  # type: ignore[no-untyped-def]
    stranger = ContactFactory(company=CompanyFactory(organization=org), organization=org)
    response = staff_client(admin).post(reverse("bookings:create"), form_data(room, company, contact=stranger.pk))
    assert response.status_code == 200 and Booking.objects.count() == 0
    assert 'class="field mb-3 field-invalid" id="field-contact"' in response.content.decode()


def test_member_and_contract_choices_follow_the_company(admin, staff_client, room, company, org):  # type: ignore[no-untyped-def]
    mine = ContactFactory(company=company, organization=org, first_name="Alice", last_name="Durand")
    other = ContactFactory(company=CompanyFactory(organization=org), organization=org, first_name="Bob",
                           last_name="Martin")  # fmt: skip
    web = staff_client(admin)
    everyone = web.get(reverse("bookings:create")).content.decode()
    assert "Alice Durand" in everyone and "Bob Martin" in everyone
    assert 'hx-get="/manage/bookings/new/"' in everyone  # the company select reloads the form
    filtered = web.get(reverse("bookings:create"), {"company": company.pk, "title": "Atelier"}, **HTMX).content.decode()
    assert "Alice Durand" in filtered and "Bob Martin" not in filtered and 'value="Atelier"' in filtered
    response = web.post(reverse("bookings:create"), form_data(room, company, contact=mine.pk))
    assert response.status_code == 302 and Booking.objects.get().contact == mine
    assert other.pk


def test_paid_in_credits_without_credits_is_refused_at_the_payment(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    response = staff_client(admin).post(reverse("bookings:create"), form_data(room, company, payment="credits"))
    assert response.status_code == 200 and Booking.objects.count() == 0
    assert 'class="field mb-3 field-invalid" id="field-payment"' in response.content.decode()


def test_create_seats_on_a_coworking_area(admin, staff_client, org, center, company):  # type: ignore[no-untyped-def]
    area = CoworkingFactory(organization=org, center=center, capacity=3)
    web = staff_client(admin)
    assert web.post(reverse("bookings:create"), form_data(area, company, seats="2")).status_code == 302
    assert Booking.objects.get().seats == 2
    over = web.post(reverse("bookings:create"), form_data(area, company, seats="2"))
    assert over.status_code == 200 and Booking.objects.count() == 1


# --------------------------------------------------------------------------------------------------
# A booking's page and its actions
# --------------------------------------------------------------------------------------------------
def _request(room, company, admin):  # type: ignore[no-untyped-def]
    booking = services.create_booking(organization=room.organization, by=admin, data={
        "space": room, "company": company, "starts_at": at(monday(), 10), "ends_at": at(monday(), 11)})  # fmt: skip
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.REQUESTED, consumption=None)
    Consumption.objects.all().delete()
    booking.refresh_from_db()
    return booking


def test_detail_shows_actions_of_a_request_and_confirm(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    booking = _request(room, company, admin)
    web = staff_client(admin)
    html = web.get(booking.get_absolute_url()).content.decode()
    assert reverse("bookings:confirm", args=[booking.pk]) in html
    assert reverse("bookings:decline", args=[booking.pk]) in html
    assert reverse("bookings:cancel", args=[booking.pk]) in html
    assert web.get(reverse("bookings:confirm", args=[booking.pk])).status_code == 405
    response = web.post(reverse("bookings:confirm", args=[booking.pk]))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.consumption_id
    html = web.get(booking.get_absolute_url()).content.decode()
    assert reverse("bookings:confirm", args=[booking.pk]) not in html
    assert "Réservation confirmée" in html  # the journal
    assert "À facturer" in html


def test_decline_with_a_reason(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    booking = _request(room, company, admin)
    web = staff_client(admin)
    assert "Décliner la demande" in web.get(reverse("bookings:decline", args=[booking.pk])).content.decode()
    response = web.post(reverse("bookings:decline", args=[booking.pk]), {"reason": "Salle en travaux"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.reason) == (Booking.Status.DECLINED, "Salle en travaux")
    again = web.post(reverse("bookings:decline", args=[booking.pk]), {"reason": "x"})
    assert again.status_code == 200 and "Seule une demande en attente" in again.content.decode()


def test_cancel_with_a_money_refund_withdraws_the_consumption(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    web.post(reverse("bookings:create"), form_data(room, company))
    booking = Booking.objects.get()
    assert booking.consumption_id is not None
    form = web.get(reverse("bookings:cancel", args=[booking.pk])).content.decode()
    assert "Rembourser" in form and "En crédits" in form
    response = web.post(reverse("bookings:cancel", args=[booking.pk]),
                        {"reason": "Client absent", "refund": "on", "refund_kind": "money"})  # fmt: skip
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.refund, booking.consumption_id) == (Booking.Status.CANCELLED, "money", None)
    assert not Consumption.objects.exists()
    page = web.get(booking.get_absolute_url()).content.decode()
    assert "Annulée" in page and "En argent" in page and "Client absent" in page and "Annulation" in page
    assert reverse("bookings:cancel", args=[booking.pk]) not in page


def test_cancel_without_refund_keeps_the_consumption(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    web.post(reverse("bookings:create"), form_data(room, company))
    booking = Booking.objects.get()
    web.post(reverse("bookings:cancel", args=[booking.pk]), {"reason": "", "refund_kind": "money"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.refund == ""
    assert Consumption.objects.count() == 1


def test_add_a_consumption(admin, staff_client, room, company, org):  # type: ignore[no-untyped-def]
    coffee = ProductFactory(organization=org, kind=Product.Kind.CONSUMPTION, name="Café", unit_price=Decimal("2.00"),
                            service_type="")  # fmt: skip
    booking = BookingFactory(space=room, company=company)
    web = staff_client(admin)
    assert "Ajouter une consommation" in web.get(booking.get_absolute_url()).content.decode()
    response = web.post(reverse("bookings:add_consumption", args=[booking.pk]),
                        {"consumption-product": coffee.pk, "consumption-quantity": "3"})  # fmt: skip
    assert response.status_code == 302
    consumption = Consumption.objects.get()
    assert (consumption.quantity, consumption.amount_excl_vat, consumption.source_id) == (
        Decimal("3"), Decimal("6.00"), booking.pk)  # fmt: skip
    assert "Café" in web.get(booking.get_absolute_url()).content.decode()
    bad = web.post(reverse("bookings:add_consumption", args=[booking.pk]),
                   {"consumption-product": "", "consumption-quantity": "0"})  # fmt: skip
    assert bad.status_code == 400 and Consumption.objects.count() == 1


def test_ics_download(admin, staff_client, room, company):  # type: ignore[no-untyped-def]
    booking = BookingFactory(space=room, company=company)
    response = staff_client(admin).get(reverse("bookings:ics", args=[booking.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in response.content and str(booking.uid).encode() in response.content


def test_reception_cannot_confirm_without_the_right_and_technician_gets_403(staff_of, staff_client, room, company):  # type: ignore[no-untyped-def]
    booking = BookingFactory(space=room, company=company, status=Booking.Status.REQUESTED)
    technician = staff_client(staff_of("technician"))
    assert technician.get(booking.get_absolute_url()).status_code == 403
    assert technician.post(reverse("bookings:confirm", args=[booking.pk])).status_code == 403
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED


def test_another_organizations_booking_answers_404(admin, staff_client, other_org, other_center):  # type: ignore[no-untyped-def]
    foreign = BookingFactory(space=RoomFactory(organization=other_org, center=other_center))
    web = staff_client(admin)
    for name in ("detail", "confirm", "decline", "cancel", "add_consumption", "ics"):
        url = reverse(f"bookings:{name}", args=[foreign.pk])
        assert web.get(url).status_code == 404, name
        assert web.post(url).status_code == 404, name
    foreign.refresh_from_db()
    assert foreign.status == Booking.Status.CONFIRMED


test_other_organizations_objects_answer_404 = tenancy_walk_test(namespaces=["bookings"])
