import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registration, unwrap } from "./mocks/mockCloud";
import { CommandResult, LabWorld, runArgvAsync } from "./world";

const REMOTE = "command:remote:Command";
const LOCAL = "command:local:Command";
const NODE_PATCH = "kubernetes:core/v1:NodePatch";

/** One registered step the lab runs: a remote or local command, or a node patch (applied to the lab's API). */
export interface LabStep {
    readonly name: string;
    readonly kind: "remote" | "local" | "node-patch";
    /** Inputs with every secret unwrapped, as the provider receives them. */
    readonly inputs: Record<string, any>;
    /** Names of the steps it depends on. */
    readonly after: string[];
}

/** The connection of a remote step, as `@pulumi/command` receives it. */
export interface Connection {
    readonly host: string;
    readonly port?: number;
    readonly user?: string;
    readonly privateKey?: string;
    readonly password?: string;
    readonly hostKey?: string;
}

/** The steps among the registrations, in an order the engine could run them (dependencies first, then registration order). */
export function orderedSteps(registrations: readonly Registration[]): LabStep[] {
    const byUrn = new Map(registrations.map((r) => [r.urn, r]));
    const steps = registrations
        .filter((r) => r.type === REMOTE || r.type === LOCAL || r.type === NODE_PATCH)
        .map(
            (r): LabStep => ({
                name: r.name,
                kind: r.type === REMOTE ? "remote" : r.type === LOCAL ? "local" : "node-patch",
                inputs: deepUnwrap(r.inputs) as Record<string, any>,
                after: r.dependencies.map((urn) => byUrn.get(urn)).filter((d): d is Registration => !!d && [REMOTE, LOCAL, NODE_PATCH].includes(d.type)).map((d) => d.name),
            }),
        );
    const done = new Set<string>();
    const ordered: LabStep[] = [];
    while (ordered.length < steps.length) {
        const next = steps.find((s) => !done.has(s.name) && s.after.every((d) => done.has(d)));
        if (!next) throw new Error(`the steps' dependencies form a cycle: ${steps.filter((s) => !done.has(s.name)).map((s) => s.name).join(", ")}`);
        done.add(next.name);
        ordered.push(next);
    }
    return ordered;
}

function deepUnwrap(value: unknown): unknown {
    const plain = unwrap(value);
    if (Array.isArray(plain)) return plain.map(deepUnwrap);
    if (plain && typeof plain === "object") return Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, deepUnwrap(v)]));
    return plain;
}

/**
 * Runs steps the way `@pulumi/command` would, from the runner's namespace: a remote step is one OpenSSH session per
 * command (the command text as the session's command, stdin piped, no environment sent), with the connection's
 * credentials and, when the connection pins a host key, strict checking against exactly that key (the provider
 * accepts any key otherwise); a local step is `sh -c` with the step's environment.
 */
export class StepRunner {
    constructor(private readonly world: LabWorld) {}

    remote(connection: Connection, command: string, stdin = ""): CommandResult {
        const session = this.sshSession(connection, command);
        try {
            return this.world.inNamespace(this.world.runnerNs, session.argv, { input: stdin, env: session.env });
        } finally {
            session.cleanup();
        }
    }

    /** The same session, without waiting for it: several at once (the bench's forks). */
    async remoteAsync(connection: Connection, command: string, stdin = ""): Promise<CommandResult> {
        const session = this.sshSession(connection, command);
        try {
            return await runArgvAsync(["ip", "netns", "exec", this.world.runnerNs, ...session.argv], { input: stdin, env: session.env });
        } finally {
            session.cleanup();
        }
    }

    /** One OpenSSH client invocation for a step: its argv, environment and the scratch files it needs until it ends. */
    private sshSession(connection: Connection, command: string): { argv: string[]; env: NodeJS.ProcessEnv; cleanup: () => void } {
        const scratch = mkdtempSync(join(this.world.dir, "session-"));
        const port = connection.port ?? 22;
        const args = ["-F", "/dev/null", "-p", String(port), "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=15", "-o", "LogLevel=ERROR"];
        if (connection.hostKey) {
            const known = join(scratch, "known_hosts");
            writeFileSync(known, `${port === 22 ? connection.host : `[${connection.host}]:${port}`} ${connection.hostKey}\n`);
            args.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${known}`);
        } else {
            args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
        }
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: scratch };
        if (connection.privateKey) {
            const key = join(scratch, "key");
            writeFileSync(key, connection.privateKey.endsWith("\n") ? connection.privateKey : `${connection.privateKey}\n`, { mode: 0o600 });
            args.push("-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey");
        } else {
            const askpass = join(scratch, "askpass");
            writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$LAB_PASSWORD"\n', { mode: 0o700 });
            Object.assign(env, { LAB_PASSWORD: connection.password ?? "", SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force" });
            args.push("-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1");
        }
        args.push(`${connection.user ?? "root"}@${connection.host}`, command);
        return { argv: ["ssh", ...args], env, cleanup: () => rmSync(scratch, { recursive: true, force: true }) };
    }

    local(command: string, environment: Record<string, string> = {}): CommandResult {
        return this.world.inNamespace(this.world.runnerNs, ["sh", "-c", command], {
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...environment },
        });
    }

    /** Runs one step's create. A node patch sets its annotations in the lab's API, as the Kubernetes provider would. */
    create(step: LabStep): CommandResult {
        switch (step.kind) {
            case "remote":
                return this.remote(step.inputs.connection as Connection, step.inputs.create as string, (step.inputs.stdin as string | undefined) ?? "");
            case "local":
                return step.inputs.create ? this.local(step.inputs.create as string, step.inputs.environment ?? {}) : { status: 0, stdout: "", stderr: "" };
            case "node-patch":
                return this.world.patchNode(step.inputs.metadata.name as string, step.inputs.metadata.annotations ?? {}, step.inputs.metadata.labels ?? {});
        }
    }
}
