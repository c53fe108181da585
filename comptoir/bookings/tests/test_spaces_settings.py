"""« Paramètres de réservation » of the bookable spaces: the service (the row created by the first change, every bad
value refused at its field and nothing written, rights, the journal), Gestion → Espaces réservables (the list with
French prices and a pinned query count, the grouped form, inline errors, 404 for another organization's space) and
/api/v1/booking-settings/ (list, filter, PATCH, 400 at the field, 403 without the right, 404 elsewhere)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.bookings.models import SpaceBooking
from comptoir.bookings.services import availability
from comptoir.bookings.services import spaces as services
from comptoir.bookings.tests.factories import CoworkingFactory, RoomFactory, SpaceBookingFactory
from comptoir.catalog.models import Space
from comptoir.catalog.tests.factories import SpaceFactory
from comptoir.core import rights, testing
from comptoir.core.errors import RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory, role
from comptoir.core.tests.test_api import error_of

pytestmark = pytest.mark.django_db
API = "/api/v1/booking-settings"
NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def room(org, center):  # type: ignore[no-untyped-def]
    return RoomFactory(organization=org, center=center, name="Salle Eiffel")


@pytest.fixture
def priced(org, center):  # type: ignore[no-untyped-def]
    """A room with its own settings: 30 / 100 / 1 250,50 €, on request, paid at booking."""
    return SpaceBookingFactory(
        space=RoomFactory(organization=org, center=center, name="Salle Louvre"), day_price=Decimal("1250.50"),
        auto_accept=False, prepayment=True, credits_per_hour=Decimal("2.50"),
    )  # fmt: skip


def settings_state() -> list[tuple]:  # type: ignore[type-arg]
    return list(SpaceBooking.objects.order_by("pk").values_list("space_id", *services.SETTINGS_FIELDS))


# --------------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------------
def test_the_first_change_creates_the_row_and_writes_the_journal(admin, room):  # type: ignore[no-untyped-def]
    assert availability.settings_of(room).pk is None  # the defaults

    row = services.update_settings(space=room, by=admin, data={
        "hour_price": Decimal("30"), "half_day_price": "100,5", "auto_accept": False, "request_hours": 48,
        "vat_rate": "10", "color": "#AABBCC", "slot_minutes": 15,
    })  # fmt: skip

    row = SpaceBooking.objects.get(pk=row.pk)
    assert (row.space_id, row.organization_id) == (room.pk, room.organization_id)
    assert (row.hour_price, row.half_day_price, row.day_price) == (Decimal("30.00"), Decimal("100.50"), None)
    assert (row.auto_accept, row.request_hours, row.vat_rate, row.color, row.slot_minutes) == (
        False, 48, "10.00", "#aabbcc", 15)  # fmt: skip
    assert (row.prepayment, row.cancellation_hours, row.credits_per_hour) == (False, 24, Decimal("1.00"))  # defaults
    entry = AuditEntry.objects.get(action="space.booking_settings_changed")
    assert (entry.object_id, entry.actor) == (str(room.pk), admin)
    assert entry.changes == {
        "auto_accept": [True, False], "color": ["#2563eb", "#aabbcc"], "half_day_price": [None, "100.50"],
        "hour_price": [None, "30.00"], "request_hours": [24, 48], "slot_minutes": [30, 15], "vat_rate": ["20.00", "10.00"],
    }  # fmt: skip


def test_only_the_fields_sent_change_and_no_change_writes_nothing(admin, priced):  # type: ignore[no-untyped-def]
    space = priced.space
    services.update_settings(space=space, by=admin, data={"hour_price": None, "prepayment": False})
    priced.refresh_from_db()
    assert (priced.hour_price, priced.half_day_price, priced.prepayment, priced.auto_accept) == (
        None, Decimal("100.00"), False, False)  # fmt: skip
    assert AuditEntry.objects.get(action="space.booking_settings_changed").changes == {
        "hour_price": ["30.00", None], "prepayment": [True, False]}  # fmt: skip

    services.update_settings(space=space, by=admin, data={"day_price": "1250.5", "hour_price": ""})
    assert AuditEntry.objects.filter(action="space.booking_settings_changed").count() == 1


def test_no_change_to_a_space_without_settings_creates_no_row(admin, room):  # type: ignore[no-untyped-def]
    row = services.update_settings(space=room, by=admin, data={"auto_accept": True, "slot_minutes": 30})
    assert row.pk is None and not SpaceBooking.objects.exists()
    assert not AuditEntry.objects.filter(action="space.booking_settings_changed").exists()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("hour_price", Decimal("-1"), "invalid"),
        ("hour_price", "12.345", "invalid"),
        ("half_day_price", 12.5, "invalid"),  # a float: money never is one
        ("day_price", "douze", "invalid"),
        ("day_price", "NaN", "invalid"),
        ("day_price", Decimal("1E+20"), "out_of_range"),
        ("credits_per_hour", None, "required"),
        ("credits_per_hour", "-0.5", "invalid"),
        ("vat_rate", "7", "invalid"),
        ("vat_rate", None, "invalid"),
        ("request_hours", 0, "out_of_range"),
        ("request_hours", 721, "out_of_range"),
        ("request_hours", True, "invalid"),
        ("cancellation_hours", -1, "out_of_range"),
        ("cancellation_hours", 721, "out_of_range"),
        ("slot_minutes", 4, "out_of_range"),
        ("slot_minutes", 241, "out_of_range"),
        ("slot_minutes", "30.5", "invalid"),
        ("color", "red", "invalid"),
        ("color", "#12345g", "invalid"),
        ("color", 2563, "invalid"),
        ("auto_accept", "yes", "invalid"),
        ("prepayment", None, "invalid"),
        ("space", 1, "unknown_field"),
        ("organization", 1, "unknown_field"),
    ],
)
def test_bad_values_are_refused_at_their_field_and_change_nothing(admin, priced, field, value, code):  # type: ignore[no-untyped-def]
    before = settings_state()
    with pytest.raises(ValidationFailed) as refused:
        services.update_settings(space=priced.space, by=admin, data={"hour_price": "45", field: value})
    assert refused.value.code == code and list(refused.value.fields) == [field], refused.value.fields
    assert settings_state() == before
    assert not AuditEntry.objects.filter(action="space.booking_settings_changed").exists()


def test_every_bad_field_is_named_at_once(admin, room):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        services.update_settings(space=room, by=admin, data={"hour_price": "-1", "color": "bleu", "slot_minutes": 1})
    assert set(refused.value.fields) == {"hour_price", "color", "slot_minutes"}
    assert not SpaceBooking.objects.exists()


def test_the_right_is_catalog_change_space(staff_of, priced):  # type: ignore[no-untyped-def]
    before = settings_state()
    with pytest.raises(RightsError):
        services.update_settings(space=priced.space, by=staff_of("reception"), data={"hour_price": "1"})
    with pytest.raises(RightsError):
        services.update_settings(space=priced.space, by=None, data={"hour_price": "1"})
    assert settings_state() == before
    manager = staff_of("manager")
    assert services.update_settings(space=priced.space, by=manager, data={"hour_price": "1"}).hour_price == 1


def test_a_staff_member_limited_to_other_centers_may_not_change_it(org, staff_of, priced):  # type: ignore[no-untyped-def]
    from comptoir.core.models import StaffMembership

    manager = staff_of("manager")
    StaffMembership.objects.get(user=manager).centers.set([CenterFactory(organization=org)])
    rights.forget(manager)
    with pytest.raises(ValidationFailed):
        services.update_settings(space=priced.space, by=manager, data={"hour_price": "1"})
    priced.refresh_from_db()
    assert priced.hour_price == Decimal("30.00")
    assert list(services.settings_rows_for(manager, org)) == []


def test_the_settings_drive_the_bookings(admin, room):  # type: ignore[no-untyped-def]
    services.update_settings(space=room, by=admin, data={"auto_accept": False, "cancellation_hours": 48})
    options = availability.settings_of(Space.objects.get(pk=room.pk))
    assert (options.auto_accept, options.cancellation_hours) == (False, 48)


# --------------------------------------------------------------------------------------------------
# Back office
# --------------------------------------------------------------------------------------------------
def results(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode().split('id="list-results"', 1)[1]


def test_the_list_shows_the_bookable_spaces_with_french_prices(org, center, admin, staff_client, room, priced):  # type: ignore[no-untyped-def]
    SpaceFactory(organization=org, center=center, name="Bureau 12", kind=Space.Kind.PRIVATE_OFFICE, area_m2=12)
    RoomFactory(organization=org, center=center, name="Salle fermée", is_bookable=False)
    page = results(staff_client(admin).get(reverse("bookings:space_list")))

    assert "Salle Eiffel" in page and "Salle Louvre" in page
    assert "Bureau 12" not in page and "Salle fermée" not in page
    assert f"30,00{NBSP}€" in page and f"100,00{NBSP}€" in page and f"1{NNBSP}250,50{NBSP}€" in page
    assert "2,50" in page  # credits per hour
    louvre = page.split("Salle Louvre", 1)[1].split("</tr>", 1)[0]
    assert louvre.count(">Non<") == 1 and louvre.count(">Oui<") == 1  # on request, paid at booking
    assert reverse("bookings:space_settings", args=[room.pk]) in page
    export = b"".join(staff_client(admin).get(reverse("bookings:space_list"), {"export": "csv"}).streaming_content)
    assert "Salle Louvre;Paris Opéra;Salle de réunion;8;30,00;100,00;1250,50;Non;Oui;2,50" in export.decode()


def test_the_list_filters_by_center_and_kind(org, center, admin, staff_client, room):  # type: ignore[no-untyped-def]
    lyon = CenterFactory(organization=org, name="Lyon")
    CoworkingFactory(organization=org, center=lyon, name="Plateau Lyon")
    web = staff_client(admin)

    by_center = results(web.get(reverse("bookings:space_list"), {"center": lyon.pk}))
    assert "Plateau Lyon" in by_center and "Salle Eiffel" not in by_center
    by_kind = results(web.get(reverse("bookings:space_list"), {"kind": Space.Kind.MEETING_ROOM}))
    assert "Salle Eiffel" in by_kind and "Plateau Lyon" not in by_kind
    assert web.get(reverse("bookings:space_list"), {"kind": "parking", "center": "x"}).status_code == 200


def test_the_list_query_count_is_pinned(org, center, admin, staff_client):  # type: ignore[no-untyped-def]
    web = staff_client(admin)

    def make(count: int, with_settings: bool) -> None:
        for _ in range(count):
            space = RoomFactory(organization=org, center=CenterFactory(organization=org))
            if with_settings:
                SpaceBookingFactory(space=space)

    make(1, True)
    web.get(reverse("bookings:space_list"))
    with CaptureQueriesContext(connection) as one:
        web.get(reverse("bookings:space_list"))
    make(15, True)
    make(14, False)
    with CaptureQueriesContext(connection) as thirty:
        page = web.get(reverse("bookings:space_list"))
    assert page.content.decode().count(f"30,00{NBSP}€") == 16
    # session, user, organization, membership, staff centers, count, rows, menu, the center filter's choices
    assert len(one) == len(thirty) == 9


def test_the_form_shows_the_defaults_grouped(admin, staff_client, room):  # type: ignore[no-untyped-def]
    page = staff_client(admin).get(reverse("bookings:space_settings", args=[room.pk])).content.decode()
    for legend in ("Tarifs", "Demandes", "Annulation", "Crédits", "Affichage"):
        assert f"<legend>{legend}</legend>" in page
    assert "Paramètres de réservation" in page and "paramètres par défaut" in page
    assert 'value="#2563eb"' in page and 'name="request_hours" value="24"' in page


def form_data(**changes):  # type: ignore[no-untyped-def]
    data = {"hour_price": "35,50", "half_day_price": "", "day_price": "200", "vat_rate": "20.00", "auto_accept": "",
            "request_hours": "12", "prepayment": "on", "slot_minutes": "15", "cancellation_hours": "2",
            "credits_per_hour": "1,5", "color": "#16a34a"}  # fmt: skip
    data.update(changes)
    return data


def test_save_the_settings(admin, staff_client, room):  # type: ignore[no-untyped-def]
    web = staff_client(admin)
    response = web.post(reverse("bookings:space_settings", args=[room.pk]), form_data(), follow=True)

    assert response.redirect_chain[-1][0] == reverse("bookings:space_list")
    assert "Les paramètres de réservation de « Salle Eiffel » sont enregistrés." in response.content.decode()
    row = SpaceBooking.objects.get(space=room)
    assert (row.hour_price, row.half_day_price, row.day_price, row.credits_per_hour) == (
        Decimal("35.50"), None, Decimal("200.00"), Decimal("1.50"))  # fmt: skip
    assert (row.auto_accept, row.prepayment, row.request_hours, row.slot_minutes, row.cancellation_hours) == (
        False, True, 12, 15, 2)  # fmt: skip
    again = web.post(reverse("bookings:space_settings", args=[room.pk]), form_data(), follow=True)
    assert "Aucune modification." in again.content.decode()
    assert AuditEntry.objects.filter(action="space.booking_settings_changed").count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hour_price": "-5"}, "hour_price", "Indiquez un montant positif ou nul"),
        ({"day_price": "12,345"}, "day_price", "2 chiffres après la virgule"),
        ({"color": "rouge"}, "color", "#rrggbb"),
        ({"slot_minutes": "241"}, "slot_minutes", "entre 5 et 240"),
        ({"request_hours": "0"}, "request_hours", "entre 1 et 720"),
        ({"vat_rate": "7.00"}, "vat_rate", "Sélectionnez un choix valide"),
        ({"credits_per_hour": ""}, "credits_per_hour", "obligatoire"),
    ],
)
def test_bad_input_is_shown_at_the_field_and_changes_nothing(admin, staff_client, priced, changes, field, message):  # type: ignore[no-untyped-def]
    before = settings_state()
    response = staff_client(admin).post(reverse("bookings:space_settings", args=[priced.space_id]),
                                        form_data(**changes))  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html.split(f'id="field-{field}"', 1)[1].split('class="field ', 1)[0], html
    assert settings_state() == before
    assert not AuditEntry.objects.filter(action="space.booking_settings_changed").exists()


def test_rights_and_menu(org, staff_of, staff_client, room):  # type: ignore[no-untyped-def]
    reception = staff_client(staff_of("reception"))
    page = reception.get(reverse("bookings:space_list")).content.decode()
    assert "Espaces réservables" in page and "Salle Eiffel" in page
    assert reverse("bookings:space_settings", args=[room.pk]) not in page  # no right to change: no link
    assert reception.get(reverse("bookings:space_settings", args=[room.pk])).status_code == 403
    assert reception.post(reverse("bookings:space_settings", args=[room.pk]), form_data()).status_code == 403
    assert not SpaceBooking.objects.exists()

    role(org, "reception").permissions.clear()
    assert reception.get(reverse("bookings:space_list")).status_code == 403
    manager = staff_client(staff_of("manager"))
    assert reverse("bookings:space_list") in manager.get(reverse("bookings:list")).content.decode()


def test_another_organizations_space_answers_404(org, other_org, other_center, admin, staff_client, center):  # type: ignore[no-untyped-def]
    foreign = SpaceBookingFactory(space=RoomFactory(organization=other_org, center=other_center))
    not_bookable = SpaceFactory(organization=org, center=center, kind=Space.Kind.MAILBOX)
    web = staff_client(admin)
    for space_id in (foreign.space_id, not_bookable.pk, 999_999):
        url = reverse("bookings:space_settings", args=[space_id])
        assert web.get(url).status_code == 404 and web.post(url, form_data()).status_code == 404
    foreign.refresh_from_db()
    assert foreign.hour_price == Decimal("30.00") and SpaceBooking.objects.count() == 1
    assert "Salle" not in results(web.get(reverse("bookings:space_list")))


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------
def test_api_list_and_detail(org, center, admin, api_client, room, priced):  # type: ignore[no-untyped-def]
    lyon = CenterFactory(organization=org, name="Lyon")
    elsewhere = CoworkingFactory(organization=org, center=lyon)
    api = api_client(admin)

    listed = api.get(f"{API}/").json()["results"]
    assert [item["space"] for item in listed] == sorted([room.pk, priced.space_id, elsewhere.pk])
    assert [item["space"] for item in api.get(f"{API}/", {"center": lyon.pk}).json()["results"]] == [elsewhere.pk]
    assert api.get(f"{API}/", {"kind": "coworking_area"}).json()["results"][0]["space"] == elsewhere.pk
    error_of(api.get(f"{API}/", {"center": "x"}), 400)

    own = api.get(f"{API}/{priced.space_id}/").json()
    assert own == {
        "space": priced.space_id, "space_name": "Salle Louvre", "center": center.pk, "kind": "meeting_room",
        "capacity": 8, "uses_defaults": False, "auto_accept": False, "request_hours": 24, "prepayment": True,
        "cancellation_hours": 24, "hour_price": "30.00", "half_day_price": "100.00", "day_price": "1250.50",
        "vat_rate": "20.00", "credits_per_hour": "2.50", "slot_minutes": 30, "color": "#2563eb",
    }  # fmt: skip
    defaults = api.get(f"{API}/{room.pk}/").json()
    assert (defaults["uses_defaults"], defaults["hour_price"], defaults["auto_accept"]) == (True, None, True)


def test_api_patch_changes_the_fields_sent(admin, api_client, room):  # type: ignore[no-untyped-def]
    api = api_client(admin)
    response = api.patch(f"{API}/{room.pk}/", {"hour_price": "42.5", "auto_accept": False, "vat_rate": "10.00",
                                               "color": "#123abc"}, format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["uses_defaults"], body["hour_price"], body["auto_accept"], body["vat_rate"], body["color"]) == (
        False, "42.50", False, "10.00", "#123abc")  # fmt: skip
    row = SpaceBooking.objects.get(space=room)
    assert (row.hour_price, row.request_hours) == (Decimal("42.50"), 24)
    assert AuditEntry.objects.get(action="space.booking_settings_changed").actor == admin
    cleared = api.patch(f"{API}/{room.pk}/", {"hour_price": None}, format="json").json()
    assert cleared["hour_price"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hour_price": "-1"}, "hour_price"),
        ({"hour_price": "1.234"}, "hour_price"),
        ({"color": "blue"}, "color"),
        ({"slot_minutes": 2}, "slot_minutes"),
        ({"request_hours": 1000}, "request_hours"),
        ({"vat_rate": "7"}, "vat_rate"),
        ({"auto_accept": "peut-être"}, "auto_accept"),
        ({"space": 3}, "space"),
        ({"credits_per_hour": None}, "credits_per_hour"),
    ],
)
def test_api_bad_field_is_400_and_changes_nothing(admin, api_client, priced, body, field):  # type: ignore[no-untyped-def]
    before = settings_state()
    error = error_of(api_client(admin).patch(f"{API}/{priced.space_id}/", body, format="json"), 400)
    assert list(error["fields"]) == [field], error
    assert settings_state() == before


def test_api_rights(org, staff_of, api_client, priced):  # type: ignore[no-untyped-def]
    reception = api_client(staff_of("reception"))
    assert reception.get(f"{API}/{priced.space_id}/").status_code == 200
    error_of(reception.patch(f"{API}/{priced.space_id}/", {"hour_price": "1"}, format="json"), 403, "forbidden")
    role(org, "reception").permissions.clear()
    error_of(reception.get(f"{API}/"), 403, "forbidden")
    technician = api_client(staff_of("technician"))  # catalog.change_space
    assert technician.patch(f"{API}/{priced.space_id}/", {"hour_price": "1"}, format="json").status_code == 200


def test_api_another_organizations_space_is_404_and_unchanged(other_org, other_center, admin, api_client):  # type: ignore[no-untyped-def]
    foreign = SpaceBookingFactory(space=RoomFactory(organization=other_org, center=other_center))
    api = api_client(admin)
    error_of(api.get(f"{API}/{foreign.space_id}/"), 404, "not_found")
    error_of(api.patch(f"{API}/{foreign.space_id}/", {"hour_price": "1"}, format="json"), 404, "not_found")
    foreign.refresh_from_db()
    assert foreign.hour_price == Decimal("30.00")
    assert api.get(f"{API}/").json()["results"] == []


def test_the_tenancy_walker_covers_these_routes(org, other_org, admin, staff_client, api_client):  # type: ignore[no-untyped-def]
    testing._autodiscover()
    foreign = {key: testing._factories[key](other_org) for key in ("space", "spacebooking")}
    before = settings_state()
    result = testing.walk(own_organization=org, foreign_organization=other_org, web_client=staff_client(admin),
                          api_client=api_client(admin), namespaces=["bookings"], foreign_objects=foreign,
                          api_prefixes=["booking-settings"])  # fmt: skip

    mine = [line for line in result.checked if line.startswith(("api:spacebooking-", "bookings:space_settings"))]
    assert len(mine) == 2, result.checked
    assert not [line for line in result.failures if line.startswith(("api:spacebooking-", "bookings:space_"))]
    assert settings_state() == before
