"""Gestion → Plans: list, create, detail (colored plan on a day), edit, the drawing page, the shapes POST,
the SVG and the background file; rights and tenancy."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.catalog import occupancy
from comptoir.catalog.models import FloorPlan
from comptoir.catalog.services import floorplans as services
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory
from comptoir.core.testing import walk
from comptoir.core.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG_FILE = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


def square(x=10, y=10, size=100):
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


@pytest.fixture
def plan(org, center):
    return FloorPlanFactory(organization=org, center=center, floor=1, name="Premier étage")


@pytest.fixture
def web(admin, staff_client):
    return staff_client(admin)


def test_list_shows_the_plans_with_their_drawn_spaces(org, center, plan, web):
    SpaceFactory(organization=org, center=center, floor=1, shape=square())
    SpaceFactory(organization=org, center=center, floor=1)
    SpaceFactory(organization=org, center=center, floor=2, shape=square())  # another floor
    html = web.get(reverse("catalog:floorplan_list")).content.decode()
    assert "Premier étage" in html and "1 / 2" in html and reverse("catalog:floorplan_create") in html


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("catalog:floorplan_list")).status_code == 200
    return len(queries)


def test_list_query_count_does_not_depend_on_the_number_of_plans(org, web):
    FloorPlanFactory(organization=org, floor=1)
    few = _list_queries(web)
    for floor in range(12):
        FloorPlanFactory(organization=org, floor=floor)
    assert _list_queries(web) == few


def test_menu_entry_in_gestion(web):
    html = web.get(reverse("catalog:floorplan_list")).content.decode()
    assert reverse("catalog:floorplan_list") in html


def test_create_with_a_background_then_go_draw(org, center, web):
    response = web.post(
        reverse("catalog:floorplan_create"),
        {"center": center.pk, "floor": 3, "name": "Troisième", "width": 1200, "height": 700,
         "background": SimpleUploadedFile("plan.png", PNG, content_type="image/png")},
    )  # fmt: skip
    plan = FloorPlan.objects.get(floor=3)
    assert response.status_code == 302 and response["Location"] == reverse("catalog:floorplan_editor", args=[plan.pk])
    assert plan.background and plan.width == 1200


def test_create_shows_the_service_errors_at_their_field(org, center, plan, web):
    response = web.post(reverse("catalog:floorplan_create"), {"center": center.pk, "floor": 1, "width": 1000,
                                                                "height": 600})  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors["floor"] == ["Ce centre a déjà un plan pour cet étage."]
    response = web.post(
        reverse("catalog:floorplan_create"),
        {"center": center.pk, "floor": 4, "width": 1000, "height": 600,
         "background": SimpleUploadedFile("plan.png", b"GIF89a...", content_type="image/png")},
    )  # fmt: skip
    assert "background" in response.context["form"].errors
    assert FloorPlan.objects.count() == 1


def test_create_offers_only_the_organizations_centers(org, center, other_center, web):
    html = web.get(reverse("catalog:floorplan_create")).content.decode()
    assert "Paris Opéra" in html and "Lyon Part-Dieu" not in html


def test_edit_changes_the_plan(plan, web):
    response = web.post(
        reverse("catalog:floorplan_edit", args=[plan.pk]),
        {"center": plan.center_id, "floor": 1, "name": "Plateau", "width": 1500, "height": 600},
    )
    plan.refresh_from_db()
    assert response.status_code == 302 and plan.name == "Plateau" and plan.width == 1500


def test_detail_colors_the_spaces_on_the_chosen_day(org, center, plan, web):
    taken = SpaceFactory(organization=org, center=center, floor=1, name="Bureau <pris>", shape=square())
    SpaceFactory(organization=org, center=center, floor=1, name="Bureau libre", shape=square(200))
    SpaceFactory(organization=org, center=center, floor=1, name="Bureau à dessiner")
    day = datetime.date(2027, 3, 1)

    def provide(space_ids, on):
        return {taken.pk: occupancy.OCCUPIED} if on == day else {}

    occupancy.register(provide)
    try:
        on_day = web.get(reverse("catalog:floorplan_detail", args=[plan.pk]), {"date": "2027-03-01"})
        other_day = web.get(reverse("catalog:floorplan_detail", args=[plan.pk]), {"date": "2027-03-02"})
    finally:
        occupancy.unregister(provide)
    html = on_day.content.decode()
    assert on_day.status_code == 200
    assert html.count("<polygon") == 2 and 'data-state="occupied"' in html and 'data-state="free"' in html
    assert "Bureau &lt;pris&gt; — Occupé" in html and "<pris>" not in html
    assert "Occupé (1)" in html and "Libre (1)" in html  # the legend
    assert "Bureau à dessiner" in html  # spaces not drawn yet
    assert 'value="2027-03-01"' in html and "01/03/2027" in html
    assert 'data-state="occupied"' not in other_day.content.decode()


def test_detail_with_a_bad_date_shows_today_and_an_error(plan, web):
    response = web.get(reverse("catalog:floorplan_detail", args=[plan.pk]), {"date": "2027-13-45\x00"})
    assert response.status_code == 200 and response.context["form"].errors


def test_detail_of_an_empty_plan(plan, web):
    html = web.get(reverse("catalog:floorplan_detail", args=[plan.pk])).content.decode()
    assert "Aucun espace n’est encore dessiné sur ce plan." in html


def test_editor_page_has_the_spaces_and_the_script(org, center, plan, web):
    space = SpaceFactory(organization=org, center=center, floor=1, name="Salle </script><b>", shape=square())
    response = web.get(reverse("catalog:floorplan_editor", args=[plan.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "floorplan-editor.js" in html
    assert "</script><b>" not in html  # json_script escapes
    data = response.context["editor"]
    assert data["saveUrl"] == reverse("catalog:floorplan_shapes", args=[plan.pk])
    assert data["spaces"] == [{"id": space.pk, "name": "Salle </script><b>", "shape": square(), "active": True}]
    for label in ("Terminer", "Effacer", "Enregistrer"):
        assert label in html


def _post_shapes(client, plan, payload, **extra):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(reverse("catalog:floorplan_shapes", args=[plan.pk]), body, content_type="application/json",
                       **extra)  # fmt: skip


def test_shapes_post_saves_the_shapes(org, center, plan, web):
    space = SpaceFactory(organization=org, center=center, floor=1)
    response = _post_shapes(web, plan, {"shapes": {str(space.pk): square()}})
    assert response.status_code == 200 and response.json()["saved"] is True and response.json()["drawn"] == 1
    space.refresh_from_db()
    assert space.shape == square()


def test_shapes_post_needs_the_csrf_token(org, center, plan, admin, client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin, backend="comptoir.core.auth.EmailBackend")
    session = csrf_client.session
    session["organization_id"] = org.pk
    session.save()
    assert _post_shapes(csrf_client, plan, {"shapes": {}}).status_code == 403


def test_shapes_post_answers_the_errors_per_space(org, center, plan, web):
    space = SpaceFactory(organization=org, center=center, floor=1, name="Bureau 7")
    response = _post_shapes(web, plan, {"shapes": {str(space.pk): [[0, 0], [1, 1]]}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_shape" and list(error["fields"]) == [f"shapes.{space.pk}"]
    assert "Bureau 7" in error["message"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"shapes": 3}', "", "\udcff"])
def test_shapes_post_with_garbage_is_a_400(plan, web, body):
    response = web.post(
        reverse("catalog:floorplan_shapes", args=[plan.pk]), body.encode("utf-8", "surrogateescape"),
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400 and "error" in response.json()


def test_shapes_get_is_not_allowed(plan, web):
    assert web.get(reverse("catalog:floorplan_shapes", args=[plan.pk])).status_code == 405


def test_rights_reception_sees_but_does_not_draw(org, center, plan, staff_of, staff_client):
    space = SpaceFactory(organization=org, center=center, floor=1)
    client = staff_client(staff_of("reception"))
    assert client.get(reverse("catalog:floorplan_detail", args=[plan.pk])).status_code == 200
    assert client.get(reverse("catalog:floorplan_svg", args=[plan.pk])).status_code == 200
    for name in ("floorplan_editor", "floorplan_edit"):
        assert client.get(reverse(f"catalog:{name}", args=[plan.pk])).status_code == 403
    assert client.get(reverse("catalog:floorplan_create")).status_code == 403
    assert _post_shapes(client, plan, {"shapes": {space.pk: square()}}).status_code == 403
    space.refresh_from_db()
    assert space.shape is None
    html = client.get(reverse("catalog:floorplan_detail", args=[plan.pk])).content.decode()
    assert reverse("catalog:floorplan_editor", args=[plan.pk]) not in html


def test_staff_limited_to_another_center_gets_404(org, plan, staff_of, staff_client):
    manager = staff_of("manager")
    manager.staff_memberships.get(organization=org).centers.set([CenterFactory(organization=org)])
    client = staff_client(manager)
    assert client.get(reverse("catalog:floorplan_detail", args=[plan.pk])).status_code == 404
    assert "Premier étage" not in client.get(reverse("catalog:floorplan_list")).content.decode()


def test_anonymous_goes_to_login(plan, client):
    response = client.get(reverse("catalog:floorplan_svg", args=[plan.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_svg_view(org, center, plan, web):
    SpaceFactory(organization=org, center=center, floor=1, shape=square())
    response = web.get(reverse("catalog:floorplan_svg", args=[plan.pk]), {"date": "2027-01-01"})
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    assert response.content.decode().count("<polygon") == 1


def test_background_is_served_and_an_svg_one_is_sandboxed(org, center, admin, plan, web):
    assert web.get(reverse("catalog:floorplan_background", args=[plan.pk])).status_code == 404
    services.update_floor_plan(
        plan=plan, by=admin, data={}, background=SimpleUploadedFile("plan.svg", SVG_FILE, content_type="image/svg+xml")
    )
    response = web.get(reverse("catalog:floorplan_background", args=[plan.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert b"".join(response.streaming_content) == SVG_FILE
    plan.refresh_from_db()
    svg = web.get(reverse("catalog:floorplan_svg", args=[plan.pk])).content.decode()
    assert f'<image href="{reverse("catalog:floorplan_background", args=[plan.pk])}?v=' in svg
    assert '<rect width="10"' not in svg  # never inlined


def test_other_organizations_plans_answer_404_everywhere(org, other_org, admin, staff_client, api_client):
    result = walk(
        own_organization=org, foreign_organization=other_org, web_client=staff_client(admin),
        api_client=api_client(admin), namespaces=["catalog"], api_prefixes=["floor-plans"],
    )  # fmt: skip
    mine = [line for line in result.checked if ":floorplan" in line.split(" ")[0]]
    assert len(mine) == 10, mine  # 6 pages + API detail, svg, background, shapes
    failures = [line for line in result.failures if ":floorplan" in line.split(" ")[0]]
    assert not failures, failures
