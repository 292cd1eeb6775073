import { uncheckedValues } from "./uncheckedValues";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ClusterNodeInfo } from "../../components/k3s/k3sCluster";
import { resolveInstallMirror } from "../../components/k3s/installSource";
import { ConfigError } from "../../components/validation/configError";
import { deployStack, secretNamesOf } from "../program";
import { secretNameOf } from "../../components/multicloud/multicloudCluster";
import { readRawConfig } from "../readConfig";
import { StackConfig, parseStackConfig } from "../stackConfig";
import { RecordingMocks, Registration, resolve, unwrap } from "./recordingMocks";
import { FirewallRow, MachineTerms, NodeAccess, PLACEHOLDER, PlanData, shown, topologyWarnings } from "./renderPlan";
import { DEFAULT_CHINA_REGISTRY_MIRRORS } from "../../components/k3s/registries";
import { expandNodePools } from "../../components/multicloud/validateSpec";

const STACKS_DIR = join(__dirname, "..");

/** A stack file as the plan needs it: its plain values, and which keys it holds encrypted. */
export interface StackFile {
    /** Every value as `pulumi` hands it to the program: a string (structured values as JSON). */
    readonly values: Record<string, string>;
    /** The keys set with `pulumi config set --secret` (`secure:`), e.g. `k3s-multicloud:sshPrivateKey`; unreadable without the passphrase, and not needed for the plan. */
    readonly secureKeys: string[];
}

export function loadStackFile(stack: string, dir = STACKS_DIR): StackFile {
    const entries = Object.entries(readStackFile(stack, dir));
    const isSecure = (value: unknown) => typeof value === "object" && value !== null && "secure" in value;
    return {
        values: Object.fromEntries(entries.filter(([, value]) => !isSecure(value)).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])),
        secureKeys: entries.filter(([, value]) => isSecure(value)).map(([key]) => key),
    };
}

/** The stack's plain config values, as `pulumi` would hand them to the program. */
export function loadStackConfigFile(stack: string, dir = STACKS_DIR): Record<string, string> {
    return loadStackFile(stack, dir).values;
}

function readStackFile(stack: string, dir: string): Record<string, unknown> {
    const path = join(dir, `Pulumi.${stack}.yaml`);
    let text: string;
    try {
        text = readFileSync(path, "utf8");
    } catch {
        throw new ConfigError("stack", stack, `has no config file ${path}`, "Name a stack that has a stacks/Pulumi.<stack>.yaml, e.g. dev.");
    }
    let document: { config?: Record<string, unknown> };
    try {
        document = (parse(text, { prettyErrors: true }) ?? {}) as { config?: Record<string, unknown> };
    } catch (error) {
        throw yamlError(path, text, error);
    }
    return document.config ?? {};
}

/**
 * A YAML syntax error as the user needs it: the file, line and column, the offending line with a caret under the
 * column, and what the parser said - no stack trace.
 */
function yamlError(path: string, text: string, error: unknown): ConfigError {
    const position = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    const reason = String((error as Error).message ?? error).split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    if (!position) return new ConfigError(path, "(YAML)", `is not valid YAML: ${reason}`, "Fix the file's syntax.");
    const line = text.split("\n")[position.line - 1] ?? "";
    return new ConfigError(
        `${path}:${position.line}:${position.col}`,
        line,
        `is not valid YAML: ${reason}`,
        `Fix the file at line ${position.line}, column ${position.col}:\n    ${line}\n    ${" ".repeat(Math.max(0, position.col - 1))}^`,
    );
}

