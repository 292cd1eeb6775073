# SSH helpers for the scripts that run on the machine running `pulumi` (local commands): they reach hosts with the
# credentials stored in the step's environment, using OpenSSH's ssh. components/k3s/hostCommand.ts sends this file
# after lib.sh for those scripts.
K3SMC_CONNECT_TIMEOUT="${K3SMC_CONNECT_TIMEOUT:-15}"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
chmod 0700 "$workdir"

# run_over_ssh PREFIX WHAT COMMAND [STDIN]: runs COMMAND on the host described by ${PREFIX}_* variables. An
# unreachable host is skipped (returns 0) unless K3SMC_REQUIRE_REACHABLE=true.
run_over_ssh() {
    local prefix=$1 what=$2 remote_command=$3 input=${4:-}
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
        if [ "${K3SMC_REQUIRE_REACHABLE:-false}" = true ]; then
            die "$what: $host:$port is unreachable"
        fi
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
    printf '%s' "$input" | ssh "${options[@]}" "$user@$host" "$remote_command" || status=$?
    if [ "$status" -eq 255 ] && [ "${K3SMC_REQUIRE_REACHABLE:-false}" != true ]; then
        log "$what: SSH to $host failed, skipped"
        return 0
    fi
    return "$status"
}
