import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CheckResult } from "../lab";
import { PortProbe } from "../probes";
import { LAB_ADDRESSES, LabWorld, sleep, withWorld } from "../world";
import { parse, stringify } from "yaml";
import { CliResult, Engine, PulumiProject, tail } from "./engine";
import { expect, LabCheckSpec, leftOnHost, runChecksInTurn, said } from "./engineLab";

/**
 * The stack lab: the whole stack program (stacks/, the program `pulumi up` runs for every environment: one
 * MulticloudCluster from the stack's config) run by the real engine on the namespace lab's hosts, given as existing
 * servers in a lab stack config (Pulumi.lab.yaml, written here), as a user deploys it: preview, up, doctor from the
 * stack's outputs, a node moved to a new machine, destroy. The engine lab (engineLab.ts) drives its own smaller
 * program through the engine's failure modes; this one proves the program users run.
 */

export const STACK_BREAKS = {
    "stack-up": "the stack file names a secret for home-1's SSH key that the stack does not hold",
    "stack-doctor": "k3s stopped on the home agent after the up",
    "engine-replaced-machine": "the server lost its record of the nodes' machines (as a server restored from an old backup would), so it cannot tell vultr-1's new machine from the old",
    "stack-destroy": "home-1's removal step deleted from the state before the destroy (`pulumi state delete`)",
    "engine-yaml": "the YAML program declares the provider setting `vultr:apiKey` with a type, as examples/yaml did before 0.6.0",
} as const;
export type StackCheck = keyof typeof STACK_BREAKS;

const PROGRAM = resolve(__dirname, "..", "..", "stacks", "index.ts");
const K3S_VERSION = "v1.33.6+k3s1";
const STACK = "lab";
/** The stack program's project: the repository's own (Pulumi.yaml), so its config namespace is `k3s-multicloud`. */
const PROJECT = "k3s-multicloud";

/** One node of the lab stack file (`k3s-multicloud:nodes`): every lab host as an existing server. */
interface StackNode {
    readonly name: string;
    readonly role: "server" | "agent";
    readonly cloud: "existing";
    readonly publicIp: string;
    readonly privateIp?: string;
    readonly behindNat?: boolean;
    readonly location: string;
    readonly user?: string;
    readonly hostKey: string;
    readonly privateKeySecret?: string;
    readonly passwordSecret?: string;
}

