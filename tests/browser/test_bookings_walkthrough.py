"""Issue 7 — bookings, in French, in the real browser, on the demo data.

Frontmanager §8: a staff administrator opens Gestion → « Planning des services », shows a center on a day with a
booking (spaces as rows), clicks a free cell of a meeting room: « Créer une réservation » opens prefilled. §9: the
booking for a company (title, times) lands on its page « Confirmée » and shows in the planning; the same slot again
is refused at the start field (« déjà réservé ») and creates nothing.

Desk: the requests waiting for the staff (« À traiter »), one confirmed, one declined with a reason; « Bloquer des
créneaux » on a room with a reason, the planning shows it blocked, « Débloquer » frees it.

« Espace client » §3: the demo portal member opens « Réservations », reads their credits, searches a day, picks a
free slot of a meeting room, pays it in credits, sees it « À venir », cancels it before the deadline and gets the
credits back.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from comptoir.bookings.demo import ON_REQUEST_ROOM
from comptoir.crm.demo import PORTAL_COMPANY_NAME, PORTAL_MEMBER_LOCAL_PART
from tests.browser.conftest import Server
from tests.browser.test_billing_walkthrough import login
from tests.browser.test_crm_walkthrough import portal_login
from tests.browser.test_sales_walkthrough import Step, click_and_wait, open_menu, query

pytestmark = pytest.mark.browser
ACCEPT_DIALOGS = True  # the shared `page` fixture (conftest) accepts the confirmation dialogs

BOOKING_PATH = re.compile(r"^/manage/bookings/(\d+)/$")
CREDITS = re.compile(r"(-?[\d\s\u00a0\u202f]+(?:,\d+)?)\s*crédits")
BLOCK_REASON = "Test navigateur : réparation du vidéoprojecteur"
DECLINE_REASON = "Salle retenue pour une formation interne"


# --------------------------------------------------------------------------------------------------
# The demo's data, read from the server's database
# --------------------------------------------------------------------------------------------------
def utc_text(moment: datetime.datetime) -> str:
    """An instant as SQLite stores Django's datetimes (UTC, « YYYY-MM-DD HH:MM:SS »)."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "")[:19]).replace(tzinfo=datetime.UTC)


def center_zone(server: Server, center_id: int) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(query(server, "SELECT timezone FROM core_center WHERE id = ?", center_id)[0][0])


def auto_accept_rooms(server: Server, center_id: int) -> list[tuple[int, str]]:
    """The meeting rooms of a center booked at once (not the one on request), by name."""
    return query(server, """
        SELECT s.id, s.name FROM catalog_space s JOIN bookings_spacebooking b ON b.space_id = s.id
        WHERE s.center_id = ? AND s.kind = 'meeting_room' AND s.is_active AND s.is_bookable AND b.auto_accept
        AND s.name <> ? ORDER BY s.name, s.id""", center_id, ON_REQUEST_ROOM)  # fmt: skip


def a_day_with_a_booking(server: Server) -> tuple[int, int, int, datetime.date]:
    """(center, space, booking, local day) of a confirmed booking a few days ahead, in a center with a meeting
    room booked at once."""
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)
    rows = query(server, """
        SELECT b.center_id, b.space_id, b.id, b.starts_at FROM bookings_booking b
        WHERE b.status = 'confirmed' AND b.starts_at > ? ORDER BY b.starts_at, b.id""", utc_text(soon))  # fmt: skip
    for center_id, space_id, booking_id, starts_at in rows:
        if auto_accept_rooms(server, center_id):
            day = parse_utc(starts_at).astimezone(center_zone(server, center_id)).date()
            return center_id, space_id, booking_id, day
    pytest.fail("the demo has no confirmed booking ahead in a center with a meeting room", pytrace=False)


def a_client_company(server: Server) -> str:
    rows = query(server, """
        SELECT name FROM crm_company WHERE kind = 'client' AND NOT is_archived AND name <> ?
        ORDER BY name, id LIMIT 1""", PORTAL_COMPANY_NAME)  # fmt: skip
    assert rows, "the demo has no client company"
    return rows[0][0]


def bookings_of(server: Server, space_id: int, starts_at: datetime.datetime) -> list[tuple]:  # type: ignore[type-arg]
    return query(server, "SELECT id, status FROM bookings_booking WHERE space_id = ? AND starts_at = ?", space_id,
                 utc_text(starts_at))  # fmt: skip


