#!/usr/bin/env bash
# The container images the test node runs, built on this machine from Debian packages and local binaries — no image is
# pulled from a registry — and cached as OCI archives under $CACHE/images, each keyed by a hash of its inputs, so a warm
# machine builds nothing:
#
#   debian     Debian bookworm, variant minbase, made by mmdebstrap: the root filesystem of every image below but pause
#   node       tagged docker.io/library/node:20.20.2-bookworm-slim, the Dockerfile's FROM: debian + this machine's
#              Node.js 20 (and its npm and corepack) in /usr/local, as in the official image
#   services   meshmart/services:<version>: the UNCHANGED Dockerfile, built by `buildah bud` on the image above
#   pause      the pod sandbox (containerd's sandbox_image): the static pause binary of scripts/kube-build.sh, alone
#   coredns    debian + the CoreDNS of scripts/kube-build.sh
#   redis      debian + Debian's redis-server and redis-tools (the cache and event bus of the kind profile)
#   ferretdb   node + the test environment's FerretDB (SQLite, with its per-collection write lock) standing in for
#              MongoDB: `mongod` starts FerretDB on :27017 with its data in /data/db, and `mongosh --eval
#              "db.adminCommand('ping').ok"` (the StatefulSet's readiness probe) pings it over the wire protocol
#   jaeger     debian + the test environment's Jaeger all-in-one (scripts/testenv.d/jaeger.sh build)
#   prometheus debian + the Prometheus of scripts/observability-build.sh (Kubernetes service discovery, no web UI)
#   otelcol    debian + the OpenTelemetry collector of scripts/observability-build.sh (the components of
#              observability/otel/collector-kind.yaml only)
#
#   scripts/node-images.sh build [NAME...]   build what is not cached (all by default); print `name reference archive`
#   scripts/node-images.sh list              the same lines, building nothing (archives may be missing)
#
# Builds use buildah with its own store in $CACHE/buildah (kept, like the archives, so the Dockerfile's layers and npm
# cache serve the next build) and its run state under $STATE/kube-node/buildah (removed by the plug-in's `down`).
# npm inside the Dockerfile's build stage reaches the npm registry with this machine's CA bundle, mounted for the build
# only: npm's builtin config in the base image (/usr/local/lib/node_modules/npm/npmrc, which the Dockerfile's runtime
# stage deletes with npm) names it.
#
# Environment: TESTENV_STATE (<repo>/.testenv), TESTENV_CACHE / MESHMART_CACHE ($HOME/.cache/meshmart),
#   TESTENV_FERRETDB_BIN (the test FerretDB; by hand, the newest ferretdb-* in $CACHE/bin).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="${TESTENV_STATE:-$ROOT/.testenv}"
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
IMAGES="$CACHE/images"
WORK="$STATE/kube-node/buildah"
# buildah's image store and its cache mounts (the Dockerfile's npm cache) outlive `down`, like the archives: a changed
# service then rebuilds from the cached `npm ci` layer. Wiped when it passes STORE_LIMIT_MB.
STORE="$CACHE/buildah"
STORE_LIMIT_MB=6144

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian
# The base image holds this machine's Node.js and is named for its version: the Dockerfile's default FROM
# (node:20.20.2-bookworm-slim) when they match, else the build passes the Dockerfile's own NODE_IMAGE argument.
NODE_VERSION=$(node --version 2>/dev/null | sed 's/^v//')
NODE_REF="docker.io/library/node:$NODE_VERSION-bookworm-slim"
DOCKERFILE_NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$ROOT/Dockerfile")
APP_VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json" | head -n 1)

log() { printf 'node-images: %s\n' "$*" >&2; }
die() {
  printf 'node-images: error: %s\n' "$*" >&2
  exit 1
}

bah() {
  TMPDIR="$STORE/tmp" buildah --root "$STORE/root" --runroot "$WORK/run" --storage-driver overlay "$@"
}

sha() { sha256sum | cut -c1-16; }

kube_bin() { "$ROOT/scripts/kube-build.sh" --list | sed -n "s/^$1 //p"; }