function hostKeyOf(file: string): string {
    return readFileSync(file, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

/** What the stack lab knows while its checks run. */
export class StackLabRun {
    nodes: StackNode[];
    readonly project: PulumiProject;
    readonly secrets: Record<string, string>;
    /** Listeners on the kubelet's port (10250) of every host, as doctor expects of a running node (the API is real). */
    readonly kubelets: PortProbe;

    constructor(
        readonly world: LabWorld,
        readonly engine: Engine,
        readonly breaks: ReadonlySet<StackCheck>,
        readonly progress: (line: string) => void,
        swasPassword: string,
    ) {
        const home: StackNode = {
            name: "home-1",
            role: "agent",
            cloud: "existing",
            publicIp: LAB_ADDRESSES.homePublic,
            privateIp: LAB_ADDRESSES.homePrivate,
            behindNat: true,
            location: "lab-home",
            user: world.homeUser,
            hostKey: world.hostPublicKey("home"),
            privateKeySecret: breaks.has("stack-up") ? "homeSshKey" : "sshPrivateKey",
        };
        this.nodes = [
            { name: "swas-1", role: "server", cloud: "existing", publicIp: LAB_ADDRESSES.swasPublic, privateIp: LAB_ADDRESSES.swasPrivate, behindNat: true, location: "lab-swas", user: "root", hostKey: world.hostPublicKey("swas"), passwordSecret: "swasPassword" },
            { name: "vultr-1", role: "agent", cloud: "existing", publicIp: LAB_ADDRESSES.vultr, location: "lab-vultr", user: "root", hostKey: world.hostPublicKey("vultr"), privateKeySecret: "sshPrivateKey" },
            home,
        ];
        const token = (name: string) => `${name}${process.pid}${world.id}`.padEnd(48, "x");
        // The cluster's tokens are given: the random provider, which would generate them, is not built here
        // (engine/build.sh says why).
        this.secrets = {
            "k3s-multicloud:sshPrivateKey": readFileSync(world.clientKey, "utf8"),
            "k3s-multicloud:swasPassword": swasPassword,
            "k3s-multicloud:k3sToken": token("stackservertoken"),
            "k3s-multicloud:k3sAgentToken": token("stackagenttoken"),
        };
        this.kubelets = new PortProbe(world, []);
        const dir = join(world.dir, "stack");
        mkdirSync(dir, { recursive: true });
        this.project = new PulumiProject({
            engine,
            dir,
            projectName: PROJECT,
            stack: STACK,
            program: PROGRAM,
            prefix: ["ip", "netns", "exec", world.runnerNs],
            progress,
        });
    }

    /** The lab stack file's plain settings, as `pulumi config set` stores them. */
    config(): Record<string, string> {
        return {
            "k3s-multicloud:k3sVersion": K3S_VERSION,
            "k3s-multicloud:nodes": JSON.stringify(this.nodes),
            // The machine running pulumi (and doctor) reaches the API; nobody else.
            "k3s-multicloud:apiAllowedCidrs": JSON.stringify([`${LAB_ADDRESSES.runner}/32`]),
            "k3s-multicloud:meshTimeoutSeconds": "30",
        };
    }

    async up(timeoutMs?: number): Promise<CliResult> {
        return this.project.run(["up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"], { timeoutMs });
    }

    /** The stack's outputs and config as a user hands them to doctor, and doctor's exit status and report. */
    async doctor(): Promise<{ status: number | null; report: string; rows: Array<{ node: string; check: string; verdict: string; seen: string }> }> {
        const outputs = (await this.project.must(["stack", "output", "--json", "--show-secrets"])).stdout;
        const configFile = join(this.world.dir, "stack-config.json");
        writeFileSync(configFile, (await this.project.must(["config", "--show-secrets", "--json"])).stdout, { mode: 0o600 });
        try {
            const cli = [process.execPath, join(REPO, "node_modules", "tsx", "dist", "cli.mjs"), join(REPO, "components", "doctor", "cli.ts"), "doctor", "--config", configFile];
            const text = this.world.inNamespace(this.world.runnerNs, cli, { input: outputs, timeout: 120_000 });
            const json = this.world.inNamespace(this.world.runnerNs, [...cli, "--json"], { input: outputs, timeout: 120_000 });
            return { status: text.status, report: text.stdout + text.stderr, rows: json.status === null ? [] : JSON.parse(json.stdout) };
        } finally {
            rmSync(configFile, { force: true });
        }
    }

    /** A Node of the lab's real API, or undefined when it is not there. */
    apiNode(name: string): { uid: string; ready: string } | undefined {
        const run = this.world.kubectl(["get", "node", name, "-o", 'jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}']);
        if (run.status !== 0) return undefined;
        const [uid, ready] = run.stdout.trim().split(" ");
        return { uid, ready: ready ?? "" };
    }

    /** The hash the API holds in a node's node password secret. */
    recordedPasswordHash(name: string): string {
        const run = this.world.kubectl(["-n", "kube-system", "get", "secret", `${name}.node-password.k3s`, "-o", "jsonpath={.data.hash}"]);
        return run.status === 0 ? Buffer.from(run.stdout.trim(), "base64").toString("utf8") : "";
    }
}

const REPO = resolve(__dirname, "..", "..");

/**
 * examples/yaml/Pulumi.yaml pointed at the lab's hosts: its cluster's nodes, addresses and secrets replaced, the rest
 * as a user has it. Without its `packages:` entry (a download): the package is the repository's plugin/ here.
 */
function yamlProgramForLab(lab: StackLabRun, spare: { sshAddress: string; hostKeyFile: string }): string {
    const program = parse(readFileSync(join(REPO, "examples", "yaml", "Pulumi.yaml"), "utf8")) as {
        name: string;
        packages?: unknown;
        config: Record<string, unknown>;
        resources: { cluster: { properties: Record<string, unknown> } };
    };
    delete program.packages;
    for (const key of ["swasPassword", "k3sToken", "k3sAgentToken"]) program.config[key] = { type: "string", secret: true };
    if (lab.breaks.has("engine-yaml")) program.config["vultr:apiKey"] = { type: "string", secret: true };
    const [swas, , home] = lab.nodes;
    const properties = program.resources.cluster.properties;
    properties.nodes = [
        swas,
        home,
        { name: "spare-1", role: "agent", cloud: "existing", publicIp: spare.sshAddress, location: "lab-spare", user: "root", hostKey: hostKeyOf(`${spare.hostKeyFile}.pub`), privateKeySecret: "sshPrivateKey" },
    ];
    properties.nodeLabels = { "spare-1": { "example.com/tier": "edge" } };
    properties.sshAllowedCidrs = [`${LAB_ADDRESSES.runner}/32`];
    properties.apiAllowedCidrs = [`${LAB_ADDRESSES.runner}/32`];
    properties.meshTimeoutSeconds = 30;
    // The lab destroys what it built.
    properties.protectServers = false;
    properties.secrets = { sshPrivateKey: "${sshPrivateKey}", swasPassword: "${swasPassword}", k3sToken: "${k3sToken}", k3sAgentToken: "${k3sAgentToken}" };
    return stringify(program);
}

const CHECKS: Array<LabCheckSpec<StackCheck, StackLabRun>> = [
    {
        name: "stack-up",
        onStack: false,
        async run(lab) {
            const preview = await lab.project.previewSteps();
            expect(preview.result.status === 0, `the preview of the stack program failed: ${preview.errors.join(" | ") || said(preview.result)}`);
            const up = await lab.up();
            expect(up.status === 0, `pulumi up of the stack program failed: ${said(up, 10)}`);
            const outputs = JSON.parse((await lab.project.must(["stack", "output", "--json"])).stdout) as { nodes?: Array<{ name: string; publicIp: string }>; kubeconfig?: string; meshStatus?: unknown };
            expect(outputs.kubeconfig === "[secret]", `the kubeconfig output is ${outputs.kubeconfig === undefined ? "missing" : "not a secret"}`);
            const names = (outputs.nodes ?? []).map((n) => `${n.name}=${n.publicIp}`).join(", ");
            const expected = lab.nodes.map((n) => `${n.name}=${n.publicIp}`).join(", ");
            expect(names === expected, `the nodes output lists ${names || "nothing"}, not ${expected}`);
            const notReady = lab.nodes.filter((n) => lab.apiNode(n.name)?.ready !== "True").map((n) => n.name);
            expect(notReady.length === 0, `not Ready in the API: ${notReady.join(", ")}`);
            // The NAT'd nodes' public-ip-overwrite, set by the stack's node patches (our field manager), not only by k3s.
            const overwrites = lab.nodes.filter((n) => n.behindNat).map((n) => {
                const json = lab.world.kubectl(["get", "node", n.name, "-o", "json", "--show-managed-fields"]).stdout;
                const node = JSON.parse(json) as { metadata: { annotations?: Record<string, string>; managedFields?: Array<{ manager: string; fieldsV1?: unknown }> } };
                const value = node.metadata.annotations?.["flannel.alpha.coreos.com/public-ip-overwrite"];
                const ours = (node.metadata.managedFields ?? []).some((f) => f.manager.startsWith("pulumi-kubernetes") && JSON.stringify(f.fieldsV1 ?? {}).includes("public-ip-overwrite"));
                expect(value === n.publicIp && ours, `${n.name}'s public-ip-overwrite is '${value ?? "(none)"}'${ours ? "" : ", not managed by the stack's node patch"}, not ${n.publicIp}`);
                return `${n.name} ${value}`;
            });
            const quiet = await lab.project.previewSteps(["--expect-no-changes"]);
            expect(quiet.result.status === 0, `a second preview would change ${quiet.steps.join(", ") || said(quiet.result)}`);
            return `preview and up of stacks/ with the lab stack file: nodes ${names}, all Ready in the real API, public-ip-overwrite set by the stack's node patches (${overwrites.join(", ")}), the kubeconfig output secret; the next preview changes nothing`;
        },
    },
    {
        name: "stack-doctor",
        onStack: true,
        async run(lab) {
            // Started once the real API owns 6443 on the server (a listener started before it would take the port).
            await lab.kubelets.start();
            if (lab.breaks.has("stack-doctor")) {
                lab.world.inHost("home", ["systemctl", "stop", "k3s-agent"], { env: lab.world.sessionEnv("home") });
                await sleep(500);
            }
            const { status, report, rows } = await lab.doctor();
            const failing = rows.filter((r) => r.verdict !== "ok").map((r) => `${r.node} ${r.check} ${r.verdict}: ${r.seen}`);
            expect(status === 0 && failing.length === 0, `doctor exits ${status}: ${failing.slice(0, 3).join("; ") || tail(report, 6)}`);
            const nodes = new Set(rows.map((r) => r.node));
            expect(nodes.size === lab.nodes.length, `doctor checked ${[...nodes].join(", ")}, not every node of the stack`);
            return `\`pulumi stack output --json --show-secrets | k3s-multicloud doctor --config <pulumi config --show-secrets --json>\` exits 0 with all ${rows.length} rows ok on ${nodes.size} nodes`;
        },
    },
    {
        name: "engine-replaced-machine",
        onStack: true,
        async run(lab) {
            const moved = "vultr-1";
            const extra = lab.world.extras[0];
            expect(extra, "the stack lab has no spare machine to move a node to");
            const before = lab.apiNode(moved);
            expect(before, `${moved} is not in the API before the move`);
            if (lab.breaks.has("engine-replaced-machine")) rmSync(join(lab.world.hosts.swas.root, "var", "lib", "k3s-multicloud", "node-identities"), { recursive: true, force: true });
            // Another box under the same node name: its address is its identity (an existing server's), its host key its own.
            lab.nodes = lab.nodes.map((n) => (n.name === moved ? { ...n, publicIp: extra.sshAddress, hostKey: hostKeyOf(`${extra.hostKeyFile}.pub`) } : n));
            await lab.project.setConfig(lab.config());
            const up = await lab.up(300_000);
            expect(up.status === 0, `pulumi up with ${moved} on a new machine failed: ${said(up, 8)}`);
            const words = `${moved} runs on a new machine (${LAB_ADDRESSES.vultr} -> ${extra.sshAddress}): drained and deleted its old Node object and node password, so it can join`;
            expect(up.stdout.includes(words), `the server's install step did not say it forgot the old machine: ${said(up, 6)}`);
            const after = lab.apiNode(moved);
            expect(after && after.uid !== before.uid && after.ready === "True", `${moved} in the API after the move: ${after ? `uid ${after.uid === before.uid ? "unchanged" : "new"}, Ready ${after.ready}` : "missing"}`);
            const password = readFileSync(join(extra.root, "etc", "rancher", "node", "password"), "utf8");
            const newHash = createHash("sha256").update(password).digest("hex");
            expect(lab.recordedPasswordHash(moved) === newHash, `the API's ${moved}.node-password.k3s is not the new machine's password`);
            return `the server's install step drained and deleted ${moved}'s old Node and node password (its words: '${words}'), then the new machine registered: a new Node uid, Ready, its own password recorded`;
        },
    },
    {
        name: "stack-destroy",
        onStack: true,
        async run(lab) {
            if (lab.breaks.has("stack-destroy")) {
                const removal = (await lab.project.exportState()).deployment.resources?.find((r) => r.urn.endsWith(`::${STACK}-home-1-removal`))?.urn;
                expect(removal, "no removal step of home-1 in the state");
                await lab.project.must(["state", "delete", removal, "--target-dependents", "--yes"]);
            }
            const destroy = await lab.project.run(["destroy", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"]);
            expect(destroy.status === 0, `destroy failed: ${said(destroy, 8)}`);
            const left = (await lab.project.exportState()).deployment.resources ?? [];
            expect(left.length === 0, `the stack still holds ${left.map((r) => r.urn.slice(r.urn.lastIndexOf("::") + 2)).join(", ")}`);
            const leftovers = (["swas", "home"] as const).flatMap((kind) => leftOnHost(lab.world, kind).map((what) => `${kind}: ${what}`));
            expect(leftovers.length === 0, `left on the hosts: ${leftovers.join("; ")}`);
            return "destroy empties the stack, and the removal steps leave no k3s, toolkit, token or firewall on the hosts";
        },
    },
    {
        name: "engine-yaml",
        onStack: false,
        async run(lab) {
            const spare = lab.world.extras[0];
            // The CLI boots a Node.js plugin through pulumi-language-nodejs, which is not built here (engine/build.sh):
            // plugin/ is served as an ambient plugin instead, booted by the same runner that language host uses.
            const ambient = join(lab.world.dir, "ambient-plugins");
            mkdirSync(ambient, { recursive: true });
            const runner = join(REPO, "node_modules", "@pulumi", "pulumi", "cmd", "run-plugin");
            writeFileSync(join(ambient, "pulumi-resource-k3s-multicloud"), `#!/bin/sh\nexec "${process.execPath}" "${runner}" "${join(REPO, "plugin")}" "$@"\n`, { mode: 0o755 });
            const consumer = new PulumiProject({
                engine: lab.engine,
                dir: join(lab.world.dir, "yaml"),
                projectName: "k3s-lab-yaml",
                stack: STACK,
                program: { projectFile: yamlProgramForLab(lab, spare) },
                path: [ambient],
                prefix: ["ip", "netns", "exec", lab.world.runnerNs],
                progress: lab.progress,
            });
            const secret = (key: string) => lab.secrets[`k3s-multicloud:${key}`];
            await consumer.run(["stack", "init", STACK, "--non-interactive"]);
            for (const key of ["sshPrivateKey", "swasPassword", "k3sToken", "k3sAgentToken"]) {
                const set = await consumer.run(["config", "set", "--secret", `k3s-lab-yaml:${key}`, "--stack", STACK, "--non-interactive"], { input: secret(key) });
                expect(set.status === 0, `pulumi config set ${key} in the YAML project failed: ${said(set)}`);
            }
            const preview = await consumer.run(["preview", "--stack", STACK, "--non-interactive"]);
            expect(preview.status === 0, `pulumi preview of the YAML program failed: ${said(preview, 8)}`);
            const up = await consumer.run(["up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"], { timeoutMs: 300_000 });
            expect(up.status === 0, `pulumi up of the YAML program failed: ${said(up, 10)}`);
            const outputs = JSON.parse((await consumer.must(["stack", "output", "--json"])).stdout) as { nodes?: Array<{ name: string }>; kubeconfig?: string };
            const names = (outputs.nodes ?? []).map((n) => n.name).join(", ");
            expect(names === "swas-1, home-1, spare-1" && outputs.kubeconfig === "[secret]", `the YAML stack's outputs: nodes ${names || "none"}, kubeconfig ${outputs.kubeconfig === "[secret]" ? "secret" : "not secret"}`);
            const notReady = ["swas-1", "home-1", "spare-1"].filter((n) => lab.apiNode(n)?.ready !== "True");
            expect(notReady.length === 0, `not Ready in the API: ${notReady.join(", ")}`);
            const label = lab.world.kubectl(["get", "node", "spare-1", "-o", "jsonpath={.metadata.labels.example\\.com/tier}"]).stdout;
            expect(label === "edge", `spare-1's label example.com/tier is '${label}', not the program's edge`);
            const destroy = await consumer.run(["destroy", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"]);
            expect(destroy.status === 0, `pulumi destroy of the YAML program failed: ${said(destroy, 8)}`);
            return `examples/yaml/Pulumi.yaml on the lab's hosts, run by the real CLI and pulumi-language-yaml with the component package (plugin/): preview, up (${(up.ms / 1000).toFixed(1)} s) - swas-1, home-1 and spare-1 Ready in the real API, spare-1 labelled as the program says, the kubeconfig output secret - and destroy`;
        },
    },
];

/** The checks in the order they run (each builds on what the ones before it left). */
export const STACK_CHECK_NAMES: StackCheck[] = CHECKS.map((check) => check.name);

export async function runStackLab(options: { readonly engine: Engine; readonly breaks?: readonly StackCheck[]; readonly only?: readonly string[]; readonly progress?: (line: string) => void }): Promise<CheckResult[]> {
    const progress = options.progress ?? (() => undefined);
    const breaks = new Set(options.breaks ?? []);
    // One spare machine, for the node that moves to a new one.
    return withWorld(1, async (world) => {
        const swasPassword = `Lab-${world.id}-9!`;
        await world.build(swasPassword);
        const lab = new StackLabRun(world, options.engine, breaks, progress, swasPassword);
        for (const name of breaks) progress(`BROKEN ON PURPOSE: ${STACK_BREAKS[name]}`);
        await lab.project.init(lab.config(), lab.secrets);
        return runChecksInTurn(lab, CHECKS, { only: options.only, deploy: () => lab.up(), deploys: "stack-up", progress, explain: () => world.standInLogs() });
    });
}
