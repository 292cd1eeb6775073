import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");

/** Every command a user runs answers --help on stdout with its usage and exit status 0, touching nothing. */
const COMMANDS: Array<[string, string[]]> = [
    ["npm run plan", ["stacks/plan/cli.ts"]],
    ["npm run doctor", ["stacks/doctor.ts"]],
    ["npm run lab", ["lab/cli.ts"]],
    ["npm run bench", ["bench/bench.ts"]],
    ["npm run bench:engine", ["bench/engineBench.ts"]],
    ["k3s-multicloud (the package's command)", ["components/doctor/cli.ts"]],
    ["k3s-multicloud doctor", ["components/doctor/cli.ts", "doctor"]],
];

describe("--help on every command", function () {
    it("npm run engine:build --help (prints, builds nothing)", () => {
        const run = spawnSync("bash", [join(ROOT, "engine", "build.sh"), "--help"], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /^usage: engine\/build\.sh \[--locate\]\n/);
    });

    this.timeout(120_000);
    for (const [name, [script, ...args]] of COMMANDS) {
        it(`${name} --help`, () => {
            const run = spawnSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, script), ...args, "--help"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
            assert.equal(run.status, 0, run.stderr);
            assert.match(run.stdout, /^(.*\n)?usage: /);
        });
    }
});
