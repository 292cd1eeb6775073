import * as pulumi from "@pulumi/pulumi";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * The OpenSSH programs that steps run on the machine running `pulumi`: the host-key check (`ssh-keyscan`) and the
 * upgrade and removal relays (`ssh`, `ssh-agent`, `ssh-add`). Without them a host-key check waited its whole boot
 * timeout and then blamed the server, and a relay ended with exit 127 - in a removal, that blocks `destroy`.
 */
export const LOCAL_SSH_PROGRAMS = ["ssh", "ssh-agent", "ssh-add", "ssh-keyscan"] as const;

/** The programs of `names` that no directory of `path` holds as an executable file. */
export function missingPrograms(names: readonly string[], path: string, executable: (file: string) => boolean = isExecutable): string[] {
    const dirs = path.split(delimiter).filter((dir) => dir !== "");
    return names.filter((name) => !dirs.some((dir) => executable(join(dir, name))));
}

function isExecutable(file: string): boolean {
    try {
        accessSync(file, constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** What to say when programs are missing: which ones, and the package that has them. */
export function missingProgramsMessage(missing: readonly string[]): string {
    return (
        `this machine (the one running pulumi) has no ${missing.map((m) => `'${m}'`).join(", ")} on its PATH: the host-key checks and the upgrade and ` +
        "removal steps run OpenSSH's client here. Install it (Debian, Ubuntu: apt-get install openssh-client; Alpine: apk add openssh-client; " +
        "macOS and Windows 10+ ship it) and run again."
    );
}

/** The check's outcome, per kind of run: an error before `up` registers anything, a warning in a preview. */
export type LocalToolsVerdict = { readonly kind: "ok" } | { readonly kind: "warn" | "error"; readonly message: string };

export function localToolsVerdict(missing: readonly string[], preview: boolean): LocalToolsVerdict {
    if (missing.length === 0) return { kind: "ok" };
    return { kind: preview ? "warn" : "error", message: missingProgramsMessage(missing) };
}

/** Thrown by `up` when OpenSSH is missing; Pulumi's run-error marker makes the CLI print the message alone. */
export class LocalToolsMissing extends Error {
    readonly __pulumiRunError = true;
}

let checked = false;

/**
 * Checks once per program run, under a real engine only: unit tests under mocks run no step, so a consumer's CI
 * machine needs no OpenSSH for them.
 */
export function requireLocalSshPrograms(): void {
    if (checked || !pulumi.runtime.hasEngine()) return;
    checked = true;
    const verdict = localToolsVerdict(missingPrograms(LOCAL_SSH_PROGRAMS, process.env.PATH ?? ""), pulumi.runtime.isDryRun());
    if (verdict.kind === "warn") pulumi.log.warn(verdict.message);
    if (verdict.kind === "error") throw new LocalToolsMissing(verdict.message);
}
