# Reads flannel's WireGuard interface once it has handshaken with the expected number of peers (or the wait is
# over), and prints it for the comparison in components/mesh/meshCheck.ts. The server also prints every node's
# Ready condition. The interface's private key is blanked before anything is printed.
#
# Flags: --node-name, --role (server|agent), --expected-peers, --mesh-timeout (seconds).

K3SMC_EXPECTED_PEERS="${K3SMC_EXPECTED_PEERS:-0}"
K3SMC_MESH_TIMEOUT="${K3SMC_MESH_TIMEOUT:-180}"

read_interface() {
    wg show flannel-wg dump 2>&1
}

require_root
deadline=$((SECONDS + K3SMC_MESH_TIMEOUT))
while :; do
    if dump=$(read_interface); then
        state=ok
        handshaken=$(printf '%s\n' "$dump" | awk -F'\t' 'NR > 1 && $5 > 0' | wc -l)
        [ "$handshaken" -ge "$K3SMC_EXPECTED_PEERS" ] && break
    else
        state=missing
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep "$K3SMC_POLL_INTERVAL"
done

printf '# now %s\n' "$(date +%s)"
if [ "$state" = missing ]; then
    printf '# wg-error %s\n' "$(printf '%s' "$dump" | head -n 1)"
else
    printf '# wg\n'
    printf '%s\n' "$dump" | awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { $1 = "(hidden)" } { print }'
fi
if [ "${K3SMC_ROLE:-agent}" = server ]; then
    "$K3S_BIN" kubectl --kubeconfig "$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml" get nodes \
        -o 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null |
        sed -n 's/^\(..*\)$/# ready \1/p' || true
fi
