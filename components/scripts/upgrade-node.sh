# Runs on the machine running `pulumi` (a local command's update) when a node's k3s version or config changes:
# drains the node through a server, runs the node's install step with the new version and config (the token on
# stdin), and uncordons it. Steps of different nodes are ordered by the program: the server first, then at most
# maxUnavailable agents at a time. Hosts must be reachable.
#
# Inputs (environment): K3SMC_NODE_NAME, K3SMC_VERSION, K3SMC_NODE_{HOST,PORT,USER,KEY,PASSWORD,HOST_KEY},
# K3SMC_INSTALL_COMMAND, K3SMC_TOKEN; for agents K3SMC_SERVER_{...}, K3SMC_DRAIN_COMMAND, K3SMC_UNCORDON_COMMAND.
# ssh-client.sh comes first.

export K3SMC_REQUIRE_REACHABLE=true
if [ -n "${K3SMC_DRAIN_COMMAND:-}" ]; then
    run_over_ssh K3SMC_SERVER "drain $K3SMC_NODE_NAME" "$K3SMC_DRAIN_COMMAND"
fi
run_over_ssh K3SMC_NODE "install k3s $K3SMC_VERSION on $K3SMC_NODE_NAME" "$K3SMC_INSTALL_COMMAND" "$K3SMC_TOKEN"
if [ -n "${K3SMC_UNCORDON_COMMAND:-}" ]; then
    run_over_ssh K3SMC_SERVER "uncordon $K3SMC_NODE_NAME" "$K3SMC_UNCORDON_COMMAND"
fi
log "node $K3SMC_NODE_NAME runs k3s $K3SMC_VERSION"
