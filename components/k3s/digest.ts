import { createHash } from "node:crypto";

/**
 * A step trigger that stands for a whole list (the cluster's members, their addresses): its sha256. Stored per node,
 * the list itself would make every node's state grow with the size of the cluster.
 */
export function listDigest(items: readonly string[]): string {
    return `sha256:${createHash("sha256").update([...items].sort().join("\n")).digest("hex")}`;
}
