# Removes k3s and everything this project put on the host, then checks that k3s is gone: a removal that leaves k3s
# running (or its tokens on disk) fails in words instead of logging success.
#   - the host firewall: its unit (under the old name too), its nftables table and rules file, the ufw rules it added;
#   - the public address bound on lo behind NAT, and its unit;
#   - k3s, with the uninstall script its installer left (it stops early while another k3s*.service unit exists:
#     ours had such a name up to release 0.3.0, so it goes first);
#   - what the install verb wrote: config.yaml, registries.yaml, both tokens (in /etc/rancher/k3s, which k3s'
#     uninstaller removes), the staged change and the recorded node identities (/var/lib/k3s-multicloud);
#   - last, once all that succeeded, the toolkit itself (/opt/k3s-multicloud): a failed removal keeps it, so that
#     Pulumi's next attempt can run.
# Does nothing to k3s when it is already gone, so deleting a node whose k3s was removed by hand still succeeds.
#
# Flags: --node-name, --role (server|agent).

case "${K3SMC_ROLE:-}" in
    server) uninstaller="$K3SMC_ROOT/usr/local/bin/k3s-uninstall.sh" ;;
    agent) uninstaller="$K3SMC_ROOT/usr/local/bin/k3s-agent-uninstall.sh" ;;
    *) die "--role must be server or agent, not '${K3SMC_ROLE:-}'" ;;
esac

require_root
units="$K3SMC_ROOT/etc/systemd/system"
for unit in "$FIREWALL_UNIT" "$OLD_FIREWALL_UNIT"; do
    if [ -e "$units/$unit" ]; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || :
        rm -f "$units/$unit"
    fi
done
systemctl daemon-reload
release_public_address
data_dir=$(k3s_data_dir)
had_k3s=no
if [ -x "$uninstaller" ]; then
    had_k3s=yes
    log "uninstalling k3s ($K3SMC_ROLE)"
    "$uninstaller" >/dev/null 2>&1 || die "k3s' uninstaller ($uninstaller) failed; run it on the host to see why"
else
    log "k3s ($K3SMC_ROLE) is not installed: nothing to uninstall"
fi

# What is left of k3s after its uninstaller ran; anything means it stopped early. (The data directory is read before:
# the uninstaller removes config.yaml, which names it.)
left=()
[ ! -e "$K3S_BIN" ] || left+=("${K3S_BIN#"$K3SMC_ROOT"}")
[ ! -e "$K3S_CONFIG_DIR" ] || left+=("${K3S_CONFIG_DIR#"$K3SMC_ROOT"} (tokens)")
[ ! -e "$data_dir" ] || left+=("${data_dir#"$K3SMC_ROOT"}")
if [ "${#left[@]}" -gt 0 ]; then
    others=$(find "$units" -maxdepth 1 -name 'k3s*.service' -printf '%f\n' 2>/dev/null | sort | paste -sd' ' -)
    die "k3s is still installed after its uninstaller ran: ${left[*]} remain.${others:+ Its uninstaller stops early while other k3s*.service units exist ($others): remove them, then run 'pulumi up' (or 'pulumi destroy') again.}"
fi

if command -v nft >/dev/null 2>&1 && nft list table inet "$NFT_TABLE" >/dev/null 2>&1; then
    nft delete table inet "$NFT_TABLE"
fi
rm -rf "$(dirname "$FIREWALL_RULES")" "$K3SMC_ROOT/var/lib/k3s-multicloud"
if command -v ufw >/dev/null 2>&1; then
    # Our rules by their comment, highest number first (numbers shift as rules go).
    for number in $(ufw status numbered 2>/dev/null | sed -n "s/^\[ *\([0-9][0-9]*\)\].*# $UFW_COMMENT\$/\1/p" | sort -rn); do
        ufw --force delete "$number" >/dev/null
    done
fi
rm -rf "$TOOLKIT_HOME"
[ "$had_k3s" = no ] || log "k3s removed, with its configuration and tokens"
log "removed the host firewall (unit, nftables table, ufw rules), the staged files and the toolkit: nothing of k3s-multicloud is left"
