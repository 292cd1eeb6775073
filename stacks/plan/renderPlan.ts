import { ClusterNodeInfo } from "../../components/k3s/k3sCluster";
import { renderMeshDiagram } from "./meshDiagram";

/** A value the cloud assigns at create time, shown by the plan's fake cloud as `<what>`. */
export const PLACEHOLDER = /^<[^<>]+>$/;

export interface FirewallRow {
    readonly node: string;
    readonly cloud: "aliyun" | "vultr";
    readonly protocol: string;
    readonly port: string;
    readonly source: string;
    readonly purpose: string;
}

export interface PlanData {
    readonly stack: string;
    /** Where each node downloads k3s from: "github" or "cn" (the China mirror). */
    readonly installSources: Readonly<Record<string, string>>;
    readonly k3sVersion: string;
    readonly nodes: readonly ClusterNodeInfo[];
    readonly configs: Readonly<Record<string, string>>;
    readonly firewall: readonly FirewallRow[];
    /** How many resources of each type `pulumi up` would create. */
    readonly resourceCounts: Readonly<Record<string, number>>;
    /** The nodes that get the host firewall step, and who may reach 6443 besides the members. */
    readonly hostFirewall: { readonly nodes: readonly string[]; readonly apiAllowedCidrs: readonly string[] };
    readonly metadata: Readonly<Record<string, { annotations: Record<string, string>; labels: Record<string, string> }>>;
    readonly warnings: readonly string[];
    /** What each node's machine is and what it costs to keep, where the plan knows it (absent in older plans' JSON). */
    readonly machines?: Readonly<Record<string, MachineTerms>>;
}

/** A node's machine as billed: its size (the cloud's plan id) and the terms it is bought on. */
export interface MachineTerms {
    readonly size: string;
    readonly terms: string;
}

function shown(value: string): string {
    return PLACEHOLDER.test(value) ? "known after create" : value;
}

