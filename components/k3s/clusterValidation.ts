import { ClusterHost } from "../hosts/clusterHost";
import { ConfigError } from "../validation/configError";
import { assertUniqueNames, validateNodeName } from "../validation/names";

/** The per-node maps of K3sCluster args, keyed by node name. */
export interface PerNodeMaps {
    readonly nodeAnnotations?: Readonly<Record<string, unknown>>;
    readonly nodeLabels?: Readonly<Record<string, unknown>>;
    readonly nodeTaints?: Readonly<Record<string, unknown>>;
}

/**
 * The cluster's shape, checked before anything is registered: at least one server, every node name and host used
 * once, servers in one network (embedded etcd does not work across networks), and per-node settings only for nodes
 * that exist.
 */
export function validateClusterShape(
    name: string,
    servers: readonly ClusterHost[],
    agents: readonly ClusterHost[],
    perNode: PerNodeMaps,
): void {
    const field = `K3sCluster(${name})`;
    if (servers.length === 0) {
        throw new ConfigError(
            `${field}.servers`,
            [],
            "a cluster needs one server",
            "Put the host that should run the control plane in servers, e.g. servers: [aliyun.host].",
        );
    }
    const all = [...servers.map((host, i) => ({ host, at: `servers[${i}]` })), ...agents.map((host, i) => ({ host, at: `agents[${i}]` }))];
    const seen = new Map<ClusterHost, string>();
    for (const { host, at } of all) {
        // A host built by hand (not by a host component) is checked here: its name becomes the node name, lands in
        // config.yaml and in every toolkit call.
        validateNodeName(`${field}.${at}.name`, host.name);
        const first = seen.get(host);
        if (first !== undefined) {
            throw new ConfigError(`${field}.${at}`, host.name, `is the same host as ${first}`, "Use each host once: a node is either a server or an agent.");
        }
        seen.set(host, at);
    }
    assertUniqueNames(`${field} node names`, all.map(({ host }) => host.name));

    const [first, ...others] = servers;
    const elsewhere = others.find((s) => s.provider !== first.provider || s.location !== first.location);
    if (elsewhere) {
        throw new ConfigError(
            `${field}.servers`,
            servers.map((s) => `${s.name} (${s.provider}, ${s.location})`),
            "spreads servers over clouds or locations, and k3s' embedded etcd is not supported across networks (it fails as soon as latency or NAT gets in the way)",
            `Keep one server, or put all servers in ${first.provider}/${first.location}, and make ${elsewhere.name} an agent: agents may be anywhere.`,
        );
    }

    const names = new Set(all.map(({ host }) => host.name));
    const [stray] = keysNamingNoNode(perNode, names);
    if (stray) {
        const [mapName, nodeName] = stray;
        throw new ConfigError(`${field}.${mapName}`, nodeName, "names no node of this cluster", `Key it by one of the node names: ${[...names].join(", ")}.`);
    }
}

/** The per-node settings keyed by a name that is no node's (a typo would apply to nothing): [map, key], in order. */
export function keysNamingNoNode(perNode: PerNodeMaps, names: ReadonlySet<string>): Array<[keyof PerNodeMaps, string]> {
    return (Object.entries(perNode) as Array<[keyof PerNodeMaps, Readonly<Record<string, unknown>> | undefined]>).flatMap(([mapName, map]) =>
        Object.keys(map ?? {})
            .filter((nodeName) => !names.has(nodeName))
            .map((nodeName): [keyof PerNodeMaps, string] => [mapName, nodeName]),
    );
}

/**
 * Two nodes behind one public address - two boxes behind one home router, or one machine listed twice - cannot both
 * be members: every other node's flannel keeps one WireGuard peer per endpoint (it removes peers with the same
 * endpoint and another key, flannel pkg/backend/wireguard/device.go cleanupEndpointPeers), so they evict each other,
 * and a router forwards UDP 51820 to one of them only. Returns the error for the first address shared, if any;
 * `nodesField` names where the nodes are listed (e.g. "K3sCluster(dev) nodes").
 */
export function sharedPublicAddress(nodesField: string, nodes: ReadonlyArray<{ readonly name: string; readonly publicIp: string }>): ConfigError | undefined {
    const byAddress = new Map<string, string[]>();
    for (const node of nodes) byAddress.set(node.publicIp, [...(byAddress.get(node.publicIp) ?? []), node.name]);
    const shared = [...byAddress].find(([, names]) => names.length > 1);
    if (!shared) return undefined;
    const [address, names] = shared;
    return new ConfigError(
        `${nodesField} ${names.join(", ")}`,
        address,
        "share one public address: WireGuard peers are keyed by endpoint, so every other node keeps only one of them (flannel removes a peer whose endpoint another key took), and a router forwards UDP 51820 to one machine only",
        "Give each node its own public address (another connection or a VPS), or keep one of them in the cluster; if it is the same machine listed twice, remove one entry.",
    );
}
