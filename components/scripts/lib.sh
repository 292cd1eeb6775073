# Helpers shared by the host scripts. components/k3s/hostCommand.ts sends this file in front of each script in one
# `bash -c`, so a step is one SSH session. Tests set K3SMC_ROOT to run everything against a temporary root.
set -Eeuo pipefail
# sshd and sudo give a minimal PATH; k3s lives in /usr/local/bin and ip/modprobe in /sbin. Appended, not prepended,
# so a caller's PATH still wins.
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
K3SMC_ROOT="${K3SMC_ROOT:-}"
K3SMC_NODE_NAME="${K3SMC_NODE_NAME:-${HOSTNAME:-node}}"
K3SMC_POLL_INTERVAL="${K3SMC_POLL_INTERVAL:-5}"

log() {
    printf 'k3s-multicloud [%s] %s\n' "$K3SMC_NODE_NAME" "$*"
}

die() {
    printf 'k3s-multicloud [%s] ERROR: %s\n' "$K3SMC_NODE_NAME" "$*" >&2
    exit 1
}

require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        die "this step must run as root, but it runs as $(id -un). Connect as root, or as a user with passwordless sudo (the project then runs every step through 'sudo -n')."
    fi
}

# write_if_changed PATH MODE: writes stdin to PATH atomically (temporary file in the same directory, then rename)
# when the content differs. Returns 0 when it wrote, 1 when the file already had this content.
write_if_changed() {
    local path=$1 mode=$2 tmp
    tmp=$(mktemp "${path}.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$path"
    return 0
}
