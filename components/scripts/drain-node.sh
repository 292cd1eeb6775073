# Runs on a server when a node leaves the cluster: drains it and deletes its Node object, so flannel withdraws its
# WireGuard peer on every other node. A node that cannot be drained (already gone) is deleted anyway.
#
# Inputs (environment): K3SMC_NODE_NAME (this server), K3SMC_TARGET_NODE.

require_root
kubectl_() {
    "$K3SMC_ROOT/usr/local/bin/k3s" kubectl --kubeconfig "$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml" "$@"
}
target=${K3SMC_TARGET_NODE:?K3SMC_TARGET_NODE is empty}
if kubectl_ drain "$target" --ignore-daemonsets --delete-emptydir-data --force --timeout=120s; then
    log "drained $target"
else
    log "WARNING: could not drain $target (already gone?); deleting its Node object anyway"
fi
kubectl_ delete node "$target" --ignore-not-found
log "deleted node $target: flannel withdraws its WireGuard peer everywhere"
