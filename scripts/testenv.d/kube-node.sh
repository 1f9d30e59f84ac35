#!/usr/bin/env bash
# Test-environment plug-in (see "plug-ins" in scripts/testenv.sh): a real single-node Kubernetes cluster that runs pods.
#
#   kube-node.sh up      build what is missing (binaries, images; cached), start the cluster, print NODE_KUBECONFIG=...,
#                        NODE_IMAGE_CONFIG=... (the profiles' image overrides for the images built here) and
#                        NODE_CONTAINERD_ADDRESS=... on stdout (idempotent; seconds when it is already up)
#   kube-node.sh down    delete every pod (so CNI tears its networking down), stop everything, remove the bridge, the
#                        CNI and KUBE iptables chains, mounts and state: the machine is left as it was
#   kube-node.sh status  one line; exit 1 when the node is not Ready
#
# What runs, each from the binaries of scripts/kube-build.sh (one go build, cached in $TESTENV_CACHE/bin) or Debian:
#   etcd (Debian) + kube-apiserver   the cluster's own, apart from the kube-apiserver plug-in's: that one must stay
#                                    without controllers (tests there rely on nothing running what they store)
#   kube-controller-manager, kube-scheduler
#   containerd + runc (Debian)       its own config, root, state and socket under $TESTENV_STATE/kube-node
#   kubelet                          on that containerd, node "meshmart-node", with the CNI bridge (Debian's
#                                    containernetworking-plugins: bridge, host-local, portmap) on the Linux bridge
#                                    meshmart0, pods in 10.244.0.0/16
#   kube-proxy (iptables mode)       Services' ClusterIPs (10.96.0.0/16) work from pods and from this machine
#   kube-router (network policy      NetworkPolicies enforced with iptables and ipset (Debian's ipset), its policy
#     controller only)               controller alone: no BGP routing, no service proxy
#   CoreDNS                          a Deployment in kube-system behind the Service kube-dns, 10.96.0.10
# and the images of scripts/node-images.sh (pause, CoreDNS, the services, Redis and FerretDB stand-ins, Jaeger,
# Prometheus and the OpenTelemetry collector), imported
# into containerd. Nothing is ever pulled: containerd's registries all point at a closed local port.
#
# Addresses: the bridge's address 10.244.0.1 is the node's InternalIP; kube-apiserver and the kubelet listen there
# (pods reach them; nothing outside this machine can, the bridge has no uplink); everything else on 127.0.0.1.
# A hostPath PersistentVolume pool (StorageClass "standard", the default, as on kind) serves the StatefulSets' claims.
#
# Environment: TESTENV_STATE (<repo>/.testenv), TESTENV_CACHE ($HOME/.cache/meshmart), TESTENV_KUBE_NODE_PORT (6443:
#   kube-apiserver; etcd is 12479-12480).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE="${TESTENV_STATE:-$ROOT/.testenv}"
CACHE="${TESTENV_CACHE:-${MESHMART_CACHE:-${HOME}/.cache/meshmart}}"
export TESTENV_STATE="$STATE" TESTENV_CACHE="$CACHE"
RUN="$STATE/run"
LOGS="$STATE/log"
DIR="$STATE/kube-node"
PKI="$DIR/pki"

BRIDGE=meshmart0
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
NODE_NAME=meshmart-node
CNI_NETWORK=meshmart
# kind's (kubeadm's) port: pods reach the API server through the `kubernetes` Service, and NetworkPolicies match the
# port after kube-proxy's DNAT, so the profile's Prometheus egress rule (443 and 6443) must see 6443 here as on kind.
APISERVER_PORT="${TESTENV_KUBE_NODE_PORT:-6443}"
ETCD_PORT=12479
APISERVER_URL="https://$NODE_IP:$APISERVER_PORT"
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
KUBECONFIG_FILE="$DIR/kubeconfig"
TOKEN_FILE="$PKI/admin.token"
CONTAINERD_SOCK="$DIR/containerd/containerd.sock"
CNI_BIN=/usr/lib/cni
IMAGE_CONFIG="$DIR/image-overrides.json"
PV_POOL=4

