#!/bin/sh
# Stand-in for the k3s install script (run with sh, like the real one): records how it was invoked and installs a
# fake k3s binary of the requested version, plus the uninstall script the real installer leaves. The curl stand-in
# replaces @STANDINS@ with its own folder when it "downloads" this file.
set -eu
role=$1
echo "installer role=$role version=${INSTALL_K3S_VERSION:-} mirror=${INSTALL_K3S_MIRROR:-} skip-start=${INSTALL_K3S_SKIP_START:-}" >>"$K3SMC_ROOT/calls.log"
bin="$K3SMC_ROOT/usr/local/bin"
mkdir -p "$bin"
cp "@STANDINS@/fake-k3s.sh" "$bin/k3s"
chmod 0755 "$bin/k3s"
printf '%s\n' "$INSTALL_K3S_VERSION" >"$bin/k3s.version"
uninstaller="$bin/k3s-uninstall.sh"
[ "$role" = agent ] && uninstaller="$bin/k3s-agent-uninstall.sh"
# shellcheck disable=SC2016 # $K3SMC_ROOT must expand when the uninstaller runs, not now.
printf '#!/bin/sh\necho "%s ran" >>"$K3SMC_ROOT/calls.log"\n' "$(basename "$uninstaller")" >"$uninstaller"
chmod 0755 "$uninstaller"
