#!/usr/bin/env bash
# Vendors the upstream CRDs from ../shared/crds into cdk8s/crds, byte for byte, so the repo stands alone.
# Usage: scripts/sync-crds.sh [source-dir]   (default: ../shared/crds next to the repo)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${1:-$root/../shared/crds}"
dest="$root/cdk8s/crds"

if [[ ! -d "$src" ]]; then
  echo "sync-crds: no CRD folder at $src (pass the source folder as the first argument)" >&2
  exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
cp -R "$src/." "$dest/"
chmod -R u+w "$dest"
echo "sync-crds: $(find "$dest" -type f | wc -l | tr -d ' ') files copied from $src to cdk8s/crds"
