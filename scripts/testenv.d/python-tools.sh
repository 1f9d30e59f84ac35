#!/usr/bin/env bash
# Test tool plug-in (see "plug-ins" in scripts/testenv.sh): the PyPI tools the tests use — moto's local AWS server,
# botocore, openapi-spec-validator, schemathesis, cfn-lint — pinned in scripts/python-tools/requirements.txt and
# installed once into a virtualenv cached under the requirements' hash, so a warm machine skips the install.
#
#   scripts/testenv.d/python-tools.sh up|down|status
#
# `up` prints PYTHON_TOOLS_BIN (the venv's bin folder: moto_server, cfn-lint, schemathesis, python with botocore).
# Environment: TESTENV_CACHE (set by scripts/testenv.sh), PYTHON (python3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
PYTHON="${PYTHON:-python3}"
REQUIREMENTS="$ROOT/scripts/python-tools/requirements.txt"

log() { printf 'testenv: python-tools: %s\n' "$*" >&2; }
die() {
  printf 'testenv: python-tools: error: %s\n' "$*" >&2
  exit 1
}

venv_dir() {
  local hash
  hash=$({
    "$PYTHON" --version 2>&1
    cat "$REQUIREMENTS"
  } | sha256sum | cut -c1-12)
  printf '%s/venv/python-tools-%s\n' "$CACHE" "$hash"
}

installed() { [ -f "$1/.complete" ]; }

install() {
  local dir=$1 start=$SECONDS
  command -v "$PYTHON" >/dev/null || die "$PYTHON is not installed; it is needed for moto, cfn-lint and schemathesis"
  log "installing $(grep -cv '^\s*\(#\|$\)' "$REQUIREMENTS") pinned PyPI tools into $dir (first run only)"
  # Built where it stays (a venv's scripts name their interpreter by absolute path); `.complete` marks a whole one.
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir" || die "$PYTHON -m venv failed (Debian: apt-get install python3-venv)"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --cache-dir "$CACHE/pip" -r "$REQUIREMENTS" ||
    die "pip install -r $REQUIREMENTS failed"
  touch "$dir/.complete"
  log "installed in $((SECONDS - start))s"
}

cmd_up() {
  local dir
  dir=$(venv_dir)
  installed "$dir" || install "$dir"
  printf 'PYTHON_TOOLS_BIN=%s\n' "$dir/bin"
}

cmd_status() {
  local dir
  dir=$(venv_dir)
  if installed "$dir"; then
    printf '%-11s %-30s installed\n' python-tools "$dir"
  else
    printf '%-11s %-30s NOT installed\n' python-tools "$dir"
    return 1
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) ;; # nothing runs
  status) cmd_status ;;
  *)
    printf 'usage: %s up|down|status\n' "$0" >&2
    exit 2
    ;;
esac
