// `npm run bench`: how the cost of our code grows with cluster size. Prints a table and writes bench/RESULTS.md.
// Cloud time cannot be measured here; what our code decides can: evaluation time and memory, the critical path of
// SSH steps, SSH sessions per node, and the host scripts' no-op re-run.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { renderNodeSteps, renderPrepareCommand, NodeStepsInput } from "../components/k3s/nodeSteps";
import { ScriptSandbox } from "../tests/harness/scriptSandbox";
import { GraphNode, REMOTE_COMMAND, changedResources, criticalPath, median, otherSchedulers, sshSessionsFor } from "./graphMetrics";

interface Evaluation {
    size: number;
    elapsedMs: number;
    peakRssMiB: number;
    resources: number;
    graph: GraphNode[];
}

const ROOT = join(__dirname, "..");
const SIZES = [3, 30, 300];
const RUNS: Record<number, number> = { 3: 5, 30: 5, 300: 3 };

function evaluate(size: number, variant?: string): Evaluation {
    const args = [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(__dirname, "evaluateOnce.ts"), String(size), ...(variant ? [variant] : [])];
    const output = execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 30 });
    return JSON.parse(output) as Evaluation;
}

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

function main(): void {
    const rows: string[][] = [];
    const sessions: string[][] = [];
    const chains: string[] = [];
    const results: Record<number, { ms: number; mib: number }> = {};
    for (const size of SIZES) {
        const runs = Array.from({ length: RUNS[size] }, () => evaluate(size));
        const base = runs[0];
        const changedConfig = evaluate(size, "taint-first-agent");
        const ms = median(runs.map((r) => r.elapsedMs));
        const mib = median(runs.map((r) => r.peakRssMiB));
        results[size] = { ms, mib };
        const path = criticalPath(base.graph);
        const other = otherSchedulers(base.graph, ["server-0"]);
        const commands = base.graph.filter((n) => n.type === REMOTE_COMMAND).length;
        const rerun = changedResources(base.graph, runs[1].graph);
        const change = changedResources(base.graph, changedConfig.graph);
        rows.push([
            String(size),
            String(base.resources),
            ms.toFixed(0),
            mib.toFixed(0),
            String(path.length),
            String(other.sequential),
            String(other.fiveForks),
        ]);
        sessions.push([
            String(size),
            (commands / size).toFixed(2),
            String(sshSessionsFor(change)),
            change.map((n) => n.name).join(", ") || "-",
            String(rerun.length),
            String(sshSessionsFor(rerun)),
        ]);
        chains.push(`- ${size} nodes: ${path.chain.join(" → ")}`);
        process.stderr.write(`measured ${size} nodes\n`);
    }
    const ratio = results[300].ms / results[30].ms;
    const scripts = timeScriptSecondRun();

    const table = (header: string[], body: string[][]) =>
        [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const report = [
        "# Benchmark results",
        "",
        `Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}. Command: \`npm run bench\`.`,
        "",
        "## 1-2. Evaluation under runtime mocks, and the critical path",
        "",
        `Median of ${RUNS[3]}/${RUNS[30]}/${RUNS[300]} runs, each in a fresh process. Critical path: the longest chain of remote commands`,
        "(SSH sessions that must run one after another) from nothing to a ready cluster, read from the registered",
        "dependency graph. Beside it, the same remote work run one command after another (as k3sup is used, node by",
        "node) and Ansible-style with 5 forks (k3s-ansible's default: each stage over all hosts, five at a time).",
        "",
        table(["nodes", "resources", "evaluation ms", "peak RSS MiB", "critical path (ours)", "sequential", "5 forks"], rows),
        "",
        "The longest chain, per size:",
        "",
        ...chains,
        "",
        `Evaluation time ratio 300/30: ${ratio.toFixed(2)} (10 would be exactly linear).`,
        "",
        "## 3. SSH sessions per node",
        "",
        "On create: remote commands per node (the local upgrade and removal steps do nothing on create). On a config",
        "change of one node (a taint on the first agent): the SSH sessions of the steps whose stored inputs change - its",
        "upgrade step (drain and uncordon through the server, install on the node) and its install step (which then finds",
        "nothing to do). On an unchanged re-run: resources with any input that differs between two evaluations of the same",
        "config, and their sessions (0 means `pulumi up` plans no change and opens no SSH session).",
        "",
        table(["nodes", "sessions per node on create", "sessions on one node's config change", "what changes", "changed resources on re-run", "sessions on re-run"], sessions),
        "",
        "## 4. Host scripts' second run (no-op)",
        "",
        "Real bash with stand-ins for systemd and the k3s download (`tests/scripts/standins`), median of 7:",
        "",
        table(["script", "second run ms"], [["install.sh (unchanged version, config and token)", scripts.install.toFixed(0)], ["prepare.sh (tools present, probe succeeds)", scripts.prepare.toFixed(0)]]),
        "",
    ].join("\n");
    writeFileSync(join(__dirname, "RESULTS.md"), report + NOTES + ratioNote(ratio));
    process.stdout.write(report);
}

const NOTES = `
## Reading the figures

- The critical path is the same for 3 and 300 nodes: every host prepares at once, the server installs, every agent
  installs at once, then each node prunes stale peers and checks its annotations, then the mesh check runs. What
  grows with the cluster is the number of resources and the work per step, not the chain. (The local upgrade steps,
  chained for batching, do nothing on create and open no SSH session.)
- Resources grow linearly with the nodes (about 15 per node). Vultr firewall rules would grow with the square of the
  Vultr nodes (one rule per peer and port), but past 20 peers a port opens to the world instead; the generated
  stacks of 30 and 300 nodes are both past that threshold, so the count stays linear.
- Memory is dominated by the Pulumi runtime and the mocks (about 200 MiB for 3 nodes); at 300 nodes the stored inputs
  of the upgrade and removal steps weigh most, since each carries its node's full install and uninstall command text
  (they must: Pulumi runs updates and deletes with the inputs stored on the resource).
- Sequential and 5-fork figures count the same remote commands our graph has, scheduled differently; real wall time
  also depends on the clouds (VM creation, downloads), which cannot be measured here.
`;

/** What this run's 300/30 ratio says; runs on this 2-core machine vary by about a fifth. */
function ratioNote(ratio: number): string {
    if (ratio < 9.5) {
        return `- This run's 300/30 ratio, ${ratio.toFixed(2)}, is below 10: the fixed start-up cost (loading the SDK and the providers, installing the mocks) still weighs in at 30 nodes.\n`;
    }
    if (ratio > 10.5) {
        return `- This run's 300/30 ratio, ${ratio.toFixed(2)}, is above 10: at 300 nodes the heap grows past 1 GiB (mostly the stored command texts of the upgrade and removal steps), so garbage collection takes a growing share. Runs on this 2-core machine also vary by about a fifth.\n`;
    }
    return `- This run's 300/30 ratio, ${ratio.toFixed(2)}, is what linear growth looks like.\n`;
}

main();
