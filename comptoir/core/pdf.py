"""PDF documents with Typst (PyPI `typst`): a .typ template reads its data from `sys.inputs`, as JSON.

    pdf_bytes = render_pdf("sales/quote.typ", {"quote": {...}}, logo=organization_logo_bytes)

Templates live in each app's `typst/` folder (`comptoir/<app>/typst/<name>.typ`); the shared layout is
`comptoir/core/typst/layout.typ`, imported as `#import "/core/layout.typ": *`. The data is plain JSON
(`json(bytes(sys.inputs.data))`), with amounts already formatted the French way by the caller, so a
template never does arithmetic on money. When a logo is given, `sys.inputs.logo` is its path ("/logo").
A one-page document renders in a few milliseconds.
"""

from __future__ import annotations

import datetime
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import typst
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent  # the comptoir package


class PdfError(RuntimeError):
    """A template that does not compile: a bug of ours, never the user's input."""


def render_pdf(
    template: str,
    data: dict[str, Any],
    *,
    logo: bytes | None = None,
    when: datetime.datetime | None = None,
    pdf_standards: list[str] | None = None,
) -> bytes:
    """Compile `comptoir/<app>/typst/<file>` (named "<app>/<file>") with `data`; `pdf_standards` such as
    ["a-3b"] (PDF/A-3b, what Factur-X asks for)."""
    app, _, name = template.partition("/")
    source = ROOT / app / "typst" / name
    if not source.is_file():
        raise PdfError(f"No Typst template {source}")
    inputs = {"data": json.dumps(data, ensure_ascii=False, default=str)}
    # Typst reads files only under its root: a small temporary root with the layout, the app's
    # templates and the logo (a few kilobytes copied per document).
    with tempfile.TemporaryDirectory(prefix="comptoir-pdf-") as folder:
        root = Path(folder)
        shutil.copytree(ROOT / "core" / "typst", root / "core")
        if app != "core":
            shutil.copytree(source.parent, root / app)
        if logo:
            (root / "logo").write_bytes(logo)
            inputs["logo"] = "/logo"
        try:
            result = typst.compile(
                str(root / app / name),
                root=str(root),
                sys_inputs=inputs,
                pdf_standards=pdf_standards or [],
                timestamp=(when or timezone.now()).replace(microsecond=0),
            )
        except typst.TypstError as exc:
            raise PdfError(f"{exc.message}\n{exc.diagnostic}") from exc
    if not isinstance(result, bytes):
        raise PdfError("Typst returned no PDF")
    return result
