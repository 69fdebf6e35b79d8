#!/usr/bin/env bash
# Ciclo — a private, throwaway PostgreSQL cluster for the tests and the demo.
#
#   scripts/pg.sh start    start it (initdb on first use) and print its URI
#   scripts/pg.sh stop     stop it
#   scripts/pg.sh uri      print the URI (exit 1 when it is not running)
#   scripts/pg.sh status   say whether it runs
#   scripts/pg.sh bindir   print the PostgreSQL bin directory (pg_dump, ...)
#   scripts/pg.sh psql [DB] [ARGS]  psql on database DB (default postgres)
#
# An external server wins: when CICLO_PG_URI is set (or TRYTOND_DATABASE__URI
# is a postgresql:// URI), `start` and `uri` just print it, `stop` does nothing.
#
# Otherwise the cluster lives in var/pgdata (socket in var/pgsock, log in
# var/pg.log), listens on 127.0.0.1 only, on the first free port from
# CICLO_PG_PORT (default 55432), and trusts every local connection: it is for
# tests on this machine, never for data that matters. PostgreSQL refuses to run
# as root, so as root the server runs as the `postgres` user (or a system user
# `ciclo-pg` created here), which owns the data directory. When that user
# cannot reach var/ (e.g. a checkout under /root) the cluster goes to
# /var/tmp/ciclo-pg-<hash of the checkout path> instead.
#
# Messages go to stderr; stdout carries only the URI, so
#     uri=$(scripts/pg.sh start)
# works.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"
BASE_PORT="${CICLO_PG_PORT:-55432}"
DB_SUPERUSER=postgres

say() { echo "pg.sh: $*" >&2; }
die() { echo "pg.sh: ERROR: $*" >&2; exit 1; }

external_uri() {
    if [ -n "${CICLO_PG_URI:-}" ]; then
        echo "$CICLO_PG_URI"
    elif [[ "${TRYTOND_DATABASE__URI:-}" == postgresql:* ]]; then
        echo "$TRYTOND_DATABASE__URI"
    fi
}

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
}

# Newest PostgreSQL bin directory that has pg_ctl; empty when none.
find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    if command -v pg_config >/dev/null; then
        d="$(pg_config --bindir)"
        [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
    fi
    if command -v pg_ctl >/dev/null; then
        d="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    fi
    return 0
}

ensure_bindir() {
    BINDIR="$(find_bindir)"
    if [ -z "$BINDIR" ]; then
        apt_install postgresql
        BINDIR="$(find_bindir)"
        [ -n "$BINDIR" ] || die "PostgreSQL installed but pg_ctl/initdb not found"
    fi
}

# The OS user that runs the server, and how to run a command as that user.
setup_user() {
    if [ "$(id -u)" != 0 ]; then
        RUN_USER="$(id -un)"
        as_user() { "$@"; }
        return
    fi
    if id -u postgres >/dev/null 2>&1; then
        RUN_USER=postgres
    else
        RUN_USER=ciclo-pg
        if ! id -u "$RUN_USER" >/dev/null 2>&1; then
            say "creating system user $RUN_USER to run PostgreSQL"
            useradd --system --user-group --no-create-home \
                --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER"
        fi
    fi
    as_user() { (cd / && runuser -u "$RUN_USER" -- "$@"); }
}

# Where the cluster lives: var/ when RUN_USER can reach it, else /var/tmp.
setup_paths() {
    local base="$VAR" sock
    mkdir -p "$VAR"
    sock="$base/pgsock/.s.PGSQL.$BASE_PORT"
    if ! as_user test -x "$VAR" 2>/dev/null || [ "${#sock}" -gt 100 ]; then
        base="/var/tmp/ciclo-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
        mkdir -p "$base"
        [ "$(id -u)" = 0 ] && chown "$RUN_USER": "$base"
        chmod 700 "$base"
    fi
    PGDATA_DIR="$base/pgdata"
    SOCK_DIR="$base/pgsock"
    LOG_FILE="$base/pg.log"
}

is_running() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] &&
        as_user "$BINDIR/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

current_port() {
    sed -n "s/^port *= *\([0-9]*\).*/\1/p" "$PGDATA_DIR/ciclo.conf" 2>/dev/null | tail -n 1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local p
    for p in $(seq "$BASE_PORT" $((BASE_PORT + 50))); do
        port_in_use "$p" || { echo "$p"; return; }
    done
    die "no free port in $BASE_PORT..$((BASE_PORT + 50))"
}

print_uri() {
    echo "postgresql://$DB_SUPERUSER@127.0.0.1:$1/"
}

