# The host firewall for k3s' ports: only cluster members (and whom the stack names for the API) reach them, whatever
# the cloud firewall can express. Two layers, programmed together:
#   - nftables: table `inet k3s_multicloud`, hooked before the usual filter chains, accepts the k3s ports from the
#     members (and loopback, and pods) and drops them from everyone else. Replaced atomically on every run, so a node
#     that left the cluster loses access at the next `pulumi up`. A packet whose source is a pod or service address
#     but that arrived on an interface that does not route to it (spoofed on the public NIC; rp_filter is often
#     loose) is dropped on every port.
#   - ufw, when it is active (Vultr images ship it enabled, default deny): an accept in our table does not override
#     ufw's drop, so ufw gets the same rules - from each member's addresses, the API CIDRs and the pod and service
#     CIDRs, to k3s' ports only - and keeps them closed to strangers by itself when our table is missing (a boot
#     where our unit failed, `nft flush ruleset`). Rules we added earlier and no longer want (a member that left,
#     0.3.0's port-wide rules) are deleted.
#   - pods cannot reach the instance metadata service (169.254.169.254; Alibaba's 100.100.100.200): on Vultr it
#     serves user-data, which holds the SSH host key this stack generated, to any process on the node. Host
#     processes (and hostNetwork pods) still can; that is the node itself.
# Nothing else is touched: SSH, ICMP (path-MTU discovery for WireGuard) and every other port keep the host's rules.
# firewalld, or another input chain whose policy drops (not ufw's), is not programmed here: a warning names the ports.
#
# Flags: --node-name, --role (server|agent), --members (name=publicIp[/privateIp],... of every node, this one too),
# --servers (names of the server nodes), --api-allowed (CIDRs that may reach 6443 besides the members, comma
# separated; 0.0.0.0/0 for anyone), --cluster-cidrs (pod and service CIDRs, comma separated, IPv4), --member-ports
# (optional: more TCP ports for members only, comma separated, e.g. 5001 for k3s' embedded registry), --pod-metadata
# (optional: "allow" lets pods reach the cloud's instance metadata service; by default they cannot).

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

# The program checks these too; a host refuses what would open its ports to the world (0.0.0.0/0 as a pod CIDR) or
# what nftables' IPv4 sets cannot hold (an IPv6 half of a dual-stack value).
for cidr in $(printf '%s' "$cluster_cidrs" | tr ',' ' '); do
    if ! [[ "$cidr" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]{1,2})$ ]] || [ "${BASH_REMATCH[2]}" -lt 8 ] || [ "${BASH_REMATCH[2]}" -gt 30 ]; then
        die "--cluster-cidrs: '$cidr' is not an IPv4 pod or service CIDR from /8 to /30; the host firewall would open k3s' ports to it"
    fi
done
member_ips=$(addresses_of "" | set_of)
server_ips=$(addresses_of "${K3SMC_SERVERS:-}" | set_of)
api_cidrs=$(printf '%s' "${K3SMC_API_ALLOWED:-}" | tr ',' '\n' | set_of)
pod_cidrs=$(printf '%s' "$cluster_cidrs" | tr ',' '\n' | set_of)
extra_ports=""
for port in $(printf '%s' "${K3SMC_MEMBER_PORTS:-}" | tr ',' ' '); do
    [[ "$port" =~ ^[0-9]{1,5}$ ]] || die "--member-ports must be port numbers, not '$port'"
    extra_ports+=", $port"
done

metadata_chain=""
case "${K3SMC_POD_METADATA:-block}" in
    allow) ;;
    block)
        metadata_chain=$(
            cat <<EOF
    chain forward {
        type filter hook forward priority -10; policy accept;
        ip saddr @pods ip daddr { 169.254.169.254, 100.100.100.200 } counter reject comment "pods: no instance metadata (user-data holds the host key)"
    }
EOF
        )
        ;;
    *) die "--pod-metadata must be 'allow', not '$K3SMC_POD_METADATA'" ;;
