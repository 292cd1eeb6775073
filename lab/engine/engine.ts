import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * The real Pulumi engine as engine/build.sh left it (the CLI, the providers, a Kubernetes API server), and Pulumi
 * projects driven through it: a temporary folder with a file backend, our program served to the CLI by the SDK's own
 * language runtime (pulumiWithProgram.ts), every run offline.
 */

const REPO = resolve(__dirname, "..", "..");
const TSX = join(REPO, "node_modules", "tsx", "dist", "cli.mjs");
const WITH_PROGRAM = join(__dirname, "pulumiWithProgram.ts");
/** The CLI verbs that run the program. */
const PROGRAM_VERBS = new Set(["preview", "up", "update", "refresh", "destroy"]);

export interface Engine {
    /** engine/build.sh's directory for this checkout: bin/ and pulumi-home/. */
    readonly dir: string;
    readonly bin: string;
}

/** The built engine, or why there is none (engine/build.sh --locate says what is missing). */
export function locateEngine(): Engine | { readonly missing: string } {
    const located = spawnSync("bash", [join(REPO, "engine", "build.sh"), "--locate"], { encoding: "utf8" });
    if (located.status !== 0) return { missing: (located.stderr || located.stdout).trim() || `engine/build.sh --locate exited ${located.status}` };
    const dir = located.stdout.trim();
    return { dir, bin: join(dir, "bin") };
}

export interface CliResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

export interface ProjectOptions {
    readonly engine: Engine;
    /** Where the project, its state and its PULUMI_HOME live (a per-run directory). */
    readonly dir: string;
    readonly projectName: string;
    readonly stack: string;
    /**
     * The program module (a file whose default export registers the resources, or whose top level does), served to the
     * CLI by pulumiWithProgram.ts; or the text of a Pulumi.yaml whose own runtime (yaml) the CLI runs itself.
     */
    readonly program: string | { readonly projectFile: string };
    /** Directories put first on the CLI's PATH (ambient plugins). */
    readonly path?: readonly string[];
    /** The file backend's directory, to share one with another project (StackReference); default `<dir>/state`. */
    readonly stateDir?: string;
    /** Runs every CLI process through this prefix, e.g. `ip netns exec <runner>`. */
    readonly prefix?: readonly string[];
    /** Progress lines (each CLI call and its duration). */
    readonly progress?: (line: string) => void;
}

/** A Pulumi project on a file backend, and the CLI calls the lab makes on it. */
export class PulumiProject {
    readonly workDir: string;
    readonly stateDir: string;
    readonly home: string;
    private readonly env: NodeJS.ProcessEnv;