init_cluster() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] && return
    say "initdb in $PGDATA_DIR ($("$BINDIR/postgres" --version))"
    rm -rf "$PGDATA_DIR"
    mkdir -p "$PGDATA_DIR"
    [ "$(id -u)" = 0 ] && chown "$RUN_USER": "$PGDATA_DIR"
    chmod 700 "$PGDATA_DIR"
    as_user "$BINDIR/initdb" -D "$PGDATA_DIR" -U "$DB_SUPERUSER" \
        --auth=trust --encoding=UTF8 --no-locale --no-sync --no-instructions >&2
    echo "include_if_exists = 'ciclo.conf'" >> "$PGDATA_DIR/postgresql.conf"
}

start() {
    local ext port
    ext="$(external_uri)"
    if [ -n "$ext" ]; then
        say "using external PostgreSQL (CICLO_PG_URI / TRYTOND_DATABASE__URI)"
        echo "$ext"
        return
    fi
    ensure_bindir
    setup_user
    setup_paths
    if is_running; then
        port="$(current_port)"
        say "already running on 127.0.0.1:$port ($PGDATA_DIR)"
        print_uri "$port"
        return
    fi
    init_cluster
    port="$(free_port)"
    mkdir -p "$SOCK_DIR"
    touch "$LOG_FILE"
    if [ "$(id -u)" = 0 ]; then
        chown "$RUN_USER": "$SOCK_DIR" "$LOG_FILE"
    fi
    # Settings for a throwaway test cluster. fsync, synchronous_commit and
    # full_page_writes off trade crash safety for speed: a power cut may lose
    # or corrupt this cluster, which only ever holds test and demo databases
    # that the scripts re-create. Never copy these settings to production.
    cat > "$PGDATA_DIR/ciclo.conf" <<EOF
# Written by scripts/pg.sh at each start; edits are overwritten.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK_DIR'
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
checkpoint_timeout = 30min
max_wal_size = 2GB
log_min_messages = warning
log_min_error_statement = panic
EOF
    [ "$(id -u)" = 0 ] && chown "$RUN_USER": "$PGDATA_DIR/ciclo.conf"
    say "starting PostgreSQL on 127.0.0.1:$port (data $PGDATA_DIR, log $LOG_FILE)"
    if ! as_user "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" -w -t 120 \
            start >/dev/null; then
        tail -n 30 "$LOG_FILE" >&2 || true
        die "PostgreSQL did not start"
    fi
    local i
    for i in $(seq 1 60); do
        "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_SUPERUSER" -d postgres && break
        sleep 0.5
    done
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_SUPERUSER" -d postgres || die "PostgreSQL is not ready"
    print_uri "$port"
}

stop() {
    if [ -n "$(external_uri)" ]; then
        say "external PostgreSQL: nothing to stop"
        return
    fi
    BINDIR="$(find_bindir)"
    [ -n "$BINDIR" ] || { say "PostgreSQL is not installed: nothing to stop"; return; }
    setup_user
    setup_paths
    if is_running; then
        as_user "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
        say "stopped ($PGDATA_DIR)"
    else
        say "not running"
    fi
}

uri() {
    local ext
    ext="$(external_uri)"
    if [ -n "$ext" ]; then echo "$ext"; return; fi
    BINDIR="$(find_bindir)"
    [ -n "$BINDIR" ] || die "PostgreSQL is not installed (run: scripts/pg.sh start)"
    setup_user
    setup_paths
    is_running || die "not running (run: scripts/pg.sh start)"
    print_uri "$(current_port)"
}

status() {
    if [ -n "$(external_uri)" ]; then echo "external: $(external_uri)"; return; fi
    BINDIR="$(find_bindir)"
    [ -n "$BINDIR" ] || { echo "not installed"; return 3; }
    setup_user
    setup_paths
    if is_running; then
        echo "running: $(print_uri "$(current_port)") data=$PGDATA_DIR"
    else
        echo "stopped: data=$PGDATA_DIR"
        return 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    uri) uri ;;
    status) status ;;
    bindir)
        b="$(find_bindir)"
        [ -n "$b" ] || die "PostgreSQL is not installed"
        echo "$b" ;;
    psql)
        shift
        dbname=postgres
        if [ $# -gt 0 ] && [[ "$1" != -* ]]; then dbname="$1"; shift; fi
        u="$(uri)"
        b="$(find_bindir)"
        psql_bin="psql"
        [ -n "$b" ] && [ -x "$b/psql" ] && psql_bin="$b/psql"
        rest="${u#*://}"
        exec "$psql_bin" "postgresql://${rest%%/*}/$dbname" "$@" ;;
    *)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2 ;;
esac