/** The fake cloud of the plan: every value the cloud assigns at create time comes back as `<what>`. */
export function placeholderCloud() {
    const swasNames = new Map<string, string>();
    return {
        newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
            const inputs = args.inputs as Record<string, any>;
            const id = `<${args.name} id>`;
            switch (args.type) {
                case "alicloud:simpleapplicationserver/instance:Instance":
                    swasNames.set(id, inputs.instanceName);
                    return { id, state: inputs };
                case "vultr:index/instance:Instance":
                    return { id, state: { ...inputs, mainIp: `<${inputs.label} public IP>`, internalIp: `<${inputs.label} VPC IP>` } };
                case "random:index/randomPassword:RandomPassword":
                    return { id, state: { ...inputs, result: "[secret]" } };
                case "command:remote:Command":
                    // The kubeconfig step gets a k3s.yaml shape so the rewrite to the public IP works; no other step
                    // runs, so the others report nothing (and the mesh check has nothing to compare).
                    return args.name.endsWith("-kubeconfig")
                        ? { id, state: { ...inputs, stdout: "server: https://127.0.0.1:6443\n", stderr: "" } }
                        : { id, state: inputs };
                default:
                    return { id, state: inputs };
            }
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
            const inputs = args.inputs as Record<string, any>;
            switch (args.token) {
                case "alicloud:simpleapplicationserver/getInstances:getInstances":
                    return {
                        instances: (inputs.ids as string[]).map((id) => {
                            const name = swasNames.get(id) ?? id;
                            return { id, publicIpAddress: `<${name} public IP>`, innerIpAddress: `<${name} private IP>` };
                        }),
                    };
                case "alicloud:simpleapplicationserver/getServerPlans:getServerPlans":
                    return { plans: [{ id: `<SWAS plan with ${inputs.core} vCPU and ${inputs.memory} GiB>` }] };
                case "alicloud:simpleapplicationserver/getImages:getImages":
                    return { images: [{ id: `<SWAS image matching ${inputs.nameRegex}>` }] };
                case "vultr:index/getOs:getOs":
                    return { id: "0", name: inputs.filters?.[0]?.values?.[0] ?? "" };
                default:
                    throw new Error(`the plan's fake cloud has no answer for ${args.token}`);
            }
        },
    };
}

/**
 * The example stacks carry public keys whose data spells "ReplaceWith...": fine for a plan, fatal for a deploy (no one
 * holds the private key, or the pinned host key is not the server's). Say so loudly.
 */
function placeholderKeyWarnings(config: ReturnType<typeof parseStackConfig>): string[] {
    const isPlaceholder = (key: string | undefined) => {
        const blob = key?.trim().split(/\s+/)[1];
        return blob !== undefined && Buffer.from(blob, "base64").toString("latin1").includes("ReplaceWith");
    };
    const warnings: string[] = [];
    if (isPlaceholder(config.sshPublicKey)) {
        warnings.push("PLACEHOLDER KEY: k3s-multicloud:sshPublicKey is the example's placeholder; set your own public key before `pulumi up`.");
    }
    for (const node of config.nodes) {
        if (node.cloud === "existing" && typeof node.hostKey === "string" && isPlaceholder(node.hostKey)) {
            warnings.push(`PLACEHOLDER KEY: ${node.name}.hostKey is the example's placeholder; set the server's own host key before \`pulumi up\`, or every SSH session to it fails the pin.`);
        }
    }
    return warnings;
}

/**
 * The SSH keys and passwords the nodes need, by the encrypted key that must hold each: a missing one passes the plan
 * (it never reads secrets) but stops `pulumi up` before anything is created. Say so loudly, with the command.
 */
function missingSecretWarnings(config: ReturnType<typeof parseStackConfig>, secureKeys: readonly string[], stack: string): string[] {
    return secretNamesOf(config.nodes)
        .filter((name) => !secureKeys.includes(`k3s-multicloud:${name}`))
        .map((name) => {
            const users = config.nodes.filter((n) => secretNameOf(n) === name).map((n) => n.name);
            const password = config.nodes.some((n) => n.passwordSecret === name);
            const set = `pulumi config set --secret -s ${stack} k3s-multicloud:${name}${password ? "" : " < ~/.ssh/id_ed25519"}`;
            return `MISSING SECRET: k3s-multicloud:${name} (the SSH ${password ? "password" : "private key"} of ${users.join(", ")}) is not set in Pulumi.${stack}.yaml; \`pulumi up\` stops until it is: \`${set}\`${password ? " (it asks for the value)" : ""}.`;
        });
}

/** Which node a cluster child belongs to: its name is `<cluster>-<node>-<part>`; the longest node name wins. */
function nodeOf(resourceName: string, cluster: string, nodes: readonly string[], part: string): string | undefined {
    return nodes
        .filter((node) => resourceName.startsWith(`${cluster}-${node}-${part}`))
        .sort((a, b) => b.length - a.length)[0];
}

/**
 * Evaluates the real program under runtime mocks with the stack's config, no Pulumi CLI and no credentials, and
 * collects what the plan shows.
 */
