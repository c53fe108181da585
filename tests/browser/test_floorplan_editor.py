"""The drawing page in a real browser (Chromium): pick a space, click points, drag one, close, save; the
server's errors show beside the space. Runs in the browser step of `make test` (Chromium is installed by
`scripts/setup.sh --browser`); it fails, never skips, when Chromium is missing."""

from pathlib import Path

import pytest
from django.urls import reverse

from comptoir.catalog.models import Space
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server, org, admin, staff_client, monkeypatch):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/setup.sh --browser"

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    session = staff_client(admin).cookies["sessionid"].value
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert errors == []


def test_draw_drag_save_and_see_the_errors(page, live_server, org, center):
    plan = FloorPlanFactory(organization=org, center=center, floor=1, width=1000, height=500)
    first = SpaceFactory(organization=org, center=center, floor=1, name="Bureau A")
    second = SpaceFactory(organization=org, center=center, floor=1, name="Bureau B")
    page.goto(live_server.url + reverse("catalog:floorplan_editor", args=[plan.pk]))

    page.get_by_role("button", name="Bureau A").click()
    svg = page.locator("[data-role=canvas] svg")
    box = svg.bounding_box()
    scale = box["width"] / 1000

    def at(x, y):
        return {"x": x * scale, "y": y * scale}

    for x, y in [(100, 100), (300, 100), (300, 300)]:
        svg.click(position=at(x, y))
    page.get_by_role("button", name="Terminer").click()
    handle = page.locator("circle.handle").nth(2)
    handle_box = handle.bounding_box()
    page.mouse.move(handle_box["x"] + handle_box["width"] / 2, handle_box["y"] + handle_box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 100 * scale, box["y"] + 400 * scale, steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Enregistrer").click()
    page.locator("[data-role=status][data-kind=success]").wait_for()
    page.screenshot(path="/tmp/h3/editor.png")

    first.refresh_from_db()
    assert len(first.shape) == 3
    near = lambda point, x, y: abs(point[0] - x) <= 3 and abs(point[1] - y) <= 3  # noqa: E731  (pixel rounding)
    assert near(first.shape[0], 100, 100) and near(first.shape[1], 300, 100)
    assert near(first.shape[2], 100, 400)  # dragged from (300, 300)

    page.get_by_role("button", name="Bureau B").click()
    svg.click(position=at(500, 100))
    svg.click(position=at(700, 100))
    page.get_by_role("button", name="Enregistrer").click()
    page.locator("[data-role=status][data-kind=danger]").wait_for()
    assert "Un polygone a de 3 à 200 points." in page.locator(".floorplan-space-list").inner_text()
    second.refresh_from_db()
    assert second.shape is None

    page.get_by_role("button", name="Effacer").click()
    page.get_by_role("button", name="Bureau A").click()
    page.get_by_role("button", name="Effacer").click()
    page.get_by_role("button", name="Enregistrer").click()
    page.locator("[data-role=status][data-kind=success]").wait_for()
    assert not Space.objects.filter(shape__isnull=False).exists()


def test_detail_shows_the_colored_plan(page, live_server, org, center):
    plan = FloorPlanFactory(organization=org, center=center, floor=1, width=1000, height=500)
    SpaceFactory(organization=org, center=center, floor=1, name="Bureau A", shape=[[50, 50], [400, 50], [400, 300]])
    SpaceFactory(organization=org, center=center, floor=1, name="Salle B", shape=[[500, 50], [900, 50], [900, 400],
                 [500, 400]], is_active=False)  # fmt: skip
    page.goto(live_server.url + reverse("catalog:floorplan_detail", args=[plan.pk]))
    assert page.locator(".floorplan-view svg a").count() in (0, 2)  # links once the space pages exist
    assert page.locator(".floorplan-view svg polygon").count() == 2
    assert page.locator(".floorplan-view svg .legend").is_visible()
    page.screenshot(path="/tmp/h3/detail.png")