log() { printf 'testenv: kube-node: %s\n' "$*" >&2; }
die() {
  printf 'testenv: kube-node: error: %s\n' "$*" >&2
  exit 1
}

# shellcheck source=scripts/testenv-lib.sh
. "$ROOT/scripts/testenv-lib.sh"

bin() { "$ROOT/scripts/kube-build.sh" --list | sed -n "s/^$1 //p"; }
kubectl_() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# ---------------------------------------------------------------------------------------------------------------------
# health checks

etcd_ok() { curl -fsS -m 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'; }
api_get() {
  [ -f "$PKI/ca.crt" ] && [ -f "$TOKEN_FILE" ] || return 1
  curl -fsS -m 3 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(<"$TOKEN_FILE")" "$APISERVER_URL$1" 2>/dev/null
}
apiserver_ok() { api_get /readyz | grep -qx ok; }
containerd_ok() { [ -S "$CONTAINERD_SOCK" ] && ctr_ version >/dev/null 2>&1; }
healthz_ok() { curl -fsSk -m 2 "$1" 2>/dev/null | grep -qx ok; }
kcm_ok() { healthz_ok https://127.0.0.1:17257/healthz; }
scheduler_ok() { healthz_ok https://127.0.0.1:17259/healthz; }
kubelet_ok() { healthz_ok http://127.0.0.1:17248/healthz; }
proxy_ok() { curl -fsS -m 2 -o /dev/null http://127.0.0.1:17256/healthz 2>/dev/null; }
# kube-router serves no health endpoint here: it is up once its process lives and its chains hook FORWARD.
netpol_ok() {
  pid_of node-netpol "$KUBECONFIG_FILE" >/dev/null && iptables -S FORWARD 2>/dev/null | grep -q -- '-j KUBE-ROUTER-FORWARD'
}
node_ready() {
  api_get "/api/v1/nodes/$NODE_NAME" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}
coredns_ready() {
  api_get /apis/apps/v1/namespaces/kube-system/deployments/coredns | tr -d ' \n' | grep -q '"readyReplicas":1'
}
default_sa() { api_get /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }

# ---------------------------------------------------------------------------------------------------------------------
# installation

apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* yourself (Debian/Ubuntu packages)"
  [ "$(id -u)" -eq 0 ] || die "the node needs root (containerd, bridges, iptables): run as root"
  log "apt-get update && apt-get install -y $*"
  env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_packages() {
  local missing=()
  [ "$(id -u)" -eq 0 ] || die "the node needs root (containerd, bridges, iptables): run as root"
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x "$CNI_BIN/bridge" ] || missing+=(containernetworking-plugins)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v ipset >/dev/null || missing+=(ipset)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]} > 0)); then apt_install "${missing[@]}"; fi
  # The version of Debian's redis-server names the Redis image: apt-cache needs lists.
  apt-cache policy redis-server 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq >&2
  KUBECTL=$("$ROOT/scripts/k8s-tools.sh" kubectl)
}

# ---------------------------------------------------------------------------------------------------------------------
# certificates, token, kubeconfig

