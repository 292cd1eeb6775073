# Runs on a server to take a node out of service: "remove" drains it and deletes its Node object (flannel then
# withdraws its WireGuard peer on every other node; a node that cannot be drained is deleted anyway), "drain"
# cordons and drains it before an upgrade, "uncordon" puts it back afterwards.
#
# Flags: --node-name (this server), --target-node, --action (remove|drain|uncordon).

require_root
kubectl_() {
    "$K3S_BIN" kubectl --kubeconfig "$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml" "$@"
}
[ -n "${K3SMC_TARGET_NODE:-}" ] || die "--target-node is missing"
target=$K3SMC_TARGET_NODE
drain() {
    kubectl_ drain --ignore-daemonsets --delete-emptydir-data --force --timeout=120s -- "$target"
}
case "${K3SMC_ACTION:-remove}" in
    remove)
        if drain; then
            log "drained $target"
        else
            log "WARNING: could not drain $target (already gone?); deleting its Node object anyway"
        fi
        kubectl_ delete node --ignore-not-found -- "$target"
        log "deleted node $target: flannel withdraws its WireGuard peer everywhere"
        ;;
    drain)
        drain || die "could not drain $target before its upgrade; see the lines above (a PodDisruptionBudget?)"
        log "drained $target"
        ;;
    uncordon)
        kubectl_ uncordon -- "$target"
        log "uncordoned $target"
        ;;
    *) die "--action must be remove, drain or uncordon, not '$K3SMC_ACTION'" ;;
esac
