// `npm run bench`: how the cost of our code grows with cluster size. Prints a table and writes bench/RESULTS.md.
// Cloud time cannot be measured here; what our code decides can: evaluation time and memory, stored state, the
// critical path of SSH steps, SSH sessions per change, what a library upgrade re-runs, and the toolkit's no-op runs.
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ENGINE_END, ENGINE_START } from "./engineMarkers";
import { renderNodeSteps, renderPrepareCommand, NodeStepsInput } from "../components/k3s/nodeSteps";
import { ScriptSandbox } from "../tests/harness/scriptSandbox";
import { Evaluation, HostScriptEdit, SdkFloor, evaluate, sdkFloor, withEditedHostScripts } from "./evaluateProcess";
import { GraphNode, SSH_ON_CREATE, changedResources, criticalPath, inputKibPerNode, median, otherSchedulers, sshSessionsFor } from "./graphMetrics";

const SIZES = [3, 30, 300];
const RUNS: Record<number, number> = { 3: 5, 30: 5, 300: 3 };

/**
 * Release 0.1.0 (every step carried its whole script), measured with this bench's method on the same machine
 * (2026-11-30, the 0.1.0 commit evaluated under the same mocks): the figures the toolkit release is compared with.
 */
const RELEASE_0_1_0: Record<number, { ms: number; mib: number; kib: number }> = {
    3: { ms: 268, mib: 222, kib: 56.0 },
    30: { ms: 1448, mib: 279, kib: 59.4 },
    300: { ms: 16270, mib: 1373, kib: 74.1 },
};
/** Release 0.1.0, a comment appended to every host script, 3 nodes: 22 of its 51 resources changed. */
const RELEASE_0_1_0_EDIT = { changed: 22, of: 51, note: "every node's prepare, install, upgrade (drain!), removal, prune, restart and mesh check" };

function timeScriptSecondRun(): { install: number; prepare: number } {
    const box = new ScriptSandbox();
    try {
        box.addStandin("ip", "exit 0");
        box.addStandin("wg", "exit 0");
        const input: NodeStepsInput = {
            config: { role: "server", nodeName: "bench-1", privateIp: "10.0.0.1", publicIp: "203.0.113.1", options: {} },
            version: "v1.33.6+k3s1",
            mirror: "github",
            sudo: false,
            readyTimeoutSeconds: 30,
        };
        const steps = renderNodeSteps(input);
        if (box.run(steps.install, { stdin: "token\n" }).status !== 0) throw new Error("first install run failed");
        const time = (run: () => { status: number | null }) => {
            const samples: number[] = [];
            for (let i = 0; i < 7; i++) {
                const started = process.hrtime.bigint();
                if (run().status !== 0) throw new Error("script run failed");
                samples.push(Number(process.hrtime.bigint() - started) / 1e6);
            }
            return median(samples);
        };
        return { install: time(() => box.run(steps.install, { stdin: "token\n" })), prepare: time(() => box.run(renderPrepareCommand("bench-1", {}, false))) };
    } finally {
        box.cleanup();
    }
}

/** Which resources a host-script edit changes, at 3 nodes, against an unedited evaluation. */
function hostScriptEdit(base: Evaluation, edit: HostScriptEdit): { changed: GraphNode[]; sessions: number; acting: string[] } {
    const edited = withEditedHostScripts(edit, (root) => evaluate(base.size, undefined, root));
    const changed = changedResources(base.graph, edited.graph);
    // Steps whose re-run would drain, restart or reinstall k3s: install, restart, and an upgrade whose fingerprint moved.
    const acting = changed
        .filter((n) => /-(install|metadata-restart|reprobe)$/.test(n.name) || (n.name.endsWith("-upgrade") && sshSessionsFor([n], base.graph) > 1))
        .map((n) => n.name);
    return { changed, sessions: sshSessionsFor(changed, base.graph), acting };
}

