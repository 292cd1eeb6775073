# Installs k3s from a rendered config.yaml. Reads the join token from stdin (never from the command line or the
# environment) - on a server, then the agent token on a second line - writes config and tokens atomically, runs the
# pinned installer, and waits until the node is Ready. A server prints `# ca-hash <hash>` (lib.sh, print_ca_hash: the
# hash k3s put in its own secure token); an agent refuses a join token without one.
# On a node that already runs k3s with another version or config (another fingerprint) it only stages the change:
# the node's upgrade step drains it and applies the staged change (verbs/apply.sh), one node at a time. With the
# same fingerprint it restarts k3s only for a node that is not Ready. A different join token, a downgrade or a step over
# a Kubernetes minor is refused in words.
#
# On a server given --node-identities, a node whose machine was replaced under the same name (another identity than
# the one recorded here) is forgotten before the new machine joins: drained, then its Node object and its
# node-password secret deleted, with which k3s would reject the new machine ("Node password rejected"). An identity
# seen the first time is only recorded.
#
# With --registries (mainland China nodes) it writes /etc/rancher/k3s/registries.yaml (docker.io mirrors) and checks
# first that the mirrors serve every system image of the pinned version (the list k3s publishes with each release):
# before k3s first starts a miss stops the install in words; on a node that already runs k3s (its images are there) it
# is a warning, and the file takes effect at the next restart. A registries.yaml this project wrote is removed when
# the flag is gone.
#
# Flags: --node-name, --role (server|agent), --version, --mirror (github|cn), --ready-timeout (seconds),
# --node-identities (servers, optional: name=identity,... of the nodes joining through this one), --registries
# (optional: the registries.yaml text), --config (the config.yaml text).

K3SMC_READY_TIMEOUT="${K3SMC_READY_TIMEOUT:-300}"
# Everything this verb writes may hold a token (the staged change, the token files): readable by root only.
umask 077

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
            # The old machine may still run (Pulumi creates the new one first): its pods move away first.
            "${kubectl[@]}" drain --ignore-daemonsets --delete-emptydir-data --force --timeout=60s -- "$node" >/dev/null 2>&1 ||
                log "WARNING: could not drain $node's old machine (already gone?); deleting its Node object anyway"
            "${kubectl[@]}" delete node --ignore-not-found -- "$node" >/dev/null ||
                die "could not delete the Node object of $node, whose machine was replaced; the new machine would be rejected"
            "${kubectl[@]}" -n kube-system delete secret --ignore-not-found -- "$node.node-password.k3s" >/dev/null ||
                die "could not delete the node password of $node, whose machine was replaced; the new machine would be rejected"
            log "$node runs on a new machine ($recorded -> $identity): drained and deleted its old Node object and node password, so it can join"
        fi
        printf '%s\n' "$identity" >"$dir/$node"
    done
}

REGISTRIES_HEADER="# Rendered by k3s-multicloud:"
MANIFEST_TYPES="application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"

# registry_has ENDPOINT REPOSITORY TAG: whether the registry serves that manifest, anonymously (following the
# registry's token challenge, as containerd does). ENDPOINT carries its path (renderRegistries writes .../v2/rancher,
# which containerd uses in place of /v2), REPOSITORY is the name after registries.yaml's rewrite.
registry_has() {
    local url="$1/$2/manifests/$3" headers challenge realm service scope token code
    headers=$(curl -sS -I -H "Accept: $MANIFEST_TYPES" --connect-timeout 10 --max-time 30 "$url" 2>/dev/null) || return 1
    code=$(printf '%s\n' "$headers" | awk 'NR == 1 { print $2 }')
    [ "$code" = 200 ] && return 0
    [ "$code" = 401 ] || return 1
    challenge=$(printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: *[Bb]earer *//p')
    realm=$(printf '%s' "$challenge" | sed -n 's/.*realm="\([^"]*\)".*/\1/p')
    service=$(printf '%s' "$challenge" | sed -n 's/.*service="\([^"]*\)".*/\1/p')
    scope=$(printf '%s' "$challenge" | sed -n 's/.*scope="\([^"]*\)".*/\1/p')
    [ -n "$realm" ] || return 1
    token=$(curl -sf -G --connect-timeout 10 --max-time 30 --data-urlencode "service=$service" --data-urlencode "scope=$scope" "$realm" |
        sed -n 's/.*"\(access_\)\{0,1\}token" *: *"\([^"]*\)".*/\2/p' | head -n 1) || return 1
    [ -n "$token" ] || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' -I -H "Accept: $MANIFEST_TYPES" -H "Authorization: Bearer $token" --connect-timeout 10 --max-time 30 "$url")
    [ "$code" = 200 ]
}

# The mirror endpoints of the registries.yaml given (one per line), as renderRegistries writes them.
registry_endpoints() {
    printf '%s\n' "$K3SMC_REGISTRIES" | sed -n 's/^ *- "\(.*\)"$/\1/p'
}

# The images (k3s-images.txt names, without rancher/ and the tag) a packaged component brings: not needed when it is
# disabled. CoreDNS is mirrored-coredns-coredns, Traefik mirrored-library-traefik; the local-path provisioner's helper
# pods run busybox.
images_of_component() {
    case "$1" in
        coredns) echo mirrored-coredns-coredns ;;
        traefik) echo mirrored-library-traefik ;;
        metrics-server) echo mirrored-metrics-server ;;
        local-storage) printf '%s\n' local-path-provisioner mirrored-library-busybox ;;
        servicelb) echo klipper-lb ;;
    esac
}

