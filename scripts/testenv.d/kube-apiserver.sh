#!/usr/bin/env bash
# Test-environment plug-in (see "plug-ins" in scripts/testenv.sh): a real kube-apiserver on 127.0.0.1, with etcd as its
# storage, Pod Security admission on, and an admin token for tests. No scheduler, controller-manager or kubelet: objects
# are stored and admitted (validation, defaulting, CRD schemas, server-side apply, dry-run, Pod Security) but nothing
# runs them.
#
#   kube-apiserver.sh up      build kube-apiserver once (cached), start etcd + kube-apiserver, print KUBECONFIG=... and
#                             KUBE_APISERVER_URL=... on stdout (idempotent; a few seconds when warm)
#   kube-apiserver.sh down    stop both and remove their state (certificates, token, etcd data)
#   kube-apiserver.sh status  one line; exit 1 when the API server does not answer
#
# kube-apiserver is built with Go from the k8s.io/kubernetes module (scripts/kube-apiserver/go.mod pins every k8s.io
# staging module to the matching v0.x.y release) into $TESTENV_CACHE/bin/kube-apiserver-<version>, by
# scripts/kube-build.sh together with the node's binaries. etcd is Debian's
# etcd-server package: nothing to build, and it starts in a second.
#
# Environment: TESTENV_STATE (<repo>/.testenv), TESTENV_CACHE ($HOME/.cache/meshmart), TESTENV_HOST (127.0.0.1),
#   TESTENV_KUBE_APISERVER_PORT (16443), TESTENV_ETCD_PORT (12379; the peer port is the next one).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE="${TESTENV_STATE:-$ROOT/.testenv}"
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
HOST="${TESTENV_HOST:-127.0.0.1}"
RUN="$STATE/run"
LOGS="$STATE/log"

KUBE_VERSION=v1.36.3
APISERVER_BIN="$CACHE/bin/kube-apiserver-$KUBE_VERSION"
APISERVER_PORT="${TESTENV_KUBE_APISERVER_PORT:-16443}"
ETCD_PORT="${TESTENV_ETCD_PORT:-12379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))

DIR="$STATE/kube-apiserver"
PKI="$DIR/pki"
ETCD_DATA="$DIR/etcd"
KUBECONFIG_FILE="$DIR/kubeconfig"
TOKEN_FILE="$PKI/admin.token"
APISERVER_URL="https://$HOST:$APISERVER_PORT"
ETCD_URL="http://$HOST:$ETCD_PORT"

log() { printf 'testenv: kube-apiserver: %s\n' "$*" >&2; }
die() {
  printf 'testenv: kube-apiserver: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------------------------------
# processes: alive, pid_of, stop, spawn, listening, wait_for

# shellcheck source=scripts/testenv-lib.sh
. "$ROOT/scripts/testenv-lib.sh"

# ---------------------------------------------------------------------------------------------------------------------
# health checks

etcd_ok() {
  curl -fsS -m 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'
}

# The API server answers /readyz over TLS signed by our CA, to our admin token: so it is ours and ready.
apiserver_ok() {
  [ -f "$PKI/ca.crt" ] && [ -f "$TOKEN_FILE" ] || return 1
  curl -fsS -m 3 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(<"$TOKEN_FILE")" \
    "$APISERVER_URL/readyz" 2>/dev/null | grep -qx ok
}

# ---------------------------------------------------------------------------------------------------------------------
# installation

apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install: $*"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null || die "apt-get not found: install $* yourself (Debian/Ubuntu packages)"
  log "apt-get update && apt-get install -y $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_packages() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]} > 0)); then apt_install "${missing[@]}"; fi
  command -v etcd >/dev/null || die "etcd still not on PATH after installing etcd-server"
}

# kube-apiserver comes from scripts/kube-build.sh, which builds every Kubernetes binary the test environment uses (the
# node's too: scripts/testenv.d/kube-node.sh) in one `go build`, so that they share their compiled packages.
build_apiserver() {
  "$ROOT/scripts/kube-build.sh" || die "scripts/kube-build.sh failed"
  [ -x "$APISERVER_BIN" ] || die "scripts/kube-build.sh did not write $APISERVER_BIN"
}

ensure_apiserver() {
  if [ ! -x "$APISERVER_BIN" ]; then build_apiserver; fi
}

# ---------------------------------------------------------------------------------------------------------------------
# certificates, token, kubeconfig (made once per state directory, removed by `down`)

