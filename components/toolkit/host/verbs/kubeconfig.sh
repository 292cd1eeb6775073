# Prints the server's admin kubeconfig. The step that runs it keeps stdout secret and logging off.
#
# Flags: --node-name.

require_root
kubeconfig="$K3S_CONFIG_DIR/k3s.yaml"
[ -s "$kubeconfig" ] || die "$kubeconfig is missing or empty: k3s has not written its admin kubeconfig (is the server up? 'journalctl -u k3s')."
cat "$kubeconfig"
