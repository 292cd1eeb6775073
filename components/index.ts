/** The k3s-multicloud library: everything a program imports comes from here. */
export * from "./hosts";
export * from "./k3s";
export * from "./annotations";
export * from "./metrics/metricsServer";
export { ConfigError, ConfigErrors } from "./validation/configError";
export { MulticloudCluster, partsOf } from "./multicloud/multicloudCluster";
export type { MulticloudClusterParts, SpecHost } from "./multicloud/multicloudCluster";
export * from "./multicloud/clusterSpec";
export { checkClusterSpec, expandNodePools, STACK_FILE } from "./multicloud/validateSpec";
