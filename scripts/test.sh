#!/usr/bin/env bash
# `make test`: lint, migrations check, the suite on SQLite, again on PostgreSQL, then the browser test.
#   scripts/test.sh [all|lint|migrations|sqlite|postgres|browser]...
# TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/comptoir) names the PostgreSQL database;
# PYTEST_WORKERS (default 2) the pytest-xdist workers; PYTEST_ARGS is added to every pytest run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/comptoir}"
PYTEST_WORKERS="${PYTEST_WORKERS:-2}"
read -r -a extra_args <<<"${PYTEST_ARGS:-}"
steps=("$@")
[[ ${#steps[@]} -eq 0 || "${steps[0]}" == all ]] && steps=(lint migrations sqlite postgres browser)

needs_browser=""
needs_services=""
for step in "${steps[@]}"; do
    case "$step" in
        browser) needs_browser=1 ;;
        postgres) needs_services=1 ;;
        lint | migrations | sqlite) ;;
        *) die "unknown step '$step' (all, lint, migrations, sqlite, postgres, browser)" ;;
    esac
done

timings=()
started_all=$(now)
print_timings() {
    local status=$?
    say "Timings"
    [[ ${#timings[@]} -gt 0 ]] && printf '  %s\n' "${timings[@]}" >&2
    printf '  %-40s %5ss\n' "total" "$(($(now) - started_all))" >&2
    [[ $status -eq 0 ]] || error "make test failed (exit $status)"
}
trap print_timings EXIT
run_step() {
    local name="$1" started
    shift
    say "$name"
    started=$(now)
    "$@"
    timings+=("$(printf '%-40s %5ss' "$name" "$(($(now) - started))")")
}

pytest_suite() {
    # The whole suite but the browser test, on SQLite ("") or on the PostgreSQL database URL given.
    local database_url="$1" workers=()
    [[ "$PYTEST_WORKERS" != 0 ]] && workers=(-n "$PYTEST_WORKERS")
    if [[ -n "$database_url" ]]; then
        DATABASE_URL="$database_url" "$VENV/bin/pytest" "${workers[@]}" -m "not browser" -r fEs "${extra_args[@]}"
    else
        env -u DATABASE_URL "$VENV/bin/pytest" "${workers[@]}" -m "not browser" -r fEs "${extra_args[@]}"
    fi
}

run_step "setup" "$ROOT/scripts/setup.sh" ${needs_browser:+--browser}
if [[ -n "$needs_services" ]]; then
    run_step "services (PostgreSQL, Redis)" "$ROOT/scripts/check-services.sh" "$TEST_DATABASE_URL"
fi

for step in "${steps[@]}"; do
    case "$step" in
        lint)
            run_step "ruff check" "$VENV/bin/ruff" check .
            run_step "ruff format --check" "$VENV/bin/ruff" format --check .
            ;;
        migrations)
            run_step "makemigrations --check" "$COMPTOIR" makemigrations --check --dry-run
            ;;
        sqlite)
            run_step "pytest on SQLite" pytest_suite ""
            ;;
        postgres)
            run_step "pytest on PostgreSQL" pytest_suite "$TEST_DATABASE_URL"
            ;;
        browser)
            run_step "browser test (Playwright + Chromium)" env -u DATABASE_URL "$VENV/bin/pytest" -m browser -r fEs "${extra_args[@]}" tests/browser
            ;;
    esac
done
