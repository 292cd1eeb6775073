// `npm run bench:engine` (root, engine built): our orchestration under the real Pulumi engine, measured in the
// namespace lab - engine, command provider (the stand-in on pulumi-command's libraries), SSH, toolkit. k3s and the
// clouds are stood in (lab/standins), so these figures measure what this project adds, not a cloud's VM creation or
// a k3s download. Writes its section of bench/RESULTS.md (between the engine markers) and prints it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus, totalmem } from "node:os";
import { GraphNode } from "./graphMetrics";
import { ENGINE_END, ENGINE_START } from "./engineMarkers";
import { locateEngine } from "../lab/engine/engine";
import { EngineLabRun, engineLabNodes } from "../lab/engine/engineLab";
import { caHashOf } from "../components/k3s/nodeSteps";
import { StepRunner } from "../lab/steps";
import { LabWorld } from "../lab/world";
import { runDoctor } from "../components/doctor/runDoctor";

const SIZES = [3, 10];
const RESULTS = join(__dirname, "RESULTS.md");

interface Row {
    readonly nodes: number;
    readonly upMs: number;
    readonly previewMs: number;
    readonly checkpointBytesPerNode: number;
    /** Of the checkpoint: inputs, outputs, the SDK's recorded source positions and stack traces, per node. */
    readonly breakdown: { inputs: number; outputs: number; traces: number };
    readonly sequentialMs: number;
    readonly forksMs: number;
    readonly sessions: number;
    /** doctor over every node of the cluster just built (8 at a time), and how many rows failed. */
    readonly doctorMs: number;
    readonly doctorFailing: number;
}

/** The remote steps the program registers, in the order other installers run them: a stage at a time. */
function stages(graph: GraphNode[], server: string): Array<Array<{ name: string; inputs: Record<string, any> }>> {
    const remote = graph.filter((n) => n.type === "command:remote:Command").map((n) => ({ name: n.name, inputs: unwrapAll(JSON.parse(n.inputs)) as Record<string, any> }));
    const of = (match: (name: string) => boolean) => remote.filter((step) => match(step.name));
    return [
        of((n) => n.endsWith("-prepare")),
        of((n) => n.endsWith("-host-firewall")),
        of((n) => n.endsWith(`${server}-install`)),
        of((n) => n.endsWith("-ca-hash")),
        of((n) => n.endsWith("-install") && !n.endsWith(`${server}-install`)),
        of((n) => n.endsWith("-kubeconfig")),
        of((n) => n.endsWith("-prune")),
        of((n) => n.endsWith("-mesh-check")),
    ];
}

function unwrapAll(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapAll);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record["4dabf18193072939515e22adb298388d"]) return unwrapAll(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapAll(v)]));
    }
    return value;
}

/**
 * The same remote steps without the engine, over OpenSSH from the runner: node after node (as k3sup is used), or
 * `forks` at a time within each stage (k3s-ansible's default strategy: a task on every host, five at once, before
 * the next task). The agents' join token gets the CA hash the server's install printed, as the engine resolves it.
 */
async function replay(world: LabWorld, graph: GraphNode[], server: string, forks: number): Promise<{ ms: number; sessions: number }> {
    const runner = new StepRunner(world);
    let caHash = "";
    let sessions = 0;
    const started = Date.now();
    for (const stage of stages(graph, server)) {
        for (let i = 0; i < stage.length; i += forks) {
            const batch = stage.slice(i, i + forks);
            const results = await Promise.all(
                batch.map((step) => {
                    const stdin = String(step.inputs.stdin ?? "");
                    const resolved = step.name.endsWith("-install") && caHash && !step.name.endsWith(`${server}-install`) ? `K10${caHash}::node:${stdin}` : stdin;
                    return runner.remoteAsync(step.inputs.connection, step.inputs.create, resolved);
                }),
            );
            sessions += batch.length;
            results.forEach((result, index) => {
                if (result.status !== 0) throw new Error(`${batch[index].name} failed without the engine: ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`);
                caHash = caHashOf(result.stdout) || caHash;
            });
        }
    }
    return { ms: Date.now() - started, sessions };
}

async function inWorld<T>(nodes: number, use: (lab: EngineLabRun) => Promise<T>): Promise<T> {
    const located = locateEngine();
    if ("missing" in located) throw new Error(`the engine is not built: ${located.missing}`);
    const world = new LabWorld(nodes - 3);
    try {
        const password = `Bench-${world.id}-9!`;
        await world.build(password);
        const lab = new EngineLabRun(world, located, new Set(), () => undefined, password, engineLabNodes(world));
        return await use(lab);
    } finally {
        world.teardown();
    }
}

