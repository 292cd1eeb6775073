// Runs shellcheck over every shell file of the project (host scripts, test stand-ins, CI) and fails on any finding.
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = ["components/scripts", "tests", ".ci", "bench"];

function shellFiles(dir) {
    let entries;
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
const files = roots.flatMap(shellFiles).sort();
// The host scripts have no shebang (they are sent to `bash -c`); every other file names its shell itself.
const hostScripts = files.filter((f) => f.startsWith("components/scripts/"));
const others = files.filter((f) => !f.startsWith("components/scripts/"));
const runs = [
    spawnSync("shellcheck", ["--severity=style", "--shell=bash", ...hostScripts], { stdio: "inherit" }),
    spawnSync("shellcheck", ["--severity=style", ...others], { stdio: "inherit" }),
];
const failed = runs.some((run) => run.status !== 0);
console.log(`shellcheck: ${files.length} files, ${failed ? "findings above" : "no findings"}`);
process.exit(failed ? 1 : 0);
