import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * A second project composing the cluster, as docs/library.md shows it: it reads the cluster stack's kubeconfig
 * through a StackReference and deploys a ConfigMap with a provider built from it (config `k3smc-consumer:clusterStack`).
 */
export default function consumerProgram(): Record<string, pulumi.Output<unknown>> {
    const config = new pulumi.Config();
    const cluster = new pulumi.StackReference(config.require("clusterStack"));
    const provider = new k8s.Provider("cluster", { kubeconfig: cluster.requireOutput("kubeconfig") as pulumi.Output<string> });
    const map = new k8s.core.v1.ConfigMap(
        "composed",
        {
            metadata: {
                name: "k3smc-composed",
                namespace: "default",
                // The lab's API server runs no controllers, so no garbage collector removes the foregroundDeletion
                // finalizer the provider's default (foreground) delete sets: the destroy would wait 10 minutes. A real
                // cluster needs no such line.
                annotations: { "pulumi.com/deletionPropagationPolicy": "background" },
            },
            data: { from: "a second stack, through the cluster's kubeconfig output" },
        },
        { provider },
    );
    return { configMap: map.metadata.name };
}
