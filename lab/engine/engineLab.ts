import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { changedResources, GraphNode } from "../../bench/graphMetrics";
import { editedHostScriptsCopy } from "../../bench/evaluateProcess";
import { CheckResult } from "../lab";
import { HostKind, LAB_ADDRESSES, LabWorld, withWorld } from "../world";
import { CliResult, Engine, PulumiProject, StackExport, tail } from "./engine";
import { ENGINE_LAB_CLUSTER, EngineLabNode, ProgramBreak } from "./program";

/**
 * The engine lab: the namespace lab's hosts (real sshd, 1:1 NAT, a home router, ufw, userspace WireGuard, the k3s
 * stand-in), and our program run on them by the real Pulumi engine - the CLI built from its Go module, the command
 * provider (a stand-in on the real provider's libraries: its module is not served here), a file backend - as a user
 * runs it: preview, up, change, remove, interrupt, refresh, destroy. One line per check.
 */

export const ENGINE_BREAKS = {
    "engine-preview-first": "two steps registered under one name (mocks accept it; the engine must refuse)",
    "engine-up": "UDP between the Vultr host and the SWAS host dropped by the SWAS router, so the mesh cannot form",
    "engine-no-change": "a step input that changes on every run (a timestamp)",
    "engine-refresh": "a step stored without a value its provider fills in by default (as an older provider stored it), imported into the state",
    "engine-state-secrets": "the agent token exported as a plain stack output",
    "engine-config-change": "every node's registration labels carry all nodes' taints, so one node's taint touches all",
    "engine-library-upgrade": "the 'comment' edit is a line of code instead",
    "engine-hostkey-changed": "the existing server's host key is not pinned (insecureIgnoreHostKey)",
    "engine-interrupted": "the next `up` after SIGKILL runs without the recovery docs/operations.md prescribes",
    "engine-annotations": "the Kubernetes provider given the server's own address from k3s.yaml, which the machine running pulumi cannot reach",
    "engine-annotation-drift": "the next `up` after a hand edit runs without the `pulumi refresh` docs/annotations.md prescribes",
    "engine-composed": "the second project references a stack that does not exist (another project's name)",
    "engine-remove-node": "the removal step deleted from the state before the node is removed (`pulumi state delete`)",
    "engine-remove-unreachable": "the host answers but refuses the key instead of being gone",
    "engine-destroy": "the hosts' toolkit directory re-created after the destroy, as a step nobody deleted would leave it",
} as const;
export type EngineCheck = keyof typeof ENGINE_BREAKS;

/** Which checks' breaks are planted in the program itself (config lab:breaks). */
const PROGRAM_BREAKS: Partial<Record<EngineCheck, ProgramBreak>> = {
    "engine-preview-first": "duplicate-name",
    "engine-no-change": "clock-in-a-step",
    "engine-config-change": "coupled-nodes",
    "engine-hostkey-changed": "unpinned-home",
    "engine-state-secrets": "token-output",
    "engine-annotations": "private-kubeconfig",
};

export interface EngineLabOptions {
    readonly engine: Engine;
    readonly breaks?: readonly EngineCheck[];
    readonly only?: readonly string[];
    readonly progress?: (line: string) => void;
}

export class CheckFailed extends Error {}

export function expect(condition: unknown, why: string): asserts condition {
    if (!condition) throw new CheckFailed(why);
}

const PROGRAM = resolve(__dirname, "program.ts");
const K3S_VERSION = "v1.33.6+k3s1";

/** The lab's nodes: the SWAS-like server, the Vultr-like and home agents, and any extra Vultr-like hosts as agents. */
export function engineLabNodes(world: LabWorld): EngineLabNode[] {
    return [
        node("swas-1", "server", LAB_ADDRESSES.swasPublic, LAB_ADDRESSES.swasPrivate, "root", "password", world.hostPublicKey("swas")),
        node("vultr-1", "agent", LAB_ADDRESSES.vultr, LAB_ADDRESSES.vultr, "root", "key", world.hostPublicKey("vultr")),
        node("home-1", "agent", LAB_ADDRESSES.homePublic, LAB_ADDRESSES.homePrivate, world.homeUser, "key", world.hostPublicKey("home")),
        ...world.extras.map((extra) => node(extra.name, "agent", extra.sshAddress, extra.sshAddress, "root", "key", publicKeyOfHost(extra.hostKeyFile))),
    ];
}

