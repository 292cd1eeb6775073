# Prints the server's admin kubeconfig. The step that runs it keeps stdout secret and logging off.

require_root
cat "$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml"