def weekday_on_or_after(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def credits_of(text: str) -> Decimal:
    """« 12,5 crédits disponibles » → Decimal("12.5")."""
    found = CREDITS.search(text)
    assert found, f"no credits in {text!r}"
    return Decimal(re.sub(r"[\s\u00a0\u202f]", "", found[1]).replace(",", "."))


# --------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------
def show_planning(page, center_id: int, day: datetime.date) -> None:  # type: ignore[no-untyped-def]
    """The planning's filters: the center, the day, « Jour », « Afficher »."""
    filters = page.locator("form.planning-filters")
    filters.locator("select[name=center]").select_option(str(center_id))
    filters.locator("input[name=date]").fill(day.isoformat())
    filters.locator("select[name=view]").select_option("day")
    click_and_wait(page, filters.get_by_role("button", name="Afficher"))


def planning_row(page, space_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f".planning-day-view .planning-row[data-space='{space_id}']")


def free_cell_starting(row, start: str):  # type: ignore[no-untyped-def]
    return row.locator(f"a.planning-cell.planning-free[href*='start={start.replace(':', '%3A')}']")


def test_staff_plans_books_a_room_and_hits_the_double_booking_error(page, server: Server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    center_id, booked_space, booking_id, day = a_day_with_a_booking(server)
    room_id, room_name = auto_accept_rooms(server, center_id)[0]
    company = a_client_company(server)
    tz = center_zone(server, center_id)

    with Step(server, "back-office login"):
        login(page, server)

    with Step(server, "§8 Gestion → Planning des services: a center on a day, spaces as rows, a booking"):
        open_menu(page, "Gestion", "Planning des services")
        expect(page.get_by_role("heading", name="Planning des services", level=1)).to_be_visible()
        show_planning(page, center_id, day)
        query_string = parse_qs(urlsplit(page.url).query)
        assert query_string.get("center") == [str(center_id)] and query_string.get("date") == [day.isoformat()]
        rows = page.locator(".planning-day-view .planning-row[data-space]")
        expect(rows.first).to_be_visible()
        assert rows.count() >= 2, rows.count()
        expect(planning_row(page, room_id).locator(".planning-name")).to_contain_text(room_name)
        bar = planning_row(page, booked_space).locator(f"a.planning-bar[href='/manage/bookings/{booking_id}/']")
        expect(bar).to_be_visible()
        expect(bar).to_have_class(re.compile(r"\bplanning-confirmed\b"))

    with Step(server, "§8 a free cell of a meeting room → « Créer une réservation » prefilled"):
        cells = planning_row(page, room_id).locator("a.planning-cell.planning-free")
        assert cells.count(), f"no free cell for {room_name} on {day}"
        cell = cells.nth(cells.count() // 2)
        cell_url = cell.get_attribute("href")
        prefill = {name: values[0] for name, values in parse_qs(urlsplit(cell_url).query).items()}
        assert prefill["space"] == str(room_id) and prefill["date"] == day.isoformat(), prefill
        click_and_wait(page, cell)
        expect(page.get_by_role("heading", name="Créer une réservation", level=1)).to_be_visible()
        form = page.locator("#booking-form")
        expect(form.locator("select[name=space]")).to_have_value(str(room_id))
        expect(form.locator("input[name=date]")).to_have_value(day.isoformat())
        expect(form.locator("input[name=start]")).to_have_value(prefill["start"])
        expect(form.locator("input[name=end]")).to_have_value(prefill["end"])
        expect(page.locator("#free-ranges")).to_contain_text(room_name)
        starts_at = datetime.datetime.combine(day, datetime.time.fromisoformat(prefill["start"]), tzinfo=tz)
        assert bookings_of(server, room_id, starts_at) == []

    def fill_booking(title: str) -> None:
        form = page.locator("#booking-form")
        with page.expect_response(lambda response: urlsplit(response.url).path == "/manage/bookings/new/"
                                  and response.request.method == "GET"):  # fmt: skip
            form.locator("select[name=company]").select_option(label=company)
        form = page.locator("#booking-form")  # swapped by HTMX with the company's members and contracts
        expect(form.locator("select[name=company] option:checked")).to_have_text(company)
        expect(form.locator("input[name=start]")).to_have_value(prefill["start"])
        form.locator("select[name=payment]").select_option("invoice")
        form.locator("input[name=title]").fill(title)

    with Step(server, "§9 the booking for a company: title, times, « Créer la réservation » → « Confirmée »"):
        fill_booking("Comité de pilotage (navigateur)")
        click_and_wait(page, page.locator("#booking-form").get_by_role("button", name="Créer la réservation"))
        created = BOOKING_PATH.match(urlsplit(page.url).path)
        assert created, page.url
        new_id = int(created[1])
        expect(page.locator("#booking-status")).to_have_text("Confirmée")
        expect(page.locator(".alert-success")).to_contain_text("est enregistrée")
        expect(page.locator("#booking-hours")).to_have_text(f"{prefill['start']}–{prefill['end']}")
        expect(page.locator("#booking-day")).to_have_text(day.strftime("%d/%m/%Y"))
        assert bookings_of(server, room_id, starts_at) == [(new_id, "confirmed")]

    with Step(server, "§8 the new booking shows in the planning"):
        page.goto(f"{server.url}/manage/bookings/planning/?center={center_id}&date={day.isoformat()}&view=day")
        bar = planning_row(page, room_id).locator(f"a.planning-bar[href='/manage/bookings/{new_id}/']")
        expect(bar).to_be_visible()
        expect(bar).to_contain_text(company)
        expect(bar).to_have_attribute("title", re.compile(re.escape(f"{prefill['start']}–{prefill['end']}")))
        expect(free_cell_starting(planning_row(page, room_id), prefill["start"])).to_have_count(0)

    with Step(server, "§9 the same slot again: « déjà réservé » at the start field, nothing created"):
        count = query(server, "SELECT COUNT(*) FROM bookings_booking")[0][0]
        page.goto(f"{server.url}{cell_url}")
        fill_booking("Réservation en double")
        with page.expect_navigation():
            page.locator("#booking-form").get_by_role("button", name="Créer la réservation").click()
        assert urlsplit(page.url).path == "/manage/bookings/new/", page.url
        expect(page.locator("#field-start .invalid-feedback")).to_contain_text("déjà réservé")
        expect(page.locator("#booking-form input[name=title]")).to_have_value("Réservation en double")
        assert query(server, "SELECT COUNT(*) FROM bookings_booking")[0][0] == count
        assert bookings_of(server, room_id, starts_at) == [(new_id, "confirmed")]


def test_desk_answers_requests_and_blocks_then_unblocks_a_room(page, server: Server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with Step(server, "back-office login"):
        login(page, server)

    def open_request(position: int) -> int:
        open_menu(page, "Gestion", "Réservations")
        with page.expect_response(lambda response: "to_process=" in response.url):
            page.locator("#list-filters input[name=to_process]").check()
        rows = page.locator("main table.list-table tbody tr")
        expect(rows.first).to_be_visible()
        statuses = [text.strip() for text in rows.locator("td .badge").all_inner_texts()]
        assert statuses and set(statuses) == {"Demandée"}, statuses
        assert rows.count() > position, f"{rows.count()} request(s) waiting"
        click_and_wait(page, rows.nth(position).get_by_role("link").first)
        opened = BOOKING_PATH.match(urlsplit(page.url).path)
        assert opened, page.url
        expect(page.locator("#booking-status")).to_have_text("Demandée")
        return int(opened[1])

    with Step(server, "desk: « À traiter » lists the requests; « Confirmer » one"):
        confirmed = open_request(0)
        click_and_wait(page, page.locator("main").get_by_role("button", name="Confirmer"))
        assert BOOKING_PATH.match(urlsplit(page.url).path)[1] == str(confirmed), page.url
        expect(page.locator(".alert-success")).to_contain_text("La réservation est confirmée.")
        expect(page.locator("#booking-status")).to_have_text("Confirmée")
        assert query(server, "SELECT status FROM bookings_booking WHERE id = ?", confirmed) == [("confirmed",)]

    with Step(server, "desk: « Décliner » another, with a reason"):
        declined = open_request(0)
        assert declined != confirmed
        click_and_wait(page, page.locator("main").get_by_role("link", name="Décliner"))
        expect(page.get_by_role("heading", name="Décliner la demande")).to_be_visible()
        page.fill("input[name=reason]", DECLINE_REASON)
        click_and_wait(page, page.locator("main form").get_by_role("button", name="Décliner"))
        assert BOOKING_PATH.match(urlsplit(page.url).path)[1] == str(declined), page.url
        expect(page.locator(".alert-success")).to_contain_text("La demande est déclinée")
        expect(page.locator("#booking-status")).to_have_text("Déclinée")
        expect(page.locator("main")).to_contain_text(DECLINE_REASON)
        assert query(server, "SELECT status, reason FROM bookings_booking WHERE id = ?", declined) == [
            ("declined", DECLINE_REASON)
        ]

    # A room and a day beyond the demo's month of bookings: the whole morning free.
    center_id, _space, _booking, _day = a_day_with_a_booking(server)
    room_id, room_name = auto_accept_rooms(server, center_id)[-1]
    center_name = query(server, "SELECT name FROM core_center WHERE id = ?", center_id)[0][0]
    day = weekday_on_or_after(datetime.date.today() + datetime.timedelta(days=45))

    with Step(server, "desk: Gestion → Créneaux bloqués → « Bloquer des créneaux » on a room, with a reason"):
        open_menu(page, "Gestion", "Créneaux bloqués")
        click_and_wait(page, page.locator("main").get_by_role("link", name="Bloquer des créneaux"))
        expect(page.get_by_role("heading", name="Bloquer des créneaux", level=1)).to_be_visible()
        page.locator("select[name=center]").select_option(label=center_name)
        page.locator("select[name=space]").select_option(label=f"{center_name} — {room_name}")
        page.fill("input[name=date_from]", day.isoformat())
        page.fill("input[name=start]", "10:00")
        page.fill("input[name=end]", "12:00")
        page.fill("input[name=reason]", BLOCK_REASON)
        click_and_wait(page, page.locator("main form").get_by_role("button", name="Bloquer"))
        assert urlsplit(page.url).path == "/manage/bookings/blocks/", page.url
        expect(page.locator(".alert-success")).to_contain_text("1 créneau(x) bloqué(s).")
        row = page.locator("main table tbody tr").filter(has_text=BLOCK_REASON)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"{day:%d/%m/%Y} 10:00–12:00")
        expect(row).to_contain_text(room_name)

    with Step(server, "§8 the planning shows the slot blocked"):
        page.goto(f"{server.url}/manage/bookings/planning/")
        show_planning(page, center_id, day)
        room = planning_row(page, room_id)
        blocked = room.locator(".planning-bar.planning-blocked")
        expect(blocked).to_have_count(1)
        expect(blocked).to_contain_text(BLOCK_REASON)
        expect(blocked).to_have_attribute("title", re.compile("10:00–12:00"))
        for start in ("10:00", "10:30", "11:00", "11:30"):
            expect(free_cell_starting(room, start)).to_have_count(0)
        expect(free_cell_starting(room, "12:00")).to_have_count(1)

    with Step(server, "desk: « Débloquer » from the blocked slots; the planning frees the slot"):
        open_menu(page, "Gestion", "Créneaux bloqués")
        row = page.locator("main table tbody tr").filter(has_text=BLOCK_REASON)
        click_and_wait(page, row.get_by_role("button", name="Débloquer"))
        expect(page.locator(".alert-success")).to_contain_text("est débloqué")
        expect(page.locator("main table tbody tr").filter(has_text=BLOCK_REASON)).to_have_count(0)
        page.goto(f"{server.url}/manage/bookings/planning/?center={center_id}&date={day.isoformat()}&view=day")
        room = planning_row(page, room_id)
        expect(room.locator(".planning-bar.planning-blocked")).to_have_count(0)
        expect(free_cell_starting(room, "10:00")).to_have_count(1)
        assert query(server, "SELECT cancelled_at IS NOT NULL FROM bookings_blockedslot WHERE reason = ?",
                     BLOCK_REASON) == [(1,)]  # fmt: skip


def test_the_portal_member_books_a_room_in_credits_and_cancels_it(page, server: Server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    member_email = f"{PORTAL_MEMBER_LOCAL_PART}@{server.workspace}.comptoir.test"
    company_center = query(server, "SELECT center_id FROM crm_company WHERE name = ? ORDER BY id LIMIT 1",
                           PORTAL_COMPANY_NAME)[0][0]  # fmt: skip
    center_id = company_center or query(server, "SELECT id FROM core_center WHERE is_active ORDER BY name, id")[0][0]
    rooms = auto_accept_rooms(server, center_id)
    assert rooms, f"no meeting room booked at once in center {center_id}"
    tz = center_zone(server, center_id)
    day = weekday_on_or_after(datetime.datetime.now(tz).date() + datetime.timedelta(days=2))

    with Step(server, "portal: « Réservations », the credits balance"):
        portal_login(page, server, member_email, server.password)
        click_and_wait(page, page.locator("aside").get_by_role("link", name="Réservations"))
        expect(page.get_by_role("heading", name="Réservations", level=1)).to_be_visible()
        expect(page.get_by_role("heading", name="Mes crédits")).to_be_visible()
        balance = credits_of(page.locator("[data-testid=credit-balance]").first.inner_text())
        assert balance > 0, balance

    with Step(server, "portal: « Réserver un espace », a meeting room, a day → its free slots"):
        click_and_wait(page, page.locator("main").get_by_role("link", name="Réserver un espace"))
        page.locator("#id_kind").select_option("meeting_room")
        if page.locator("#id_center").count():
            page.locator("#id_center").select_option(str(center_id))
        page.fill("#id_day", day.isoformat())
        click_and_wait(page, page.get_by_role("button", name="Voir les créneaux libres"))
        expect(page.get_by_role("heading", name=re.compile(r"^Créneaux libres le "))).to_be_visible()
        expect(page.locator("main section[data-space]").first).to_be_visible()
        room = next(((pk, name) for pk, name in rooms if page.locator(f"main section[data-space='{pk}'] a").count()),
                    None)  # fmt: skip
        assert room is not None, page.locator("main").inner_text()[:1500]
        room_id, room_name = room
        section = page.locator(f"main section[data-space='{room_id}']")
        expect(section.locator("h3")).to_have_text(room_name)
        slot = section.locator("a").first
        start = slot.inner_text().strip()
        assert re.fullmatch(r"\d{2}:\d{2}", start), start

    with Step(server, "portal: the slot's price and credits, « Avec mes crédits », « Confirmer la réservation »"):
        click_and_wait(page, slot)
        expect(page.get_by_role("heading", name=room_name, level=1)).to_be_visible()
        end = page.locator("#id_end").input_value()
        cost = credits_of(page.locator("[data-testid=booking-cost]").inner_text())
        assert Decimal(0) < cost <= balance, (cost, balance)
        page.check("#pay_credits")
        click_and_wait(page, page.get_by_role("button", name="Confirmer la réservation"))
        assert urlsplit(page.url).path == "/portal/bookings/", page.url
        expect(page.locator(".alert-success")).to_contain_text("Votre réservation est confirmée.")
        starts_at = datetime.datetime.combine(day, datetime.time.fromisoformat(start), tzinfo=tz)
        made = bookings_of(server, room_id, starts_at)
        assert [status for _id, status in made] == ["confirmed"], made
        booking_id = made[0][0]

    with Step(server, "portal: « À venir » shows it, paid in credits; the balance went down"):
        upcoming = page.locator("section[aria-labelledby=upcoming-title]")
        row = upcoming.locator(f"tr[data-booking='{booking_id}']")
        expect(row).to_be_visible()
        expect(row).to_contain_text(day.strftime("%d/%m/%Y"))
        expect(row).to_contain_text(f"{start}–{end}")
        expect(row).to_contain_text(room_name)
        expect(row).to_contain_text("Confirmée")
        assert credits_of(row.locator("td").nth(4).inner_text()) == cost
        expect(row).to_contain_text("Annulable jusqu'au")
        assert credits_of(page.locator("[data-testid=credit-balance]").first.inner_text()) == balance - cost

    with Step(server, "portal: « Annuler » before the deadline → the credits come back"):
        click_and_wait(page, row.get_by_role("button", name="Annuler"))
        assert urlsplit(page.url).path == "/portal/bookings/", page.url
        expect(page.locator(".alert-success")).to_contain_text("La réservation est annulée.")
        expect(upcoming.locator(f"tr[data-booking='{booking_id}']")).to_have_count(0)
        past = page.locator(f"section[aria-labelledby=past-title] tr[data-booking='{booking_id}']")
        if past.count():  # the newest first: on the first page
            expect(past).to_contain_text("Annulée")
        assert credits_of(page.locator("[data-testid=credit-balance]").first.inner_text()) == balance
        assert query(server, "SELECT status FROM bookings_booking WHERE id = ?", booking_id) == [("cancelled",)]
