// Runs shellcheck over every shell file of the project and fails on any finding. The host toolkit is checked as the
// one program it becomes on a host (lib.sh, the generated contract functions, every verb, main.sh - comments kept,
// so shellcheck directives apply), the relay and every other shell file on their own.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolkitBody } from "../../components/toolkit/bundle";

const roots = ["tests", ".ci", "bench", "lab", join("components", "doctor")];

function shellFiles(dir: string): string[] {
    let entries: string[];
    try {
        entries = readdirSync(dir);
    } catch {
        return [];
    }
    return entries.flatMap((entry) => {
        const path = join(dir, entry);
        if (entry === "node_modules") return [];
        if (statSync(path).isDirectory()) return shellFiles(path);
        const head = readFileSync(path, "utf8").slice(0, 40);
        return path.endsWith(".sh") || /^#!\/(usr\/bin\/env |bin\/)(ba)?sh\b/.test(head) ? [path] : [];
    });
}

try {
    execFileSync("shellcheck", ["--version"], { stdio: "ignore" });
} catch {
    console.error("shellcheck is not installed: `apt-get install shellcheck` (.ci/run does this).");
    process.exit(1);
}
const scratch = mkdtempSync(join(tmpdir(), "k3smc-shellcheck-"));
const toolkit = join(scratch, "k3smc-source.sh");
const hostDir = join("components", "toolkit", "host");
writeFileSync(toolkit, toolkitBody((file) => readFileSync(join(hostDir, file), "utf8"), { keepComments: true }));
const others = roots.flatMap(shellFiles).sort();
const runs = [
    spawnSync("shellcheck", ["--severity=style", "--shell=bash", toolkit, join("components", "toolkit", "relay.sh"), join("components", "toolkit", "keyscan.sh")], { stdio: "inherit" }),
    spawnSync("shellcheck", ["--severity=style", ...others], { stdio: "inherit" }),
];
rmSync(scratch, { recursive: true, force: true });
const failed = runs.some((run) => run.status !== 0);
console.log(`shellcheck: the host toolkit, the relay and ${others.length} other files, ${failed ? "findings above" : "no findings"}`);
process.exit(failed ? 1 : 0);
