# Installs or updates k3s from a rendered config.yaml. Reads the join token from stdin (never from the command line
# or the environment), writes config and token atomically, runs the pinned installer only when the installed
# version differs, restarts k3s when only config or token changed, and waits until the node is Ready.
#
# Inputs (environment): K3SMC_ROLE (server|agent), K3SMC_NODE_NAME, K3SMC_VERSION, K3SMC_MIRROR (github|cn),
# K3SMC_CONFIG (the config.yaml text), K3SMC_READY_TIMEOUT (seconds).

K3SMC_READY_TIMEOUT="${K3SMC_READY_TIMEOUT:-300}"
UPSTREAM_INSTALLER_URL=https://get.k3s.io
CHINA_INSTALLER_URL=https://rancher-mirror.rancher.cn/k3s/k3s-install.sh

case "${K3SMC_ROLE:-}" in
    server) service=k3s ;;
    agent) service=k3s-agent ;;
    *) die "K3SMC_ROLE must be server or agent, not '${K3SMC_ROLE:-}'" ;;
esac
[ -n "${K3SMC_VERSION:-}" ] || die "K3SMC_VERSION is empty"
[ -n "${K3SMC_CONFIG:-}" ] || die "K3SMC_CONFIG is empty"

config_dir="$K3SMC_ROOT/etc/rancher/k3s"
k3s_bin="$K3SMC_ROOT/usr/local/bin/k3s"

installed_version() {
    if [ -x "$k3s_bin" ]; then
        "$k3s_bin" --version 2>/dev/null | awk 'NR == 1 { print $3 }'
    fi
}

run_installer() {
    local url=$UPSTREAM_INSTALLER_URL installer
    local -a mirror_env=()
    if [ "${K3SMC_MIRROR:-github}" = cn ]; then
        url=$CHINA_INSTALLER_URL
        mirror_env=(INSTALL_K3S_MIRROR=cn)
    fi
    installer=$(mktemp)
    if ! curl -sfL --retry 3 --connect-timeout 20 -o "$installer" "$url"; then
        rm -f "$installer"
        die "could not download the k3s installer from $url"
    fi
    env INSTALL_K3S_VERSION="$K3SMC_VERSION" "${mirror_env[@]}" sh "$installer" "$K3SMC_ROLE"
    rm -f "$installer"
}

node_ready_status() {
    local kubeconfig="$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml"
    # Agents have no admin kubeconfig; the kubelet's own credentials may read Node objects.
    [ "$K3SMC_ROLE" = agent ] && kubeconfig="$K3SMC_ROOT/var/lib/rancher/k3s/agent/kubelet.kubeconfig"
    "$k3s_bin" kubectl --kubeconfig "$kubeconfig" get node "$K3SMC_NODE_NAME" \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true
}

wait_until_ready() {
    local deadline=$((SECONDS + K3SMC_READY_TIMEOUT))
    log "waiting up to ${K3SMC_READY_TIMEOUT}s for node $K3SMC_NODE_NAME to be Ready"
    until [ "$(node_ready_status)" = True ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            report_failure
        fi
        sleep "$K3SMC_POLL_INTERVAL"
    done
    log "node $K3SMC_NODE_NAME is Ready (k3s $K3SMC_VERSION)"
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

require_root
token=""
IFS= read -r token || true
[ -n "$token" ] || die "no join token on stdin"

mkdir -p "$config_dir"
chmod 0755 "$config_dir"
changed=()
if printf '%s\n' "$token" | write_if_changed "$config_dir/cluster-token" 0600; then changed+=(token); fi
if printf '%s' "$K3SMC_CONFIG" | write_if_changed "$config_dir/config.yaml" 0600; then changed+=(config.yaml); fi

current=$(installed_version)
if [ "$current" != "$K3SMC_VERSION" ]; then
    log "installing k3s $K3SMC_VERSION as $K3SMC_ROLE from ${K3SMC_MIRROR:-github} (installed: ${current:-none})"
    run_installer
elif [ "${#changed[@]}" -gt 0 ]; then
    # The installer restarts k3s only when the binary, unit or env file changed, never for config.yaml alone.
    log "k3s $K3SMC_VERSION is installed; ${changed[*]} changed: restarting $service"
    systemctl restart "$service"
elif [ "$(node_ready_status)" = True ]; then
    log "k3s $K3SMC_VERSION, config and token unchanged, node Ready: nothing to do"
    exit 0
else
    log "k3s $K3SMC_VERSION and config unchanged, but the node is not Ready: restarting $service"
    systemctl restart "$service"
fi
wait_until_ready
