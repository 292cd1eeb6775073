import { ConfigError } from "../validation/configError";
import { Ipv4Cidr, cidrContains, parsePodNetworkCidr } from "../validation/addresses";
import { secretShapeOf } from "../validation/secretShapes";
import { AGENT_KEYS, DISABLEABLE_COMPONENTS, SERVER_ONLY_KEYS } from "./k3sFlags";
import { validateRegistryMirrors } from "./registries";
import { ConfigValue } from "./yaml";
import type { InstallMirror, KubeProxyMode, NodeRole } from "../spec/vocabulary";

/** "server" or "agent" (one declaration with the cluster spec's `role`). */
export type K3sRole = NodeRole;
// kube-proxy's mode and where install.sh comes from are declared once, with the cluster spec.
export type { InstallMirror, KubeProxyMode };

/** Cluster-wide k3s options. Every field is optional; the defaults are the safe choice. */
export interface K3sOptions {
    /**
     * kube-proxy mode. Default "iptables". "ipvs" renders `kube-proxy-arg: [proxy-mode=ipvs, masquerade-all=true]`
     * and requires `disable: ["servicelb"]` (see docs/nodes.md, "IPVS needs servicelb disabled").
     */
    readonly kubeProxyMode?: KubeProxyMode;
    /** Packaged components not to deploy, e.g. ["traefik", "servicelb"]. */
    readonly disable?: readonly string[];
    /** Extra names or addresses for the API server certificate; the server's public IP is always included. */
    readonly tlsSans?: readonly string[];
    /** Where to download k3s from. Default "auto": the China mirror for mainland Alibaba regions. */
    readonly installMirror?: InstallMirror;
    /**
     * Further k3s config keys, for what the options above do not cover (e.g. `{"cluster-cidr": "10.52.0.0/16"}`).
     * Checked against the k3s flag list; keys this project renders itself and keys holding secrets are refused.
     */
    readonly extraConfig?: Readonly<Record<string, ConfigValue>>;
    /**
     * What to do on a host whose kernel has no WireGuard. "require" (default): stop with a message saying how to fix
     * it. "upgrade": install the distribution's current kernel (Ubuntu, Debian), reboot, wait for SSH and probe again.
     */
    readonly wireguardKernel?: "require" | "upgrade";
    /** Further k3s config keys for agents; a server-only key here is an error. */
    readonly agentExtraConfig?: Readonly<Record<string, ConfigValue>>;
    /**
     * Registry mirrors of k3s' system images on nodes that install from the China mirror (see `installMirror`),
     * written to their /etc/rancher/k3s/registries.yaml so that only docker.io/rancher/* is ever served by them (see
     * registries.ts), and checked on the node for the pinned version's system images before k3s starts. Default:
     * ["https://registry.cn-hangzhou.aliyuncs.com"].
     */
    readonly chinaRegistryMirrors?: readonly string[];
    /** Allow http:// in `chinaRegistryMirrors`. Default false: over plain http anyone on the path can swap images. */
    readonly insecureRegistryMirrors?: boolean;
    /**
     * Which metrics-server serves `kubectl top`. "packaged" (default): k3s' own, which dials each kubelet on its
     * InternalIP - a private address for nodes behind NAT, which it then cannot reach. "external-ip": k3s' is
     * disabled (a server config change: the servers restart k3s once) and K3sCluster deploys one through its
     * provider that dials kubelets on their public addresses.
     */
    readonly metricsServer?: "packaged" | "external-ip";
}

/**
 * Keys rendered from the options above or from the host: setting them through `extraConfig` would fight the
 * renderer. Each maps to what to use instead.
 */
