// Runs bench/evaluateOnce.ts in a fresh process (mocks are process-global, and peak memory is per process), from
// this checkout or from a copy of it.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GraphNode } from "./graphMetrics";

export const ROOT = join(__dirname, "..");

export interface Evaluation {
    readonly size: number;
    readonly elapsedMs: number;
    readonly peakRssMiB: number;
    /** Resident memory once the modules are loaded and the mocks installed, before the first registration. */
    readonly loadedRssMiB: number;
    readonly resources: number;
    readonly graph: GraphNode[];
}

/** Evaluates the generated stack of `size` nodes; `root` is the checkout whose code runs (default: this one). */
export function evaluate(size: number, variant?: string, root = ROOT): Evaluation {
    const args = [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(root, "bench", "evaluateOnce.ts"), String(size), ...(variant ? [variant] : [])];
    const output = execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 30 });
    return JSON.parse(output) as Evaluation;
}

/** The SDK's own cost for the resources of `evaluation` (see bench/sdkFloorOnce.ts), in a fresh process. */
export interface SdkFloor {
    readonly resources: number;
    readonly elapsedMs: number;
    readonly peakRssMiB: number;
    /** Resident memory once the SDK is loaded and the recorded resources read, before the first registration. */
    readonly loadedRssMiB: number;
}

export function sdkFloor(evaluation: Evaluation, variant?: string): SdkFloor {
    const dir = mkdtempSync(join(tmpdir(), "k3smc-floor-"));
    try {
        const recorded = join(dir, "graph.json");
        writeFileSync(recorded, JSON.stringify({ graph: evaluation.graph }));
        const args = [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "bench", "sdkFloorOnce.ts"), recorded, ...(variant ? [variant] : [])];
        return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" })) as SdkFloor;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** What a library upgrade that only touched the host scripts looks like: a comment, or a line of code, in each. */
export type HostScriptEdit = "comment" | "code";

/**
 * A temporary copy of the program (components, stacks, bench, lab and the package files, sharing this checkout's
 * node_modules) whose every host script (components/toolkit/host) carries `edit`. `remove()` deletes it.
 */
export function editedHostScriptsCopy(edit: HostScriptEdit): { root: string; remove: () => void } {
    const copy = mkdtempSync(join(tmpdir(), "k3smc-edit-"));
    for (const entry of ["components", "stacks", "bench", "lab", "package.json", "tsconfig.json"]) {
        cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    const host = join(copy, "components", "toolkit", "host");
    const files = [...readdirSync(host).filter((f) => f.endsWith(".sh")), ...readdirSync(join(host, "verbs")).map((f) => join("verbs", f))];
    for (const file of files) {
        const path = join(host, file);
        writeFileSync(path, `${readFileSync(path, "utf8")}${edit === "comment" ? "# a harmless comment\n" : ": harmless code\n"}`);
    }
    return { root: copy, remove: () => rmSync(copy, { recursive: true, force: true }) };
}

/** Runs `use` on such a copy, then removes it. */
export function withEditedHostScripts<T>(edit: HostScriptEdit, use: (root: string) => T): T {
    const copy = editedHostScriptsCopy(edit);
    try {
        return use(copy.root);
    } finally {
        copy.remove();
    }
}
