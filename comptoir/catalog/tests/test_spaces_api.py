"""REST API: /api/v1/spaces/ (CRUD, filters, (de)activation, photos) and /api/v1/products/ (CRUD with the
nested per-center prices, filters, deactivation): rights, tenancy and bad input."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from comptoir.catalog.models import Product, ProductCenterPrice, Space, SpacePhoto
from comptoir.catalog.tests.factories import ProductFactory, SpaceFactory
from comptoir.core.tests.factories import CenterFactory, StaffFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_api(admin, api_client):
    return api_client(admin)


def tiny_png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 5), (0, 0, 0)).save(buffer, format="PNG")
    return SimpleUploadedFile("p.png", buffer.getvalue(), content_type="image/png")


# --------------------------------------------------------------------------------------------------
# Spaces
# --------------------------------------------------------------------------------------------------
def test_space_crud(admin_api, center):
    created = admin_api.post(
        f"{API}/spaces/",
        {"center": center.pk, "name": "Bureau 3", "kind": "private_office", "area_m2": "15.00", "capacity": 2,
         "amenities": ["wifi", "Casiers"]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["center_name"] == "Paris Opéra" and body["area_m2"] == "15.00" and body["photos"] == []
    url = f"{API}/spaces/{body['id']}/"

    assert admin_api.get(url).json()["amenities"] == ["wifi", "Casiers"]
    patched = admin_api.patch(url, {"capacity": 3}, format="json")
    assert patched.status_code == 200 and patched.json()["capacity"] == 3
    replaced = admin_api.put(url, {"center": center.pk, "name": "Salle A", "kind": "meeting_room",
                                   "area_m2": None}, format="json")  # fmt: skip
    assert replaced.status_code == 200 and replaced.json()["kind"] == "meeting_room"

    deactivated = admin_api.post(f"{url}deactivate/")
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    assert admin_api.post(f"{url}reactivate/").json()["is_active"] is True
    assert admin_api.delete(url).status_code == 204
    assert not Space.objects.exists()


def test_space_list_filters(org, admin_api, center):
    lyon = CenterFactory(organization=org)
    SpaceFactory(organization=org, center=center, name="Salle", kind="meeting_room", area_m2=None, is_bookable=True)
    SpaceFactory(organization=org, center=lyon, name="Bureau", floor=4, is_active=False)

    def names(**params):
        response = admin_api.get(f"{API}/spaces/", params)
        assert response.status_code == 200, response.content
        return sorted(item["name"] for item in response.json()["results"])

    assert names() == ["Bureau", "Salle"]
    assert names(center=lyon.pk) == ["Bureau"]
    assert names(kind="meeting_room") == ["Salle"]
    assert names(is_active="false") == ["Bureau"]
    assert names(is_bookable="true") == ["Salle"]
    assert names(floor=4) == ["Bureau"]
    assert names(search="sal") == ["Salle"]


def test_space_bad_input_is_a_4xx_and_changes_nothing(admin_api, center, other_center):
    cases = [
        ({"center": center.pk, "name": "B", "kind": "private_office"}, "area_m2"),
        ({"center": other_center.pk, "name": "B", "kind": "meeting_room"}, "center"),
        ({"center": center.pk, "name": "B", "kind": "meeting_room", "capacity": 0}, "capacity"),
        ({"center": center.pk, "name": "B", "kind": "spaceship"}, "kind"),
        ({"center": center.pk, "name": "B", "kind": "meeting_room", "amenities": "wifi"}, "amenities"),
        ({"center": center.pk, "name": "B", "kind": "meeting_room", "organization": 2}, "organization"),
    ]
    for data, field in cases:
        response = admin_api.post(f"{API}/spaces/", data, format="json")
        assert response.status_code == 400, (data, response.content)
        assert field in response.json()["error"]["fields"], (data, response.json())
    SpaceFactory(organization=center.organization, center=center, name="Pris")
    duplicate = admin_api.post(f"{API}/spaces/", {"center": center.pk, "name": "Pris", "kind": "meeting_room"},
                               format="json")  # fmt: skip
    assert duplicate.status_code == 400 and duplicate.json()["error"]["code"] == "duplicate_name"
    assert Space.objects.count() == 1


def test_space_photos_through_the_api(org, admin_api, center):
    space = SpaceFactory(organization=org, center=center)
    url = f"{API}/spaces/{space.pk}/photos/"
    first = admin_api.post(url, {"image": tiny_png(), "caption": "Entrée"}, format="multipart")
    assert first.status_code == 201, first.content
    second = admin_api.post(url, {"image": tiny_png()}, format="multipart")
    photos = second.json()["photos"]
    assert [photo["caption"] for photo in photos] == ["Entrée", ""] and photos[0]["url"].startswith("http")
    ids = [photo["id"] for photo in photos]

    reordered = admin_api.post(f"{url}reorder/", {"order": ids[::-1]}, format="json")
    assert [photo["id"] for photo in reordered.json()["photos"]] == ids[::-1]
    removed = admin_api.post(f"{url}remove/", {"photo": ids[0]}, format="json")
    assert [photo["id"] for photo in removed.json()["photos"]] == [ids[1]]

    bad = admin_api.post(url, {"image": SimpleUploadedFile("x.png", b"nope")}, format="multipart")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["image"]
    missing = admin_api.post(f"{url}remove/", {"photo": 999999}, format="json")
    assert missing.status_code == 400
    assert SpacePhoto.objects.count() == 1


def test_space_rights(org, api_client, center, staff_of):
    space = SpaceFactory(organization=org, center=center)
    reception = api_client(staff_of("reception"))
    assert reception.get(f"{API}/spaces/").status_code == 200
    for method, url, data in [
        ("post", f"{API}/spaces/", {"center": center.pk, "name": "X", "kind": "meeting_room"}),
        ("patch", f"{API}/spaces/{space.pk}/", {"name": "X"}),
        ("post", f"{API}/spaces/{space.pk}/deactivate/", None),
        ("delete", f"{API}/spaces/{space.pk}/", None),
    ]:
        response = getattr(reception, method)(url, data, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] in ("forbidden", "permission_denied")
    space.refresh_from_db()
    assert space.name != "X" and space.is_active and Space.objects.count() == 1


def test_space_of_another_organization_is_404(other_org, admin_api):
    foreign = SpaceFactory(organization=other_org)
    assert admin_api.get(f"{API}/spaces/{foreign.pk}/").status_code == 404
    assert admin_api.patch(f"{API}/spaces/{foreign.pk}/", {"name": "X"}, format="json").status_code == 404
    assert admin_api.post(f"{API}/spaces/{foreign.pk}/deactivate/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active and foreign.name != "X"


def test_staff_limited_to_a_center_see_its_spaces_only(org, api_client, center):
    other = SpaceFactory(organization=org, center=CenterFactory(organization=org))
    SpaceFactory(organization=org, center=center, name="Ici")
    staff = StaffFactory(organization=org, kind="manager")
    staff.centers.set([center])
    api = api_client(staff.user)
    assert [item["name"] for item in api.get(f"{API}/spaces/").json()["results"]] == ["Ici"]
    assert api.get(f"{API}/spaces/{other.pk}/").status_code == 404


# --------------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------------
def test_product_crud_with_center_prices(org, admin_api, center):
    lyon = CenterFactory(organization=org, name="Lyon")
    created = admin_api.post(
        f"{API}/products/",
        {"kind": "plan", "plan_type": "subscription", "name": "Nomade 10", "unit_price": "120.00",
         "credits": "10", "credit_period": "month",
         "center_prices": [{"center": center.pk, "unit_price": "110.00"}, {"center": lyon.pk, "is_available": False}]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["credits"] == "10.00" and body["vat_rate"] == "20.00"
    assert {(item["center_name"], item["is_available"], item["unit_price"]) for item in body["center_prices"]} == {
        ("Paris Opéra", True, "110.00"), ("Lyon", False, None),
    }  # fmt: skip
    url = f"{API}/products/{body['id']}/"

    patched = admin_api.patch(url, {"unit_price": "130.00", "center_prices": [{"center": lyon.pk}]}, format="json")
    assert patched.status_code == 200, patched.content
    assert [item["center_name"] for item in patched.json()["center_prices"]] == ["Paris Opéra"]
    assert admin_api.post(f"{url}deactivate/").json()["is_active"] is False
    assert admin_api.post(f"{url}reactivate/").json()["is_active"] is True
    assert admin_api.delete(url).status_code == 204
    assert not Product.objects.exists() and not ProductCenterPrice.objects.exists()


def test_product_filters(org, admin_api, center):
    ProductFactory(organization=org, name="Domiciliation")
    ProductFactory(organization=org, kind="option", service_type="", name="Casier")
    hidden = ProductFactory(organization=org, kind="consumption", service_type="", unit="print", name="Impression")
    ProductCenterPrice.objects.create(organization=org, product=hidden, center=center, is_available=False)

    def names(**params):
        response = admin_api.get(f"{API}/products/", params)
        assert response.status_code == 200, response.content
        return sorted(item["name"] for item in response.json()["results"])

    assert names(kind="option") == ["Casier"]
    assert names(service_type="domiciliation") == ["Domiciliation"]
    assert names(center=center.pk) == ["Casier", "Domiciliation"]
    assert names(search="impr") == ["Impression"]


def test_product_bad_input(org, admin_api, center, other_center):
    base = {"kind": "main_service", "service_type": "domiciliation", "name": "Domiciliation"}
    cases = [
        ({**base, "vat_rate": "0.00"}, "vat_exemption_reason"),
        ({**base, "service_type": ""}, "service_type"),
        ({**base, "kind": "plan", "service_type": "", "plan_type": "pack", "credits": "5"}, "validity_days"),
        ({**base, "unit_price": "-1"}, "unit_price"),
        ({**base, "vat_rate": "19.6"}, "vat_rate"),
        ({**base, "center_prices": [{"center": other_center.pk}]}, "center_prices"),
    ]
    for data, field in cases:
        response = admin_api.post(f"{API}/products/", data, format="json")
        assert response.status_code == 400, (data, response.content)
        fields = response.json()["error"]["fields"]
        assert any(name == field or name.startswith(f"{field}.") for name in fields), (data, fields)
    assert not Product.objects.exists()


def test_product_rights_and_tenancy(org, other_org, api_client, admin_api, staff_of):
    product = ProductFactory(organization=org)
    reception = api_client(staff_of("reception"))
    assert reception.get(f"{API}/products/{product.pk}/").status_code == 200
    assert reception.patch(f"{API}/products/{product.pk}/", {"name": "X"}, format="json").status_code == 403
    assert reception.post(f"{API}/products/", {"kind": "option", "name": "X"}, format="json").status_code == 403
    technician = api_client(staff_of("technician"))
    assert technician.get(f"{API}/products/").status_code == 403
    foreign = ProductFactory(organization=other_org)
    assert admin_api.get(f"{API}/products/{foreign.pk}/").status_code == 404
    assert admin_api.delete(f"{API}/products/{foreign.pk}/").status_code == 404
    assert Product.objects.filter(pk__in=[product.pk, foreign.pk]).count() == 2
    product.refresh_from_db()
    assert product.name != "X"


def test_product_used_in_a_contract_cannot_be_deleted(org, admin_api):
    from comptoir.sales.tests.factories import ContractLineFactory

    product = ProductFactory(organization=org, unit_price=Decimal("10"))
    ContractLineFactory(contract__organization=org, kind="product", space=None, product=product)
    response = admin_api.delete(f"{API}/products/{product.pk}/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "in_use"
    assert Product.objects.filter(pk=product.pk).exists()


def test_api_garbage_is_a_4xx(org, admin_api, center):
    space = SpaceFactory(organization=org, center=center)
    for params in ({"floor": "abc"}, {"center": "x"}, {"kind": "nope"}, {"search": "\x00"}):
        assert admin_api.get(f"{API}/spaces/", params).status_code in (200, 400), params
    assert admin_api.get(f"{API}/products/", {"center": "x"}).status_code in (200, 400)
    for body in ([], "x", {"name": None}, {"amenities": [None]}, {"area_m2": "NaN"}, {"capacity": 1.5}):
        response = admin_api.patch(f"{API}/spaces/{space.pk}/", body, format="json")
        assert response.status_code == 400, (body, response.content)
    for body in ({"center_prices": "x"}, {"center_prices": [{"center": "x"}]}, {"unit_price": "1e400"},
                 {"credits": -1}, {"kind": None}):  # fmt: skip
        response = admin_api.post(f"{API}/products/", body, format="json")
        assert response.status_code == 400, (body, response.content)
    assert admin_api.post(f"{API}/spaces/{space.pk}/photos/reorder/", {"order": "x"}, format="json").status_code == 400
