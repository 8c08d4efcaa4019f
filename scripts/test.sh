#!/usr/bin/env bash
# scripts/test.sh — the single command that runs all of Flotilla's tests.
#
# What it does, in order:
#   1. Makes sure PostgreSQL server binaries exist (installs Debian's
#      `postgresql` package with apt-get if they do not).
#   2. Creates a throwaway PostgreSQL cluster in a fresh temp dir, owned by the
#      `postgres` user, listening on 127.0.0.1 on a free port (55432 upwards),
#      with its unix socket inside the temp dir. Role `flotilla` (password
#      `flotilla`, LOGIN SUPERUSER, since tests create and drop their own
#      databases) and database `flotilla` are created in it.
#   3. Exports FLOTILLA_TEST_POSTGRES_URL=postgres://flotilla:flotilla@127.0.0.1:PORT/flotilla
#   4. Makes a Python virtual environment under target/pyvenv (reused when it
#      holds the pinned versions) with schemathesis, the API fuzzer, and the real
#      OpenStack clients (openstackclient, senlinclient, zunclient, openstacksdk,
#      keystoneauth1), and exports FLOTILLA_TEST_SCHEMATHESIS=<its st> for
#      crates/cli/tests/api_fuzz.rs and FLOTILLA_TEST_OPENSTACK=<its openstack>
#      for crates/cli/tests/openstack_*.rs, and selenium for the dashboard's
#      browser test (FLOTILLA_TEST_SELENIUM_PYTHON=<its python>).
#   5. Makes sure the testbed's tools exist (dockerd, fuse-overlayfs, nsenter, ip,
#      iptables; installs their Debian packages with apt-get if not).
#   5b. Makes sure Debian's chromium and chromium-driver exist (apt-get if not) and
#      exports FLOTILLA_TEST_CHROMIUM and FLOTILLA_TEST_CHROMEDRIVER for
#      crates/cli/tests/dashboard_browser.rs.
#   6. Runs `cargo nextest run --workspace --no-fail-fast "$@"` (installing
#      cargo-nextest first if it is missing, and cargo-deb at its pinned version
#      for the Debian package's test) and exits with its exit code.
#   The cluster is stopped and the temp dir removed on exit, whatever happens.
#
# Environment knobs:
#   FLOTILLA_TEST_POSTGRES_URL=...  Already set by the caller: skip all the
#                                   PostgreSQL setup above and use that URL.
#   FLOTILLA_TEST_ONLY_DB=1         Set up the database only: print the URL,
#                                   check it with psql (connect with the
#                                   password, create and drop a scratch
#                                   database), then, if arguments were given,
#                                   run them as a command with the URL exported
#                                   (e.g. `FLOTILLA_TEST_ONLY_DB=1 scripts/test.sh bash`
#                                   for a shell with a live database), and exit
#                                   without running cargo.
#
# Meant to run as root on a fresh Debian 12 machine (CI); as a non-root user it
# runs initdb/pg_ctl as that user and cannot install packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '==> %s\n' "$*"; }
die() { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

PG_BIN=""
PG_TMP=""
PG_DATA=""
PG_STARTED=0

# Run a command as the `postgres` user (initdb and postgres refuse to run as
# root). `cd /` first so the postgres user is not left in an unreadable cwd.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local rc=$?
    if [ "$PG_STARTED" -eq 1 ]; then
        step "stopping PostgreSQL test cluster"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 \
            || as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 \
            || true
    fi
    if [ -n "$PG_TMP" ] && [ -d "$PG_TMP" ]; then
        rm -rf -- "$PG_TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Newest /usr/lib/postgresql/<ver>/bin that has initdb (the real binaries, not
# wrappers such as /usr/local/bin/pg_ctl or postgresql-common's /usr/bin ones).
find_pg_bin() {
    local initdb
    # shellcheck disable=SC2012  # paths are /usr/lib/postgresql/<version>/...
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$initdb" ] && dirname "$initdb"
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Docker tests build their images offline from a static busybox (no registry exists).
ensure_busybox() {
    [ -x /bin/busybox ] && return 0
    [ "$(id -u)" -eq 0 ] || die "/bin/busybox is missing and we are not root to apt-get busybox-static"
    step "installing busybox-static with apt-get (for offline test images)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static
}

# The testbed (crates/testkit/src/testbed) makes hosts of network namespaces, each with a Docker
# Engine of its own on fuse-overlayfs, entered with nsenter; its tests run as root, never skip.
ensure_testbed_tools() {
    local missing=() tool package
    for tool in dockerd:docker.io docker:docker.io fuse-overlayfs:fuse-overlayfs nsenter:util-linux ip:iproute2 iptables:iptables; do
        package=${tool#*:}
        tool=${tool%%:*}
        command -v "$tool" >/dev/null 2>&1 || missing+=("$package")
    done
    [ -e /dev/fuse ] || die "/dev/fuse is missing: the testbed's engines need fuse-overlayfs"
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "testbed tools missing (${missing[*]}) and we are not root to apt-get them"
    step "installing ${missing[*]} with apt-get (for the testbed)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

setup_postgres() {
    step "looking for PostgreSQL server binaries"
    PG_BIN=$(find_pg_bin || true)
    if [ -z "$PG_BIN" ]; then
        [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and we are not root to apt-get it"
        step "installing PostgreSQL with apt-get"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
        PG_BIN=$(find_pg_bin || true)
        [ -n "$PG_BIN" ] || die "no initdb under /usr/lib/postgresql/*/bin after installing postgresql"
    fi
    step "using $("$PG_BIN/postgres" --version) from $PG_BIN"

    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        step "creating system user postgres"
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi

    # Short path under /tmp on purpose: the unix socket path must stay short,
    # and the postgres user must be able to reach it.
    PG_TMP=$(mktemp -d /tmp/flotilla-pg.XXXXXX)
    PG_DATA="$PG_TMP/data"
    local sockdir="$PG_TMP/sock" log="" pwfile="$PG_TMP/pwfile"
    mkdir -p "$sockdir"
    # Password for the bootstrap `postgres` superuser: required by initdb because
    # TCP connections use password auth; nothing uses it (we go in by the socket).
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$pwfile"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$PG_TMP"
    fi
    chmod 700 "$PG_TMP"

    step "initdb in $PG_DATA"
    # local (unix socket) connections: trust; TCP connections: scram-sha-256,
    # so the password in the URL really is checked.
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C --no-sync --no-instructions >"$PG_TMP/initdb.log" 2>&1 \
        || { cat "$PG_TMP/initdb.log" >&2; die "initdb failed"; }
    rm -f -- "$pwfile"

    local port="" p
    for p in $(seq 55432 55531); do
        if port_in_use "$p"; then
            continue
        fi
        step "starting PostgreSQL on 127.0.0.1:$p"
        log="$PG_TMP/postgres-$p.log"
        if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$log" -w -t 60 \
            -o "-p $p -k $sockdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1; then
            port=$p
            PG_STARTED=1
            break
        fi
        if grep -qiE 'could not bind|address already in use|could not create .*socket' "$log" 2>/dev/null; then
            step "port $p is busy, trying the next one"
            continue
        fi
        cat "$log" >&2 || true
        die "PostgreSQL failed to start"
    done
    [ -n "$port" ] || die "no free port found in 55432-55531"

    step "waiting for PostgreSQL to accept connections"
    local i
    for i in $(seq 1 60); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            break
        fi
        [ "$i" -lt 60 ] || { cat "$log" >&2; die "PostgreSQL did not become ready"; }
        sleep 0.5
    done

    step "creating role flotilla and database flotilla"
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE flotilla WITH LOGIN SUPERUSER PASSWORD 'flotilla'" \
        -c "CREATE DATABASE flotilla OWNER flotilla"

    export FLOTILLA_TEST_POSTGRES_URL="postgres://flotilla:flotilla@127.0.0.1:$port/flotilla"
}

check_db() {
    local psql="psql"
    [ -n "$PG_BIN" ] && psql="$PG_BIN/psql"
    step "checking the database with psql"
    "$psql" -X -v ON_ERROR_STOP=1 "$FLOTILLA_TEST_POSTGRES_URL" -tA \
        -c "SELECT current_user || ' @ ' || version()" \
        -c "CREATE DATABASE flotilla_only_db_check" \
        -c "DROP DATABASE flotilla_only_db_check" \
        -c "SELECT 'ok'"
}

if [ -n "${FLOTILLA_TEST_POSTGRES_URL:-}" ]; then
    step "FLOTILLA_TEST_POSTGRES_URL is set by the caller; skipping PostgreSQL setup"
else
    setup_postgres
fi
step "FLOTILLA_TEST_POSTGRES_URL=$FLOTILLA_TEST_POSTGRES_URL"

if [ "${FLOTILLA_TEST_ONLY_DB:-}" = "1" ]; then
    check_db
    if [ "$#" -gt 0 ]; then
        step "running: $*"
        set +e
        "$@"
        rc=$?
        set -e
        exit "$rc"
    fi
    step "FLOTILLA_TEST_ONLY_DB=1: not running cargo"
    exit 0
fi

# The Python tools of the tests, pinned so runs are repeatable: the API fuzzer
# (crates/cli/tests/api_fuzz.rs) and the real OpenStack clients (crates/cli/tests/openstack_*.rs,
# senlin_clients.rs). python-senlinclient 3.1.0 (the last: Senlin is retired) formats its output
# with plain functions, which osc-lib 4 refuses ("Invalid formatter provided."): osc-lib stays at
# 3.2.0, with the python-openstackclient and cliff releases that go with it.
PY_PINS=(
    schemathesis==4.32.5
    python-openstackclient==7.5.1
    osc-lib==3.2.0
    cliff==4.9.1
    python-senlinclient==3.1.0
    python-zunclient==5.5.0
    openstacksdk==4.22.0
    keystoneauth1==5.18.1
    selenium==4.35.0
)
ensure_pyvenv() {
    local venv="target/pyvenv" missing=() pin installed
    if [ ! -x "$venv/bin/pip" ]; then
        if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
            [ "$(id -u)" -eq 0 ] || die "python3 with venv is missing and we are not root to apt-get it"
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv
        fi
        rm -rf "$venv"
        python3 -m venv "$venv"
    fi
    installed=$("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null | tr '[:upper:]_' '[:lower:]-')
    for pin in "${PY_PINS[@]}"; do
        grep -qx -- "$pin" <<<"$installed" || missing+=("$pin")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        step "Python tools found in $venv (${PY_PINS[*]})"
    else
        step "installing ${missing[*]} in $venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PINS[@]}"
    fi
    local bin
    bin="$(cd "$venv/bin" && pwd)"
    export FLOTILLA_TEST_SCHEMATHESIS="$bin/st"
    export FLOTILLA_TEST_OPENSTACK="$bin/openstack"
    export FLOTILLA_TEST_SELENIUM_PYTHON="$bin/python"
}

# The dashboard's browser test (crates/cli/tests/dashboard_browser.rs) drives Debian's chromium
# through chromium-driver, from selenium in the venv above.
ensure_browser() {
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        [ "$(id -u)" -eq 0 ] || die "chromium or chromedriver is missing and we are not root to apt-get them"
        step "installing chromium and chromium-driver with apt-get (for the dashboard's browser test)"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
    fi
    FLOTILLA_TEST_CHROMIUM="$(command -v chromium)" || die "no chromium after installing it"
    FLOTILLA_TEST_CHROMEDRIVER="$(command -v chromedriver)" || die "no chromedriver after installing chromium-driver"
    export FLOTILLA_TEST_CHROMIUM FLOTILLA_TEST_CHROMEDRIVER
    step "browser: $("$FLOTILLA_TEST_CHROMIUM" --version 2>/dev/null || echo chromium)"
}

ensure_busybox
ensure_testbed_tools
ensure_pyvenv
ensure_browser

if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

# crates/cli/tests/debian_package.rs builds the .deb with it (scripts/package-deb.sh).
CARGO_DEB_VERSION=2.9.3
if [ "$(cargo deb --version 2>/dev/null)" != "$CARGO_DEB_VERSION" ]; then
    step "installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

step "cargo nextest run --workspace --no-fail-fast $*"
set +e
cargo nextest run --workspace --no-fail-fast "$@"
rc=$?
set -e
step "cargo nextest exited with $rc"
exit "$rc"
