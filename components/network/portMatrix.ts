/**
 * The ports a multicloud k3s cluster needs open (k3s docs, installation/requirements), as one table every cloud's
 * firewall rules are rendered from. VXLAN (8472/udp) is deliberately absent: it must never face the internet, and
 * this project always uses wireguard-native.
 */

export type Protocol = "tcp" | "udp";

/** Who must reach the port. */
export type PortSource =
    /** every other node of the cluster */
    | "nodes"
    /** the other servers (embedded etcd) */
    | "servers"
    /** kubectl and Pulumi's Kubernetes provider, from wherever they run: `apiAllowedCidrs` */
    | "api-clients";

export interface PortRequirement {
    readonly protocol: Protocol;
    readonly fromPort: number;
    readonly toPort: number;
    /** Which nodes listen. */
    readonly on: "servers" | "all";
    readonly source: PortSource;
    readonly purpose: string;
}

/**
 * The table for a cluster with `serverCount` servers; with `embeddedRegistry` (k3s' `embedded-registry: true`,
 * Spegel) also its registry port, 5001/tcp between all nodes (docs: installation/registry-mirror).
 */
export function clusterPortMatrix(serverCount: number, { embeddedRegistry = false } = {}): PortRequirement[] {
    const ports: PortRequirement[] = [
        { protocol: "tcp", fromPort: 6443, toPort: 6443, on: "servers", source: "nodes", purpose: "Kubernetes API and k3s supervisor (agents join here)" },
        { protocol: "tcp", fromPort: 6443, toPort: 6443, on: "servers", source: "api-clients", purpose: "Kubernetes API for kubectl and Pulumi" },
        { protocol: "udp", fromPort: 51820, toPort: 51821, on: "all", source: "nodes", purpose: "flannel wireguard-native (IPv4 51820, IPv6 51821)" },
        { protocol: "tcp", fromPort: 10250, toPort: 10250, on: "all", source: "nodes", purpose: "kubelet (metrics-server)" },
    ];
    if (serverCount > 1) {
        ports.push({ protocol: "tcp", fromPort: 2379, toPort: 2380, on: "servers", source: "servers", purpose: "embedded etcd between servers" });
    }
    if (embeddedRegistry) {
        ports.push({ protocol: "tcp", fromPort: 5001, toPort: 5001, on: "all", source: "nodes", purpose: "embedded registry (Spegel) between nodes" });
    }
    return ports;
}

/**
 * Ports as the SWAS API writes them: always a range with a slash, "6443/6443" for one port (CreateFirewallRule's own
 * form). Releases up to 0.3.0 wrote a single port bare ("6443"); those stored rules keep it (K3sCluster ignores changes
 * of `port`, which would replace the rule).
 */
export function swasPort(port: PortRequirement): string {
    return `${port.fromPort}/${port.toPort}`;
}

/** Ports as the Vultr API writes them: "22" or "30000:32767" (colon). */
export function vultrPort(port: PortRequirement): string {
    return port.fromPort === port.toPort ? String(port.fromPort) : `${port.fromPort}:${port.toPort}`;
}

/** One SWAS firewall rule. SWAS rules have no source address: the port opens to the whole internet. */
export interface SwasRuleSpec {
    readonly key: string;
    readonly ruleProtocol: "Tcp" | "Udp";
    readonly port: string;
    readonly remark: string;
}

/**
 * SWAS rules for one host: one rule per port range (the API cannot restrict the source, so "nodes" and
 * "api-clients" collapse into one rule).
 */
export function swasRulesFor(role: "server" | "agent", matrix: readonly PortRequirement[]): SwasRuleSpec[] {
    const seen = new Map<string, SwasRuleSpec>();
    for (const port of matrix) {
        if (port.on === "servers" && role !== "server") continue;
        const spec: SwasRuleSpec = {
            key: `${port.protocol}-${port.fromPort}`,
            ruleProtocol: port.protocol === "tcp" ? "Tcp" : "Udp",
            port: swasPort(port),
            remark: `k3s-multicloud: ${port.purpose}`,
        };
        if (!seen.has(spec.key)) seen.set(spec.key, spec);
    }
    return [...seen.values()];
}

/** Where a Vultr rule lets traffic in from. */
export type VultrSource = { readonly kind: "node"; readonly node: string } | { readonly kind: "cidr"; readonly address: string; readonly prefix: number };

export interface VultrRuleSpec {
    readonly key: string;
    readonly protocol: Protocol;
    readonly port: string;
    readonly source: VultrSource;
    readonly notes: string;
}

/**
 * Past this many peers a widenable port (WireGuard, kubelet) opens to 0.0.0.0/0 instead of one rule per peer, as
 * releases up to 0.3.0 did; kept so those clusters' rules do not change. The group's budget below decides the rest.
 */
