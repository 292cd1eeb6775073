import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SshConnection } from "../hosts/clusterHost";
import { toolkitCall } from "../toolkit/contract";
import type { NodeRole } from "../spec/vocabulary";
import { checkedAbove } from "../validation/handedDown";
import { validateNodeName } from "../validation/names";
import { FLANNEL_START_KEYS, PATCH_FORCE, PUBLIC_IP_OVERWRITE, restartTrigger, sortKeys, validateNodeMetadata } from "./managedAnnotations";

/** How to restart k3s on the node when an annotation flannel reads at start changes. */
export interface RestartSettings {
    /** The node's SSH connection (secret), e.g. `host.connection`. */
    readonly connection: pulumi.Input<SshConnection>;
    /** Whether the SSH user needs sudo, e.g. `host.sudo`. */
    readonly sudo: boolean;
    /** "server" restarts `k3s`, "agent" restarts `k3s-agent`. */
    readonly role: NodeRole;
    /** More keys whose change needs a restart, besides flannel's public-ip-overwrite keys. */
    readonly restartKeys?: readonly string[];
    /** How long to wait for the node to be Ready again. Default 300 s. */
    readonly readyTimeoutSeconds?: number;
    /** Restarts that must finish first (K3sCluster: the server before this one, so etcd keeps its quorum). */
    readonly after?: readonly pulumi.Resource[];
}

export interface NodeAnnotationsArgs {
    /** The Kubernetes node name. */
    readonly nodeName: string;
    /**
     * Annotations this patch manages (key -> value); removing a key here removes it from the node. Keys given as a
     * plain object are checked before anything is registered; an Output is checked when it resolves.
     */
    readonly annotations: pulumi.Input<Readonly<Record<string, string>>>;
    /** Labels this patch manages. */
    readonly labels?: Readonly<Record<string, string>>;
    /** The cluster's Kubernetes provider. */
    readonly provider: k8s.Provider;
    /**
     * What must exist before the patch: the node's install step. A patch for a Node that has not registered yet would
     * create a bogus Node object.
     */
    readonly registeredBy: pulumi.Resource;
    /** Restart k3s on the node after the patch when a key flannel reads at start changes. */
    readonly restart?: RestartSettings;
}

/**
 * One node's managed annotations and labels as a server-side-apply `NodePatch`: each key shows on its own line in
 * `pulumi preview`, drift shows on `pulumi refresh`, and a key removed here is removed from the node.
 *
 * Ownership is forced (`pulumi.com/patchForce`), because k3s also writes public-ip-overwrite. When a key flannel reads
 * only at start changes, a remote step restarts k3s on that node after the patch; other changes restart nothing.
 */
export class NodeAnnotations extends pulumi.ComponentResource {
    public readonly patch: k8s.core.v1.NodePatch;
    public readonly restart?: command.remote.Command;
    /** The managed annotations, validated and sorted (without the patchForce marker). */
    public readonly annotations: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: NodeAnnotationsArgs, opts?: pulumi.ComponentResourceOptions) {
        // K3sCluster hands its nodes' annotations down checked (at its own field paths); anyone else's are checked here.
        const checked = checkedAbove(args);
        const nodeName = checked ? args.nodeName : validateNodeName(`${name}.nodeName`, args.nodeName);
        const labels = args.labels ?? {};
        if (!checked) validateNodeMetadata(name, pulumi.Output.isInstance(args.annotations) || isPromise(args.annotations) ? {} : args.annotations, labels);
        super("k3s-multicloud:annotations:NodeAnnotations", name, {}, opts);

        const annotations = pulumi.output(args.annotations).apply((values) => {
            if (!checked) validateNodeMetadata(name, values, labels);
            return sortKeys(values);
        });
        this.annotations = annotations;
        this.patch = new k8s.core.v1.NodePatch(
            `${name}-patch`,
            {
                metadata: {
                    name: nodeName,
                    annotations: annotations.apply((values) => ({ ...values, [PATCH_FORCE]: "true" })),
                    labels: args.labels ? sortKeys(labels) : undefined,
                },
            },
            { parent: this, provider: args.provider, dependsOn: [args.registeredBy] },
        );

        if (args.restart) {
            const restart = args.restart;
            const restartKeys = [...FLANNEL_START_KEYS, ...(restart.restartKeys ?? [])];
            // With only flannel's own keys, the step can check what flannel advertises and skip a needless restart.
            const onlyFlannelKeys = (restart.restartKeys ?? []).length === 0;
            this.restart = new command.remote.Command(
                `${name}-restart`,
                {
                    connection: restart.connection,
                    create: annotations.apply((values) =>
                        toolkitCall(
                            "restart",
                            {
                                "node-name": nodeName,
                                role: restart.role,
                                "expected-public-ip": onlyFlannelKeys ? values[PUBLIC_IP_OVERWRITE] : undefined,
                                "ready-timeout": restart.readyTimeoutSeconds ?? 300,
                            },
                            restart.sudo,
                        ),
                    ),
                    addPreviousOutputInEnv: false,
                    // A trigger change replaces the step, so it runs again: only the restart keys are in it.
                    triggers: [annotations.apply((values) => restartTrigger(values, restartKeys))],
                },
                { parent: this, dependsOn: [this.patch, ...(restart.after ?? [])] },
            );
        }
        this.registerOutputs({});
    }
}

function isPromise(value: unknown): value is Promise<unknown> {
    return typeof (value as Promise<unknown> | undefined)?.then === "function";
}
