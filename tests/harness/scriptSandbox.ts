import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { ToolkitBundle, deliveryCommand, shippedToolkit } from "../../components/toolkit/bundle";
import { HOST_STANDINS_BIN } from "../../lab/standins/paths";

/** The stand-ins for what cannot run here: systemd, the k3s download and binary, apt (lab/standins/host). */
export const STANDINS_BIN = HOST_STANDINS_BIN;

export interface ScriptRun {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs a command with the sandbox's own /opt: a private mount namespace in which `<root>/opt` is bind-mounted on
 * /opt, so the toolkit path that steps call (/opt/k3s-multicloud/bin/k3smc) is the sandbox's and the command text
 * runs unchanged. Needs root (the tests run as root, as CI does).
 */
export function inSandboxMounts(root: string, argv: readonly string[], hiddenPaths: readonly string[] = []): string[] {
    // Hidden tools: their directory overlaid with a whiteout for each (a file bound over one would still be found by
    // `command -v`, which falls back to a non-executable match), in this mount namespace only.
    const byDir = new Map<string, string[]>();
    for (const path of hiddenPaths) byDir.set(dirname(path), [...(byDir.get(dirname(path)) ?? []), basename(path)]);
    const hide = [...byDir]
        .map(([dir, tools], i) => {
            const [upper, work] = [join(root, ".hidden", String(i), "upper"), join(root, ".hidden", String(i), "work")];
            const whiteouts = tools.map((tool) => ` && mknod '${join(upper, tool)}' c 0 0`).join("");
            return ` && mkdir -p '${upper}' '${work}'${whiteouts} && mount -t overlay k3smc-hidden -o 'lowerdir=${dir},upperdir=${upper},workdir=${work}' '${dir}'`;
        })
        .join("");
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", `mount --bind "$0" /opt${hide} && exec "$@"`, join(root, "opt"), ...argv];
}

/**
 * A temporary root for the host toolkit (K3SMC_ROOT), with stand-ins on PATH ahead of the real tools and the toolkit
 * delivered into its own /opt the way the prepare step delivers it. Everything else - bash, coreutils, ip, id,
 * stat, /proc/locks, sudo - is the real thing.
 */
export class ScriptSandbox {
    readonly root: string;
    /** Per-test stand-ins (e.g. an `ip` that succeeds), first on PATH. */
    readonly extraBin: string;

    constructor() {
        // Without the stand-ins the scripts would reach the real apt-get and network: refuse to run at all.
        for (const tool of ["apt-get", "curl", "systemctl", "journalctl"]) {
            if (!existsSync(join(STANDINS_BIN, tool))) throw new Error(`test stand-in ${tool} is missing from ${STANDINS_BIN}`);
        }
        this.root = mkdtempSync(join(tmpdir(), "k3smc-root-"));
        this.extraBin = join(this.root, "test-bin");
        mkdirSync(this.extraBin);
        writeFileSync(join(this.root, "calls.log"), "");
        mkdirSync(join(this.root, "opt"), { mode: 0o755 });
        chmodSync(this.root, 0o755);
        this.deliver();
    }

    /** Delivers a toolkit into the sandbox's /opt with the real delivery command; returns what it printed. */
    deliver(bundle: ToolkitBundle = shippedToolkit(), then = "help"): ScriptRun {
        const run = this.run(deliveryCommand(bundle, then, false), { stdin: bundle.payload });
        if (run.status !== 0) throw new Error(`toolkit delivery failed: ${run.stderr}`);
        return run;
    }

    /** Adds an executable stand-in for this test only. */
    addStandin(name: string, body: string): void {
        const path = join(this.extraBin, name);
        writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
        chmodSync(path, 0o755);
    }

    /** Writes a file under the sandbox root. */
    plant(relativePath: string, content: string): string {
        const path = join(this.root, relativePath);
        mkdirSync(join(path, ".."), { recursive: true });
        writeFileSync(path, content);
        return path;
    }

    read(relativePath: string): string {
        return readFileSync(join(this.root, relativePath), "utf8");
    }

    exists(relativePath: string): boolean {
        return existsSync(join(this.root, relativePath));
    }

    env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
        return {
            PATH: `${this.extraBin}:${STANDINS_BIN}:${process.env.PATH}`,
            HOME: this.root,
            K3SMC_ROOT: this.root,
            K3SMC_POLL_INTERVAL: "0.1",
            ...extra,
        };
    }

    /**
     * Runs a command text exactly as a component registered it, through bash like sshd would. `hideTools`: tools this
     * machine has that the command must not find (e.g. `wg`, to see what prepare installs on a host without it).
     */
    run(commandText: string, options: { stdin?: string; env?: Record<string, string>; asUser?: string; netns?: string; hideTools?: string[] } = {}): ScriptRun {
        const hidden = hiddenPathsOf(options.hideTools);
        const sandboxed = inSandboxMounts(
            this.root,
            options.asUser
                ? ["setpriv", `--reuid=${options.asUser}`, `--regid=${options.asUser}`, "--clear-groups", "bash", "-c", commandText]
                : ["bash", "-c", commandText],
            hidden,
        );
        // In a network namespace the test made: the command sees that namespace's interfaces and nftables.
        const argv = options.netns ? ["ip", "netns", "exec", options.netns, ...sandboxed] : sandboxed;
        const result = spawnSync(argv[0], argv.slice(1), {
            input: options.stdin ?? "",
            env: this.env(options.env),
            encoding: "utf8",
            timeout: 60_000,
        });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    /** The same, asynchronously, for tests that do something while the script waits. */
    runAsync(commandText: string, options: { stdin?: string; env?: Record<string, string>; hideTools?: string[] } = {}): Promise<ScriptRun> {
        return new Promise((resolvePromise, reject) => {
            const [program, ...rest] = inSandboxMounts(this.root, ["bash", "-c", commandText], hiddenPathsOf(options.hideTools));
            const child = spawn(program, rest, { env: this.env(options.env) });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk) => (stdout += chunk));
            child.stderr.on("data", (chunk) => (stderr += chunk));
            child.on("error", reject);
            child.on("close", (status) => resolvePromise({ status, stdout, stderr }));
            child.stdin.end(options.stdin ?? "");
        });
    }

    /** Lines the stand-ins recorded, in order. */
    calls(): string[] {
        return this.read("calls.log").split("\n").filter((line) => line.length > 0);
    }

    clearCalls(): void {
        writeFileSync(join(this.root, "calls.log"), "");
    }

    cleanup(): void {
        rmSync(this.root, { recursive: true, force: true });
    }
}

/** Where this machine has the given tools, on the system's usual paths. */
function hiddenPathsOf(tools: readonly string[] = []): string[] {
    const dirs = ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin"];
    const found = tools.flatMap((tool) => dirs.map((dir) => join(dir, tool)).filter((path) => existsSync(path)).map((path) => realpathSync(path)));
    return [...new Set(found)];
}

/** Whether this machine's kernel can create a WireGuard link (the development machines' cannot). */
export const kernelHasWireguard: boolean = (() => {
    try {
        execFileSync("bash", ["-c", "ip link add dev k3smc-wgcheck type wireguard && ip link delete dev k3smc-wgcheck"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
})();
