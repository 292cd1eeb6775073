import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * What a lab run left behind, told apart from other lab runs on this machine: `npm run test:unit` runs the stack lab
 * while the namespace and engine labs run in another process, so "every lab namespace and process now, compared with
 * before" would count the other run's live hosts.
 *
 * - A run's namespaces carry its process id: `LabWorld.id` is the process id in base 36 and four hex digits.
 * - Every process a lab starts lives in one of its namespaces (the hosts', the runner's), and teardown stops each by
 *   its PID before it deletes them. So a lab process that is in no lab namespace any more has outlived its run.
 */
export interface LabLeftovers {
    /** The run's namespaces that still exist. */
    readonly namespaces: string[];
    /** Lab processes (`pid args`) in no lab namespace, not counting those that were already there before the run. */
    readonly processes: string[];
}

const PREFIX = "k3smc-lab-";

function labNamespaces(): string[] {
    return (spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "")
        .split("\n")
        .map((line) => line.split(" ")[0])
        .filter((name) => name.startsWith(PREFIX));
}

/** Processes whose command line matches `pattern` and that are in no lab namespace, as `pid args`. */
export function strayLabProcesses(pattern: RegExp): string[] {
    const listed = (spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout ?? "")
        .split("\n")
        .map((line) => /^\s*(\d+) (.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && pattern.test(m[2]));
    // Listed after ps: a process ps saw in a namespace is in this list unless it ended in between (checked below).
    const inLab = new Set(labNamespaces().flatMap((ns) => (spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "").split(/\s+/).filter(Boolean)));
    return listed.filter((m) => !inLab.has(m[1]) && existsSync(`/proc/${m[1]}`)).map((m) => `${m[1]} ${m[2]}`);
}

/** The namespaces of the lab run in process `pid` (a LabWorld made there) that still exist. */
export function namespacesOfRun(pid: number): string[] {
    const tag = pid.toString(36);
    return labNamespaces().filter((name) => {
        const id = name.slice(PREFIX.length).split("-")[0];
        return id.length === tag.length + 4 && id.startsWith(tag);
    });
}

/**
 * Runs `run` (which starts a lab in a child process and returns that process's PID) and says what it left behind:
 * its namespaces, and lab processes that were not stray before it started.
 */
export function leftBehindBy(pattern: RegExp, run: () => number | undefined): LabLeftovers {
    const strayBefore = new Set(strayLabProcesses(pattern));
    const pid = run();
    return {
        namespaces: pid === undefined ? [] : namespacesOfRun(pid),
        processes: strayLabProcesses(pattern).filter((line) => !strayBefore.has(line)),
    };
}
