#!/usr/bin/env bash
# Builds the kind profile's observability servers that the test node runs (scripts/node-images.sh puts each in an
# image), those that are not cached yet, into $CACHE/bin next to the other Go-built test servers:
#
#   prometheus   Prometheus 3.16.0, `go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0` (its go.mod
#                has no replace directive, so its own requirements are used as they are), with only the file, HTTP and
#                Kubernetes service discovery (tags remove_all_sd,enable_kubernetes_sd) and no web UI: the UI's assets
#                are built with npm in Prometheus's release and are not in the module; the API and /-/ready answer
#   otelcol      the OpenTelemetry collector of scripts/otelcol (collector v0.165.0): only the components
#                observability/otel/collector-kind.yaml uses; its cached name carries a hash of go.mod, go.sum and
#                main.go, so a changed component list rebuilds it
#
#   scripts/observability-build.sh [NAME...]   build what is missing (all by default); print nothing on stdout
#   scripts/observability-build.sh --list      print the cached path of each binary, one `name path` per line
#
# Jaeger all-in-one, the third server, is the test environment's own build (scripts/testenv.d/jaeger.sh build).
# -p 2: the CI machine has 2 vCPUs. Environment: MESHMART_CACHE / TESTENV_CACHE ($HOME/.cache/meshmart).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
OTELCOL_DIR="$ROOT/scripts/otelcol"

PROMETHEUS_MODULE=github.com/prometheus/prometheus
PROMETHEUS_MODULE_VERSION=v0.316.0
PROMETHEUS_VERSION=3.16.0
PROMETHEUS_TAGS=netgo,remove_all_sd,enable_kubernetes_sd
OTELCOL_VERSION=$(sed -n 's|^[[:space:]]*go.opentelemetry.io/collector/otelcol \(v[0-9.]*\)$|\1|p' "$OTELCOL_DIR/go.mod")
OTELCOL_KEY=$(cat "$OTELCOL_DIR/go.mod" "$OTELCOL_DIR/go.sum" "$OTELCOL_DIR/main.go" | sha256sum | cut -c1-8)

log() { printf 'observability-build: %s\n' "$*" >&2; }
die() {
  printf 'observability-build: error: %s\n' "$*" >&2
  exit 1
}

[ -n "$OTELCOL_VERSION" ] || die "no go.opentelemetry.io/collector/otelcol requirement in $OTELCOL_DIR/go.mod"

path_of() {
  case $1 in
    prometheus) printf '%s/bin/prometheus-v%s\n' "$CACHE" "$PROMETHEUS_VERSION" ;;
    otelcol) printf '%s/bin/otelcol-%s-%s\n' "$CACHE" "$OTELCOL_VERSION" "$OTELCOL_KEY" ;;
    *) die "unknown binary '$1' (prometheus, otelcol)" ;;
  esac
}

ALL=(prometheus otelcol)

if [ "${1:-}" = --list ]; then
  for name in "${ALL[@]}"; do printf '%s %s\n' "$name" "$(path_of "$name")"; done
  exit 0
fi

build_prometheus() {
  local v=github.com/prometheus/common/version
  GOBIN="$1" go install -p 2 -trimpath -tags "$PROMETHEUS_TAGS" \
    -ldflags="-s -w -X $v.Version=$PROMETHEUS_VERSION -X $v.Branch=HEAD -X $v.BuildUser=meshmart -X $v.BuildDate=19700101-00:00:00" \
    "$PROMETHEUS_MODULE/cmd/prometheus@$PROMETHEUS_MODULE_VERSION" >&2 || die "go install of Prometheus failed"
  "$1/prometheus" --version 2>&1 | head -n 1 | grep -qF "version $PROMETHEUS_VERSION " ||
    die "the prometheus just built reports '$("$1/prometheus" --version 2>&1 | head -n 1)', not $PROMETHEUS_VERSION"
}

build_otelcol() {
  (cd "$OTELCOL_DIR" && go build -p 2 -trimpath -ldflags="-s -w -X main.version=${OTELCOL_VERSION#v}" \
    -o "$1/otelcol" .) >&2 || die "go build of the collector failed"
  # The configuration the kind profile mounts must name only components this build has.
  JAEGER_OTLP_ENDPOINT=http://127.0.0.1:4318 "$1/otelcol" validate \
    --config="$ROOT/observability/otel/collector-kind.yaml" >&2 ||
    die "observability/otel/collector-kind.yaml does not validate against the collector just built"
}

names=("$@")
((${#names[@]} > 0)) || names=("${ALL[@]}")
out=$(mktemp -d "${TMPDIR:-/tmp}/meshmart-observability-build.XXXXXX")
trap 'rm -rf "$out"' EXIT
for name in "${names[@]}"; do
  bin=$(path_of "$name")
  [ -x "$bin" ] && continue
  command -v go >/dev/null ||
    die "Go is not installed, and it is needed once to build $name into $CACHE/bin. Install Go >= 1.26 and re-run."
  start=$SECONDS
  log "building $name (first run only, cached as $bin)"
  "build_$name" "$out"
  mkdir -p "$CACHE/bin"
  mv -f "$out/$name" "$bin.tmp.$$"
  mv -f "$bin.tmp.$$" "$bin"
  # One cached build per binary: an older one (another version or component list) goes.
  find "$CACHE/bin" -maxdepth 1 -name "$name-*" ! -path "$bin" -type f -delete
  log "built $name in $((SECONDS - start))s ($(du -m "$bin" | cut -f1) MiB)"
done
