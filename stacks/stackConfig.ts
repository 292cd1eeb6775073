import { ConfigValue } from "../components/k3s/yaml";
import { K3sOptions } from "../components/k3s/options";
import { ConfigError, ConfigErrorCollector } from "../components/validation/configError";
import { nearestWord } from "../components/validation/suggest";

/**
 * The typed stack config the program reads (Pulumi.<stack>.yaml, namespace `k3s-multicloud`). Parsing is pure and
 * checks shapes and types; the components check values (addresses, names, versions) with their own messages.
 */

export type NodeRole = "server" | "agent";

interface NodeBase {
    /** Node name (and component name). */
    readonly name: string;
    readonly role: NodeRole;
}

export interface AliyunNodeConfig extends NodeBase {
    readonly cloud: "aliyun";
    readonly region: string;
    readonly planId?: string;
    readonly plan?: { readonly core: number; readonly memory: number; readonly bandwidth?: number; readonly diskSize?: number };
    readonly imageId?: string;
    readonly image?: { readonly nameRegex: string };
    readonly period?: number;
    readonly autoRenew?: boolean;
}

export interface VultrNodeConfig extends NodeBase {
    readonly cloud: "vultr";
    readonly region: string;
    readonly plan: string;
    readonly osId?: number;
    readonly osName?: string;
    readonly enableIpv6?: boolean;
    readonly tags?: string[];
}

export interface ExistingNodeConfig extends NodeBase {
    readonly cloud: "existing";
    readonly publicIp: string;
    readonly privateIp?: string;
    readonly location: string;
    readonly user?: string;
    readonly port?: number;
    readonly hostKey?: string;
    /** Connect without checking the host key (every preview warns). */
    readonly insecureIgnoreHostKey?: boolean;
    /** Name of the secret config key holding this server's SSH private key. Default: `sshPrivateKey`. */
    readonly privateKeySecret?: string;
    /** Name of the secret config key holding this server's SSH password (instead of a key). */
    readonly passwordSecret?: string;
}

export type NodeConfig = AliyunNodeConfig | VultrNodeConfig | ExistingNodeConfig;

export interface StackConfig {
    readonly k3sVersion: string;
    readonly nodes: readonly NodeConfig[];
    readonly options: K3sOptions;
    /** OpenSSH public key installed on Vultr servers. */
    readonly sshPublicKey?: string;
    /** Where SSH to Vultr servers is allowed from. */
    readonly sshAllowedCidrs?: string[];
    readonly apiAllowedCidrs?: string[];
    readonly nodeAnnotations: Record<string, Record<string, string>>;
    readonly nodeLabels: Record<string, Record<string, string>>;
    readonly nodeTaints: Record<string, string[]>;
    /** How many agents an upgrade drains at once. */
    readonly maxUnavailable?: number;
    /** Check on every node that the WireGuard mesh formed (default true). */
    readonly verifyMesh?: boolean;
    /** How long each node's mesh check waits for handshakes, in seconds (default 180). */
    readonly meshTimeoutSeconds?: number;
    /** Program the host firewall (nftables, and ufw where active) on every node (default true). */
    readonly hostFirewall?: boolean;
    /** Protect the servers' machines: Pulumi refuses a plan that would replace or delete one (default true). */
    readonly protectServers?: boolean;
}

/** The config keys (without namespace) the program reads. */
export const CONFIG_KEYS = [
    "k3sVersion",
    "nodes",
    "options",
    "sshPublicKey",
    "sshAllowedCidrs",
    "apiAllowedCidrs",
    "nodeAnnotations",
    "nodeLabels",
    "nodeTaints",
    "maxUnavailable",
    "verifyMesh",
    "meshTimeoutSeconds",
    "hostFirewall",
    "protectServers",
] as const;