write_pki() {
  [ -f "$PKI/ca.crt" ] && [ -f "$PKI/apiserver.crt" ] && [ -f "$PKI/sa.key" ] && [ -f "$TOKEN_FILE" ] && return 0
  log "generating a CA, serving certificate, service-account key and admin token in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -sha256 \
      -subj '/CN=meshmart-testenv-ca' 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj '/CN=kube-apiserver' 2>/dev/null
    cat >apiserver.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$HOST,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 3650 \
      -sha256 -extfile apiserver.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # token,user,uid,"groups": system:masters bypasses authorization.
    token=$(openssl rand -hex 32)
    printf '%s\n' "$token" >admin.token
    printf '%s,meshmart-admin,meshmart-admin,"system:masters"\n' "$token" >tokens.csv
    chmod 600 ./*.key admin.token tokens.csv
  ) || die "openssl failed to write $PKI"
}

write_kubeconfig() {
  local tmp="$KUBECONFIG_FILE.tmp.$$"
  cat >"$tmp" <<EOF
# Written by scripts/testenv.d/kube-apiserver.sh: the test kube-apiserver, as an admin (system:masters).
apiVersion: v1
kind: Config
clusters:
  - name: meshmart-testenv
    cluster:
      server: $APISERVER_URL
      certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
  - name: meshmart-admin
    user:
      token: $(<"$TOKEN_FILE")
contexts:
  - name: meshmart-testenv
    context:
      cluster: meshmart-testenv
      user: meshmart-admin
current-context: meshmart-testenv
EOF
  chmod 600 "$tmp"
  mv -f "$tmp" "$KUBECONFIG_FILE"
}

# ---------------------------------------------------------------------------------------------------------------------
# servers

start_etcd() {
  if etcd_ok; then return; fi
  stop etcd "--data-dir=$ETCD_DATA"
  if listening "$ETCD_PORT"; then die "port $HOST:$ETCD_PORT is taken by something that is not a healthy etcd"; fi
  log "starting etcd $(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p') on $ETCD_URL"
  mkdir -p "$ETCD_DATA"
  chmod 700 "$ETCD_DATA"
  spawn etcd "$(command -v etcd)" \
    --name=meshmart \
    --data-dir="$ETCD_DATA" \
    --listen-client-urls="$ETCD_URL" \
    --advertise-client-urls="$ETCD_URL" \
    --listen-peer-urls="http://$HOST:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster="meshmart=http://$HOST:$ETCD_PEER_PORT" \
    --logger=zap \
    --log-level=warn
}

start_apiserver() {
  if apiserver_ok; then
    log "already answering on $APISERVER_URL"
    return
  fi
  stop kube-apiserver "$APISERVER_BIN"
  if listening "$APISERVER_PORT"; then
    die "port $HOST:$APISERVER_PORT is taken by something that is not this test environment's kube-apiserver"
  fi
  log "starting kube-apiserver $KUBE_VERSION on $APISERVER_URL"
  # --allow-privileged: as on EKS, so that a privileged pod reaches Pod Security admission, which must reject it.
  # --service-cluster-ip-range: only allocates ClusterIPs here; nothing routes them.
  spawn kube-apiserver "$APISERVER_BIN" \
    --bind-address="$HOST" \
    --advertise-address="$HOST" \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="$ETCD_URL" \
    --etcd-prefix=/meshmart-testenv \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --token-auth-file="$PKI/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.96.0.0/16 \
    --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,PodSecurity \
    --allow-privileged=true \
    --profiling=false \
    --v=0
}

# ---------------------------------------------------------------------------------------------------------------------
# subcommands

print_env() {
  printf 'KUBECONFIG=%s\nKUBE_APISERVER_URL=%s\n' "$KUBECONFIG_FILE" "$APISERVER_URL"
}

cmd_up() {
  mkdir -p "$RUN" "$LOGS" "$DIR"
  ensure_packages
  ensure_apiserver
  write_pki
  write_kubeconfig
  start_etcd
  wait_for etcd 30 etcd_ok
  start_apiserver
  wait_for kube-apiserver 90 apiserver_ok
  print_env
}

cmd_down() {
  stop kube-apiserver "$APISERVER_BIN"
  stop etcd "--data-dir=$ETCD_DATA"
  rm -rf "$DIR"
}

cmd_status() {
  local state rc=0 pid
  if apiserver_ok; then
    state=answering
  else
    state="NOT answering"
    rc=1
  fi
  if pid=$(pid_of kube-apiserver "$APISERVER_BIN"); then state="$state (pid $pid)"; fi
  if etcd_ok; then state="$state, etcd answering"; else state="$state, etcd NOT answering"; fi
  printf '%-11s %-30s %s\n' kube-api "$APISERVER_URL" "$state"
  return "$rc"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    printf 'usage: %s up|down|status\n' "$0" >&2
    exit 2
    ;;
esac
