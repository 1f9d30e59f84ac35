#!/usr/bin/env bash
# Builds the test environment's Kubernetes binaries, those that are not cached yet, in ONE `go build` from the module in
# scripts/kube-apiserver (go.mod + go.sum pin every dependency), so that they share every compiled package:
#
#   kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy   k8s.io/kubernetes v1.36.3
#   coredns                                                                    github.com/coredns/coredns (./coredns)
#   kube-router-netpol     kube-router's network policy controller alone       github.com/cloudnativelabs/kube-router
#   pause                                                                      the pod sandbox process (./pause)
#
#   scripts/kube-build.sh            build what is missing into $CACHE/bin/<name>-<version>; print nothing on stdout
#   scripts/kube-build.sh --list     print the cached path of each binary, one `name path` per line
#
# The version variables are set as the Kubernetes release build sets them, so /version and `kubectl version` report
# v1.36.3. -p 2: the CI machine has 2 vCPUs; more parallel compiles only add memory pressure. A cold build is about
# 20 CPU-minutes (kube-apiserver alone 15); every binary that is cached is skipped.
#
# Environment: MESHMART_CACHE / TESTENV_CACHE ($HOME/.cache/meshmart).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
MODULE_DIR="$ROOT/scripts/kube-apiserver"

KUBE_VERSION=v1.36.3
required() { sed -n "s|^[[:space:]]*\(require \)\{0,1\}$1 \(v[0-9.]*\)\$|\2|p" "$MODULE_DIR/go.mod" | head -n 1; }
COREDNS_VERSION=$(required github.com/coredns/coredns)
KUBE_ROUTER_VERSION=$(required github.com/cloudnativelabs/kube-router/v2)

log() { printf 'kube-build: %s\n' "$*" >&2; }
die() {
  printf 'kube-build: error: %s\n' "$*" >&2
  exit 1
}

# A command that fails under `set -e` says where, instead of ending the build without a word.
trap 'printf "kube-build: error: line %s failed (exit %s)\n" "$LINENO" "$?" >&2' ERR

[ -n "$COREDNS_VERSION" ] || die "no github.com/coredns/coredns requirement in $MODULE_DIR/go.mod"
[ -n "$KUBE_ROUTER_VERSION" ] || die "no github.com/cloudnativelabs/kube-router/v2 requirement in $MODULE_DIR/go.mod"

# name, package, version (the file is $CACHE/bin/<name>-<version>)
TARGETS=(
  "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver $KUBE_VERSION"
  "kubelet k8s.io/kubernetes/cmd/kubelet $KUBE_VERSION"
  "kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager $KUBE_VERSION"
  "kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler $KUBE_VERSION"
  "kube-proxy k8s.io/kubernetes/cmd/kube-proxy $KUBE_VERSION"
  "coredns ./coredns $COREDNS_VERSION"
  "kube-router-netpol ./kube-router-netpol $KUBE_ROUTER_VERSION"
  "pause ./pause $KUBE_VERSION"
)

if [ "${1:-}" = --list ]; then
  for t in "${TARGETS[@]}"; do
    read -r name _pkg version <<<"$t"
    printf '%s %s\n' "$name" "$CACHE/bin/$name-$version"
  done
  exit 0
fi

missing=() packages=()
for t in "${TARGETS[@]}"; do
  read -r name pkg version <<<"$t"
  if [ ! -x "$CACHE/bin/$name-$version" ]; then
    missing+=("$t")
    packages+=("$pkg")
  fi
done
((${#missing[@]} > 0)) || exit 0

command -v go >/dev/null ||
  die "Go is not installed, and it is needed once to build the test environment's Kubernetes binaries into $CACHE/bin." \
    "Install Go >= 1.26 and re-run."

start=$SECONDS
out=$(mktemp -d "${TMPDIR:-/tmp}/meshmart-kube-build.XXXXXX")
trap 'rm -rf "$out"' EXIT
log "building ${packages[*]} (first run only, cached in $CACHE/bin)"
minor=${KUBE_VERSION#v1.}
minor=${minor%%.*}
v=k8s.io/component-base/version
ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
ldflags="$ldflags -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
(cd "$MODULE_DIR" && go build -p 2 -buildvcs=false -trimpath -ldflags="$ldflags" -o "$out/" "${packages[@]}") >&2 ||
  die "go build failed"

mkdir -p "$CACHE/bin"
for t in "${missing[@]}"; do
  read -r name pkg version <<<"$t"
  built="$out/${pkg##*/}"
  [ -x "$built" ] || die "go build did not write $built"
  case $name in
    # The whole output, then its first line: `| head -n 1` can end before coredns writes its second line, and the
    # SIGPIPE it then gets fails this script under pipefail, silently (3 of 30 runs on the CI machine class).
    coredns) want="CoreDNS-${version#v}" got=$("$built" -version 2>&1) got=${got%%$'\n'*} ;;
    pause | kube-router-netpol) want='' got='' ;;
    *) want="Kubernetes $version" got=$("$built" --version 2>&1 || true) ;;
  esac
  [ "$got" = "$want" ] || die "the $name just built reports '$got', not '$want'"
  mv -f "$built" "$CACHE/bin/$name-$version.tmp.$$"
  mv -f "$CACHE/bin/$name-$version.tmp.$$" "$CACHE/bin/$name-$version"
done
log "built ${#missing[@]} binaries in $((SECONDS - start))s"