export async function evaluateStack(stack: string, configValues: Record<string, string>, secureKeys: readonly string[] = []): Promise<PlanData> {
    const cloud = placeholderCloud();
    const recorder = await RecordingMocks.install({ preview: false, stack, newResource: cloud.newResource, call: cloud.call });
    pulumi.runtime.setAllConfig(configValues);
    const parsed = parseStackConfig(readRawConfig(new pulumi.Config("k3s-multicloud")));
    const deployed = deployStack(stack, parsed, () => pulumi.secret("[secret]"));
    const nodes = (await resolve(deployed.cluster.nodes)).value as ClusterNodeInfo[];
    const configs: Record<string, string> = {};
    for (const node of [...deployed.cluster.servers, ...deployed.cluster.agents]) {
        configs[node.host.name] = (await resolve(node.configYaml)).value as string;
    }
    await recorder.settle();

    const names = nodes.map((n) => n.name);
    const nodeByName = new Map(nodes.map((n) => [n.name, n]));
    const firewall: FirewallRow[] = [];
    for (const rule of recorder.registrations) {
        const inputs = rule.inputs as Record<string, any>;
        if (rule.type === "alicloud:simpleapplicationserver/firewallRule:FirewallRule") {
            firewall.push({
                node: nodeOf(rule.name, stack, names, "fw-") ?? rule.name,
                cloud: "aliyun",
                protocol: String(inputs.ruleProtocol).toLowerCase(),
                port: inputs.port,
                source: "anywhere",
                purpose: String(inputs.remark).replace(/^k3s-multicloud: /, ""),
            });
        } else if (rule.type === "vultr:index/firewallRule:FirewallRule" && /-ssh-[0-9]+$/.test(rule.name)) {
            // The SSH rules the Vultr host component creates (sshAllowedCidrs), named <node>-ssh-<n>.
            const node = rule.name.replace(/-ssh-[0-9]+$/, "");
            const subnet = String(unwrap(inputs.subnet));
            firewall.push({
                node,
                cloud: "vultr",
                protocol: inputs.protocol,
                port: inputs.port,
                source: inputs.subnetSize === 0 ? "anywhere" : `${subnet}/${inputs.subnetSize}`,
                purpose: "SSH (sshAllowedCidrs)",
            });
        } else if (rule.type === "vultr:index/firewallRule:FirewallRule" && nodeOf(rule.name, stack, names, "fw-")) {
            const subnet = String(unwrap(inputs.subnet));
            const peer = /^<(.+) public IP>$/.exec(subnet)?.[1] ?? nodes.find((n) => n.publicIp === subnet)?.name;
            firewall.push({
                node: nodeOf(rule.name, stack, names, "fw-")!,
                cloud: "vultr",
                protocol: inputs.protocol,
                port: inputs.port,
                source: inputs.subnetSize === 0 ? "anywhere" : peer && nodeByName.has(peer) ? `${peer} (/32)` : `${subnet}/${inputs.subnetSize}`,
                purpose: String(inputs.notes).replace(/^k3s-multicloud: /, ""),
            });
        }
    }
    const firstPort = (port: string) => Number.parseInt(port, 10);
    firewall.sort(
        (a, b) =>
            names.indexOf(a.node) - names.indexOf(b.node) ||
            firstPort(a.port) - firstPort(b.port) ||
            a.protocol.localeCompare(b.protocol) ||
            a.source.localeCompare(b.source),
    );

    const metadata: PlanData["metadata"] = {};
    for (const patch of recorder.ofType("kubernetes:core/v1:NodePatch")) {
        const meta = (patch.inputs as any).metadata;
        const { ["pulumi.com/patchForce"]: _force, ...annotations } = meta.annotations ?? {};
        void _force;
        (metadata as Record<string, unknown>)[meta.name] = { annotations, labels: meta.labels ?? {} };
    }

    const hostFirewall = recorder.registrations
        .filter((r) => r.type === "command:remote:Command" && r.name.endsWith("-host-firewall"))
        .map((r) => nodeOf(r.name, stack, names, "host-firewall"))
        .filter((n): n is string => n !== undefined);
    const installSources = Object.fromEntries(
        nodes.map((n) => [n.name, resolveInstallMirror(parsed.options?.installMirror ?? "auto", n.cloud, n.location)]),
    );
    return {
        stack,
        installSources,
        machines: machinesOf(recorder.registrations, nodes),
        access: accessOf(recorder.registrations, nodes, parsed, installSources),
        unchecked: uncheckedValues(parsed.k3sVersion, parsed.nodes),
        k3sVersion: parsed.k3sVersion,
        nodes,
        configs,
        firewall,
        hostFirewall: { nodes: hostFirewall, apiAllowedCidrs: parsed.apiAllowedCidrs ?? ["0.0.0.0/0"] },
        resourceCounts: recorder.registrations.reduce<Record<string, number>>((counts, r) => ({ ...counts, [r.type]: (counts[r.type] ?? 0) + 1 }), {}),
        metadata,
        warnings: [...[...recorder.warnings].sort(), ...topologyWarnings(nodes, firewall, hostFirewall), ...placeholderKeyWarnings(parsed), ...missingSecretWarnings(parsed, secureKeys, stack)],
    };
}

