"""Spaces services: creation, update, (de)activation, deletion, photos — rights, tenancy and bad input."""

from __future__ import annotations

import io
import os
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from comptoir.catalog.models import Space, SpacePhoto
from comptoir.catalog.services import spaces as services
from comptoir.catalog.tests.factories import SpaceFactory
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory, StaffFactory

pytestmark = pytest.mark.django_db


def png(name: str = "photo.png", size: tuple[int, int] = (8, 6), image_format: str = "PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, format=image_format)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}[image_format]
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


def office(center, **extra):
    return {"center": center, "name": "Bureau 12", "kind": "private_office", "floor": 1,
            "area_m2": Decimal("14.50"), "capacity": 3, **extra}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Creation
# --------------------------------------------------------------------------------------------------
def test_create_an_office_with_amenities_is_journaled(org, admin, center):
    space = services.create_space(
        organization=org, by=admin, data=office(center, amenities=["wifi", " Machine  à café ", "wifi", ""])
    )

    assert space.organization == org and space.center == center
    assert space.amenities == ["wifi", "Machine à café"]
    entry = AuditEntry.objects.get(action="space.created")
    assert entry.object_id == str(space.pk) and entry.changes["name"] == "Bureau 12"


def test_an_office_needs_its_area(org, admin, center):
    with pytest.raises(ValidationFailed) as caught:
        services.create_space(organization=org, by=admin, data=office(center, area_m2=None))
    assert caught.value.fields == {"area_m2": ["La surface est obligatoire pour un bureau."]}
    assert not Space.objects.exists()


def test_a_meeting_room_needs_no_area_but_a_capacity_of_one_at_least(org, admin, center):
    room = services.create_space(
        organization=org, by=admin, data={"center": center, "name": "Salle Opéra", "kind": "meeting_room",
                                          "capacity": 8})  # fmt: skip
    assert room.area_m2 is None
    with pytest.raises(ValidationFailed) as caught:
        services.create_space(
            organization=org, by=admin, data={"center": center, "name": "Salle 2", "kind": "meeting_room",
                                              "capacity": 0})  # fmt: skip
    assert "capacity" in caught.value.fields
    assert Space.objects.count() == 1


def test_the_name_is_unique_per_center_whatever_the_case(org, admin, center):
    services.create_space(organization=org, by=admin, data=office(center))
    with pytest.raises(ValidationFailed) as caught:
        services.create_space(organization=org, by=admin, data=office(center, name="bureau 12"))
    assert caught.value.code == "duplicate_name" and list(caught.value.fields) == ["name"]
    # another center may have its own "Bureau 12"
    services.create_space(organization=org, by=admin, data=office(CenterFactory(organization=org)))
    assert Space.objects.count() == 2


def test_a_center_of_another_organization_is_unknown(org, admin, other_center):
    with pytest.raises(ValidationFailed) as caught:
        services.create_space(organization=org, by=admin, data=office(other_center))
    assert caught.value.status == 400 and list(caught.value.fields) == ["center"]
    assert not Space.objects.exists() and not AuditEntry.objects.filter(action="space.created").exists()


def test_staff_limited_to_some_centers_work_only_there(org, center):
    elsewhere = CenterFactory(organization=org)
    staff = StaffFactory(organization=org, kind="manager")
    staff.centers.set([center])
    user = staff.user

    services.create_space(organization=org, by=user, data=office(center))
    with pytest.raises(ValidationFailed) as caught:
        services.create_space(organization=org, by=user, data=office(elsewhere, name="Bureau 13"))
    assert list(caught.value.fields) == ["center"]
    other_space = SpaceFactory(organization=org, center=elsewhere)
    with pytest.raises(ValidationFailed):
        services.update_space(space=other_space, by=user, data={"capacity": 9})
    other_space.refresh_from_db()
    assert other_space.capacity == 2


def test_rights_are_checked(org, center, staff_of):
    reception = staff_of("reception")  # view only
    with pytest.raises(RightsError):
        services.create_space(organization=org, by=reception, data=office(center))
    space = SpaceFactory(organization=org, center=center)
    with pytest.raises(RightsError):
        services.update_space(space=space, by=reception, data={"name": "Autre"})
    with pytest.raises(RightsError):
        services.set_space_active(space=space, by=reception, active=False)
    technician = staff_of("technician")  # view + change, no add / delete
    services.update_space(space=space, by=technician, data={"capacity": 4})
    with pytest.raises(RightsError):
        services.delete_space(space=space, by=technician)
    assert Space.objects.filter(pk=space.pk, capacity=4, name=space.name, is_active=True).exists()


def test_staff_of_another_organization_cannot_touch_the_space(org, center, other_admin):
    space = SpaceFactory(organization=org, center=center)
    with pytest.raises(RightsError):
        services.update_space(space=space, by=other_admin, data={"name": "Piraté"})
    with pytest.raises(RightsError):
        services.delete_space(space=space, by=other_admin)
    space.refresh_from_db()
    assert space.name != "Piraté"


# --------------------------------------------------------------------------------------------------
# Update, deactivation, deletion
# --------------------------------------------------------------------------------------------------
def test_update_journals_the_changes_only(org, admin, center):
    space = services.create_space(organization=org, by=admin, data=office(center))
    services.update_space(space=space, by=admin, data={"capacity": 4, "name": "Bureau 12"})
    entry = AuditEntry.objects.get(action="space.updated")
    assert entry.changes == {"capacity": [3, 4]}
    services.update_space(space=space, by=admin, data={"capacity": 4})
    assert AuditEntry.objects.filter(action="space.updated").count() == 1


def test_turning_an_office_into_a_meeting_room_then_removing_the_area(org, admin, center):
    space = services.create_space(organization=org, by=admin, data=office(center))
    with pytest.raises(ValidationFailed):
        services.update_space(space=space, by=admin, data={"area_m2": None})
    space = services.update_space(space=space, by=admin, data={"kind": "meeting_room", "area_m2": None})
    assert space.area_m2 is None


def test_unknown_fields_are_refused(org, admin, center):
    space = SpaceFactory(organization=org, center=center)
    with pytest.raises(ValidationFailed) as caught:
        services.update_space(space=space, by=admin, data={"organization": 3})
    assert "organization" in caught.value.fields


def test_deactivate_and_reactivate(org, admin, center):
    space = SpaceFactory(organization=org, center=center)
    services.set_space_active(space=space, by=admin, active=False)
    space.refresh_from_db()
    assert space.is_active is False
    services.set_space_active(space=space, by=admin, active=True)
    assert list(AuditEntry.objects.filter(object_id=str(space.pk)).order_by("id").values_list("action", flat=True)) == [
        "space.deactivated",
        "space.reactivated",
    ]


def test_an_unused_space_is_deleted_with_its_photos(org, admin, center, django_capture_on_commit_callbacks):
    space = SpaceFactory(organization=org, center=center)
    photo = services.add_space_photo(space=space, by=admin, image=png())
    path = photo.image.path
    assert not services.space_is_used(space)

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_space(space=space, by=admin)

    assert not Space.objects.filter(pk=space.pk).exists() and not SpacePhoto.objects.exists()
    assert AuditEntry.objects.filter(action="space.deleted", object_id=str(space.pk)).exists()
    assert not os.path.exists(path)


def test_a_used_space_cannot_be_deleted_only_deactivated(org, admin, center):
    from comptoir.sales.tests.factories import ContractLineFactory

    space = SpaceFactory(organization=org, center=center)
    ContractLineFactory(contract__organization=org, contract__center=center, space=space)
    assert services.space_is_used(space)
    with pytest.raises(DomainError) as caught:
        services.delete_space(space=space, by=admin)
    assert caught.value.code == "in_use"
    assert Space.objects.filter(pk=space.pk).exists()


# --------------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------------
def test_photos_are_added_in_order_and_reordered(org, admin, center):
    space = SpaceFactory(organization=org, center=center)
    first = services.add_space_photo(space=space, by=admin, image=png(), caption="Vue d'ensemble")
    second = services.add_space_photo(space=space, by=admin, image=png("b.jpg", image_format="JPEG"))
    third = services.add_space_photo(space=space, by=admin, image=png("c.webp", image_format="WEBP"))
    assert [first.position, second.position, third.position] == [0, 1, 2]
    assert first.image.name.startswith(f"org/{org.pk}/spaces/{space.pk}/") and first.image.name.endswith(".png")
    assert second.image.name.endswith(".jpg") and third.image.name.endswith(".webp")

    services.reorder_space_photos(space=space, by=admin, order=[third.pk, first.pk, second.pk])
    assert list(space.photos.values_list("pk", flat=True)) == [third.pk, first.pk, second.pk]
    services.move_space_photo(photo=SpacePhoto.objects.get(pk=second.pk), by=admin, offset=-1)
    assert list(space.photos.values_list("pk", flat=True)) == [third.pk, second.pk, first.pk]

    services.remove_space_photo(photo=SpacePhoto.objects.get(pk=third.pk), by=admin)
    assert list(space.photos.values_list("pk", flat=True)) == [second.pk, first.pk]


def test_a_reorder_must_name_every_photo_once(org, admin, center):
    space = SpaceFactory(organization=org, center=center)
    first = services.add_space_photo(space=space, by=admin, image=png())
    second = services.add_space_photo(space=space, by=admin, image=png())
    for order in ([first.pk], [first.pk, first.pk], [first.pk, second.pk, 999], ["x", "y"]):
        with pytest.raises(ValidationFailed):
            services.reorder_space_photos(space=space, by=admin, order=order)
    assert list(space.photos.values_list("pk", flat=True)) == [first.pk, second.pk]


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("x.png", b"not an image", content_type="image/png"), "invalid_image"),
        (SimpleUploadedFile("x.png", b"", content_type="image/png"), "empty"),
        (png("x.gif", image_format="GIF"), "invalid_format"),
    ],
)
def test_a_bad_image_is_refused(org, admin, center, upload, code):
    space = SpaceFactory(organization=org, center=center)
    with pytest.raises(ValidationFailed) as caught:
        services.add_space_photo(space=space, by=admin, image=upload)
    assert caught.value.code == code and list(caught.value.fields) == ["image"]
    assert not SpacePhoto.objects.exists()


def test_an_image_over_5_mb_is_refused(org, admin, center):
    space = SpaceFactory(organization=org, center=center)
    upload = png()
    upload.size = services.MAX_PHOTO_BYTES + 1
    with pytest.raises(ValidationFailed) as caught:
        services.add_space_photo(space=space, by=admin, image=upload)
    assert caught.value.code == "too_large"
    assert not SpacePhoto.objects.exists()


def test_photos_need_the_change_right(org, center, staff_of):
    space = SpaceFactory(organization=org, center=center)
    with pytest.raises(RightsError):
        services.add_space_photo(space=space, by=staff_of("reception"), image=png())
    assert not SpacePhoto.objects.exists()


def test_amenities_must_be_short_texts(org, admin, center):
    for amenities in ([1, 2], {"a": 1}, ["x" * 61], [f"item {n}" for n in range(31)]):
        with pytest.raises(ValidationFailed) as caught:
            services.create_space(organization=org, by=admin, data=office(center, amenities=amenities))
        assert list(caught.value.fields) == ["amenities"]
    assert not Space.objects.exists()
