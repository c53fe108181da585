"""Floor plan services: plans with their background, and the shapes of their spaces (all or nothing)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.catalog.models import FloorPlan, Space
from comptoir.catalog.services import floorplans as services
from comptoir.catalog.tests.factories import FloorPlanFactory, SpaceFactory
from comptoir.core.errors import DomainError, RightsError, ValidationFailed
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import CenterFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def plan(org, center):
    return FloorPlanFactory(organization=org, center=center, floor=1, width=1000, height=600)


def square(x=10, y=10, size=100):
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]


# --------------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------------
def test_create_a_plan_with_a_png_background(org, center, admin):
    plan = services.create_floor_plan(
        organization=org, by=admin, data={"center": center, "floor": 2, "name": "2e étage", "width": 1200,
                                          "height": 800}, background=upload("plan.PNG", PNG),
    )  # fmt: skip
    plan.refresh_from_db()
    assert (plan.center, plan.floor, plan.width, plan.height) == (center, 2, 1200, 800)
    assert plan.background.name.startswith(f"org/{org.pk}/plans/{center.pk}/") and plan.background.name.endswith(".png")
    assert plan.background.read() == PNG
    assert services.background_content_type(plan) == "image/png"
    entry = AuditEntry.objects.get(action="floorplan.created", object_id=str(plan.pk))
    assert entry.changes["floor"] == 2 and entry.changes["background"] is True


@pytest.mark.parametrize(
    ("name", "content"),
    [("plan.jpg", JPEG), ("plan.jpeg", JPEG), ("plan.svg", SVG)],
)
def test_jpeg_and_svg_backgrounds_are_accepted(org, center, admin, name, content):
    plan = services.create_floor_plan(
        organization=org, by=admin, data={"center": center, "floor": 0}, background=upload(name, content)
    )
    assert plan.background.name.rsplit(".", 1)[-1] in {"jpg", "svg"}


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("plan.gif", b"GIF89a" + b"\x00" * 20, "bad_type"),
        ("plan.png", b"not an image at all", "bad_type"),  # the content decides, not the name
        ("plan.png", JPEG, "bad_type"),
        ("plan.pdf", b"%PDF-1.7", "bad_type"),
        ("plan.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "unsafe_svg"),
        ("plan.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><rect onload='alert(1)'/></svg>", "unsafe_svg"),
        (
            "plan.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg' xmlns:x='http://www.w3.org/1999/xlink'>"
            b"<image x:href='https://evil.example/x.png'/></svg>",
            "unsafe_svg",
        ),
        ("plan.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><foreignObject/></svg>", "unsafe_svg"),
        ("plan.svg", b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg xmlns='http://www.w3.org/2000/svg'/>", "unsafe_svg"),
        ("plan.svg", b"<svg><unclosed></svg>", "invalid_svg"),
        ("plan.svg", b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "invalid_svg"),
    ],
)
def test_a_background_of_a_wrong_type_or_unsafe_is_refused(org, center, admin, name, content, code):
    with pytest.raises(ValidationFailed) as caught:
        services.create_floor_plan(
            organization=org, by=admin, data={"center": center, "floor": 3}, background=upload(name, content)
        )
    assert caught.value.code == code and "background" in caught.value.fields
    assert not FloorPlan.objects.exists()


def test_a_too_large_background_is_refused(org, center, admin):
    big = upload("plan.png", PNG + b"\x00" * services.MAX_BACKGROUND_BYTES)
    with pytest.raises(ValidationFailed) as caught:
        services.create_floor_plan(organization=org, by=admin, data={"center": center, "floor": 3}, background=big)
    assert caught.value.code == "too_large"


def test_one_plan_per_floor_of_a_center(org, center, admin, plan):
    with pytest.raises(ValidationFailed) as caught:
        services.create_floor_plan(organization=org, by=admin, data={"center": center, "floor": plan.floor})
    assert caught.value.code == "duplicate_floor" and "floor" in caught.value.fields


def test_a_center_of_another_organization_is_unknown(org, admin, other_center):
    with pytest.raises(ValidationFailed) as caught:
        services.create_floor_plan(organization=org, by=admin, data={"center": other_center, "floor": 0})
    assert caught.value.fields.get("center") and not FloorPlan.objects.exists()


def test_staff_limited_to_other_centers_cannot_plan_this_one(org, center, staff_of):
    manager = staff_of("manager")
    manager.staff_memberships.get(organization=org).centers.set([CenterFactory(organization=org)])
    with pytest.raises(ValidationFailed):
        services.create_floor_plan(organization=org, by=manager, data={"center": center, "floor": 0})


def test_rights_add_and_change(org, center, staff_of, plan):
    reception = staff_of("reception")
    with pytest.raises(RightsError):
        services.create_floor_plan(organization=org, by=reception, data={"center": center, "floor": 5})
    with pytest.raises(RightsError):
        services.update_floor_plan(plan=plan, by=reception, data={"name": "x"})
    with pytest.raises(RightsError):
        services.save_shapes(plan=plan, by=reception, shapes={})


def test_update_and_replace_then_remove_the_background(org, center, admin, plan):
    plan = services.update_floor_plan(plan=plan, by=admin, data={"name": "Plateau"}, background=upload("a.png", PNG))
    assert plan.name == "Plateau" and plan.background
    plan = services.update_floor_plan(plan=plan, by=admin, data={}, remove_background=True)
    plan.refresh_from_db()
    assert not plan.background
    actions = list(AuditEntry.objects.filter(object_id=str(plan.pk)).values_list("action", flat=True))
    assert actions.count("floorplan.updated") == 2


def test_a_plan_cannot_shrink_below_its_drawn_spaces(org, center, admin, plan):
    SpaceFactory(organization=org, center=center, floor=1, shape=square(800, 400, 150))
    with pytest.raises(ValidationFailed) as caught:
        services.update_floor_plan(plan=plan, by=admin, data={"width": 900})
    assert caught.value.code == "shapes_outside"
    plan.refresh_from_db()
    assert plan.width == 1000


def test_unknown_fields_are_refused(admin, plan):
    with pytest.raises(ValidationFailed):
        services.update_floor_plan(plan=plan, by=admin, data={"organization": None})


# --------------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------------
def test_save_shapes_sets_and_clears_in_one_call_and_journals(org, center, admin, plan):
    drawn = SpaceFactory(organization=org, center=center, floor=1, name="Bureau A")
    erased = SpaceFactory(organization=org, center=center, floor=1, name="Bureau B", shape=square())
    services.save_shapes(plan=plan, by=admin, shapes={str(drawn.pk): [[0, 0], [500.123, 0], [500, 300]],
                                                       erased.pk: None})  # fmt: skip
    drawn.refresh_from_db()
    erased.refresh_from_db()
    assert drawn.shape == [[0, 0], [500.12, 0], [500, 300]] and erased.shape is None
    entry = AuditEntry.objects.get(action="floorplan.shapes_saved", object_id=str(plan.pk))
    assert entry.changes == {"drawn": ["Bureau A"], "cleared": ["Bureau B"]}


def test_saving_the_same_shapes_again_changes_nothing(org, center, admin, plan):
    space = SpaceFactory(organization=org, center=center, floor=1, shape=square())
    services.save_shapes(plan=plan, by=admin, shapes={space.pk: square()})
    assert not AuditEntry.objects.filter(action="floorplan.shapes_saved").exists()


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ([[0, 0], [10, 10]], "de 3 à 200 points"),
        ([[i, i % 7] for i in range(201)], "de 3 à 200 points"),
        ([[0, 0], [1001, 0], [500, 300]], "sort du plan"),
        ([[0, 0], [100, -1], [500, 300]], "sort du plan"),
        ([[0, 0], [100, "x"], [500, 300]], "paire de nombres"),
        ([[0, 0], [100, True], [500, 300]], "paire de nombres"),
        ([[0, 0], [100], [500, 300]], "paire de nombres"),
        ([[0, 0], [100, 0, 3], [500, 300]], "paire de nombres"),
        ([[0, 0], [50, 0], [100, 0]], "pas de surface"),
        ("0,0 10,10 20,0", "liste de points"),
        ({"x": 1}, "liste de points"),
    ],
)
def test_bad_polygons_are_refused_and_nothing_changes(org, center, admin, plan, shape, message):
    good = SpaceFactory(organization=org, center=center, floor=1)
    bad = SpaceFactory(organization=org, center=center, floor=1, name="Bureau Z", shape=square())
    with pytest.raises(ValidationFailed) as caught:
        services.save_shapes(plan=plan, by=admin, shapes={good.pk: square(), bad.pk: shape})
    assert list(caught.value.fields) == [f"shapes.{bad.pk}"]
    assert message in caught.value.fields[f"shapes.{bad.pk}"][0] and "Bureau Z" in caught.value.message
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.shape is None and bad.shape == square()  # all or nothing


def test_spaces_of_another_floor_center_or_organization_are_refused(org, center, admin, plan, other_org):
    other_floor = SpaceFactory(organization=org, center=center, floor=2)
    other_center = SpaceFactory(organization=org, center=CenterFactory(organization=org), floor=1)
    foreign = SpaceFactory(organization=other_org, floor=1)
    shapes = {other_floor.pk: square(), other_center.pk: square(), foreign.pk: square(), "abc": square()}
    with pytest.raises(ValidationFailed) as caught:
        services.save_shapes(plan=plan, by=admin, shapes=shapes)
    fields = caught.value.fields
    assert "n'est pas à cet étage" in fields[f"shapes.{other_floor.pk}"][0]
    assert "n'est pas à cet étage" in fields[f"shapes.{other_center.pk}"][0]
    assert fields[f"shapes.{foreign.pk}"] == ["Espace inconnu."]
    assert fields["shapes.abc"] == ["Identifiant d'espace invalide."]
    assert not Space.objects.filter(shape__isnull=False).exists()


@pytest.mark.parametrize("shapes", [None, [], "x", 3])
def test_shapes_must_be_an_object(admin, plan, shapes):
    with pytest.raises(DomainError) as caught:
        services.save_shapes(plan=plan, by=admin, shapes=shapes)
    assert "shapes" in caught.value.fields


def test_staff_of_another_organization_cannot_save_shapes(plan, other_admin):
    with pytest.raises(RightsError):
        services.save_shapes(plan=plan, by=other_admin, shapes={})