function plural(count: number, noun: string): string {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
    return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** Warnings the plan derives from the topology itself, besides those the components log. */
export function topologyWarnings(nodes: readonly ClusterNodeInfo[], firewall: readonly FirewallRow[], hostFirewall: readonly string[] = []): string[] {
    const warnings: string[] = [];
    for (const node of nodes) {
        const filtered = hostFirewall.includes(node.name);
        if (node.cloud === "existing") {
            const ports = node.role === "server" ? "6443/tcp, 51820-51821/udp and 10250/tcp" : "51820-51821/udp and 10250/tcp";
            const api = node.role === "server" ? " 6443/tcp must also reach it from the machine that runs `pulumi` and `kubectl` (and from apiAllowedCidrs)." : "";
            warnings.push(`${node.name} is a server you manage: open ${ports} to the other nodes in any firewall in front of it (and forward them when it sits behind a router).${api}`);
        }
        if (node.cloud === "aliyun") {
            // "6443/6443" as the SWAS API writes one port is 6443 to a reader.
            const open = firewall.filter((r) => r.node === node.name).map((r) => `${r.port.replace(/^(\d+)\/\1$/, "$1")}/${r.protocol}`);
            warnings.push(
                filtered
                    ? `${node.name}: SWAS firewall rules made through Pulumi cannot filter by source (the SWAS API can; the provider's rule has no field for it), so the cloud lets ${open.join(", ")} through from the whole internet; the host firewall on the node admits only the cluster's members (TCP 22/80/443 are open by default).`
                    : `${node.name}: SWAS firewall rules made through Pulumi cannot filter by source (the SWAS API can; the provider's rule has no field for it) and the host firewall is off, so ${open.join(", ")} are open to the whole internet (TCP 22/80/443 are open by default).`,
            );
        }
    }
    return warnings;
}

/** For each server: what its cloud firewall and its host firewall let reach 6443 (apiAllowedCidrs and the members). */
export function apiEnforcement(plan: PlanData): string[][] {
    const cidrs = plan.hostFirewall.apiAllowedCidrs;
    const hostAdmits = cidrs.includes("0.0.0.0/0") ? "anyone (apiAllowedCidrs 0.0.0.0/0)" : `cluster members, ${cidrs.join(", ") || "nobody else"}`;
    return plan.nodes
        .filter((n) => n.role === "server")
        .map((server) => {
            const sources = plan.firewall.filter((r) => r.node === server.name && r.protocol === "tcp" && r.port === "6443").map((r) => r.source);
            const cloud =
                server.cloud === "aliyun"
                    ? "anyone (SWAS rules made through Pulumi cannot filter by source)"
                    : server.cloud === "vultr"
                      ? sources.length > 0
                          ? sources.join(", ")
                          : "nobody (no rule for 6443)"
                      : "none created: whatever you run in front of it";
            const host = plan.hostFirewall.nodes.includes(server.name) ? `${hostAdmits} (nftables; ufw where active)` : "off (hostFirewall: false): the host's own rules";
            return [server.name, cloud, host];
        });
}

/** The offline plan as deterministic Markdown. */
export function renderPlan(plan: PlanData): string {
    const servers = plan.nodes.filter((n) => n.role === "server");
    const out: string[] = [];
    out.push(`# k3s-multicloud plan: stack \`${plan.stack}\``);
    out.push("");
    const agents = plan.nodes.length - servers.length;
    out.push(
        `k3s ${plan.k3sVersion} · ${plural(plan.nodes.length, "node")} (${plural(servers.length, "server")}, ${plural(agents, "agent")}) · flannel wireguard-native over public IPs`,
    );
    out.push("");
    out.push("## Nodes");
    out.push("");
    out.push(
        table(
            ["node", "cloud", "location", "role", "public IP", "private IP", "NAT", "k3s from"],
            plan.nodes.map((n) => [
                n.name,
                n.cloud,
                n.location,
                n.role,
                shown(n.publicIp),
                shown(n.privateIp),
                n.behindNat ? "yes" : "no",
                plan.installSources[n.name] === "cn" ? "China mirror" : "GitHub",
            ]),
        ),
    );
    out.push("");
    if (plan.machines) {
        out.push("## Machines");
        out.push("");
        out.push(table(["node", "size", "terms"], plan.nodes.map((n) => [n.name, plan.machines?.[n.name]?.size ?? "-", plan.machines?.[n.name]?.terms ?? "-"])));
        out.push("");
    }
    out.push("## WireGuard mesh");
    out.push("");
    out.push("```mermaid");
    out.push(renderMeshDiagram(plan.nodes));
    out.push("```");
    out.push("");
    out.push("## Firewall rules");
    for (const cloud of ["aliyun", "vultr"] as const) {
        const rows = plan.firewall.filter((r) => r.cloud === cloud);
        if (rows.length === 0) continue;
        out.push("");
        out.push(`### ${cloud === "aliyun" ? "Alibaba SWAS (no source filter: open to the internet)" : "Vultr firewall groups"}`);
        out.push("");
        out.push(table(["node", "protocol", "port", "from", "purpose"], rows.map((r) => [r.node, r.protocol, r.port, r.source, r.purpose])));
    }
    const unmanaged = plan.nodes.filter((n) => n.cloud === "existing").map((n) => n.name);
    if (unmanaged.length > 0) {
        out.push("");
        out.push(`Existing servers (${unmanaged.join(", ")}): no cloud rules are created; see the warnings.`);
    }
    out.push("");
    out.push("### Host firewall (nftables on each node, and ufw where active)");
    out.push("");
    const filtered = plan.nodes.filter((n) => plan.hostFirewall.nodes.includes(n.name)).map((n) => n.name);
    if (filtered.length === 0) {
        out.push("Off (`hostFirewall: false`): the nodes' own firewalls decide who reaches k3s' ports.");
    } else {
        out.push(`On ${filtered.join(", ")}. Every other source is dropped on these ports; other ports keep the host's own rules.`);
        out.push("");
        const api = plan.hostFirewall.apiAllowedCidrs.map((c) => (c === "0.0.0.0/0" ? "anywhere (apiAllowedCidrs)" : c)).join(", ");
        out.push(
            table(
                ["port", "on", "from"],
                [
                    ["6443/tcp", "servers", `cluster members, ${api}`],
                    ["10250/tcp", "all nodes", "cluster members"],
                    ["51820-51821/udp", "all nodes", "cluster members"],
                    ["2379-2380/tcp", "servers (with several servers)", "servers"],
                ],
            ),
        );
    }
    out.push("");
    out.push("### Who reaches the Kubernetes API (6443/tcp) on each server");
    out.push("");
    out.push("Both layers must admit a connection: the narrower one decides.");
    out.push("");
    out.push(table(["server", "cloud firewall", "host firewall"], apiEnforcement(plan)));
    out.push("");
    out.push("## Resources");
    out.push("");
    out.push(table(["type", "count"], Object.entries(plan.resourceCounts).sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => [`\`${type}\``, String(count)])));
    out.push("");
    out.push("## Managed annotations and labels");
    for (const node of plan.nodes) {
        const meta = plan.metadata[node.name] ?? { annotations: {}, labels: {} };
        out.push("");
        out.push(`### ${node.name}`);
        out.push("");
        out.push(
            table(
                ["kind", "key", "value"],
                [
                    ...Object.entries(meta.annotations).map(([k, v]) => ["annotation", k, shown(v)]),
                    ...Object.entries(meta.labels).map(([k, v]) => ["label", k, v]),
                ],
            ),
        );
    }
    out.push("");
    out.push("## config.yaml per node");
    for (const node of plan.nodes) {
        out.push("");
        out.push(`### ${node.name} (/etc/rancher/k3s/config.yaml)`);
        out.push("");
        out.push("```yaml");
        out.push((plan.configs[node.name] ?? "").trimEnd());
        out.push("```");
    }
    out.push("");
    out.push("The join token reaches each node on stdin and is not shown: [secret].");
    out.push("");
    out.push("## Warnings");
    out.push("");
    for (const warning of plan.warnings) out.push(`- ${warning}`);
    out.push("");
    return out.join("\n");
}

