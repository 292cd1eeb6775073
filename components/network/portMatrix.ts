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

/** The table for a cluster with `serverCount` servers. */
export function clusterPortMatrix(serverCount: number): PortRequirement[] {
    const ports: PortRequirement[] = [
        { protocol: "tcp", fromPort: 6443, toPort: 6443, on: "servers", source: "nodes", purpose: "Kubernetes API and k3s supervisor (agents join here)" },
        { protocol: "tcp", fromPort: 6443, toPort: 6443, on: "servers", source: "api-clients", purpose: "Kubernetes API for kubectl and Pulumi" },
        { protocol: "udp", fromPort: 51820, toPort: 51821, on: "all", source: "nodes", purpose: "flannel wireguard-native (IPv4 51820, IPv6 51821)" },
        { protocol: "tcp", fromPort: 10250, toPort: 10250, on: "all", source: "nodes", purpose: "kubelet (metrics-server)" },
    ];
    if (serverCount > 1) {
        ports.push({ protocol: "tcp", fromPort: 2379, toPort: 2380, on: "servers", source: "servers", purpose: "embedded etcd between servers" });
    }
    return ports;
}

/** Ports as the SWAS API writes them: "22" or "1024/1055" (slash). */
export function swasPort(port: PortRequirement): string {
    return port.fromPort === port.toPort ? String(port.fromPort) : `${port.fromPort}/${port.toPort}`;
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
 * Vultr firewall groups hold a limited number of rules, so past this many peers a port opens to 0.0.0.0/0 instead of
 * one rule per peer (WireGuard answers nothing without a known key; kubelet and API require authentication).
 */
export const VULTR_MAX_PEER_RULES = 20;

/**
 * Vultr rules for one host: one rule per (port, other node) with the peer's public IP as a /32, or one world rule per
 * port when the peers are too many; API clients from `apiAllowedCidrs`.
 */
export function vultrRulesFor(
    self: string,
    role: "server" | "agent",
    matrix: readonly PortRequirement[],
    peers: { readonly nodes: readonly string[]; readonly servers: readonly string[] },
    apiAllowedCidrs: ReadonlyArray<{ address: string; prefix: number }>,
): VultrRuleSpec[] {
    const rules: VultrRuleSpec[] = [];
    const apiOpenToWorld = apiAllowedCidrs.some((cidr) => cidr.prefix === 0);
    const servedToApiClients = (port: PortRequirement) =>
        matrix.some((p) => p.source === "api-clients" && p.protocol === port.protocol && p.fromPort === port.fromPort && p.toPort === port.toPort);
    for (const port of matrix) {
        if (port.on === "servers" && role !== "server") continue;
        // Per-peer rules add nothing when the same port is already open to the world for API clients.
        if (port.source !== "api-clients" && apiOpenToWorld && servedToApiClients(port)) continue;
        const portText = vultrPort(port);
        const base = `${port.protocol}-${port.fromPort}`;
        const notes = `k3s-multicloud: ${port.purpose}`;
        if (port.source === "api-clients") {
            apiAllowedCidrs.forEach((cidr, index) =>
                rules.push({ key: `${base}-api-${index}`, protocol: port.protocol, port: portText, source: { kind: "cidr", ...cidr }, notes }),
            );
            continue;
        }
        const sources = (port.source === "servers" ? peers.servers : peers.nodes).filter((node) => node !== self);
        if (sources.length > VULTR_MAX_PEER_RULES) {
            rules.push({ key: `${base}-world`, protocol: port.protocol, port: portText, source: { kind: "cidr", address: "0.0.0.0", prefix: 0 }, notes });
            continue;
        }
        for (const node of sources) {
            rules.push({ key: `${base}-${node}`, protocol: port.protocol, port: portText, source: { kind: "node", node }, notes });
        }
    }
    return rules;
}
