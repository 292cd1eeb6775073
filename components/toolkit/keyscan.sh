# The host-key step: what a host's SSH server presents, learned once from the machine running `pulumi` and stored in
# state; every later SSH session to the host (remote steps and relays) pins it. It runs as `bash --norc -c '<this file>'`
# with its environment:
#   K3SMC_NODE_NAME, K3SMC_HOST, K3SMC_PORT, K3SMC_WAIT_SECONDS (how long the host may take to boot);
#   K3SMC_EXPECTED_HOST_KEY (optional): the key the host must present - one this stack generated and installed
#   through an authenticated channel (Vultr user-data). Another key fails the step in words. Without it the first key
#   seen is trusted (trust on first use) and printed.
# Prints the key as `<type> <base64>`. Needs OpenSSH's ssh-keyscan.
set -Eeuo pipefail
n=$K3SMC_NODE_NAME
die() {
    printf 'k3s-multicloud [%s] ERROR: %s\n' "$n" "$*" >&2
    exit 1
}
deadline=$((SECONDS + K3SMC_WAIT_SECONDS))
seen=""
while :; do
    keys=$(ssh-keyscan -T 10 -p "$K3SMC_PORT" -t ed25519 "$K3SMC_HOST" 2>/dev/null | awk '$1 !~ /^#/ && NF >= 3 { print $2 " " $3 }' || true)
    if [ -n "$keys" ]; then
        if [ -z "${K3SMC_EXPECTED_HOST_KEY:-}" ]; then
            printf '%s\n' "$keys" | head -n 1
            exit 0
        fi
        if printf '%s\n' "$keys" | grep -qxF -- "$K3SMC_EXPECTED_HOST_KEY"; then
            printf '%s\n' "$K3SMC_EXPECTED_HOST_KEY"
            exit 0
        fi
        seen=$keys
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        [ -z "$seen" ] || die "$K3SMC_HOST:$K3SMC_PORT presents the host key '$(printf '%s' "$seen" | head -n 1)', not the one this stack generated for it ('$K3SMC_EXPECTED_HOST_KEY'): someone is between you and the server, or it is not the server this stack built. Nothing was sent to it."
        die "$K3SMC_HOST:$K3SMC_PORT did not present an ed25519 SSH host key within ${K3SMC_WAIT_SECONDS}s (is the server up, and port $K3SMC_PORT open to this machine?)"
    fi
    sleep 5
done
