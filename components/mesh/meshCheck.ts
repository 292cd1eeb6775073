/**
 * The mesh check's two ends in the program: what each node's check is told (its peers), and what it printed, read
 * back for the `meshStatus` output. The verdict itself is made on the host (toolkit verb `mesh-check`): a mesh that
 * did not form fails that step, so Pulumi stores no success and the next `pulumi up` checks again. Nothing here
 * throws: a consumer's tests with ordinary mocks (no command output) get an empty status, not an error.
 */

import { NodeAddresses, nodeAddressList } from "../network/nodeAddresses";

export type ExpectedNode = NodeAddresses;

export interface PeerStatus {
    /** The node this peer is; absent for a peer that matches no node. */
    readonly node?: string;
    readonly endpoint: string;
    readonly allowedIps: string[];
    /** Seconds since the latest handshake; absent when there never was one. */
    readonly handshakeAgeSeconds?: number;
}

export interface MeshNodeStatus {
    readonly node: string;
    // Mutable arrays and a plain map: this type is an output of the multi-language component (its analyzer refuses
    // readonly arrays and Record<>).
    readonly peers: PeerStatus[];
    /** Findings that mean the mesh did not form (a check that printed these failed its step). */
    readonly problems: string[];
    /** Findings worth knowing that do not break traffic. */
    readonly warnings: string[];
    /** Node readiness as the server saw it (only in a server's status). */
    readonly ready?: { [node: string]: string };
}

/**
 * The `--peers` flag of one node's check: every other node as `name=publicIp`, or `name=publicIp/privateIp` when
 * they differ (the private address lets the host say "reached at its private address" instead of "missing").
 */
export function meshPeersFlag(self: string, nodes: readonly ExpectedNode[]): string {
    return nodeAddressList(nodes.filter((n) => n.name !== self));
}

/**
 * Reads what a node's check printed: `# peer`, `# problem`, `# warning` and `# ready` lines; everything else (the
 * interface dump, log lines) is skipped. Missing or unreadable output gives an empty status.
 */
export function meshStatusOf(node: string, stdout: string | undefined): MeshNodeStatus {
    const peers: PeerStatus[] = [];
    const problems: string[] = [];
    const warnings: string[] = [];
    const ready: Record<string, string> = {};
    for (const line of (stdout ?? "").split("\n")) {
        if (line.startsWith("# problem ")) problems.push(line.slice(10));
        else if (line.startsWith("# warning ")) warnings.push(line.slice(10));
        else if (line.startsWith("# ready ")) {
            const [name, status] = line.slice(8).split(" ");
            if (name) ready[name] = status ?? "";
        } else if (line.startsWith("# peer ")) {
            const [name, endpoint, age, allowed] = line.slice(7).split(" ");
            if (endpoint === undefined) continue;
            const seconds = age === "never" || age === undefined || !/^[0-9]+$/.test(age) ? undefined : Number(age);
            peers.push({
                ...(name === "-" ? {} : { node: name }),
                endpoint,
                allowedIps: !allowed || allowed === "(none)" ? [] : allowed.split(","),
                ...(seconds === undefined ? {} : { handshakeAgeSeconds: seconds }),
            });
        }
    }
    return { node, peers, problems, warnings, ...(Object.keys(ready).length > 0 ? { ready } : {}) };
}
