import { NodeSpec } from "../../components/multicloud/clusterSpec";

/**
 * A value the plan can check only in form: whether it exists is known when the cloud (or the k3s release server)
 * accepts it at `pulumi up`. The plan names each one and where a reviewer looks it up.
 */
export interface UncheckedValue {
    /** The setting, in the stack file's terms, e.g. `nodes[].planId (aliyun)`. */
    readonly setting: string;
    readonly value: string;
    /** The nodes that use it. */
    readonly nodes: readonly string[];
    /** Where to look it up, one line. */
    readonly lookUp: string;
}

const SWAS_API = "the SWAS API (Simple Application Server, version 2020-06-01)";
const VULTR_API = "https://api.vultr.com/v2";

/** Every cloud id and version of a stack that the offline plan cannot confirm, once per value. */
export function uncheckedValues(k3sVersion: string, nodes: readonly NodeSpec[]): UncheckedValue[] {
    const rows = new Map<string, { setting: string; value: string; nodes: string[]; lookUp: string }>();
    const add = (setting: string, value: string | undefined, node: string, lookUp: string) => {
        if (value === undefined) return;
        const key = `${setting}\t${value}\t${lookUp}`;
        const row = rows.get(key) ?? { setting, value, nodes: [], lookUp };
        if (!row.nodes.includes(node)) row.nodes.push(node);
        rows.set(key, row);
    };
    const tag = k3sVersion.replace("+", "-");
    add("k3sVersion", k3sVersion, "every node", `that the release exists: https://github.com/k3s-io/k3s/releases/tag/${k3sVersion} (mainland nodes also need it on the China mirror, https://rancher-mirror.rancher.cn/k3s/${tag}/)`);
    for (const node of nodes) {
        if (node.cloud === "aliyun") {
            add("nodes[].region (aliyun)", node.region, node.name, `${SWAS_API}: ListRegions`);
            add("nodes[].planId (aliyun)", node.planId, node.name, `${SWAS_API}: ListPlans in ${node.region} (plan ids differ between regions)`);
            add("nodes[].planSize (aliyun)", node.planSize && `${node.planSize.core} vCPU, ${node.planSize.memory} GiB`, node.name, `${SWAS_API}: ListPlans in ${node.region}; looked up at deploy, the first plan of that size`);
            add("nodes[].imageId (aliyun)", node.imageId, node.name, `${SWAS_API}: ListImages in ${node.region}`);
            add("nodes[].image.nameRegex (aliyun)", node.image?.nameRegex, node.name, `${SWAS_API}: ListImages in ${node.region}; looked up at deploy, the first image whose name matches`);
        } else if (node.cloud === "vultr") {
            add("nodes[].region (vultr)", node.region, node.name, `${VULTR_API}/regions`);
            add("nodes[].plan (vultr)", node.plan, node.name, `${VULTR_API}/plans, and that ${node.region} sells it: ${VULTR_API}/regions/${node.region}/availability`);
            add("nodes[].osId (vultr)", node.osId === undefined ? undefined : String(node.osId), node.name, `${VULTR_API}/os`);
            add("nodes[].osName (vultr)", node.osName, node.name, `${VULTR_API}/os (the exact name; looked up at deploy)`);
        }
    }
    return [...rows.values()];
}
