# Applies the change the install step staged on a node that already runs k3s: moves the staged config.yaml and
# token into place, runs the pinned installer when the version changes (else restarts k3s), and waits until the
# node is Ready. The upgrade step calls it between drain and uncordon, and only when the node's fingerprint differs
# from --fingerprint; the staged change must be the one it names.
#
# Flags: --node-name, --role (server|agent), --fingerprint (sha256 of version and config.yaml), --ready-timeout.

K3SMC_READY_TIMEOUT="${K3SMC_READY_TIMEOUT:-300}"
umask 077
service=$(service_of "${K3SMC_ROLE:-}")
[ -n "${K3SMC_FINGERPRINT:-}" ] || die "--fingerprint is missing"
require_root
next=$(staging_dir)
want=$K3SMC_FINGERPRINT
if [ ! -d "$next" ]; then
    if [ "$(current_fingerprint)" = "$want" ]; then
        log "k3s already runs with fingerprint ${want:0:12}: nothing to apply"
        exit 0
    fi
    die "no change is staged for fingerprint ${want:0:12}; the node's install step stages it. Run 'pulumi up' again."
fi
staged=$(cat "$next/version" "$next/config.yaml" | sha256sum | awk '{ print $1 }')
[ "$staged" = "$want" ] || die "the staged change (fingerprint ${staged:0:12}) is not the one this step applies (${want:0:12}). Run 'pulumi up' again."
K3SMC_VERSION=$(head -n 1 "$next/version")
K3SMC_MIRROR=$(cat "$next/mirror")
install -m 0600 "$next/config.yaml" "$K3S_CONFIG_DIR/config.yaml"
install -m 0600 "$next/cluster-token" "$K3S_CONFIG_DIR/cluster-token"
bind_public_address
current=$(installed_version)
check_version_change "$current" "$K3SMC_VERSION"
if [ "$current" != "$K3SMC_VERSION" ]; then
    log "installing k3s $K3SMC_VERSION as $K3SMC_ROLE from $K3SMC_MIRROR (installed: ${current:-none})"
    run_installer
    start_service
else
    log "k3s $K3SMC_VERSION: config.yaml changed, restarting $service"
    start_service
fi
rm -rf "$next"
wait_until_ready
