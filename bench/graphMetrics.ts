/** Pure measurements over the resource graph one evaluation registered. */

export interface GraphNode {
    readonly name: string;
    readonly type: string;
    readonly dependsOn: readonly string[];
    readonly inputs: string;
}

export const REMOTE_COMMAND = "command:remote:Command";

/**
 * Resource types that open an SSH session when they are created. Local commands do not: the upgrade and removal
 * steps' create is `true`, and they reach hosts only on update or delete (see sshSessionsFor).
 */
export const SSH_ON_CREATE: readonly string[] = [REMOTE_COMMAND, "command:remote:CopyToRemote", "command:remote:CopyFile"];

/** The longest chain of SSH-opening resources (sessions that must run one after another) through the dependencies. */
export function criticalPath(graph: readonly GraphNode[]): { length: number; chain: string[] } {
    const byName = new Map(graph.map((node) => [node.name, node]));
    const memo = new Map<string, { length: number; chain: string[] }>();
    const visit = (name: string): { length: number; chain: string[] } => {
        const cached = memo.get(name);
        if (cached) return cached;
        const node = byName.get(name);
        if (!node) return { length: 0, chain: [] };
        let best = { length: 0, chain: [] as string[] };
        for (const dep of node.dependsOn) {
            const candidate = visit(dep);
            if (candidate.length > best.length) best = candidate;
        }
        const own = SSH_ON_CREATE.includes(node.type) ? 1 : 0;
        const result = { length: best.length + own, chain: own ? [...best.chain, name] : best.chain };
        memo.set(name, result);
        return result;
    };
    let longest = { length: 0, chain: [] as string[] };
    for (const node of graph) {
        const candidate = visit(node.name);
        if (candidate.length > longest.length) longest = candidate;
    }
    return longest;
}

/** The step a remote command performs, from its name `<cluster>-<node>-<step>`. */
export function stepOf(name: string): string {
    for (const step of ["metadata-restart", "prepare", "install", "kubeconfig", "mesh-check", "prune"]) {
        if (name.endsWith(`-${step}`)) return step;
    }
    return "other";
}

/**
 * The same remote work scheduled the way other installers run it: one command after another (as k3sup is used, node
 * by node), or Ansible-style with 5 forks (each stage over all hosts in batches of five; stages in order).
 */
export function otherSchedulers(graph: readonly GraphNode[], serverNames: readonly string[]): { sequential: number; fiveForks: number } {
    const commands = graph.filter((node) => SSH_ON_CREATE.includes(node.type));
    const isServer = (name: string) => serverNames.some((server) => name.includes(`-${server}-`));
    const stages: Array<(name: string) => boolean> = [
        (n) => stepOf(n) === "prepare",
        (n) => stepOf(n) === "install" && isServer(n),
        (n) => stepOf(n) === "install" && !isServer(n),
        (n) => stepOf(n) === "kubeconfig",
        (n) => stepOf(n) === "metadata-restart",
        (n) => stepOf(n) === "mesh-check",
    ];
    const fiveForks = stages.reduce((sum, inStage) => sum + Math.ceil(commands.filter((c) => inStage(c.name)).length / 5), 0);
    return { sequential: commands.length, fiveForks };
}

/** Resources whose inputs differ between two evaluations (or exist in only one). */
export function changedResources(before: readonly GraphNode[], after: readonly GraphNode[]): GraphNode[] {
    const old = new Map(before.map((node) => [node.name, node.inputs]));
    const changed = after.filter((node) => old.get(node.name) !== node.inputs);
    const gone = before.filter((node) => !after.some((a) => a.name === node.name));
    return [...changed, ...gone];
}

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Stored inputs per node, in KiB: every resource's inputs as JSON, summed, over the number of nodes. */
export function inputKibPerNode(graph: readonly GraphNode[], nodes: number): number {
    return graph.reduce((sum, node) => sum + Buffer.byteLength(node.inputs), 0) / nodes / 1024;
}

/**
 * SSH sessions the changed resources open when `pulumi up` applies them: one per SSH-opening resource; an upgrade
 * step (a local command's update) asks the node for its fingerprint (one session) and, only when its fingerprint
 * changed, drains through the server, applies on the node and uncordons (one more for a server, three for an agent).
 * A removal step's update runs its create (`true`): none.
 */
export function sshSessionsFor(changed: readonly GraphNode[], before: readonly GraphNode[]): number {
    const old = new Map(before.map((node) => [node.name, node.inputs]));
    const fingerprint = (inputs: string | undefined) => /"K3SMC_FINGERPRINT":"([0-9a-f]+)"/.exec(inputs ?? "")?.[1];
    return changed.reduce((sum, node) => {
        if (SSH_ON_CREATE.includes(node.type)) return sum + 1;
        if (node.type === "command:local:Command" && node.name.endsWith("-upgrade")) {
            if (fingerprint(node.inputs) === fingerprint(old.get(node.name))) return sum + 1;
            return sum + (node.inputs.includes('"K3SMC_DRAIN_COMMAND"') ? 4 : 2);
        }
        return sum;
    }, 0);
}
