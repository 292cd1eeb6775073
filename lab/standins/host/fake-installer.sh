#!/bin/sh
# Stand-in for the k3s install script (run with sh, like the real one): records how it was invoked and installs a
# fake k3s binary of the requested version, the service unit and env file, and the killall and uninstall scripts the
# real installer leaves. The curl stand-in replaces @STANDINS@ with its own folder when it "downloads" this file.
#
# The uninstall script does what k3s' own does (install.sh, create_uninstall and create_killall), under $K3SMC_ROOT:
# stop every /etc/systemd/system/k3s*.service (killall), disable and remove its own unit and env file, and then -
# the part that matters - STOP EARLY, keeping the binary, /etc/rancher/k3s (the tokens) and the data directory, when
# any other k3s*.service unit (or /etc/init.d/k3s* script) is still there: "Additional k3s services installed,
# skipping uninstall of k3s". Otherwise it removes the kubectl/crictl/ctr links, /etc/rancher/k3s, /run/k3s,
# /run/flannel, the data directory, /var/lib/kubelet, the binary, the killall script and itself.
set -eu
role=$1
echo "installer role=$role version=${INSTALL_K3S_VERSION:-} mirror=${INSTALL_K3S_MIRROR:-} skip-start=${INSTALL_K3S_SKIP_START:-}" >>"$K3SMC_ROOT/calls.log"
bin="$K3SMC_ROOT/usr/local/bin"
units="$K3SMC_ROOT/etc/systemd/system"
mkdir -p "$bin" "$units"
cp "@STANDINS@/fake-k3s.sh" "$bin/k3s"
chmod 0755 "$bin/k3s"
printf '%s\n' "$INSTALL_K3S_VERSION" >"$bin/k3s.version"
name=k3s
uninstaller="$bin/k3s-uninstall.sh"
if [ "$role" = agent ]; then
    name=k3s-agent
    uninstaller="$bin/k3s-agent-uninstall.sh"
fi
for link in kubectl crictl ctr; do ln -sf k3s "$bin/$link"; done
printf '[Unit]\nDescription=Lightweight Kubernetes (stand-in)\n[Service]\nExecStart=/usr/local/bin/k3s %s\n' "$role" >"$units/$name.service"
: >"$units/$name.service.env"
chmod 0600 "$units/$name.service.env"

# shellcheck disable=SC2016 # the scripts expand their variables when they run, not now
printf '#!/bin/sh\necho "k3s-killall.sh ran" >>"$K3SMC_ROOT/calls.log"\nfor service in "$K3SMC_ROOT"/etc/systemd/system/k3s*.service; do\n    [ -s "$service" ] && systemctl stop "$(basename "$service")"\ndone\nip link delete flannel-wg 2>/dev/null || :\n' >"$bin/k3s-killall.sh"
chmod 0755 "$bin/k3s-killall.sh"
script_name=$(basename "$uninstaller")
cat >"$uninstaller" <<EOF
#!/bin/sh
echo "$script_name ran" >>"\$K3SMC_ROOT/calls.log"
"\$K3SMC_ROOT/usr/local/bin/k3s-killall.sh"
systemctl disable $name
rm -f "\$K3SMC_ROOT/etc/systemd/system/$name.service" "\$K3SMC_ROOT/etc/systemd/system/$name.service.env"
trap 'rm -f "$uninstaller"' EXIT
if (ls "\$K3SMC_ROOT"/etc/systemd/system/k3s*.service || ls "\$K3SMC_ROOT"/etc/init.d/k3s*) >/dev/null 2>&1; then
    echo 'Additional k3s services installed, skipping uninstall of k3s'
    exit
fi
for cmd in kubectl crictl ctr; do
    if [ -L "\$K3SMC_ROOT/usr/local/bin/\$cmd" ]; then rm -f "\$K3SMC_ROOT/usr/local/bin/\$cmd"; fi
done
rm -rf "\$K3SMC_ROOT/etc/rancher/k3s" "\$K3SMC_ROOT/run/k3s" "\$K3SMC_ROOT/run/flannel" "\$K3SMC_ROOT/var/lib/rancher/k3s" "\$K3SMC_ROOT/var/lib/kubelet"
rm -f "\$K3SMC_ROOT/usr/local/bin/k3s" "\$K3SMC_ROOT/usr/local/bin/k3s.version" "\$K3SMC_ROOT/usr/local/bin/k3s-killall.sh"
EOF
chmod 0755 "$uninstaller"