function publicKeyOfHost(hostKeyFile: string): string {
    return readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

/** What the engine lab knows while its checks run. */
export class EngineLabRun {
    nodes: EngineLabNode[];
    readonly secrets: Record<string, string>;
    readonly project: PulumiProject;
    readonly progress: (line: string) => void;

    constructor(
        readonly world: LabWorld,
        readonly engine: Engine,
        readonly breaks: ReadonlySet<EngineCheck>,
        progress: (line: string) => void,
        swasPassword: string,
        nodes = engineLabNodes(world),
    ) {
        this.progress = progress;
        this.nodes = nodes;
        const token = (name: string) => `${name}${process.pid}${world.id}`.padEnd(48, "x");
        this.secrets = {
            "lab:sshPrivateKey": readFileSync(world.clientKey, "utf8"),
            "lab:swasPassword": swasPassword,
            "lab:token": token("labservertoken"),
            "lab:agentToken": token("labagenttoken"),
        };
        const dir = join(world.dir, "engine");
        mkdirSync(dir, { recursive: true });
        this.project = new PulumiProject({
            engine,
            dir,
            projectName: "k3smc-engine-lab",
            stack: "lab",
            program: PROGRAM,
            // The CLI, the program and the providers run on the runner: the machine running `pulumi`.
            prefix: ["ip", "netns", "exec", world.runnerNs],
            progress,
        });
    }

    config(nodes = this.nodes): Record<string, string> {
        const programBreaks = [...this.breaks].map((b) => PROGRAM_BREAKS[b]).filter(Boolean);
        return {
            "lab:k3sVersion": K3S_VERSION,
            "lab:nodes": JSON.stringify(nodes),
            // The lab's steps fail fast; the library's default for real hosts is 60 attempts (docs/operations.md, "A join that cannot finish").
            "lab:dialErrorLimit": "3",
            // A minute, as the namespace lab (lab/program.ts): 20 s was too short for a stand-in restart under CI load.
            "lab:readyTimeoutSeconds": "60",
            "lab:meshTimeoutSeconds": "20",
            "lab:apiAllowedCidrs": JSON.stringify([`${LAB_ADDRESSES.runner}/32`]),
            "lab:breaks": JSON.stringify(programBreaks),
            ...(this.annotations ? { "lab:annotations": JSON.stringify(this.annotations) } : {}),
        };
    }

    /** Node annotations the program manages through the Kubernetes provider (engine-annotations), or none. */
    annotations: Record<string, Record<string, string>> | undefined;

    /** The lab API's Node object, as kubectl prints it. */
    node(name: string): { metadata: { annotations?: Record<string, string>; managedFields?: Array<{ manager: string; operation: string; fieldsV1?: unknown }> } } {
        const run = this.world.kubectl(["get", "node", name, "-o", "json", "--show-managed-fields"]);
        if (run.status !== 0) throw new CheckFailed(`kubectl get node ${name} failed: ${run.stderr}`);
        return JSON.parse(run.stdout);
    }

    async setNodes(nodes: EngineLabNode[]): Promise<void> {
        this.nodes = nodes;
        await this.project.setConfig(this.config());
    }

    /** The program's registrations under runtime mocks for `nodes` (the mocks' prediction). */
    mockGraph(nodes = this.nodes, program = PROGRAM): GraphNode[] {
        // Secrets as the CLI stores them: `pulumi config set --secret key < file` drops the value's final newline
        // (pulumi/pkg cmd/pulumi/config: RemoveTrailingNewline, unless --raw) - an SSH key file's included.
        const stored = Object.fromEntries(Object.entries(this.secrets).map(([key, value]) => [key, value.replace(/\r?\n$/, "")]));
        const input = JSON.stringify({ config: { ...this.config(nodes), ...stored }, secretKeys: Object.keys(this.secrets), program, stack: "lab", project: "k3smc-engine-lab" });
        const out = execFileSync(process.execPath, [join(REPO, "node_modules", "tsx", "dist", "cli.mjs"), join(__dirname, "evaluateUnderMocks.ts")], { input, encoding: "utf8", maxBuffer: 1 << 28 });
        return (JSON.parse(out) as { graph: GraphNode[] }).graph;
    }

    logins(): Record<HostKind, number> {
        return { swas: this.world.sshLogins("swas"), vultr: this.world.sshLogins("vultr"), home: this.world.sshLogins("home") };
    }

    calls(kind: HostKind): string[] {
        const file = join(this.world.hosts[kind].root, "calls.log");
        return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
    }

    /** What SIGKILL left pending in the state (set by engine-interrupted). */
    pendingSeen: string[] = [];

    async up(extra: readonly string[] = [], timeoutMs?: number): Promise<CliResult> {
        return this.project.run(["up", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive", ...extra], { timeoutMs });
    }

    /**
     * An up interrupted once a mesh check is in flight: SIGINT to the CLI (Pulumi's graceful cancel, what Ctrl-C
     * sends), or SIGKILL of the CLI alone (a crash, the OOM killer, a lost CI runner).
     */
    async interruptedUp(signal: "SIGINT" | "SIGKILL", extra: readonly string[] = []): Promise<CliResult> {
        const pidFile = join(this.world.dir, "cli.pid");
        let wrapper = 0;
        let sent = false;
        return this.project.run(["up", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive", ...extra], {
            env: { K3SMC_ENGINE_CLI_PID_FILE: pidFile },
            onSpawn: (pid) => (wrapper = pid),
            onOutput: (text) => {
                if (sent || !/mesh-check (updating|creating replacement)/.test(text)) return;
                sent = true;
                // A moment into the step, so its SSH session is open.
                setTimeout(() => {
                    try {
                        if (signal === "SIGINT") process.kill(wrapper, "SIGINT");
                        else process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
                    } catch {
                        // it ended already: the check sees that in the exit status
                    }
                }, 1500);
            },
        });
    }

    async preview(extra: readonly string[] = []): Promise<CliResult> {
        return this.project.run(["preview", "--stack", "lab", "--non-interactive", ...extra]);
    }
}

const REPO = resolve(__dirname, "..", "..");

function node(name: string, role: "server" | "agent", publicIp: string, privateIp: string, user: string, auth: "key" | "password", hostKey: string): EngineLabNode {
    return { name, role, publicIp, privateIp, location: "lab", user, auth, hostKey };
}

/**
 * What a failed CLI run said, briefly: its error lines (a step's `ERROR:` and the engine's `error:`), else its last
 * lines.
 */
export function said(result: CliResult, lines = 6): string {
    const text = `${result.stdout}\n${result.stderr}`;
    const errors = [...new Set(text.split("\n").map((l) => l.trim()).filter((l) => /(^| )(ERROR|error):/.test(l) && !l.startsWith("~ ") && !l.startsWith("+ ")))];
    // A failed command's error quotes the whole command text (the relay is 3 KB): its first words are enough here.
    const short = errors.map((line) => line.replace(/(running ".{0,60})[^]*$/, "$1...\""));
    return errors.length > 0 ? [...new Set(short)].slice(0, 4).join(" | ") : tail(text, lines);
}

/** Every check but the first preview and the up itself works on the cluster the up deployed. */
const CHECKS: Array<LabCheckSpec<EngineCheck, EngineLabRun>> = [
    {
        name: "engine-preview-first",
        onStack: false,
        async run(lab) {
            const { result, steps, errors } = await lab.project.previewSteps();
            expect(result.status === 0, `the first preview failed: ${errors.join(" | ") || said(result)}`);
            const predicted = lab.mockGraph().map((n) => `create ${n.name}`).sort();
            const missing = predicted.filter((s) => !steps.includes(s));
            const extra = steps.filter((s) => !predicted.includes(s) && !s.startsWith("create default"));
            expect(missing.length === 0 && extra.length === 0, `mocks: ${predicted.length} creates, engine: ${steps.length} steps; engine lacks ${missing.join(", ") || "nothing"}; engine adds ${extra.join(", ") || "nothing"}`);
            return `${steps.length} steps to create, the addresses and command outputs unknown, exactly what the program registers under mocks`;
        },
    },
    {
        name: "engine-up",
        onStack: false,
        async run(lab) {
            const blocked = lab.breaks.has("engine-up") ? blockMesh(lab) : undefined;
            const result = await lab.up();
            if (blocked) unblockMesh(lab, blocked);
            expect(result.status === 0, `pulumi up failed: ${said(result, 10)}`);
            const state = await lab.project.exportState();
            const checks = (state.deployment.resources ?? []).filter((r) => r.type === "command:remote:Command" && r.urn.endsWith("-mesh-check"));
            expect(checks.length === 3, `${checks.length} mesh checks in the state, not 3`);
            // What the checks judged on the hosts, seen again here: each host's flannel-wg has a peer for the other two,
            // at its public endpoint, with a handshake.
            for (const kind of ["swas", "vultr", "home"] as const) {
                const dump = lab.world.inHost(kind, ["wg", "show", "flannel-wg", "dump"]).stdout.split("\n").slice(1).filter(Boolean);
                const live = dump.filter((line) => line.split("\t")[4] !== "0");
                expect(live.length >= 2, `${kind}: ${live.length} peers with a handshake on flannel-wg`);
            }
            // The engine stores what the program registered under mocks, but for what only a run can know: the agents'
            // join token carries the CA hash the server's install printed (the mocks' install prints nothing).
            const caHashed = (d: InputDifference) =>
                /^lab-(vultr|home)-1-install$/.test(d.resource) && d.path === "stdin" && new RegExp(`^K10[0-9a-f]{64}::node:${d.mocks}$`).test(String(d.engine));
            const differences = (await inputsVersusMocks(lab)).filter((d) => !caHashed(d));
            expect(differences.length === 0, `the engine stored other inputs than the mocks registered: ${differences.map(describeDifference).join("; ")}`);
            return `${(state.deployment.resources ?? []).length} resources created in ${(result.ms / 1000).toFixed(1)} s with the inputs the mocks predict (the agents' tokens carry the real CA hash); the mesh checks passed on real WireGuard`;
        },
    },
    {
        name: "engine-no-change",
        onStack: true,
        async run(lab) {
            const preview = await lab.project.previewSteps(["--expect-no-changes"]);
            expect(preview.result.status === 0, `preview --expect-no-changes failed: ${preview.steps.join(", ") || preview.errors.join(" | ")}`);
            const before = lab.logins();
            const up = await lab.up();
            const after = lab.logins();
            expect(up.status === 0, `the unchanged up failed: ${said(up)}`);
            const opened = (Object.keys(before) as HostKind[]).filter((k) => after[k] !== before[k]).map((k) => `${k}: ${after[k] - before[k]}`);
            expect(opened.length === 0, `an unchanged up opened SSH sessions: ${opened.join(", ")}`);
            return "preview --expect-no-changes passes; an unchanged up opens no SSH session on any host";
        },
    },
    {
        name: "engine-refresh",
        onStack: true,
        async run(lab) {
            if (lab.breaks.has("engine-refresh")) await plantStateWithoutDefault(lab);
            const before = lab.logins();
            const result = await lab.project.run(["refresh", "--yes", "--expect-no-changes", "--stack", "lab", "--non-interactive"]);
            expect(result.status === 0, `refresh --expect-no-changes failed: ${said(result)}`);
            const opened = (Object.keys(before) as HostKind[]).filter((k) => lab.logins()[k] !== before[k]);
            expect(opened.length === 0, `refresh opened SSH sessions on ${opened.join(", ")}`);
            // What refresh read back is what the program registers: the next preview is quiet too.
            const next = await lab.project.previewSteps();
            expect(next.result.status === 0 && next.steps.length === 0, `after the refresh, a preview would change ${next.steps.join(", ") || said(next.result)}`);
            return "refresh --expect-no-changes passes without an SSH session, and the next preview is quiet";
        },
    },
    {
        name: "engine-state-secrets",
        onStack: true,
        async run(lab) {
            const exported = JSON.stringify(await lab.project.exportState());
            const file = readFileSync(join(lab.project.stateDir, ".pulumi", "stacks", "k3smc-engine-lab", "lab.json"), "utf8");
            const planted = Object.entries(lab.secrets).map(([key, value]) => [key, key === "lab:sshPrivateKey" ? value.split("\n")[1] : value] as const);
            // The planted values, and what the hosts produced: the admin client key the kubeconfig step printed.
            const leaked = [
                ...planted.filter(([, value]) => exported.includes(value) || file.includes(value)).map(([key]) => key),
                ...(["client-key-data", "PRIVATE KEY-----"] as const).filter((shape) => exported.includes(shape) || file.includes(shape)),
            ];
            expect(leaked.length === 0, `in plain text in the state: ${leaked.join(", ")}`);
            const shown = (await lab.project.must(["stack", "export", "--show-secrets"])).stdout;
            const found = planted.filter(([, value]) => shown.includes(value)).map(([key]) => key);
            expect(found.length === planted.length, `the planted values are not in the state at all (only ${found.join(", ")}): the check would prove nothing`);
            const stack = (JSON.parse(exported) as StackExport).deployment.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
            const kubeconfig = stack?.outputs?.kubeconfig as Record<string, unknown> | undefined;
            expect(kubeconfig && "ciphertext" in kubeconfig, "the kubeconfig output is not a secret in the state");
            return "no SSH key, password, token or the kubeconfig's client key in plain text in the exported state or the backend's file (all are there, encrypted); the kubeconfig output is secret";
        },
    },
    {
        name: "engine-config-change",
        onStack: true,
        async run(lab) {
            const before = lab.mockGraph();
            const changed = lab.nodes.map((n) => (n.name === "vultr-1" ? { ...n, taints: ["lab.example/edge=true:NoSchedule"] } : n));
            const predicted = changedResources(before, lab.mockGraph(changed)).map((n) => n.name).sort();
            await lab.setNodes(changed);
            const { result, steps } = await lab.project.previewSteps(["--diff"]);
            expect(result.status === 0, `the preview failed: ${said(result)}`);
            const listed = steps.map((s) => s.split(" ")[1]).sort();
            expect(JSON.stringify(listed) === JSON.stringify(predicted), `mocks predict ${predicted.join(", ")}; the engine lists ${steps.join(", ")}`);
            const before2 = { swas: lab.calls("swas").length, home: lab.calls("home").length };
            const up = await lab.up();
            expect(up.status === 0, `the up failed: ${said(up)}`);
            const restartsOn = (kind: "swas" | "home") => lab.calls(kind).slice(before2[kind]).filter((l) => /systemctl (restart|start|stop) k3s/.test(l));
            const drains = lab.calls("swas").slice(before2.swas).filter((l) => / drain | cordon | uncordon /.test(l));
            expect(restartsOn("swas").length === 0 && restartsOn("home").length === 0, `other nodes restarted: ${[...restartsOn("swas"), ...restartsOn("home")].join("; ")}`);
            expect(drains.every((l) => l.includes("vultr-1")), `the server drained another node: ${drains.filter((l) => !l.includes("vultr-1")).join("; ")}`);
            expect(drains.length > 0, "vultr-1 was not drained before its restart");
            return `preview lists exactly ${steps.join(", ")} (as the mocks predict); up drains and restarts vultr-1 only`;
        },
    },
    {
        name: "engine-library-upgrade",
        onStack: true,
        async run(lab) {
            // A release that only edits the host toolkit, previewed from a copy of the program with every host file edited.
            const preview = async (edit: "comment" | "code") => {
                const copy = editedHostScriptsCopy(edit);
                try {
                    return await lab.project.previewSteps([], join(copy.root, "lab", "engine", "program.ts"));
                } finally {
                    copy.remove();
                }
            };
            const comment = await preview(lab.breaks.has("engine-library-upgrade") ? "code" : "comment");
            expect(comment.result.status === 0 && comment.steps.length === 0, `a comment in every host file: ${comment.steps.join(", ") || said(comment.result)}`);
            const code = await preview("code");
            const prepares = lab.nodes.map((n) => `update ${ENGINE_LAB_CLUSTER}-${n.name}-prepare`).sort();
            expect(JSON.stringify(code.steps) === JSON.stringify(prepares), `a line of code in every host file: the engine lists ${code.steps.join(", ") || said(code.result)}, not only ${prepares.join(", ")}`);
            return `a comment in every host file changes nothing; a line of code updates ${code.steps.length} prepare steps and nothing else`;
        },
    },
    {
        name: "engine-hostkey-changed",
        onStack: true,
        async run(lab) {
            const other = join(lab.world.dir, "impostor_host_key");
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", other]);
            await lab.world.restartSshd("home", other);
            try {
                const changed = lab.nodes.map((n) => (n.name === "home-1" ? { ...n, labels: { "lab.example/rack": "2" } } : n));
                await lab.setNodes(changed);
                const before = lab.world.sshLogins("home");
                const up = await lab.up();
                const text = `${up.stdout}\n${up.stderr}`;
                const logins = lab.world.sshLogins("home") - before;
                expect(up.status !== 0, `up succeeded against a host with another key (${logins} login(s) accepted there)`);
                expect(/host key mismatch/.test(text), `failed, but not in words about the host key: ${said(up, 8)}`);
                expect(logins === 0, `${logins} login(s) reached the host with the wrong key`);
                return "the step on home-1 fails with 'ssh: handshake failed: ssh: host key mismatch' and no login reaches the host";
            } finally {
                await lab.world.restartSshd("home");
                const converge = await lab.up();
                if (converge.status !== 0) lab.progress(`after restoring home's key, up failed: ${said(converge)}`);
            }
        },
    },
    {
        name: "engine-interrupted",
        onStack: true,
        async run(lab) {
            // Something in flight: every mesh check runs again (a new timeout) while UDP between the Vultr and the
            // SWAS host is dropped, so the checks on those two wait for a handshake.
            const blocked = blockMesh(lab);
            const rebooted = lab.world.rebootFlannel("vultr");
            expect(!rebooted, rebooted ?? "");
            try {
                await lab.project.setConfig({ "lab:meshTimeoutSeconds": "25" });
                const interrupted = await lab.interruptedUp("SIGINT");
                const words = "^C received; cancelling.";
                expect(interrupted.status !== 0 && interrupted.stdout.includes(words), `SIGINT: exit ${interrupted.status}, ${said(interrupted, 4)}`);
                // SIGKILL while a step is being replaced: its replacement is a create in flight.
                const urns = (await lab.project.exportState()).deployment.resources?.filter((r) => /-(swas|vultr)-1-mesh-check$/.test(r.urn)).map((r) => r.urn) ?? [];
                const killed = await lab.interruptedUp("SIGKILL", urns.flatMap((urn) => ["--replace", urn]));
                expect(killed.status === 137, `SIGKILL: exit ${killed.status}`);
                const pending = (await lab.project.exportState()).deployment.pending_operations ?? [];
                expect(pending.length > 0, "SIGKILL of the CLI left no pending operation in the state: nothing was in flight");
                lab.pendingSeen = pending.map((p) => `${p.type} of ${p.resource.urn.slice(p.resource.urn.lastIndexOf("::") + 2)}`);
            } finally {
                unblockMesh(lab, blocked);
            }
            const recovery = lab.breaks.has("engine-interrupted") ? [] : await recoverAfterKill(lab);
            const next = await lab.up();
            expect(next.status === 0, `the next up after ${recovery.join(", ") || "no recovery"} failed: ${said(next, 8)}`);
            const after = await lab.preview(["--expect-no-changes"]);
            expect(after.status === 0, `after the recovery the stack is not settled: ${said(after)}`);
            return `SIGINT: the in-flight steps finish and up stops; SIGKILL leaves ${lab.pendingSeen.join(", ")} pending; ${recovery.join(", ")} then up completes`;
        },
    },
    {
        name: "engine-annotations",
        onStack: true,
        async run(lab) {
            const key = "lab.example/owner";
            const owners = (node: string) => (lab.node(node).metadata.managedFields ?? []).filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes(`f:${key}`)).map((f) => `${f.manager} (${f.operation})`);
            lab.annotations = { "vultr-1": { [key]: "team-a" } };
            await lab.project.setConfig(lab.config());
            const first = await lab.up();
            expect(first.status === 0, `pulumi up with node annotations failed: ${said(first, 8)}`);
            const vultr = lab.node("vultr-1").metadata;
            expect(vultr.annotations?.[key] === "team-a", `vultr-1's ${key} is '${vultr.annotations?.[key] ?? "(none)"}' in the API, not team-a`);
            const managers = owners("vultr-1");
            expect(managers.some((m) => m.startsWith("pulumi-kubernetes")), `${key} on vultr-1 is managed by ${managers.join(", ") || "nobody"}, not the Kubernetes provider`);
            const overwrite = lab.node("swas-1").metadata.annotations?.["flannel.alpha.coreos.com/public-ip-overwrite"];
            expect(overwrite === LAB_ADDRESSES.swasPublic, `swas-1's public-ip-overwrite is '${overwrite}', not ${LAB_ADDRESSES.swasPublic}`);
            // A change in review: the annotation and the node's restart step, then applied.
            lab.annotations = { "vultr-1": { [key]: "team-b" } };
            await lab.project.setConfig(lab.config());
            const preview = await lab.preview(["--diff"]);
            expect(preview.status === 0, `the preview of the change failed: ${said(preview)}`);
            const shown = preview.stdout.includes(`"team-a" => "team-b"`) && preview.stdout.includes(`${ENGINE_LAB_CLUSTER}-vultr-1-metadata-restart`);
            expect(shown, `preview --diff does not show ${key} going from team-a to team-b and vultr-1's restart step: ${tail(preview.stdout, 12)}`);
            const second = await lab.up();
            expect(second.status === 0, `pulumi up of the change failed: ${said(second, 8)}`);
            const after = lab.node("vultr-1").metadata.annotations?.[key];
            expect(after === "team-b", `vultr-1's ${key} is '${after}' after up, not team-b`);
            expect(/vultr-1-metadata-restart/.test(second.stdout), `the restart step of vultr-1 did not run: ${tail(second.stdout, 8)}`);
            // Managed no more: the patches are deleted, and with them our annotation.
            lab.annotations = undefined;
            await lab.project.must(["config", "rm", "lab:annotations"]);
            const third = await lab.up();
            expect(third.status === 0, `pulumi up without node annotations failed: ${said(third, 8)}`);
            const left = lab.node("vultr-1").metadata.annotations?.[key];
            expect(left === undefined, `vultr-1 still carries ${key}=${left} after its patch was deleted`);
            return `the real Kubernetes provider patched the real API: ${key} set on vultr-1 by ${managers.join(", ")}, swas-1's public-ip-overwrite ${overwrite}; preview --diff showed "team-a" => "team-b" and vultr-1's restart step, up applied both; deleting the patches removed the annotation`;
        },
    },
    {
        name: "engine-annotation-drift",
        onStack: true,
        async run(lab) {
            const key = "lab.example/owner";
            lab.annotations = { "vultr-1": { [key]: "team-b" } };
            await lab.project.setConfig(lab.config());
            const managed = await lab.up();
            expect(managed.status === 0, `pulumi up with node annotations failed: ${said(managed, 8)}`);
            // Someone edits the Node by hand: our annotation, and one we do not manage.
            const edit = lab.world.kubectl(["annotate", "--overwrite", "node", "vultr-1", `${key}=hand-edited`, "lab.example/not-ours=keep"]);
            expect(edit.status === 0, `kubectl annotate failed: ${edit.stderr}`);
            let drift = "";
            if (!lab.breaks.has("engine-annotation-drift")) {
                const refresh = await lab.project.run(["refresh", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive", "--diff"]);
                expect(refresh.status === 0, `pulumi refresh failed: ${said(refresh)}`);
                drift = refresh.stdout.includes("hand-edited") ? "refresh showed the hand edit" : "";
                expect(drift, `pulumi refresh did not show the hand-edited ${key}: ${tail(refresh.stdout, 10)}`);
            }
            const restore = await lab.up();
            expect(restore.status === 0, `pulumi up after the hand edit failed: ${said(restore, 8)}`);
            const annotations = lab.node("vultr-1").metadata.annotations ?? {};
            expect(annotations[key] === "team-b", `vultr-1's ${key} is '${annotations[key]}' after up, not the stack's team-b`);
            expect(annotations["lab.example/not-ours"] === "keep", `the annotation we do not manage was changed: '${annotations["lab.example/not-ours"]}'`);
            lab.annotations = undefined;
            await lab.project.must(["config", "rm", "lab:annotations"]);
            const cleared = await lab.up();
            expect(cleared.status === 0, `pulumi up without node annotations failed: ${said(cleared, 8)}`);
            return `${drift}; the next up put the stack's ${key}=team-b back on the real Node and left lab.example/not-ours alone`;
        },
    },
    {
        name: "engine-composed",
        onStack: true,
        async run(lab) {
            const consumer = new PulumiProject({
                engine: lab.engine,
                dir: join(lab.world.dir, "consumer"),
                stateDir: lab.project.stateDir,
                projectName: "k3smc-consumer",
                stack: "lab",
                program: resolve(__dirname, "consumerProgram.ts"),
                prefix: ["ip", "netns", "exec", lab.world.runnerNs],
                progress: lab.progress,
            });
            const referenced = lab.breaks.has("engine-composed") ? "organization/k3smc-other/lab" : "organization/k3smc-engine-lab/lab";
            await consumer.init({ "k3smc-consumer:clusterStack": referenced }, {});
            const up = await consumer.run(["up", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive"]);
            expect(up.status === 0, `the second project's up failed: ${said(up, 8)}`);
            const made = lab.world.kubectl(["get", "configmap", "k3smc-composed", "-n", "default", "-o", "jsonpath={.data.from}"]);
            expect(made.status === 0 && made.stdout.startsWith("a second stack"), `no ConfigMap k3smc-composed on the API: ${made.stderr || made.stdout}`);
            const destroyed = await consumer.run(["destroy", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive"]);
            expect(destroyed.status === 0, `the second project's destroy failed: ${said(destroyed)}`);
            const gone = lab.world.kubectl(["get", "configmap", "k3smc-composed", "-n", "default", "-o", "name"]);
            expect(gone.status !== 0, "the ConfigMap outlived the second project's destroy");
            return "a second project read the cluster's kubeconfig output through a StackReference and created a ConfigMap on the real API with it; its destroy removed it";
        },
    },
    {
        name: "engine-remove-node",
        onStack: true,
        async run(lab) {
            const gone = "home-1";
            const removalUrn = (await lab.project.exportState()).deployment.resources?.find((r) => r.urn.endsWith(`::${ENGINE_LAB_CLUSTER}-${gone}-removal`))?.urn;
            expect(removalUrn, `no removal step of ${gone} in the state`);
            if (lab.breaks.has("engine-remove-node")) await lab.project.must(["state", "delete", removalUrn, "--yes", "--force"]);
            const homeKey = lab.world.inHost("home", ["wg", "show", "flannel-wg", "public-key"]).stdout.trim();
            await lab.setNodes(lab.nodes.filter((n) => n.name !== gone));
            const up = await lab.up();
            expect(up.status === 0, `removing ${gone} failed: ${said(up, 8)}`);
            const text = up.stdout;
            const uninstalled = lab.calls("home").some((l) => l.includes("k3s-agent-uninstall.sh ran"));
            // The Node is gone from the real API, and the server's flannel withdrew the lease its peers learn from.
            const known = lab.world.kubectl(["get", "node", gone, "-o", "name"]).status === 0 || existsSync(join(lab.world.api, "leases", gone));
            const peers = (["swas", "vultr"] as const).filter((kind) => lab.world.inHost(kind, ["wg", "show", "flannel-wg", "peers"]).stdout.includes(homeKey));
            const pruned = ["swas-1", "vultr-1"].every((n) => new RegExp(`${ENGINE_LAB_CLUSTER}-${n}-prune\\s.*replaced`).test(text));
            expect(text.includes(`deleted node ${gone}`), `the stored removal did not drain and delete ${gone} through the server: ${said(up, 6)}`);
            expect(uninstalled, `k3s was not uninstalled on ${gone}`);
            expect(!known && peers.length === 0, `the stand-in still knows ${gone}: ${known ? "its lease is there" : ""} ${peers.length ? `peer on ${peers.join(", ")}` : ""}`);
            expect(pruned, `the survivors' prune steps were not replaced: ${said(up, 6)}`);
            return `the stored delete drained ${gone} through the server, deleted its Node and uninstalled k3s; the survivors pruned and no longer peer with it`;
        },
    },
    {
        name: "engine-remove-unreachable",
        onStack: true,
        async run(lab) {
            const gone = "vultr-1";
            if (lab.breaks.has("engine-remove-unreachable")) {
                // It answers, but no longer takes the key.
                const other = join(lab.world.dir, "other_client_key");
                execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", other]);
                writeFileSync(join(lab.world.dir, "vultr_authorized", "root"), readFileSync(`${other}.pub`));
            } else {
                lab.world.inNamespace(lab.world.ns("inet"), ["ip", "link", "set", "p-vultr", "down"]);
            }
            await lab.setNodes(lab.nodes.filter((n) => n.name !== gone));
            const started = Date.now();
            const up = await lab.up([], 300_000);
            const seconds = (Date.now() - started) / 1000;
            expect(up.status === 0, `removing the unreachable ${gone} failed after ${seconds.toFixed(0)} s: ${said(up, 8)}`);
            expect(seconds < 300, `took ${seconds.toFixed(0)} s`);
            const words = `${LAB_ADDRESSES.vultr} does not answer (host gone?): uninstall skipped`;
            expect(up.stdout.includes(words), `no word of what was skipped: ${said(up, 6)}`);
            return `finished in ${seconds.toFixed(0)} s: '${words}'`;
        },
    },
    {
        name: "engine-destroy",
        onStack: true,
        async run(lab) {
            const destroy = await lab.project.run(["destroy", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive"]);
            expect(destroy.status === 0, `destroy failed: ${said(destroy, 8)}`);
            const left = (await lab.project.exportState()).deployment.resources ?? [];
            expect(left.length === 0, `the stack still holds ${left.map((r) => r.urn.slice(r.urn.lastIndexOf("::") + 2)).join(", ")}`);
            if (lab.breaks.has("engine-destroy")) mkdirSync(join(lab.world.hosts.swas.root, "opt", "k3s-multicloud", "toolkit"), { recursive: true });
            // The Vultr host was gone when it was removed (its uninstall was skipped, in words); the others were reached.
            const leftovers = (["swas", "home"] as const).flatMap((kind) => leftOnHost(lab.world, kind).map((what) => `${kind}: ${what}`));
            expect(leftovers.length === 0, `left on the hosts: ${leftovers.join("; ")}`);
            return "the stack is empty; no k3s, toolkit, token or firewall file is left on the hosts the removals reached (the SWAS and home hosts)";
        },
    },
];

/** A stored or registered input value with secrets unwrapped: the engine's `plaintext` (JSON), the mocks' `value`. */
function plain(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") {
            return plain("plaintext" in record ? JSON.parse(record.plaintext as string) : record.value);
        }
        return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, plain(v)]));
    }
    return value;
}

interface InputDifference {
    readonly resource: string;
    readonly path: string;
    readonly mocks: unknown;
    readonly engine: unknown;
}

/** The paths under `path` where two values differ. */
function differingPaths(resource: string, path: string, mocks: unknown, engine: unknown): InputDifference[] {
    if (JSON.stringify(mocks) === JSON.stringify(engine)) return [];
    if (mocks && engine && typeof mocks === "object" && typeof engine === "object" && !Array.isArray(mocks)) {
        const m = mocks as Record<string, unknown>;
        const e = engine as Record<string, unknown>;
        return [...new Set([...Object.keys(m), ...Object.keys(e)])].sort().flatMap((key) => differingPaths(resource, `${path}.${key}`, m[key], e[key]));
    }
    return [{ resource, path, mocks, engine }];
}

function describeDifference(d: InputDifference): string {
    const show = (value: unknown) => (value === undefined ? "absent" : `...${JSON.stringify(value).slice(-40)}`);
    return `${d.resource}: ${d.path} (mocks ${show(d.mocks)}, engine ${show(d.engine)})`;
}

/** Per resource, where the engine stored other inputs than the program registered under mocks. */
async function inputsVersusMocks(lab: EngineLabRun): Promise<InputDifference[]> {
    const state = JSON.parse((await lab.project.must(["stack", "export", "--show-secrets"])).stdout) as StackExport;
    const mocks = new Map(lab.mockGraph().map((n) => [n.name, plain(JSON.parse(n.inputs)) as Record<string, unknown>]));
    return (state.deployment.resources ?? []).flatMap((resource) => {
        const name = resource.urn.slice(resource.urn.lastIndexOf("::") + 2);
        const registered = mocks.get(name);
        if (!registered || !resource.inputs) return [];
        const stored = plain(resource.inputs) as Record<string, unknown>;
        return [...new Set([...Object.keys(stored), ...Object.keys(registered)])].sort().flatMap((key) => differingPaths(name, key, registered[key], stored[key]));
    });
}

/** The checks in the order they run (each builds on what the ones before it left). */
export const ENGINE_CHECK_NAMES: EngineCheck[] = CHECKS.map((check) => check.name);

/** What the uninstall promises to remove, as still found on a host. */
export function leftOnHost(world: LabWorld, kind: HostKind): string[] {
    const root = world.hosts[kind].root;
    const paths = [
        "usr/local/bin/k3s",
        "etc/rancher/k3s",
        "var/lib/rancher/k3s",
        "var/lib/k3s-multicloud",
        "etc/k3s-multicloud",
        "opt/k3s-multicloud",
        "etc/systemd/system/multicloud-k3s-firewall.service",
        "etc/systemd/system/k3s-multicloud-firewall.service",
        "etc/systemd/system/multicloud-k3s-public-address.service",
    ];
    const found = paths.filter((path) => existsSync(join(root, path)));
    if (world.inHost(kind, ["nft", "list", "table", "inet", "k3s_multicloud"]).status === 0) found.push("nft table inet k3s_multicloud");
    const onLo = world.inHost(kind, ["ip", "-4", "-o", "address", "show", "dev", "lo"]).stdout;
    for (const address of [LAB_ADDRESSES.swasPublic, LAB_ADDRESSES.vultr, LAB_ADDRESSES.homePublic]) if (onLo.includes(` ${address}/32 `)) found.push(`${address} on lo`);
    return found;
}

/** Drops UDP 51820 between the Vultr host and the SWAS host at the SWAS router. */
function blockMesh(lab: EngineLabRun): string {
    const router = lab.world.ns("swasrt");
    const rules = [
        "table ip lab_block {",
        "    chain forward {",
        "        type filter hook forward priority 0;",
        `        ip saddr ${LAB_ADDRESSES.vultr} udp dport 51820 drop`,
        `        ip daddr ${LAB_ADDRESSES.vultr} udp sport 51820 drop`,
        "    }",
        "}",
    ].join("\n");
    const result = lab.world.inNamespace(router, ["nft", "-f", "-"], { input: rules });
    if (result.status !== 0) throw new CheckFailed(`could not block the path: ${result.stderr}`);
    return router;
}

function unblockMesh(lab: EngineLabRun, router: string): void {
    lab.world.inNamespace(router, ["nft", "delete", "table", "ip", "lab_block"]);
}

/**
 * What docs/operations.md ("When `pulumi up` was interrupted") tells a user whose `pulumi up` was killed (SIGKILL, a crash, a lost machine): the state keeps the
 * operations that were in flight as pending; `pulumi refresh` reconciles them (pending creates need
 * --clear-pending-creates: a create that never reported its id cannot be read back).
 */
async function recoverAfterKill(lab: EngineLabRun): Promise<string[]> {
    const cancel = await lab.project.run(["cancel", "--yes", "--stack", "lab", "--non-interactive"]);
    if (cancel.status !== 0) throw new CheckFailed(`pulumi cancel failed: ${said(cancel)}`);
    const refresh = await lab.project.run(["refresh", "--yes", "--clear-pending-creates", "--stack", "lab", "--non-interactive"]);
    if (refresh.status !== 0) throw new CheckFailed(`pulumi refresh --clear-pending-creates failed: ${said(refresh)}`);
    return ["pulumi cancel (the lock the killed CLI left)", "pulumi refresh --clear-pending-creates"];
}

/**
 * Plants what refresh must report: a step's stored connection without a value its provider fills in by default
 * (perDialTimeout), as a provider version that did not know that field would have stored it. The provider's read
 * gives it back with the default, which refresh shows as a change.
 */
async function plantStateWithoutDefault(lab: EngineLabRun): Promise<void> {
    const state = JSON.parse((await lab.project.must(["stack", "export", "--show-secrets"])).stdout) as StackExport;
    const step = state.deployment.resources?.find((r) => r.urn.endsWith(`-swas-1-prune`));
    for (const props of [step?.inputs, step?.outputs]) {
        const connection = props?.connection as { plaintext?: string } | undefined;
        if (!connection?.plaintext) throw new CheckFailed("the prune step's stored connection is not where the lab expects it");
        const plain = JSON.parse(connection.plaintext) as Record<string, unknown>;
        delete plain.perDialTimeout;
        connection.plaintext = JSON.stringify(plain);
    }
    const file = join(lab.world.dir, "edited-state.json");
    writeFileSync(file, JSON.stringify(state));
    await lab.project.must(["stack", "import", "--file", file]);
}

/** A check of the engine or stack lab: `run` returns what it proved, in words, or throws what it saw. */
export interface LabCheckSpec<Name extends string, Run> {
    readonly name: Name;
    /** It works on a deployed stack: run alone (--only), the stack is deployed first. */
    readonly onStack: boolean;
    run(lab: Run): Promise<string>;
}

/**
 * Runs the checks named in `only` (all without it) in their order, one result each. A check on a deployed stack that
 * runs first gets one from `deploy`; a check that cannot deploy is a failure with the reason.
 */
export async function runChecksInTurn<Name extends string, Run>(
    lab: Run,
    checks: ReadonlyArray<LabCheckSpec<Name, Run>>,
    options: {
        readonly only?: readonly string[];
        readonly deploy: () => Promise<CliResult>;
        readonly deploys: Name;
        readonly progress: (line: string) => void;
        /** What the hosts say when a check fails (the k3s stand-ins' logs), appended to its message. */
        readonly explain?: () => string;
    },
): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    let deployed = false;
    for (const check of checks.filter((c) => !options.only || options.only.includes(c.name))) {
        const started = Date.now();
        if (check.onStack && !deployed) {
            const setup = await options.deploy();
            if (setup.status !== 0) {
                results.push({ name: check.name, ok: false, detail: `could not deploy the stack first: ${said(setup)}` });
                continue;
            }
        }
        deployed ||= check.onStack || check.name === options.deploys;
        try {
            results.push({ name: check.name, ok: true, detail: await check.run(lab) });
        } catch (error) {
            results.push({ name: check.name, ok: false, detail: error instanceof Error ? error.message : String(error), hosts: options.explain?.() });
        }
        options.progress(`${check.name}: ${results[results.length - 1].ok ? "ok" : "FAIL"} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
    return results;
}

export async function runEngineLab(options: EngineLabOptions): Promise<CheckResult[]> {
    const progress = options.progress ?? (() => undefined);
    const breaks = new Set(options.breaks ?? []);
    return withWorld(0, async (world) => {
        const swasPassword = `Lab-${world.id}-9!`;
        await world.build(swasPassword);
        const lab = new EngineLabRun(world, options.engine, breaks, progress, swasPassword);
        for (const name of breaks) progress(`BROKEN ON PURPOSE: ${ENGINE_BREAKS[name]}`);
        await lab.project.init(lab.config(), lab.secrets);
        return runChecksInTurn(lab, CHECKS, { only: options.only, deploy: () => lab.up(), deploys: "engine-up", progress, explain: () => world.standInLogs() });
    });
}

