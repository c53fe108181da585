# Helpers shared by the setup and test scripts (sourced, not run).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
COMPTOIR="$VENV/bin/comptoir"

if [[ -t 2 ]]; then _bold=$'\033[1m' _red=$'\033[31m' _yellow=$'\033[33m' _reset=$'\033[0m'; else _bold="" _red="" _yellow="" _reset=""; fi
say() { printf '%s==> %s%s\n' "$_bold" "$*" "$_reset" >&2; }
warn() { printf '%swarning:%s %s\n' "$_yellow" "$_reset" "$*" >&2; }
error() { printf '%serror:%s %s\n' "$_red" "$_reset" "$*" >&2; }
die() { error "$*"; exit 1; }

# The Python the project runs on: pyenv's newest 3.12, else python3.12 on PATH (3.13 as a last resort).
find_python() {
    local candidate
    if [[ -n "${COMPTOIR_PYTHON:-}" ]]; then
        echo "$COMPTOIR_PYTHON"
        return
    fi
    for candidate in $(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python 2>/dev/null | sort -V -r) \
        "$(command -v python3.12 || true)" \
        $(ls -d "$HOME"/.pyenv/versions/3.13.*/bin/python 2>/dev/null | sort -V -r) \
        "$(command -v python3.13 || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" -c 'import sys; assert (3, 12) <= sys.version_info[:2] < (3, 14)' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    die "Python 3.12 not found: install it (pyenv install 3.12) or set COMPTOIR_PYTHON=/path/to/python3.12"
}

# Run a command as root (directly, or through sudo when not root).
as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "'$*' needs root: run it as root, or install the Debian packages listed above yourself"
    fi
}

# apt_ensure COMMAND_OR_PATH PACKAGE...: install the Debian packages when the command (or file) is missing.
_apt_updated=""
apt_ensure() {
    local probe="$1"
    shift
    if [[ "$probe" == /* && -x "$probe" ]] || { [[ "$probe" != /* ]] && command -v "$probe" >/dev/null 2>&1; }; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "$probe is missing and this is not a Debian system: install $* yourself"
    say "Installing Debian packages: $* ($probe is missing)"
    if [[ -z "$_apt_updated" ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        _apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null
}

# Seconds since the epoch, for step timings.
now() { date +%s; }
