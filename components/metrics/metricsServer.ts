import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * The image of the metrics-server this project deploys: the copy k3s itself ships (docker.io/rancher/...), so mainland
 * nodes pull it through the same registry mirrors as the system images (their registries.yaml).
 */
export const METRICS_SERVER_IMAGE = "docker.io/rancher/mirrored-metrics-server:v0.7.2";

/**
 * How the deployed metrics-server reaches each kubelet: ExternalIP first. k3s' packaged one prefers InternalIP, which
 * behind a 1:1 NAT or at home is a private address no other cloud can reach, so `kubectl top` misses those nodes. k3s
 * puts node-external-ip in each kubelet's serving certificate (since 1.21/1.22, k3s #4620), so TLS verification stays
 * on. The kubelet port (10250) is open to cluster members only (host firewall), and metrics-server's pod reaches it
 * from its node's public address.
 */
export const METRICS_SERVER_ARGS: readonly string[] = [
    "--cert-dir=/tmp",
    "--secure-port=10250",
    "--kubelet-preferred-address-types=ExternalIP,InternalIP,Hostname",
    "--kubelet-use-node-status-port",
    "--metric-resolution=15s",
];

export interface MetricsServerArgs {
    /** The cluster's Kubernetes provider. */
    readonly provider: k8s.Provider;
    /** Default: METRICS_SERVER_IMAGE. */
    readonly image?: string;
    /**
     * What must finish before any object is created: the servers' steps that restart k3s with the packaged
     * metrics-server disabled. k3s deletes a disabled add-on's objects when it starts (docs, packaged-components), and
     * ours carry the same names: created earlier, they would be deleted by that restart.
     */
    readonly after?: readonly pulumi.Resource[];
}

/**
 * metrics-server for a cluster across clouds: the usual objects (service account, RBAC, service, deployment, the
 * v1beta1.metrics.k8s.io APIService) in kube-system, with kubelets dialled on their public addresses. Deployed
 * instead of k3s' packaged one, which K3sCluster disables for it (k3s rewrites its packaged manifests on every start,
 * so they cannot be edited in place).
 */
export class MetricsServer extends pulumi.ComponentResource {
    constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k3s-multicloud:metrics:MetricsServer", name, {}, opts);
        const child: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: [...(args.after ?? [])] };
        /** The child options, waiting also for `resources`. */
        const after = (...resources: pulumi.Resource[]): pulumi.CustomResourceOptions => ({ ...child, dependsOn: [...(args.after ?? []), ...resources] });
        const namespace = "kube-system";
        const labels = { "k8s-app": "metrics-server" };
        const metadata = (objectName: string, extra: Record<string, string> = {}) => ({ name: objectName, labels: { ...labels, ...extra } });

        const account = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata: { ...metadata("metrics-server"), namespace } }, child);
        new k8s.rbac.v1.ClusterRole(
            `${name}-aggregated-reader`,
            {
                metadata: metadata("system:aggregated-metrics-reader", {
                    "rbac.authorization.k8s.io/aggregate-to-admin": "true",
                    "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                    "rbac.authorization.k8s.io/aggregate-to-view": "true",
                }),
                rules: [{ apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] }],
            },
            child,
        );
        const role = new k8s.rbac.v1.ClusterRole(
            `${name}-role`,
            {
                metadata: metadata("system:metrics-server"),
                rules: [
                    { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
                    { apiGroups: [""], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] },
                ],
            },
            child,
        );
        const subjects = [{ kind: "ServiceAccount", name: "metrics-server", namespace }];
        const bindings = [
            new k8s.rbac.v1.RoleBinding(
                `${name}-auth-reader`,
                { metadata: { ...metadata("metrics-server-auth-reader"), namespace }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "extension-apiserver-authentication-reader" }, subjects },
                child,
            ),
            new k8s.rbac.v1.ClusterRoleBinding(
                `${name}-auth-delegator`,
                { metadata: metadata("metrics-server:system:auth-delegator"), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" }, subjects },
                child,
            ),
            new k8s.rbac.v1.ClusterRoleBinding(
                `${name}-binding`,
                { metadata: metadata("system:metrics-server"), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:metrics-server" }, subjects },
                after(role),
            ),
        ];
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { ...metadata("metrics-server"), namespace },
                spec: { selector: labels, ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: "https" }] },
            },
            child,
        );
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { ...metadata("metrics-server"), namespace },
                spec: {
                    selector: { matchLabels: labels },
                    strategy: { rollingUpdate: { maxUnavailable: 0 } },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: "metrics-server",
                            priorityClassName: "system-cluster-critical",
                            tolerations: [
                                { key: "CriticalAddonsOnly", operator: "Exists" },
                                { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
                            ],
                            containers: [
                                {
                                    name: "metrics-server",
                                    image: args.image ?? METRICS_SERVER_IMAGE,
                                    args: [...METRICS_SERVER_ARGS],
                                    ports: [{ name: "https", containerPort: 10250, protocol: "TCP" }],
                                    livenessProbe: { httpGet: { path: "/livez", port: "https", scheme: "HTTPS" }, periodSeconds: 10, failureThreshold: 3 },
                                    readinessProbe: { httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" }, periodSeconds: 10, failureThreshold: 3, initialDelaySeconds: 20 },
                                    resources: { requests: { cpu: "100m", memory: "70Mi" } },
                                    securityContext: {
                                        allowPrivilegeEscalation: false,
                                        capabilities: { drop: ["ALL"] },
                                        readOnlyRootFilesystem: true,
                                        runAsNonRoot: true,
                                        runAsUser: 1000,
                                        seccompProfile: { type: "RuntimeDefault" },
                                    },
                                    volumeMounts: [{ name: "tmp-dir", mountPath: "/tmp" }],
                                },
                            ],
                            volumes: [{ name: "tmp-dir", emptyDir: {} }],
                        },
                    },
                },
            },
            after(account, ...bindings),
        );
        new k8s.apiregistration.v1.APIService(
            `${name}-api`,
            {
                metadata: metadata("v1beta1.metrics.k8s.io"),
                spec: {
                    group: "metrics.k8s.io",
                    version: "v1beta1",
                    groupPriorityMinimum: 100,
                    versionPriority: 100,
                    // As upstream: the API server's proxy to metrics-server inside the cluster.
                    insecureSkipTLSVerify: true,
                    service: { name: "metrics-server", namespace },
                },
            },
            after(service, deployment),
        );
        this.registerOutputs({});
    }
}