export const MANAGED_KEYS: Readonly<Record<string, string>> = {
    server: "the cluster sets it from the first server's public IP",
    token: "the cluster's generated token is written to token-file",
    "token-file": "the cluster's generated token is written to token-file",
    "agent-token-file": "the cluster's generated agent token is written to agent-token-file on servers",
    "node-name": "set nodeName on the host",
    "node-ip": "it comes from the host's privateIp",
    "node-external-ip": "it comes from the host's publicIp",
    "flannel-backend": "this project always uses wireguard-native",
    "flannel-external-ip": "this project always sets it on servers",
    "tls-san": "use the tlsSans option",
    disable: "use the disable option",
    "cluster-init": "the cluster sets it on the first of several servers",
    "node-label": "use the cluster's nodeLabels",
    "node-taint": "use the cluster's nodeTaints",
};

/**
 * Keys whose value is a credential: in config.yaml it would show in every preview and PR. (`token` is rendered by
 * this project; `etcd-s3-config-secret` names a Kubernetes secret, not its content.)
 */
const SECRET_KEYS = new Set(["agent-token", "datastore-endpoint", "etcd-s3-secret-key", "etcd-s3-access-key", "etcd-s3-session-token", "vpn-auth"]);

/** A key name that suggests a credential: its value is never repeated, even when the key itself is unknown (a typo). */
const CREDENTIAL_NAME = /token|secret|passw|auth|credential|private|access-key|api-key/i;

/** Validates cluster-wide options once, before any node is rendered. */
export function validateK3sOptions(field: string, options: K3sOptions): void {
    const mode = options.kubeProxyMode ?? "iptables";
    if (mode !== "iptables" && mode !== "ipvs") {
        throw new ConfigError(`${field}.kubeProxyMode`, mode, "is not a kube-proxy mode", `Use "iptables" (default) or "ipvs".`);
    }
    const disable = options.disable ?? [];
    disable.forEach((component, index) => {
        if (!(DISABLEABLE_COMPONENTS as readonly string[]).includes(component)) {
            throw new ConfigError(
                `${field}.disable[${index}]`,
                component,
                "is not a packaged k3s component",
                `Use one of ${DISABLEABLE_COMPONENTS.join(", ")}.`,
            );
        }
    });
    if (mode === "ipvs" && !disable.includes("servicelb")) {
        throw new ConfigError(
            `${field}.kubeProxyMode`,
            "ipvs",
            "IPVS with ServiceLB enabled black-holes traffic between nodes: IPVS binds every LoadBalancer IP to kube-ipvs0 on each node, and ServiceLB publishes the nodes' own IPs as LoadBalancer IPs, so nodes stop reaching each other and go NotReady once a LoadBalancer Service exists (k3s #5000, #7183)",
            `Add "servicelb" to disable (and use another load balancer), or keep kubeProxyMode "iptables".`,
        );
    }
    const kernel = options.wireguardKernel ?? "require";
    if (kernel !== "require" && kernel !== "upgrade") {
        throw new ConfigError(`${field}.wireguardKernel`, kernel, "is not a kernel policy", `Use "require" (default) or "upgrade".`);
    }
    const mirror = options.installMirror ?? "auto";
    if (!["auto", "github", "cn"].includes(mirror)) {
        throw new ConfigError(`${field}.installMirror`, mirror, "is not an install source", `Use "auto", "github" or "cn".`);
    }
    const metrics = options.metricsServer ?? "packaged";
    if (metrics !== "packaged" && metrics !== "external-ip") {
        throw new ConfigError(`${field}.metricsServer`, metrics, "is not a metrics-server choice", `Use "packaged" (default: k3s' own) or "external-ip".`);
    }
    if (options.chinaRegistryMirrors !== undefined) validateRegistryMirrors(`${field}.chinaRegistryMirrors`, options.chinaRegistryMirrors, options.insecureRegistryMirrors === true);
    for (const [key, value] of Object.entries(options.extraConfig ?? {})) {
        validateExtraKey(`${field}.extraConfig`, key, value, "server");
    }
    podNetworks(options, field);
    for (const [key, value] of Object.entries(options.agentExtraConfig ?? {})) {
        validateExtraKey(`${field}.agentExtraConfig`, key, value, "agent");
    }
}

