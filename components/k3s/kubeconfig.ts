/**
 * k3s writes /etc/rancher/k3s/k3s.yaml pointing at https://127.0.0.1:6443 with every name "default". For use from
 * anywhere else it must point at the server's public IP (which is in tls-san), and distinct names let users merge it
 * with other kubeconfigs.
 */
export function kubeconfigForPublicEndpoint(kubeconfig: string, publicIp: string, clusterName: string): string {
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
