# Helpers every verb shares. The toolkit bundle (components/toolkit/bundle.ts) puts this file first, then one
# function per verb, then main.sh. Tests set K3SMC_ROOT to run everything against a temporary root.
set -Eeuo pipefail
# sshd and sudo give a minimal PATH; k3s lives in /usr/local/bin and ip/modprobe in /sbin. Appended, not prepended,
# so a caller's PATH still wins.
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH

log() {
    printf 'k3s-multicloud [%s] %s\n' "$K3SMC_NODE_NAME" "$*"
}

die() {
    printf 'k3s-multicloud [%s] ERROR: %s\n' "$K3SMC_NODE_NAME" "$*" >&2
    exit 1
}

require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        die "this step must run as root, but it runs as $(id -un). Connect as root, or as a user with passwordless sudo (the project then runs every step through 'sudo -n')."
    fi
}

# write_if_changed PATH MODE: writes stdin to PATH atomically (temporary file in the same directory, then rename)
# when the content differs. Returns 0 when it wrote, 1 when the file already had this content.
write_if_changed() {
    local path=$1 mode=$2 tmp
    tmp=$(mktemp "${path}.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$path"
    return 0
}

# The k3s service of a role: k3s on servers, k3s-agent on agents.
service_of() {
    case "$1" in
        server) printf k3s ;;
        agent) printf k3s-agent ;;
        *) die "--role must be server or agent, not '$1'" ;;
    esac
}

# The k3s version installed on this host (e.g. v1.33.6+k3s1), or nothing.
installed_version() {
    if [ -x "$K3S_BIN" ]; then
        "$K3S_BIN" --version 2>/dev/null | awk 'NR == 1 { print $3 }'
    fi
}

# What this node runs, as one sha256: the installed k3s version and config.yaml. The program computes the same
# value from the version and config it renders (components/toolkit/contract.ts, nodeFingerprint), so an upgrade
# step can tell a real change from new credentials or a library upgrade.
current_fingerprint() {
    local version
    version=$(installed_version)
    if [ -z "$version" ] || [ ! -f "$K3S_CONFIG_DIR/config.yaml" ]; then
        printf 'none\n'
        return 0
    fi
    { printf '%s\n' "$version"; cat "$K3S_CONFIG_DIR/config.yaml"; } | sha256sum | awk '{ print $1 }'
}

# The oneshot unit that loads the host firewall's table at boot. Its name must not start with "k3s": k3s' uninstall
# script stops early - keeping its binary, its data and the tokens in /etc/rancher/k3s - while any other
# /etc/systemd/system/k3s*.service exists, and k3s-killall.sh stops every such unit. Releases up to 0.3.0 called it
# k3s-multicloud-firewall.service, which tripped both; retire_old_firewall_unit moves a host off that name.
FIREWALL_UNIT=multicloud-k3s-firewall.service
OLD_FIREWALL_UNIT=k3s-multicloud-firewall.service
FIREWALL_RULES="$K3SMC_ROOT/etc/k3s-multicloud/firewall.nft"
# The host firewall's nftables table, and the comment on every ufw rule it adds (what the uninstall removes).
NFT_TABLE=k3s_multicloud
UFW_COMMENT=k3s-multicloud

# Writes (or keeps) the unit that loads $FIREWALL_RULES at boot, before k3s starts, and enables it.
install_firewall_unit() {
    local unit="$K3SMC_ROOT/etc/systemd/system/$FIREWALL_UNIT"
    mkdir -p "$(dirname "$unit")"
    if printf '%s\n' "[Unit]" "Description=k3s-multicloud: k3s ports open to cluster members only" \
        "Before=k3s.service k3s-agent.service" "After=network-pre.target" "" \
        "[Service]" "Type=oneshot" "ExecStart=/usr/sbin/nft -f /etc/k3s-multicloud/firewall.nft" "RemainAfterExit=yes" "" \
        "[Install]" "WantedBy=multi-user.target" | write_if_changed "$unit" 0644; then
        systemctl daemon-reload
        systemctl enable "$FIREWALL_UNIT" >/dev/null 2>&1
    fi
}

