#!/usr/bin/env bash
# Refresh docs/screenshot.png (the README's picture): the browser test's back office home, in French,
# reduced to a 256-colour PNG so that it stays small.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
"$VENV/bin/pytest" -m browser -q tests/browser -k "test_back_office_menus and fr"
"$VENV/bin/python" - <<'PY'
from pathlib import Path

from PIL import Image

source, target = Path("var/screenshots/back-office-fr.png"), Path("docs/screenshot.png")
image = Image.open(source).convert("RGB")
image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)
print(f"{target}: {image.width}x{image.height}, {target.stat().st_size // 1024} KB")
PY
