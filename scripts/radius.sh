#!/usr/bin/env bash
# Ciclo — a private FreeRADIUS for the provisioning tests (isp_provisioning).
#
#   scripts/radius.sh start [DB]   start it (installing Debian's freeradius when
#                                  missing) on database DB (default ciclo_radius)
#                                  of the test PostgreSQL; prints its env
#   scripts/radius.sh stop         stop it
#   scripts/radius.sh status       say whether it runs (exit 3 when not)
#   scripts/radius.sh env          print CICLO_RADIUS_* (exit 1 when not running)
#   scripts/radius.sh debug [DB]   run it in the foreground with -X
#
# The server is Debian's freeradius 3.x with a configuration written here in
# var/radius/raddb (the stock dictionary and the SQL queries are copied from
# /etc/freeradius/3.0; everything else is replaced so no module needs files,
# certificates or services this machine does not have). It answers only on
# 127.0.0.1, on the first free UDP port from CICLO_RADIUS_PORT (default
# 51812, unprivileged), to the client 127.0.0.1 with a random secret, and
# authorizes users from the rlm_sql tables (radcheck, radreply,
# radusergroup, radgroupreply, ...) of database DB, created with the package's
# schema.sql when absent. PostgreSQL is the one of scripts/pg.sh (started when
# needed; an external server given by CICLO_PG_URI / TRYTOND_DATABASE__URI
# wins). FreeRADIUS connects over TCP as the cluster's superuser, so it works
# whichever OS user runs the cluster (postgres, ciclo-pg or the caller).
#
# `env` (and `start`) print shell assignments on stdout:
#     CICLO_RADIUS_HOST=127.0.0.1 CICLO_RADIUS_PORT=51812
#     CICLO_RADIUS_SECRET=... CICLO_RADIUS_DB_URI=postgresql://.../ciclo_radius
# Messages go to stderr. Log: var/radius/radius.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/var/radius"
RADDB="$DIR/raddb"
STATE="$DIR/env"
PIDFILE="$DIR/radiusd.pid"
LOG_FILE="$DIR/radius.log"
BASE_PORT="${CICLO_RADIUS_PORT:-51812}"
STOCK=/etc/freeradius/3.0

say() { echo "radius.sh: $*" >&2; }
die() { echo "radius.sh: ERROR: $*" >&2; exit 1; }

apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to apt-get install $*"
        sudo=sudo
    fi
    say "installing Debian packages: $*"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "$@" >&2
    # The package enables and starts the system-wide service where it can;
    # it listens on the standard ports and is not ours to run.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now freeradius >/dev/null 2>&1 || true
    fi
}

freeradius_bin() {
    command -v freeradius 2>/dev/null || { [ -x /usr/sbin/freeradius ] && echo /usr/sbin/freeradius; } || true
}

ensure_installed() {
    if [ -z "$(freeradius_bin)" ] || ! command -v radclient >/dev/null ||
            [ ! -e /usr/lib/freeradius/rlm_sql_postgresql.so ] ||
            ! command -v psql >/dev/null; then
        apt_install freeradius freeradius-postgresql freeradius-utils postgresql-client
    fi
    [ -n "$(freeradius_bin)" ] || die "freeradius installed but not found on PATH"
}

is_running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# A UDP port is free when we can bind it (bash's /dev/udp cannot tell).
udp_free() {
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
EOF
}

free_port() {
    local p
    for p in $(seq "$BASE_PORT" $((BASE_PORT + 50))); do
        # FreeRADIUS also binds port+1 for accounting when asked; we only
        # listen for auth, but keep clear of a neighbour's pair.
        udp_free "$p" && { echo "$p"; return; }
    done
    die "no free UDP port in $BASE_PORT..$((BASE_PORT + 50))"
}

# psql on database $1 of the test server ($PG_URI ends with '/').
psql_db() {
    local db="$1"; shift
    psql "${PG_URI%/}/$db" -XqAt -v ON_ERROR_STOP=1 "$@"
}