# The inputs of each image, hashed: a change to any of them rebuilds the image (and the images built on it).
key_debian() { printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRROR" minbase passwd nodoc-v1 | sha; }
key_node() {
  { key_debian; sha256sum <"$(readlink -f "$(command -v node)")"; cat "$(npm_dir)/package.json"; printf 'npmrc-v1\n'; } | sha
}
key_services() {
  {
    key_node
    cd "$ROOT"
    # The build context, as .dockerignore allows it.
    find package.json package-lock.json tsconfig.json scripts/build-images.ts Dockerfile .dockerignore services \
      -type f ! -path '*/node_modules/*' ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum
  } | sha
}
key_pause() { sha256sum <"$(kube_bin pause)" | sha; }
key_coredns() { { key_debian; sha256sum <"$(kube_bin coredns)"; } | sha; }
key_redis() { { key_debian; printf 'redis-server redis-tools v1\n'; } | sha; }
key_ferretdb() { { key_node; sha256sum <"$(ferretdb_bin)"; sed -n '/^ferretdb_shims()/,/^}$/p' "$0"; } | sha; }
key_jaeger() { { key_debian; sha256sum <"$(jaeger_bin)"; binary_image_recipe jaeger; } | sha; }
key_prometheus() { { key_debian; sha256sum <"$(obs_bin prometheus)"; binary_image_recipe prometheus; } | sha; }
key_otelcol() { { key_debian; sha256sum <"$(obs_bin otelcol)"; binary_image_recipe otelcol; } | sha; }
binary_image_recipe() { sed -n -e '/^build_binary_image()/,/^}$/p' -e "/^build_$1()/p" "$0"; }

npm_dir() {
  local npm
  npm=$(readlink -f "$(command -v npm)") || die "npm not found"
  printf '%s\n' "${npm%/bin/npm-cli.js}"
}

jaeger_bin() { "$ROOT/scripts/testenv.d/jaeger.sh" bin; }
obs_bin() { "$ROOT/scripts/observability-build.sh" --list | sed -n "s/^$1 //p"; }

# The binaries of the observability images, built unless cached (before their images' keys are hashed from them).
ensure_binary() {
  case $1 in
    jaeger) "$ROOT/scripts/testenv.d/jaeger.sh" build >/dev/null || die "building Jaeger failed" ;;
    prometheus | otelcol) "$ROOT/scripts/observability-build.sh" "$1" || die "building $1 failed" ;;
  esac
  return 0
}

ferretdb_bin() {
  local f=${TESTENV_FERRETDB_BIN:-}
  # Run by hand: the newest FerretDB testenv.sh built.
  [ -n "$f" ] || f=$(find "$CACHE/bin" -maxdepth 1 -name 'ferretdb-*' -type f -perm -u+x -printf '%T@ %p\n' |
    sort -n | tail -n 1 | cut -d' ' -f2-)
  if [ -z "$f" ] || [ ! -x "$f" ]; then
    die "no FerretDB in $CACHE/bin: run scripts/testenv.sh up first (it builds the test FerretDB)"
  fi
  printf '%s\n' "$f"
}

# reference of each image (what pods and the profiles' image overrides name)
ref_of() {
  case $1 in
    debian) printf 'meshmart.local/debian:%s\n' "$DEBIAN_SUITE" ;;
    node) printf '%s\n' "$NODE_REF" ;;
    services) printf 'docker.io/meshmart/services:%s\n' "$APP_VERSION" ;;
    pause) printf 'meshmart.local/pause:%s\n' "$(basename "$(kube_bin pause)" | sed 's/^pause-//')" ;;
    coredns) printf 'meshmart.local/coredns:%s\n' "$(basename "$(kube_bin coredns)" | sed 's/^coredns-v//')" ;;
    redis) printf 'meshmart.local/redis:%s-debian\n' "$(debian_version redis-server)" ;;
    ferretdb) printf 'meshmart.local/ferretdb:%s\n' "$(basename "$(ferretdb_bin)" | sed 's/^ferretdb-v\([0-9.]*\).*/\1/')" ;;
    jaeger) printf 'meshmart.local/jaeger:%s\n' "$(basename "$(jaeger_bin)" | sed 's/^jaeger-all-in-one-v//')" ;;
    prometheus) printf 'meshmart.local/prometheus:%s\n' "$(basename "$(obs_bin prometheus)" | sed 's/^prometheus-v//')" ;;
    otelcol) printf 'meshmart.local/otelcol:%s\n' "$(basename "$(obs_bin otelcol)" | sed 's/^otelcol-v\([0-9.]*\)-.*/\1/')" ;;
  esac
}

