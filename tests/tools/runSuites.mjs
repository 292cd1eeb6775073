// `npm run test:unit`: the mocha suites in two processes at once - the namespace and engine labs (mostly waiting on
// SSH, WireGuard and the Pulumi CLI; one after the other, since each checks that it leaves no namespace or process of
// its kind behind) beside everything else. Each process's output is printed whole when it ends, then one summary
// line; the exit status is 0 only when both passed. `npm run test:file -- <file>...` runs the given files alone.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const config = JSON.parse(readFileSync(join(root, ".mocharc.json"), "utf8"));
const base = ["--no-config", ...config.require.flatMap((r) => ["--require", r]), ...config.extension.flatMap((e) => ["--extension", e]), "--timeout", String(config.timeout), "--reporter", config.reporter];
const labs = ["tests/lab/**/*.test.ts", "tests/engine/**/*.test.ts"];

const given = process.argv.slice(2);
const groups = given.length > 0 ? [{ name: "files", spec: given }] : [
    { name: "labs (namespace lab, engine lab)", spec: labs },
    { name: "everything else", spec: config.spec.filter((pattern) => !labs.includes(pattern)) },
];

function run(group) {
    return new Promise((resolve) => {
        const started = Date.now();
        const child = spawn(process.execPath, [join(root, "node_modules", "mocha", "bin", "mocha.js"), ...base, ...group.spec.flatMap((s) => ["--spec", s])], {
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

const results = await Promise.all(groups.map(run));
if (given.length === 0) {
    const sum = (key) => results.reduce((n, r) => n + r[key], 0);
    process.stdout.write(`mocha: ${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped (${results.length} processes)\n`);
}
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
