import * as pulumi from "@pulumi/pulumi";
import { AliyunLightweightServer, ClusterHost, ExistingServer, K3sCluster, VultrServer } from "../components";
import { ConfigError } from "../components/validation/configError";
import { NodeConfig, StackConfig } from "./stackConfig";

/** Reads a secret config value by key (`config.requireSecret` in the real program, a placeholder in the plan). */
export type SecretSource = (key: string) => pulumi.Output<string>;

export interface DeployedStack {
    readonly cluster: K3sCluster;
    readonly hosts: ReadonlyArray<{ readonly config: NodeConfig; readonly host: ClusterHost; readonly component: pulumi.ComponentResource }>;
}

/** The whole program for one stack: a host per configured node, then one cluster over them. */
export function deployStack(
    clusterName: string,
    stack: StackConfig,
    secret: SecretSource,
    deployedK3sVersion?: pulumi.Input<string | undefined>,
): DeployedStack {
    const hosts = stack.nodes.map((node, index) => {
        const component = createHost(node, index, stack, secret);
        return { config: node, host: component.host, component };
    });
    const cluster = new K3sCluster(clusterName, {
        k3sVersion: stack.k3sVersion,
        servers: hosts.filter((h) => h.config.role === "server").map((h) => h.host),
        agents: hosts.filter((h) => h.config.role === "agent").map((h) => h.host),
        options: stack.options,
        nodeAnnotations: stack.nodeAnnotations,
        nodeLabels: stack.nodeLabels,
        nodeTaints: stack.nodeTaints,
        apiAllowedCidrs: stack.apiAllowedCidrs,
        maxUnavailable: stack.maxUnavailable,
        verifyMesh: stack.verifyMesh,
        meshTimeoutSeconds: stack.meshTimeoutSeconds,
        hostFirewall: stack.hostFirewall,
        deployedK3sVersion,
    });
    return { cluster, hosts };
}

function createHost(node: NodeConfig, index: number, stack: StackConfig, secret: SecretSource) {
    // A server's machine is the cluster's CA and datastore: replacing or deleting it orphans every agent. Protected
    // (by default), Pulumi refuses any plan that would, until protectServers is set to false.
    const opts = node.role === "server" && stack.protectServers !== false ? { protect: true } : {};
    switch (node.cloud) {
        case "aliyun":
            return new AliyunLightweightServer(node.name, {
                region: node.region,
                planId: node.planId,
                plan: node.plan,
                imageId: node.imageId,
                image: node.image,
                period: node.period,
                autoRenew: node.autoRenew,
            }, opts);
        case "vultr":
            if (stack.sshPublicKey === undefined) {
                throw new ConfigError(
                    "k3s-multicloud:sshPublicKey",
                    undefined,
                    `is required because nodes[${index}] (${node.name}) is a Vultr server`,
                    "Set it with `pulumi config set sshPublicKey \"$(cat ~/.ssh/id_ed25519.pub)\"` and the private key with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`.",
                );
            }
            return new VultrServer(node.name, {
                region: node.region,
                plan: node.plan,
                osId: node.osId,
                osName: node.osName,
                enableIpv6: node.enableIpv6,
                tags: node.tags,
                sshPublicKey: stack.sshPublicKey,
                sshPrivateKey: secret("sshPrivateKey"),
                sshAllowedCidrs: stack.sshAllowedCidrs,
            }, opts);
        case "existing":
            return new ExistingServer(node.name, {
                publicIp: node.publicIp,
                privateIp: node.privateIp,
                location: node.location,
                user: node.user,
                port: node.port,
                hostKey: node.hostKey,
                insecureIgnoreHostKey: node.insecureIgnoreHostKey,
                ...(node.passwordSecret !== undefined
                    ? { password: secret(node.passwordSecret) }
                    : { privateKey: secret(node.privateKeySecret ?? "sshPrivateKey") }),
            });
    }
}

/** What the stack exports, for `pulumi stack output` and StackReference composition. */
export function stackOutputs(clusterName: string, deployed: DeployedStack) {
    return {
        clusterName,
        kubeconfig: deployed.cluster.kubeconfig,
        apiEndpoint: deployed.cluster.apiEndpoint,
        nodes: deployed.cluster.nodes,
        k3sVersion: deployed.cluster.k3sVersion,
        meshStatus: deployed.cluster.meshStatus,
    };
}
