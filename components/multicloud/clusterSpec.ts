import * as pulumi from "@pulumi/pulumi";

/*
 * THE declaration of a multicloud cluster: the stack config (stacks/Pulumi.<stack>.yaml, namespace k3s-multicloud)
 * and the inputs of the MulticloudCluster component are these interfaces. From them come the TypeScript types, the
 * JSON Schema (clusterSpec.schema.json: editors and the runtime check), the config table of docs/configuration.md and, through
 * Pulumi's component analyzer, the package schema other languages are generated from.
 *
 * So they stay inside what that analyzer accepts: named interfaces, mutable arrays, string-keyed maps, Input<>
 * primitives, and choices as `as const` objects. Constraints the TypeScript types cannot carry are JSDoc tags that
 * the schema generator (tests/tools/writeSpecSchema.ts) reads:
 *   @clouds a b     the node setting applies to those clouds only
 *   @requiredFor a  the node setting is required for that cloud
 *   @minimum N / @maximum N / @integer / @minItems N / @default V / @example V
 *   @contains S     a list must hold at least one entry that matches the JSON Schema S
 */

// The spec's words live one room down, for everything to use; the spec re-exports them.
import { InstallMirror, KubeProxyMode, MetricsServerChoice, NodeCloud, NodeRole, WireguardKernel } from "../spec/vocabulary";
export { InstallMirror, KubeProxyMode, MetricsServerChoice, NodeCloud, NodeRole, WireguardKernel };

/** An Alibaba lightweight server plan chosen by size (plan ids differ between regions). */
export interface AliyunPlanSize {
    /**
     * vCPUs.
     * @example 2
     * @integer
     * @minimum 1
     * @maximum 128
     */
    core: number;
    /**
     * Memory in GiB.
     * @example 2
     * @minimum 0.5
     * @maximum 1024
     */
    memory: number;
    /**
     * Peak bandwidth in Mbit/s.
     * @integer
     * @minimum 1
     * @maximum 10000
     */
    bandwidth?: number;
    /**
     * System disk in GiB.
     * @integer
     * @minimum 1
     * @maximum 10000
     */
    diskSize?: number;
}

/** An Alibaba image chosen by name. */
export interface AliyunImageLookup {
    /**
     * Regular expression over the image names; the first match is used.
     * @example ^Ubuntu-22.04
     */
    nameRegex: string;
}

