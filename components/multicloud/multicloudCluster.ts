import * as pulumi from "@pulumi/pulumi";
import { AliyunLightweightServer, AliyunLightweightServerArgs } from "../hosts/aliyunLightweightServer";
import { ClusterHost } from "../hosts/clusterHost";
import { ExistingServer, ExistingServerArgs } from "../hosts/existingServer";
import { VultrServer, VultrServerArgs } from "../hosts/vultrServer";
import { ClusterNodeInfo, K3sCluster } from "../k3s/k3sCluster";
import { MeshNodeStatus } from "../mesh/meshCheck";
import { ConfigError } from "../validation/configError";
import { MulticloudClusterArgs, NodeSpec } from "./clusterSpec";
import { checkClusterSpec, componentSource, expandNodePools, plainViewOf, secretNameOf } from "./validateSpec";

/** A host built for one node of the spec, with the node as it was given (pools expanded). */
export interface SpecHost {
    readonly config: NodeSpec;
    readonly host: ClusterHost;
    readonly component: pulumi.ComponentResource;
}

/** What a MulticloudCluster built, for TypeScript programs that want more than its outputs (see `partsOf`). */
export interface MulticloudClusterParts {
    readonly cluster: K3sCluster;
    readonly hosts: readonly SpecHost[];
}

// Kept beside the component instead of on it: every member of the class is part of the multi-language package schema,
// and a K3sCluster or host component is not a type other languages can receive. Nor is the cluster's k8s.Provider:
// Pulumi 3.248's analyzer writes it as "/kubernetes/v4.34.2/schema.json#/resources/kubernetes", and the real CLI's
// `pulumi package gen-sdk` then refuses the schema for every language ("resource type kubernetes not found in
// package kubernetes"). Other languages build their provider from the `kubeconfig` output; TypeScript has partsOf.
const built = new WeakMap<MulticloudCluster, MulticloudClusterParts>();

/**
 * One k3s cluster from a data-only description: the same spec as the stack config (clusterSpec.ts), with a host per
 * node (Alibaba lightweight server, Vultr instance, or an existing server) and one K3sCluster over them. It is the
 * component the multi-language package publishes (Python, Go, .NET, YAML); TypeScript programs can use it too, or
 * compose the hosts and K3sCluster themselves.
 */
export class MulticloudCluster extends pulumi.ComponentResource {
    /** Admin kubeconfig pointing at the first server's public IP; secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** https://<first server's public IP>:6443 */
    public readonly apiEndpoint: pulumi.Output<string>;
    /** The k3s version the cluster runs after this update. */
    public readonly k3sVersion: pulumi.Output<string>;
    /** Every node: name, cloud, location, role, addresses. */
    public readonly nodes: pulumi.Output<ClusterNodeInfo[]>;
    /** Per node: the WireGuard peers it sees and any findings of the mesh check. */
    public readonly meshStatus: pulumi.Output<MeshNodeStatus[]>;

    constructor(name: string, args: MulticloudClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k3s-multicloud:index:MulticloudCluster", name, {}, opts);
        const source = componentSource(name);
        checkClusterSpec(plainViewOf(args, source), source);
        const nodes = expandNodePools(args.nodes);

        // Release 0.2 built the hosts and the cluster as siblings of this component (the stack program made them at its
        // top level); the alias keeps those URNs, so an upgrade adopts them instead of replacing every machine.
        const children = { parent: this, aliases: [{ parent: opts?.parent ?? pulumi.rootStackResource }] };
        const secret = secretsOf(name, args);
        const hosts = nodes.map((node, index): SpecHost => {
            const component = createHost(node, index, args, secret, children);
            return { config: node, host: component.host, component };
        });
        const cluster = new K3sCluster(
            name,
            {
                k3sVersion: args.k3sVersion,
                servers: hosts.filter((h) => h.config.role === "server").map((h) => h.host),
                agents: hosts.filter((h) => h.config.role === "agent").map((h) => h.host),
                options: args.options,
                nodeAnnotations: args.nodeAnnotations,
                nodeLabels: args.nodeLabels,
                nodeTaints: args.nodeTaints,
                apiAllowedCidrs: args.apiAllowedCidrs,
                vultrFirewallRuleLimit: args.vultrFirewallRuleLimit,
                caGeneration: args.caGeneration,
                adminCredentialGeneration: args.adminCredentialGeneration,
                maxUnavailable: args.maxUnavailable,
                verifyMesh: args.verifyMesh,
                meshTimeoutSeconds: args.meshTimeoutSeconds,
                hostFirewall: args.hostFirewall,
                podMetadataAccess: args.podMetadataAccess,
                deployedK3sVersion: args.deployedK3sVersion,
                // Given in secrets (stack config: k3s-multicloud:k3sToken, k3sAgentToken), else generated as before.
                token: optionalSecret(args, "k3sToken"),
                agentToken: optionalSecret(args, "k3sAgentToken"),
            },
            children,
        );
        built.set(this, { cluster, hosts });
        this.kubeconfig = cluster.kubeconfig;
        this.apiEndpoint = cluster.apiEndpoint;
        this.k3sVersion = cluster.k3sVersion;
        this.nodes = cluster.nodes;
        this.meshStatus = cluster.meshStatus;
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            apiEndpoint: this.apiEndpoint,
            k3sVersion: this.k3sVersion,
            nodes: this.nodes,
            meshStatus: this.meshStatus,
        });
    }
}

