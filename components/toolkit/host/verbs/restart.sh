# Restarts k3s on this node so flannel re-reads the annotations it reads only at start, unless flannel already
# advertises the expected address (k3s writes the overwrite itself at start, so a node that was just installed or
# restarted by a config change already uses it).
#
# Flags: --node-name, --role (server|agent), --expected-public-ip (optional: when absent or empty, always restart),
# --ready-timeout (seconds).

K3SMC_READY_TIMEOUT="${K3SMC_READY_TIMEOUT:-300}"
case "${K3SMC_ROLE:-}" in
    server) service=k3s kubeconfig="$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml" ;;
    agent) service=k3s-agent kubeconfig="$(k3s_data_dir)/agent/kubelet.kubeconfig" ;;
    *) die "--role must be server or agent, not '${K3SMC_ROLE:-}'" ;;
esac

node_jsonpath() {
    "$K3S_BIN" kubectl --kubeconfig "$kubeconfig" get node "$K3SMC_NODE_NAME" -o "jsonpath=$1" 2>/dev/null || true
}

require_root
if [ -n "${K3SMC_EXPECTED_PUBLIC_IP:-}" ]; then
    current=$(node_jsonpath '{.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip}')
    if [ "$current" = "$K3SMC_EXPECTED_PUBLIC_IP" ]; then
        log "flannel already advertises $current: no restart needed"
        exit 0
    fi
    log "flannel advertises '${current:-nothing}', expected $K3SMC_EXPECTED_PUBLIC_IP: restarting $service"
else
    log "an annotation flannel reads at start changed: restarting $service"
fi
start_service
deadline=$((SECONDS + K3SMC_READY_TIMEOUT))
until [ "$(node_jsonpath '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        die "node $K3SMC_NODE_NAME did not become Ready within ${K3SMC_READY_TIMEOUT}s after the restart; see 'journalctl -u $service'."
    fi
    sleep "$K3SMC_POLL_INTERVAL"
done
log "node $K3SMC_NODE_NAME is Ready after the restart"