/** One node, or a pool of identical nodes (`count`). Which settings apply depends on `cloud`. */
export interface NodeSpec {
    /**
     * The node's name (Kubernetes node name and resource name): lowercase letters, digits and '-'. With `count`, the
     * pool's nodes are named `<name>-1` to `<name>-<count>`.
     * @example tokyo-1
     */
    name: string;
    /** "server" or "agent". */
    role: NodeRole;
    /** "aliyun", "vultr" or "existing". */
    cloud: NodeCloud;
    /**
     * Make this entry a pool of that many nodes with the same settings.
     * @example 3
     * @integer
     * @minimum 1
     * @maximum 500
     */
    count?: number;
    /**
     * The cloud region, e.g. cn-hangzhou (Alibaba) or nrt (Vultr).
     * @clouds aliyun vultr
     * @requiredFor aliyun vultr
     * @example nrt
     */
    region?: string;
    /**
     * Alibaba lightweight server plan id, e.g. swas.s2.c2m4s60b5t1. Give this or `planSize`.
     * @clouds aliyun
     */
    planId?: string;
    /**
     * Alibaba lightweight server plan by size. Give this or `planId`.
     * @clouds aliyun
     */
    planSize?: AliyunPlanSize;
    /**
     * Alibaba image id. Give this or `image`.
     * @clouds aliyun
     */
    imageId?: string;
    /**
     * Alibaba image by name. Give this or `imageId`.
     * @clouds aliyun
     */
    image?: AliyunImageLookup;
    /**
     * Prepaid months of an Alibaba lightweight server.
     * @clouds aliyun
     * @integer
     * @oneOfValues [1, 3, 6, 12, 24, 36]
     * @default 1
     */
    period?: number;
    /**
     * Renew the Alibaba lightweight server automatically.
     * @clouds aliyun
     * @default false
     */
    autoRenew?: boolean;
    /**
     * Raise by one after reinstalling the Alibaba lightweight server in place ("reset system"): its SSH host key is
     * learned again and the node rejoins as a new machine (docs/operations.md, "A host key that changed").
     * @clouds aliyun
     * @integer
     * @minimum 0
     * @maximum 1000
     * @default 0
     */
    hostKeyGeneration?: number;
    /**
     * Vultr plan id, e.g. vc2-1c-2gb.
     * @clouds vultr
     * @requiredFor vultr
     * @example vc2-1c-2gb
     */
    plan?: string;
    /**
     * Vultr operating system id, e.g. 2284 (Ubuntu 24.04). Give this or `osName`.
     * @example 2284
     * @clouds vultr
     * @integer
     * @minimum 1
     * @maximum 1000000
     */
    osId?: number;
    /**
     * Vultr operating system by name, e.g. "Ubuntu 24.04 LTS x64".
     * @clouds vultr
     */
    osName?: string;
    /**
     * Give the Vultr instance an IPv6 address.
     * @clouds vultr
     * @default false
     */
    enableIpv6?: boolean;
    /**
     * Vultr instance tags.
     * @clouds vultr
     */
    tags?: string[];
    /**
     * The existing server's public IPv4 address (where SSH and the other nodes reach it).
     * @clouds existing
     * @requiredFor existing
     * @example 203.0.113.10
     */
    publicIp?: pulumi.Input<string>;
    /**
     * Its address on its own network, when it sits behind NAT (e.g. a home router). Default: the public IP.
     * @clouds existing
     */
    privateIp?: pulumi.Input<string>;
    /**
     * Whether it sits behind NAT; needed only when an address is not known until deployment.
     * @clouds existing
     */
    behindNat?: boolean;
    /**
     * Where it is (the node's location label), e.g. home-lab.
     * @clouds existing
     * @requiredFor existing
     * @example home-lab
     */
    location?: string;
    /**
     * SSH login user (root, or a user with passwordless sudo).
     * @clouds existing
     * @default root
     */
    user?: string;
    /**
     * SSH port.
     * @clouds existing
     * @integer
     * @minimum 1
     * @maximum 65535
     * @default 22
     */
    port?: number;
    /**
     * Its SSH host key (the line of /etc/ssh/ssh_host_ed25519_key.pub), pinned for every session; required unless
     * insecureIgnoreHostKey.
     * @clouds existing
     */
    hostKey?: pulumi.Input<string>;
    /**
     * Connect without checking the host key (every preview warns).
     * @clouds existing
     * @default false
     */
    insecureIgnoreHostKey?: boolean;
    /**
     * Name of the secret holding its SSH private key.
     * @clouds existing
     * @default sshPrivateKey
     */
    privateKeySecret?: string;
    /**
     * Name of the secret holding its SSH password (instead of a key).
     * @clouds existing
     */
    passwordSecret?: string;
}

/** Cluster-wide k3s options. Every field is optional; the defaults are the safe choice. */
export interface ClusterOptionsSpec {
    /**
     * kube-proxy mode; "ipvs" requires disable: [servicelb].
     * @default iptables
     */
    kubeProxyMode?: KubeProxyMode;
    /**
     * Packaged k3s components not to deploy, e.g. [traefik, servicelb].
     */
    disable?: string[];
    /** Extra names or addresses for the API server certificate (the server's public IP is always in it). */
    tlsSans?: string[];
    /**
     * Where k3s is downloaded from.
     * @default auto
     */
    installMirror?: InstallMirror;
    /**
     * What to do on a host without WireGuard in its kernel.
     * @default require
     */
    wireguardKernel?: WireguardKernel;
    /** Further k3s config keys for servers (checked against k3s' flags), e.g. {cluster-cidr: 10.52.0.0/16}. */
    extraConfig?: { [key: string]: any };
    /** Further k3s config keys for agents. */
    agentExtraConfig?: { [key: string]: any };
    /** Mirrors of k3s' system images (docker.io/rancher/*, nothing else) for nodes that install from the China mirror. Default: Alibaba's Hangzhou registry. */
    chinaRegistryMirrors?: string[];
    /**
     * Allow http:// in chinaRegistryMirrors. Off by default: over plain http anyone on the path can swap the images a
     * node pulls.
     * @default false
     */
    insecureRegistryMirrors?: boolean;
    /**
     * Which metrics-server serves `kubectl top`.
     * @default packaged
     */
    metricsServer?: MetricsServerChoice;
}