const NODE_FIELDS: Record<NodeConfig["cloud"], readonly string[]> = {
    aliyun: ["name", "role", "cloud", "region", "planId", "plan", "imageId", "image", "period", "autoRenew"],
    vultr: ["name", "role", "cloud", "region", "plan", "osId", "osName", "enableIpv6", "tags"],
    existing: ["name", "role", "cloud", "publicIp", "privateIp", "location", "user", "port", "hostKey", "insecureIgnoreHostKey", "privateKeySecret", "passwordSecret"],
};
const OPTION_FIELDS = ["kubeProxyMode", "disable", "tlsSans", "installMirror", "wireguardKernel", "extraConfig", "agentExtraConfig", "chinaRegistryMirrors", "metricsServer"];

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function expectBoolean(field: string, value: unknown): boolean {
    if (typeof value !== "boolean") throw new ConfigError(field, value, "must be true or false", "Write it without quotes: true or false.");
    return value;
}

function expectString(field: string, value: unknown, example: string): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new ConfigError(field, value, "must be a non-empty string", `Set it, e.g. ${example}.`);
    }
    return value;
}

function expectPositiveInteger(field: string, value: unknown): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
        throw new ConfigError(field, value, "must be a positive whole number", "Write it without quotes, e.g. 2.");
    }
    return value;
}

function expectStringList(field: string, value: unknown): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
        throw new ConfigError(field, value, "must be a list of strings", "Write it as a YAML list, e.g. [\"203.0.113.0/24\"].");
    }
    return value as string[];
}

function expectNestedStringMaps(field: string, value: unknown): Record<string, Record<string, string>> {
    if (value === undefined) return {};
    if (!isRecord(value) || Object.values(value).some((inner) => !isRecord(inner) || Object.values(inner).some((v) => typeof v !== "string"))) {
        throw new ConfigError(field, value, "must map node names to maps of strings", "Write it like {\"tokyo-1\": {\"example.com/owner\": \"ops\"}}; quote numbers.");
    }
    return value as Record<string, Record<string, string>>;
}

function rejectUnknownFields(field: string, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
        if (!allowed.includes(key)) {
            const near = nearestWord(key, allowed);
            throw new ConfigError(
                `${field}.${key}`,
                value[key],
                "is not a setting here",
                near ? `Did you mean ${near}? Write it as \`${near}: ...\`. Settings here: ${allowed.join(", ")}.` : `Use one of ${allowed.join(", ")}.`,
            );
        }
    }
}

/**
 * A node entry with `count: N` is a pool: N nodes with the same settings, named `<name>-1` to `<name>-N`
 * (per-node annotations, labels and taints then use those full names).
 */
function expandPool(field: string, raw: unknown): Array<[string, unknown]> {
    if (!isRecord(raw) || raw.count === undefined) return [[field, raw]];
    const count = raw.count;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 500) {
        throw new ConfigError(`${field}.count`, count, "must be a whole number from 1 to 500", "Write it without quotes, e.g. count: 3.");
    }
    const { count: _count, ...node } = raw;
    void _count;
    const name = expectString(`${field}.name`, node.name, "name: pool");
    return Array.from({ length: count }, (_, i): [string, unknown] => [`${field} (${name}-${i + 1})`, { ...node, name: `${name}-${i + 1}` }]);
}

function parseNode(field: string, raw: unknown): NodeConfig {
    if (!isRecord(raw)) throw new ConfigError(field, raw, "must be a map", "Give name, role, cloud and the cloud's settings.");
    const cloud = raw.cloud;
    if (cloud !== "aliyun" && cloud !== "vultr" && cloud !== "existing") {
        throw new ConfigError(`${field}.cloud`, cloud, "is not a supported cloud", "Use \"aliyun\", \"vultr\" or \"existing\".");
    }
    rejectUnknownFields(field, raw, NODE_FIELDS[cloud]);
    expectString(`${field}.name`, raw.name, "name: tokyo-1");
    if (raw.role !== "server" && raw.role !== "agent") {
        throw new ConfigError(`${field}.role`, raw.role, "is not a node role", "Use \"server\" or \"agent\".");
    }
    if (cloud === "vultr") {
        expectString(`${field}.region`, raw.region, "region: nrt");
        expectString(`${field}.plan`, raw.plan, "plan: vc2-1c-2gb");
        expectStringList(`${field}.tags`, raw.tags);
    } else if (cloud === "aliyun") {
        expectString(`${field}.region`, raw.region, "region: cn-hangzhou");
    } else {
        expectString(`${field}.publicIp`, raw.publicIp, "publicIp: 203.0.113.10");
        expectString(`${field}.location`, raw.location, "location: home-lab");
    }
    return raw as unknown as NodeConfig;
}

