"""Issue 7 — paid up front, in French, in the real browser, on the demo data.

Desk « pré-paiement »: a manager of the demo's portal company books, in « Réservations », a meeting room whose
space asks for « paiement à la réservation »: the confirmation page says so, « Réserver et payer » sends them to the
payment page; back in « Réservations » the booking is « En attente de paiement » with « Payer »; they pay with the
offline provider's card form and the booking is « Confirmée ».

Desk « pack acheté en ligne, pour bénéficier instantanément des crédits »: in « Formules » they read their credits
balance, « Acheter » the demo's pack, pay it the same way, and the balance grows by the pack's credits.

The demo has no prepaid room and its portal member is an administrator: the test adds, through the models in a
`comptoir shell` on the server's database, a copy of a meeting room with « paiement à la réservation » and a manager
member with a password (nothing else of the demo changes).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from comptoir.crm.demo import PORTAL_COMPANY_NAME
from tests.browser.conftest import ROOT, Server
from tests.browser.test_bookings_walkthrough import center_zone, credits_of, weekday_on_or_after
from tests.browser.test_crm_walkthrough import portal_login
from tests.browser.test_sales_walkthrough import Step, amount, click_and_wait, database, query

pytestmark = pytest.mark.browser

# The server runs without DEBUG, where the manual provider's offline card form is off unless this says otherwise
# (as in test_payments_walkthrough); set at import, before the session's server starts.
os.environ.setdefault("PAYMENTS_OFFLINE_CHECKOUT", "1")

PAY_PATH = re.compile(r"^/portal/pay/([^/]+)/$")
ROOM_NAME = "Salle Prépayée (navigateur)"
MANAGER_PASSWORD = "Parcours-Gerant-2026!"
PACK = "Pack 20 heures de salle"

# Run by `comptoir shell` on the server's database: a prepaid copy of an auto-accept meeting room of the portal
# company's center, and a manager of that company with an activated portal account. Prints what the test needs.
SETUP = """
import json
from comptoir.bookings.models import SpaceBooking
from comptoir.catalog.models import Space
from comptoir.core import services as core_services
from comptoir.core.models import Center, Organization, User
from comptoir.crm import services
from comptoir.crm.models import Company, Contact

organization = Organization.objects.get(slug=SLUG)
staff = User.objects.get(email__iexact=STAFF)
company = Company.objects.filter(organization=organization, name=COMPANY).order_by("pk").first()
center_id = company.center_id or Center.objects.filter(organization=organization, is_active=True).order_by(
    "name", "pk").first().pk
room = Space.objects.filter(name=ROOM).first()
if room is None:
    settings = SpaceBooking.objects.filter(space__center_id=center_id, space__kind="meeting_room", auto_accept=True,
                                           space__is_active=True, space__is_bookable=True).order_by("space__name").first()
    room = Space.objects.get(pk=settings.space_id)
    room.pk = room.id = None
    room.name, room.shape = ROOM, None
    room.save()
    settings.pk = settings.id = None
    settings.space, settings.prepayment, settings.auto_accept = room, True, True
    settings.save()
user = User.objects.filter(email__iexact=EMAIL).first()
if user is None:
    user = User.objects.create_user(email=EMAIL, first_name="Gaspard", last_name="Morel")
    core_services.activate_account(user=user, password=PASSWORD)
contact = Contact.objects.filter(company=company, email__iexact=EMAIL).first()
if contact is None:
    contact = services.add_contact(company=company, by=staff, data={
        "first_name": "Gaspard", "last_name": "Morel", "email": EMAIL, "company_role": "manager"})
if contact.user_id != user.pk or not contact.has_portal_access:
    services.activate_contact_account(contact=contact, by=staff)