/** Each node's machine and its billing terms, read from the instances the program registers. */
export function machinesOf(registrations: readonly Registration[], nodes: readonly ClusterNodeInfo[]): Record<string, MachineTerms> {
    const machines: Record<string, MachineTerms> = {};
    for (const node of nodes) {
        if (node.cloud === "existing") {
            machines[node.name] = { size: "your server", terms: "yours (not billed through this stack)" };
            continue;
        }
        const instance = registrations.find(
            (r) =>
                (r.type === "alicloud:simpleapplicationserver/instance:Instance" && (r.inputs as any).instanceName === node.name) ||
                (r.type === "vultr:index/instance:Instance" && (r.inputs as any).label === node.name),
        );
        const inputs = (instance?.inputs ?? {}) as Record<string, any>;
        if (node.cloud === "aliyun") {
            const renew = inputs.autoRenew ? `renews automatically every ${inputs.autoRenewPeriod ?? inputs.period} months` : "no automatic renewal";
            machines[node.name] = { size: PLACEHOLDER.test(String(inputs.planId)) ? shownPlan(inputs.planId) : `SWAS plan ${shownPlan(inputs.planId)}`, terms: `prepaid ${inputs.period}-month term, ${renew}; destroy does not release it` };
        } else {
            machines[node.name] = { size: `Vultr plan ${shownPlan(inputs.plan)}`, terms: "hourly, up to the plan's monthly cap; destroy deletes it" };
        }
    }
    return machines;
}

/** How each node is reached and trusted, what its router must forward, and where its images come from. */
export function accessOf(registrations: readonly Registration[], nodes: readonly ClusterNodeInfo[], parsed: StackConfig, installSources: Readonly<Record<string, string>>): Record<string, NodeAccess> {
    const access: Record<string, NodeAccess> = {};
    const specs = expandNodePools(parsed.nodes);
    for (const node of nodes) {
        const spec = specs.find((s) => s.name === node.name);
        const instance = registrations.find(
            (r) =>
                (r.type === "alicloud:simpleapplicationserver/instance:Instance" && (r.inputs as any).instanceName === node.name) ||
                (r.type === "vultr:index/instance:Instance" && (r.inputs as any).label === node.name),
        );
        const inputs = (instance?.inputs ?? {}) as Record<string, any>;
        const image =
            node.cloud === "aliyun"
                ? PLACEHOLDER.test(String(inputs.imageId))
                    ? shownPlan(inputs.imageId)
                    : `SWAS image ${shownPlan(inputs.imageId)}`
                : node.cloud === "vultr"
                  ? spec?.osName
                      ? `Vultr OS "${spec.osName}", looked up at deploy`
                      : `Vultr OS id ${String(inputs.osId ?? spec?.osId)}`
                  : "yours";
        const hostKey =
            node.cloud === "aliyun"
                ? "trusted on first use (SWAS has no user-data)"
                : node.cloud === "vultr"
                  ? "generated by this stack, installed by cloud-init, pinned"
                  : spec?.insecureIgnoreHostKey
                    ? "NOT CHECKED (insecureIgnoreHostKey)"
                    : "given in the stack (hostKey), pinned";
        // What the members and pulumi must reach on it: SSH, WireGuard, the kubelet (logs, exec, metrics) and a server's API.
        const forwarded = node.role === "server" ? "22/tcp, 51820/udp, 10250/tcp and 6443/tcp" : "22/tcp, 51820/udp and 10250/tcp";
        const forward = node.cloud === "existing" && node.behindNat ? `${forwarded} to ${shown(node.privateIp)}` : "-";
        const mirrors = parsed.options?.chinaRegistryMirrors ?? DEFAULT_CHINA_REGISTRY_MIRRORS;
        access[node.name] = {
            image,
            ssh: PLACEHOLDER.test(node.publicIp) ? `${node.sshUser}, port ${node.sshPort}` : `${node.sshUser}@${node.publicIp}:${node.sshPort}`,
            hostKey,
            forward,
            images: installSources[node.name] === "cn" ? `k3s system images (rancher/*) from ${mirrors.join(", ")}; everything else from docker.io` : "docker.io",
        };
    }
    return access;
}

/** A plan id, or what the lookup asks for (`<SWAS plan with 2 vCPU and 2 GiB>` from the plan's fake cloud). */
function shownPlan(value: unknown): string {
    if (typeof value !== "string" || value === "") return "(unknown)";
    return PLACEHOLDER.test(value) ? `${value.slice(1, -1)}, looked up at deploy` : `\`${value}\``;
}
