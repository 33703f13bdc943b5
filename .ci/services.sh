#!/usr/bin/env bash
# Throw-away Redis 7 and PostgreSQL 15 servers on 127.0.0.1 for the server-backed tests.
#
# Sourced by .ci/run:   source .ci/services.sh; services_up; trap services_down EXIT
# By hand (dev):        eval "$(.ci/services.sh up)"   ...   .ci/services.sh down
# Installs the Debian packages only when a server is missing; picks free loopback ports; exports
# REDIS_URL and DATABASE_URL, and WEIR_SVC_DIR, WEIR_PG_CTL and WEIR_PG_RUNAS (where tests that restart a
# server start their own). PostgreSQL runs as the `postgres` user (initdb refuses root) with wal_level=logical for
# change data capture.

WEIR_SVC_DIR="${WEIR_SVC_DIR:-/tmp/weir-services}"

_svc_log() { echo "services: $*" >&2; }

_svc_free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

_svc_pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

_svc_install() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  # For the test that opens `weir report`'s page in a real browser (notebook/report.test.ts).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    _svc_log "installing ${missing[*]} from Debian"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

_svc_wait() { # _svc_wait <what> <command...>: up to 15 s
  local what=$1; shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  _svc_log "$what did not become ready"; return 1
}

services_up() {
  _svc_install
  rm -rf "$WEIR_SVC_DIR" && mkdir -p "$WEIR_SVC_DIR" && chmod 755 "$WEIR_SVC_DIR"
  local rport pport pgbin runas=""
  rport=$(_svc_free_port)
  pport=$(_svc_free_port)
  pgbin=$(_svc_pgbin)

  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$WEIR_SVC_DIR" \
    >"$WEIR_SVC_DIR/redis.log" 2>&1 &
  echo $! >"$WEIR_SVC_DIR/redis.pid"

  mkdir -p "$WEIR_SVC_DIR/pg"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$WEIR_SVC_DIR/pg"
    runas="runuser -u postgres --"
  fi
  $runas "$pgbin/initdb" -D "$WEIR_SVC_DIR/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  # synchronous_commit stays on: with it off, commits reach logical decoding late (flaky CDC).
  $runas "$pgbin/pg_ctl" -D "$WEIR_SVC_DIR/pg/data" -l "$WEIR_SVC_DIR/pg/log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $pport -k $WEIR_SVC_DIR/pg -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 -c max_slot_wal_keep_size=1GB -c fsync=off -c full_page_writes=off" \
    start >/dev/null
  echo "$runas" >"$WEIR_SVC_DIR/pg.runas"
  echo "$pgbin" >"$WEIR_SVC_DIR/pg.bin"

  _svc_wait redis-server redis-cli -h 127.0.0.1 -p "$rport" ping
  _svc_wait postgresql "$pgbin/pg_isready" -h 127.0.0.1 -p "$pport"
  export REDIS_URL="redis://127.0.0.1:$rport"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pport/postgres"
  # For the tests that restart PostgreSQL under a connected consumer (connectors/testing/servers.ts).
  export WEIR_SVC_DIR WEIR_PG_CTL="$pgbin/pg_ctl" WEIR_PG_RUNAS="$runas"
  _svc_log "redis $REDIS_URL, postgres $DATABASE_URL"
}

services_down() {
  if [ -f "$WEIR_SVC_DIR/redis.pid" ]; then
    local pid; pid=$(cat "$WEIR_SVC_DIR/redis.pid")
    kill "$pid" 2>/dev/null || true
    # `wait` only works for our own child (the sourced CI case); `down` from another shell polls.
    wait "$pid" 2>/dev/null || while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$WEIR_SVC_DIR/redis.pid"
  fi
  if [ -f "$WEIR_SVC_DIR/pg.bin" ]; then
    $(cat "$WEIR_SVC_DIR/pg.runas") "$(cat "$WEIR_SVC_DIR/pg.bin")/pg_ctl" -D "$WEIR_SVC_DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -f "$WEIR_SVC_DIR/pg.bin"
  fi
  case "$WEIR_SVC_DIR" in /tmp/weir-*) rm -rf "$WEIR_SVC_DIR" ;; esac
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    up)
      services_up
      # The servers outlive this shell: print the variables for the caller to eval.
      echo "export REDIS_URL='$REDIS_URL' DATABASE_URL='$DATABASE_URL' WEIR_SVC_DIR='$WEIR_SVC_DIR' WEIR_PG_CTL='$WEIR_PG_CTL' WEIR_PG_RUNAS='$WEIR_PG_RUNAS'"
      ;;
    down) services_down ;;
    *) echo "usage: $0 up|down   (WEIR_SVC_DIR=$WEIR_SVC_DIR)" >&2; exit 2 ;;
  esac
fi
