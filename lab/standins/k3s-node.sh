#!/usr/bin/env bash
# The lab's k3s stand-in: what k3s and flannel's wireguard-native backend do on a node, with userspace WireGuard
# (wireguard-go) for the kernel module and a real Kubernetes API on the first server (kube-apiserver on kine with
# SQLite, the datastore k3s itself puts in front of SQLite; built by engine/build.sh into $LAB_K8S_TOOLS). Every value
# comes from what our steps left on the host or set through the API:
#   - the server at first start makes its CAs and its secure token (below), then starts the API on 0.0.0.0:6443 with a
#     serving certificate from its server CA for 127.0.0.1, the NIC address, node-external-ip and tls-san, and client
#     certificates from its client CA (k3s' file layout: server/tls/{server-ca,client-ca}.{crt,key}, k3s.yaml);
#   - every node at start registers its Node (as its kubelet does: the hostname label, a server's control-plane
#     role labels, spec.podCIDR from its flannel subnet) after its node password secret <node>.node-password.k3s in
#     kube-system (as the server records it when a node asks for its kubelet certificate; a node whose password differs
#     from the recorded one is refused, as k3s refuses it), then reports Ready in the Node's status;
#   - k3s at start: sets the node's public-ip-overwrite annotation = node-external-ip from the config.yaml our
#     install step wrote, when the node has node-external-ip and the servers have flannel-external-ip; it never
#     removes the annotation (k3s pkg/agent/flannel/setup.go only adds it);
#   - flannel at start: reads the overwrite from its Node and advertises public-ip = the overwrite if present, else the
#     NIC's address (flannel pkg/subnet/kube), with its WireGuard public key (backend-data; /run/flannel/wgkey lives on
#     tmpfs: a reboot makes a new key) and the node's pod subnet;
#   - joining (agents): like k3s' TLS bootstrap, an agent accepts only a secure token K10<hash>::node:<password> whose
#     hash is the sha256 of the server CA the server serves, and the server admits only the password of its agent
#     token (user "node"); otherwise the agent never becomes Ready.
#   - flannel then programs one peer per other node: endpoint <their public-ip>:51820, their subnet, keepalive 25 s;
#     a peer whose Node object is deleted from the API is removed; adding a peer first removes every other peer at
#     the same endpoint IP (flannel pkg/backend/wireguard/device.go, addPeer -> cleanupEndpointPeers), so a node's old
#     key is gone once its new one is programmed, and two nodes behind one address evict each other.
# Our beliefs, not k3s': every node's stand-in talks to the API with the admin credential (a real agent uses its
# kubelet's, which the Node authorizer limits to its own Node); the API keeps running across a k3s restart (a real
# restart restarts it: our steps wait for Ready either way) and stops with k3s; Ready stays as the node last
# reported it (no controller marks a silent node NotReady); peers learn each other from lease files in $LAB_API (as
# flannel's kube subnet manager learns them from Node annotations), which the server withdraws when the Node is
# deleted from the API.
# Usage: k3s-node.sh restart | stop | run (the daemon; started by restart, detached from the SSH session).
set -euo pipefail
api=${LAB_API:?the lab API directory is not set}
tools=${LAB_K8S_TOOLS:?the lab Kubernetes tools (engine/build.sh: kube-apiserver, kine, kubectl) are not set}
state=/run/k3s-lab
mkdir -p "$state" /run/flannel

# The node reports Ready (through the k3s binary stand-in, lab/standins/host/fake-k3s.sh) only once this
# start has finished: its kubeconfig written and its lease published, as a real k3s would be by then.
config=$K3SMC_ROOT/etc/rancher/k3s/config.yaml
setting() { sed -n "s/^$1: *//p" "$config" | head -n 1 | tr -d "'\""; }
name=$(setting node-name 2>/dev/null || true)
is_server() { grep -q '^flannel-backend:' "$config"; }
datadir=$K3SMC_ROOT$(setting data-dir 2>/dev/null || true)
[ "$datadir" != "$K3SMC_ROOT" ] || datadir=$K3SMC_ROOT/var/lib/rancher/k3s
# The kubeconfig this node's stand-in uses: a server's k3s.yaml (the API on its own loopback), an agent's kubelet
# kubeconfig (the server's address from its config.yaml).
if is_server; then kubeconfig=$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml; else kubeconfig=$datadir/agent/kubelet.kubeconfig; fi
kube() { "$tools/kubectl" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }

# The Ready condition in the Node's status, as the kubelet reports it; fails when the API did not take it (the caller
# decides: best effort while stopping, as the API may be gone with the server; retried while running).
ready() {
    [ -n "$name" ] && [ -s "$kubeconfig" ] || return 0
    local now
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    kube patch node "$name" --subresource=status --type=merge \
        -p "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"$1\",\"reason\":\"KubeletReady\",\"message\":\"k3s stand-in\",\"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}" \
        >/dev/null 2>&1
}

# Writes stdin to a file in $LAB_API whole (a new file renamed over the old one): a node starting while the server
# restarts must read the old CA or the new one, never a half-written or empty file.
publish() {
    cat >"$1.$$" && mv -f "$1.$$" "$1"
}

# Stops a process the stand-in started and waits until it is gone (10 s, then SIGKILL): a new daemon must never run
# beside the old one, two loops programming one device.
stop_pid() {
    local pid
    [ -f "$state/$1.pid" ] || return 0
    pid=$(cat "$state/$1.pid")
    rm -f "$state/$1.pid"
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || :
}

stop() {
    ready False || :
    stop_pid k3s
}

case "${1:-}" in
    stop)
        stop
        stop_pid kube-apiserver
        stop_pid kine
        exit 0
        ;;
    restart)
        stop
        setsid "$0" run </dev/null >>"$state/k3s.log" 2>&1 &
        echo $! >"$state/k3s.pid"
        exit 0
        ;;
    run) ;;
    *) echo "usage: $0 restart|stop|run" >&2; exit 2 ;;
esac