function main(): void {
    if (process.argv.includes("--help") || process.argv.includes("-h")) {
        console.log("usage: npm run bench\n  evaluates the program at 3, 30 and 300 nodes under mocks, times the toolkit's no-op runs, prints a table and writes bench/RESULTS.md");
        return;
    }
    const rows: string[][] = [];
    const sessions: string[][] = [];
    const chains: string[] = [];
    const results: Record<number, { ms: number; mib: number; kib: number }> = {};
    let smallest: Evaluation | undefined;
    let largest: Evaluation | undefined;
    for (const size of SIZES) {
        const runs = Array.from({ length: RUNS[size] }, () => evaluate(size));
        const base = runs[0];
        smallest ??= base;
        largest = base;
        const changedConfig = evaluate(size, "taint-first-agent");
        const ms = median(runs.map((r) => r.elapsedMs));
        const mib = median(runs.map((r) => r.peakRssMiB));
        const kib = inputKibPerNode(base.graph, size);
        results[size] = { ms, mib, kib };
        const old = RELEASE_0_1_0[size];
        const path = criticalPath(base.graph);
        const other = otherSchedulers(base.graph, ["server-0"]);
        const sshOnCreate = base.graph.filter((n) => SSH_ON_CREATE.includes(n.type)).length;
        const rerun = changedResources(base.graph, runs[1].graph);
        const change = changedResources(base.graph, changedConfig.graph);
        rows.push([
            String(size),
            String(base.resources),
            `${ms.toFixed(0)} (0.1.0: ${old.ms})`,
            `${mib.toFixed(0)} (0.1.0: ${old.mib})`,
            `${kib.toFixed(1)} (0.1.0: ${old.kib.toFixed(1)})`,
            String(path.length),
            String(other.sequential),
            String(other.fiveForks),
        ]);
        sessions.push([
            String(size),
            (sshOnCreate / size).toFixed(2),
            String(sshSessionsFor(change, base.graph)),
            change.map((n) => n.name).join(", ") || "-",
            String(rerun.length),
            String(sshSessionsFor(rerun, base.graph)),
        ]);
        chains.push(`- ${size} nodes: ${path.chain.join(" → ")}`);
        process.stderr.write(`measured ${size} nodes\n`);
    }
    const ratio = results[300].ms / results[30].ms;
    const scripts = timeScriptSecondRun();
    const edits = (["comment", "code"] as const).map((edit) => ({ edit, ...hostScriptEdit(smallest!, edit) }));
    const breakdown = storedBreakdown(evaluate(30));
    const diagnostics = (["no-source-maps", "no-promise-stacks"] as const).map((variant) => ({ variant, ...evaluate(300, variant) }));
    const floors = ([undefined, "no-promise-stacks"] as const).map((variant) => ({ variant, ...sdkFloor(largest!, variant) }));

    const table = (header: string[], body: string[][]) =>
        [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const report = [
        "# Benchmark results",
        "",
        `Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}. Command: \`npm run bench\`.`,
        "",
        "## 1-2. Evaluation under runtime mocks, stored state, and the critical path",
        "",
        `Median of ${RUNS[3]}/${RUNS[30]}/${RUNS[300]} runs, each in a fresh process; in brackets release 0.1.0, measured the same way.`,
        "Stored inputs: every resource's inputs as JSON, summed, per node (Pulumi stores them again as outputs). Critical",
        "path: the longest chain of resources that open an SSH session on create (remote commands; a copy over SSH would",
        "count too; local steps do not), from nothing to a ready cluster. Beside it, the same remote work run one command",
        "after another (as k3sup is used, node by node) and Ansible-style with 5 forks (k3s-ansible's default).",
        "",
        table(["nodes", "resources", "evaluation ms", "peak RSS MiB", "stored input KiB per node", "critical path (ours)", "sequential", "5 forks"], rows),
        "",
        "The longest chain, per size:",
        "",
        ...chains,
        "",
        `Evaluation time ratio 300/30: ${ratio.toFixed(2)} (10 would be exactly linear).`,
        "",
        "Where the 300-node evaluation time and memory go (one run each, diagnostic: these change the runtime, not the program):",
        "",
        table(
            ["run", "evaluation ms", "peak RSS MiB", "RSS before the first resource MiB"],
            [
                ["as above (tsx, source-mapped stack traces)", results[300].ms.toFixed(0), results[300].mib.toFixed(0), largest!.loadedRssMiB.toFixed(0)],
                ...diagnostics.map((d) => [
                    d.variant === "no-source-maps"
                        ? "stack traces not source-mapped (how compiled JavaScript runs)"
                        : "not source-mapped, and without the SDK's per-promise stack capture (`debuggablePromise`)",
                    d.elapsedMs.toFixed(0),
                    d.peakRssMiB.toFixed(0),
                    d.loadedRssMiB.toFixed(0),
                ]),
                ...floors.map((f) => [
                    f.variant === undefined
                        ? `the SDK alone: the same ${f.resources} resources with the same inputs, none of the program's logic (tsx, as above)`
                        : "the SDK alone, not source-mapped, without the per-promise stack capture",
                    f.elapsedMs.toFixed(0),
                    f.peakRssMiB.toFixed(0),
                    f.loadedRssMiB.toFixed(0),
                ]),
            ],
        ),
        "",
        floorReading(floors[0], { ...results[300], loadedMiB: largest!.loadedRssMiB }, 300),
        "",
        "Where a node's stored inputs go (30 nodes, KiB per node):",
        "",
        table(["step", "KiB per node"], breakdown.map(([step, kib]) => [step, kib.toFixed(2)])),
        "",
        "## 3. SSH sessions",
        "",
        "On create: SSH-opening resources per node (the local upgrade and removal steps do nothing on create). On a",
        "config change of one node (a taint on the first agent): the sessions of the steps whose stored inputs change -",
        "its install step (which stages the change) and its upgrade step (fingerprint, drain through the server, apply,",
        "uncordon). On an unchanged re-run: resources with any input that differs between two evaluations of the same",
        "config, and their sessions (0 means `pulumi up` plans no change and opens no SSH session).",
        "",
        table(["nodes", "SSH resources per node on create", "sessions on one node's config change", "what changes", "changed resources on re-run", "sessions on re-run"], sessions),
        "",
        "## 4. A library upgrade that edits the host scripts",
        "",
        `${smallest!.size} nodes (${smallest!.resources} resources); every file of components/toolkit/host edited in a temporary copy, then the`,
        "same stack evaluated there. \"Acting\" lists changed steps that would drain, restart or reinstall k3s.",
        "",
        table(
            ["edit", "changed resources", "which", "SSH sessions", "acting"],
            [
                ["release 0.1.0, a comment in every script", `${RELEASE_0_1_0_EDIT.changed} of ${RELEASE_0_1_0_EDIT.of}`, RELEASE_0_1_0_EDIT.note, "-", "every install, upgrade and restart"],
                ...edits.map((e) => [
                    e.edit === "comment" ? "a comment in every host file" : "a line of code in every host file",
                    `${e.changed.length} of ${smallest!.resources}`,
                    e.changed.map((n) => n.name).join(", ") || "-",
                    String(e.sessions),
                    e.acting.join(", ") || "none",
                ]),
            ],
        ),
        "",
        "## 5. Toolkit verbs' second run (no-op)",
        "",
        "Real bash with stand-ins for systemd and the k3s download (`lab/standins/host`), median of 7:",
        "",
        table(["step", "second run ms"], [["install (unchanged version, config and token)", scripts.install.toFixed(0)], ["prepare with delivery (toolkit present, tools present, probe succeeds)", scripts.prepare.toFixed(0)]]),
        "",
    ].join("\n");
    // The real-engine section (npm run bench:engine) leads the file; this run keeps it as it is.
    const resultsFile = join(__dirname, "RESULTS.md");
    const previous = existsSync(resultsFile) ? readFileSync(resultsFile, "utf8") : "";
    const engine = previous.includes(ENGINE_START) ? previous.slice(previous.indexOf(ENGINE_START), previous.indexOf(ENGINE_END) + ENGINE_END.length) : "";
    const body = report + NOTES + ratioNote(ratio);
    writeFileSync(resultsFile, engine ? body.replace(/^(# Benchmark results\n\n)/, `$1${engine}\n\n`) : body);
    process.stdout.write(report);
}

/** Stored input bytes per node, by step kind (the part of the name after the node), largest first. */
function storedBreakdown(evaluation: Evaluation): Array<[string, number]> {
    const byStep = new Map<string, number>();
    for (const node of evaluation.graph) {
        const step = /^bench-(?:server|vultr|home|swas)-[0-9]+-(.+)$/.exec(node.name)?.[1]?.replace(/^fw-.*/, "firewall rules") ?? "cluster-wide";
        byStep.set(step, (byStep.get(step) ?? 0) + Buffer.byteLength(node.inputs));
    }
    return [...byStep].map(([step, bytes]): [string, number] => [step, bytes / evaluation.size / 1024]).sort((a, b) => b[1] - a[1]);
}

const NOTES = `
## Reading the figures

- The critical path is the same for 3 and 300 nodes: every host prepares at once (the toolkit delivery is part of
  that session), the server installs, every agent installs at once, then each node prunes stale peers and checks
  its annotations, then the mesh check runs. What grows with the cluster is the number of resources and the work
  per step, not the chain. (The local upgrade steps, chained for batching, do nothing on create and open no SSH
  session.)
- Stored state: a node's prepare step carries the toolkit itself (its stdin, about 12 KiB compressed), so no node
  can store less than that with a delivery over the step's own SSH session. Each node's mesh check names its peers
  (the host judges the mesh) and each node's host firewall names every member: about 30 bytes per node each, so
  these two grow with the cluster (about 9 KiB per node each at 300 nodes, which is why 300 nodes store more per
  node than 30). Everything else a node stores is a
  few short toolkit calls, its config once, its connections (secret) and two copies of the relay (the local upgrade
  and removal steps must carry it: they run where \`pulumi\` runs, with no file of this package at hand). Release
  0.1.0 also grew with the cluster (every node's prune and mesh-check triggers listed every node); triggers are now
  digests.
- Resources grow linearly with the nodes (about 15 per node). Vultr firewall rules would grow with the square of the
  Vultr nodes (one rule per peer and port), but past 20 peers a port opens to the world instead; the generated
  stacks of 30 and 300 nodes are both past that threshold, so the count stays linear.
- Memory and time are dominated by the Pulumi SDK's work per resource, not by what our steps store: the SDK records
  a stack trace on every promise it creates (four per output property of every resource: 50 for a remote command,
  70 for a local one, about 180 for a Vultr instance), and under tsx each trace is source-mapped. The SDK-alone rows
  register the same resources without the program: they account for most of the time and memory, also with stack
  capture and source maps off (the last row). So the 300-node figures move with the number of
  resources per node, which an upgrade of a running cluster cannot lower (a step that leaves the program is
  deleted, and deleting a removal step drains its node). What this program controls is the number of resources and
  their dependencies: since 0.2.0 the mesh checks wait on one barrier instead of on every node's steps (450,000
  dependency edges at 300 nodes in 0.1.0, 70,000 now).
- Sequential and 5-fork figures count the same remote commands our graph has, scheduled differently; real wall time
  also depends on the clouds (VM creation, downloads), which cannot be measured here.
`;

/**
 * What the SDK-alone row means for the 300-node figures: the share of time and memory that no change to this
 * program's logic can remove, only a change in the number of resources it registers.
 */
function floorReading(floor: SdkFloor, program: { ms: number; mib: number; loadedMiB: number }, nodes: number): string {
    const perResourceMs = floor.elapsedMs / floor.resources;
    const perResourceMiB = (floor.peakRssMiB - floor.loadedRssMiB) / floor.resources;
    const ownMs = program.ms - floor.elapsedMs;
    const ownMiB = program.mib - program.loadedMiB - (floor.peakRssMiB - floor.loadedRssMiB);
    const fitting = Math.min(10_000 / perResourceMs, (600 - program.loadedMiB) / perResourceMiB);
    return [
        `The SDK alone, registering this program's ${floor.resources} resources with their recorded inputs under the same mocks,`,
        `takes ${floor.elapsedMs.toFixed(0)} ms and grows by ${(floor.peakRssMiB - floor.loadedRssMiB).toFixed(0)} MiB from where it started`,
        `(${perResourceMs.toFixed(2)} ms and ${(perResourceMiB * 1024).toFixed(0)} KiB per resource; it starts higher than the program because it`,
        `holds the recorded inputs it read). The program's own outputs, checks and dependencies add ${ownMs.toFixed(0)} ms and`,
        `${ownMiB.toFixed(0)} MiB. At this cost per resource, ${nodes} nodes under 10 s and 600 MiB would allow about`,
        `${(fitting / nodes).toFixed(1)} resources per node; the program registers ${(floor.resources / nodes).toFixed(1)}.`,
    ].join("\n");
}

/** What this run's 300/30 ratio says; runs on this 2-core machine vary by about a fifth. */
function ratioNote(ratio: number): string {
    if (ratio < 9.5) {
        return `- This run's 300/30 ratio, ${ratio.toFixed(2)}, is below 10: the fixed start-up cost (loading the SDK and the providers, installing the mocks) still weighs in at 30 nodes.\n`;
    }
    if (ratio > 10.5) {
        return `- This run's 300/30 ratio, ${ratio.toFixed(2)}, is above 10: at 300 nodes garbage collection takes a growing share. Runs on this 2-core machine also vary by about a fifth.\n`;
    }
    return `- This run's 300/30 ratio, ${ratio.toFixed(2)}, is what linear growth looks like.\n`;
}

main();