async function measure(nodes: number): Promise<Row> {
    const engine = await inWorld(nodes, async (lab) => {
        await lab.project.init(lab.config(), lab.secrets);
        const up = await lab.up();
        if (up.status !== 0) throw new Error(`pulumi up of ${nodes} nodes failed: ${up.stdout.slice(-2000)}`);
        const preview = await lab.preview(["--expect-no-changes"]);
        if (preview.status !== 0) throw new Error(`the unchanged preview of ${nodes} nodes proposed changes`);
        // doctor over the same nodes, from the machine running pulumi, as an operator would run it.
        const doctorStarted = Date.now();
        const rows = await runDoctor({
            nodes: lab.nodes.map((n) => ({ name: n.name, role: n.role, publicIp: n.publicIp, privateIp: n.privateIp, behindNat: n.publicIp !== n.privateIp, sshUser: n.user, sshPort: 22, hostKey: n.hostKey })),
            k3sVersion: "v1.33.6+k3s1",
            credentialFor: (n) => (lab.nodes.find((m) => m.name === n.name)?.auth === "password" ? { password: lab.secrets["lab:swasPassword"] } : { privateKey: readFileSync(lab.world.clientKey, "utf8") }),
            prefix: ["ip", "netns", "exec", lab.world.runnerNs],
        });
        const doctorMs = Date.now() - doctorStarted;
        const exported = (await lab.project.must(["stack", "export"])).stdout;
        const resources = (JSON.parse(exported) as { deployment: { resources: Array<Record<string, unknown>> } }).deployment.resources;
        const size = (keys: string[]) => resources.reduce((sum, r) => sum + keys.reduce((n, k) => n + (r[k] === undefined ? 0 : Buffer.byteLength(JSON.stringify(r[k]))), 0), 0) / nodes;
        return {
            upMs: up.ms,
            doctorMs,
            doctorFailing: rows.filter((r) => r.verdict === "fail").length,
            previewMs: preview.ms,
            checkpointBytesPerNode: Buffer.byteLength(JSON.stringify(JSON.parse(exported))) / nodes,
            breakdown: { inputs: size(["inputs"]), outputs: size(["outputs"]), traces: size(["sourcePosition", "stackTrace"]) },
        };
    });
    const sequential = await inWorld(nodes, (lab) => replay(lab.world, lab.mockGraph(), lab.nodes[0].name, 1));
    const forks = await inWorld(nodes, (lab) => replay(lab.world, lab.mockGraph(), lab.nodes[0].name, 5));
    return { nodes, ...engine, sequentialMs: sequential.ms, forksMs: forks.ms, sessions: sequential.sessions };
}

function render(rows: readonly Row[]): string {
    const s = (ms: number) => (ms / 1000).toFixed(1);
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const kib = (bytes: number) => (bytes / 1024).toFixed(1);
    return [
        ENGINE_START,
        "## Orchestration under the real Pulumi engine (the headline)",
        "",
        `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Date: ${new Date().toISOString().slice(0, 10)}. Command: \`npm run bench:engine\`.`,
        "",
        "The namespace lab's hosts (real sshd, NAT, WireGuard, nftables; k3s and the clouds stood in), the cluster built by",
        "the real Pulumi CLI 3.248 with the command provider stand-in (pulumi-command's own libraries; its module is not",
        "served here) - so these measure our orchestration (engine, provider, SSH, toolkit), not VM creation or a k3s",
        "download. Beside it, the same remote steps run without the engine over OpenSSH from the same machine: node after",
        "node (as k3sup is used) and five at a time per stage (k3s-ansible's default forks). One run each, on a fresh lab.",
        "",
        "| nodes | `pulumi up` s | node after node s | 5 at a time s | up / node after node | up / 5 at a time | unchanged `pulumi preview` s | checkpoint KiB per node (inputs / outputs / SDK source positions) | SSH steps | doctor s (failing rows) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ...rows.map(
            (r) =>
                `| ${r.nodes} | ${s(r.upMs)} | ${s(r.sequentialMs)} | ${s(r.forksMs)} | ${ratio(r.upMs, r.sequentialMs)} | ${ratio(r.upMs, r.forksMs)} | ${s(r.previewMs)} | ${kib(r.checkpointBytesPerNode)} (${kib(r.breakdown.inputs)} / ${kib(r.breakdown.outputs)} / ${kib(r.breakdown.traces)}) | ${r.sessions} | ${s(r.doctorMs)} (${r.doctorFailing}) |`,
        ),
        "",
        "Checkpoint: `pulumi stack export` as compact JSON, per node; the rest of it is URNs, types, parents and",
        "dependencies. The SDK records every resource's source position and stack trace (Node SDK 3.248).",
        "`pulumi up --skip-preview` includes one evaluation of the program and the engine's own",
        "bookkeeping; the replays include nothing but the SSH sessions. The mock-evaluation tables below stay as a",
        "diagnostic of the program's own cost. doctor: every node probed over SSH, 8 at a time, right after the `up`; with",
        "no k3s listening on 6443/10250 in these hosts its reach rows fail (each TCP probe waits its 2 s), which is",
        "what the failing count shows.",
        ENGINE_END,
    ].join("\n");
}

async function main(): Promise<void> {
    if (process.argv.includes("--help") || process.argv.includes("-h")) {
        console.log("usage: npm run bench:engine\n  (root) deploys lab clusters of several sizes with the real Pulumi engine, runs doctor on them, and writes the engine section of bench/RESULTS.md");
        return;
    }
    if (process.getuid?.() !== 0) throw new Error("the engine bench needs root (the namespace lab)");
    const rows: Row[] = [];
    for (const nodes of SIZES) {
        console.error(`# ${nodes} nodes ...`);
        rows.push(await measure(nodes));
    }
    const section = render(rows);
    const current = readFileSync(RESULTS, "utf8");
    const next = current.includes(ENGINE_START)
        ? current.slice(0, current.indexOf(ENGINE_START)) + section + current.slice(current.indexOf(ENGINE_END) + ENGINE_END.length)
        : current.replace(/^(# Benchmark results\n\n)/, `$1${section}\n\n`);
    writeFileSync(RESULTS, next);
    console.log(section);
}

main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
});
