"""/api/v1/floor-plans/: list, retrieve, create (JSON or multipart with a background), update, the SVG,
the background and the shapes (same validation as the back office)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.catalog import occupancy
from comptoir.catalog.models import FloorPlan
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BASE = "/api/v1/floor-plans/"


def square(x=10, y=10, size=100):
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


@pytest.fixture
def plan(org, center):
    return FloorPlanFactory(organization=org, center=center, floor=1, name="Premier")


@pytest.fixture
def api(admin, api_client):
    return api_client(admin)


def test_list_and_retrieve(org, center, plan, api, other_org):
    SpaceFactory(organization=org, center=center, floor=1, shape=square())
    SpaceFactory(organization=org, center=center, floor=1)
    FloorPlanFactory(organization=other_org)
    listing = api.get(BASE).json()
    assert [item["id"] for item in listing["results"]] == [plan.pk]
    body = api.get(f"{BASE}{plan.pk}/").json()
    assert body["space_count"] == 2 and body["drawn_count"] == 1 and body["has_background"] is False
    assert body["background_url"] is None and body["svg_url"] == f"{BASE}{plan.pk}/svg/"


def test_create_json_then_update(center, api):
    response = api.post(BASE, {"center": center.pk, "floor": 2, "width": 800, "height": 500}, format="json")
    assert response.status_code == 201, response.json()
    plan_id = response.json()["id"]
    response = api.patch(f"{BASE}{plan_id}/", {"name": "Deuxième"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Deuxième"


def test_create_multipart_with_a_background(center, api):
    response = api.post(
        BASE, {"center": center.pk, "floor": 4, "background": SimpleUploadedFile("p.png", PNG)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["has_background"] is True
    file = api.get(body["background_url"])
    assert file.status_code == 200 and file["Content-Type"] == "image/png"


def test_create_errors_use_the_envelope(center, other_center, plan, api):
    duplicate = api.post(BASE, {"center": center.pk, "floor": 1}, format="json")
    assert duplicate.status_code == 400 and duplicate.json()["error"]["code"] == "duplicate_floor"
    foreign = api.post(BASE, {"center": other_center.pk, "floor": 0}, format="json")
    assert foreign.status_code == 400 and "center" in foreign.json()["error"]["fields"]
    bad_file = api.post(
        BASE, {"center": center.pk, "floor": 6, "background": SimpleUploadedFile("p.png", b"nope")}, format="multipart"
    )
    assert bad_file.status_code == 400 and bad_file.json()["error"]["fields"]["background"]
    unknown = api.post(BASE, {"center": center.pk, "floor": 7, "organization": 1}, format="json")
    assert unknown.status_code == 400
    assert FloorPlan.objects.count() == 1


def test_svg_with_a_date(org, center, plan, api):
    space = SpaceFactory(organization=org, center=center, floor=1, shape=square())

    def provide(space_ids, on):
        return {space.pk: occupancy.RESERVED} if on.isoformat() == "2027-05-01" else {}

    occupancy.register(provide)
    try:
        response = api.get(f"{BASE}{plan.pk}/svg/", {"date": "2027-05-01"})
        svg_accept = api.get(f"{BASE}{plan.pk}/svg/", HTTP_ACCEPT="image/svg+xml")
    finally:
        occupancy.unregister(provide)
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    assert 'data-state="reserved"' in response.content.decode()
    assert svg_accept.status_code == 200 and 'data-state="free"' in svg_accept.content.decode()
    bad = api.get(f"{BASE}{plan.pk}/svg/", {"date": "2027-02-30"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["date"]


def test_shapes_get_and_put(org, center, plan, api):
    space = SpaceFactory(organization=org, center=center, floor=1)
    assert api.get(f"{BASE}{plan.pk}/shapes/").json() == {"shapes": {str(space.pk): None}}
    response = api.put(f"{BASE}{plan.pk}/shapes/", {"shapes": {str(space.pk): square()}}, format="json")
    assert response.status_code == 200 and response.json() == {"shapes": {str(space.pk): square()}}
    space.refresh_from_db()
    assert space.shape == square()


def test_shapes_put_errors(org, center, plan, api, other_org):
    space = SpaceFactory(organization=org, center=center, floor=1)
    foreign = SpaceFactory(organization=other_org, floor=1)
    response = api.put(
        f"{BASE}{plan.pk}/shapes/",
        {"shapes": {str(space.pk): [[0, 0], [5000, 0], [0, 10]], str(foreign.pk): square()}},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {f"shapes.{space.pk}", f"shapes.{foreign.pk}"}
    assert api.put(f"{BASE}{plan.pk}/shapes/", {"shapes": "x"}, format="json").status_code == 400
    assert api.put(f"{BASE}{plan.pk}/shapes/", {"other": {}}, format="json").status_code == 400
    space.refresh_from_db()
    assert space.shape is None


def test_rights(org, center, plan, staff_of, api_client):
    space = SpaceFactory(organization=org, center=center, floor=1)
    reception = api_client(staff_of("reception"))
    assert reception.get(f"{BASE}{plan.pk}/").status_code == 200
    assert reception.get(f"{BASE}{plan.pk}/shapes/").status_code == 200
    assert reception.get(f"{BASE}{plan.pk}/svg/").status_code == 200
    put = reception.put(f"{BASE}{plan.pk}/shapes/", {"shapes": {str(space.pk): square()}}, format="json")
    assert put.status_code == 403 and put.json()["error"]["code"] == "forbidden"
    assert reception.post(BASE, {"center": center.pk, "floor": 3}, format="json").status_code == 403
    assert reception.patch(f"{BASE}{plan.pk}/", {"name": "x"}, format="json").status_code == 403


def test_another_organizations_plan_is_404(other_org, api):
    foreign = FloorPlanFactory(organization=other_org)
    for suffix in ("", "svg/", "shapes/", "background/"):
        assert api.get(f"{BASE}{foreign.pk}/{suffix}").status_code == 404
    assert api.put(f"{BASE}{foreign.pk}/shapes/", {"shapes": {}}, format="json").status_code == 404


def test_create_is_idempotent_with_a_key(center, api):
    payload = {"center": center.pk, "floor": 8, "background": SimpleUploadedFile("p.png", PNG)}
    first = api.post(BASE, payload, format="multipart", HTTP_IDEMPOTENCY_KEY="plan-8")
    payload["background"] = SimpleUploadedFile("p.png", PNG)
    again = api.post(BASE, payload, format="multipart", HTTP_IDEMPOTENCY_KEY="plan-8")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true" and FloorPlan.objects.filter(floor=8).count() == 1
