"""The floor plan as an SVG image, drawn on the server: a pure function of the plan, its spaces, their
states and two URL builders (so the bench can time it, and the page, the API and the file share it).

- viewBox = the plan's width × height; the background (image or SVG file) as an `<image>` pointing to a
  URL that serves it after the tenancy checks (an uploaded SVG is never inlined: inside `<image>` its
  scripts never run);
- one `<a href="space page"><polygon/></a>` per drawn space, filled with its state's color, with a
  `<title>` (name and state, for screen readers and tooltips) and a label at the polygon's centroid;
- a legend (the four states and their counts) in the top-left corner.

Every text (space and plan names are user data) is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from html import escape

from django.utils.translation import gettext as _

from comptoir.catalog import occupancy
from comptoir.catalog.models import FloorPlan, Space

COLORS = {
    occupancy.FREE: "#198754",
    occupancy.OCCUPIED: "#dc3545",
    occupancy.RESERVED: "#fd7e14",
    occupancy.UNAVAILABLE: "#6c757d",
}
SVG_NS = "http://www.w3.org/2000/svg"


def _number(value: float) -> str:
    """Coordinates without useless decimals: 12 → "12", 12.345 → "12.35"."""
    if value == int(value):
        return str(int(value))
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def centroid(points: list[list[float]]) -> tuple[float, float]:
    """The polygon's centroid (shoelace formula); the mean of its points when its area is zero."""
    area = cx = cy = 0.0
    count = len(points)
    for index in range(count):
        x0, y0 = points[index]
        x1, y1 = points[(index + 1) % count]
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-9:
        return sum(p[0] for p in points) / count, sum(p[1] for p in points) / count
    return cx / (3 * area), cy / (3 * area)


def _points(shape: list[list[float]]) -> str:
    return " ".join(f"{_number(x)},{_number(y)}" for x, y in shape)


def render(
    plan: FloorPlan,
    spaces: Iterable[Space],
    states: Mapping[int, str],
    *,
    space_url: Callable[[Space], str | None],
    background_url: str | None = None,
    css_class: str = "floorplan-svg",
) -> str:
    """The SVG document (a string). `spaces`: Space instances or SpaceRow (pk, name, shape, is_active);
    `space_url(space)` gives each polygon's link (None: no link)."""
    width, height = plan.width, plan.height
    unit = max(min(width, height) / 36, 6.0)  # text size, in plan units
    out: list[str] = [
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'class="{escape(css_class)}" role="group" font-family="system-ui, sans-serif">',
        f'<title translate="no">{escape(str(plan))}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if background_url:
        out.append(
            f'<image href="{escape(background_url)}" x="0" y="0" width="{width}" height="{height}" '
            'preserveAspectRatio="xMidYMid meet"/>'
        )
    counts = dict.fromkeys(occupancy.STATES, 0)
    drawn = 0
    # computed once per plan, not per space
    labels = {state: escape(str(occupancy.LABELS[state])) for state in occupancy.STATES}
    stroke, font, halo = _number(unit / 5), _number(unit), _number(unit / 4)
    for space in spaces:
        if not space.shape:
            continue
        drawn += 1
        state = states.get(space.pk, occupancy.FREE)
        if state not in COLORS:
            state = occupancy.FREE
        counts[state] += 1
        color = COLORS[state]
        name = escape(space.name)
        x, y = centroid(space.shape)
        shape = (
            f'<title translate="no">{name} — {labels[state]}</title>'
            f'<polygon points="{_points(space.shape)}" fill="{color}" fill-opacity="0.45" stroke="{color}" '
            f'stroke-width="{stroke}"/>'
            f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="middle" dominant-baseline="central" '
            f'font-size="{font}" fill="#212529" stroke="#ffffff" stroke-width="{halo}" '
            f'paint-order="stroke" pointer-events="none" text-decoration="none" translate="no">{name}</text>'
        )
        url = space_url(space)
        attributes = f'class="space space-{state}" data-space="{space.pk}" data-state="{state}"'
        if url:
            out.append(f'<a href="{escape(url)}" {attributes}>{shape}</a>')
        else:
            out.append(f"<g {attributes}>{shape}</g>")
    if drawn:
        out.append(_legend(counts, unit))
    else:
        out.append(
            f'<text x="{_number(width / 2)}" y="{_number(height / 2)}" text-anchor="middle" '
            f'dominant-baseline="central" font-size="{_number(unit * 1.4)}" fill="#6c757d" class="empty">'
            f"{escape(_('Aucun espace n’est encore dessiné sur ce plan.'))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _legend(counts: Mapping[str, int], unit: float) -> str:
    line = unit * 1.6
    box_width = unit * 12
    parts = [
        f'<g class="legend" pointer-events="none" transform="translate({_number(unit)},{_number(unit)})">',
        f'<rect x="0" y="0" width="{_number(box_width)}" height="{_number(line * len(occupancy.STATES) + unit)}" '
        f'rx="{_number(unit / 3)}" fill="#ffffff" fill-opacity="0.9" stroke="#adb5bd" '
        f'stroke-width="{_number(unit / 10)}"/>',
    ]
    for index, state in enumerate(occupancy.STATES):
        y = unit / 2 + index * line
        parts.append(
            f'<rect x="{_number(unit / 2)}" y="{_number(y + unit * 0.2)}" width="{_number(unit)}" '
            f'height="{_number(unit)}" fill="{COLORS[state]}" fill-opacity="0.7" stroke="{COLORS[state]}"/>'
            f'<text x="{_number(unit * 2)}" y="{_number(y + unit * 0.7)}" dominant-baseline="central" '
            f'font-size="{_number(unit)}" fill="#212529">'
            f"{escape(str(occupancy.LABELS[state]))} ({counts.get(state, 0)})</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def is_finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
