#!/usr/bin/env bash
# Prepare a checkout to run or test Comptoir. Idempotent: run it as often as you like.
#   scripts/setup.sh            Debian gettext, Python 3.12 venv (.venv, by uv from uv.lock), npm assets, translations
#   scripts/setup.sh --browser  the same, plus Debian's chromium for the browser tests
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

with_browser=""
[[ "${1:-}" == "--browser" ]] && with_browser=1

# --- Debian packages (installed only when missing) --------------------------------------------------
apt_ensure msgfmt gettext
if [[ -n "$with_browser" ]]; then
    apt_ensure /usr/bin/chromium chromium
fi

# --- Python environment: uv installs exactly what uv.lock says -----------------------------------------
PYTHON="$(find_python)"
find_uv() {
    if command -v uv >/dev/null 2>&1; then
        echo uv
    elif "$PYTHON" -m uv --version >/dev/null 2>&1; then
        echo "$PYTHON -m uv"
    elif [[ -x "$HOME/.cache/comptoir/uv-bootstrap/bin/uv" ]]; then
        echo "$HOME/.cache/comptoir/uv-bootstrap/bin/uv"
    else
        return 1
    fi
}
if ! UV="$(find_uv)"; then
    say "Installing uv for $PYTHON"
    if ! "$PYTHON" -m pip install --user --quiet uv; then
        warn "pip install --user uv failed; installing uv into a bootstrap venv instead"
        "$PYTHON" -m venv "$HOME/.cache/comptoir/uv-bootstrap"
        "$HOME/.cache/comptoir/uv-bootstrap/bin/python" -m pip install --quiet uv
    fi
    UV="$(find_uv)" || die "uv could not be installed"
fi
say "Python environment (.venv, $("$PYTHON" --version), uv.lock)"
UV_PYTHON_DOWNLOADS=never $UV sync --frozen --quiet --python "$PYTHON"

# --- Front-end assets (Bootstrap, Bootstrap Icons, htmx) from package-lock.json -------------------------
command -v npm >/dev/null 2>&1 || die "npm is missing: install Node.js 20 (with npm)"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "Front-end assets (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
fi

# --- Translations (.po → .mo; the .mo files are not committed) -------------------------------------------
if find comptoir -name '*.po' -path '*/LC_MESSAGES/*' | grep -q .; then
    say "Translations (compilemessages)"
    "$COMPTOIR" compilemessages --ignore=.venv --ignore=node_modules --ignore=var >/dev/null
fi
