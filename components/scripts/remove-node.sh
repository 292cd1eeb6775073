# Runs on the machine that runs `pulumi` (a local command's delete), when a node leaves the stack: drains and deletes
# the Node through a server, then uninstalls k3s on the node if it is still reachable. A host that is already gone
# must not block `pulumi destroy`, so unreachable hosts are skipped with a message; a command that reached its
# host and failed still fails. Needs bash and OpenSSH's ssh here.
#
# Inputs (environment, stored with the resource): K3SMC_NODE_NAME; K3SMC_NODE_{HOST,PORT,USER,KEY,PASSWORD,HOST_KEY}
# and K3SMC_UNINSTALL_COMMAND; optionally K3SMC_SERVER_{HOST,PORT,USER,KEY,PASSWORD,HOST_KEY} and
# K3SMC_DRAIN_COMMAND; K3SMC_CONNECT_TIMEOUT (seconds).

K3SMC_CONNECT_TIMEOUT="${K3SMC_CONNECT_TIMEOUT:-15}"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
chmod 0700 "$workdir"

# run_over_ssh PREFIX WHAT COMMAND: runs COMMAND on the host described by ${PREFIX}_* variables.
run_over_ssh() {
    local prefix=$1 what=$2 remote_command=$3
    local host_var="${prefix}_HOST" port_var="${prefix}_PORT" user_var="${prefix}_USER"
    local key_var="${prefix}_KEY" password_var="${prefix}_PASSWORD" host_key_var="${prefix}_HOST_KEY"
    local host=${!host_var:-} port=${!port_var:-22} user=${!user_var:-root}
    local -a options=(-o "ConnectTimeout=$K3SMC_CONNECT_TIMEOUT" -o LogLevel=ERROR -p "$port")
    if [ -z "$host" ]; then
        log "$what: no host known, skipped"
        return 0
    fi
    # shellcheck disable=SC2016 # $1 and $2 belong to the inner bash
    if ! timeout "$K3SMC_CONNECT_TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null; then
        log "$what: $host:$port is unreachable (host gone?), skipped"
        return 0
    fi
    if [ -n "${!host_key_var:-}" ]; then
        printf '[%s]:%s %s\n' "$host" "$port" "${!host_key_var}" >"$workdir/known_hosts"
        options+=(-o "UserKnownHostsFile=$workdir/known_hosts" -o StrictHostKeyChecking=yes)
    else
        options+=(-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no)
    fi
    if [ -n "${!key_var:-}" ]; then
        printf '%s\n' "${!key_var}" >"$workdir/key"
        chmod 0600 "$workdir/key"
        options+=(-i "$workdir/key" -o BatchMode=yes -o IdentitiesOnly=yes)
    elif [ -n "${!password_var:-}" ]; then
        # OpenSSH reads the password from an askpass program; this one prints it from the environment.
        # shellcheck disable=SC2016 # expands when ssh runs the askpass program
        printf '#!/bin/sh\nprintf "%%s\\n" "$K3SMC_ASKPASS_SECRET"\n' >"$workdir/askpass"
        chmod 0700 "$workdir/askpass"
        export K3SMC_ASKPASS_SECRET="${!password_var}" SSH_ASKPASS="$workdir/askpass" SSH_ASKPASS_REQUIRE=force
        options+=(-o "PreferredAuthentications=password,keyboard-interactive" -o PubkeyAuthentication=no)
    fi
    local status=0
    # The command text is rendered (and quoted) for the remote shell on purpose.
    # shellcheck disable=SC2029
    ssh "${options[@]}" "$user@$host" "$remote_command" </dev/null || status=$?
    if [ "$status" -eq 255 ]; then
        log "$what: SSH to $host failed, skipped"
        return 0
    fi
    return "$status"
}

if [ -n "${K3SMC_DRAIN_COMMAND:-}" ]; then
    run_over_ssh K3SMC_SERVER "drain and delete $K3SMC_NODE_NAME through the server" "$K3SMC_DRAIN_COMMAND"
fi
run_over_ssh K3SMC_NODE "uninstall k3s on $K3SMC_NODE_NAME" "$K3SMC_UNINSTALL_COMMAND"
log "node $K3SMC_NODE_NAME removed"
