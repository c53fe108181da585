"""Every write of the catalog's spaces: create, update, (de)activate, delete, and their photos.

Keyword-only functions that check the actor's rights (`catalog.*_space`) and tenancy (the center belongs to
the organization and, for staff limited to some centers, to one of theirs), validate, run in one
transaction and write the audit journal. The back office views and the API call these only.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from comptoir.catalog.models import Space, SpacePhoto
from comptoir.core import journal, rights
from comptoir.core.errors import DomainError, ValidationFailed
from comptoir.core.models import Center, Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.core.services import apply_changes

SPACE_FIELDS = [
    "center", "name", "kind", "floor", "area_m2", "capacity", "description", "amenities", "is_bookable", "is_active",
]  # fmt: skip

# Suggestions shown in the form; any other short text is accepted too.
AMENITY_SUGGESTIONS = [
    ("wifi", gettext_lazy("Wi-Fi")),
    ("screen", gettext_lazy("Écran")),
    ("videoconference", gettext_lazy("Visioconférence")),
    ("whiteboard", gettext_lazy("Tableau blanc")),
    ("air_conditioning", gettext_lazy("Climatisation")),
    ("furnished", gettext_lazy("Meublé")),
    ("window", gettext_lazy("Fenêtre / lumière naturelle")),
    ("phone", gettext_lazy("Téléphone")),
    ("accessible", gettext_lazy("Accès PMR")),
    ("storage", gettext_lazy("Rangements")),
]
AMENITY_LABELS = {key: label for key, label in AMENITY_SUGGESTIONS}
MAX_AMENITIES = 30
MAX_AMENITY_LENGTH = 60

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PHOTO_PIXELS = 40_000_000
MAX_PHOTOS = 30


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def check_center_allowed(*, by: User, organization: Organization | int, center: Center | None) -> None:
    """The center must be one of the organization's, and one of the actor's when they are limited to some."""
    org_id = organization if isinstance(organization, int) else organization.pk
    if center is None:
        raise ValidationFailed(_("Ce champ est obligatoire."), code="required", field="center")
    if center.organization_id != org_id:
        raise ValidationFailed(_("Centre inconnu."), code="not_found", field="center")
    restricted = allowed_center_ids(by, org_id)
    if restricted is not None and center.pk not in restricted:
        raise ValidationFailed(_("Centre inconnu."), code="not_found", field="center")


def normalize_amenities(value: Any) -> list[str]:
    """A list of short texts (suggestion keys or free text), trimmed, without duplicates."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationFailed(_("Liste d'équipements invalide."), code="invalid", field="amenities")
    cleaned: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationFailed(_("Liste d'équipements invalide."), code="invalid", field="amenities")
        text = " ".join(item.split())
        if not text:
            continue
        if len(text) > MAX_AMENITY_LENGTH:
            raise ValidationFailed(
                _("Un équipement tient en %(count)d caractères au plus.") % {"count": MAX_AMENITY_LENGTH},
                code="too_long",
                field="amenities",
            )
        if text.casefold() not in {existing.casefold() for existing in cleaned}:
            cleaned.append(text)
    if len(cleaned) > MAX_AMENITIES:
        raise ValidationFailed(
            _("%(count)d équipements au plus.") % {"count": MAX_AMENITIES}, code="too_many", field="amenities"
        )
    return cleaned


def amenity_label(value: str) -> str:
    return str(AMENITY_LABELS.get(value, value))


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if isinstance(data.get("name"), str):
        data["name"] = " ".join(data["name"].split())
    if "amenities" in data:
        data["amenities"] = normalize_amenities(data["amenities"])
    return data


def _check_space(space: Space) -> None:
    if space.is_office and space.area_m2 is None:
        raise ValidationFailed(_("La surface est obligatoire pour un bureau."), code="area_required", field="area_m2")
    if space.capacity is None or space.capacity < 1:
        raise ValidationFailed(_("La capacité doit être d'au moins 1."), code="invalid", field="capacity")
    _check_duplicate(space)


def _check_duplicate(space: Space) -> None:
    if (
        space.center_id
        and space.name
        and Space.objects.filter(center_id=space.center_id, name__iexact=space.name).exclude(pk=space.pk).exists()
    ):
        raise ValidationFailed(_("Un espace de ce centre porte déjà ce nom."), code="duplicate_name", field="name")


