"""Every write of the floor plans: create and update a plan (with its background file), and save the
shapes of its spaces in one call.

Keyword-only functions that check the actor's rights, validate, run in one transaction and write the
audit journal. The back office views and the API call these and nothing else.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from xml.etree import ElementTree

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.catalog.models import FloorPlan, Space
from comptoir.catalog.selectors.floorplans import plan_spaces
from comptoir.catalog.svg import is_finite
from comptoir.core import journal, rights
from comptoir.core.errors import NotFound, ValidationFailed
from comptoir.core.models import Center, Organization, User
from comptoir.core.selectors import allowed_center_ids
from comptoir.core.services import apply_changes

FLOORPLAN_FIELDS = ["center", "floor", "name", "width", "height"]
MAX_BACKGROUND_BYTES = 5 * 1024 * 1024
MIN_POINTS, MAX_POINTS = 3, 200
MAX_SHAPES = 2000
BACKGROUND_TYPES = {"png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml"}

_SVG_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener"}
_SAFE_HREF = re.compile(r"^(#|data:image/(png|jpeg|gif|webp);base64,)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _check_center(by: User, organization: Organization | int, center: Center | None) -> None:
    org_id = organization if isinstance(organization, int) else organization.pk
    if center is None:
        raise ValidationFailed(_("Choisissez un centre."), code="required", field="center")
    restricted = allowed_center_ids(by, org_id)
    if center.organization_id != org_id or (restricted is not None and center.pk not in restricted):
        raise ValidationFailed(_("Objet inconnu."), code="not_found", field="center")


def _check_floor_free(plan: FloorPlan, data: dict[str, Any]) -> None:
    """Checked before the model validation, so that the message points at the floor."""
    center, floor = data.get("center", plan.center_id and plan.center), data.get("floor", plan.floor)
    if not isinstance(center, Center) or not isinstance(floor, int):
        return
    if FloorPlan.objects.filter(center_id=center.pk, floor=floor).exclude(pk=plan.pk).exists():
        raise ValidationFailed(_("Ce centre a déjà un plan pour cet étage."), code="duplicate_floor", field="floor")


def _check_shapes_fit(plan: FloorPlan) -> None:
    """A plan may not shrink below the shapes already drawn on it."""
    for shape in plan_spaces(plan).exclude(shape__isnull=True).values_list("shape", flat=True):
        if shape and any(x > plan.width or y > plan.height for x, y in shape):
            raise ValidationFailed(
                _("Des espaces dessinés dépassent ces dimensions : agrandissez le plan ou redessinez-les."),
                code="shapes_outside",
                field="width",
            )


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def _check_svg(content: bytes) -> None:
    """An SVG background must be a plain drawing: no DOCTYPE/entities, scripts, event handlers, embedded
    documents or external links. (It is also served with `Content-Security-Policy: sandbox` and only
    shown through `<image>`, where scripts never run.)"""
    refused = ValidationFailed(
        _("Ce fichier SVG contient des scripts, des liens externes ou des entités : exportez-le en dessin simple."),
        code="unsafe_svg",
        field="background",
    )
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise refused
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise ValidationFailed(_("Ce fichier SVG est illisible."), code="invalid_svg", field="background") from exc
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise ValidationFailed(_("Ce fichier n'est pas un SVG."), code="invalid_svg", field="background")
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1].lower()
        if tag in _SVG_FORBIDDEN_TAGS:
            raise refused
        for name, value in element.attrib.items():
            attribute = name.rsplit("}", 1)[-1].lower()
            if attribute.startswith("on"):
                raise refused
            if attribute in ("href", "src") and not _SAFE_HREF.match(value.strip()):
                raise refused
            if "url(" in value.lower() and not re.fullmatch(r"\s*url\(\s*#[\w.-]+\s*\)\s*", value):
                raise refused
        if tag == "style" and ("@import" in (element.text or "") or "url(" in (element.text or "").lower()):
            raise refused


def check_background(upload: UploadedFile) -> str:
    """The file's type ("png", "jpg" or "svg") once checked: size, content (not only the name)."""
    if upload.size is None or upload.size > MAX_BACKGROUND_BYTES:
        raise ValidationFailed(
            _("Le fond de plan dépasse %(size)s Mo.") % {"size": MAX_BACKGROUND_BYTES // (1024 * 1024)},
            code="too_large",
            field="background",
        )
    upload.seek(0)
    content = upload.read()
    upload.seek(0)
    kind = _sniff(content[:16])
    extension = (upload.name or "").rsplit(".", 1)[-1].lower()
    if kind is None and extension == "svg":
        _check_svg(content)
        kind = "svg"
    if kind is None or extension not in {"png", "jpg", "jpeg", "svg"} or (extension == "jpeg" and kind != "jpg"):
        raise ValidationFailed(
            _("Le fond de plan doit être une image PNG, JPEG ou un fichier SVG."), code="bad_type", field="background"
        )
    if {"jpeg": "jpg"}.get(extension, extension) != kind:
        raise ValidationFailed(
            _("Le contenu du fichier ne correspond pas à son extension."), code="bad_type", field="background"
        )
    return kind


def _store_background(plan: FloorPlan, upload: UploadedFile, kind: str) -> None:
    old = plan.background.name if plan.background else ""
    plan.background.save(f"{secrets.token_hex(8)}.{kind}", upload, save=False)
    if old:
        name = old
        transaction.on_commit(lambda: plan.background.storage.delete(name))


def background_content_type(plan: FloorPlan) -> str:
    extension = plan.background.name.rsplit(".", 1)[-1].lower() if plan.background else ""
    return BACKGROUND_TYPES.get({"jpeg": "jpg"}.get(extension, extension), "application/octet-stream")


def _save_plan(plan: FloorPlan) -> None:
    plan.updated_at = timezone.now()
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:  # a concurrent plan for the same floor
        raise ValidationFailed(
            _("Ce centre a déjà un plan pour cet étage."), code="duplicate_floor", field="floor"
        ) from exc


# --------------------------------------------------------------------------------------------------
# Floor plans
# --------------------------------------------------------------------------------------------------
@transaction.atomic
def create_floor_plan(
    *, organization: Organization, by: User, data: dict[str, Any], background: UploadedFile | None = None
) -> FloorPlan:
    rights.require(by, "catalog.add_floorplan", organization)
    plan = FloorPlan(organization=organization)
    _check_floor_free(plan, data)
    apply_changes(plan, data, FLOORPLAN_FIELDS)
    _check_center(by, organization, plan.center)
    kind = check_background(background) if background else None
    if background and kind:
        _store_background(plan, background, kind)
    _save_plan(plan)
    journal.record(
        actor=by, action="floorplan.created", obj=plan,
        changes={"center": plan.center.name, "floor": plan.floor, "width": plan.width, "height": plan.height,
                 "background": bool(background)},
    )  # fmt: skip
    return plan


@transaction.atomic
def update_floor_plan(
    *,
    plan: FloorPlan,
    by: User,
    data: dict[str, Any],
    background: UploadedFile | None = None,
    remove_background: bool = False,
) -> FloorPlan:
    rights.require(by, "catalog.change_floorplan", plan.organization_id)
    plan = FloorPlan.objects.select_for_update().get(pk=plan.pk)
    _check_center(by, plan.organization_id, plan.center)
    _check_floor_free(plan, data)
    had_background = bool(plan.background)
    changes = apply_changes(plan, data, FLOORPLAN_FIELDS)
    if "center" in changes:
        _check_center(by, plan.organization_id, plan.center)
    _check_shapes_fit(plan)
    if background:
        kind = check_background(background)
        _store_background(plan, background, kind)
        changes["background"] = [had_background, True]
    elif remove_background and plan.background:
        name = plan.background.name
        storage = plan.background.storage
        plan.background = ""
        transaction.on_commit(lambda: storage.delete(name))
        changes["background"] = [True, False]
    if changes:
        _save_plan(plan)
        journal.record(actor=by, action="floorplan.updated", obj=plan, changes=changes)
    return plan


# --------------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------------
def _polygon(raw: Any, plan: FloorPlan) -> tuple[list[list[float]] | None, str | None]:
    """(the cleaned polygon, None) or (None, the error message)."""
    if not isinstance(raw, list | tuple):
        return None, _("Un polygone est une liste de points [x, y].")
    if not MIN_POINTS <= len(raw) <= MAX_POINTS:
        return None, _("Un polygone a de %(min)s à %(max)s points.") % {"min": MIN_POINTS, "max": MAX_POINTS}
    points: list[list[float]] = []
    for point in raw:
        if not isinstance(point, list | tuple) or len(point) != 2 or not all(is_finite(v) for v in point):
            return None, _("Chaque point est une paire de nombres [x, y].")
        x, y = point
        if not (0 <= x <= plan.width and 0 <= y <= plan.height):
            return None, _("Le point (%(x)s, %(y)s) sort du plan (%(width)s × %(height)s).") % {
                "x": x, "y": y, "width": plan.width, "height": plan.height,
            }  # fmt: skip
        points.append([round(float(x), 2), round(float(y), 2)])
    area = sum(
        points[i][0] * points[(i + 1) % len(points)][1] - points[(i + 1) % len(points)][0] * points[i][1]
        for i in range(len(points))
    )
    if abs(area) < 1e-6:
        return None, _("Ce polygone n'a pas de surface.")
    return points, None


@transaction.atomic
def save_shapes(*, plan: FloorPlan, by: User, shapes: dict[Any, Any]) -> FloorPlan:
    """Set (a list of points) or clear (None) the shape of some of the plan's spaces, all or nothing.

    Errors are reported per space under `shapes.<space id>`.
    """
    rights.require(by, "catalog.change_floorplan", plan.organization_id)
    plan = FloorPlan.objects.select_for_update().select_related("center").get(pk=plan.pk)
    restricted = allowed_center_ids(by, plan.organization_id)
    if restricted is not None and plan.center_id not in restricted:
        raise NotFound(_("Objet inconnu."))
    if not isinstance(shapes, dict):
        raise ValidationFailed(_("Les formes sont un objet {id de l'espace: points}."), code="invalid", field="shapes")
    if len(shapes) > MAX_SHAPES:
        raise ValidationFailed(_("Trop d'espaces en une fois."), code="too_many", field="shapes")
    wanted: dict[int, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in shapes.items():
        try:
            space_id = int(key)
        except (TypeError, ValueError):
            errors.setdefault(f"shapes.{key}"[:80], []).append(_("Identifiant d'espace invalide."))
            continue
        wanted[space_id] = value
    found = {
        space.pk: space
        for space in Space.objects.filter(organization_id=plan.organization_id, pk__in=list(wanted)).only(
            "id", "name", "center_id", "floor", "shape"
        )
    }
    cleaned: dict[int, list[list[float]] | None] = {}
    for space_id, value in wanted.items():
        field = f"shapes.{space_id}"
        space = found.get(space_id)
        if space is None:
            errors.setdefault(field, []).append(_("Espace inconnu."))
            continue
        if space.center_id != plan.center_id or space.floor != plan.floor:
            errors.setdefault(field, []).append(
                _("L'espace « %(name)s » n'est pas à cet étage de ce centre.") % {"name": space.name}
            )
            continue
        if value is None:
            cleaned[space_id] = None
            continue
        polygon, error = _polygon(value, plan)
        if error:
            errors.setdefault(field, []).append(f"{space.name} : {error}")
        else:
            cleaned[space_id] = polygon
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="invalid_shape", fields=errors)
    changed = [found[space_id] for space_id, shape in cleaned.items() if found[space_id].shape != shape]
    drawn, cleared = [], []
    for space in changed:
        space.shape = cleaned[space.pk]
        (drawn if space.shape else cleared).append(space.name)
    if changed:
        Space.objects.bulk_update(changed, ["shape"])
        plan.updated_at = timezone.now()
        plan.save(update_fields=["updated_at"])
        journal.record(
            actor=by, action="floorplan.shapes_saved", obj=plan, changes={"drawn": drawn, "cleared": cleared}
        )
    return plan
