#!/usr/bin/env bash
# The lab's k3s stand-in, as far as the mesh is concerned: what k3s and flannel's wireguard-native backend do on a
# node, with userspace WireGuard (wireguard-go) for the kernel module and a shared directory for the Kubernetes API
# ($LAB_API). Every value comes from what our steps left on the host or set through the API:
#   - k3s at start: writes the node's public-ip-overwrite annotation = node-external-ip from the config.yaml our
#     install step wrote, when the node has node-external-ip and the servers have flannel-external-ip; it never
#     removes the annotation (k3s pkg/agent/flannel/setup.go only adds it);
#   - flannel at start: advertises public-ip = the overwrite if present, else the NIC's address, with its WireGuard
#     public key (/run/flannel/wgkey lives on tmpfs: a reboot makes a new key) and the node's pod subnet;
#   - joining (agents): like k3s' TLS bootstrap, an agent accepts only a secure token K10<hash>::node:<password> whose
#     hash is the sha256 of the server CA the server serves, and the server admits only the password of its agent
#     token (user "node"); otherwise the agent never becomes Ready. The server creates its CA at first start.
#   - flannel then programs one peer per other node: endpoint <their public-ip>:51820, their subnet, keepalive 25 s;
#     a peer whose Node object is deleted is removed; adding a peer first removes every other peer at the same
#     endpoint IP (flannel pkg/backend/wireguard/device.go, addPeer -> cleanupEndpointPeers), so a node's old key is
#     gone once its new one is programmed, and two nodes behind one address evict each other.
# Usage: k3s-node.sh restart | stop | run (the daemon; started by restart, detached from the SSH session).
set -euo pipefail
api=${LAB_API:?the lab API directory is not set}
state=/run/k3s-lab
mkdir -p "$state" /run/flannel

# The node reports Ready (through the k3s binary stand-in, lab/standins/host/fake-k3s.sh) only once this
# start has finished: its kubeconfig written and its lease published, as a real k3s would be by then.
config=$K3SMC_ROOT/etc/rancher/k3s/config.yaml
setting() { sed -n "s/^$1: *//p" "$config" | head -n 1 | tr -d "'\""; }
name=$(setting node-name 2>/dev/null || true)
# The Ready condition, for this host's own queries and, in the API, for every node's (doctor asks a server).
ready() {
    printf '%s' "$1" >"$K3SMC_ROOT/ready-status"
    if [ -n "$name" ]; then mkdir -p "$api/ready" && printf '%s' "$1" >"$api/ready/$name"; fi
}

stop() {
    ready False
    if [ -f "$state/k3s.pid" ]; then
        kill "$(cat "$state/k3s.pid")" 2>/dev/null || :
        rm -f "$state/k3s.pid"
    fi
}

case "${1:-}" in
    stop) stop; exit 0 ;;
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
    cp "$tls/server-ca.crt" "$api/server-ca.crt"
    if [ -s "$K3SMC_ROOT/etc/rancher/k3s/agent-token" ]; then
        printf 'node:%s' "$(head -n 1 "$K3SMC_ROOT/etc/rancher/k3s/agent-token")" | sha256sum | awk '{ print $1 }' >"$api/agent-credential.sha256"
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
if grep -q '^flannel-backend:' "$config"; then
    setting flannel-external-ip >"$api/flannel-external-ip"
fi
mkdir -p "$api/leases" "$api/subnets" "$api/annotations/$name"
overwrite=$api/annotations/$name/public-ip-overwrite
if [ -n "$external" ] && [ "$(cat "$api/flannel-external-ip" 2>/dev/null)" = true ]; then
    printf '%s\n' "$external" >"$overwrite"