    constructor(private readonly options: ProjectOptions) {
        this.workDir = join(options.dir, "project");
        this.stateDir = options.stateDir ?? join(options.dir, "state");
        this.home = join(options.dir, "pulumi-home");
        for (const dir of [this.workDir, this.stateDir, this.home]) mkdirSync(dir, { recursive: true });
        // A home of its own (the CLI keeps its workspace files there), sharing the engine's installed plugins.
        symlinkSync(join(options.engine.dir, "pulumi-home", "plugins"), join(this.home, "plugins"));
        writeFileSync(join(this.workDir, "Pulumi.yaml"), typeof options.program === "string" ? `name: ${options.projectName}\nruntime: nodejs\n` : options.program.projectFile);
        this.env = {
            PATH: [...(options.path ?? []), options.engine.bin, process.env.PATH].join(":"),
            HOME: options.dir,
            K3SMC_PULUMI: join(options.engine.bin, "pulumi"),
            PULUMI_HOME: this.home,
            PULUMI_BACKEND_URL: `file://${this.stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: `engine-lab-${process.pid}`,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            NO_COLOR: "1",
        };
    }

    get stack(): string {
        return this.options.stack;
    }

    /**
     * Runs `pulumi <args>` and waits for it. The verbs that run the program (preview, up, refresh, destroy) go through
     * pulumiWithProgram.ts, which serves it to the CLI; the others run the CLI directly.
     */
    async run(
        args: readonly string[],
        options: { input?: string; onSpawn?: (pid: number) => void; onOutput?: (text: string) => void; env?: NodeJS.ProcessEnv; program?: string; timeoutMs?: number } = {},
    ): Promise<CliResult> {
        const started = Date.now();
        const served = options.program ?? this.options.program;
        const cli = PROGRAM_VERBS.has(args[0]) && typeof served === "string" ? [process.execPath, TSX, WITH_PROGRAM, served] : [join(this.options.engine.bin, "pulumi")];
        const argv = [...(this.options.prefix ?? []), ...cli, ...args];
        const child = spawn(argv[0], argv.slice(1), { cwd: this.workDir, env: { ...this.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
        if (child.pid) options.onSpawn?.(child.pid);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => {
            stdout += chunk;
            options.onOutput?.(stdout);
        });
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.stdin.end(options.input ?? "");
        // A run that does not end in time is stopped (the lab's bound on "no hang"), and says so.
        const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
        const status = await new Promise<number | null>((done) => child.on("close", (code) => done(code)));
        if (timer) clearTimeout(timer);
        const ms = Date.now() - started;
        if (PROGRAM_VERBS.has(args[0])) this.options.progress?.(`pulumi ${args.filter((a) => !a.startsWith("--stack") && a !== this.stack).join(" ")}: exit ${status} in ${(ms / 1000).toFixed(1)} s`);
        return { status, stdout, stderr, ms };
    }

    /**
     * `pulumi preview --json`: the steps it would take, as `<op> <name>` for every step that is not `same`, and the
     * error diagnostics it printed (the JSON form keeps them out of the text).
     */
    async previewSteps(extra: readonly string[] = [], program?: string): Promise<{ result: CliResult; steps: string[]; errors: string[] }> {
        const result = await this.run(["preview", "--json", "--stack", this.stack, "--non-interactive", ...extra], { program });
        const parsed = (() => {
            try {
                return JSON.parse(result.stdout) as { steps?: Array<{ op: string; urn: string }>; diagnostics?: Array<{ message: string; severity: string }> };
            } catch {
                return {};
            }
        })();
        const steps = (parsed.steps ?? [])
            .filter((step) => step.op !== "same" && !step.urn.endsWith("::pulumi:pulumi:Stack::" + `${this.options.projectName}-${this.stack}`))
            .map((step) => `${step.op} ${step.urn.slice(step.urn.lastIndexOf("::") + 2)}`);
        const errors = (parsed.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => d.message.trim());
        return { result, steps: [...new Set(steps)].sort(), errors };
    }

    /** `pulumi <args> --stack <stack> --non-interactive`, failing with the CLI's words unless it succeeds. */
    async must(args: readonly string[], options: { input?: string } = {}): Promise<CliResult> {
        const result = await this.run([...args, "--stack", this.stack, "--non-interactive"], options);
        if (result.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${result.status}): ${tail(result.stdout + result.stderr, 12)}`);
        return result;
    }

    async init(config: Record<string, string>, secrets: Record<string, string>): Promise<void> {
        await this.run(["stack", "init", this.stack, "--non-interactive"]);
        await this.setConfig(config, secrets);
    }

    /** Plain values as they are (JSON for structured ones, `--path` not needed), secrets through stdin. */
    async setConfig(config: Record<string, string>, secrets: Record<string, string> = {}): Promise<void> {
        if (Object.keys(config).length > 0) {
            await this.must(["config", "set-all", ...Object.entries(config).flatMap(([key, value]) => ["--plaintext", `${key}=${value}`])]);
        }
        for (const [key, value] of Object.entries(secrets)) await this.must(["config", "set", "--secret", key], { input: value });
    }

    /** The stack's checkpoint as `pulumi stack export` prints it (secrets encrypted). */
    async exportState(): Promise<StackExport> {
        return JSON.parse((await this.must(["stack", "export"])).stdout) as StackExport;
    }

    /** What the stack file on the backend holds, read directly. */
    checkpointBytes(): number {
        const file = join(this.stateDir, ".pulumi", "stacks", this.options.projectName, `${this.stack}.json`);
        return existsSync(file) ? readFileSync(file).length : 0;
    }
}

export interface StateResource {
    readonly urn: string;
    readonly type: string;
    readonly id?: string;
    readonly inputs?: Record<string, unknown>;
    readonly outputs?: Record<string, unknown>;
    readonly parent?: string;
    readonly dependencies?: string[];
}

export interface StackExport {
    readonly deployment: {
        readonly resources?: StateResource[];
        readonly pending_operations?: Array<{ resource: StateResource; type: string }>;
    };
}

export function tail(text: string, lines: number): string {
    return text
        .split("\n")
        .map((l) => l.trimEnd())
        .filter(Boolean)
        .slice(-lines)
        .join(" | ");
}
