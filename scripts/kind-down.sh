#!/usr/bin/env bash
# `make kind-down`: delete the kind cluster of `make kind-up` and its working files. The image
# meshmart/services:<version> stays in Docker's cache (remove it with `docker image rm`).
#
#   scripts/kind-down.sh [--dry-run]      (DRY_RUN=1 works too: print the commands instead of running them)
#
# Environment: KIND_CLUSTER_NAME (meshmart), MESHMART_CACHE ($HOME/.cache/meshmart).
set -euo pipefail

CLUSTER="${KIND_CLUSTER_NAME:-meshmart}"
CACHE="${MESHMART_CACHE:-${HOME}/.cache/meshmart}"
WORK="$CACHE/kind/$CLUSTER"
DRY_RUN="${DRY_RUN:-0}"

for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    *)
      printf 'usage: %s [--dry-run]\n' "$0" >&2
      exit 2
      ;;
  esac
done

log() { printf 'kind-down: %s\n' "$*" >&2; }
die() {
  printf 'kind-down: error: %s\n' "$*" >&2
  exit 1
}
dry() { [ "$DRY_RUN" = 1 ]; }
run() {
  if dry; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

if ! command -v kind >/dev/null; then
  if dry; then
    log "dry run: kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
  else
    die "kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
  fi
fi

existing=""
if dry; then
  existing=$CLUSTER # a dry run shows the deletion
else
  existing=$(kind get clusters 2>/dev/null || true)
fi
if grep -qx -- "$CLUSTER" <<<"$existing"; then
  log "deleting kind cluster $CLUSTER"
  run kind delete cluster --name "$CLUSTER"
else
  log "no kind cluster named $CLUSTER: nothing to delete"
fi
run rm -rf "$WORK"
log "done"
