import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * The cluster's Kubernetes provider, built from the server's kubeconfig (secret). `clusterIdentifier` is a fixed
 * string, so a kubeconfig that becomes unknown in a later preview (e.g. while the server is updated) is an update of
 * the provider, not a replacement that would plan a replace of every resource it manages.
 */
export function clusterProvider(
    name: string,
    kubeconfig: pulumi.Output<string>,
    clusterIdentifier: string,
    parent: pulumi.Resource,
): k8s.Provider {
    return new k8s.Provider(
        `${name}-k8s`,
        {
            kubeconfig: pulumi.secret(kubeconfig),
            clusterIdentifier,
            // `pulumi destroy` must not hang on a cluster whose servers are already gone.
            deleteUnreachable: true,
        },
        { parent },
    );
}