export const VULTR_MAX_PEER_RULES = 20;

/**
 * What a Vultr firewall group holds: `max_rule_count` in the API's answers (50 in its published samples; support can
 * raise it per account). Every rule of the group counts: SSH, API clients, one per peer and port.
 */
export const VULTR_DEFAULT_RULE_LIMIT = 50;

/**
 * The ports that may be opened to the world when a group's budget runs out, in the order they are widened:
 * WireGuard answers nothing to a packet without a known key, the kubelet requires authentication, and the embedded
 * registry serves only images (the host firewall still admits members only). The API (6443) and etcd (2379-2380) are
 * never widened.
 */
const WIDENABLE: ReadonlyArray<{ protocol: Protocol; fromPort: number }> = [
    { protocol: "udp", fromPort: 51820 },
    { protocol: "tcp", fromPort: 10250 },
    { protocol: "tcp", fromPort: 5001 },
];

export interface VultrRulePlan {
    readonly rules: VultrRuleSpec[];
    /** Rules the group holds with these: the SSH rules made with the server, plus `rules`. */
    readonly total: number;
    /** Ports opened to the world instead of per peer (e.g. "51820:51821/udp"), in the order they were widened. */
    readonly widened: string[];
}

/**
 * Vultr rules for one host: one rule per (port, other node) with the peer's public IP as a /32, API clients from
 * `apiAllowedCidrs`; within the group's budget (`reserved` rules it already holds, `limit` in all) the WireGuard and
 * then the kubelet port open to the world instead of per peer. Fails in words when even then the group would hold
 * more than `limit` (the API's and etcd's per-peer rules never widen).
 */
export function vultrRulesFor(
    self: string,
    role: "server" | "agent",
    matrix: readonly PortRequirement[],
    peers: { readonly nodes: readonly string[]; readonly servers: readonly string[] },
    apiAllowedCidrs: ReadonlyArray<{ address: string; prefix: number }>,
    budget: { readonly reserved: number; readonly limit: number } = { reserved: 0, limit: VULTR_DEFAULT_RULE_LIMIT },
): VultrRulePlan {
    const apiOpenToWorld = apiAllowedCidrs.some((cidr) => cidr.prefix === 0);
    const servedToApiClients = (port: PortRequirement) =>
        matrix.some((p) => p.source === "api-clients" && p.protocol === port.protocol && p.fromPort === port.fromPort && p.toPort === port.toPort);
    const ports = matrix.filter(
        (port) =>
            !(port.on === "servers" && role !== "server") &&
            // Per-peer rules add nothing when the same port is already open to the world for API clients.
            !(port.source !== "api-clients" && apiOpenToWorld && servedToApiClients(port)),
    );
    const sourcesOf = (port: PortRequirement) => (port.source === "servers" ? peers.servers : peers.nodes).filter((node) => node !== self);
    const widenable = (port: PortRequirement) => port.source !== "api-clients" && WIDENABLE.some((w) => w.protocol === port.protocol && w.fromPort === port.fromPort);
    const widened = new Set(ports.filter((port) => widenable(port) && sourcesOf(port).length > VULTR_MAX_PEER_RULES));
    const count = () =>
        budget.reserved +
        ports.reduce((sum, port) => sum + (port.source === "api-clients" ? apiAllowedCidrs.length : widened.has(port) ? 1 : sourcesOf(port).length), 0);
    for (const next of WIDENABLE) {
        if (count() <= budget.limit) break;
        for (const port of ports) if (widenable(port) && port.protocol === next.protocol && port.fromPort === next.fromPort) widened.add(port);
    }
    const rules: VultrRuleSpec[] = [];
    for (const port of ports) {
        const portText = vultrPort(port);
        const base = `${port.protocol}-${port.fromPort}`;
        const notes = `k3s-multicloud: ${port.purpose}`;
        if (port.source === "api-clients") {
            apiAllowedCidrs.forEach((cidr, index) =>
                rules.push({ key: `${base}-api-${index}`, protocol: port.protocol, port: portText, source: { kind: "cidr", ...cidr }, notes }),
            );
        } else if (widened.has(port)) {
            rules.push({ key: `${base}-world`, protocol: port.protocol, port: portText, source: { kind: "cidr", address: "0.0.0.0", prefix: 0 }, notes });
        } else {
            for (const node of sourcesOf(port)) rules.push({ key: `${base}-${node}`, protocol: port.protocol, port: portText, source: { kind: "node", node }, notes });
        }
    }
    return { rules, total: budget.reserved + rules.length, widened: ports.filter((p) => widened.has(p)).map((p) => `${vultrPort(p)}/${p.protocol}`) };
}
