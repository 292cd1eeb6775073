# Prints the server's admin kubeconfig. The step that runs it keeps stdout secret and logging off.
#
# Flags: --node-name.

require_root
cat "$K3S_CONFIG_DIR/k3s.yaml"
