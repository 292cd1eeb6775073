# Installs k3s from a rendered config.yaml. Reads the join token from stdin (never from the command line or the
# environment), writes config and token atomically, runs the pinned installer, and waits until the node is Ready.
# On a node that already runs k3s with another version or config (another fingerprint) it only stages the change:
# the node's upgrade step drains it and applies the staged change (verbs/apply.sh), one node at a time. With the
# same fingerprint it restarts k3s only for a node that is not Ready. A different join token, a downgrade or a step over
# a Kubernetes minor is refused in words.
#
# On a server given --node-identities, a node whose machine was replaced under the same name (another identity than
# the one recorded here) is forgotten before the new machine joins: its Node object and its node-password secret, with
# which k3s would reject the new machine ("Node password rejected"). An identity seen the first time is only recorded.
#
# Flags: --node-name, --role (server|agent), --version, --mirror (github|cn), --ready-timeout (seconds),
# --node-identities (servers, optional: name=identity,... of the nodes joining through this one), --config (the
# config.yaml text).

K3SMC_READY_TIMEOUT="${K3SMC_READY_TIMEOUT:-300}"

service=$(service_of "${K3SMC_ROLE:-}")
[ -n "${K3SMC_VERSION:-}" ] || die "--version is missing"
[ -n "${K3SMC_CONFIG:-}" ] || die "--config is missing"
config_dir=$K3S_CONFIG_DIR

forget_replaced_nodes() {
    [ "$K3SMC_ROLE" = server ] && [ -n "${K3SMC_NODE_IDENTITIES:-}" ] || return 0
    local dir="$K3SMC_ROOT/var/lib/k3s-multicloud/node-identities" pair node identity recorded
    local -a kubectl=("$K3S_BIN" kubectl --kubeconfig "$K3S_CONFIG_DIR/k3s.yaml")
    mkdir -p "$dir"
    for pair in ${K3SMC_NODE_IDENTITIES//,/ }; do
        node=${pair%%=*}
        identity=${pair#*=}
        recorded=$(cat "$dir/$node" 2>/dev/null || true)
        if [ -n "$recorded" ] && [ "$recorded" != "$identity" ]; then
            "${kubectl[@]}" delete node --ignore-not-found -- "$node" >/dev/null ||
                die "could not delete the Node object of $node, whose machine was replaced; the new machine would be rejected"
            "${kubectl[@]}" -n kube-system delete secret --ignore-not-found -- "$node.node-password.k3s" >/dev/null ||
                die "could not delete the node password of $node, whose machine was replaced; the new machine would be rejected"
            log "$node runs on a new machine ($recorded -> $identity): deleted its old Node object and node password, so it can join"
        fi
        printf '%s\n' "$identity" >"$dir/$node"
    done
}

require_root
token=""
IFS= read -r token || true
[ -n "$token" ] || die "no join token on stdin"

mkdir -p "$config_dir"
chmod 0755 "$config_dir"
# The token encrypts the datastore's secrets (and agents join with it): a different one would not be a harmless
# restart. Changing it is a deliberate rotation, not something a `pulumi up` does on the side.
if [ -f "$config_dir/cluster-token" ] && [ -n "$(installed_version)" ] && ! printf '%s\n' "$token" | cmp -s - "$config_dir/cluster-token"; then
    die "the join token given differs from the one this node runs with. k3s uses the server token to encrypt its datastore, so it is not changed by a redeploy: keep the stack's token, or rotate it deliberately with 'k3s token rotate' on the server (docs.k3s.io/cli/token) and then set the new value in the stack."
fi
wanted=$({ printf '%s\n' "$K3SMC_VERSION"; printf '%s' "$K3SMC_CONFIG"; } | sha256sum | awk '{ print $1 }')
running=$(current_fingerprint)
if [ "$running" != none ] && [ "$running" != "$wanted" ]; then
    check_version_change "$(installed_version)" "$K3SMC_VERSION"
    next=$(staging_dir)
    rm -rf "$next.tmp"
    mkdir -p "$next.tmp"
    chmod 0700 "$next.tmp"
    printf '%s\n' "$K3SMC_VERSION" >"$next.tmp/version"
    printf '%s' "$K3SMC_CONFIG" >"$next.tmp/config.yaml"
    printf '%s\n' "$token" >"$next.tmp/cluster-token"
    printf '%s\n' "${K3SMC_MIRROR:-github}" >"$next.tmp/mirror"
    rm -rf "$next"
    mv "$next.tmp" "$next"
    log "k3s $(installed_version) runs here with another config or version: staged k3s $K3SMC_VERSION and the new config (fingerprint ${wanted:0:12}); the node's upgrade step drains the node and applies it"
    forget_replaced_nodes
    exit 0
fi
# Nothing left to apply: a change staged earlier was reverted in the stack.
rm -rf "$(staging_dir)"
changed=()
if printf '%s\n' "$token" | write_if_changed "$config_dir/cluster-token" 0600; then changed+=(token); fi
if printf '%s' "$K3SMC_CONFIG" | write_if_changed "$config_dir/config.yaml" 0600; then changed+=(config.yaml); fi

current=$(installed_version)
if [ "$current" != "$K3SMC_VERSION" ]; then
    log "installing k3s $K3SMC_VERSION as $K3SMC_ROLE from ${K3SMC_MIRROR:-github} (installed: ${current:-none})"
    run_installer
    start_service
elif [ "${#changed[@]}" -gt 0 ]; then
    # The installer restarts k3s only when the binary, unit or env file changed, never for config.yaml alone.
    log "k3s $K3SMC_VERSION is installed; ${changed[*]} changed: restarting $service"
    start_service
elif [ "$(node_ready_status)" = True ]; then
    log "k3s $K3SMC_VERSION, config and token unchanged, node Ready: nothing to do"
    forget_replaced_nodes
    exit 0
else
    log "k3s $K3SMC_VERSION and config unchanged, but the node is not Ready: restarting $service"
    start_service
fi
wait_until_ready
forget_replaced_nodes