/** Everything a multicloud cluster is made of: the stack config, and the MulticloudCluster component's inputs. */
export interface ClusterSpec {
    /**
     * The pinned k3s release for every node.
     * @example v1.33.6+k3s1
     */
    k3sVersion: string;
    /**
     * The nodes: one server (or several in one place) and any agents, in any cloud.
     * @minItems 1
     * @contains {"type": "object", "properties": {"role": {"const": "server"}}, "required": ["role"]}
     */
    nodes: NodeSpec[];
    /** Cluster-wide k3s options. */
    options?: ClusterOptionsSpec;
    /**
     * The OpenSSH public key installed on Vultr servers (its private key is the secret `sshPrivateKey`); required
     * when a node is on Vultr.
     * @example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... ops@example
     */
    sshPublicKey?: string;
    /**
     * Who may reach SSH on Vultr servers (their cloud firewall).
     * @default ["0.0.0.0/0"]
     */
    sshAllowedCidrs?: string[];
    /**
     * Who may reach the Kubernetes API (6443/tcp) besides the nodes: enforced by every node's host firewall and by
     * Vultr's cloud firewall (SWAS rules made through Pulumi cannot filter by source: the SWAS API can, the provider's rule cannot).
     * @default ["0.0.0.0/0"]
     */
    apiAllowedCidrs?: string[];
    /**
     * How many rules a Vultr firewall group holds (Vultr's max_rule_count; raise it only if Vultr raised your
     * account's limit). Each Vultr server's rules are planned within it: past it WireGuard and then the kubelet open
     * to anywhere instead of per peer; the API and etcd never do.
     * @integer
     * @minimum 1
     * @maximum 1000
     * @default 50
     */
    vultrFirewallRuleLimit?: number;
    /**
     * Raise by one after rotating the cluster CA by hand (`k3s certificate rotate-ca` on the server): the CA hash is
     * read again and every agent's join token carries the new one.
     * @integer
     * @minimum 0
     * @maximum 1000
     * @default 0
     */
    caGeneration?: number;
    /**
     * Raise by one to revoke the admin kubeconfig and issue a new one: its identity is the user
     * k3s-multicloud-admin-<N>, and cluster-admin is bound to that user alone (docs/operations.md, "The kubeconfig").
     * @integer
     * @minimum 1
     * @maximum 1000
     * @default 1
     */
    adminCredentialGeneration?: number;
    /** Annotations per node name, managed as resources (e.g. {tokyo-1: {example.com/owner: ops}}). */
    nodeAnnotations?: { [node: string]: { [key: string]: string } };
    /** Labels per node name, managed as resources. */
    nodeLabels?: { [node: string]: { [key: string]: string } };
    /** Taints per node name, applied when the node registers (e.g. {home-1: [dedicated=home:NoSchedule]}). */
    nodeTaints?: { [node: string]: string[] };
    /**
     * How many agents an upgrade drains at once.
     * @integer
     * @minimum 1
     * @maximum 500
     * @default 1
     */
    maxUnavailable?: number;
    /**
     * Check on every node that the WireGuard mesh formed.
     * @default true
     */
    verifyMesh?: boolean;
    /**
     * How long each node's mesh check waits for handshakes, in seconds.
     * @integer
     * @minimum 1
     * @maximum 3600
     * @default 180
     */
    meshTimeoutSeconds?: number;
    /**
     * Program the host firewall (nftables, and ufw where active) on every node: k3s' ports open to the cluster's
     * members only (docs/security.md, "Ports").
     * @default true
     */
    hostFirewall?: boolean;
    /**
     * Let pods reach the cloud's instance metadata service (169.254.169.254; Alibaba's 100.100.100.200). Off by
     * default: Vultr serves user-data there, with the SSH host key this stack generated for the server
     * (docs/security.md, "Security model"). Needs hostFirewall.
     * @default false
     */
    podMetadataAccess?: boolean;
    /**
     * Protect the servers' machines: Pulumi refuses a plan that would replace or delete one (a new server machine is a
     * new cluster CA and datastore, which orphans every agent). Set false for a deliberate replacement or a destroy.
     * @default true
     */
    protectServers?: boolean;
}

/** The MulticloudCluster component's inputs: the cluster spec, plus the secrets its nodes name. */
export interface MulticloudClusterArgs extends ClusterSpec {
    /**
     * SSH private keys and passwords by name: `sshPrivateKey` for Vultr servers (and existing ones by default), and
     * any name an existing node gives in privateKeySecret or passwordSecret. Optionally `k3sToken` and
     * `k3sAgentToken`: the cluster's tokens, generated when absent (give them only for a new cluster). Marked secret.
     */
    secrets?: { [name: string]: pulumi.Input<string> };
    /**
     * The k3s version the cluster runs now (e.g. the stack's own previous output): an older k3sVersion is refused,
     * since k3s does not support downgrades.
     */
    deployedK3sVersion?: pulumi.Input<string>;
}