fi
# flannel's default interface is the default route's (flannel --iface: "defaults to the interface for the default route
# on the machine"), and its address: never an address bound on lo (our NAT binding), never flannel-wg's.
iface=$(/usr/sbin/ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
nic=""
if [ -n "$iface" ]; then nic=$(/usr/sbin/ip -4 -o addr show dev "$iface" scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }'); fi
# (A host without a default route: the first global address of another interface.)
[ -n "$nic" ] || nic=$(/usr/sbin/ip -4 -o addr show scope global | awk '$2 != "flannel-wg" && $2 != "lo" { sub(/\/.*/, "", $4); print $4; exit }')
public=$(cat "$overwrite" 2>/dev/null || printf '%s' "$nic")
printf '%s' "$public" >"$K3SMC_ROOT/flannel-public-ip"

[ -s /run/flannel/wgkey ] || (umask 077 && wg genkey >/run/flannel/wgkey)
if ! /usr/sbin/ip link show flannel-wg >/dev/null 2>&1; then
    WG_PROCESS_FOREGROUND=1 wireguard-go flannel-wg >>"$state/wireguard-go.log" 2>&1 &
    echo $! >"$state/wireguard-go.pid"
    for _ in $(seq 50); do [ -S /var/run/wireguard/flannel-wg.sock ] && break; sleep 0.1; done
fi
wg set flannel-wg private-key /run/flannel/wgkey listen-port 51820
[ -f "$api/subnets/$name" ] || echo "10.42.$(find "$api/subnets" -type f | wc -l).0/24" >"$api/subnets/$name"
subnet=$(cat "$api/subnets/$name")
/usr/sbin/ip addr replace "${subnet%/24}/32" dev flannel-wg
/usr/sbin/ip link set flannel-wg up
printf '%s %s %s\n' "$public" "$(wg pubkey </run/flannel/wgkey)" "$subnet" >"$api/leases/$name.new"
mv "$api/leases/$name.new" "$api/leases/$name"
if [ -f "$api/flannel-external-ip" ] && grep -q '^flannel-backend:' "$config"; then
    b64() { base64 -w0 <"$1"; }
    cat >"$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(b64 "$tls/server-ca.crt")
    server: https://127.0.0.1:6443
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
    client-certificate-data: $(b64 "$tls/client-admin.crt")
    client-key-data: $(b64 "$tls/client-admin.key")
EOF
fi
ready True
echo "k3s stand-in: $name advertises $public (node-external-ip '${external}', NIC $nic), subnet $subnet"

declare -A programmed=()
while :; do
    for lease in "$api"/leases/*; do
        peer=${lease##*/}
        if [ ! -f "$lease" ] || [ "$peer" = "$name" ] || [ "${peer%.new}" != "$peer" ]; then continue; fi
        read -r ip key peer_subnet <"$lease"
        if [ "${programmed[$peer]:-}" != "$ip $key $peer_subnet" ]; then
            wg show flannel-wg endpoints | awk -v ip="$ip" -v key="$key" '$1 != key && index($2, ip ":") == 1 { print $1 }' |
                while read -r old; do wg set flannel-wg peer "$old" remove; done
            wg set flannel-wg peer "$key" endpoint "$ip:51820" allowed-ips "$peer_subnet" persistent-keepalive 25
            /usr/sbin/ip route replace "$peer_subnet" dev flannel-wg
            programmed[$peer]="$ip $key $peer_subnet"
            echo "k3s stand-in: peer $peer at $ip:51820 ($peer_subnet)"
        fi
    done
    for peer in "${!programmed[@]}"; do
        [ ! -f "$api/leases/$peer" ] || continue
        read -r _ key peer_subnet <<<"${programmed[$peer]}"
        wg set flannel-wg peer "$key" remove
        /usr/sbin/ip route del "$peer_subnet" dev flannel-wg 2>/dev/null || :
        unset "programmed[$peer]"
        echo "k3s stand-in: node $peer deleted, peer removed"
    done
    if grep -q '^flannel-backend:' "$config"; then
        find "$api/leases" -type f ! -name '*.new' -printf '%f True\n' | sort >"$K3SMC_ROOT/nodes-ready.new"
        mv "$K3SMC_ROOT/nodes-ready.new" "$K3SMC_ROOT/nodes-ready"
    fi
    sleep 0.3
done
