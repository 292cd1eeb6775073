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
    | "remove-node"
    | "upgrade-node";

/** Scripts that run on the machine running `pulumi` and reach hosts over SSH themselves. */
const LOCAL_SCRIPTS: readonly HostScript[] = ["remove-node", "upgrade-node"];

const SCRIPTS_DIR = join(__dirname, "..", "scripts");
const scriptCache = new Map<HostScript, string>();

/** lib.sh (and ssh-client.sh for local scripts) followed by the script: the whole program one step runs. */
export function hostScriptText(script: HostScript): string {
    let text = scriptCache.get(script);
    if (text === undefined) {
        const libs = ["lib.sh", ...(LOCAL_SCRIPTS.includes(script) ? ["ssh-client.sh"] : [])];
        const parts = [...libs, `${script}.sh`].map((file) => readFileSync(join(SCRIPTS_DIR, file), "utf8"));
        text = parts.join("\n");
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