/** The hosts and the K3sCluster a MulticloudCluster built (its `provider`, per-node steps), for TypeScript programs. */
export function partsOf(cluster: MulticloudCluster): MulticloudClusterParts {
    return built.get(cluster)!;
}

export { secretNameOf };

type SecretNamed = (key: string, usedBy: string) => pulumi.Output<string>;

/**
 * A secret that may be absent: the cluster's tokens. Only a plain secrets map can say whether it is there when the
 * program runs (whether to generate one decides which resources exist); a map delivered as one output leaves them
 * generated.
 */
function optionalSecret(args: MulticloudClusterArgs, key: "k3sToken" | "k3sAgentToken"): pulumi.Output<string> | undefined {
    const secrets = args.secrets;
    if (secrets === undefined || pulumi.Output.isInstance(secrets)) return undefined;
    const value = (secrets as Record<string, pulumi.Input<string> | undefined>)[key];
    return value === undefined ? undefined : pulumi.secret(value);
}

/**
 * The secrets nodes name, by name, marked secret. A name nobody gave is an error naming the node that needs it -
 * checked now when the map is known, at deployment when the map itself is an output.
 */
function secretsOf(name: string, args: MulticloudClusterArgs): SecretNamed {
    const missing = (key: string, usedBy: string) =>
        new ConfigError(
            `MulticloudCluster(${name}).secrets.${key}`,
            undefined,
            `is needed by ${usedBy}`,
            `Give it: in a stack, \`pulumi config set --secret k3s-multicloud:${key} < ~/.ssh/id_ed25519\`; in a program, secrets: {${key}: ...}.`,
        );
    return (key, usedBy) => {
        const secrets = args.secrets;
        if (secrets !== undefined && !pulumi.Output.isInstance(secrets)) {
            const value = (secrets as Record<string, pulumi.Input<string> | undefined>)[key];
            if (value === undefined) throw missing(key, usedBy);
            return pulumi.secret(value);
        }
        if (secrets === undefined) throw missing(key, usedBy);
        return pulumi.secret(
            // A construct call from another language may deliver the whole map as one (secret) output.
            (secrets as unknown as pulumi.Output<Record<string, string | undefined>>).apply((all) => {
                const value = all[key];
                if (value === undefined) throw missing(key, usedBy);
                return value;
            }),
        );
    };
}

function createHost(
    node: NodeSpec,
    index: number,
    spec: MulticloudClusterArgs,
    secret: SecretNamed,
    children: pulumi.ComponentResourceOptions,
) {
    // A server's machine is the cluster's CA and datastore: replacing or deleting it orphans every agent. Protected
    // (by default), Pulumi refuses any plan that would, until protectServers is set to false.
    const opts = node.role === "server" && spec.protectServers !== false ? { ...children, protect: true } : children;
    const usedBy = `nodes[${index}] (${node.name})`;
    switch (node.cloud) {
        case "aliyun":
            return new AliyunLightweightServer(
                node.name,
                {
                    region: node.region!,
                    planId: node.planId,
                    planSize: node.planSize,
                    imageId: node.imageId,
                    image: node.image,
                    period: node.period,
                    autoRenew: node.autoRenew,
                    hostKeyGeneration: node.hostKeyGeneration,
                    // checkClusterSpec has required one plan and one image choice; the types cannot see it.
                } as AliyunLightweightServerArgs,
                opts,
            );
        case "vultr":
            // sshPublicKey is required by the spec's schema as soon as a node is on Vultr.
            return new VultrServer(
                node.name,
                {
                    region: node.region!,
                    plan: node.plan!,
                    osId: node.osId,
                    osName: node.osName,
                    enableIpv6: node.enableIpv6,
                    tags: node.tags,
                    sshPublicKey: spec.sshPublicKey!,
                    sshPrivateKey: secret(secretNameOf(node)!, usedBy),
                    sshAllowedCidrs: spec.sshAllowedCidrs,
                    // checkClusterSpec has required one of osId and osName.
                } as VultrServerArgs,
                opts,
            );
        case "existing": {
            const credential = secret(secretNameOf(node)!, usedBy);
            return new ExistingServer(
                node.name,
                {
                    publicIp: node.publicIp!,
                    privateIp: node.privateIp,
                    behindNat: node.behindNat,
                    location: node.location!,
                    user: node.user,
                    port: node.port,
                    hostKey: node.hostKey,
                    insecureIgnoreHostKey: node.insecureIgnoreHostKey,
                    ...(node.passwordSecret !== undefined ? { password: credential } : { privateKey: credential }),
                    // checkClusterSpec has required one host-key choice of the node; the types cannot see it.
                } as ExistingServerArgs,
                // Existing servers were never protected: nothing to buy back, and removing one must stay possible.
                children,
            );
        }
    }
}
