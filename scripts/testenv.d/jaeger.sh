#!/usr/bin/env bash
# Test server plug-in (see "plug-ins" in scripts/testenv.sh): Jaeger v1 all-in-one with in-memory storage, built from
# its Go module once and cached, on 127.0.0.1. It receives OTLP/HTTP traces and answers the query API.
#
#   scripts/testenv.d/jaeger.sh up|down|status
#   scripts/testenv.d/jaeger.sh build|bin   build the binary unless cached / print its path (the node's Jaeger image,
#                                           scripts/node-images.sh, is made from it)
#
# `up` prints JAEGER_QUERY_URL (the query API and UI) and OTLP_TRACES_URL (where services export spans).
# Environment: TESTENV_STATE, TESTENV_CACHE, TESTENV_HOST (set by scripts/testenv.sh), TESTENV_JAEGER_QUERY_PORT
# (26686), TESTENV_JAEGER_OTLP_PORT (24318).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE="${TESTENV_STATE:-$ROOT/.testenv}"
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
HOST="${TESTENV_HOST:-127.0.0.1}"
QUERY_PORT="${TESTENV_JAEGER_QUERY_PORT:-26686}"
OTLP_PORT="${TESTENV_JAEGER_OTLP_PORT:-24318}"
# Every other listener of all-in-one moves next to them, so nothing binds a well-known Jaeger port.
OTLP_GRPC_PORT=$((OTLP_PORT - 1))
ADMIN_PORT=$((QUERY_PORT + 1))
QUERY_GRPC_PORT=$((QUERY_PORT + 2))
COLLECTOR_HTTP_PORT=$((OTLP_PORT + 1))
COLLECTOR_GRPC_PORT=$((OTLP_PORT + 2))

MODULE=github.com/jaegertracing/jaeger
VERSION=v1.75.0
BIN="$CACHE/bin/jaeger-all-in-one-$VERSION"
PIDFILE="$STATE/run/jaeger.pid"
LOGFILE="$STATE/log/jaeger.log"
QUERY_URL="http://$HOST:$QUERY_PORT"
OTLP_URL="http://$HOST:$OTLP_PORT/v1/traces"

log() { printf 'testenv: jaeger: %s\n' "$*" >&2; }
die() {
  printf 'testenv: jaeger: error: %s\n' "$*" >&2
  exit 1
}

running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$BIN" || return 1
  printf '%s\n' "$pid"
}

answers() {
  curl --silent --fail --max-time 2 "$QUERY_URL/api/services" >/dev/null 2>&1
}

# `go install pkg@version` refuses Jaeger: its go.mod has a replace directive. Building inside a copy of the module's
# source makes it the main module, so its go.mod (and go.sum) are used as the project pins them.
build() (
  command -v go >/dev/null ||
    die "Go is not installed; it is needed once to build Jaeger $VERSION into $BIN (https://go.dev/dl/)."
  log "building Jaeger all-in-one $VERSION (first run only, cached in $CACHE/bin; several minutes)"
  start=$SECONDS
  work=$(mktemp -d "${TMPDIR:-/tmp}/meshmart-jaeger.XXXXXX")
  trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
  cd "$work"
  json=$(go mod download -json "$MODULE@$VERSION") || die "go mod download $MODULE@$VERSION failed: $json"
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then die "no module directory in the output of go mod download: $json"; fi
  cp -R "$dir" "$work/src"
  chmod -R u+w "$work/src"
  (cd "$work/src" && go build -trimpath -ldflags='-s -w' -o "$work/jaeger" ./cmd/all-in-one) ||
    die "go build of Jaeger all-in-one failed"
  mkdir -p "$CACHE/bin"
  cp "$work/jaeger" "$BIN.tmp.$$"
  mv -f "$BIN.tmp.$$" "$BIN"
  log "built $BIN in $((SECONDS - start))s"
)

cmd_up() {
  [ -x "$BIN" ] || build
  mkdir -p "$STATE/run" "$STATE/log"
  if ! running_pid >/dev/null; then
    log "starting on $QUERY_URL (OTLP/HTTP $OTLP_URL)"
    : >"$LOGFILE"
    # shellcheck disable=SC2016 # expanded by the inner shell
    SPAN_STORAGE_TYPE=memory setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "$BIN" \
      --memory.max-traces=20000 \
      --query.http-server.host-port="$HOST:$QUERY_PORT" \
      --query.grpc-server.host-port="$HOST:$QUERY_GRPC_PORT" \
      --admin.http.host-port="$HOST:$ADMIN_PORT" \
      --collector.otlp.enabled=true \
      --collector.otlp.http.host-port="$HOST:$OTLP_PORT" \
      --collector.otlp.grpc.host-port="$HOST:$OTLP_GRPC_PORT" \
      --collector.http-server.host-port="$HOST:$COLLECTOR_HTTP_PORT" \
      --collector.grpc-server.host-port="$HOST:$COLLECTOR_GRPC_PORT" \
      </dev/null >>"$LOGFILE" 2>&1 9>&- &
  fi
  local deadline=$((SECONDS + 60))
  until answers; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$LOGFILE" >&2 || true
      die "did not answer on $QUERY_URL within 60s (log: $LOGFILE)"
    fi
    sleep 0.2
  done
  printf 'JAEGER_QUERY_URL=%s\nOTLP_TRACES_URL=%s\n' "$QUERY_URL" "$OTLP_URL"
}

cmd_down() {
  local pid i
  if pid=$(running_pid); then
    log "stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      [ -r "/proc/$pid/stat" ] || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

cmd_status() {
  if answers; then
    printf '%-11s %-30s answering (pid %s)\n' jaeger "$QUERY_URL" "$(running_pid || echo '?')"
  else
    printf '%-11s %-30s NOT answering\n' jaeger "$QUERY_URL"
    return 1
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  build) [ -x "$BIN" ] || build ;&
  bin) printf '%s\n' "$BIN" ;;
  *)
    printf 'usage: %s up|down|status|build|bin\n' "$0" >&2
    exit 2
    ;;
esac