write_pki() {
  [ -f "$PKI/ca.crt" ] && [ -f "$PKI/apiserver.crt" ] && [ -f "$PKI/kubelet-client.crt" ] && [ -f "$TOKEN_FILE" ] &&
    return 0
  log "generating a CA, certificates, a service-account key and an admin token in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -sha256 \
      -subj '/CN=meshmart-node-ca' 2>/dev/null
    cert() { # name subject extensions
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3650 -sha256 \
        -extfile "$1.ext" 2>/dev/null
    }
    cert apiserver /CN=kube-apiserver "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,IP:10.96.0.1,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    cert kubelet-client '/O=system:masters/CN=kube-apiserver-kubelet-client' "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    token=$(openssl rand -hex 32)
    printf '%s\n' "$token" >admin.token
    printf '%s,meshmart-admin,meshmart-admin,"system:masters"\n' "$token" >tokens.csv
    chmod 600 ./*.key admin.token tokens.csv
  ) || die "openssl failed to write $PKI"
}

write_kubeconfig() {
  local tmp="$KUBECONFIG_FILE.tmp.$$"
  cat >"$tmp" <<EOF
# Written by scripts/testenv.d/kube-node.sh: the test node's cluster, as an admin (system:masters).
apiVersion: v1
kind: Config
clusters:
  - name: meshmart-node
    cluster:
      server: $APISERVER_URL
      certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
  - name: meshmart-admin
    user:
      token: $(<"$TOKEN_FILE")
contexts:
  - name: meshmart-node
    context:
      cluster: meshmart-node
      user: meshmart-admin
current-context: meshmart-node
EOF
  chmod 600 "$tmp"
  mv -f "$tmp" "$KUBECONFIG_FILE"
}

# ---------------------------------------------------------------------------------------------------------------------
# network: the bridge exists before anything binds its address; CNI's bridge plugin adopts it

SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables)

network_up() {
  local s
  # iptables-nft creates tables on first use: down removes the empty ones that were not there before.
  [ -f "$DIR/nft-tables.saved" ] || nft list tables 2>/dev/null >"$DIR/nft-tables.saved" || true
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($NODE_IP/16), a route to the Service range through it"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr show dev "$BRIDGE" | grep -qF "inet $NODE_IP/16" || ip addr add "$NODE_IP/16" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # ClusterIPs never leave the machine: until kube-proxy has rewritten them they go onto the bridge, not the uplink.
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE"
  # Pod -> ClusterIP -> pod on the same bridge needs bridged replies to pass iptables (conntrack) and forwarding on.
  [ -f "$DIR/sysctl.saved" ] || for s in "${SYSCTLS[@]}"; do printf '%s=%s\n' "$s" "$(sysctl -n "$s")"; done >"$DIR/sysctl.saved"
  for s in "${SYSCTLS[@]}"; do sysctl -qw "$s=1"; done
}

# Deletes, in TABLE of iptables or ip6tables (CMD), the rules that jump to a chain matching PATTERN, then those chains.
drop_chains() {
  local cmd=$1 table=$2 pattern=$3 line chain
  while IFS= read -r line; do
    # iptables -S quotes its output for a shell (comments hold quotes): eval reads a rule back whole.
    eval "$cmd -t $table ${line/#-A/-D}" 2>/dev/null || true
  done < <($cmd -t "$table" -S 2>/dev/null | grep -E "^-A .* -j ($pattern)( |$)" || true)
  for chain in $($cmd -t "$table" -S 2>/dev/null | sed -n 's/^-N //p' | grep -E "^($pattern)$" || true); do
    $cmd -t "$table" -F "$chain" 2>/dev/null || true
    $cmd -t "$table" -X "$chain" 2>/dev/null || true
  done
}

network_down() {
  local cmd table chains c
  # The CNI bridge plugin's per-sandbox chains of this network (left behind when a teardown was cut short), with the
  # empty ones such a teardown leaves; portmap's chains.
  chains=$(iptables -t nat -S 2>/dev/null | grep -F "name: \\\"$CNI_NETWORK\\\"" | sed -n 's/^-A \(CNI-[0-9a-f]*\) .*/\1/p' | sort -u || true)
  chains="$chains $(iptables -t nat -S 2>/dev/null | sed -n 's/^-N \(CNI-[0-9a-f]\{24\}\)$/\1/p')"
  for c in $chains; do drop_chains iptables nat "$c"; done
  drop_chains iptables nat 'CNI-HOSTPORT-[A-Z]+|CNI-DN-[0-9a-f]+'
  # What kube-proxy --cleanup leaves: the kubelet's own chains (KUBE-FIREWALL, canaries, the iptables hint).
  for cmd in iptables ip6tables; do
    for table in filter nat mangle; do drop_chains "$cmd" "$table" 'KUBE-[A-Z0-9-]+'; done
  done
  # kube-router's ipsets, once no rule refers to them
  for c in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?KUBE-' || true); do ipset destroy "$c" 2>/dev/null || true; done
  if [ -f "$DIR/nft-tables.saved" ] && command -v nft >/dev/null; then
    for cmd in ip:iptables ip6:ip6tables; do
      for table in filter nat mangle; do
        grep -qx "table ${cmd%%:*} $table" "$DIR/nft-tables.saved" && continue
        "${cmd#*:}-save" -t "$table" 2>/dev/null | grep -q '^-A' && continue
        nft delete table "${cmd%%:*}" "$table" 2>/dev/null || true
      done
    done
  fi
  ip route del "$SERVICE_CIDR" dev "$BRIDGE" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  if [ -f "$DIR/sysctl.saved" ]; then
    while IFS= read -r line; do sysctl -qw "$line" || true; done <"$DIR/sysctl.saved"
  fi
  rm -f /var/lib/cni/results/"$CNI_NETWORK"-* /var/lib/cni/results/cni-loopback-*
  rmdir /var/lib/cni/results /var/lib/cni /run/netns 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------------------------------
# configuration files

write_configs() {
  local d="$DIR/containerd" reg
  mkdir -p "$d/root" "$d/state" "$d/certs.d" "$DIR/cni/net.d" "$DIR/cni/ipam" "$DIR/kubelet" "$DIR/volumes"
  cat >"$d/config.toml" <<EOF
# Written by scripts/testenv.d/kube-node.sh
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$(image_ref pause)"
  # No CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj below this process's own (../shared/NODE.md).
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$d/certs.d"
EOF
  # Every registry a manifest names points at a closed local port: an image that was not built here fails at once
  # (ErrImagePull) instead of reaching for the network.
  for reg in docker.io registry.k8s.io quay.io ghcr.io public.ecr.aws meshmart.local; do
    mkdir -p "$d/certs.d/$reg"
    printf 'server = "http://127.0.0.1:9"\n' >"$d/certs.d/$reg/hosts.toml"
  done
  cat >"$DIR/cni/net.d/10-meshmart.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "rangeStart": "10.244.1.1", "rangeEnd": "10.244.255.254", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$DIR/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  cat >"$DIR/kubelet-config.yaml" <<EOF
# Written by scripts/testenv.d/kube-node.sh (../shared/NODE.md: what works on this machine class)
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 17250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 17248
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: $PKI/ca.crt }
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%" }
syncFrequency: 10s
fileCheckFrequency: 10s
EOF
}

