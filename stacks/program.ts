import * as pulumi from "@pulumi/pulumi";
import { K3sCluster } from "../components";
import { MulticloudCluster, partsOf, secretNameOf, SpecHost } from "../components/multicloud/multicloudCluster";
import { NodeSpec } from "../components/multicloud/clusterSpec";
import { StackConfig } from "./stackConfig";

/** Reads a secret config value by key (`config.requireSecret` in the real program, a placeholder in the plan). */
export type SecretSource = (key: string) => pulumi.Output<string>;

export interface DeployedStack {
    /** The data-only component the stack is. */
    readonly component: MulticloudCluster;
    readonly cluster: K3sCluster;
    readonly hosts: readonly SpecHost[];
}

/** The whole program for one stack: one MulticloudCluster named after the stack, from the stack's config. */
export function deployStack(
    clusterName: string,
    stack: StackConfig,
    secret: SecretSource,
    deployedK3sVersion?: pulumi.Input<string | undefined>,
    /** Reads a secret that may be absent (the cluster's tokens); undefined when the stack does not set it. */
    optionalSecret: (key: string) => pulumi.Output<string> | undefined = () => undefined,
): DeployedStack {
    const secrets: Record<string, pulumi.Output<string>> = Object.fromEntries(secretNamesOf(stack.nodes).map((key) => [key, secret(key)]));
    for (const key of OPTIONAL_SECRETS) {
        const value = optionalSecret(key);
        if (value !== undefined) secrets[key] = value;
    }
    const component = new MulticloudCluster(clusterName, {
        ...stack,
        secrets,
        deployedK3sVersion: deployedK3sVersion as pulumi.Input<string> | undefined,
    });
    return { component, ...partsOf(component) };
}

/** Encrypted config keys the stack may set: the cluster's tokens (generated when absent). */
export const OPTIONAL_SECRETS = ["k3sToken", "k3sAgentToken"] as const;

/** The encrypted config keys the nodes need, each once. */
export function secretNamesOf(nodes: readonly NodeSpec[]): string[] {
    return [...new Set(nodes.map(secretNameOf).filter((name): name is string => name !== undefined))];
}

/** What the stack exports, for `pulumi stack output` and StackReference composition. */
export function stackOutputs(clusterName: string, deployed: DeployedStack) {
    return {
        clusterName,
        kubeconfig: deployed.component.kubeconfig,
        apiEndpoint: deployed.component.apiEndpoint,
        nodes: deployed.component.nodes,
        k3sVersion: deployed.component.k3sVersion,
        meshStatus: deployed.component.meshStatus,
    };
}