def _save(space: Space) -> None:
    try:
        with transaction.atomic():
            space.save()
    except IntegrityError as exc:  # a concurrent insert with the same name
        raise ValidationFailed(
            _("Un espace de ce centre porte déjà ce nom."), code="duplicate_name", field="name"
        ) from exc


def _apply(space: Space, data: dict[str, Any], by: User) -> dict[str, list[Any]]:
    """Set the fields, check the center before the model validation (a foreign center is "unknown")."""
    data = _normalize(data)
    if "center" in data:
        check_center_allowed(by=by, organization=space.organization_id, center=data["center"])
    try:
        return apply_changes(space, data, SPACE_FIELDS)
    except ValidationFailed:
        _check_duplicate(space)  # the model's unique constraint speaks of no field: name it
        raise


# --------------------------------------------------------------------------------------------------
# Spaces
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_space(*, organization: Organization, by: User, data: dict[str, Any]) -> Space:
    rights.require(by, "catalog.add_space", organization)
    if data.get("center") is None:
        raise ValidationFailed(_("Ce champ est obligatoire."), code="required", field="center")
    space = Space(organization=organization)
    _apply(space, data, by)
    _check_space(space)
    _save(space)
    journal.record(actor=by, action="space.created", obj=space, changes=journal.snapshot(space, SPACE_FIELDS))
    return space


@transaction.atomic
def update_space(*, space: Space, by: User, data: dict[str, Any]) -> Space:
    rights.require(by, "catalog.change_space", space.organization_id)
    space = Space.objects.select_for_update().get(pk=space.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=space.center)
    changes = _apply(space, data, by)
    if changes:
        _check_space(space)
        _save(space)
        journal.record(actor=by, action="space.updated", obj=space, changes=changes)
    return space


@transaction.atomic
def set_space_active(*, space: Space, by: User, active: bool) -> Space:
    """Deactivate (archive) a space: it stays in the documents that name it but is no longer offered."""
    rights.require(by, "catalog.change_space", space.organization_id)
    space = Space.objects.select_for_update().get(pk=space.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=space.center)
    if space.is_active != active:
        space.is_active = active
        space.save(update_fields=["is_active"])
        journal.record(
            actor=by, action="space.reactivated" if active else "space.deactivated", obj=space,
            changes={"is_active": [not active, active]},
        )  # fmt: skip
    return space


@transaction.atomic
def delete_space(*, space: Space, by: User) -> None:
    """Delete a space nothing refers to (quotes, contracts, bookings...); otherwise refuse: deactivate it."""
    rights.require(by, "catalog.delete_space", space.organization_id)
    space = Space.objects.select_for_update().get(pk=space.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=space.center)
    files = [photo.image.name for photo in space.photos.all() if photo.image]
    storage = SpacePhoto._meta.get_field("image").storage
    snapshot = journal.snapshot(space, SPACE_FIELDS)
    pk, name = space.pk, space.name
    try:
        with transaction.atomic():
            space.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise DomainError(
            _("Cet espace est utilisé (devis, contrats, réservations…) : désactivez-le plutôt."), code="in_use"
        ) from exc
    space.pk = pk
    journal.record(actor=by, action="space.deleted", obj=space, changes=snapshot, message=name)
    transaction.on_commit(lambda: [storage.delete(name) for name in files])


def space_is_used(space: Space) -> bool:
    """Whether deleting the space would be refused (something refers to it): checked without deleting."""
    from django.db import router
    from django.db.models.deletion import Collector

    collector = Collector(using=router.db_for_write(Space))
    try:
        collector.collect([space])
    except (ProtectedError, RestrictedError):
        return True
    return False


# --------------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------------
def check_image(upload: Any) -> str:
    """The upload must be a real JPEG, PNG or WebP image of 5 MB at most: returns its file extension."""
    if upload is None or not hasattr(upload, "read"):
        raise ValidationFailed(_("Choisissez une image."), code="required", field="image")
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size > MAX_PHOTO_BYTES:
        raise ValidationFailed(_("L'image dépasse 5 Mo."), code="too_large", field="image")
    if size == 0:
        raise ValidationFailed(_("Le fichier est vide."), code="empty", field="image")
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationFailed(
            _("Ce fichier n'est pas une image JPEG, PNG ou WebP valide."), code="invalid_image", field="image"
        ) from exc
    finally:
        upload.seek(0)
    if image_format not in PHOTO_FORMATS:
        raise ValidationFailed(_("Formats acceptés : JPEG, PNG ou WebP."), code="invalid_format", field="image")
    if width * height > MAX_PHOTO_PIXELS:
        raise ValidationFailed(_("L'image est trop grande (en pixels)."), code="too_large", field="image")
    return PHOTO_FORMATS[image_format]


