import { ClusterSpec, NodeSpec } from "../components/multicloud/clusterSpec";
import SPEC_SCHEMA from "../components/multicloud/clusterSpec.schema.json";
import { checkClusterSpec, expandNodePools, STACK_FILE } from "../components/multicloud/validateSpec";

/**
 * The stack config (Pulumi.<stack>.yaml, namespace `k3s-multicloud`) is the cluster spec that
 * components/multicloud/clusterSpec.ts declares; this reads it the way a stack file gives it.
 */
export type StackConfig = ClusterSpec;
export type NodeConfig = NodeSpec;

/** The config keys (without namespace) the program reads, in the declaration's order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(SPEC_SCHEMA.definitions.ClusterSpec.properties);

/**
 * Checks the raw `k3s-multicloud:*` values (already JSON-decoded) against the spec's schema - every mistake at once,
 * named as it is written in the stack file - and returns the spec with node pools expanded into their nodes.
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>): StackConfig {
    const spec = checkClusterSpec(raw, STACK_FILE);
    return { ...spec, nodes: expandNodePools(spec.nodes) };
}