/**
 * The pod and service networks as parsed blocks (k3s' defaults unless `extraConfig` sets them), checked apart and
 * against each other: the host firewall opens k3s' ports to both.
 */
export function podNetworks(options: K3sOptions, field = "options"): { readonly pods: Ipv4Cidr; readonly services: Ipv4Cidr } {
    const extra = options.extraConfig ?? {};
    const pods = parsePodNetworkCidr(`${field}.extraConfig.cluster-cidr`, extra["cluster-cidr"] ?? "10.42.0.0/16", "cluster-cidr");
    const services = parsePodNetworkCidr(`${field}.extraConfig.service-cidr`, extra["service-cidr"] ?? "10.43.0.0/16", "service-cidr");
    if (cidrContains(pods, services) || cidrContains(services, pods)) {
        throw new ConfigError(
            `${field}.extraConfig.service-cidr`,
            extra["service-cidr"] ?? "10.43.0.0/16",
            `overlaps the pod network ${pods.address}/${pods.prefix}`,
            "Give pods and services separate blocks, e.g. cluster-cidr \"10.42.0.0/16\" and service-cidr \"10.43.0.0/16\".",
        );
    }
    return { pods, services };
}

/** Checks one extra config key for the role whose config.yaml it would land in. */
export function validateExtraKey(field: string, key: string, value: ConfigValue, role: K3sRole): void {
    const path = `${field}.${key}`;
    if (key === "flannel-backend") {
        throw new ConfigError(
            path,
            value,
            value === "wireguard"
                ? "the wireguard flannel backend was removed in k3s v1.26"
                : "the flannel backend is not configurable here",
            value === "wireguard"
                ? "Remove it: this project always renders flannel-backend: wireguard-native, its replacement."
                : "Remove it: this project always renders flannel-backend: wireguard-native, the only backend that is encrypted and crosses NAT between clouds (VXLAN would send pod traffic in the clear over the internet).",
        );
    }
    if (key in MANAGED_KEYS) {
        // The token keys hold the cluster's credential: the message never repeats what was given.
        const shown = key === "token" ? "(hidden)" : value;
        throw new ConfigError(path, shown, "is rendered by this project", `Remove it from extraConfig: ${MANAGED_KEYS[key]}.`);
    }
    if (SECRET_KEYS.has(key)) {
        throw new ConfigError(
            path,
            "(hidden)",
            "holds a credential, and config.yaml is shown in plain text in every preview",
            "Put it in a file on the host and use the matching *-file key, or leave it out.",
        );
    }
    // A credential under any other key (a proxy URL with a password, a pasted key) would be rendered all the same.
    const shape = typeof value === "string" ? secretShapeOf(value) : undefined;
    if (shape) {
        throw new ConfigError(
            path,
            "(hidden)",
            `holds what looks like ${shape}, and config.yaml is shown in plain text in every preview`,
            "Put it in a file on the host and use the matching *-file key, or leave it out.",
        );
    }
    const serverOnly = SERVER_ONLY_KEYS.includes(key);
    if (!serverOnly && !AGENT_KEYS.includes(key)) {
        throw new ConfigError(
            path,
            CREDENTIAL_NAME.test(key) ? "(hidden)" : value,
            "is not a k3s configuration key",
            "Use a flag name from `k3s server --help` without the leading dashes, e.g. \"cluster-cidr\".",
        );
    }
    if (serverOnly && role === "agent") {
        throw new ConfigError(
            path,
            value,
            "is a server-only key and this node is an agent",
            "Move it to extraConfig, which applies to servers only.",
        );
    }
}

/** The packaged components a server disables: the user's, and k3s' metrics-server when this project deploys its own. */
export function disabledComponents(options: K3sOptions): string[] {
    const disable = [...(options.disable ?? [])];
    if (options.metricsServer === "external-ip" && !disable.includes("metrics-server")) disable.push("metrics-server");
    return disable;
}
