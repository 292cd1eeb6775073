import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The bash scripts in components/scripts that run on hosts. */
export type HostScript =
    | "prepare"
    | "install"
    | "uninstall"
    | "read-kubeconfig"
    | "restart-for-flannel"
    | "mesh-check"
    | "prune-peers"
    | "drain-node"
    | "remove-node";

const SCRIPTS_DIR = join(__dirname, "..", "scripts");
const scriptCache = new Map<HostScript, string>();

/** lib.sh followed by the script: the whole program one step sends to a host. */
export function hostScriptText(script: HostScript): string {
    let text = scriptCache.get(script);
    if (text === undefined) {
        const lib = readFileSync(join(SCRIPTS_DIR, "lib.sh"), "utf8");
        const body = readFileSync(join(SCRIPTS_DIR, `${script}.sh`), "utf8");
        text = `${lib}\n${body}`;
        scriptCache.set(script, text);
    }
    return text;
}

/** Quotes a string for a POSIX shell: single quotes, with embedded single quotes closed, escaped and reopened. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^K3SMC_[A-Z0-9_]+$/;

/**
 * The command text one step runs over SSH: `[sudo -n] env K3SMC_...='...' bash -c '<lib + script>' <name>`.
 *
 * Variables travel inside the command text, shell-quoted: `@pulumi/command`'s `environment` input sends SSH env
 * requests, which a stock sshd refuses (AcceptEnv), failing the command. Only non-secret values go here, since the
 * text is shown in previews; secrets go through stdin. Variables are sorted so the text is deterministic.
 * A non-root login runs everything through `sudo -n`, which fails at once instead of waiting for a password.
 */
export function renderHostCommand(script: HostScript, env: Readonly<Record<string, string>>, sudo: boolean): string {
    const assignments = Object.keys(env)
        .sort()
        .map((name) => {
            if (!ENV_NAME.test(name)) throw new Error(`host command variable ${name} must match ${ENV_NAME}`);
            return `${name}=${shellQuote(env[name])}`;
        });
    return [
        ...(sudo ? ["sudo", "-n"] : []),
        "env",
        ...assignments,
        "bash",
        "-c",
        shellQuote(hostScriptText(script)),
        `k3s-multicloud-${script}`,
    ].join(" ");
}

/**
 * The command text of a script that runs on the machine running `pulumi` (a local command). Its inputs come through
 * the local command's `environment`, which works locally and can be secret.
 */
export function renderLocalCommand(script: HostScript): string {
    return ["bash", "-c", shellQuote(hostScriptText(script)), `k3s-multicloud-${script}`].join(" ");
}