# A host set up by release 0.3.0 or earlier carries the firewall unit under its old name: disable and remove it, and
# (where the table's file is there) install the unit under the new name, so the table still loads at boot.
retire_old_firewall_unit() {
    local old="$K3SMC_ROOT/etc/systemd/system/$OLD_FIREWALL_UNIT"
    [ -e "$old" ] || return 0
    systemctl disable "$OLD_FIREWALL_UNIT" >/dev/null 2>&1 || :
    rm -f "$old"
    systemctl daemon-reload
    if [ -f "$FIREWALL_RULES" ]; then
        install_firewall_unit
        log "renamed the host firewall's unit $OLD_FIREWALL_UNIT to $FIREWALL_UNIT (a k3s* name made k3s' uninstaller keep k3s)"
    else
        log "removed the unit $OLD_FIREWALL_UNIT (a k3s* name made k3s' uninstaller keep k3s)"
    fi
}

# Behind a 1:1 NAT (SWAS) or a home router, node-external-ip is on no interface of the host. k3s advertises it as the
# `kubernetes` Service's endpoint (pkg/cli/server: advertise-address defaults to node-external-ip), so pods on the
# server reach 10.43.0.1 only if the NAT sends the host's own packets back to it - hairpin NAT, which many NATs do not
# do (k3s #2963, #4096: coredns and helm jobs time out). Binding the address on lo makes it local: the Service's DNAT
# target is then this host, whatever the NAT does (and a metrics-server on the node reaches its own kubelet at its
# public address). A oneshot unit binds it again at boot, before k3s starts.
PUBLIC_ADDRESS_UNIT=multicloud-k3s-public-address.service

bind_public_address() {
    local config="$K3S_CONFIG_DIR/config.yaml" unit="$K3SMC_ROOT/etc/systemd/system/$PUBLIC_ADDRESS_UNIT" address
    [ -f "$config" ] || return 0
    address=$(sed -n 's/^node-external-ip: *//p' "$config" | head -n 1 | tr -d "'\"")
    if [ -z "$address" ] || ip -4 -o address show | awk '$2 != "lo" { sub(/\/.*/, "", $4); print $4 }' | grep -qxF "$address"; then
        release_public_address
        return 0
    fi
    if ! ip -4 -o address show dev lo | awk '{ sub(/\/.*/, "", $4); print $4 }' | grep -qxF "$address"; then
        ip address replace "$address/32" dev lo
        log "bound the public address $address on lo: behind NAT it is on no interface, and pods reach the API at it (no hairpin NAT needed)"
    fi
    mkdir -p "$(dirname "$unit")"
    if printf '%s\n' "[Unit]" "Description=k3s-multicloud: this node's public address $address on lo (it sits behind NAT)" \
        "Before=k3s.service k3s-agent.service" "After=network-pre.target" "" \
        "[Service]" "Type=oneshot" "ExecStart=/bin/sh -c 'ip address replace $address/32 dev lo'" "RemainAfterExit=yes" "" \
        "[Install]" "WantedBy=multi-user.target" | write_if_changed "$unit" 0644; then
        systemctl daemon-reload
        systemctl enable "$PUBLIC_ADDRESS_UNIT" >/dev/null 2>&1
    fi
}

# Undoes bind_public_address: the address on lo and its unit (a node no longer behind NAT, or its removal).
release_public_address() {
    local unit="$K3SMC_ROOT/etc/systemd/system/$PUBLIC_ADDRESS_UNIT" address
    [ -f "$unit" ] || return 0
    address=$(sed -n "s|^ExecStart=/bin/sh -c 'ip address replace \([0-9.]*\)/32 dev lo'\$|\1|p" "$unit")
    [ -z "$address" ] || ip address del "$address/32" dev lo 2>/dev/null || :
    systemctl disable "$PUBLIC_ADDRESS_UNIT" >/dev/null 2>&1 || :
    rm -f "$unit"
    systemctl daemon-reload
}

# k3s' data directory: data-dir in config.yaml (a user may set it through extraConfig), else k3s' default.
k3s_data_dir() {
    local dir=""
    [ ! -f "$K3S_CONFIG_DIR/config.yaml" ] || dir=$(sed -n 's/^data-dir: *//p' "$K3S_CONFIG_DIR/config.yaml" | head -n 1 | tr -d "'\"")
    printf '%s' "$K3SMC_ROOT${dir:-/var/lib/rancher/k3s}"
}

