#!/usr/bin/env bash
# `make run`: set up, migrate the SQLite database under var/, load the demo, serve http://$ADDR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ADDR="${ADDR:-127.0.0.1:8000}"
export DEBUG="${DEBUG:-1}"  # development: static files from the finders, e-mails written under var/mail
export SITE_URL="${SITE_URL:-http://$ADDR}"

"$ROOT/scripts/setup.sh"

say "Database (migrate)"
"$COMPTOIR" migrate --noinput

say "Demo organization (comptoir demo)"
demo_output="$("$COMPTOIR" demo 2>&1 | tee /dev/stderr)" || die "comptoir demo failed"

login="$(grep -iE '@|workspace|log in' <<<"$demo_output" || true)"
cat >&2 <<BANNER

------------------------------------------------------------------------------------------------
 Comptoir runs at http://$ADDR/
   back office    http://$ADDR/manage/      (staff login below)
   client portal  http://$ADDR/portal/
   public pages   http://$ADDR/  ·  http://$ADDR/o/demo/
   API docs       http://$ADDR/api/v1/docs/
${login:+
 From comptoir demo:
$login
}------------------------------------------------------------------------------------------------

BANNER
exec "$COMPTOIR" runserver "$ADDR"
