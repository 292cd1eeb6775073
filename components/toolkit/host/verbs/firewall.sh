# The host firewall for k3s' ports: only cluster members (and whom the stack names for the API) reach them, whatever
# the cloud firewall can express. Two layers, programmed together:
#   - nftables: table `inet k3s_multicloud`, hooked before the usual filter chains, accepts the k3s ports from the
#     members (and loopback, the pod and service CIDRs) and drops them from everyone else. Replaced atomically on
#     every run, so a node that left the cluster loses access at the next `pulumi up`.
#   - ufw, when it is active (Vultr images ship it enabled, default deny): an accept in our table does not override
#     ufw's drop, so the same ports and the pod and service CIDRs are allowed there too; our table has already
#     dropped strangers by then.
# Nothing else is touched: SSH, ICMP (path-MTU discovery for WireGuard) and every other port keep the host's rules.
#
# Flags: --node-name, --role (server|agent), --members (name=publicIp[/privateIp],... of every node, this one too),
# --servers (names of the server nodes), --api-allowed (CIDRs that may reach 6443 besides the members, comma
# separated; 0.0.0.0/0 for anyone), --cluster-cidrs (pod and service CIDRs, comma separated), --member-ports (optional:
# more TCP ports for members only, comma separated, e.g. 5001 for k3s' embedded registry).

require_root
members=${K3SMC_MEMBERS:-}
[ -n "$members" ] || die "--members is missing"
cluster_cidrs=${K3SMC_CLUSTER_CIDRS:-10.42.0.0/16,10.43.0.0/16}

# Every address of the members (public and private), and of the servers, one per line.
addresses_of() {
    printf '%s' "$members" | tr ',' '\n' | awk -F'=' -v only="$1" '
        BEGIN { n = split(only, keep, ","); for (i = 1; i <= n; i++) wanted[keep[i]] = 1 }
        NF == 2 && (only == "" || ($1 in wanted)) { m = split($2, ips, "/"); for (i = 1; i <= m; i++) if (ips[i] != "") print ips[i] }' | sort -u
}

# A comma-separated nftables set body from lines, or a placeholder that matches nothing when there are none.
set_of() {
    local items
    items=$(grep -v '^$' | paste -sd, -)
    printf '%s' "${items:-127.255.255.254}"
}

member_ips=$(addresses_of "" | set_of)
server_ips=$(addresses_of "${K3SMC_SERVERS:-}" | set_of)
api_cidrs=$(printf '%s' "${K3SMC_API_ALLOWED:-}" | tr ',' '\n' | set_of)
local_cidrs=$(printf '%s' "127.0.0.0/8,$cluster_cidrs" | tr ',' '\n' | set_of)
extra_ports=""
for port in $(printf '%s' "${K3SMC_MEMBER_PORTS:-}" | tr ',' ' '); do
    [[ "$port" =~ ^[0-9]{1,5}$ ]] || die "--member-ports must be port numbers, not '$port'"
    extra_ports+=", $port"
done

rules=$(
    cat <<EOF
table inet $NFT_TABLE
delete table inet $NFT_TABLE
table inet $NFT_TABLE {
    set members { type ipv4_addr; flags interval; auto-merge; elements = { $member_ips } }
    set servers { type ipv4_addr; flags interval; auto-merge; elements = { $server_ips } }
    set api { type ipv4_addr; flags interval; auto-merge; elements = { $api_cidrs } }
    set local { type ipv4_addr; flags interval; auto-merge; elements = { $local_cidrs } }
    chain input {
        type filter hook input priority -10; policy accept;
        iifname "lo" accept
        ip saddr @local accept
        ip saddr @members tcp dport { 6443, 10250$extra_ports } accept
        ip saddr @members udp dport { 51820, 51821 } accept
        ip saddr @servers tcp dport { 2379, 2380 } accept
        ip saddr @api tcp dport 6443 accept
        tcp dport { 6443, 10250, 2379, 2380$extra_ports } counter drop comment "k3s ports: cluster members only"
        udp dport { 51820, 51821 } counter drop comment "WireGuard: cluster members only"
    }
}
EOF
)
if ! command -v nft >/dev/null 2>&1; then
    die "nft (nftables) is missing on this host: the prepare step installs it on Debian and Ubuntu; install it, then run 'pulumi up' again."
fi
# The table lives in a file that a oneshot unit loads at boot, before k3s starts: nftables rules do not survive a
# reboot by themselves.
mkdir -p "$(dirname "$FIREWALL_RULES")"
printf '%s\n' "$rules" | write_if_changed "$FIREWALL_RULES" 0600 || true
if ! error=$(nft -f "$FIREWALL_RULES" 2>&1); then
    die "nftables refused the k3s-multicloud table: $error"
fi
retire_old_firewall_unit
install_firewall_unit
log "nftables: k3s ports open to $(printf '%s' "$member_ips" | tr ',' '\n' | grep -vc '^127\.255\.255\.254$') member addresses${K3SMC_API_ALLOWED:+, 6443 also to $K3SMC_API_ALLOWED}; everyone else dropped"

if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then
    allow=("6443/tcp" "10250/tcp" "51820:51821/udp")
    [ "${K3SMC_ROLE:-agent}" = server ] && allow+=("2379:2380/tcp")
    for port in $(printf '%s' "${K3SMC_MEMBER_PORTS:-}" | tr ',' ' '); do allow+=("$port/tcp"); done
    for port in "${allow[@]}"; do
        ufw allow "$port" comment "$UFW_COMMENT" >/dev/null
    done
    for cidr in $(printf '%s' "$cluster_cidrs" | tr ',' ' '); do
        ufw allow from "$cidr" comment "$UFW_COMMENT" >/dev/null
    done
    log "ufw is active: allowed ${allow[*]} and traffic from $cluster_cidrs (members only, by the nftables table)"
else
    log "ufw is not active: nothing to open there"
fi