@transaction.atomic
def add_space_photo(*, space: Space, by: User, image: Any, caption: str = "") -> SpacePhoto:
    rights.require(by, "catalog.change_space", space.organization_id)
    space = Space.objects.select_for_update().get(pk=space.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=space.center)
    extension = check_image(image)
    caption = " ".join((caption or "").split())
    if len(caption) > 200:
        raise ValidationFailed(_("La légende tient en 200 caractères au plus."), code="too_long", field="caption")
    count = space.photos.count()
    if count >= MAX_PHOTOS:
        raise ValidationFailed(
            _("%(count)d photos au plus par espace.") % {"count": MAX_PHOTOS}, code="too_many", field="image"
        )
    last = space.photos.order_by("-position").values_list("position", flat=True).first()
    photo = SpacePhoto(space=space, caption=caption, position=(last + 1) if last is not None else 0)
    photo.image.save(f"{secrets.token_hex(8)}.{extension}", File(image), save=False)
    photo.save()
    journal.record(actor=by, action="space.photo_added", obj=space, changes={"photo": caption or photo.image.name})
    return photo


@transaction.atomic
def update_space_photo(*, photo: SpacePhoto, by: User, caption: str) -> SpacePhoto:
    space = photo.space
    rights.require(by, "catalog.change_space", space.organization_id)
    photo = SpacePhoto.objects.select_for_update().select_related("space").get(pk=photo.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=photo.space.center)
    caption = " ".join((caption or "").split())
    if len(caption) > 200:
        raise ValidationFailed(_("La légende tient en 200 caractères au plus."), code="too_long", field="caption")
    if caption != photo.caption:
        before = photo.caption
        photo.caption = caption
        photo.save(update_fields=["caption"])
        journal.record(actor=by, action="space.photo_updated", obj=photo.space, changes={"caption": [before, caption]})
    return photo


@transaction.atomic
def remove_space_photo(*, photo: SpacePhoto, by: User) -> None:
    space = photo.space
    rights.require(by, "catalog.change_space", space.organization_id)
    photo = SpacePhoto.objects.select_for_update().select_related("space__center").get(pk=photo.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=photo.space.center)
    storage, name = photo.image.storage, photo.image.name
    label = photo.caption or name
    photo.delete()
    journal.record(actor=by, action="space.photo_removed", obj=photo.space, changes={"photo": label})
    if name:
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def reorder_space_photos(*, space: Space, by: User, order: Sequence[int]) -> list[SpacePhoto]:
    """`order`: the ids of every photo of the space, in the new order."""
    rights.require(by, "catalog.change_space", space.organization_id)
    space = Space.objects.select_for_update().get(pk=space.pk)
    check_center_allowed(by=by, organization=space.organization_id, center=space.center)
    photos = {photo.pk: photo for photo in space.photos.all()}
    try:
        wanted = [int(pk) for pk in order]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Ordre invalide."), code="invalid", field="order") from exc
    if sorted(wanted) != sorted(photos) or len(set(wanted)) != len(wanted):
        raise ValidationFailed(_("Indiquez chaque photo de l'espace une fois."), code="invalid", field="order")
    before = [pk for pk in photos]
    changed = []
    for position, pk in enumerate(wanted):
        photo = photos[pk]
        if photo.position != position:
            photo.position = position
            changed.append(photo)
    if changed:
        SpacePhoto.objects.bulk_update(changed, ["position"])
        journal.record(actor=by, action="space.photos_reordered", obj=space, changes={"order": [before, wanted]})
    return sorted(photos.values(), key=lambda photo: photo.position)


def move_space_photo(*, photo: SpacePhoto, by: User, offset: int) -> list[SpacePhoto]:
    """Move one photo up (-1) or down (+1) among its space's photos."""
    space = photo.space
    ids = list(space.photos.order_by("position", "id").values_list("pk", flat=True))
    index = ids.index(photo.pk)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    return reorder_space_photos(space=space, by=by, order=ids)
