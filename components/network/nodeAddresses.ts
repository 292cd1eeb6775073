/** A node's name and addresses, as the host-side checks and the host firewall are told them. */
export interface NodeAddresses {
    readonly name: string;
    readonly publicIp: string;
    readonly privateIp: string;
}

/**
 * Nodes as one toolkit flag value: `name=publicIp`, or `name=publicIp/privateIp` where they differ, comma separated,
 * in the given order (stable, so the rendered call is too).
 */
export function nodeAddressList(nodes: readonly NodeAddresses[]): string {
    return nodes.map((n) => `${n.name}=${n.publicIp}${n.privateIp && n.privateIp !== n.publicIp ? `/${n.privateIp}` : ""}`).join(",");
}
