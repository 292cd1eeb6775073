// The component package's entry point. Pulumi's plugin runner publishes every ComponentResource this module exports,
// so it exports exactly one: the data-only MulticloudCluster, whose inputs are the cluster spec
// (components/multicloud/clusterSpec.ts). The library's other components stay TypeScript-only.
import "./resolveFromPlugin";
export { MulticloudCluster } from "../components/multicloud/multicloudCluster";
