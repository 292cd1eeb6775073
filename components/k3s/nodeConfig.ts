import { K3sOptions, K3sRole, disabledComponents } from "./options";
import { ConfigValue, yamlEntry } from "./yaml";

/** Where the install script writes the join token (fed through stdin, never rendered). */
export const TOKEN_FILE = "/etc/rancher/k3s/cluster-token";
/** Servers: the agent token, the one credential agents are given (written by the install step from stdin). */
export const AGENT_TOKEN_FILE = "/etc/rancher/k3s/agent-token";

/** Everything that decides one node's config.yaml, as plain resolved values. */
export interface NodeConfigInput {
    readonly role: K3sRole;
    readonly nodeName: string;
    /** Address on the NIC (node-ip). */
    readonly privateIp: string;
    /** Address the other clouds reach (node-external-ip, and the first tls-san of a server). */
    readonly publicIp: string;
    /** Agents, and servers joining an existing server: https://<server public ip>:6443. */
    readonly serverUrl?: string;
    /** The first server of a multi-server cluster starts embedded etcd. */
    readonly clusterInit?: boolean;
    /** Labels applied when the node registers (k3s only applies them once). */
    readonly nodeLabels?: Readonly<Record<string, string>>;
    /** Taints applied when the node registers, e.g. "dedicated=edge:NoSchedule". */
    readonly nodeTaints?: readonly string[];
    readonly options: K3sOptions;
}

const HEADER =
    "# Rendered by k3s-multicloud. Edits on the host are overwritten by the next `pulumi up`; change the stack instead.";

/**
 * Renders /etc/rancher/k3s/config.yaml for one node. Pure and deterministic: the same input gives the same bytes,
 * so an unchanged stack plans no change and runs no command.
 *
 * Every node advertises its public IP as node-external-ip; servers set flannel-external-ip so flannel builds the
 * WireGuard mesh on public addresses (nodes behind NAT are reachable on nothing else), and use wireguard-native so
 * pod traffic crossing the internet is encrypted. Validation of the options happens before rendering
 * (validateK3sOptions).
 */
export function renderNodeConfig(input: NodeConfigInput): string {
    const entries: Array<[string, ConfigValue]> = [];
    const isServer = input.role === "server";
    if (input.serverUrl !== undefined) entries.push(["server", input.serverUrl]);
    entries.push(["token-file", TOKEN_FILE]);
    if (isServer) entries.push(["agent-token-file", AGENT_TOKEN_FILE]);
    entries.push(["node-name", input.nodeName]);
    entries.push(["node-ip", input.privateIp]);
    entries.push(["node-external-ip", input.publicIp]);
    if (isServer) {
        if (input.clusterInit) entries.push(["cluster-init", true]);
        entries.push(["flannel-backend", "wireguard-native"]);
        entries.push(["flannel-external-ip", true]);
        entries.push(["tls-san", unique([input.publicIp, ...(input.options.tlsSans ?? [])])]);
        const disable = disabledComponents(input.options);
        if (disable.length > 0) entries.push(["disable", [...disable].sort()]);
    }
    if ((input.options.kubeProxyMode ?? "iptables") === "ipvs") {
        entries.push(["kube-proxy-arg", ["proxy-mode=ipvs", "masquerade-all=true"]]);
    }
    const labels = Object.entries(input.nodeLabels ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (labels.length > 0) entries.push(["node-label", labels.map(([key, value]) => `${key}=${value}`)]);
    if (input.nodeTaints && input.nodeTaints.length > 0) entries.push(["node-taint", [...input.nodeTaints]]);
    const extra = (isServer ? input.options.extraConfig : input.options.agentExtraConfig) ?? {};
    for (const key of Object.keys(extra).sort()) entries.push([key, extra[key]]);

    return [HEADER, ...entries.map(([key, value]) => yamlEntry(key, value))].join("\n") + "\n";
}

function unique(values: readonly string[]): string[] {
    return [...new Set(values)];
}

/** The URL agents (and joining servers) use: the server's public IP, since agents may sit in another cloud. */
export function serverUrlFor(serverPublicIp: string): string {
    return `https://${serverPublicIp}:6443`;
}
