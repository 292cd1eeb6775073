# Prepares a host for k3s: root check, package-manager lock, WireGuard tools, and a probe of the kernel's WireGuard
# support done exactly the way flannel will need it. Safe to run again: it installs only what is missing.
#
# Inputs (environment): K3SMC_NODE_NAME, K3SMC_KUBE_PROXY_MODE (iptables|ipvs), K3SMC_APT_LOCK_TIMEOUT (seconds).

K3SMC_KUBE_PROXY_MODE="${K3SMC_KUBE_PROXY_MODE:-iptables}"
K3SMC_APT_LOCK_TIMEOUT="${K3SMC_APT_LOCK_TIMEOUT:-600}"
WIREGUARD_PROBE_LINK=k3smc-wgprobe

# True when a process holds a lock (POSIX or flock) on the file: /proc/locks lists every lock with its inode.
lock_is_held() {
    local inode
    inode=$(stat -c %i "$1")
    awk -v inode="$inode" '{ for (i = 1; i <= NF; i++) if ($i ~ (":" inode "$")) found = 1 } END { exit found ? 0 : 1 }' /proc/locks
}

held_package_lock() {
    local lock
    for lock in "$K3SMC_ROOT/var/lib/dpkg/lock-frontend" "$K3SMC_ROOT/var/lib/dpkg/lock" \
        "$K3SMC_ROOT/var/lib/apt/lists/lock" "$K3SMC_ROOT/var/cache/apt/archives/lock"; do
        if [ -e "$lock" ] && lock_is_held "$lock"; then
            printf '%s' "$lock"
            return 0
        fi
    done
    return 1
}

# A fresh cloud image runs unattended-upgrades at boot; apt-get would fail on its lock.
wait_for_package_manager() {
    local lock started=$SECONDS waited=no
    while lock=$(held_package_lock); do
        if [ "$waited" = no ]; then
            log "waiting for the package manager: $lock is held (unattended-upgrades after boot?)"
            waited=yes
        fi
        if [ $((SECONDS - started)) -ge "$K3SMC_APT_LOCK_TIMEOUT" ]; then
            die "the package manager is still busy after ${K3SMC_APT_LOCK_TIMEOUT}s ($lock is held). Wait for it to finish, then run 'pulumi up' again."
        fi
        sleep "$K3SMC_POLL_INTERVAL"
    done
    if [ "$waited" = yes ]; then
        log "the package manager is free"
    fi
}

ensure_packages() {
    local needed=()
    command -v wg >/dev/null 2>&1 || needed+=(wireguard-tools)
    if [ "$K3SMC_KUBE_PROXY_MODE" = ipvs ]; then
        command -v ipset >/dev/null 2>&1 || needed+=(ipset)
        command -v ipvsadm >/dev/null 2>&1 || needed+=(ipvsadm)
    fi
    if [ "${#needed[@]}" -eq 0 ]; then
        log "packages: nothing to install"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "WARNING: no apt-get on this host; install ${needed[*]} yourself (k3s does not need them to run, 'wg show' and IPVS diagnostics do)"
        return 0
    fi
    wait_for_package_manager
    log "installing ${needed[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout="$K3SMC_APT_LOCK_TIMEOUT" -qq update
    apt-get -o DPkg::Lock::Timeout="$K3SMC_APT_LOCK_TIMEOUT" -qq install -y --no-install-recommends "${needed[@]}"
}

try_wireguard_link() {
    local output
    if output=$(ip link add dev "$WIREGUARD_PROBE_LINK" type wireguard 2>&1); then
        ip link delete dev "$WIREGUARD_PROBE_LINK"
        return 0
    fi
    printf '%s' "$output"
    return 1
}

# flannel's wireguard-native backend creates a `wireguard` link; do the same, so a kernel without WireGuard is
# reported here in words instead of as k3s restarting in a loop.
probe_wireguard() {
    local first_error
    ip link delete dev "$WIREGUARD_PROBE_LINK" >/dev/null 2>&1 || true
    if first_error=$(try_wireguard_link); then
        log "WireGuard works in kernel $(uname -r)"
        return 0
    fi
    if command -v modprobe >/dev/null 2>&1 && modprobe wireguard >/dev/null 2>&1 && try_wireguard_link >/dev/null; then
        log "WireGuard works in kernel $(uname -r) after loading the wireguard module"
        return 0
    fi
    die "WireGuard is not available in kernel $(uname -r): 'ip link add type wireguard' failed with '${first_error}' (modprobe wireguard did not help). flannel's wireguard-native backend would fail with 'could not create wireguard interface: operation not supported' and k3s would restart in a loop. Fix: upgrade to a kernel with WireGuard (mainline 5.6+, or e.g. 'apt-get install linux-generic' on Ubuntu 18.04, whose 4.15.0-20 kernel has none) and reboot, then run 'pulumi up' again."
}

require_root
ensure_packages
probe_wireguard
