"""Issue 7 — desk's « Formules » and calendar sync, in French, in the real browser, on the demo data.

Desk « Attribuer une formule »: a staff administrator opens a client company, its « Formules et crédits » tab,
assigns the pack to the whole company; the tab shows the plan and the company's credit balance grows by the
pack's credits at once. « Synchroniser avec un agenda »: Gestion → « Abonnements calendrier » → « Créer un
abonnement » for a meeting room; the private address is shown once; read by a calendar client (plain HTTP, no
session) it answers a strict iCalendar with the room's bookings; « Révoquer » stops it (404).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from comptoir.bookings.demo import PACK
from comptoir.bookings.tests.ics_checks import strict_parse
from comptoir.crm.demo import PORTAL_COMPANY_NAME
from tests.browser.conftest import Server
from tests.browser.test_billing_walkthrough import login
from tests.browser.test_sales_walkthrough import Step, click_and_wait, open_menu, query

pytestmark = pytest.mark.browser
ACCEPT_DIALOGS = True  # the shared `page` fixture (conftest) accepts the confirmation dialogs


def _number(text: str) -> Decimal:
    return Decimal(re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".") or "0")


def test_desk_assigns_a_pack_to_a_company_and_its_credits_show_at_once(page, server: Server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    rows = query(server, """
        SELECT c.id, c.name FROM crm_company c WHERE c.kind = 'client' AND NOT c.is_archived AND c.name <> ?
        AND NOT EXISTS (SELECT 1 FROM bookings_planassignment p WHERE p.company_id = c.id)
        ORDER BY c.name, c.id LIMIT 1""", PORTAL_COMPANY_NAME)  # fmt: skip
    assert rows, "the demo has no client company without a plan"
    company_id, company_name = rows[0]
    pack_credits = Decimal(str(query(server, "SELECT credits FROM catalog_product WHERE name = ?", PACK)[0][0]))

    with Step(server, "back-office login"):
        login(page, server)

    with Step(server, "desk: the company's « Formules et crédits » tab"):
        page.goto(f"{server.url}/manage/crm/companies/{company_id}/?tab=plans")
        expect(page.locator("#company-plans")).to_be_visible()
        balance = page.locator("#company-plans [data-balance=company]")
        before = _number(balance.inner_text())

    with Step(server, "desk: « Attribuer une formule » — the pack, for the whole company"):
        page.locator("#company-plans summary", has_text="Attribuer une formule").click()
        form = page.locator("#company-plans form[action$='/plans/assign/']")
        form.locator("select[name=plan]").select_option(label=PACK)
        with page.expect_response(lambda response: response.url.endswith("/plans/assign/")):
            form.get_by_role("button", name="Attribuer").click()
        expect(page.locator("#company-plans")).to_contain_text(PACK)
        expect(page.locator("#company-plans [data-balance=company]")).not_to_have_text(str(before))
        after = _number(page.locator("#company-plans [data-balance=company]").inner_text())
        assert after == before + pack_credits, (before, after, pack_credits)
        assert query(server, """
            SELECT p.status FROM bookings_planassignment p JOIN catalog_product r ON r.id = p.plan_id
            WHERE p.company_id = ? AND r.name = ?""", company_id, PACK) == [("active",)]  # fmt: skip
    assert company_name


def test_desk_creates_a_rooms_calendar_subscription_then_revokes_it(page, server: Server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    room = query(server, """
        SELECT s.id, s.name, c.name FROM catalog_space s JOIN core_center c ON c.id = s.center_id
        WHERE s.kind = 'meeting_room' AND s.is_bookable AND s.is_active
        AND EXISTS (SELECT 1 FROM bookings_booking b WHERE b.space_id = s.id AND b.status = 'confirmed'
                    AND b.starts_at > datetime('now'))
        ORDER BY c.name, s.name LIMIT 1""")  # fmt: skip
    assert room, "the demo has no meeting room with a booking ahead"
    room_id, room_name, center_name = room[0]

    with Step(server, "back-office login"):
        login(page, server)

    with Step(server, "Gestion → « Abonnements calendrier » → « Créer un abonnement » for a room"):
        open_menu(page, "Paramètres", "Abonnements calendrier")
        click_and_wait(page, page.locator("main").get_by_role("link", name="Créer un abonnement"))
        page.get_by_label("Un espace").check()
        page.locator("select[name=space]").select_option(label=f"{center_name} — {room_name}")
        click_and_wait(page, page.locator("main form").get_by_role("button", name="Créer l'abonnement"))
        expect(page.get_by_role("heading", name="Abonnement calendrier créé")).to_be_visible()
        url = page.locator("#feed-url").input_value()
        assert url.startswith(server.url) and url.endswith(".ics"), url
        assert page.locator("#feed-webcal").get_attribute("href").startswith("webcal://")

    with Step(server, "a calendar client reads the address without a session: a strict iCalendar of the room"):
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers.get_content_type() == "text/calendar"
            body = response.read()
        calendar = strict_parse(body)
        summaries = " ".join(str(event.get("LOCATION", "")) + str(event.get("SUMMARY", ""))
                             for event in calendar.walk("VEVENT"))  # fmt: skip
        assert calendar.walk("VEVENT") and room_name in summaries

    with Step(server, "« Révoquer » stops the address at once"):
        open_menu(page, "Paramètres", "Abonnements calendrier")
        row = page.locator("main table tbody tr").filter(has_text=room_name).first
        click_and_wait(page, row.get_by_role("button", name="Révoquer"))
        expect(page.locator(".alert-success")).to_contain_text("L'abonnement est révoqué")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 404
    assert room_id