/** Parses the raw `k3s-multicloud:*` config values (already JSON-decoded) into a StackConfig. */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>): StackConfig {
    // Every shape mistake is reported at once, so a stack file is fixed in one round.
    const found = new ConfigErrorCollector();
    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            const near = nearestWord(key, CONFIG_KEYS);
            found.check(() => {
                throw new ConfigError(
                    `k3s-multicloud:${key}`,
                    raw[key],
                    "is not a setting of this program",
                    near
                        ? `Did you mean ${near}? Write it as \`k3s-multicloud:${near}: ...\` in the stack file.`
                        : `Use one of ${CONFIG_KEYS.join(", ")} (README, "Stack config").`,
                );
            });
        }
    }
    const k3sVersion = found.check(() => expectString("k3s-multicloud:k3sVersion", raw.k3sVersion, "k3sVersion: v1.33.6+k3s1"));
    const nodes = found.check(() => {
        if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) {
            throw new ConfigError("k3s-multicloud:nodes", raw.nodes, "must be a non-empty list of nodes", "List at least one server (README, \"Stack config\").");
        }
        return raw.nodes;
    });
    const parsedNodes = (nodes ?? [])
        .flatMap((node, index) => found.check(() => expandPool(`k3s-multicloud:nodes[${index}]`, node)) ?? [])
        .map(([field, node]) => found.check(() => parseNode(field, node)));
    const options = raw.options ?? {};
    found.check(() => {
        if (!isRecord(options)) throw new ConfigError("k3s-multicloud:options", options, "must be a map", "Write it like {disable: [traefik]}.");
        rejectUnknownFields("k3s-multicloud:options", options, OPTION_FIELDS);
    });
    const taints = raw.nodeTaints ?? {};
    found.check(() => {
        if (!isRecord(taints) || Object.values(taints).some((list) => !Array.isArray(list) || list.some((t) => typeof t !== "string"))) {
            throw new ConfigError("k3s-multicloud:nodeTaints", taints, "must map node names to lists of taints", "Write it like {\"tokyo-1\": [\"dedicated=edge:NoSchedule\"]}.");
        }
    });
    const optional = <T>(key: string, read: (field: string, value: unknown) => T): { [k: string]: T } =>
        raw[key] === undefined ? {} : (found.check(() => ({ [key]: read(`k3s-multicloud:${key}`, raw[key]) })) ?? {});
    const config = {
        k3sVersion,
        nodes: parsedNodes,
        options: options as K3sOptions & { extraConfig?: Record<string, ConfigValue> },
        sshPublicKey: raw.sshPublicKey === undefined ? undefined : found.check(() => expectString("k3s-multicloud:sshPublicKey", raw.sshPublicKey, "the line of ~/.ssh/id_ed25519.pub")),
        sshAllowedCidrs: found.check(() => expectStringList("k3s-multicloud:sshAllowedCidrs", raw.sshAllowedCidrs)),
        apiAllowedCidrs: found.check(() => expectStringList("k3s-multicloud:apiAllowedCidrs", raw.apiAllowedCidrs)),
        nodeAnnotations: found.check(() => expectNestedStringMaps("k3s-multicloud:nodeAnnotations", raw.nodeAnnotations)) ?? {},
        nodeLabels: found.check(() => expectNestedStringMaps("k3s-multicloud:nodeLabels", raw.nodeLabels)) ?? {},
        nodeTaints: taints as Record<string, string[]>,
        ...optional("maxUnavailable", expectPositiveInteger),
        ...optional("verifyMesh", expectBoolean),
        ...optional("meshTimeoutSeconds", expectPositiveInteger),
        ...optional("hostFirewall", expectBoolean),
        ...optional("protectServers", expectBoolean),
    };
    found.done();
    return config as StackConfig;
}
