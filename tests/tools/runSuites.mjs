// `npm run test:unit`: the mocha suites in two processes at once - the namespace and engine labs (mostly waiting on
// SSH, WireGuard and the Pulumi CLI; one after the other) beside everything else, which is followed by the stack lab
// in the same process (it is shorter than the labs, so the two processes end about together). The lab suites tell
// their own leftovers from a concurrent lab run's (tests/lab/leftovers.ts). Each mocha run's output is printed whole
// when it ends, then one summary line; the exit status is 0 only when every run passed.
// `npm run test:file -- <file>...` runs the given files alone.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const config = JSON.parse(readFileSync(join(root, ".mocharc.json"), "utf8"));
const base = ["--no-config", ...config.require.flatMap((r) => ["--require", r]), ...config.extension.flatMap((e) => ["--extension", e]), "--timeout", String(config.timeout), "--reporter", config.reporter];
const labs = ["tests/lab/**/*.test.ts", "tests/engine/**/*.test.ts"];
const stackLab = "tests/engine/stackLab.test.ts";

const given = process.argv.slice(2);
// Each entry runs its mocha runs one after the other; the entries run at once.
const sequences = given.length > 0 ? [[{ name: "files", spec: given }]] : [
    [{ name: "labs (namespace lab, engine lab)", spec: labs, ignore: [stackLab] }],
    [
        { name: "everything else", spec: config.spec.filter((pattern) => !labs.includes(pattern)) },
        { name: "the stack lab", spec: [stackLab] },
    ],
];

function run(group) {
    return new Promise((resolve) => {
        const started = Date.now();
        const child = spawn(process.execPath, [join(root, "node_modules", "mocha", "bin", "mocha.js"), ...base, ...group.spec.flatMap((s) => ["--spec", s]), ...(group.ignore ?? []).flatMap((s) => ["--ignore", s])], {
            cwd: root,
            env: process.env,
            stdio: given.length > 0 ? "inherit" : ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout?.on("data", (chunk) => (output += chunk));
        child.stderr?.on("data", (chunk) => (output += chunk));
        child.on("close", (status) => {
            if (given.length === 0) process.stdout.write(`\n=== ${group.name} (${((Date.now() - started) / 1000).toFixed(0)} s)\n${output}`);
            const summary = /^mocha: (\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(output);
            resolve({ status, passed: Number(summary?.[1] ?? 0), failed: Number(summary?.[2] ?? 0), skipped: Number(summary?.[3] ?? 0) });
        });
    });
}

async function runInTurn(sequence) {
    const results = [];
    for (const group of sequence) results.push(await run(group));
    return results;
}

const results = (await Promise.all(sequences.map(runInTurn))).flat();
if (given.length === 0) {
    const sum = (key) => results.reduce((n, r) => n + r[key], 0);
    process.stdout.write(`mocha: ${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped (${results.length} mocha runs, ${sequences.length} at a time)\n`);
}
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
