/*
 * The words of the cluster spec: node roles, clouds and the modes a cluster can run in. They sit in this low room so
 * that every component (hosts, k3s, annotations) can name them without importing the spec of the whole cluster
 * (components/multicloud/clusterSpec.ts), which builds on all of them and re-exports these.
 *
 * Each choice is an `as const` object and its union type of the same name: the form Pulumi's component analyzer turns
 * into an enum for other languages, and the spec schema generator (tests/tools/specSchema.ts) reads, doc comments
 * included.
 */

/** A node's part in the cluster. */
export const NodeRole = {
    /** Control plane: API server, datastore and scheduler (and it runs workloads). */
    Server: "server",
    /** Worker: runs workloads, joins with the agent token. */
    Agent: "agent",
} as const;
export type NodeRole = (typeof NodeRole)[keyof typeof NodeRole];

/** Where a node's machine comes from. */
export const NodeCloud = {
    /** An Alibaba Cloud lightweight server (SWAS), bought by this program. */
    Aliyun: "aliyun",
    /** A Vultr instance, created by this program. */
    Vultr: "vultr",
    /** A server you already have, reached over SSH. */
    Existing: "existing",
} as const;
export type NodeCloud = (typeof NodeCloud)[keyof typeof NodeCloud];

/** kube-proxy's mode. */
export const KubeProxyMode = {
    Iptables: "iptables",
    /** Requires `disable: [servicelb]` (docs/nodes.md, "IPVS needs servicelb disabled"). */
    Ipvs: "ipvs",
} as const;
export type KubeProxyMode = (typeof KubeProxyMode)[keyof typeof KubeProxyMode];

/** Where k3s is downloaded from. */
export const InstallMirror = {
    /** The China mirror for mainland Alibaba regions, GitHub elsewhere. */
    Auto: "auto",
    Github: "github",
    Cn: "cn",
} as const;
export type InstallMirror = (typeof InstallMirror)[keyof typeof InstallMirror];

/** What to do on a host whose kernel has no WireGuard. */
export const WireguardKernel = {
    /** Stop with a message that says how to fix it. */
    Require: "require",
    /** Install the distribution's current kernel (Ubuntu, Debian), reboot, and probe again. */
    Upgrade: "upgrade",
} as const;
export type WireguardKernel = (typeof WireguardKernel)[keyof typeof WireguardKernel];

/** Which metrics-server serves `kubectl top`. */
export const MetricsServerChoice = {
    /** k3s' own; it cannot reach kubelets of nodes behind NAT. */
    Packaged: "packaged",
    /** One that dials kubelets on their public addresses (the servers restart k3s once to turn k3s' own off). */
    ExternalIp: "external-ip",
} as const;
export type MetricsServerChoice = (typeof MetricsServerChoice)[keyof typeof MetricsServerChoice];
