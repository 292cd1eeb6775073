# Runs on the machine that runs `pulumi` (a local command's delete), when a node leaves the stack: drains and deletes
# the Node through a server, then uninstalls k3s on the node if it is still reachable. A host that is already gone
# must not block `pulumi destroy`, so unreachable hosts are skipped with a message; a command that reached its
# host and failed still fails. Needs bash and OpenSSH's ssh here.
#
# Inputs (environment, stored with the resource): K3SMC_NODE_NAME; K3SMC_NODE_{HOST,PORT,USER,KEY,PASSWORD,HOST_KEY}
# and K3SMC_UNINSTALL_COMMAND; optionally K3SMC_SERVER_{HOST,PORT,USER,KEY,PASSWORD,HOST_KEY} and
# K3SMC_DRAIN_COMMAND; K3SMC_CONNECT_TIMEOUT (seconds). ssh-client.sh comes first.

if [ -n "${K3SMC_DRAIN_COMMAND:-}" ]; then
    run_over_ssh K3SMC_SERVER "drain and delete $K3SMC_NODE_NAME through the server" "$K3SMC_DRAIN_COMMAND"
fi
run_over_ssh K3SMC_NODE "uninstall k3s on $K3SMC_NODE_NAME" "$K3SMC_UNINSTALL_COMMAND"
log "node $K3SMC_NODE_NAME removed"