# The cluster CA's hash as k3s itself computes it (pkg/clientaccess/token.go, hashCA: the sha256 of the CA file when it
# is one self-signed certificate, of the root certificate's DER for a bundle - a custom or rotated CA), read from the
# secure token k3s writes at its first start (<data-dir>/server/token: K10<hash>::server:<password>), never computed
# here. Fails when k3s has not written one.
k3s_ca_hash() {
    local token_file token
    token_file="$(k3s_data_dir)/server/token"
    [ -s "$token_file" ] || return 1
    token=$(head -n 1 "$token_file")
    [[ "$token" =~ ^K10([0-9a-f]{64}):: ]] || return 1
    printf '%s' "${BASH_REMATCH[1]}"
}

# Servers: `# ca-hash <hash>`, from which the program builds the agents' secure join token (K10<hash>::node:<agent
# token>). No hash means no join: agents are never given a token without it (they would trust any server).
print_ca_hash() {
    local hash
    hash=$(k3s_ca_hash) ||
        die "k3s has written no secure token with the cluster CA's hash ($(k3s_data_dir | sed "s|^$K3SMC_ROOT||")/server/token, K10<hash>::server:..., written at the server's first start): agents are not given a join token without the hash, since they would trust whatever server answers. Check that k3s started ('journalctl -u k3s'), then run 'pulumi up' again."
    printf '# ca-hash %s\n' "$hash"
}

UPSTREAM_INSTALLER_URL=https://get.k3s.io
CHINA_INSTALLER_URL=https://rancher-mirror.rancher.cn/k3s/k3s-install.sh
# Where the install step stages a change for a node that already runs k3s; the upgrade step applies it after the
# node is drained (verbs/apply.sh).
staging_dir() { printf '%s' "$K3SMC_ROOT/var/lib/k3s-multicloud/next"; }

# The k3s helpers below read K3SMC_ROLE, K3SMC_VERSION, K3SMC_MIRROR, K3SMC_READY_TIMEOUT (set from the flags by
# main.sh) and $service.
# The pinned installer, bounded in time and told not to start k3s: the upstream installer ends with a `systemctl
# restart` of a Type=notify unit that has no start timeout, so an agent that cannot reach its server would hang
# there forever. start_service then starts it without waiting, and wait_until_ready bounds the wait.
INSTALLER_TIMEOUT="${K3SMC_INSTALLER_TIMEOUT:-900}"
# shellcheck disable=SC2153 # K3SMC_ROLE, K3SMC_VERSION: set from the flags by main.sh
run_installer() {
    local url=$UPSTREAM_INSTALLER_URL installer status=0
    local -a mirror_env=()
    if [ "${K3SMC_MIRROR:-github}" = cn ]; then
        url=$CHINA_INSTALLER_URL
        mirror_env=(INSTALL_K3S_MIRROR=cn)
    fi
    installer=$(mktemp)
    if ! curl -sfL --retry 3 --connect-timeout 20 --max-time 120 -o "$installer" "$url"; then
        rm -f "$installer"
        die "could not download the k3s installer from $url"
    fi
    # The installer writes the binary and the unit for everyone to read: it runs with the usual umask, not the
    # verbs' 077.
    (umask 022 && timeout "$INSTALLER_TIMEOUT" env INSTALL_K3S_VERSION="$K3SMC_VERSION" INSTALL_K3S_SKIP_START=true "${mirror_env[@]}" \
        sh "$installer" "$K3SMC_ROLE") || status=$?
    rm -f "$installer"
    if [ "$status" -eq 124 ]; then
        die "the k3s installer did not finish within ${INSTALLER_TIMEOUT}s (a stalled download from ${K3SMC_MIRROR:-github}?). Run 'pulumi up' again."
    fi
    [ "$status" -eq 0 ] || die "the k3s installer failed (exit $status); its output is above"
}

# Starts or restarts the k3s service without waiting for it (a Type=notify unit that cannot reach its server would
# block systemctl forever); wait_until_ready then waits, bounded, and explains a failure from the journal.
start_service() {
    systemctl restart --no-block "$service"
}