# ---------------------------------------------------------------------------------------------------------------------
# images

IMAGES_LIST=""
image_ref() { printf '%s\n' "$IMAGES_LIST" | awk -v n="$1" '$1 == n { print $2 }'; }

ensure_images() {
  IMAGES_LIST=$("$ROOT/scripts/node-images.sh" build) || die "scripts/node-images.sh build failed"
}

import_images() {
  local name ref archive digest
  while read -r name ref archive; do
    [ -n "$name" ] || continue
    # The archive's manifest digest: an image rebuilt since the last import is imported again.
    digest=$(tar -xOf "$archive" index.json | grep -o '"digest":"sha256:[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
    ctr_ images ls "name==$ref" 2>/dev/null | grep -qF "$digest" && continue
    log "importing $ref"
    ctr_ images import "$archive" >/dev/null || die "ctr images import $archive failed"
    ctr_ images ls "name==$ref" 2>/dev/null | grep -qF "$digest" || die "importing $archive gave no image $ref"
  done <<<"$IMAGES_LIST"
}

write_image_config() {
  local tmp="$IMAGE_CONFIG.tmp.$$"
  cat >"$tmp" <<EOF
{
  "images": {
    "overrides": {
      "mongo:7.0.14": "$(image_ref ferretdb)",
      "redis:7.2.5": "$(image_ref redis)",
      "jaegertracing/all-in-one:1.75.0": "$(image_ref jaeger)",
      "prom/prometheus:v3.5.0": "$(image_ref prometheus)",
      "otel/opentelemetry-collector-contrib:0.140.0": "$(image_ref otelcol)"
    }
  }
}
EOF
  mv -f "$tmp" "$IMAGE_CONFIG"
}

# ---------------------------------------------------------------------------------------------------------------------
# servers

start_etcd() {
  etcd_ok && return 0
  stop node-etcd "--data-dir=$DIR/etcd"
  if listening "$ETCD_PORT"; then die "port 127.0.0.1:$ETCD_PORT is taken by something that is not a healthy etcd"; fi
  mkdir -p "$DIR/etcd"
  chmod 700 "$DIR/etcd"
  spawn node-etcd "$(command -v etcd)" --name=meshmart-node --data-dir="$DIR/etcd" \
    --listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
    --listen-peer-urls="http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls="http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster="meshmart-node=http://127.0.0.1:$((ETCD_PORT + 1))" --logger=zap --log-level=warn
}

start_apiserver() {
  apiserver_ok && return 0
  stop node-apiserver "$DIR/pki/tokens.csv"
  log "starting kube-apiserver on $APISERVER_URL"
  spawn node-apiserver "$(bin kube-apiserver)" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
    --etcd-servers="$ETCD_URL" --etcd-prefix=/meshmart-node \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" --token-auth-file="$PKI/tokens.csv" --authorization-mode=Node,RBAC \
    --kubelet-client-certificate="$PKI/kubelet-client.crt" --kubelet-client-key="$PKI/kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,PodSecurity \
    --allow-privileged=true --profiling=false --v=0
}

start_controllers() {
  if ! kcm_ok; then
    stop node-controller-manager "$KUBECONFIG_FILE"
    log "starting kube-controller-manager and kube-scheduler"
    spawn node-controller-manager "$(bin kube-controller-manager)" --kubeconfig="$KUBECONFIG_FILE" \
      --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
      --bind-address=127.0.0.1 --secure-port=17257 --leader-elect=false \
      --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
      --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$POD_CIDR" --allocate-node-cidrs=false \
      --use-service-account-credentials=false --profiling=false --v=0
  fi
  if ! scheduler_ok; then
    stop node-scheduler "$KUBECONFIG_FILE"
    spawn node-scheduler "$(bin kube-scheduler)" --kubeconfig="$KUBECONFIG_FILE" \
      --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
      --bind-address=127.0.0.1 --secure-port=17259 --leader-elect=false --profiling=false --v=0
  fi
}

start_containerd() {
  containerd_ok && return 0
  stop node-containerd "$DIR/containerd/config.toml"
  log "starting containerd $(containerd --version | awk '{print $3}')"
  spawn node-containerd "$(command -v containerd)" --config "$DIR/containerd/config.toml"
}

start_kubelet() {
  kubelet_ok && return 0
  stop node-kubelet "$DIR/kubelet-config.yaml"
  log "starting kubelet ($NODE_NAME, $NODE_IP)"
  spawn node-kubelet "$(bin kubelet)" --config="$DIR/kubelet-config.yaml" --kubeconfig="$KUBECONFIG_FILE" \
    --root-dir="$DIR/kubelet" --cert-dir="$DIR/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --v=1
}

start_proxy() {
  proxy_ok && return 0
  stop node-proxy "$KUBECONFIG_FILE"
  log "starting kube-proxy (iptables)"
  spawn node-proxy "$(bin kube-proxy)" --kubeconfig="$KUBECONFIG_FILE" --proxy-mode=iptables \
    --hostname-override="$NODE_NAME" --cluster-cidr="$POD_CIDR" --bind-address=127.0.0.1 \
    --metrics-bind-address=127.0.0.1:17249 --healthz-bind-address=127.0.0.1:17256 \
    --conntrack-max-per-core=0 --v=0
}

# kube-router's network policy controller alone (scripts/kube-apiserver/kube-router-netpol): NetworkPolicies become
# iptables chains and ipsets; the bridge plugin and kube-proxy keep doing the rest.
start_netpol() {
  netpol_ok && return 0
  stop node-netpol "$KUBECONFIG_FILE"
  log "starting kube-router's network policy controller"
  spawn node-netpol "$(bin kube-router-netpol)" --kubeconfig="$KUBECONFIG_FILE" --hostname-override="$NODE_NAME" \
    --service-cluster-ip-range="$SERVICE_CIDR" --run-firewall=true --run-router=false --run-service-proxy=false \
    --iptables-sync-period=1m --v=0
}

# CoreDNS listens on 53 in its pod as uid 65534 (the pod's safe sysctl ip_unprivileged_port_start, no capability):
# the profiles' NetworkPolicies allow DNS to kube-dns pods on port 53. No `forward`: pods resolve cluster names only,
# so nothing in a pod can reach a resolver outside this machine.
apply_cluster_objects() {
  local corefile_sum
  corefile_sum=$(sed -n '/^  Corefile: |$/,/^---$/p' "$0" | sha256sum | cut -c1-16)
  kubectl_ apply --server-side --field-manager=meshmart-testenv -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: { storageclass.kubernetes.io/is-default-class: "true" }
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: Immediate
$(pv_pool)
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        cache 30
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata:
      labels: { k8s-app: kube-dns }
      # a new Corefile rolls the pod (no reload plugin in the Corefile)
      annotations: { meshmart.dev/corefile: "$corefile_sum" }
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      priorityClassName: system-cluster-critical
      securityContext:
        runAsUser: 65534
        runAsGroup: 65534
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
        sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: "0" }]
      containers:
        - name: coredns
          image: $(image_ref coredns)
          imagePullPolicy: IfNotPresent
          args: [-conf, /etc/coredns/Corefile]
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
          resources: { requests: { cpu: 50m, memory: 64Mi }, limits: { memory: 170Mi } }
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
          livenessProbe: { httpGet: { path: /health, port: 8080 }, periodSeconds: 10 }
          readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 2 }
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  clusterIP: $DNS_IP
  selector: { k8s-app: kube-dns }
  ports:
    - { name: dns, port: 53, targetPort: 53, protocol: UDP }
    - { name: dns-tcp, port: 53, targetPort: 53, protocol: TCP }
