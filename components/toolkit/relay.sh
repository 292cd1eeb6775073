# The relay: what the local upgrade and removal steps run on the machine running `pulumi`. It holds no k3s logic:
# it reaches hosts over SSH and runs the toolkit calls the step stored (K3SMC_*_COMMAND, rendered by
# components/toolkit/contract.ts), so a library upgrade that changes the toolkit does not change these steps. It is
# stored in every node's state twice, so it is kept short.
# It runs as `bash --norc -c '<this file>' k3smc-relay <mode>` in whatever directory `pulumi` runs in (a Python or
# YAML project too): no file of this package is read. It re-runs itself inside an ssh-agent of its own; private keys
# go into that agent, never onto disk, and the agent exits with it. Needs bash and OpenSSH's ssh, ssh-agent and
# ssh-add, checked first: a missing one is named (it would otherwise be exit 127, blocking `destroy`).
#
# Modes and their environment (stored with the step; credentials secret):
#   remove:  K3SMC_NODE_NAME, K3SMC_NODE_*, K3SMC_UNINSTALL_COMMAND; optionally K3SMC_SERVER_* and K3SMC_DRAIN_COMMAND.
#            A host that does not answer on its SSH port (refused, timed out) is skipped, so a host that is gone
#            cannot block `destroy`; a refused login or a wrong host key fails.
#   upgrade: K3SMC_NODE_NAME, K3SMC_VERSION, K3SMC_FINGERPRINT, K3SMC_NODE_*, K3SMC_FINGERPRINT_COMMAND,
#            K3SMC_APPLY_COMMAND; optionally K3SMC_SERVER_*, K3SMC_DRAIN_COMMAND and K3SMC_UNCORDON_COMMAND. Every
#            host must answer. Only when the node's fingerprint (k3s version + config.yaml) differs from
#            K3SMC_FINGERPRINT: drain, apply the change the install step staged, uncordon.
# A host is K3SMC_<P>_HOST, _PORT, _USER, _KEY (private key) or _PASSWORD, and _HOST_KEY (pinned public key).
set -Eeuo pipefail
n=$K3SMC_NODE_NAME
log() { printf "k3s-multicloud [%s] %s\n" "$n" "$*"; }
die() {
    log "ERROR: $*" >&2
    exit 1
}
for t in ssh ssh-agent ssh-add; do
    command -v $t >/dev/null || die "'$t' is not installed on the machine running pulumi: install OpenSSH's client (Debian, Ubuntu: apt-get install openssh-client; Alpine: apk add openssh-client)"
done
[ -n "${K3SMC_RELAY_AGENT:-}" ] || K3SMC_RELAY_AGENT=1 exec ssh-agent bash --norc -c "$BASH_EXECUTION_STRING" "$0" "$@"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
# OpenSSH reads a password only from an askpass program; this one prints it from its environment (printf: dash's
# echo would turn \t or \c in a password into other bytes).
printf "#!/bin/sh\nprintf '%%s\\\\n' \"\$K3SMC_ASKPASS\"\n" >"$w/askpass"
chmod 700 "$w/askpass"

# hop P WHAT COMMAND [STDIN]: runs COMMAND on host K3SMC_<P>_*; returns 3 when it does not answer on its SSH port.
hop() {
    local a=$1_HOST b=$1_PORT c=$1_USER d=$1_KEY e=$1_PASSWORD f=$1_HOST_KEY s=0
    local h=${!a} p=${!b:-22}
    # shellcheck disable=SC2016 # $1 and $2 belong to the inner bash
    timeout 15 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$h" "$p" 2>/dev/null || return 3
    # -F none: nothing of the operator's ssh configuration (agent forwarding would hand our key to the node, a
    # ControlMaster session would skip the host-key check); IdentityFile=none: only the key in our own agent.
    local -a o=(-F none -o IdentityFile=none -p "$p" -o ConnectTimeout=15 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR)
    if [ -n "${!f:-}" ]; then
        # OpenSSH writes the default port bare and any other as [host]:port.
        if [ "$p" = 22 ]; then echo "$h ${!f}"; else echo "[$h]:$p ${!f}"; fi >"$w/known"
        o+=(-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$w/known")
    else
        o+=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
    fi
    ssh-add -qD 2>/dev/null || :
    if [ -n "${!d:-}" ]; then
        echo "${!d}" | ssh-add -q - || die "$2: the private key for $h could not be loaded"
        o+=(-o BatchMode=yes)
    else
        export K3SMC_ASKPASS=${!e:-} SSH_ASKPASS=$w/askpass SSH_ASKPASS_REQUIRE=force
    fi
    # shellcheck disable=SC2029 # the command is rendered and quoted for the remote shell
    printf %s "${4:-}" | ssh "${o[@]}" "${!c:-root}@$h" "$3" 2>"$w/err" || s=$?
    cat "$w/err" >&2
    local why=""
    grep -q 'Host key verification failed' "$w/err" && why=" $h presents another SSH host key than the one pinned in state: if you reinstalled it on purpose, re-learn its key (docs/operations.md, \"A host key that changed\"); otherwise someone may be between you and it."
    [ $s != 255 ] || die "$2: SSH to $h:$p failed: $(tr -d '\r' <"$w/err" | grep . | tail -n 1)$why"
    [ $s = 0 ] || die "$2: the command failed on $h (exit $s), see above"
}
# must P WHAT COMMAND [STDIN]: hop, but a host that does not answer fails the step.
must() {
    local a=$1_HOST
    hop "$@" || die "$2: ${!a} does not answer on its SSH port"
}

if [ "$1" = remove ]; then
    if [ -n "${K3SMC_DRAIN_COMMAND:-}" ]; then
        hop K3SMC_SERVER "drain and delete $n through the server" "$K3SMC_DRAIN_COMMAND" || log "the server does not answer: $n was not drained or deleted"
    fi
    hop K3SMC_NODE "uninstall k3s on $n" "$K3SMC_UNINSTALL_COMMAND" || log "$K3SMC_NODE_HOST does not answer (host gone?): uninstall skipped"
    log "node $n removed"
    exit 0
fi
f=$K3SMC_FINGERPRINT
now=$(must K3SMC_NODE "read the fingerprint of $n" "$K3SMC_FINGERPRINT_COMMAND")
if [ "$now" = "$f" ]; then
    log "already runs k3s $K3SMC_VERSION with this config (fingerprint ${f:0:12}): no drain, no reinstall"
    exit 0
fi
log "fingerprint ${now:0:12} -> ${f:0:12}: draining, applying k3s $K3SMC_VERSION and the new config, uncordoning"
if [ -n "${K3SMC_DRAIN_COMMAND:-}" ]; then must K3SMC_SERVER "drain $n" "$K3SMC_DRAIN_COMMAND"; fi
must K3SMC_NODE "apply k3s $K3SMC_VERSION on $n" "$K3SMC_APPLY_COMMAND"
if [ -n "${K3SMC_UNCORDON_COMMAND:-}" ]; then must K3SMC_SERVER "uncordon $n" "$K3SMC_UNCORDON_COMMAND"; fi
log "node $n runs k3s $K3SMC_VERSION"