node_ready_status() {
    local kubeconfig="$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml"
    # Agents have no admin kubeconfig; the kubelet's own credentials may read Node objects.
    [ "$K3SMC_ROLE" = agent ] && kubeconfig="$(k3s_data_dir)/agent/kubelet.kubeconfig"
    "$K3S_BIN" kubectl --kubeconfig "$kubeconfig" get node "$K3SMC_NODE_NAME" \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true
}

wait_until_ready() {
    local deadline=$((SECONDS + K3SMC_READY_TIMEOUT)) since
    since=$(date +%s)
    log "waiting up to ${K3SMC_READY_TIMEOUT}s for node $K3SMC_NODE_NAME to be Ready"
    until [ "$(node_ready_status)" = True ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            report_failure
        fi
        refuse_rejected_password "$since"
        sleep "$K3SMC_POLL_INTERVAL"
    done
    log "node $K3SMC_NODE_NAME is Ready (k3s $K3SMC_VERSION)"
}

# A server that holds another machine's password for this node name refuses it for good (k3s pkg/nodepassword); the
# agent only retries and logs it, so waiting out the timeout would tell the user nothing more.
refuse_rejected_password() {
    journalctl -u "$service" --since "@$1" -n 20 --no-pager 2>/dev/null | grep -q 'Node password rejected' || return 0
    die "the server refuses $K3SMC_NODE_NAME: it holds the node password of another machine under this name (k3s: 'Node password rejected'). This happens when a machine is replaced without its identity changing (an existing server re-installed at the same address). Fix: if the old machine is gone, delete its Node and its password on a server - k3s kubectl delete node $K3SMC_NODE_NAME; k3s kubectl -n kube-system delete secret $K3SMC_NODE_NAME.node-password.k3s - then run 'pulumi up' again (docs/operations.md, \"A node on a new machine\")."
}

report_failure() {
    local journal
    journal=$(journalctl -u "$service" -n 40 --no-pager 2>&1 || true)
    printf '%s\n' "--- last journal lines of $service ---" "$journal" "--- end of journal ---" >&2
    if grep -qiE 'could not create wireguard interface|failed to register flannel network' <<<"$journal"; then
        die "flannel could not create its WireGuard interface on $K3SMC_NODE_NAME, so k3s keeps restarting: kernel $(uname -r) has no usable WireGuard. Upgrade the kernel and reboot, then run 'pulumi up' again."
    fi
    die "node $K3SMC_NODE_NAME did not become Ready within ${K3SMC_READY_TIMEOUT}s; the journal lines above say why."
}

# "v1.33.6+k3s1" -> "1 33 6" (major minor patch), or nothing for a version this cannot read.
version_numbers() {
    printf '%s' "$1" | sed -n 's/^v\([0-9][0-9]*\)\.\([0-9][0-9]*\)\.\([0-9][0-9]*\)+k3s[0-9][0-9]*$/\1 \2 \3/p'
}

# Refuses a version change k3s does not support, checked against what the host runs (not against anything the
# program was told): a downgrade, or a step over a Kubernetes minor (k3s upgrades one minor at a time).
check_version_change() {
    local from=$1 to=$2 a b
    read -r -a a <<<"$(version_numbers "$from")"
    read -r -a b <<<"$(version_numbers "$to")"
    [ "${#a[@]}" -eq 3 ] && [ "${#b[@]}" -eq 3 ] || return 0
    if [ "${b[0]}" -ne "${a[0]}" ] || [ "${b[1]}" -lt "${a[1]}" ] || { [ "${b[1]}" -eq "${a[1]}" ] && [ "${b[2]}" -lt "${a[2]}" ]; }; then
        die "this node runs k3s $from and k3s does not support going back to $to. Keep k3sVersion at $from or newer; to go back, rebuild the cluster (restore an etcd snapshot taken with the older version)."
    fi
    if [ "${b[1]}" -gt $((a[1] + 1)) ]; then
        die "this node runs k3s $from; $to skips Kubernetes 1.$((a[1] + 1)), and k3s upgrades one minor at a time. Upgrade to the latest v1.$((a[1] + 1)).x first, then to $to."
    fi
}
