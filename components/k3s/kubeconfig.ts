/**
 * k3s writes /etc/rancher/k3s/k3s.yaml pointing at https://127.0.0.1:6443 with every name "default". For use from
 * anywhere else it must point at the server's public IP (which is in tls-san), and distinct names let users merge it
 * with other kubeconfigs.
 */
export function kubeconfigForPublicEndpoint(kubeconfig: string | undefined, publicIp: string, clusterName: string): string {
    // Nothing printed: the step never ran on a host (a program evaluated with plain test mocks, or the offline plan).
    // The kubeconfig verb fails on a host without k3s.yaml, so a real run never gets here.
    if (kubeconfig === undefined || kubeconfig === "") return placeholderKubeconfig(publicIp, clusterName);
    const loopback = /server: https:\/\/127\.0\.0\.1:6443\b/g;
    if (!loopback.test(kubeconfig)) {
        throw new Error(
            "the server's kubeconfig has no `server: https://127.0.0.1:6443` line; k3s.yaml was not read correctly",
        );
    }
    return kubeconfig
        .replace(loopback, `server: https://${publicIp}:6443`)
        .replace(/^(\s*-?\s*name:) default$/gm, `$1 ${clusterName}`)
        .replace(/^(\s*cluster:) default$/gm, `$1 ${clusterName}`)
        .replace(/^(\s*user:) default$/gm, `$1 ${clusterName}`)
        .replace(/^current-context: default$/m, `current-context: ${clusterName}`);
}

/**
 * A kubeconfig with the cluster's endpoint and names but no credentials, for programs evaluated without hosts (unit
 * tests with plain mocks compose resources on `cluster.provider`; they must not fail on a kubeconfig nobody read).
 */
export function placeholderKubeconfig(publicIp: string, clusterName: string): string {
    return [
        "# k3s-multicloud: placeholder, no credentials - the kubeconfig step has not run on a host (e.g. under test mocks).",
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        `    server: https://${publicIp}:6443`,
        `  name: ${clusterName}`,
        "contexts:",
        "- context:",
        `    cluster: ${clusterName}`,
        `    user: ${clusterName}`,
        `  name: ${clusterName}`,
        `current-context: ${clusterName}`,
        "users:",
        `- name: ${clusterName}`,
        "  user: {}",
        "",
    ].join("\n");
}

/**
 * The kubeconfig step's trigger. The step's read mints an admin client certificate that lasts as long as the
 * cluster's client CA (verbs/kubeconfig.sh), where k3s' own lasts a year; release 0.2.1 added this trigger so that
 * clusters created earlier read their kubeconfig once more and get such a certificate. Changing it re-reads every
 * cluster's kubeconfig; to rotate one cluster's certificate, replace its step (`pulumi up --replace <urn>`).
 */
export const KUBECONFIG_TRIGGER = "admin client certificate valid until the cluster's client CA expires";

/**
 * The warnings in the kubeconfig step's stderr (lines the verb writes as `k3s-multicloud [node] WARNING: ...`), for
 * the program to repeat: the step's own output is secret and not logged. Nothing else of stderr is repeated.
 */
export function kubeconfigWarnings(stderr: string | undefined): string[] {
    return (stderr ?? "").split("\n").filter((line) => /^k3s-multicloud \[[^\]]+\] WARNING: /.test(line));
}