if grep -q '^flannel-backend:' "$config"; then
    # A server: its CA (made at first start, as k3s does) and the agent token it admits, where agents "connect".
    # k3s makes two self-signed CAs at first start (pkg/daemons/control/deps/deps.go): server-ca signs serving
    # certificates, client-ca signs client certificates, among them the admin's (CN system:admin, O system:masters)
    # that /etc/rancher/k3s/k3s.yaml carries with the server CA, pointing at https://127.0.0.1:6443, every name
    # "default" (the kubeconfig k3s writes).
    tls=$K3SMC_ROOT/var/lib/rancher/k3s/server/tls
    mkdir -p "$tls"
    for ca in server-ca client-ca; do
        if [ ! -s "$tls/$ca.crt" ]; then
            openssl ecparam -name prime256v1 -genkey -noout -out "$tls/$ca.key" 2>/dev/null
            openssl req -x509 -new -key "$tls/$ca.key" -subj "/CN=k3s-$ca@lab" -days 3650 -out "$tls/$ca.crt" 2>/dev/null
        fi
    done
    if [ ! -s "$tls/client-admin.crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$tls/client-admin.key" 2>/dev/null
        openssl req -new -key "$tls/client-admin.key" -subj "/O=system:masters/CN=system:admin" 2>/dev/null |
            openssl x509 -req -CA "$tls/client-ca.crt" -CAkey "$tls/client-ca.key" -set_serial 1 -days 365 -out "$tls/client-admin.crt" 2>/dev/null
    fi
    # k3s writes its token in secure format at its first start, K10<CA hash>::server:<password> (the hash of
    # pkg/clientaccess/token.go hashCA: for one self-signed certificate, the sha256 of the file); our install and
    # ca-hash steps read the hash from there.
    hash=$(sha256sum <"$tls/server-ca.crt" | awk '{ print $1 }')
    [ -s "$tls/../token" ] || printf 'K10%s::server:%s\n' "$hash" "$(head -n 1 "$K3SMC_ROOT/etc/rancher/k3s/cluster-token")" >"$tls/../token"
    publish "$api/server-ca.crt" <"$tls/server-ca.crt"
    if [ -s "$K3SMC_ROOT/etc/rancher/k3s/agent-token" ]; then
        printf 'node:%s' "$(head -n 1 "$K3SMC_ROOT/etc/rancher/k3s/agent-token")" | sha256sum | awk '{ print $1 }' | publish "$api/agent-credential.sha256"
    fi
else
    token=$(head -n 1 "$K3SMC_ROOT/etc/rancher/k3s/cluster-token")
    hash=$(sha256sum <"$api/server-ca.crt" | awk '{ print $1 }')
    # What k3s would log: the install step's failure shows it (journalctl stand-in).
    refuse() {
        echo "k3s stand-in: $*" | tee -a "$K3SMC_ROOT/journal.txt"
        exit 1
    }
    case "$token" in
        "K10$hash::node:"*) ;;
        K10*) refuse "$name refuses to join: the CA hash in its token does not match the server's CA" ;;
        *) refuse "$name refuses a token without the server's CA hash (short format): it would trust any server" ;;
    esac
    if [ "$(printf '%s' "${token#K10"$hash"::}" | sha256sum | awk '{ print $1 }')" != "$(cat "$api/agent-credential.sha256" 2>/dev/null)" ]; then
        refuse "the server rejects $name's credential: it is not the agent token"
    fi
fi
external=$(setting node-external-ip)
if is_server; then
    setting flannel-external-ip | publish "$api/flannel-external-ip"
fi
mkdir -p "$api/leases" "$api/subnets"
# flannel's default interface is the default route's (flannel --iface: "defaults to the interface for the default route
# on the machine"), and its address: never an address bound on lo (our NAT binding), never flannel-wg's.
iface=$(/usr/sbin/ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
nic=""
if [ -n "$iface" ]; then nic=$(/usr/sbin/ip -4 -o addr show dev "$iface" scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }'); fi
# (A host without a default route: the first global address of another interface.)
[ -n "$nic" ] || nic=$(/usr/sbin/ip -4 -o addr show scope global | awk '$2 != "flannel-wg" && $2 != "lo" { sub(/\/.*/, "", $4); print $4; exit }')

b64() { base64 -w0 <"$1"; }
# A kubeconfig laid out as k3s writes k3s.yaml: every name "default".
write_kubeconfig() { # file server ca cert key
    mkdir -p "$(dirname "$1")"
    cat >"$1.new" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(b64 "$3")
    server: $2
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: $(b64 "$4")
    client-key-data: $(b64 "$5")
EOF
    mv "$1.new" "$1"
}

# The API server on the first server: kine on SQLite and kube-apiserver, started once and kept across restarts of this
# stand-in (see the head of this file); restarted when the serving certificate's names change (a new tls-san).
start_api() {
    local dir=$datadir/server sans
    mkdir -p "$dir/db" "$dir/tls/lab"
    sans="IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,IP:10.43.0.1,IP:$nic"
    [ -z "$external" ] || sans+=",IP:$external"
    while read -r san; do
        [ -n "$san" ] || continue
        if [[ "$san" =~ ^[0-9.]+$ ]]; then sans+=",IP:$san"; else sans+=",DNS:$san"; fi
    done < <(awk '/^tls-san:/ { on = 1; next } on && /^  - / { gsub(/["'"'"']/, "", $2); print $2; next } { on = 0 }' "$config")
    if [ "$(cat "$dir/tls/lab/sans" 2>/dev/null)" != "$sans" ]; then
        stop_pid kube-apiserver
        openssl ecparam -name prime256v1 -genkey -noout -out "$dir/tls/lab/serving.key" 2>/dev/null
        openssl req -new -key "$dir/tls/lab/serving.key" -subj "/CN=kube-apiserver" 2>/dev/null |
            openssl x509 -req -CA "$tls/server-ca.crt" -CAkey "$tls/server-ca.key" -set_serial "$(date +%s%N)" -days 365 \
                -extfile <(printf 'subjectAltName = %s\nextendedKeyUsage = serverAuth\n' "$sans") -out "$dir/tls/lab/serving.crt" 2>/dev/null
        printf '%s' "$sans" >"$dir/tls/lab/sans"
    fi
    if [ ! -s "$dir/tls/lab/service-account.key" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$dir/tls/lab/service-account.key" 2>/dev/null
        openssl ec -in "$dir/tls/lab/service-account.key" -pubout -out "$dir/tls/lab/service-account.pub" 2>/dev/null
    fi
    if ! { [ -f "$state/kine.pid" ] && kill -0 "$(cat "$state/kine.pid")" 2>/dev/null; }; then
        setsid "$tools/kine" --listen-address 127.0.0.1:2379 --endpoint "sqlite://$dir/db/state.db" --metrics-bind-address 0 \
            </dev/null >>"$state/kine.log" 2>&1 &
        echo $! >"$state/kine.pid"
    fi
    if ! { [ -f "$state/kube-apiserver.pid" ] && kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null; }; then
        setsid "$tools/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 --bind-address=0.0.0.0 --advertise-address="$nic" \
            --secure-port=6443 --tls-cert-file="$dir/tls/lab/serving.crt" --tls-private-key-file="$dir/tls/lab/serving.key" \
            --client-ca-file="$tls/client-ca.crt" --authorization-mode=RBAC --anonymous-auth=false \
            --service-account-issuer=https://kubernetes.default.svc.cluster.local \
            --service-account-key-file="$dir/tls/lab/service-account.pub" \
            --service-account-signing-key-file="$dir/tls/lab/service-account.key" \
            --service-cluster-ip-range=10.43.0.0/16 --profiling=false </dev/null >>"$state/kube-apiserver.log" 2>&1 &
        echo $! >"$state/kube-apiserver.pid"
    fi
}

# Waits, bounded, until the API answers this node's kubeconfig.
wait_for_api() {
    for _ in $(seq 200); do
        [ "$(kube get --raw /readyz 2>/dev/null)" = ok ] && return 0
        sleep 0.3
    done
    echo "k3s stand-in: $name cannot reach the API server ($(grep -m1 'server:' "$kubeconfig" | awk '{ print $2 }'))" | tee -a "$K3SMC_ROOT/journal.txt"
    exit 1
}

if is_server; then
    write_kubeconfig "$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml" https://127.0.0.1:6443 "$tls/server-ca.crt" "$tls/client-admin.crt" "$tls/client-admin.key"
    # Our belief (head of this file): the agents' stand-ins use the admin credential, handed over here.
    (umask 077 && publish "$api/admin.crt" <"$tls/client-admin.crt" && publish "$api/admin.key" <"$tls/client-admin.key")
    start_api
else
    write_kubeconfig "$kubeconfig" "$(setting server)" "$api/server-ca.crt" "$api/admin.crt" "$api/admin.key"
fi
wait_for_api

# One subnet per node, handed out under a lock: agents join at the same time.
(
    flock 9
    [ -f "$api/subnets/$name" ] || echo "10.42.$(find "$api/subnets" -type f | wc -l).0/24" >"$api/subnets/$name"
) 9>"$api/subnets.lock"
subnet=$(cat "$api/subnets/$name")
# The server admits a node only with the password it recorded for that name (k3s pkg/nodepassword, Ensure: the hash in
# kube-system/<node>.node-password.k3s is verified when the secret exists, else created - when the node asks for its
# kubelet certificate, before the kubelet registers the Node). A new machine under a known name has a new
# /etc/rancher/node/password, so it is refused until the old secret is deleted; the agent retries, logging the line
# below (pkg/agent/config), and never gets its kubelet credential.
password_file=$K3SMC_ROOT/etc/rancher/node/password
[ -s "$password_file" ] || { mkdir -p "${password_file%/*}" && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$password_file"; }
password_hash=$(sha256sum <"$password_file" | awk '{ print $1 }')
recorded=$(kube -n kube-system get secret "$name.node-password.k3s" -o 'jsonpath={.data.hash}' 2>/dev/null | base64 -d || true)
if [ -z "$recorded" ]; then
    kube -n kube-system create secret generic "$name.node-password.k3s" --type=k3s.cattle.io/node-password \
        --from-literal=hash="$password_hash" >/dev/null
elif [ "$recorded" != "$password_hash" ]; then
    is_server || rm -f "$kubeconfig"
    refused="level=info msg=\"Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag\""
    echo "k3s stand-in: $refused" | tee -a "$K3SMC_ROOT/journal.txt"
    exit 1
fi
# The kubelet registers the Node.
if ! kube get node "$name" -o name >/dev/null 2>&1; then
    {
        printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  labels:\n    kubernetes.io/hostname: %s\n    kubernetes.io/os: linux\n' "$name" "$name"
        if is_server; then printf '    node-role.kubernetes.io/control-plane: "true"\n    node-role.kubernetes.io/master: "true"\n'; fi
        printf 'spec:\n  podCIDR: %s\n  podCIDRs:\n  - %s\n' "$subnet" "$subnet"
    } | kube create -f - >/dev/null
fi
if [ -n "$external" ] && [ "$(cat "$api/flannel-external-ip" 2>/dev/null)" = true ]; then
    kube annotate --overwrite node "$name" "flannel.alpha.coreos.com/public-ip-overwrite=$external" >/dev/null
fi
overwrite=$(kube get node "$name" -o 'jsonpath={.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip-overwrite}')
public=${overwrite:-$nic}
printf '%s' "$public" >"$K3SMC_ROOT/flannel-public-ip"

[ -s /run/flannel/wgkey ] || (umask 077 && wg genkey >/run/flannel/wgkey)
if ! /usr/sbin/ip link show flannel-wg >/dev/null 2>&1; then
    WG_PROCESS_FOREGROUND=1 wireguard-go flannel-wg >>"$state/wireguard-go.log" 2>&1 &
    echo $! >"$state/wireguard-go.pid"
    for _ in $(seq 50); do [ -S /var/run/wireguard/flannel-wg.sock ] && break; sleep 0.1; done
fi
wg set flannel-wg private-key /run/flannel/wgkey listen-port 51820
/usr/sbin/ip addr replace "${subnet%/24}/32" dev flannel-wg
/usr/sbin/ip link set flannel-wg up
pubkey=$(wg pubkey </run/flannel/wgkey)
kube annotate --overwrite node "$name" "flannel.alpha.coreos.com/public-ip=$public" flannel.alpha.coreos.com/backend-type=wireguard \
    "flannel.alpha.coreos.com/backend-data={\"PublicKey\":\"$pubkey\"}" flannel.alpha.coreos.com/kube-subnet-manager=true >/dev/null
printf '%s %s %s\n' "$public" "$pubkey" "$subnet" >"$api/leases/$name.new"
mv "$api/leases/$name.new" "$api/leases/$name"
# Ready is reported until the API takes it (bounded: the API may be away). Not again after that: a box replaced under
# the same node name keeps running in the lab, and its reports would mark the new machine's Node Ready.
for _ in 1 2 3; do ready True && break; sleep 1; done
echo "k3s stand-in: $name advertises $public (node-external-ip '${external}', NIC $nic), subnet $subnet"

# flannel keeps the device equal to the leases it knows: a peer for every other node's lease, none for a node that is
# gone. The loop compares with what the device really holds (a peer missing from it is added again) and a failed `wg`
# call is retried on the next round: under load a call can fail, and the daemon must not die of it.
declare -A programmed=()
round=0
while :; do
    present=$(wg show flannel-wg peers 2>/dev/null) || present=
    for lease in "$api"/leases/*; do
        peer=${lease##*/}
        if [ ! -f "$lease" ] || [ "$peer" = "$name" ] || [ "${peer%.new}" != "$peer" ]; then continue; fi
        read -r ip key peer_subnet <"$lease" || continue
        if [ "${programmed[$peer]:-}" != "$ip $key $peer_subnet" ] || ! grep -qxF -- "$key" <<<"$present"; then
            { wg show flannel-wg endpoints | awk -v ip="$ip" -v key="$key" '$1 != key && index($2, ip ":") == 1 { print $1 }' |
                while read -r old; do wg set flannel-wg peer "$old" remove; done; } || :
            if wg set flannel-wg peer "$key" endpoint "$ip:51820" allowed-ips "$peer_subnet" persistent-keepalive 25 &&
                /usr/sbin/ip route replace "$peer_subnet" dev flannel-wg; then
                programmed[$peer]="$ip $key $peer_subnet"
                echo "k3s stand-in: peer $peer at $ip:51820 ($peer_subnet)"
            else
                echo "k3s stand-in: programming peer $peer failed; retrying"
            fi
        fi
    done
    for peer in "${!programmed[@]}"; do
        [ ! -f "$api/leases/$peer" ] || continue
        read -r _ key peer_subnet <<<"${programmed[$peer]}"
        wg set flannel-wg peer "$key" remove || continue
        /usr/sbin/ip route del "$peer_subnet" dev flannel-wg 2>/dev/null || :
        unset "programmed[$peer]"
        echo "k3s stand-in: node $peer deleted, peer removed"
    done
    # The server withdraws the lease of a node deleted from the API (flannel's subnet manager sees the Node go). Only
    # leases that existed before the list was asked for: a node registers its Node before it writes its lease, so a
    # lease written while the list is on its way belongs to a Node the list may not show yet. And only when the API
    # says NotFound for that very Node: a list that comes back short under load must not take a live node's peers away.
    if is_server && [ $((++round % 4)) -eq 0 ]; then
        leases=$(find "$api/leases" -type f ! -name '*.new' -printf '%f\n' 2>/dev/null) || :
        if registered=$(kube get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' 2>/dev/null); then
            while read -r peer; do
                [ -n "$peer" ] || continue
                ! grep -qxF -- "$peer" <<<"$registered" || continue
                # (kubectl exits 1 on NotFound: its words, not its status, tell NotFound from a failed call.)
                answer=$(kube get node "$peer" -o name 2>&1) || :
                if grep -q '(NotFound)' <<<"$answer"; then
                    rm -f "$api/leases/$peer"
                    echo "k3s stand-in: node $peer is gone from the API, its lease withdrawn"
                fi
            done <<<"$leases"
        fi
    fi
    sleep 0.3
done