esac
rules=$(
    cat <<EOF
table inet $NFT_TABLE
delete table inet $NFT_TABLE
table inet $NFT_TABLE {
    set members { type ipv4_addr; flags interval; auto-merge; elements = { $member_ips } }
    set servers { type ipv4_addr; flags interval; auto-merge; elements = { $server_ips } }
    set api { type ipv4_addr; flags interval; auto-merge; elements = { $api_cidrs } }
    set pods { type ipv4_addr; flags interval; auto-merge; elements = { $pod_cidrs } }
    chain input {
        type filter hook input priority -10; policy accept;
        iifname "lo" accept
        ip saddr @pods fib saddr . iif oif missing counter drop comment "pod or service source on an interface that does not route to it: spoofed"
        ip saddr @pods tcp dport { 6443, 10250$extra_ports } accept
        ip saddr @members tcp dport { 6443, 10250$extra_ports } accept
        ip saddr @members udp dport { 51820, 51821 } accept
        ip saddr @servers tcp dport { 2379, 2380 } accept
        ip saddr @api tcp dport 6443 accept
        tcp dport { 6443, 10250, 2379, 2380$extra_ports } counter drop comment "k3s ports: cluster members only"
        udp dport { 51820, 51821 } counter drop comment "WireGuard: cluster members only"
    }
$metadata_chain
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
log "nftables: k3s ports open to $(printf '%s' "$member_ips" | tr ',' '\n' | grep -vc '^127\.255\.255\.254$') member addresses${K3SMC_API_ALLOWED:+, 6443 also to $K3SMC_API_ALLOWED}; everyone else dropped; pods $([ -n "$metadata_chain" ] && echo "cannot" || echo "may") reach the instance metadata service"

# ufw's rules as `ufw show added` prints them (so the rules there can be compared as text), one per line.
ufw_rules() {
    local tcp="6443,10250${extra_ports//, /,}" address cidr
    for address in $(addresses_of ""); do
        printf 'allow from %s to any port %s proto tcp\n' "$address" "$tcp"
        printf 'allow from %s to any port 51820:51821 proto udp\n' "$address"
    done
    if [ "${K3SMC_ROLE:-agent}" = server ]; then
        for address in $(addresses_of "${K3SMC_SERVERS:-}"); do printf 'allow from %s to any port 2379:2380 proto tcp\n' "$address"; done
    fi
    for cidr in $(printf '%s' "${K3SMC_API_ALLOWED:-}" | tr ',' ' '); do
        if [ "$cidr" = 0.0.0.0/0 ]; then printf 'allow 6443/tcp\n'; else printf 'allow from %s to any port 6443 proto tcp\n' "$cidr"; fi
    done
    for cidr in $(printf '%s' "$cluster_cidrs" | tr ',' ' '); do printf 'allow from %s to any port %s proto tcp\n' "$cidr" "$tcp"; done
}

ufw_active=no
if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then ufw_active=yes; fi
if [ "$ufw_active" = yes ]; then
    wanted=$(ufw_rules | sort -u)
    present=$(ufw show added 2>/dev/null | sed -n "s/^ufw \(.*\) comment '$UFW_COMMENT'\$/\1/p" | sort -u)
    added=0 deleted=0
    while IFS= read -r rule; do
        [ -n "$rule" ] || continue
        # shellcheck disable=SC2086 # a rule is ufw's own words, split on purpose
        ufw delete $rule >/dev/null && deleted=$((deleted + 1))
    done < <(comm -13 <(printf '%s\n' "$wanted") <(printf '%s\n' "$present"))
    while IFS= read -r rule; do
        [ -n "$rule" ] || continue
        # shellcheck disable=SC2086
        ufw $rule comment "$UFW_COMMENT" >/dev/null && added=$((added + 1))
    done < <(comm -23 <(printf '%s\n' "$wanted") <(printf '%s\n' "$present"))
    log "ufw is active: $(printf '%s\n' "$wanted" | grep -c .) rules of ours from the members, the API CIDRs and the pods to k3s' ports ($added added, $deleted no longer wanted deleted)"
else
    log "ufw is not active: nothing to open there"
fi

# What this step does not program: say so, instead of letting a join time out in silence.
if command -v firewall-cmd >/dev/null 2>&1 && [ "$(firewall-cmd --state 2>/dev/null)" = running ]; then
    log "WARNING: firewalld is active: its zones drop what they do not allow, whatever our table accepts. Allow 6443/tcp, 10250/tcp and 51820-51821/udp (servers: 2379-2380/tcp too) from the cluster's members in firewalld, or nodes cannot join."
elif [ "$ufw_active" = no ] && nft list chains 2>/dev/null | awk '/^table/ { t = $3 } /hook input/ && /policy drop/ && t != "'"$NFT_TABLE"'" && t !~ /^ufw/ { found = 1 } END { exit !found }'; then
    log "WARNING: another nftables input chain on this host drops by default; our table accepts k3s' ports from the members, but that chain must accept them too, or nodes cannot join."
fi
