# For people on the host: which toolkit is installed, what k3s runs, its fingerprint, and the WireGuard peers.
# `sudo /opt/k3s-multicloud/bin/k3smc status`.
#
# Flags: --node-name.

require_root
service=none
for candidate in k3s k3s-agent; do
    if [ -f "$K3SMC_ROOT/etc/systemd/system/$candidate.service" ]; then service=$candidate; fi
done
printf 'toolkit:     %s (contracts %s)\n' "$K3SMC_TOOLKIT_ID" "$K3SMC_CONTRACTS"
printf 'k3s:         %s\n' "$(installed_version | grep . || printf 'not installed')"
printf 'service:     %s %s\n' "$service" "$([ "$service" = none ] || systemctl is-active "$service" 2>/dev/null || true)"
printf 'fingerprint: %s\n' "$(current_fingerprint)"
if dump=$(wg show flannel-wg dump 2>/dev/null); then
    printf 'flannel-wg:  %s peers, %s with a handshake\n' "$(printf '%s\n' "$dump" | awk 'NR > 1' | wc -l)" \
        "$(printf '%s\n' "$dump" | awk -F'\t' 'NR > 1 && $5 > 0' | wc -l)"
else
    printf 'flannel-wg:  no interface\n'
fi
