# Prepares a host for k3s: root check, package-manager lock, WireGuard tools, and a probe of the kernel's WireGuard
# support done exactly the way flannel will need it. Safe to run again: it installs only what is missing.
#
# With K3SMC_KERNEL_POLICY=upgrade, a kernel without WireGuard is upgraded to the distribution's current kernel and a
# reboot is scheduled (the line `# reboot-scheduled <boot id>` tells the next step); the step after the reboot runs
# this verb again with --previous-boot-id, checks that the host really rebooted, and probes once more.
#
# Flags: --node-name, --kube-proxy-mode (iptables|ipvs), --kernel-policy (require|upgrade), --previous-boot-id (after
# a scheduled reboot), --apt-lock-timeout (seconds).

K3SMC_KUBE_PROXY_MODE="${K3SMC_KUBE_PROXY_MODE:-iptables}"
K3SMC_KERNEL_POLICY="${K3SMC_KERNEL_POLICY:-require}"
BOOT_ID_FILE="$K3SMC_ROOT/proc/sys/kernel/random/boot_id"
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

# A fresh cloud image is still booting when SSH first answers: cloud-init may be installing packages and writing
# configuration (users, firewall). Wait for it to finish, bounded, before touching apt or anything else.
CLOUD_INIT_TIMEOUT=600
wait_for_cloud_init() {
    command -v cloud-init >/dev/null 2>&1 || return 0
    local status=0
    if ! cloud-init status >/dev/null 2>&1 || [ "$(cloud-init status 2>/dev/null | awk '/^status:/ { print $2 }')" != "done" ]; then
        log "waiting for cloud-init to finish booting the host (up to ${CLOUD_INIT_TIMEOUT}s)"
    fi
    timeout "$CLOUD_INIT_TIMEOUT" cloud-init status --wait >/dev/null 2>&1 || status=$?
    case "$status" in
        0) ;;
        124) die "cloud-init was still running after ${CLOUD_INIT_TIMEOUT}s ('cloud-init status --long' on the host says why). Run 'pulumi up' again when it is done." ;;
        # Exit 2 means it finished with recoverable errors: the host booted; say so and go on.
        2) log "WARNING: cloud-init finished with recoverable errors ('cloud-init status --long' on the host)" ;;
        *) die "cloud-init failed on this host (exit $status): 'cloud-init status --long' on the host says why." ;;
    esac
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
    command -v nft >/dev/null 2>&1 || needed+=(nftables)
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
# reported here in words instead of as k3s restarting in a loop. Returns 1 (after saying why) when it is missing.
PROBE_ERROR=""
probe_wireguard() {
    ip link delete dev "$WIREGUARD_PROBE_LINK" >/dev/null 2>&1 || true
    if PROBE_ERROR=$(try_wireguard_link); then
        log "WireGuard works in kernel $(uname -r)"
        return 0
    fi
    if command -v modprobe >/dev/null 2>&1 && modprobe wireguard >/dev/null 2>&1 && try_wireguard_link >/dev/null; then
        log "WireGuard works in kernel $(uname -r) after loading the wireguard module"
        return 0
    fi
    return 1
}

no_wireguard() {
    die "WireGuard is not available in kernel $(uname -r): 'ip link add type wireguard' failed with '${PROBE_ERROR}' (modprobe wireguard did not help). flannel's wireguard-native backend would fail with 'could not create wireguard interface: operation not supported' and k3s would restart in a loop. Fix: upgrade to a kernel with WireGuard (mainline 5.6+, or e.g. 'apt-get install linux-generic' on Ubuntu 18.04, whose 4.15.0-20 kernel has none) and reboot, then run 'pulumi up' again$1."
}

# The distribution's current kernel package, for the kernel policy "upgrade".
kernel_package() {
    local id=""
    # shellcheck disable=SC1091 # the host's os-release, read at run time
    [ -f "$K3SMC_ROOT/etc/os-release" ] && id=$(. "$K3SMC_ROOT/etc/os-release" && printf '%s' "${ID:-}")
    case "$id" in
        ubuntu) printf 'linux-generic' ;;
        debian) printf 'linux-image-%s' "$(dpkg --print-architecture)" ;;
        *) return 1 ;;
    esac
}

upgrade_kernel_and_reboot() {
    local package
    package=$(kernel_package) || die "WireGuard is missing in kernel $(uname -r) and this project can upgrade the kernel only on Ubuntu and Debian. Upgrade it yourself and reboot, then run 'pulumi up' again."
    wait_for_package_manager
    log "WireGuard is missing in kernel $(uname -r): installing $package and rebooting"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout="$K3SMC_APT_LOCK_TIMEOUT" -qq update
    apt-get -o DPkg::Lock::Timeout="$K3SMC_APT_LOCK_TIMEOUT" -qq install -y --no-install-recommends "$package"
    # Reboot a few seconds after this session ends cleanly; the next step waits, reconnects and probes again.
    systemd-run --on-active=5 --timer-property=AccuracySec=1s systemctl reboot >/dev/null
    printf '# reboot-scheduled %s\n' "$(cat "$BOOT_ID_FILE")"
}

require_root
if [ -n "${K3SMC_PREVIOUS_BOOT_ID:-}" ] && [ "$K3SMC_PREVIOUS_BOOT_ID" != none ]; then
    if [ "$(cat "$BOOT_ID_FILE")" = "$K3SMC_PREVIOUS_BOOT_ID" ]; then
        die "the reboot scheduled for the kernel upgrade has not happened (boot id unchanged). Reboot the host, then run 'pulumi up' again."
    fi
    log "rebooted into kernel $(uname -r)"
    probe_wireguard || no_wireguard " (the upgraded kernel has no WireGuard either)"
    exit 0
fi
wait_for_cloud_init
# Runs on every library upgrade (the prepare step delivers the toolkit): hosts set up by 0.3.0 move off the old unit
# name here, before a removal would need k3s' uninstaller to run through.
retire_old_firewall_unit
# A node installed by an earlier release gets its public address bound here (its install step does not run again).
bind_public_address
ensure_packages
if ! probe_wireguard; then
    if [ "$K3SMC_KERNEL_POLICY" = upgrade ]; then
        upgrade_kernel_and_reboot
    else
        no_wireguard ", or set the cluster option wireguardKernel: \"upgrade\" to let k3s-multicloud do it"
    fi
fi