# The upstream version of a Debian package as the mirror has it now (e.g. 7.0.15), from the host's apt lists.
debian_version() {
  local v
  v=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: \(.*\)$/\1/p')
  v=${v#*:}
  v=${v%%-*}
  v=${v%%+*}
  if [ -z "$v" ] || [ "$v" = '(none)' ]; then die "apt-cache knows no candidate version of $1: run apt-get update"; fi
  printf '%s\n' "$v"
}

archive_of() { printf '%s/%s-%s.tar\n' "$IMAGES" "$1" "$("key_$1")"; }

# An image the build needs, in buildah's storage: from its cached archive when it is not there yet.
load() {
  local name=$1 ref id
  ref=$(ref_of "$name")
  bah inspect --type image "$ref" >/dev/null 2>&1 && return 0
  ensure "$name"
  id=$(bah pull --quiet "oci-archive:$(archive_of "$name")")
  bah tag "$id" "$ref"
  bah inspect --type image "$ref" >/dev/null 2>&1 || die "loading $(archive_of "$name") gave no image $ref"
}

# Commit a working container and write the archive atomically, to the path ensure() chose before the build: the
# inputs (the services' sources) may change while it runs.
save() {
  local name=$1 ctr=$2 ref
  ref=$(ref_of "$name")
  bah commit --quiet --rm --format docker "$ctr" "$ref" >/dev/null
  push "$ref" "$archive"
}

push() {
  local ref=$1 archive=$2
  mkdir -p "$IMAGES"
  rm -f "$archive.tmp"
  bah push --quiet "$ref" "oci-archive:$archive.tmp:$ref" >/dev/null
  mv -f "$archive.tmp" "$archive"
}

build_debian() {
  local ctr rootfs="$WORK/debian-rootfs.tar"
  command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
  log "mmdebstrap $DEBIAN_SUITE (minbase) from $DEBIAN_MIRROR"
  # Documentation, manual pages and translations are left out, as in Debian's own slim images.
  # shellcheck disable=SC2016 # $1 is the hook's argument, expanded by mmdebstrap's shell
  mmdebstrap --quiet --variant=minbase --include=passwd \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log' \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >&2 || die "mmdebstrap failed"
  ctr=$(bah from --quiet scratch)
  bah add --quiet "$ctr" "$rootfs" / >/dev/null
  rm -f "$rootfs"
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
  save debian "$ctr"
}

build_node() {
  local ctr npm
  [ -n "$NODE_VERSION" ] || die "node is not on PATH: the base image is made from this machine's Node.js"
  npm=$(npm_dir)
  load debian
  ctr=$(bah from --quiet --pull-never "$(ref_of debian)")
  bah copy --quiet "$ctr" "$(readlink -f "$(command -v node)")" /usr/local/bin/node >/dev/null
  bah copy --quiet "$ctr" "$npm" /usr/local/lib/node_modules/npm >/dev/null
  if [ -d "${npm%/npm}/corepack" ]; then
    bah copy --quiet "$ctr" "${npm%/npm}/corepack" /usr/local/lib/node_modules/corepack >/dev/null
  fi
  bah run --network none "$ctr" -- sh -ec '
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
    if [ -d /usr/local/lib/node_modules/corepack ]; then
      ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack
    fi
    printf "cafile=/run/meshmart-build-ca.pem\n" >/usr/local/lib/node_modules/npm/npmrc
    node --version >/dev/null'
  bah config --env "NODE_VERSION=$NODE_VERSION" --cmd node "$ctr"
  save node "$ctr"
}

build_services() {
  local ca=/etc/ssl/certs/ca-certificates.crt
  [ -f "$ca" ] || die "$ca is missing: npm in the image's build stage trusts this machine's CA bundle"
  load node
  local from=()
  if [ "node:$NODE_VERSION-bookworm-slim" != "$DOCKERFILE_NODE_IMAGE" ]; then
    log "this machine's Node.js is $NODE_VERSION, the Dockerfile's FROM is $DOCKERFILE_NODE_IMAGE: --build-arg NODE_IMAGE"
    from=(--build-arg "NODE_IMAGE=node:$NODE_VERSION-bookworm-slim")
  fi
  log "buildah bud -t $(ref_of services) (the Dockerfile, unchanged)"
  (cd "$ROOT" && bah bud "${from[@]}" --quiet --format docker --network host --pull-never --layers \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    -v "$ca:/run/meshmart-build-ca.pem:ro" --build-arg "VERSION=$APP_VERSION" \
    -t "$(ref_of services)" -f Dockerfile .) >&2 || die "buildah bud of the Dockerfile failed"
  push "$(ref_of services)" "$archive"
}

build_pause() {
  local ctr
  ctr=$(bah from --quiet scratch)
  bah copy --quiet "$ctr" "$(kube_bin pause)" /pause >/dev/null
  bah config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
  save pause "$ctr"
}

build_coredns() {
  local ctr
  load debian
  ctr=$(bah from --quiet --pull-never "$(ref_of debian)")
  bah copy --quiet "$ctr" "$(kube_bin coredns)" /coredns >/dev/null
  bah config --entrypoint '["/coredns"]' --cmd '' "$ctr"
  save coredns "$ctr"
}

build_redis() {
  local ctr
  load debian
  ctr=$(bah from --quiet --pull-never "$(ref_of debian)")
  bah run --network host "$ctr" -- sh -ec '
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /etc/redis
    mkdir -p /data' >&2
  # As the official image: work in /data (appendonly files land in the working directory).
  bah config --workingdir /data --cmd redis-server "$ctr"
  save redis "$ctr"
}

# `mongod` and `mongosh` for the StatefulSet written for the official MongoDB image.
ferretdb_shims() {
  cat >"$1/mongod" <<'SH'
#!/bin/bash
# Stand-in for mongod: the kind profile's MongoDB arguments are MongoDB's own; FerretDB listens on 27017 and keeps its
# SQLite files in /data/db (the StatefulSet's volume).
exec /usr/local/bin/ferretdb --listen-addr=:27017 --handler=sqlite --sqlite-url=file:/data/db/ --state-dir=/data/db \
  --telemetry=disable --debug-addr=- --log-level=warn
SH
  cat >"$1/mongosh" <<'JS'
#!/usr/local/bin/node
// Stand-in for `mongosh --quiet --eval "db.adminCommand('ping').ok"`: sends a ping (OP_MSG) to 127.0.0.1:27017 and
// prints the reply's ok; exit 1 when it is not 1.
const net = require('node:net');
const cstr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const int32 = (n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
const body = Buffer.concat([Buffer.from([0x10]), cstr('ping'), int32(1), Buffer.from([0x02]), cstr('$db'), int32(6), cstr('admin'), Buffer.from([0])]);
const doc = Buffer.concat([int32(body.length + 4), body]);
const payload = Buffer.concat([int32(0), Buffer.from([0]), doc]);
const msg = Buffer.concat([int32(16 + payload.length), int32(1), int32(0), int32(2013), payload]);
const fail = (why) => { console.error(`mongosh stand-in: ${why}`); process.exit(1); };
const socket = net.connect(27017, '127.0.0.1', () => socket.write(msg));
socket.setTimeout(4000, () => fail('no reply within 4s'));
socket.on('error', (err) => fail(err.message));
let got = Buffer.alloc(0);
socket.on('data', (chunk) => {
  got = Buffer.concat([got, chunk]);
  if (got.length < 4 || got.length < got.readInt32LE(0)) return;
  socket.end();
  const d = got.subarray(21);
  let i = 4, ok;
  const skip = { 0x01: 8, 0x08: 1, 0x09: 8, 0x0a: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x07: 12 };
  while (i < d.readInt32LE(0) - 1) {
    const type = d[i]; const end = d.indexOf(0, i + 1); const name = d.toString('utf8', i + 1, end); i = end + 1;
    if (name === 'ok') ok = type === 0x01 ? d.readDoubleLE(i) : type === 0x10 ? d.readInt32LE(i) : undefined;
    if (type === 0x02) i += 4 + d.readInt32LE(i);
    else if (type === 0x03 || type === 0x04) i += d.readInt32LE(i);
    else if (type in skip) i += skip[type];
    else break;
  }
  console.log(String(ok));
  process.exit(ok === 1 ? 0 : 1);
});
JS
  chmod 755 "$1/mongod" "$1/mongosh"
}

build_ferretdb() {
  local ctr shims="$WORK/ferretdb-shims"
  load node
  rm -rf "$shims"
  mkdir -p "$shims"
  ferretdb_shims "$shims"
  ctr=$(bah from --quiet --pull-never "$(ref_of node)")
  bah copy --quiet "$ctr" "$(ferretdb_bin)" /usr/local/bin/ferretdb >/dev/null
  bah copy --quiet "$ctr" "$shims/mongod" "$shims/mongosh" /usr/local/bin/ >/dev/null
  # Like the MongoDB image: no npm at run time.
  bah run --network none "$ctr" -- sh -ec 'rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack; mkdir -p /data/db'
  bah config --cmd mongod "$ctr"
  save ferretdb "$ctr"
  rm -rf "$shims"
}

# Each as its upstream image: the binary is the entrypoint, so the Deployment's args go to it; the pod spec's
# securityContext sets the user (the upstream images' own: 10001, and nobody for Prometheus).
build_binary_image() { # name binary path-in-image user [workdir]
  local ctr
  load debian
  ctr=$(bah from --quiet --pull-never "$(ref_of debian)")
  bah copy --quiet "$ctr" "$2" "$3" >/dev/null
  if [ -n "${5:-}" ]; then
    bah run --network none "$ctr" -- sh -ec "mkdir -p '$5' && chown '$4' '$5'"
    bah config --workingdir "$5" "$ctr"
  fi
  bah config --entrypoint "[\"$3\"]" --cmd '' --user "$4" "$ctr"
  save "$1" "$ctr"
}
build_jaeger() { build_binary_image jaeger "$(jaeger_bin)" /usr/local/bin/jaeger-all-in-one 10001:10001; }
build_prometheus() { build_binary_image prometheus "$(obs_bin prometheus)" /bin/prometheus 65534:65534 /prometheus; }
build_otelcol() { build_binary_image otelcol "$(obs_bin otelcol)" /usr/local/bin/otelcol 10001:10001; }

# Builds NAME unless its archive exists. `archive` is local here and read by save/push in the build (bash's dynamic
# scope), so a build of a base image in between writes its own.
ensure() {
  local name=$1 archive=${2:-} start
  [ -n "$archive" ] || archive=$(archive_of "$name")
  [ -f "$archive" ] && return 0
  mkdir -p "$WORK" "$STORE/tmp"
  if [ -d "$STORE/root" ] && [ "$(du -sm "$STORE" | cut -f1)" -gt "$STORE_LIMIT_MB" ]; then
    log "buildah's store passed ${STORE_LIMIT_MB} MiB: starting it afresh"
    bah rm --all >/dev/null 2>&1 || true
    bah umount --all >/dev/null 2>&1 || true
    rm -rf "$STORE"
    mkdir -p "$STORE/tmp"
  fi
  start=$SECONDS
  log "building image $name ($(ref_of "$name"))"
  # Once more on failure: mmdebstrap, npm ci and apt-get fetch from the network. The first try runs in a subshell
  # that is not a condition, so that `set -e` still stops it at its first failing command.
  set +e
  (
    set -e
    "build_$name"
  )
  local rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    log "building $name failed; trying once more"
    rm -f "$archive"
    "build_$name"
  fi
  [ -f "$archive" ] || die "building $name wrote no $archive"
  # The cache keeps one archive per image: the one just built (the services' changes with every source edit).
  find "$IMAGES" -maxdepth 1 -name "$name-*.tar" ! -path "$archive" -delete
  log "built $name in $((SECONDS - start))s: $archive ($(du -m "$archive" | cut -f1) MiB)"
}

ALL=(pause coredns redis ferretdb services jaeger prometheus otelcol)

case "${1:-}" in
  build | list)
    action=$1
    # Builds share the cache (and buildah's store) across working trees: one at a time.
    if [ "$action" = build ]; then
      mkdir -p "$CACHE"
      exec 9>"$CACHE/.node-images.lock"
      flock -w 1800 9 || die "timed out waiting for $CACHE/.node-images.lock (another build running?)"
    fi
    shift
    names=("$@")
    ((${#names[@]} > 0)) || names=("${ALL[@]}")
    for name in "${names[@]}"; do
      case " debian node ${ALL[*]} " in *" $name "*) ;; *) die "unknown image '$name'" ;; esac
      if [ "$action" = build ]; then ensure_binary "$name"; fi
      archive=$(archive_of "$name")
      if [ "$action" = build ]; then ensure "$name" "$archive"; fi
      printf '%s %s %s\n' "$name" "$(ref_of "$name")" "$archive"
    done
    ;;
  *)
    printf 'usage: %s build|list [NAME...]\n' "$0" >&2
    exit 2
    ;;
esac