EOF
}

# hostPath PersistentVolumes of the default StorageClass: what kind's local-path-provisioner makes on demand, made
# ahead here (world-writable: the datastores run as their own uid and hostPath ignores fsGroup).
pv_pool() {
  local i
  for ((i = 0; i < PV_POOL; i++)); do
    mkdir -p "$DIR/volumes/pv-$i"
    chmod 0777 "$DIR/volumes/pv-$i"
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: meshmart-node-pv-$i }
spec:
  storageClassName: standard
  capacity: { storage: 10Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: $DIR/volumes/pv-$i, type: Directory }
EOF
  done
}

# ---------------------------------------------------------------------------------------------------------------------
# subcommands

print_env() {
  printf 'NODE_KUBECONFIG=%s\nNODE_IMAGE_CONFIG=%s\nNODE_CONTAINERD_ADDRESS=%s\n' "$KUBECONFIG_FILE" "$IMAGE_CONFIG" \
    "$CONTAINERD_SOCK"
}

timed() { # name command...: run and log how long it took (the bring-up figures in docs/deploy.md)
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name: $((SECONDS - start))s"
}

cmd_up() {
  local start=$SECONDS
  mkdir -p "$RUN" "$LOGS" "$DIR"
  ensure_packages
  timed "binaries" "$ROOT/scripts/kube-build.sh"
  timed "images" ensure_images
  write_pki
  write_kubeconfig
  network_up
  write_configs
  start_etcd
  wait_for node-etcd 30 etcd_ok
  start_apiserver
  start_containerd
  wait_for node-apiserver 90 apiserver_ok
  start_controllers
  wait_for node-containerd 30 containerd_ok
  timed "image import" import_images
  write_image_config
  start_kubelet
  start_proxy
  wait_for node-controller-manager 60 kcm_ok
  wait_for node-scheduler 60 scheduler_ok
  wait_for node-kubelet 60 kubelet_ok
  wait_for node-proxy 60 proxy_ok
  wait_for node-kubelet 90 node_ready
  start_netpol
  wait_for node-netpol 60 netpol_ok
  wait_for node-controller-manager 60 default_sa
  apply_cluster_objects
  wait_for node-kubelet 120 coredns_ready
  log "up in $((SECONDS - start))s"
  print_env
}

