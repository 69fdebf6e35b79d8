#!/usr/bin/env bash
# Ciclo — run the whole test suite on a real PostgreSQL.
#
#   scripts/test.sh                 pytest over addons/ and tests/
#   scripts/test.sh -k boleto -x    extra arguments go to pytest
#   scripts/test.sh addons/br_boleto_cnab    paths replace the default ones
#   make test ARGS='-k boleto'      the same through make (builds .venv first)
#
# Database: the private cluster of scripts/pg.sh (started here and stopped
# again at the end when it was not already running), or an external server
# given by CICLO_PG_URI / TRYTOND_DATABASE__URI=postgresql://... For a quick
# run without PostgreSQL: TRYTOND_DATABASE__URI=sqlite:// scripts/test.sh
#
# What trytond 8.0's test framework (trytond/tests/test_tryton.py) reads:
#   TRYTOND_DATABASE__URI  backend and server, e.g. postgresql://postgres@127.0.0.1:55432/
#                          (a config file in TRYTOND_CONFIG would win over it,
#                          so TRYTOND_CONFIG is unset here)
#   DB_NAME                database the tests create and drop; here
#                          test_ciclo_<pid of this script>, unique per run
#                          (the framework's default is test_<unix time>;
#                          with SQLite it is :memory:)
#   DB_CACHE               folder of pg_dump'ed activated databases, restored
#                          with pg_restore instead of re-activating modules;
#                          keyed by module names only, so this script points it
#                          at var/db_cache/<hash of the module sources>
#   DB_CACHE_JOBS          pg_dump/pg_restore -j (default: CPU count)
# conftest.py builds each cached database on the cached one of its
# dependencies (the host modules are activated once per run) and gives each
# pytest-xdist worker its own database (DB_NAME_gw0, DB_NAME_gw1, ...).
#
# Parallel run: pytest-xdist with one worker per CPU (--dist loadfile: a
# file's tests stay on one worker). CICLO_TEST_JOBS=N sets the number of
# workers, CICLO_TEST_JOBS=1 runs in one process (as does passing -n
# yourself, or --pdb).
# PYTHONOPTIMIZE is unset: the tests rely on assert.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "test.sh: no .venv: run 'make venv' (or 'make test')" >&2; exit 1; }

unset PYTHONOPTIMIZE TRYTOND_CONFIG
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

started_pg=""
started_radius=""
# SQL on the test server (needs psql; prints nothing when it is missing).
pg_sql() {
    local rest="${TRYTOND_DATABASE__URI#*://}"
    command -v psql >/dev/null &&
        psql "postgresql://${rest%%/*}/postgres" -XtAq -v ON_ERROR_STOP=1 -c "$1" 2>/dev/null
}
cleanup() {
    # The isp_provisioning tests start a private FreeRADIUS when they need it
    # (scripts/radius.sh); stop it if it was not running before this run. It
    # goes first: its SQL connection would keep PostgreSQL running.
    if [ -n "$started_radius" ] && "$ROOT/scripts/radius.sh" status >/dev/null 2>&1; then
        "$ROOT/scripts/radius.sh" stop 2>/dev/null ||
            echo "test.sh: warning: could not stop FreeRADIUS (scripts/radius.sh stop)" >&2
    fi
    # Stop the private cluster only if this run started it and no other
    # client (another test run, a developer's psql) is connected to it.
    if [ -n "$started_pg" ] && [ -z "${CICLO_PG_KEEP:-}" ]; then
        local others
        others="$(pg_sql "SELECT count(*) FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" || echo 0)"
        if [ "${others:-0}" -gt 0 ]; then
            echo "test.sh: leaving PostgreSQL running ($others other connections)" >&2
        else
            env -u TRYTOND_DATABASE__URI -u CICLO_PG_URI "$ROOT/scripts/pg.sh" stop 2>/dev/null ||
                echo "test.sh: warning: could not stop PostgreSQL (scripts/pg.sh stop)" >&2
        fi
    fi
}
trap cleanup EXIT

# --- database ---------------------------------------------------------------
if [[ "${TRYTOND_DATABASE__URI:-}" == sqlite:* ]]; then
    uri="$TRYTOND_DATABASE__URI"
    export DB_NAME="${DB_NAME:-:memory:}"
else
    if [ -z "${CICLO_PG_URI:-}" ] && [[ "${TRYTOND_DATABASE__URI:-}" != postgresql:* ]] &&
            ! "$ROOT/scripts/pg.sh" status >/dev/null 2>&1; then
        started_pg=1
    fi
    uri="$("$ROOT/scripts/pg.sh" start)"
    # One database per run (test_ciclo_<pid>), so two runs on the same server
    # (two developers in one checkout, a run and a manual pytest) never drop
    # each other's database. The framework drops it after each test class.
    export DB_NAME="${DB_NAME:-test_ciclo_$$}"
