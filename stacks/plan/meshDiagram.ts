import { ClusterNodeInfo } from "../../components/k3s/k3sCluster";

/** A Mermaid-safe identifier for a node or group. */
function mermaidId(text: string): string {
    return text.replace(/[^A-Za-z0-9]/g, "_");
}

/**
 * The WireGuard mesh as a Mermaid flowchart: nodes grouped by cloud and location, NAT marked, servers highlighted,
 * one edge per node pair (flannel's wireguard-native peers every node with every other, over public IPs).
 */
export function renderMeshDiagram(nodes: readonly ClusterNodeInfo[]): string {
    const lines = ["flowchart LR"];
    const groups = new Map<string, ClusterNodeInfo[]>();
    for (const node of nodes) {
        const key = `${node.cloud} · ${node.location}`;
        groups.set(key, [...(groups.get(key) ?? []), node]);
    }
    for (const [group, members] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
        lines.push(`    subgraph ${mermaidId(group)}["${group}"]`);
        for (const node of members) {
            const label = `${node.name}<br/>${node.role}${node.behindNat ? " · behind NAT" : ""}`;
            lines.push(node.role === "server" ? `        ${mermaidId(node.name)}[["${label}"]]` : `        ${mermaidId(node.name)}["${label}"]`);
        }
        lines.push("    end");
    }
    for (let i = 0; i < nodes.length; i++) {
        for (let j = i + 1; j < nodes.length; j++) {
            lines.push(`    ${mermaidId(nodes[i].name)} <-- "wg 51820/udp" --> ${mermaidId(nodes[j].name)}`);
        }
    }
    const servers = nodes.filter((n) => n.role === "server").map((n) => mermaidId(n.name));
    lines.push("    classDef server fill:#fde68a,stroke:#b45309,stroke-width:2px");
    if (servers.length > 0) lines.push(`    class ${servers.join(",")} server`);
    return lines.join("\n");
}