/** How many rows a PR-mode table shows before it summarises the rest. */
const PR_ROWS = 40;
/** How many nodes' config.yaml a PR comment shows (the full plan, an artifact, has all). */
const PR_CONFIGS = 10;

function capped<T>(items: readonly T[], limit: number): { shown: readonly T[]; more: string } {
    return items.length <= limit ? { shown: items, more: "" } : { shown: items.slice(0, limit), more: `\n\n... and ${items.length - limit} more in the full plan.` };
}

function details(summary: string, body: string): string {
    return `<details><summary>${summary}</summary>\n\n${body}\n\n</details>`;
}

/**
 * The plan for a pull-request comment: the same facts, sized for GitHub's 65,536-character comment limit whatever the
 * cluster size. Long tables stop after 40 rows, the mesh of a large cluster is drawn between locations, config.yaml is
 * shown for the first nodes only, each section folds; the full plan (`npm run plan -- <stack>`) goes to the
 * workflow's artifact. If a section still does not fit `budget`, it is left out with a line saying so.
 */
export function renderPrPlan(plan: PlanData, budget = 60_000): string {
    const servers = plan.nodes.filter((n) => n.role === "server");
    const head = [
        `### k3s-multicloud plan: stack \`${plan.stack}\``,
        "",
        `k3s ${plan.k3sVersion} · ${plural(plan.nodes.length, "node")} (${plural(servers.length, "server")}, ${plural(plan.nodes.length - servers.length, "agent")}) · flannel wireguard-native over public IPs`,
    ].join("\n");
    const warnings = capped(plan.warnings, PR_ROWS);
    const warningText = `**Warnings**\n\n${warnings.shown.map((w) => `- ${w}`).join("\n")}${warnings.more}`;
    const nodes = capped(plan.nodes, PR_ROWS);
    const nodeTable =
        table(
            ["node", "cloud", "location", "role", "public IP", "NAT", "k3s from"],
            nodes.shown.map((n) => [n.name, n.cloud, n.location, n.role, shown(n.publicIp), n.behindNat ? "yes" : "no", plan.installSources[n.name] === "cn" ? "China mirror" : "GitHub"]),
        ) + nodes.more;
    const mesh =
        plan.nodes.length <= 8
            ? ["```mermaid", renderMeshDiagram(plan.nodes), "```"].join("\n")
            : `Every node peers with every other over its public IP (${plan.nodes.length * (plan.nodes.length - 1) / 2} tunnels); the diagram is in the full plan.`;
    const rules = capped(plan.firewall, PR_ROWS);
    const firewall =
        table(["node", "cloud", "protocol", "port", "from", "purpose"], rules.shown.map((r) => [r.node, r.cloud, r.protocol, r.port, r.source, r.purpose])) +
        rules.more +
        `\n\nHost firewall on ${plural(plan.hostFirewall.nodes.length, "node")}: k3s' ports from cluster members only (6443 also from ${plan.hostFirewall.apiAllowedCidrs.join(", ")}).`;
    const metadataRows = plan.nodes.flatMap((n) => {
        const meta = plan.metadata[n.name] ?? { annotations: {}, labels: {} };
        return [...Object.entries(meta.annotations).map(([k, v]) => [n.name, "annotation", k, shown(v)]), ...Object.entries(meta.labels).map(([k, v]) => [n.name, "label", k, v])];
    });
    const metadata = capped(metadataRows, PR_ROWS);
    const configs = capped(plan.nodes, PR_CONFIGS);
    const configText =
        configs.shown.map((n) => details(`<code>${n.name}</code>`, ["```yaml", (plan.configs[n.name] ?? "").trimEnd(), "```"].join("\n"))).join("\n\n") + configs.more;
    const sections = [
        head,
        warningText,
        details("Nodes", nodeTable),
        details("WireGuard mesh", mesh),
        details("Firewall rules", firewall),
        details("Managed annotations and labels", table(["node", "kind", "key", "value"], metadata.shown) + metadata.more),
        details("config.yaml per node", `${configText}\n\nThe join token reaches each node on stdin and is not shown.`),
    ];
    // Drop the bulkiest optional sections first until it fits; what is left out is named.
    const optional = [6, 5, 4, 3, 2];
    const left: string[] = [];
    const text = () => [...sections.filter((s) => s !== ""), ...(left.length ? [`Left out to fit a comment: ${left.join(", ")} (see the full plan).`] : [])].join("\n\n") + "\n";
    for (const index of optional) {
        if (text().length <= budget) break;
        left.push(/<summary>([^<]+)<\/summary>/.exec(sections[index])?.[1] ?? "a section");
        sections[index] = "";
    }
    return text();
}
