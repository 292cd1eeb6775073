import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckRow, DoctorNode, ProbeResult, diagnose } from "./diagnose";
import { parseProbe } from "./facts";

/** How doctor logs in to one node: a private key or a password (never printed). */
export interface NodeCredential {
    readonly privateKey?: string;
    readonly password?: string;
}

export interface DoctorOptions {
    readonly nodes: readonly DoctorNode[];
    /** The k3s version the stack pins. */
    readonly k3sVersion: string;
    readonly credentialFor: (node: DoctorNode) => NodeCredential | undefined;
    /** Nodes probed at once. Default 8. */
    readonly parallel?: number;
    /** Seconds one node may take, SSH included. Default 45. */
    readonly perNodeSeconds?: number;
    /** A line per node as it finishes (for long runs). */
    readonly progress?: (line: string) => void;
    /** Runs each ssh through this prefix (the lab: `ip netns exec <runner>`). */
    readonly prefix?: readonly string[];
}

const PROBE = readFileSync(join(__dirname, "probe.sh"), "utf8");

/**
 * doctor: every node probed over SSH with its pinned host key (read-only: the probe changes nothing), in parallel
 * with a bounded fan-out and a time limit per node, then diagnosed. The operator's ssh configuration is not read
 * (`-F none`), private keys go into an ssh-agent of doctor's own, never onto disk, and the agent is stopped at the end.
 */
export async function runDoctor(options: DoctorOptions): Promise<CheckRow[]> {
    const work = mkdtempSync(join(tmpdir(), "k3smc-doctor-"));
    chmodSync(work, 0o700);
    writeFileSync(join(work, "askpass"), "#!/bin/sh\nprintf '%s\\n' \"$K3SMC_ASKPASS\"\n", { mode: 0o700 });
    const agent = startAgent(options.prefix ?? []);
    try {
        const results = new Map<string, ProbeResult>();
        const queue = [...options.nodes];
        const workers = Array.from({ length: Math.max(1, Math.min(options.parallel ?? 8, queue.length)) }, async () => {
            for (let node = queue.shift(); node; node = queue.shift()) {
                const started = Date.now();
                const result = await probeNode(node, options, work, agent);
                results.set(node.name, result);
                options.progress?.(`doctor: ${node.name} ${"error" in result ? "not reached" : "probed"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            }
        });
        const reachableFromHere = new Map<string, number[]>();
        const local = Promise.all(
            options.nodes.map(async (node) => {
                if (await tcpOpen(node.publicIp, 10250, options.prefix)) reachableFromHere.set(node.name, [10250]);
            }),
        );
        await Promise.all([...workers, local]);
        return diagnose(options.nodes, results, { k3sVersion: options.k3sVersion, reachableFromHere });
    } finally {
        if (agent) spawnSync("kill", [String(agent.pid)]);
        rmSync(work, { recursive: true, force: true });
    }
}

interface Agent {
    readonly socket: string;
    readonly pid: number;
}

function startAgent(prefix: readonly string[]): Agent | undefined {
    const [program, ...args] = [...prefix, "ssh-agent", "-s"];
    const started = spawnSync(program, args, { encoding: "utf8" });
    const socket = /SSH_AUTH_SOCK=([^;]+);/.exec(started.stdout ?? "")?.[1];
    const pid = Number(/SSH_AGENT_PID=(\d+);/.exec(started.stdout ?? "")?.[1]);
    return socket && pid ? { socket, pid } : undefined;
}

async function probeNode(node: DoctorNode, options: DoctorOptions, work: string, agent: Agent | undefined): Promise<ProbeResult> {
    const credential = options.credentialFor(node);
    if (!credential || (!credential.privateKey && !credential.password)) {
        return { error: `no SSH credential for ${node.name} in the stack's config or a key file`, hostKeyChanged: false };
    }
    const known = join(work, `known-${node.name}`);
    const hostEntry = node.sshPort === 22 ? node.publicIp : `[${node.publicIp}]:${node.sshPort}`;
    if (node.hostKey) writeFileSync(known, `${hostEntry} ${node.hostKey}\n`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const args = ["-F", "none", "-o", "IdentityFile=none", "-p", String(node.sshPort), "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"];
    args.push(...(node.hostKey ? ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${known}`] : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]));
    if (credential.privateKey && agent) {
        const key = credential.privateKey.endsWith("\n") ? credential.privateKey : `${credential.privateKey}\n`;
        const [program, ...addArgs] = [...(options.prefix ?? []), "ssh-add", "-q", "-"];
        spawnSync(program, addArgs, { input: key, env: { ...env, SSH_AUTH_SOCK: agent.socket } });
        env.SSH_AUTH_SOCK = agent.socket;
        args.push("-o", "BatchMode=yes");
    } else {
        Object.assign(env, { K3SMC_ASKPASS: credential.password, SSH_ASKPASS: join(work, "askpass"), SSH_ASKPASS_REQUIRE: "force" });
        args.push("-o", "PubkeyAuthentication=no");
    }
    const members = options.nodes
        .filter((n) => n.name !== node.name)
        .map((n) => `${n.name}=${n.publicIp}`)
        .join(",");
    const remote = `${node.sshUser === "root" ? "" : "sudo -n "}bash -s -- '${members}'`;
    const [program, ...rest] = [...(options.prefix ?? []), "ssh", ...args, `${node.sshUser}@${node.publicIp}`, remote];
    const askedAt = Math.floor(Date.now() / 1000);
    const run = await spawnWithTimeout(program, rest, PROBE, env, (options.perNodeSeconds ?? 45) * 1000);
    if (run.timedOut) return { error: `no answer within ${options.perNodeSeconds ?? 45} s`, hostKeyChanged: false };
    if (run.status !== 0) {
        const said = run.stderr.replace(/\r/g, "").split("\n").filter(Boolean);
        const changed = said.some((l) => /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(l));
        return { error: said.length > 0 ? said[said.length - 1] : `ssh exited ${run.status}`, hostKeyChanged: changed };
    }
    return { facts: parseProbe(run.stdout), askedAt };
}

function spawnWithTimeout(program: string, args: readonly string[], input: string, env: NodeJS.ProcessEnv, ms: number): Promise<{ status: number | null; stdout: string; stderr: string; timedOut: boolean }> {
    return new Promise((resolve) => {
        const child = spawn(program, args, { env, stdio: ["pipe", "pipe", "pipe"] });
        let [stdout, stderr, timedOut] = ["", "", false];
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, ms);
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr, timedOut });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(input);
    });
}

/** Whether a TCP port answers from this machine within 2 s. */
function tcpOpen(host: string, port: number, prefix: readonly string[] | undefined): Promise<boolean> {
    if (prefix && prefix.length > 0) {
        // Inside the lab's runner namespace: bash's /dev/tcp there. Asynchronous, as the SSH probes run meanwhile.
        const [program, ...args] = [...prefix, "timeout", "2", "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)];
        return new Promise((resolve) => {
            const child = spawn(program, args, { stdio: "ignore" });
            child.on("error", () => resolve(false));
            child.on("close", (status) => resolve(status === 0));
        });
    }
    return new Promise((resolve) => {
        const socket = connect({ host, port, timeout: 2000 });
        socket.on("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.on("timeout", () => {
            socket.destroy();
            resolve(false);
        });
        socket.on("error", () => resolve(false));
    });
}
