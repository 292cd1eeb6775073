# Checks on this node that the WireGuard mesh formed: every expected peer at its public IP and flannel's port, with
# a recent handshake (and, on a server, every node Ready). It waits until that holds or the timeout passes, prints
# the interface (private key blanked) and its verdict, and exits non-zero with the findings in words when the mesh
# did not form - so Pulumi records no success and the next `pulumi up` checks again.
#
# Output: `# now <epoch>`, `# wg` + dump lines (or `# wg-error <text>`), `# ready <node> <status>` (servers),
# `# peer <node|-> <endpoint> <age seconds|never> <allowed ips>`, `# problem <text>`, `# warning <text>`.
#
# Flags: --node-name, --role (server|agent), --peers (name=publicIp[/privateIp],... of every other node),
# --mesh-timeout (seconds).

K3SMC_MESH_TIMEOUT="${K3SMC_MESH_TIMEOUT:-180}"
# WireGuard re-handshakes every 2 minutes while a tunnel is used (k3s keeps it used with a 25 s keepalive).
MAX_HANDSHAKE_AGE=180
WIREGUARD_PORT=51820
peers=${K3SMC_PEERS:-}

read_interface() {
    wg show flannel-wg dump 2>&1
}

# The verdict over a `wg show flannel-wg dump` on stdin: `# peer`, `# problem` and `# warning` lines. With
# count=1 it prints only how many expected peers have a live handshake.
# shellcheck disable=SC2016 # the awk program's $n are awk's
judge() {
    awk -F'\t' -v self="$K3SMC_NODE_NAME" -v peers="$peers" -v now="$1" -v max="$MAX_HANDSHAKE_AGE" \
        -v wgport="$WIREGUARD_PORT" -v count="${2:-0}" '
        BEGIN {
            n = split(peers, list, ",")
            for (i = 1; i <= n; i++) {
                split(list[i], kv, "=")
                name[i] = kv[1]
                split(kv[2], ips, "/")
                pub[i] = ips[1]
                priv[i] = (ips[2] == "" ? ips[1] : ips[2])
            }
        }
        NR == 1 { next }
        {
            rows = NR
            key[NR] = $1
            ep[NR] = $3
            allowed[NR] = $4
            hs[NR] = $5 + 0
            host = $3
            port = ""
            if (host != "(none)") {
                port = host
                sub(/^.*:/, "", port)
                sub(/:[0-9]+$/, "", host)
                gsub(/[][]/, "", host)
            } else {
                host = ""
            }
            h[NR] = host
            p[NR] = port
        }
        function age_of(r) { return hs[r] == 0 ? -1 : (now - hs[r] < 0 ? 0 : now - hs[r]) }
        END {
            live = 0
            for (i = 1; i <= n; i++) {
                found = 0
                # A stale peer (allowed ips "(none)") left by the previous key of the node may share its endpoint and
                # still show the recent handshake of that key: only a peer that routes something stands for the node.
                for (r = 2; r <= rows; r++) if (h[r] == pub[i] && allowed[r] != "(none)") { found = r; break }
                if (count) {
                    if (found && age_of(found) >= 0 && age_of(found) <= max) live++
                    continue
                }
                if (!found) {
                    via = 0
                    if (priv[i] != pub[i]) for (r = 2; r <= rows; r++) if (h[r] == priv[i] && allowed[r] != "(none)") { via = r; break }
                    if (via) {
                        used[via] = 1
                        printf "# problem %s reaches %s at its private address %s instead of %s:%s: node-external-ip did not apply on %s, so flannel there advertises its NIC address, which nothing outside its network can reach.\n", self, name[i], ep[via], pub[i], wgport, name[i]
                    } else {
                        printf "# problem %s has no WireGuard peer for %s (expected endpoint %s:%s): %s has not joined, or flannel has not seen it yet.\n", self, name[i], pub[i], wgport, name[i]
                    }
                    continue
                }
                used[found] = 1
                age = age_of(found)
                printf "# peer %s %s %s %s\n", name[i], ep[found], (age < 0 ? "never" : age), allowed[found]
                if (p[found] != wgport) printf "# warning %s reaches %s on port %s, not %s: a NAT in front of %s maps the port.\n", self, name[i], p[found], wgport, name[i]
                if (age < 0) {
                    printf "# problem %s has never completed a WireGuard handshake with %s at %s: UDP %s is blocked between them (a firewall) or %s is down.\n", self, name[i], ep[found], wgport, name[i]
                } else if (age > max) {
                    printf "# problem %s'"'"'s latest WireGuard handshake with %s at %s was %d s ago (more than %d s): the tunnel is not alive.\n", self, name[i], ep[found], age, max
                }
            }
            if (count) { print live; exit }
            for (r = 2; r <= rows; r++) {
                if (used[r]) continue
                age = age_of(r)
                printf "# peer - %s %s %s\n", ep[r], (age < 0 ? "never" : age), allowed[r]
                if (allowed[r] == "(none)") {
                    printf "# warning %s has a stale WireGuard peer %s (endpoint %s, no allowed IPs), left by a node whose key changed; removing a node prunes such peers.\n", self, key[r], ep[r]
                } else {
                    printf "# warning %s has a WireGuard peer at %s (allowed %s) that matches no node of this cluster.\n", self, ep[r], allowed[r]
                }
            }
        }'
}

require_root
expected=$(printf '%s' "$peers" | tr ',' '\n' | grep -c . || true)
deadline=$((SECONDS + K3SMC_MESH_TIMEOUT))
while :; do
    if dump=$(read_interface); then
        state=ok
        [ "$(printf '%s\n' "$dump" | judge "$(date +%s)" 1)" -ge "$expected" ] && break
    else
        state=missing
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep "$K3SMC_POLL_INTERVAL"
done

now=$(date +%s)
report=$(
    printf '# now %s\n' "$now"
    if [ "$state" = missing ]; then
        error=$(printf '%s' "$dump" | head -n 1)
        printf '# wg-error %s\n' "$error"
        printf "# problem %s: flannel's WireGuard interface flannel-wg is missing (%s): k3s is down on this node or flannel is not using the wireguard-native backend.\n" "$K3SMC_NODE_NAME" "$error"
    else
        printf '# wg\n'
        printf '%s\n' "$dump" | awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { $1 = "(hidden)" } { print }'
        printf '%s\n' "$dump" | judge "$now"
    fi
    if [ "${K3SMC_ROLE:-agent}" = server ]; then
        ready=$("$K3S_BIN" kubectl --kubeconfig "$K3S_CONFIG_DIR/k3s.yaml" get nodes \
            -o 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null || true)
        printf '%s\n' "$ready" | sed -n 's/^\(..*\)$/# ready \1/p'
        # Only nodes of this cluster count: this one and the expected peers.
        members=" $K3SMC_NODE_NAME $(printf '%s' "$peers" | tr ',' '\n' | sed 's/=.*//' | tr '\n' ' ') "
        while read -r node status; do
            case "$members" in
                *" $node "*) [ "$status" = True ] || printf '# problem %s is not Ready (Ready=%s) as the server sees it.\n' "$node" "${status:-unknown}" ;;
            esac
        done <<<"$ready"
    fi
)
printf '%s\n' "$report"
problems=$(printf '%s\n' "$report" | sed -n 's/^# problem /  - /p')
if [ -n "$problems" ]; then
    printf 'k3s-multicloud [%s] ERROR: the WireGuard mesh did not form:\n%s\n' "$K3SMC_NODE_NAME" "$problems" >&2
    exit 1
fi
log "the WireGuard mesh formed: $expected peers with a handshake within ${MAX_HANDSHAKE_AGE}s"
