import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inSandboxMounts } from "./scriptSandbox";

/** A login user for the sudo path; created by the test and removed after it. Per run, so two runs never collide. */
export const SUDO_TEST_USER = `k3smc-ssh-${process.pid}`;
const SUDOERS_FILE = `/etc/sudoers.d/${SUDO_TEST_USER}`;

export interface SshRun {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

async function freeLoopbackPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
        });
    });
}

/**
 * A real OpenSSH server on 127.0.0.1 with its own config, host key and authorized keys, so tests can run command
 * texts exactly the way `@pulumi/command` does: one SSH session whose command string the login shell runs.
 * The session environment (SetEnv) and sudo's secure_path put the test stand-ins on PATH and point K3SMC_ROOT at
 * the sandbox; nothing in the command text itself is changed.
 */
export class SshServer {
    private process: ChildProcess | undefined;
    private createdUser = false;
    readonly dir: string;
    readonly clientKey: string;
    port = 0;
    /** With `onPort22`: the network namespace sshd and its clients run in (per run, removed by stop()). */
    readonly netns: string | undefined;

    /**
     * `onPort22`: run sshd on 127.0.0.1:22 inside a network namespace of its own, where port 22 is free whatever this
     * machine runs; clients must then run inside it too (`inNamespace`). `sudoUserPassword`: the sudo test user
     * logs in with this password too (sshd checks it against /etc/shadow, as a stock sshd without PAM does).
     */
    constructor(
        private readonly sandboxRoot: string,
        private readonly pathForSessions: string,
        private readonly options: { onPort22?: boolean; hostPrivateKey?: string; sudoUserPassword?: string } = {},
    ) {
        this.dir = mkdtempSync(join(tmpdir(), "k3smc-sshd-"));
        this.clientKey = join(this.dir, "client_key");
        if (this.options.onPort22) this.netns = `k3smc-ssh-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
    }

    /** The argv that runs a program where this server's clients run (its network namespace, if any). */
    inNamespace(argv: readonly string[]): string[] {
        return this.netns ? ["ip", "netns", "exec", this.netns, ...argv] : [...argv];
    }

    /** The server's public host key, as a pinned `hostKey` is written (authorized_keys format, no comment). */
    hostPublicKey(): string {
        return readFileSync(join(this.dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    }

    async start(): Promise<void> {
        if (this.options.hostPrivateKey) {
            // A host key given by the test (e.g. the one user-data installs): its public half derived by OpenSSH.
            writeFileSync(join(this.dir, "host_key"), this.options.hostPrivateKey, { mode: 0o600 });
            writeFileSync(join(this.dir, "host_key.pub"), execFileSync("ssh-keygen", ["-y", "-f", join(this.dir, "host_key")], { encoding: "utf8" }));
        } else {
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(this.dir, "host_key")]);
        }
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", this.clientKey]);
        const publicKey = readFileSync(`${this.clientKey}.pub`, "utf8");
        mkdirSync(join(this.dir, "authorized"), { mode: 0o755 });
        for (const user of ["root", SUDO_TEST_USER]) writeFileSync(join(this.dir, "authorized", user), publicKey, { mode: 0o644 });
        chmodSync(this.dir, 0o755);
        this.createSudoUser();
        mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory

        if (this.netns) {
            execFileSync("ip", ["netns", "add", this.netns]);
            execFileSync("ip", ["-n", this.netns, "link", "set", "lo", "up"]);
            this.port = 22;
        } else {
            this.port = await freeLoopbackPort();
        }
        const config = join(this.dir, "sshd_config");
        writeFileSync(
            config,
            [
                `Port ${this.port}`,
                "ListenAddress 127.0.0.1",
                `HostKey ${join(this.dir, "host_key")}`,
                `PidFile ${join(this.dir, "sshd.pid")}`,
                `AuthorizedKeysFile ${join(this.dir, "authorized", "%u")}`,
                "StrictModes no",
                `PasswordAuthentication ${this.options.sudoUserPassword === undefined ? "no" : "yes"}`,
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                // Like a stock sshd: no AcceptEnv, so SSH env requests would be refused.
                `SetEnv K3SMC_ROOT=${this.sandboxRoot} K3SMC_POLL_INTERVAL=0.1 PATH=${this.pathForSessions}`,
                "",
            ].join("\n"),
        );
        // sshd runs with the sandbox's /opt (its own mount namespace), so sessions find the toolkit the test delivered.
        const [program, ...rest] = this.inNamespace(inSandboxMounts(this.sandboxRoot, ["/usr/sbin/sshd", "-D", "-e", "-f", config]));
        this.process = spawn(program, rest, { stdio: ["ignore", "ignore", "pipe"] });
        let log = "";
        this.process.stderr!.on("data", (chunk) => (log += chunk));
        for (let attempt = 0; attempt < 100; attempt++) {
            if (this.process.exitCode !== null) throw new Error(`sshd exited: ${log}`);
            const [ssh, ...probeArgs] = this.inNamespace(["ssh", ...this.clientArgs("root"), "true"]);
            const probe = spawnSync(ssh, probeArgs, { encoding: "utf8" });
            if (probe.status === 0) return;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`sshd did not accept a login: ${log}`);
    }

    private createSudoUser(): void {
        const exists = spawnSync("id", [SUDO_TEST_USER]).status === 0;
        if (!exists) {
            execFileSync("useradd", ["--system", "--shell", "/bin/bash", "--home-dir", join(this.dir, "home"), "--create-home", SUDO_TEST_USER]);
            this.createdUser = true;
        }
        // A new system account is locked ("!"), and sshd refuses locked accounts; "*" allows key logins only.
        const password = this.options.sudoUserPassword;
        const hash = password === undefined ? "*" : execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: password, encoding: "utf8" }).trim();
        execFileSync("usermod", ["-p", hash, SUDO_TEST_USER]);
        const sudoers = [
            `${SUDO_TEST_USER} ALL=(root) NOPASSWD: ALL`,
            `Defaults:${SUDO_TEST_USER} secure_path="${this.pathForSessions}"`,
            `Defaults:${SUDO_TEST_USER} env_keep += "K3SMC_ROOT K3SMC_POLL_INTERVAL"`,
            "",
        ].join("\n");
        const staged = join(this.dir, "sudoers");
        writeFileSync(staged, sudoers, { mode: 0o440 });
        execFileSync("visudo", ["-cqf", staged]);
        writeFileSync(SUDOERS_FILE, sudoers, { mode: 0o440 });
    }

    clientArgs(user: string): string[] {
        return [
            "-F", "/dev/null",
            "-i", this.clientKey,
            "-p", String(this.port),
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
            `${user}@127.0.0.1`,
        ];
    }

    /** Runs one command text in one SSH session, with stdin, as @pulumi/command would. */
    run(user: string, commandText: string, stdin = ""): SshRun {
        const [ssh, ...args] = this.inNamespace(["ssh", ...this.clientArgs(user), commandText]);
        const result = spawnSync(ssh, args, { input: stdin, encoding: "utf8", timeout: 60_000 });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    /** Stops sshd by its PID and removes the user, sudoers entry and files the test made. */
    stop(): void {
        if (this.process?.pid && this.process.exitCode === null) this.process.kill("SIGTERM");
        if (this.netns) spawnSync("ip", ["netns", "delete", this.netns]);
        if (existsSync(SUDOERS_FILE)) rmSync(SUDOERS_FILE);
        // --force: an ssh-agent the relay started as this user may linger as a zombie where PID 1 does not reap
        // (this machine's init), which plain userdel refuses ("currently used by process").
        if (this.createdUser) spawnSync("userdel", ["--force", SUDO_TEST_USER]);
        rmSync(this.dir, { recursive: true, force: true });
    }
}