# Pods go first, while the kubelet still runs: it stops each sandbox through CRI, so CNI deletes its veth, address and
# iptables chains. Then the servers, then whatever a crash could have left: tasks, mounts, netns, chains, the bridge.
cmd_down() {
  local i ids m
  if [ -f "$KUBECONFIG_FILE" ] && apiserver_ok && kubelet_ok; then
    KUBECTL=$("$ROOT/scripts/k8s-tools.sh" kubectl)
    stop node-controller-manager "$KUBECONFIG_FILE"
    stop node-scheduler "$KUBECONFIG_FILE"
    kubectl_ delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    # CNI has torn a pod's network down once no veth of it is left on the bridge
    for ((i = 0; i < 300; i++)); do
      [ -z "$(ctr_ tasks ls -q 2>/dev/null)" ] && [ -z "$(ip -o link show master "$BRIDGE" 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop node-kubelet "$DIR/kubelet-config.yaml"
  stop node-proxy "$KUBECONFIG_FILE"
  stop node-netpol "$KUBECONFIG_FILE"
  if [ -x "$(bin kube-proxy)" ]; then "$(bin kube-proxy)" --cleanup >/dev/null 2>&1 || true; fi
  if [ -x "$(bin kube-router-netpol)" ]; then "$(bin kube-router-netpol)" --cleanup-config >/dev/null 2>&1 || true; fi
  if containerd_ok; then
    ids=$(ctr_ tasks ls -q 2>/dev/null || true)
    for i in $ids; do ctr_ tasks kill -s SIGKILL "$i" >/dev/null 2>&1 || true; done
    for i in $ids; do ctr_ tasks delete -f "$i" >/dev/null 2>&1 || true; done
  fi
  stop node-containerd "$DIR/containerd/config.toml"
  stop node-controller-manager "$KUBECONFIG_FILE"
  stop node-scheduler "$KUBECONFIG_FILE"
  stop node-apiserver "$DIR/pki/tokens.csv"
  stop node-etcd "--data-dir=$DIR/etcd"
  # mounts under our state (container rootfs, projected volumes, netns of sandboxes) and any an interrupted image
  # build left in buildah's store, deepest first
  while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
    awk -v d="$DIR/" -v b="$CACHE/buildah/" 'index($2, d) == 1 || index($2, b) == 1 { print $2 }' /proc/self/mounts |
      sort -r
  )
  for m in /run/netns/cni-*; do
    [ -e "$m" ] || continue
    if ! ip netns pids "${m##*/}" 2>/dev/null | grep -q .; then umount "$m" 2>/dev/null || true; rm -f "$m"; fi
  done
  network_down
  rm -rf "$DIR"
}

cmd_status() {
  local state rc=0
  if node_ready; then state="node $NODE_NAME Ready"; else
    state="node NOT ready"
    rc=1
  fi
  if coredns_ready; then state="$state, CoreDNS ready"; else state="$state, CoreDNS NOT ready"; fi
  printf '%-11s %-30s %s\n' kube-node "$APISERVER_URL" "$state"
  return "$rc"
}

# One up or down at a time, whoever calls (testenv.sh holds its own lock, but the plug-in is also run by hand, and
# engineers share a working tree). fd 9: spawn() closes it, so no server inherits the lock.
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/kube-node.lock"
  flock -w 900 9 || die "timed out waiting for $STATE/kube-node.lock (another kube-node.sh up/down running?)"
}

case "${1:-}" in
  up) lock && cmd_up ;;
  down) lock && cmd_down ;;
  status) cmd_status ;;
  *)
    printf 'usage: %s up|down|status\n' "$0" >&2
    exit 2
    ;;
esac
