import { FirewallRow, PlanData } from "./renderPlan";

/**
 * What changed between two offline plans (a pull request's against its base branch's): nodes added, removed or
 * changed, cloud firewall rules opened or closed, config.yaml lines per node, managed annotations and labels. Pure
 * and deterministic, so the PR comment shows the same text on every push until the stack changes.
 */
export function renderPlanDiff(before: PlanData, after: PlanData, label: string): string {
    const lines: string[] = [];
    const byName = (plan: PlanData) => new Map(plan.nodes.map((n) => [n.name, n]));
    const [oldNodes, newNodes] = [byName(before), byName(after)];
    for (const node of after.nodes) {
        if (!oldNodes.has(node.name)) lines.push(`- node **${node.name}** added (${node.cloud}, ${node.location}, ${node.role})`);
    }
    for (const node of before.nodes) {
        if (!newNodes.has(node.name)) lines.push(`- node **${node.name}** removed (drained, deleted from the cluster, k3s uninstalled)`);
    }
    for (const node of after.nodes) {
        const old = oldNodes.get(node.name);
        if (!old) continue;
        const fields = (["cloud", "location", "role", "publicIp", "privateIp", "behindNat"] as const).filter((f) => old[f] !== node[f]);
        if (fields.length > 0) lines.push(`- node **${node.name}**: ${fields.map((f) => `${f} ${String(old[f])} → ${String(node[f])}`).join(", ")}`);
    }
    if (before.k3sVersion !== after.k3sVersion) lines.push(`- k3s ${before.k3sVersion} → ${after.k3sVersion} (every node drained and upgraded, servers first)`);

    const rule = (r: FirewallRow) => `${r.node} ${r.cloud} ${r.port}/${r.protocol} from ${r.source} (${r.purpose})`;
    const [oldRules, newRules] = [new Set(before.firewall.map(rule)), new Set(after.firewall.map(rule))];
    for (const r of [...newRules].filter((r) => !oldRules.has(r))) lines.push(`- firewall rule opened: ${r}`);
    for (const r of [...oldRules].filter((r) => !newRules.has(r))) lines.push(`- firewall rule closed: ${r}`);

    for (const node of after.nodes) {
        if (!oldNodes.has(node.name)) continue;
        const meta = (plan: PlanData) => plan.metadata[node.name] ?? { annotations: {}, labels: {} };
        for (const kind of ["annotations", "labels"] as const) {
            const [old, now] = [meta(before)[kind], meta(after)[kind]];
            const singular = kind === "annotations" ? "annotation" : "label";
            for (const key of [...new Set([...Object.keys(old), ...Object.keys(now)])].sort()) {
                if (old[key] === now[key]) continue;
                if (old[key] === undefined) lines.push(`- ${node.name}: ${singular} \`${key}\` = \`${now[key]}\` added`);
                else if (now[key] === undefined) lines.push(`- ${node.name}: ${singular} \`${key}\` removed (was \`${old[key]}\`)`);
                else lines.push(`- ${node.name}: ${singular} \`${key}\`: \`${old[key]}\` → \`${now[key]}\``);
            }
        }
        const [oldConfig, newConfig] = [(before.configs[node.name] ?? "").split("\n"), (after.configs[node.name] ?? "").split("\n")];
        const removed = oldConfig.filter((l) => l.trim() !== "" && !newConfig.includes(l));
        const added = newConfig.filter((l) => l.trim() !== "" && !oldConfig.includes(l));
        if (removed.length + added.length > 0) {
            lines.push(`- ${node.name}: config.yaml changes (the node is drained and its k3s restarted):`);
            lines.push("  ```diff", ...removed.map((l) => `  -${l}`), ...added.map((l) => `  +${l}`), "  ```");
        }
    }
    const heading = `## Changes since ${label}`;
    return [heading, "", ...(lines.length > 0 ? lines : ["No change to nodes, firewall rules, annotations, labels or config.yaml."]), ""].join("\n");
}