ensure_database() {
    local db="$1" rest
    [[ "$db" =~ ^[A-Za-z0-9_]+$ ]] || die "database name must be letters, digits and _: $db"
    if [ "$(psql_db postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        say "creating database $db"
        psql_db postgres -c "CREATE DATABASE \"$db\"" >&2 ||
            [ "$(psql_db postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ||
            die "could not create database $db"
    fi
    if [ -z "$(psql_db "$db" -c "SELECT to_regclass('radcheck')")" ]; then
        say "creating the FreeRADIUS schema in $db"
        # Read here (the file is root:freerad 0640) and piped, so the OS user
        # of the cluster never needs to read it.
        psql_db "$db" -1 < "$STOCK/mods-config/sql/main/postgresql/schema.sql" >&2
    fi
}

# Split postgresql://user[:password]@host:port/ into the sql module's settings.
pg_parts() {
    local rest="${PG_URI#*://}" auth hostport
    rest="${rest%%/*}"
    auth="postgres"
    if [[ "$rest" == *@* ]]; then auth="${rest%@*}"; hostport="${rest##*@}"; else hostport="$rest"; fi
    PG_LOGIN="${auth%%:*}"
    PG_PASSWORD=""
    [[ "$auth" == *:* ]] && PG_PASSWORD="${auth#*:}"
    PG_HOST="${hostport%%:*}"
    PG_PORT=5432
    [[ "$hostport" == *:* ]] && PG_PORT="${hostport##*:}"
    [ -n "$PG_HOST" ] || PG_HOST=127.0.0.1
}

write_config() {
    local db="$1" port="$2" secret="$3"
    rm -rf "$RADDB"
    mkdir -p "$RADDB/mods-config/sql/main" "$DIR/log" "$DIR/run"
    cp "$STOCK/dictionary" "$RADDB/dictionary"
    cp -r "$STOCK/mods-config/sql/main/postgresql" "$RADDB/mods-config/sql/main/"
    pg_parts
    cat > "$RADDB/radiusd.conf" <<EOF
# Written by scripts/radius.sh at each start; edits are overwritten.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $DIR/log
raddbdir = $RADDB
radacctdir = $DIR/log
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = $DIR/run
db_dir = $DIR
libdir = /usr/lib/freeradius
pidfile = $PIDFILE
max_request_time = 10
cleanup_delay = 0
max_requests = 1024
hostname_lookups = no
correct_escapes = true

log {
    destination = files
    file = $LOG_FILE
    colourise = no
    auth = yes
    auth_badpass = no
    auth_goodpass = no
}

security {
    allow_core_dumps = no
    max_attributes = 200
    # Tests send one request at a time and check the answer: no delay.
    reject_delay = 0
    status_server = yes
}

thread pool {
    start_servers = 2
    max_servers = 4
    min_spare_servers = 1
    max_spare_servers = 2
    max_requests_per_server = 0
}

client ciclo_loopback {
    ipaddr = 127.0.0.1
    secret = $secret
    require_message_authenticator = no
    nas_type = other
}

modules {
    pap {
    }
    # %{tolower:...} in the stock SQL queries comes from rlm_expr.
    expr {
    }
    always reject {
        rcode = reject
    }

    sql {
        dialect = "postgresql"
        driver = "rlm_sql_\${dialect}"
        server = "$PG_HOST"
        port = $PG_PORT
        login = "$PG_LOGIN"
        password = "$PG_PASSWORD"
        radius_db = "$db"
        acct_table1 = "radacct"
        acct_table2 = "radacct"
        postauth_table = "radpostauth"
        authcheck_table = "radcheck"
        groupcheck_table = "radgroupcheck"
        authreply_table = "radreply"
        groupreply_table = "radgroupreply"
        usergroup_table = "radusergroup"
        client_table = "nas"
        read_groups = yes
        read_profiles = no
        delete_stale_sessions = yes
        pool {
            start = 1
            min = 1
            max = 4
            spare = 1
            uses = 0
            retry_delay = 1
            lifetime = 0
            idle_timeout = 60
        }
        read_clients = no
        group_attribute = "SQL-Group"
        \$INCLUDE \${modconfdir}/\${.:name}/main/\${dialect}/queries.conf
    }
}

instantiate {
}

server ciclo {
    listen {
        type = auth
        ipaddr = 127.0.0.1
        port = $port
    }
    authorize {
        sql
        # A user the SQL tables do not know has no password: reject.
        if (notfound) {
            reject
        }
        pap
    }
    authenticate {
        Auth-Type PAP {
            pap
        }
    }
    post-auth {
        # A rejected user gets no speed or pool attributes back.
        Post-Auth-Type REJECT {
            update {
                &reply: !* ANY
            }
        }
    }
}
EOF
    chmod 600 "$RADDB/radiusd.conf"
}

pg_start() {
    PG_URI="$("$ROOT/scripts/pg.sh" start)"
    [[ "$PG_URI" == postgresql:* ]] || die "FreeRADIUS needs PostgreSQL, got $PG_URI"
    local bindir
    if bindir="$("$ROOT/scripts/pg.sh" bindir 2>/dev/null)" && [ -x "$bindir/psql" ]; then
        export PATH="$bindir:$PATH"
    fi
    command -v psql >/dev/null || die "psql not found"
}

print_env() {
    cat "$STATE"
}

start() {
    local db="${1:-${CICLO_RADIUS_DB:-ciclo_radius}}" port secret
    ensure_installed
    mkdir -p "$DIR"
    # Two test runs may start it at the same time: one at a time.
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "timeout waiting for $DIR/.lock"
    pg_start
    if is_running && [ -f "$STATE" ] &&
            grep -qx "CICLO_RADIUS_DB_URI=${PG_URI%/}/$db" "$STATE"; then
        say "already running ($(grep PORT "$STATE"))"
        ensure_database "$db"
        print_env
        return
    fi
    is_running && stop_locked
    ensure_database "$db"
    port="$(free_port)"
    secret="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    write_config "$db" "$port" "$secret"
    : > "$LOG_FILE"
    rm -f "$PIDFILE"
    # Check the configuration first: its errors are clearer than a dead daemon.
    if ! "$(freeradius_bin)" -XC -d "$RADDB" -n radiusd >"$DIR/check.log" 2>&1; then
        tail -n 30 "$DIR/check.log" >&2
        die "FreeRADIUS rejected its configuration (see $DIR/check.log)"
    fi
    say "starting FreeRADIUS on 127.0.0.1:$port (database $db, log $LOG_FILE)"
    # -f: no fork, so the pid is ours; setsid + nohup detach it from the
    # caller's terminal and process group (pytest, make).
    setsid nohup "$(freeradius_bin)" -f -d "$RADDB" -n radiusd \
        >>"$LOG_FILE" 2>&1 < /dev/null 9>&- &
    echo $! > "$PIDFILE"
    cat > "$STATE" <<EOF
CICLO_RADIUS_HOST=127.0.0.1
CICLO_RADIUS_PORT=$port
CICLO_RADIUS_SECRET=$secret
CICLO_RADIUS_DB_URI=${PG_URI%/}/$db
EOF
    # Ready when it answers Status-Server.
    local i
    for i in $(seq 1 50); do
        is_running || break
        if echo "Message-Authenticator = 0x00" |
                radclient -q -r 1 -t 1 "127.0.0.1:$port" status "$secret" >/dev/null 2>&1; then
            print_env
            return
        fi
        sleep 0.2
    done
    tail -n 30 "$LOG_FILE" >&2 || true
    rm -f "$STATE"
    die "FreeRADIUS did not start (log $LOG_FILE)"
}

stop_locked() {
    if is_running; then
        local pid i
        pid="$(cat "$PIDFILE")"
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        say "stopped (pid $pid)"
    else
        say "not running"
    fi
    rm -f "$PIDFILE" "$STATE"
}

stop() {
    mkdir -p "$DIR"
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "timeout waiting for $DIR/.lock"
    stop_locked
}

status() {
    if is_running && [ -f "$STATE" ]; then
        echo "running: pid $(cat "$PIDFILE") $(tr '\n' ' ' < "$STATE" | sed 's/CICLO_RADIUS_SECRET=[^ ]* //')"
    else
        echo "stopped"
        return 3
    fi
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    env)
        is_running && [ -f "$STATE" ] || die "not running (run: scripts/radius.sh start)"
        print_env ;;
    debug)
        shift
        start "$@" >/dev/null
        env_text="$(print_env)"
        stop_locked
        echo "$env_text" >&2
        exec "$(freeradius_bin)" -X -d "$RADDB" -n radiusd ;;
    *)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2 ;;
esac
