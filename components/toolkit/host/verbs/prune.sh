# Removes stale peers from flannel's WireGuard interface: only peers that route nothing (allowed ips "(none)"),
# which a node leaves behind when its key changes (reboot, VM replaced under the same name). Never all peers.
#
# Flags: --node-name.

require_root
if ! dump=$(wg show flannel-wg dump 2>/dev/null); then
    log "no flannel-wg interface: nothing to prune"
    exit 0
fi
stale=$(printf '%s\n' "$dump" | awk -F'\t' 'NR > 1 && $4 == "(none)" { print $1 }')
if [ -z "$stale" ]; then
    log "no stale WireGuard peers"
    exit 0
fi
while IFS= read -r key; do
    wg set flannel-wg peer "$key" remove
    log "removed stale WireGuard peer $key"
done <<<"$stale"
