export * from "./k3sNode";
export type { K3sOptions, KubeProxyMode, InstallMirror, K3sRole } from "./options";
export type { NodeConfigInput } from "./nodeConfig";
export type { K3sVersion } from "./version";
export { renderNodeConfig, serverUrlFor } from "./nodeConfig";
export { kubeconfigForPublicEndpoint } from "./kubeconfig";
export { parseK3sVersion, compareK3sVersions } from "./version";
export * from "./k3sCluster";
