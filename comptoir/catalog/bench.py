"""Benchmarks of the catalog's floor plans.

Generator step (order 150): in the `bench` tenant, a floor (PLAN_FLOOR of its first center) with 200
drawn spaces on a 2,000 × 1,000 plan (a grid of offices, some L-shaped, one in 20 inactive) — the size of
a large business-center floor, not scaled.

`floorplan.svg.200` times the plan's SVG as the page and the API make it: the floor's spaces read through
the ORM, their states from the occupancy providers (the sales app's contracts query), the drawing. The raw
baseline is the SQL that reads the same 200 spaces.
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from comptoir.bench.generator import SCALED_TENANT, GeneratorContext
from comptoir.bench.harness import BenchContext
from comptoir.bench.registry import BenchError, Case, benchmark, register_generator_step
from comptoir.catalog.models import FloorPlan, Space
from comptoir.core.models import Center, Organization

PLAN_FLOOR = 99
PLAN_SPACES = 200
COLUMNS, ROWS = 20, 10
PLAN_WIDTH, PLAN_HEIGHT = 2000, 1000


def _shape(column: int, row: int, l_shaped: bool) -> list[list[float]]:
    cell_w, cell_h = PLAN_WIDTH / COLUMNS, PLAN_HEIGHT / ROWS
    x0, y0 = column * cell_w + 4, row * cell_h + 4
    x1, y1 = x0 + cell_w - 8, y0 + cell_h - 8
    if l_shaped:
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        return [[x0, y0], [x1, y0], [x1, ym], [xm, ym], [xm, y1], [x0, y1]]
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def floor_plan_with_200_spaces(gen: GeneratorContext) -> None:
    organization = gen.tenants.get(SCALED_TENANT) or Organization.objects.filter(slug=SCALED_TENANT).first()
    if organization is None:
        return
    center = Center.objects.filter(organization=organization).order_by("id").first()
    if center is None:
        return
    rng = gen.rng("floorplan")
    FloorPlan.objects.create(
        organization=organization, center=center, floor=PLAN_FLOOR, name="Plateau bench",
        width=PLAN_WIDTH, height=PLAN_HEIGHT,
    )  # fmt: skip
    gen.bulk_create(
        Space,
        (
            Space(
                organization=organization,
                center=center,
                floor=PLAN_FLOOR,
                name=f"Bureau {PLAN_FLOOR}-{index + 1:03d}",
                kind=Space.Kind.PRIVATE_OFFICE,
                capacity=rng.randint(1, 8),
                is_active=rng.random() >= 0.05,
                shape=_shape(index % COLUMNS, index // COLUMNS, rng.random() < 0.3),
            )
            for index in range(PLAN_SPACES)
        ),
    )


register_generator_step(150, floor_plan_with_200_spaces)


@benchmark("floorplan.svg.200")
def floorplan_svg_200(ctx: BenchContext) -> Case:
    """SVG of a floor plan with 200 drawn spaces (spaces, occupancy states, drawing)."""
    from comptoir.catalog.views.floorplans import plan_svg

    organization = ctx.organization(SCALED_TENANT)
    plan = FloorPlan.objects.filter(organization=organization, floor=PLAN_FLOOR).select_related("center").first()
    if plan is None:
        raise BenchError("The bench data set has no 200-space floor plan: run with --regenerate.")
    day: datetime.date = timezone.localdate()
    sql = (
        "SELECT id, name, shape, is_active FROM catalog_space "
        "WHERE organization_id = %s AND center_id = %s AND floor = %s ORDER BY name, id"
    )

    def run() -> str:
        return plan_svg(plan, day)[0]

    def raw() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, [plan.organization_id, plan.center_id, plan.floor])
            return cursor.fetchall()

    def check(image: str) -> int:
        drawn = image.count("<polygon")
        if drawn != PLAN_SPACES:
            raise BenchError(f"floorplan.svg.200 drew {drawn} polygons instead of {PLAN_SPACES}")
        return drawn

    return Case(run=run, raw=raw, rows=PLAN_SPACES, check=check)
