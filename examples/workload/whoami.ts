import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { K3sCluster } from "k3s-multicloud";

/**
 * A small workload on a k3s-multicloud cluster: a Deployment spread over the clouds and a NodePort Service. Every
 * resource goes through `cluster.provider`, so it waits for the cluster and uses its kubeconfig.
 */
export function deployWhoami(cluster: K3sCluster, replicas = 3) {
    const opts: pulumi.CustomResourceOptions = { provider: cluster.provider };
    const labels = { app: "whoami" };
    const namespace = new k8s.core.v1.Namespace("whoami", { metadata: { name: "whoami" } }, opts);
    const deployment = new k8s.apps.v1.Deployment(
        "whoami",
        {
            metadata: { namespace: namespace.metadata.name },
            spec: {
                replicas,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        // One replica per cloud where possible: the label comes from K3sCluster's managed node labels.
                        topologySpreadConstraints: [
                            { maxSkew: 1, topologyKey: "k3s-multicloud/cloud", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } },
                        ],
                        containers: [{ name: "whoami", image: "traefik/whoami:v1.10", ports: [{ containerPort: 80 }] }],
                    },
                },
            },
        },
        opts,
    );
    const service = new k8s.core.v1.Service(
        "whoami",
        {
            metadata: { namespace: namespace.metadata.name },
            spec: { type: "NodePort", selector: labels, ports: [{ port: 80, targetPort: 80, nodePort: 30080 }] },
        },
        opts,
    );
    return { namespace, deployment, service };
}
