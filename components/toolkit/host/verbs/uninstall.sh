# Removes k3s from a host with the uninstall script the installer left. Does nothing when k3s is already gone, so
# deleting a node whose k3s was removed by hand still succeeds.
#
# Flags: --node-name, --role (server|agent).

case "${K3SMC_ROLE:-}" in
    server) uninstaller="$K3SMC_ROOT/usr/local/bin/k3s-uninstall.sh" ;;
    agent) uninstaller="$K3SMC_ROOT/usr/local/bin/k3s-agent-uninstall.sh" ;;
    *) die "--role must be server or agent, not '${K3SMC_ROLE:-}'" ;;
esac

require_root
if [ -x "$uninstaller" ]; then
    log "uninstalling k3s ($K3SMC_ROLE)"
    "$uninstaller"
    log "k3s removed"
else
    log "k3s ($K3SMC_ROLE) is not installed: nothing to uninstall"
fi