fi
export TRYTOND_DATABASE__URI="$uri"

# pg_dump / pg_restore for DB_CACHE, matching the server's major version.
if bindir="$("$ROOT/scripts/pg.sh" bindir 2>/dev/null)"; then
    export PATH="$bindir:$PATH"
fi

# Databases left by runs that were killed (their process is gone).
if [[ "$uri" == postgresql:* ]]; then
    # Per xdist worker: _gw<N>; restore templates of conftest.py: _tpl_<hash>
    # (and _p<pid> while one is being restored).
    for stale in $(pg_sql "SELECT datname FROM pg_database
            WHERE datname ~ '^test_ciclo_[0-9]+(_gw[0-9]+|_tpl_[0-9a-f]+(_p[0-9]+)?)?$'" || true); do
        pid="${stale#test_ciclo_}"
        kill -0 "${pid%%_*}" 2>/dev/null && continue
        echo "test.sh: dropping $stale (left by a killed run)" >&2
        pg_sql "ALTER DATABASE \"$stale\" IS_TEMPLATE false" >/dev/null || true
        pg_sql "DROP DATABASE IF EXISTS \"$stale\" WITH (FORCE)" >/dev/null || true
    done
fi
if [[ "$uri" == postgresql:* ]] && ! command -v pg_restore >/dev/null; then
    echo "test.sh: warning: pg_dump/pg_restore not on PATH, DB_CACHE disabled" >&2
    export DB_CACHE=""
fi

# --- activated-database cache -----------------------------------------------
# trytond names a cached database after the activated modules only, so a cache
# made before a change to a module's models or XML would be restored as is.
# Key the folder by the sources that shape the database (module code and data,
# test helpers, pinned host versions); scenario texts and test_*.py files are
# left out as they never change what is activated. Old folders are removed.
if [ -z "${DB_CACHE+x}" ]; then
    key="$( { sha1sum requirements.txt pyproject.toml
              find addons tests -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
                  ! -name '*.rst' ! -name 'test_*.py' -print0 2>/dev/null |
                  sort -z | xargs -0 -r sha1sum; } | sha1sum | cut -c1-12)"
    mkdir -p var/db_cache
    find var/db_cache -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
    export DB_CACHE="$ROOT/var/db_cache/$key"
fi
[ -n "$DB_CACHE" ] || unset DB_CACHE

# --- pytest -----------------------------------------------------------------
args=("$@")
have_path=""
for a in "${args[@]}"; do
    [[ "$a" != -* ]] && [ -e "${a%%::*}" ] && have_path=1
done
paths=()
if [ -z "$have_path" ]; then
    for p in addons tests; do [ -d "$p" ] && paths+=("$p"); done
fi

# One pytest-xdist worker per CPU (two on the CI machine): about halves the
# run. A file stays on one worker, so a class's set-up runs once; files are
# handed out in conftest.py's order (database-free ones early).
jobs="${CICLO_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}"
xdist=()
for a in "${args[@]}"; do
    case "$a" in -n|-n*|--numprocesses*|--pdb|--trace|no:xdist) jobs=1 ;; esac
done
if [ "$jobs" -gt 1 ] && "$PY" -c 'import xdist' 2>/dev/null; then
    xdist=(-n "$jobs" --dist loadfile --no-loadscope-reorder)
fi

"$ROOT/scripts/radius.sh" status >/dev/null 2>&1 || started_radius=1
echo "test.sh: database $TRYTOND_DATABASE__URI name=$DB_NAME cache=${DB_CACHE:-off} workers=${xdist[1]:-1}" >&2
mkdir -p var
log="$ROOT/var/test-last.log"
set +e
"$PY" -m pytest -q --durations=25 "${xdist[@]}" "${paths[@]}" "${args[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

notes="$(cleanup 2>&1)"
started_pg=""
started_radius=""

summary="$(grep -E '^=*[ ]*(([0-9]+ (passed|failed|skipped|deselected|errors?|xfailed|xpassed|warnings?|subtests passed))(, )?)+.* in [0-9.]+s|no tests ran' "$log" | tail -n 1 || true)"
if [ "$rc" -eq 5 ]; then
    notes="${notes:+$notes
}test.sh: FAILED: pytest collected no tests (exit 5)"
    rc=1
fi
# Keep pytest's summary line the last line of the output.
if [ -n "$notes" ]; then
    echo "$notes"
    [ -n "$summary" ] && echo "$summary"
fi
exit "$rc"
