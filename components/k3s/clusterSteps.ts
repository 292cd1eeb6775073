import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ClusterHost } from "../hosts/clusterHost";
import { MeshNodeStatus, meshPeersFlag, meshStatusOf } from "../mesh/meshCheck";
import { NodeAddresses, nodeAddressList } from "../network/nodeAddresses";
import { toolkitCall } from "../toolkit/contract";
import { sharedPublicAddress } from "./clusterValidation";
import { listDigest } from "./digest";
import { K3sOptions, K3sRole, podNetworks } from "./options";

/**
 * The steps that span the whole cluster - each node's host firewall, its prune of stale WireGuard peers and its mesh
 * check - registered for K3sCluster, and for anyone composing K3sServer and K3sAgent by hand (the engine lab does).
 * Names and parents are the caller's: K3sCluster passes itself, so these steps keep the URNs they always had.
 */

/** One node once it is installed: `settled` is its upgrade step (the node runs what the stack says). */
export interface InstalledNode {
    readonly host: ClusterHost;
    readonly role: K3sRole;
    readonly settled: pulumi.Resource;
}

/**
 * Every node's name and addresses, servers first: what the host firewalls admit and the mesh checks expect. Two nodes
 * behind one public address stop the program here, in words, as soon as the addresses are known (a preview for
 * existing servers, the first `up` for cloud servers).
 */
export function clusterNodeAddresses(hosts: readonly ClusterHost[], field = "the cluster"): pulumi.Output<NodeAddresses[]> {
    return pulumi
        .all(hosts.map((h) => pulumi.all([h.publicIp, h.privateIp]).apply(([publicIp, privateIp]): NodeAddresses => ({ name: h.name, publicIp, privateIp }))))
        .apply((nodes) => {
            const shared = sharedPublicAddress(`${field} nodes`, nodes);
            if (shared) throw shared;
            return nodes;
        });
}

export interface HostFirewallArgs {
    readonly servers: readonly ClusterHost[];
    readonly nodeAddresses: pulumi.Output<NodeAddresses[]>;
    readonly apiAllowedCidrs: ReadonlyArray<{ address: string; prefix: number }>;
    readonly options: K3sOptions;
    /** Pods may reach the instance metadata service (default: rejected by the host firewall). */
    readonly podMetadataAccess?: boolean;
}

/**
 * Returns a function that registers one node's host firewall step, `<cluster>-<node>-host-firewall`: `k3smc v1
 * firewall` with every member's addresses, the servers, the API CIDRs and the cluster CIDRs. Re-run whenever any of
 * them changes (a node that left loses access at the next `pulumi up`).
 */
export function hostFirewallSteps(
    parent: pulumi.Resource,
    name: string,
    args: HostFirewallArgs,
): (host: ClusterHost, role: K3sRole, prepared: pulumi.Resource) => command.remote.Command {
    const members = args.nodeAddresses.apply(nodeAddressList);
    const extra = args.options.extraConfig ?? {};
    const { pods, services } = podNetworks(args.options);
    const clusterCidrs = [pods, services].map((c) => `${c.address}/${c.prefix}`).join(",");
    return (host, role, prepared) =>
        new command.remote.Command(
            `${name}-${host.name}-host-firewall`,
            {
                connection: host.connection,
                create: members.apply((list) =>
                    toolkitCall(
                        "firewall",
                        {
                            "node-name": host.name,
                            role,
                            members: list,
                            servers: args.servers.map((h) => h.name).join(","),
                            "api-allowed": args.apiAllowedCidrs.map((c) => `${c.address}/${c.prefix}`).join(","),
                            "cluster-cidrs": clusterCidrs,
                            // Only when on: the calls of clusters without it stay as they were.
                            "member-ports": extra["embedded-registry"] === true ? "5001" : undefined,
                            "pod-metadata": args.podMetadataAccess ? "allow" : undefined,
                        },
                        host.sudo,
                    ),
                ),
                addPreviousOutputInEnv: false,
            },
            { parent, dependsOn: [prepared] },
        );
}

/**
 * Whenever the set of nodes changes, every node drops WireGuard peers that route nothing (left by nodes whose key
 * changed), before the mesh is checked: one `<cluster>-<node>-prune` step per node.
 */
export function pruneSteps(parent: pulumi.Resource, name: string, installed: readonly InstalledNode[]): command.remote.Command[] {
    const membership = listDigest(installed.map(({ host }) => host.name));
    return installed.map(
        ({ host, settled }) =>
            new command.remote.Command(
                `${name}-${host.name}-prune`,
                {
                    connection: host.connection,
                    create: toolkitCall("prune", { "node-name": host.name }, host.sudo),
                    triggers: [membership],
                    addPreviousOutputInEnv: false,
                },
                { parent, dependsOn: [settled] },
            ),
    );
}

/**
 * One mesh-check step per node once everything in `waitFor` is done, told its peers' addresses; re-run whenever the
 * set of nodes or their addresses change. The host decides: a mesh that did not form fails the step in words, and
 * the next `pulumi up` checks again. Returns what each node saw (never fails on its own).
 */
export function meshCheckSteps(
    parent: pulumi.Resource,
    name: string,
    installed: readonly InstalledNode[],
    expected: pulumi.Output<NodeAddresses[]>,
    waitFor: readonly pulumi.Resource[],
    timeoutSeconds: number,
): pulumi.Output<MeshNodeStatus[]> {
    // One local no-op waits for everything the check needs; each check then depends on it alone. Depending on all of
    // that from every node would make the dependency lists grow with the square of the cluster (450,000 edges at 300
    // nodes).
    const settled = new command.local.Command(`${name}-mesh-ready`, { create: "true" }, { parent, dependsOn: [...waitFor] });
    const topology = expected.apply((nodes) => listDigest(nodes.map((n) => `${n.name}=${n.publicIp}/${n.privateIp}`)));
    const reports = installed.map(({ host, role }) => {
        const check = new command.remote.Command(
            `${name}-${host.name}-mesh-check`,
            {
                connection: host.connection,
                create: expected.apply((nodes) =>
                    toolkitCall("mesh-check", { "node-name": host.name, role, peers: meshPeersFlag(host.name, nodes), "mesh-timeout": timeoutSeconds }, host.sudo),
                ),
                triggers: [topology],
                addPreviousOutputInEnv: false,
            },
            { parent, dependsOn: [settled] },
        );
        return check.stdout.apply((stdout) => meshStatusOf(host.name, stdout));
    });
    // The verdict is the step's own (a mesh that did not form fails it); this only reports what each node saw.
    return pulumi.all(reports);
}
