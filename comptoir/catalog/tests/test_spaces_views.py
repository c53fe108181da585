"""Gestion → Espaces: list (filters, search, CSV, constant queries), forms with errors at their field, the
page with photos and history, photo management, deactivation and deletion, rights."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from comptoir.catalog.models import Space, SpacePhoto
from comptoir.catalog.services import spaces as services
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory
from comptoir.catalog.views.spaces import floor_plan_url
from comptoir.core.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db


def tiny_png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile("salle.png", buffer.getvalue(), content_type="image/png")


def form_data(center, **extra):
    return {"center": center.pk, "name": "Bureau 7", "kind": "private_office", "floor": "2", "area_m2": "18,5",
            "capacity": "4", "description": "", "is_bookable": "", "is_active": "on", "amenities": ["wifi"],
            "other_amenities": "Machine à café, Casiers", **extra}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------------------
def test_empty_list_invites_to_add_a_space(org, admin, staff_client):
    response = staff_client(admin).get(reverse("catalog:space_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Aucun espace ne correspond" in html and reverse("catalog:space_create") in html


def test_list_filters_and_search(org, admin, staff_client, center):
    lyon = CenterFactory(organization=org, name="Lyon")
    SpaceFactory(organization=org, center=center, name="Salle Opéra", kind="meeting_room", area_m2=None,
                 is_bookable=True, floor=0)  # fmt: skip
    SpaceFactory(organization=org, center=lyon, name="Bureau Rhône", floor=3)
    SpaceFactory(organization=org, center=center, name="Bureau fermé", is_active=False)
    client = staff_client(admin)

    def names(**params):
        response = client.get(reverse("catalog:space_list"), params)
        assert response.status_code == 200
        return sorted(row.obj.name for row in response.context["rows"])

    assert names() == ["Bureau Rhône", "Bureau fermé", "Salle Opéra"]
    html = client.get(reverse("catalog:space_list")).content.decode()
    assert '<span translate="no">Salle Opéra</span>' in html and '<span translate="no">Lyon</span>' in html
    assert names(center=lyon.pk) == ["Bureau Rhône"]
    assert names(kind="meeting_room") == ["Salle Opéra"]
    assert names(floor=3) == ["Bureau Rhône"]
    assert names(is_bookable="true") == ["Salle Opéra"]
    assert names(is_active="false") == ["Bureau fermé"]
    assert names(q="rhône") == ["Bureau Rhône"]
    assert names(q="Lyon") == ["Bureau Rhône"]


def test_list_hides_other_organizations_and_restricted_centers(org, staff_client, center, other_center):
    from comptoir.core.tests.factories import StaffFactory

    SpaceFactory(organization=other_center.organization, center=other_center, name="Ailleurs")
    SpaceFactory(organization=org, center=CenterFactory(organization=org), name="Autre centre")
    SpaceFactory(organization=org, center=center, name="Ici")
    staff = StaffFactory(organization=org, kind="manager")
    staff.centers.set([center])
    response = staff_client(staff.user).get(reverse("catalog:space_list"))
    assert [row.obj.name for row in response.context["rows"]] == ["Ici"]


def test_list_exports_csv(org, admin, staff_client, center):
    SpaceFactory(organization=org, center=center, name="Bureau 1", area_m2=Decimal("12.50"), amenities=["wifi"])
    response = staff_client(admin).get(reverse("catalog:space_list"), {"export": "csv"})
    content = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Nom;Centre;Type" in content
    assert "Bureau 1;Paris Opéra;Bureau privatif;1;12,50;2;Non;Actif;0;Wi-Fi" in content


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("catalog:space_list")).status_code == 200
    return len(queries)


def test_list_makes_the_same_queries_for_5_or_60_spaces(org, admin, staff_client, center):
    for _index in range(5):
        SpaceFactory(organization=org, center=center)
    client = staff_client(admin)
    _queries(client)
    five = _queries(client)
    for _index in range(55):
        space = SpaceFactory(organization=org, center=CenterFactory(organization=org))
        SpacePhoto.objects.create(space=space, image="x.png")
    assert _queries(client) == five


# --------------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------------
def test_create_a_space_from_the_form(org, admin, staff_client, center):
    response = staff_client(admin).post(reverse("catalog:space_create"), form_data(center))
    space = Space.objects.get()
    assert response.status_code == 302 and response["Location"] == space.get_absolute_url()
    assert space.area_m2 == Decimal("18.5") and space.amenities == ["wifi", "Machine à café", "Casiers"]


def test_the_form_shows_errors_at_their_field(org, admin, staff_client, center):
    SpaceFactory(organization=org, center=center, name="Bureau 7")
    client = staff_client(admin)

    duplicate = client.post(reverse("catalog:space_create"), form_data(center))
    assert duplicate.status_code == 200
    assert duplicate.context["form"].errors["name"] == ["Un espace de ce centre porte déjà ce nom."]

    no_area = client.post(reverse("catalog:space_create"), form_data(center, name="Bureau 8", area_m2=""))
    assert no_area.context["form"].errors["area_m2"] == ["La surface est obligatoire pour un bureau."]
    assert 'id="field-area_m2"' in no_area.content.decode()

    no_capacity = client.post(reverse("catalog:space_create"), form_data(center, name="Bureau 9", capacity="0"))
    assert "capacity" in no_capacity.context["form"].errors
    assert Space.objects.count() == 1


def test_the_form_offers_only_the_organizations_centers(org, admin, staff_client, center, other_center):
    client = staff_client(admin)
    response = client.get(reverse("catalog:space_create"))
    html = response.content.decode()
    assert "Paris Opéra" in html and "Lyon Part-Dieu" not in html
    refused = client.post(reverse("catalog:space_create"), form_data(other_center))
    assert "center" in refused.context["form"].errors and not Space.objects.exists()


def test_edit_keeps_the_free_amenities(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center, amenities=["wifi", "Casiers"])
    client = staff_client(admin)
    page = client.get(reverse("catalog:space_edit", args=[space.pk]))
    assert page.context["form"].initial["other_amenities"] == "Casiers"
    data = form_data(center, name=space.name, area_m2="12,50", capacity="5", amenities=["wifi"],
                     other_amenities="Casiers", floor="1")  # fmt: skip
    response = client.post(reverse("catalog:space_edit", args=[space.pk]), data)
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.capacity == 5 and space.amenities == ["wifi", "Casiers"]


# --------------------------------------------------------------------------------------------------
# Page, photos, actions
# --------------------------------------------------------------------------------------------------
def test_the_page_shows_fields_photos_and_history(org, admin, staff_client, center):
    space = services.create_space(
        organization=org, by=admin,
        data={"center": center, "name": "Salle Opéra", "kind": "meeting_room", "capacity": 10, "amenities": ["screen"]},
    )  # fmt: skip
    services.add_space_photo(space=space, by=admin, image=tiny_png(), caption="Vue de la salle")
    response = staff_client(admin).get(space.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Salle Opéra" in html and "Écran" in html and "Vue de la salle" in html
    assert "<img" in html and "Photo ajoutée" in html and "Création" in html


def test_the_plan_link_shows_only_when_a_plan_page_exists(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center, floor=2)
    try:
        reverse("catalog:floorplan_detail", args=[1])
    except Exception:
        assert floor_plan_url(space) is None
        return
    assert floor_plan_url(space) is None  # no plan drawn for this floor
    plan = FloorPlanFactory(organization=org, center=center, floor=2)
    assert floor_plan_url(space) == reverse("catalog:floorplan_detail", args=[plan.pk])
    assert (
        reverse("catalog:floorplan_detail", args=[plan.pk])
        in staff_client(admin).get(space.get_absolute_url()).content.decode()
    )


def test_upload_reorder_and_remove_photos(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center)
    client = staff_client(admin)
    url = reverse("catalog:space_photos", args=[space.pk])

    assert client.post(url, {"image": tiny_png(), "caption": "Entrée"}).status_code == 302
    assert client.post(url, {"image": tiny_png()}).status_code == 302
    first, second = space.photos.all()
    assert first.caption == "Entrée" and first.image.name.endswith(".png")

    client.post(reverse("catalog:space_photo_move", args=[space.pk]), {"photo": second.pk, "direction": "up"})
    assert list(space.photos.values_list("pk", flat=True)) == [second.pk, first.pk]
    client.post(reverse("catalog:space_photo_caption", args=[space.pk]), {"photo": second.pk, "caption": "Vue"})
    second.refresh_from_db()
    assert second.caption == "Vue"
    client.post(reverse("catalog:space_photo_remove", args=[space.pk]), {"photo": first.pk})
    assert list(space.photos.values_list("pk", flat=True)) == [second.pk]
    page = client.get(url)
    assert page.status_code == 200 and "Vue" in page.content.decode()


def test_a_bad_upload_shows_its_error_at_the_field(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center)
    response = staff_client(admin).post(
        reverse("catalog:space_photos", args=[space.pk]),
        {"image": SimpleUploadedFile("faux.png", b"GIF89a pas une image", content_type="image/png")},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["image"] == ["Ce fichier n'est pas une image JPEG, PNG ou WebP valide."]
    assert not SpacePhoto.objects.exists()


def test_a_photo_of_another_space_cannot_be_removed_through_this_one(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center)
    other = SpaceFactory(organization=org, center=center)
    photo = services.add_space_photo(space=other, by=admin, image=tiny_png())
    staff_client(admin).post(reverse("catalog:space_photo_remove", args=[space.pk]), {"photo": photo.pk})
    assert SpacePhoto.objects.filter(pk=photo.pk).exists()


def test_deactivate_then_delete(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center)
    client = staff_client(admin)
    assert client.get(reverse("catalog:space_deactivate", args=[space.pk])).status_code == 405
    client.post(reverse("catalog:space_deactivate", args=[space.pk]))
    space.refresh_from_db()
    assert space.is_active is False
    confirm = client.get(reverse("catalog:space_delete", args=[space.pk]))
    assert confirm.status_code == 200 and "Supprimer l&#x27;espace" in confirm.content.decode()
    assert client.post(reverse("catalog:space_delete", args=[space.pk]))["Location"] == reverse("catalog:space_list")
    assert not Space.objects.filter(pk=space.pk).exists()


def test_a_used_space_is_not_deleted_from_the_page(org, admin, staff_client, center):
    from comptoir.sales.tests.factories import ContractLineFactory

    space = SpaceFactory(organization=org, center=center)
    ContractLineFactory(contract__organization=org, contract__center=center, space=space)
    client = staff_client(admin)
    assert "désactivez-le plutôt" in client.get(reverse("catalog:space_delete", args=[space.pk])).content.decode()
    response = client.post(reverse("catalog:space_delete", args=[space.pk]), follow=True)
    assert "désactivez-le plutôt" in response.content.decode()
    assert Space.objects.filter(pk=space.pk).exists()


def test_rights_on_the_pages(org, staff_client, center, staff_of):
    space = SpaceFactory(organization=org, center=center)
    reception = staff_client(staff_of("reception"))
    assert reception.get(reverse("catalog:space_list")).status_code == 200
    page = reception.get(space.get_absolute_url())
    assert page.status_code == 200 and reverse("catalog:space_edit", args=[space.pk]) not in page.content.decode()
    assert reception.get(reverse("catalog:space_create")).status_code == 403
    assert reception.post(reverse("catalog:space_edit", args=[space.pk]), {"name": "X"}).status_code == 403
    assert reception.post(reverse("catalog:space_deactivate", args=[space.pk])).status_code == 403
    assert reception.post(reverse("catalog:space_photos", args=[space.pk]), {"image": tiny_png()}).status_code == 403
    space.refresh_from_db()
    assert space.is_active and space.name != "X" and not space.photos.exists()


def test_the_menu_lists_spaces_under_gestion(org, admin, staff_client):
    html = staff_client(admin).get(reverse("catalog:space_list")).content.decode()
    assert reverse("catalog:space_list") in html and reverse("catalog:product_list") in html


def test_garbage_never_gives_a_500(org, admin, staff_client, center):
    space = SpaceFactory(organization=org, center=center)
    client = staff_client(admin)
    for params in ({"floor": "abc"}, {"center": "x\x00"}, {"kind": "nope"}, {"is_active": "maybe"},
                   {"q": "\x00" * 5}, {"sort": "-photo_count"}, {"cursor": "garbage"}):  # fmt: skip
        assert client.get(reverse("catalog:space_list"), params).status_code == 200, params
    for params in ({"kind": "nope"}, {"vat_rate": "x"}, {"service_type": "\x00"}, {"sort": "-unit_price"}):
        assert client.get(reverse("catalog:product_list"), params).status_code == 200, params
    assert client.post(reverse("catalog:space_photo_move", args=[space.pk]), {"photo": "x"}).status_code == 302
    assert client.post(reverse("catalog:space_photo_reorder", args=[space.pk]), {"order": ["x"]}).status_code == 302
    bad_form = client.post(reverse("catalog:space_create"), {"center": "x", "capacity": "-3", "floor": "999"})
    assert bad_form.status_code == 200 and not Space.objects.exclude(pk=space.pk).exists()


def test_htmx_filtering_returns_only_the_results(org, admin, staff_client, center):
    SpaceFactory(organization=org, center=center, name="Salle", kind="meeting_room", area_m2=None)
    SpaceFactory(organization=org, center=center, name="Bureau")
    response = staff_client(admin).get(
        reverse("catalog:space_list"), {"kind": "meeting_room"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="list-results"' in html
    assert "Salle" in html and "Bureau<" not in html


def test_the_journal_links_to_the_space(org, admin, staff_client, center):
    space = services.create_space(
        organization=org, by=admin, data={"center": center, "name": "Salle Lumière", "kind": "meeting_room"}
    )
    html = staff_client(admin).get(reverse("manage:journal_list")).content.decode()
    assert space.get_absolute_url() in html