print(json.dumps({"room": room.pk, "center": room.center_id, "contact": contact.pk}))
"""


def comptoir_shell(server: Server, code: str) -> str:
    var_dir = server.log.parent
    env = {
        **{name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL", "HTTPS"}},
        "COMPTOIR_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{database(server)}",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        "TASK_BACKEND": "immediate",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    result = subprocess.run([sys.executable, "-m", "comptoir", "shell", "--no-imports", "-c", code], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"`comptoir shell` failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return result.stdout


@pytest.fixture
def setup(server: Server) -> dict[str, object]:
    email = f"gerant@{server.workspace}.comptoir.test"
    values = {"SLUG": server.workspace, "STAFF": server.email, "COMPANY": PORTAL_COMPANY_NAME, "ROOM": ROOM_NAME,
              "EMAIL": email, "PASSWORD": MANAGER_PASSWORD}  # fmt: skip
    code = "".join(f"{name} = {value!r}\n" for name, value in values.items()) + SETUP
    printed = json.loads(comptoir_shell(server, code).strip().splitlines()[-1])
    return {**printed, "email": email}


def pay_by_card(page, server: Server, expected: Decimal) -> str:  # type: ignore[no-untyped-def]
    """On the payer's page: the amount, « Payer par carte », the offline form's confirmation → « Paiement reçu »."""
    from playwright.sync_api import expect

    token = PAY_PATH.match(urlsplit(page.url).path)
    assert token, page.url
    expect(page.get_by_role("heading", name="Paiement de facture", level=1)).to_be_visible()
    assert amount(page.locator("#amount").inner_text()) == expected
    click_and_wait(page, page.get_by_role("button", name="Payer par carte"))
    assert urlsplit(page.url).path == f"/portal/pay/{token[1]}/offline/", page.url
    expect(page.get_by_text("mode hors ligne")).to_be_visible()
    click_and_wait(page, page.get_by_role("button", name=re.compile(r"^Confirmer le paiement de ")))
    assert urlsplit(page.url).path == f"/portal/pay/{token[1]}/done/", page.url
    expect(page.get_by_role("heading", name="Paiement reçu", level=1)).to_be_visible()
    return token[1]


def test_a_manager_books_a_prepaid_room_pays_it_then_buys_a_pack(page, server: Server, setup):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    room_id, center_id = setup["room"], setup["center"]
    tz = center_zone(server, center_id)
    day = weekday_on_or_after(datetime.datetime.now(tz).date() + datetime.timedelta(days=3))
    invoices_before = query(server, "SELECT COUNT(*) FROM billing_invoice")[0][0]

    with Step(server, "portal: the manager signs in, « Réservations » → « Réserver un espace », the prepaid room"):
        portal_login(page, server, setup["email"], MANAGER_PASSWORD)
        click_and_wait(page, page.locator("aside").get_by_role("link", name="Réservations"))
        click_and_wait(page, page.locator("main").get_by_role("link", name="Réserver un espace"))
        page.locator("#id_kind").select_option("meeting_room")
        if page.locator("#id_center").count():
            page.locator("#id_center").select_option(str(center_id))
        page.fill("#id_day", day.isoformat())
        click_and_wait(page, page.get_by_role("button", name="Voir les créneaux libres"))
        section = page.locator(f"main section[data-space='{room_id}']")
        expect(section.locator("h3")).to_have_text(ROOM_NAME)
        slot = section.locator("a").first
        start = slot.inner_text().strip()
        assert re.fullmatch(r"\d{2}:\d{2}", start), start

    with Step(server, "portal: « Paiement à la réservation » said before confirming, « Réserver et payer »"):
        click_and_wait(page, slot)
        expect(page.get_by_role("heading", name=ROOM_NAME, level=1)).to_be_visible()
        page.check("#pay_invoice")
        notice = page.locator("[data-testid=prepayment-notice]")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Paiement à la réservation : vous réglez par carte à l'étape suivante")
        expect(notice).to_contain_text("30 minutes")
        price = amount(page.locator("[data-testid=booking-price]").inner_text().split("HT")[0])
        click_and_wait(page, page.get_by_role("button", name="Réserver et payer"))
        assert PAY_PATH.match(urlsplit(page.url).path), page.url
        starts_at = datetime.datetime.combine(day, datetime.time.fromisoformat(start), tzinfo=tz)
        made = query(server, "SELECT id, status, payment FROM bookings_booking WHERE space_id = ? AND starts_at = ?",
                     room_id, starts_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"))  # fmt: skip
        assert [(status, payment) for _id, status, payment in made] == [("requested", "prepaid")], made
        booking_id = made[0][0]
        total = amount(page.locator("#amount").inner_text())
        assert total == (price * Decimal("1.2")).quantize(Decimal("0.01")), (total, price)

    with Step(server, "portal: « Réservations » shows it « En attente de paiement »; « Payer » → the payment page"):
        page.goto(f"{server.url}/portal/bookings/")
        row = page.locator(f"section[aria-labelledby=upcoming-title] tr[data-booking='{booking_id}']")
        expect(row.locator("[data-testid=booking-status]")).to_have_text("En attente de paiement")
        expect(row).to_contain_text("À régler avant")
        click_and_wait(page, row.get_by_role("button", name="Payer"))

    with Step(server, "pay page: « Payer par carte », the offline card form, « Paiement reçu »"):
        pay_by_card(page, server, total)
        assert query(server, "SELECT status FROM bookings_booking WHERE id = ?", booking_id) == [("confirmed",)]

    with Step(server, "portal: « Réservations » shows the booking « Confirmée », without « Payer »"):
        page.goto(f"{server.url}/portal/bookings/")
        row = page.locator(f"section[aria-labelledby=upcoming-title] tr[data-booking='{booking_id}']")
        expect(row.locator("[data-testid=booking-status]")).to_have_text("Confirmée")
        expect(row).to_contain_text(ROOM_NAME)
        expect(row.get_by_role("button", name="Payer")).to_have_count(0)

    with Step(server, "portal: « Formules » — the plans, the balance, the pack for sale"):
        click_and_wait(page, page.locator("aside").get_by_role("link", name="Formules"))
        expect(page.get_by_role("heading", name="Formules", level=1)).to_be_visible()
        balance = credits_of(page.locator("[data-testid=credit-balance]").first.inner_text())
        offer = page.locator("section[data-plan]").filter(has=page.get_by_role("heading", name=PACK))
        expect(offer).to_have_count(1)
        expect(offer).to_contain_text("20 crédits")
        expect(offer).to_contain_text("valables 180 jours")
        pack_price = amount(offer.locator("[data-testid=plan-price]").inner_text().replace("TTC", ""))
        assert pack_price == Decimal("720.00"), pack_price

    with Step(server, "portal: « Acheter » → the payment page; paid → « Paiement reçu »"):
        click_and_wait(page, offer.get_by_role("button", name="Acheter"))
        pay_by_card(page, server, pack_price)

    with Step(server, "portal: « Formules » shows the pack « Active » and the balance grown by its credits"):
        page.goto(f"{server.url}/portal/plans/")
        assert credits_of(page.locator("[data-testid=credit-balance]").first.inner_text()) == balance + 20
        bought = page.locator("tr[data-assignment]").filter(has_text=PACK).filter(has_text="Gaspard Morel")
        expect(bought.locator("[data-testid=plan-status]")).to_have_text("Active")
        assert query(server, "SELECT COUNT(*) FROM billing_invoice")[0][0] == invoices_before + 2