# Prints the docker.io system images of the pinned version that none of the mirrors serves; fails when the list
# cannot be had. Images of components the config disables are not needed.
missing_system_images() {
    local list_url image repository tag endpoint found
    if [ "${K3SMC_MIRROR:-github}" = cn ]; then
        list_url="https://rancher-mirror.rancher.cn/k3s/${K3SMC_VERSION//+/-}/k3s-images.txt"
    else
        list_url="https://github.com/k3s-io/k3s/releases/download/$K3SMC_VERSION/k3s-images.txt"
    fi
    local images disabled
    images=$(curl -sfL --retry 2 --connect-timeout 20 --max-time 60 "$list_url") || {
        echo "could not download the list of k3s $K3SMC_VERSION's system images from $list_url" >&2
        return 2
    }
    disabled=$(printf '%s\n' "$K3SMC_CONFIG" | awk '/^disable:/ { on = 1; next } on && /^  - / { print $2; next } { on = 0 }' |
        while read -r component; do images_of_component "$component"; done)
    local -a endpoints
    mapfile -t endpoints < <(registry_endpoints)
    while IFS= read -r image; do
        # Only docker.io/rancher/* goes through the mirror (renderRegistries); another docker.io image would come from
        # docker.io itself, which a mainland node cannot reach: named as missing.
        case "$image" in
            docker.io/rancher/*) image=${image#docker.io/} ;;
            docker.io/*)
                printf '%s\n' "${image#docker.io/}"
                continue
                ;;
            *) continue ;;
        esac
        if [ -n "$disabled" ] && printf '%s\n' "$disabled" | grep -qxF -f - <(printf '%s\n' "$image" | sed 's|.*/||; s|:.*||'); then
            continue
        fi
        repository=${image%:*}
        tag=${image##*:}
        found=no
        for endpoint in "${endpoints[@]}"; do
            if registry_has "$endpoint" "${repository#rancher/}" "$tag"; then
                found=yes
                break
            fi
        done
        [ "$found" = yes ] || printf '%s\n' "$image"
    done <<<"$images"
}

# registries.yaml for a mainland node: checked, then written (see the head of this file). Returns 0 when it wrote.
write_registries() {
    local file="$K3S_CONFIG_DIR/registries.yaml" missing status=0
    if [ -z "${K3SMC_REGISTRIES:-}" ]; then
        if [ -f "$file" ] && head -n 1 "$file" | grep -qF "$REGISTRIES_HEADER"; then
            rm -f "$file"
            log "removed the registries.yaml this project wrote: this node no longer uses the China mirrors"
        fi
        return 1
    fi
    missing=$(missing_system_images) || status=$?
    local endpoints
    endpoints=$(registry_endpoints | paste -sd' ' -)
    if [ "$status" -ne 0 ] || [ -n "$missing" ]; then
        local why
        if [ "$status" -ne 0 ]; then why="the list of its system images could not be read"; else why="$(printf '%s' "$missing" | paste -sd' ' -) not found on $endpoints"; fi
        if [ -z "$(installed_version)" ]; then
            die "the registry mirrors cannot serve k3s $K3SMC_VERSION's system images ($why). docker.io is not reachable from mainland China, so this node would be Ready with pause, coredns and the other system pods stuck in ImagePullBackOff. Fix: list a mirror that has them in the cluster option chinaRegistryMirrors (or set installMirror: github where docker.io is reachable), then run 'pulumi up' again."
        fi
        log "WARNING: the registry mirrors cannot serve k3s $K3SMC_VERSION's system images ($why); this node already runs k3s, so it keeps the images it has"
    else
        log "registry mirrors: every system image of k3s $K3SMC_VERSION found on $endpoints"
    fi
    printf '%s' "$K3SMC_REGISTRIES" | write_if_changed "$file" 0600
}


require_root
token=""
agent_token=""
IFS= read -r token || true
[ -n "$token" ] || die "no join token on stdin"
if [ "$K3SMC_ROLE" = server ]; then IFS= read -r agent_token || true; fi
# Agents, and servers joining another server, join only with k3s' secure format, K10<CA hash>::<user>:<password>:
# with a short token they would trust whatever answers at the server's address (docs.k3s.io, cli/token) and send it
# the credential.
if { [ "$K3SMC_ROLE" = agent ] || grep -q '^server:' <<<"$K3SMC_CONFIG"; } && ! [[ "$token" =~ ^K10[0-9a-f]{64}::[^:]+:. ]]; then
    die "the join token given has no cluster CA hash (K10<hash>::<user>:<token>): with it this node would trust whatever answers at the server's address. The first server's ca-hash step reports the hash; run 'pulumi up' again once it has."
fi
# The credential without k3s' secure prefix: what stays the same when only the format (or the CA hash) changes.
credential_of() { sed 's/^K10[0-9a-f]*::server://'; }

mkdir -p "$config_dir"
chmod 0755 "$config_dir"
token_changed=no
if [ -f "$config_dir/cluster-token" ] && [ -n "$(installed_version)" ] && [ "$(printf '%s\n' "$token" | credential_of)" != "$(credential_of <"$config_dir/cluster-token")" ]; then
    # The server token encrypts the datastore's secrets: a different one would not be a harmless restart. Changing it
    # is a deliberate rotation, not something a `pulumi up` does on the side.
    [ "$K3SMC_ROLE" = agent ] ||
        die "the join token given differs from the one this node runs with. k3s uses the server token to encrypt its datastore, so it is not changed by a redeploy: keep the stack's token, or rotate it deliberately with 'k3s token rotate' on the server (docs.k3s.io/cli/token) and then set the new value in the stack."
    # An agent uses its token only to join (its certificates do the rest): a new one is used from its next start.
    token_changed=yes
fi
# The same credential in another form (a joining server's token in secure format since 0.4.0, or with a rotated CA's
# hash): written for k3s' next start, nothing restarted.
token_form_only=no
if [ -f "$config_dir/cluster-token" ] && [ "$token_changed" = no ] && ! printf '%s\n' "$token" | cmp -s - "$config_dir/cluster-token"; then
    token_form_only=yes
fi
agent_token_changed=no
if [ -n "$agent_token" ] && printf '%s\n' "$agent_token" | write_if_changed "$config_dir/agent-token" 0600; then
    agent_token_changed=yes
fi
# k3s reads registries.yaml when it starts: before a first start it is in place; on a running node it waits for the
# next restart (a library upgrade restarts nothing).
if write_registries && [ -n "$(installed_version)" ]; then
    log "registries.yaml changed: k3s uses it from its next restart"
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
    [ "$K3SMC_ROLE" != server ] || print_ca_hash
    exit 0
fi
# Nothing left to apply: a change staged earlier was reverted in the stack.
rm -rf "$(staging_dir)"
changed=()
if printf '%s\n' "$token" | write_if_changed "$config_dir/cluster-token" 0600 && [ "$token_changed" = no ] && [ "$token_form_only" = no ]; then changed+=(token); fi
if [ "$agent_token_changed" = yes ]; then changed+=(agent-token); fi
if printf '%s' "$K3SMC_CONFIG" | write_if_changed "$config_dir/config.yaml" 0600; then changed+=(config.yaml); fi
bind_public_address

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
    if [ "$token_changed" = yes ]; then
        log "k3s $K3SMC_VERSION and config unchanged, node Ready: wrote the new join token, which the agent uses from its next start; nothing else to do"
    else
        log "k3s $K3SMC_VERSION, config and token unchanged, node Ready: nothing to do"
    fi
    forget_replaced_nodes
    [ "$K3SMC_ROLE" != server ] || print_ca_hash
    exit 0
else
    log "k3s $K3SMC_VERSION and config unchanged, but the node is not Ready: restarting $service"
    start_service
fi
wait_until_ready
forget_replaced_nodes
[ "$K3SMC_ROLE" != server ] || print_ca_hash
