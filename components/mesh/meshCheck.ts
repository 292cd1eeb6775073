import { WgInterface, WgPeer, parseWgDump } from "./wgDump";

/** flannel's wireguard-native port for IPv4. */
export const WIREGUARD_PORT = 51820;
/** WireGuard re-handshakes every 2 minutes while a tunnel is used (and k3s keeps it used with a 25 s keepalive). */
export const MAX_HANDSHAKE_AGE_SECONDS = 180;

export interface ExpectedNode {
    readonly name: string;
    readonly publicIp: string;
    readonly privateIp: string;
}

/** What the mesh-check step printed on one node, read back. */
export interface MeshReport {
    readonly now: number;
    readonly wg: WgInterface | { readonly error: string };
    /** Node readiness as the server sees it (only in the server's report). */
    readonly ready?: Readonly<Record<string, string>>;
}

export interface PeerStatus {
    readonly node: string | null;
    readonly endpoint: string;
    readonly allowedIps: readonly string[];
    /** Seconds since the latest handshake; null when there never was one. */
    readonly handshakeAgeSeconds: number | null;
}

export interface MeshNodeStatus {
    readonly node: string;
    readonly peers: readonly PeerStatus[];
    /** Findings that mean the mesh did not form; any of them fails `pulumi up`. */
    readonly problems: readonly string[];
    /** Findings worth knowing that do not break traffic. */
    readonly warnings: readonly string[];
}

/** Reads the mesh-check step's output: `# now <epoch>`, `# wg` + dump lines or `# wg-error <text>`, `# ready <node> <status>`. */
export function parseMeshReport(stdout: string): MeshReport {
    let now = 0;
    let wgError: string | undefined;
    const dump: string[] = [];
    const ready: Record<string, string> = {};
    let inWg = false;
    for (const line of stdout.split("\n")) {
        if (line.startsWith("# now ")) now = Number(line.slice(6));
        else if (line.startsWith("# wg-error ")) wgError = line.slice(11);
        else if (line === "# wg") inWg = true;
        else if (line.startsWith("# ready ")) {
            const [name, status] = line.slice(8).split(" ");
            ready[name] = status ?? "";
            inWg = false;
        } else if (inWg && line.trim().length > 0) dump.push(line);
    }
    const wg = wgError !== undefined ? { error: wgError } : parseWgDump(dump.join("\n"));
    return Object.keys(ready).length > 0 ? { now, wg, ready } : { now, wg };
}

const endpointText = (peer: WgPeer) => (peer.endpoint ? `${peer.endpoint.host}:${peer.endpoint.port}` : "(none)");

/**
 * Compares what one node's WireGuard interface shows with the topology it should have: every other node a peer at
 * its public IP and flannel's port, with a recent handshake. Every finding names the node and says what it means.
 */
export function checkNodeMesh(self: ExpectedNode, others: readonly ExpectedNode[], report: MeshReport): MeshNodeStatus {
    const problems: string[] = [];
    const warnings: string[] = [];
    if ("error" in report.wg) {
        return {
            node: self.name,
            peers: [],
            problems: [
                `${self.name}: flannel's WireGuard interface flannel-wg is missing (${report.wg.error}): k3s is down on this node or flannel is not using the wireguard-native backend.`,
            ],
            warnings,
        };
    }
    const peers = report.wg.peers;
    const matched = new Set<WgPeer>();
    const statuses: PeerStatus[] = [];
    for (const other of others) {
        const peer = peers.find((p) => p.endpoint?.host === other.publicIp);
        if (!peer) {
            const viaPrivate = other.privateIp !== other.publicIp ? peers.find((p) => p.endpoint?.host === other.privateIp) : undefined;
            if (viaPrivate) {
                matched.add(viaPrivate);
                problems.push(
                    `${self.name} reaches ${other.name} at its private address ${endpointText(viaPrivate)} instead of ${other.publicIp}:${WIREGUARD_PORT}: node-external-ip did not apply on ${other.name}, so flannel there advertises its NIC address, which nothing outside its network can reach.`,
                );
            } else {
                problems.push(`${self.name} has no WireGuard peer for ${other.name} (expected endpoint ${other.publicIp}:${WIREGUARD_PORT}): ${other.name} has not joined, or flannel has not seen it yet.`);
            }
            continue;
        }
        matched.add(peer);
        const age = peer.latestHandshake === 0 ? null : Math.max(0, report.now - peer.latestHandshake);
        statuses.push({ node: other.name, endpoint: endpointText(peer), allowedIps: peer.allowedIps, handshakeAgeSeconds: age });
        if (peer.endpoint && peer.endpoint.port !== WIREGUARD_PORT) {
            warnings.push(`${self.name} reaches ${other.name} on port ${peer.endpoint.port}, not ${WIREGUARD_PORT}: a NAT in front of ${other.name} maps the port.`);
        }
        if (age === null) {
            problems.push(
                `${self.name} has never completed a WireGuard handshake with ${other.name} at ${endpointText(peer)}: UDP ${WIREGUARD_PORT} is blocked between them (a firewall) or ${other.name} is down.`,
            );
        } else if (age > MAX_HANDSHAKE_AGE_SECONDS) {
            problems.push(`${self.name}'s latest WireGuard handshake with ${other.name} at ${endpointText(peer)} was ${age} s ago (more than ${MAX_HANDSHAKE_AGE_SECONDS} s): the tunnel is not alive.`);
        }
    }
    for (const peer of peers.filter((p) => !matched.has(p))) {
        statuses.push({ node: null, endpoint: endpointText(peer), allowedIps: peer.allowedIps, handshakeAgeSeconds: peer.latestHandshake === 0 ? null : Math.max(0, report.now - peer.latestHandshake) });
        if (peer.allowedIps.length === 0) {
            warnings.push(`${self.name} has a stale WireGuard peer ${peer.publicKey} (endpoint ${endpointText(peer)}, no allowed IPs), left by a node whose key changed; removing a node prunes such peers.`);
        } else {
            warnings.push(`${self.name} has a WireGuard peer at ${endpointText(peer)} (allowed ${peer.allowedIps.join(", ")}) that matches no node of this cluster.`);
        }
    }
    for (const [name, status] of Object.entries(report.ready ?? {})) {
        if (status !== "True" && [self, ...others].some((n) => n.name === name)) problems.push(`${name} is not Ready (Ready=${status || "unknown"}) as the server sees it.`);
    }
    return { node: self.name, peers: statuses, problems, warnings };
}

/** The error `pulumi up` fails with when the mesh did not form. */
export function meshFailure(statuses: readonly MeshNodeStatus[]): string | undefined {
    const problems = statuses.flatMap((s) => s.problems);
    if (problems.length === 0) return undefined;
    return `the WireGuard mesh did not form:\n${problems.map((p) => `  - ${p}`).join("\n")}`;
}
