import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ExistingServer, K3sAgent, K3sServer } from "../../components";
import { shippedToolkit } from "../../components/toolkit/bundle";
import { MockCloud, unwrap } from "../harness/mockCloud";
import { K3S_YAML, secret } from "../harness/fixtures";
import { ScriptSandbox, STANDINS_BIN, kernelHasWireguard } from "../harness/scriptSandbox";
import { SshServer, SUDO_TEST_USER } from "../harness/sshServer";

type LocalStep = { command: string; env: Record<string, string> };

/** A local step's command and environment as the provider would run it: every value plain, secrets unwrapped. */
function localStep(inputs: Record<string, unknown>, command: "update" | "delete"): LocalStep {
    const env = Object.fromEntries(Object.entries(inputs.environment as Record<string, unknown>).map(([k, v]) => [k, String(unwrap(v))]));
    return { command: inputs[command] as string, env };
}

/**
 * The command texts, stdin and local steps the components register for a server at 127.0.0.1 (reachable through
 * the test sshd) and an agent at 127.0.0.2 (nothing listens there: a host that is gone), taken from the mocks.
 */
async function registeredSteps(user: string, sshd: SshServer, options: { agentVersion?: string; hostKey?: string } = {}) {
    const cloud = await MockCloud.install();
    const key = readFileSync(sshd.clientKey, "utf8");
    const existing = (name: string, ip: string) =>
        new ExistingServer(name, { publicIp: ip, location: "lab", user, port: sshd.port, privateKey: secret(key), hostKey: options.hostKey ?? sshd.hostPublicKey() }).host;
    const server = new K3sServer("lab-1-k3s", { host: existing("lab-1", "127.0.0.1"), k3sVersion: "v1.33.6+k3s1", readyTimeoutSeconds: 5 });
    new K3sAgent("lab-2-k3s", { host: existing("lab-2", "127.0.0.2"), k3sVersion: "v1.33.6+k3s1", server, readyTimeoutSeconds: 5 });
    // A reachable agent, at the version the test asks for: its install and upgrade steps are what `pulumi up` runs.
    new K3sAgent("lab-3-k3s", { host: existing("lab-3", "127.0.0.1"), k3sVersion: options.agentVersion ?? "v1.33.6+k3s1", server, readyTimeoutSeconds: 5 });
    await cloud.settle();
    const step = (name: string) => cloud.named(name).inputs;
    return {
        prepare: { command: step("lab-1-k3s-prepare").create as string, stdin: step("lab-1-k3s-prepare").stdin as string },
        install: step("lab-1-k3s-install").create as string,
        stdin: unwrap(step("lab-1-k3s-install").stdin) as string,
        readKubeconfig: step("lab-1-k3s-kubeconfig").create as string,
        agentInstall: step("lab-2-k3s-install").create as string,
        agentStdin: unwrap(step("lab-2-k3s-install").stdin) as string,
        lab3Install: step("lab-3-k3s-install").create as string,
        lab3Stdin: unwrap(step("lab-3-k3s-install").stdin) as string,
        serverRemoval: localStep(step("lab-1-k3s-removal"), "delete"),
        agentRemoval: localStep(step("lab-2-k3s-removal"), "delete"),
        lab3Upgrade: localStep(step("lab-3-k3s-upgrade"), "update"),
    };
}

/** Runs a local step the way @pulumi/command's local provider does: `sh -c` with the step's environment. */
function runLocally(step: LocalStep, extraEnv: Record<string, string> = {}) {
    const result = spawnSync("sh", ["-c", step.command], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...step.env, ...extraEnv },
        encoding: "utf8",
        timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The stand-ins' record with the sandbox path shortened, and the Ready polls left out. */
function callsOf(box: ScriptSandbox): string[] {
    return box
        .calls()
        .map((c) => c.replace(box.root, "<root>"))
        .filter((c) => !c.includes(" get node "));
}

/** A sandbox and a real sshd serving it (sessions see the sandbox's /opt and stand-ins), for one suite's tests. */
function sandboxWithSshd(options: { onPort22?: boolean; sudoUserPassword?: string } = {}): { box: ScriptSandbox; sshd: SshServer } {
    const lab = {} as { box: ScriptSandbox; sshd: SshServer };
    before(async () => {
        lab.box = new ScriptSandbox();
        const path = `${lab.box.extraBin}:${STANDINS_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
        lab.sshd = new SshServer(lab.box.root, path, options);
        await lab.sshd.start();
    });
    after(() => {
        lab.sshd?.stop();
        lab.box?.cleanup();
    });
    return lab;
}

describe("the registered commands over a real SSH hop (OpenSSH on loopback)", function () {
    this.timeout(120_000);
    const lab = sandboxWithSshd();
    beforeEach(() => {
        lab.box.clearCalls();
        // A host as new, and no per-test `ip` left by an earlier test (the sandbox's own stands for the host's).
        lab.box.run('rm -rf "$K3SMC_ROOT/etc" "$K3SMC_ROOT/usr" "$K3SMC_ROOT/var" "$K3SMC_ROOT/lo-addresses"');
        rmSync(join(lab.box.extraBin, "ip"), { force: true });
        lab.box.deliver();
    });

    for (const user of ["root", SUDO_TEST_USER]) {
        describe(`as ${user}`, () => {
            it("the prepare step delivers the toolkit from stdin (through sudo for a non-root login), then prepares", async () => {
                rmSync(join(lab.box.root, "opt", "k3s-multicloud"), { recursive: true, force: true });
                lab.box.addStandin("ip", "exit 0");
                lab.box.addStandin("wg", "exit 0");
                const steps = await registeredSteps(user, lab.sshd);
                assert.equal(steps.prepare.command.startsWith("sudo -n sh -c "), user !== "root");
                const run = lab.sshd.run(user, steps.prepare.command, steps.prepare.stdin);
                assert.equal(run.status, 0, run.stderr);
                const bundle = shippedToolkit();
                assert.equal(
                    run.stdout,
                    [
                        `k3s-multicloud: toolkit ${bundle.id} installed in /opt/k3s-multicloud/toolkit/${bundle.id}`,
                        "k3s-multicloud [lab-1] packages: nothing to install",
                        `k3s-multicloud [lab-1] WireGuard works in kernel ${execFileSync("uname", ["-r"], { encoding: "utf8" }).trim()}`,
                        "",
                    ].join("\n"),
                );
                // Installed as root, byte for byte, behind the atomic link the other steps call.
                assert.equal(readFileSync(join(lab.box.root, "opt/k3s-multicloud/toolkit", bundle.id, "k3smc"), "utf8"), bundle.text);
                const status = lab.sshd.run(user, `${user === "root" ? "" : "sudo -n "}/opt/k3s-multicloud/bin/k3smc status`);
                assert.equal(status.status, 0, status.stderr);
                assert.match(status.stdout, new RegExp(`^toolkit: +${bundle.id} \\(contracts v1\\)\\nk3s: +not installed\\n`));

                // A second run finds the toolkit in place and reads nothing from stdin.
                const again = lab.sshd.run(user, steps.prepare.command, "");
                assert.equal(again.status, 0, again.stderr);
                assert.ok(!again.stdout.includes("installed in"), again.stdout);
            });

            it("a damaged bundle is refused before anything is switched", async () => {
                rmSync(join(lab.box.root, "opt", "k3s-multicloud"), { recursive: true, force: true });
                const steps = await registeredSteps(user, lab.sshd);
                const damaged = Buffer.from(steps.prepare.stdin, "base64");
                damaged[damaged.length - 12] ^= 0xff; // inside the deflate stream's checksum: gzip or sha256 refuses it
                const run = lab.sshd.run(user, steps.prepare.command, damaged.toString("base64"));
                assert.notEqual(run.status, 0);
                assert.equal(existsSync(join(lab.box.root, "opt/k3s-multicloud/bin/k3smc")), false);
            });

            it("installs with the token from stdin, quoting intact, and a second run changes nothing", async () => {
                const steps = await registeredSteps(user, lab.sshd);
                assert.equal(steps.install.startsWith("sudo -n /opt/k3s-multicloud/bin/k3smc v1 install "), user !== "root");
                const first = lab.sshd.run(user, steps.install, steps.stdin);
                assert.equal(first.status, 0, first.stderr);
                assert.deepEqual(lab.box.calls().slice(0, 2), ["curl https://get.k3s.io", "installer role=server version=v1.33.6+k3s1 mirror= skip-start=true"]);
                // The config arrived byte for byte through the remote shell's quoting (and sudo).
                assert.equal(lab.box.read("etc/rancher/k3s/config.yaml"), steps.install.split(" --config '")[1].replace(/'$/, ""));
                // The server token and the agent token, one line each, from stdin into files only root reads.
                assert.equal(steps.stdin, "generated-password-for-lab-1-k3s-token\ngenerated-password-for-lab-1-k3s-agent-token\n");
                assert.equal(lab.box.read("etc/rancher/k3s/cluster-token"), "generated-password-for-lab-1-k3s-token\n");
                assert.equal(lab.box.read("etc/rancher/k3s/agent-token"), "generated-password-for-lab-1-k3s-agent-token\n");
                assert.match(first.stdout, /k3s-multicloud \[lab-1\] node lab-1 is Ready/);

                lab.box.clearCalls();
                const second = lab.sshd.run(user, steps.install, steps.stdin);
                assert.equal(second.status, 0, second.stderr);
                assert.match(second.stdout, /^k3s-multicloud \[lab-1\] k3s v1\.33\.6\+k3s1, config and token unchanged, node Ready: nothing to do\n# ca-hash [0-9a-f]{64}\n$/);
            });

            it("installs an agent pointed at the server URL", async () => {
                const steps = await registeredSteps(user, lab.sshd);
                const run = lab.sshd.run(user, steps.agentInstall, steps.agentStdin);
                assert.equal(run.status, 0, run.stderr);
                assert.match(lab.box.read("etc/rancher/k3s/config.yaml"), /^server: https:\/\/127\.0\.0\.1:6443$/m);
                assert.equal(lab.box.calls()[1], "installer role=agent version=v1.33.6+k3s1 mirror= skip-start=true");
            });

            it("finds ip in /sbin from a non-login session and reports the missing WireGuard in words", async function () {
                if (kernelHasWireguard) this.skip(); // this kernel has WireGuard
                lab.box.addStandin("wg", "exit 0");
                rmSync(join(lab.box.extraBin, "ip"), { force: true });
                const steps = await registeredSteps(user, lab.sshd);
                const run = lab.sshd.run(user, steps.prepare.command, steps.prepare.stdin);
                assert.equal(run.status, 1);
                assert.match(run.stderr, /^k3s-multicloud \[lab-1\] ERROR: WireGuard is not available in kernel .*: 'ip link add type wireguard' failed with 'Error: Unknown device type\.'/);
            });

            it("reads the kubeconfig, and the stored removal uninstalls k3s over SSH", async () => {
                const steps = await registeredSteps(user, lab.sshd);
                assert.equal(lab.sshd.run(user, steps.install, steps.stdin).status, 0);
                lab.box.plant("etc/rancher/k3s/k3s.yaml", K3S_YAML);
                const read = lab.sshd.run(user, steps.readKubeconfig);
                assert.equal(read.status, 0, read.stderr);
                // k3s.yaml as k3s wrote it, with an admin certificate minted by the cluster's client CA in place of its own.
                const withoutClient = (text: string) => text.split("\n").filter((line) => !/client-(certificate|key)-data/.test(line));
                assert.deepEqual(withoutClient(read.stdout), withoutClient(K3S_YAML));
                assert.notEqual(read.stdout, K3S_YAML);
                lab.box.clearCalls();
                const removed = runLocally(steps.serverRemoval);
                assert.equal(removed.status, 0, removed.stderr);
                assert.deepEqual(
                    lab.box.calls().filter((c) => !c.startsWith("systemctl")),
                    ["k3s-uninstall.sh ran", "k3s-killall.sh ran"],
                );
                assert.match(removed.stdout, /k3s-multicloud \[lab-1\] node lab-1 removed\n$/);
                assert.equal(existsSync(join(lab.box.root, "usr/local/bin/k3s")), false);
            });

            it("a version change: install stages it, the upgrade step drains through the server, applies and uncordons", async () => {
                const before = await registeredSteps(user, lab.sshd);
                assert.equal(lab.sshd.run(user, before.install, before.stdin).status, 0, "the server runs v1.33.6");
                const steps = await registeredSteps(user, lab.sshd, { agentVersion: "v1.34.2+k3s1" });
                const staged = lab.sshd.run(user, steps.lab3Install, steps.lab3Stdin);
                assert.equal(staged.status, 0, staged.stderr);
                assert.match(staged.stdout, /staged k3s v1\.34\.2\+k3s1 and the new config/);
                lab.box.clearCalls();
                const run = runLocally(steps.lab3Upgrade);
                assert.equal(run.status, 0, run.stderr);
                assert.deepEqual(callsOf(lab.box), [
                    "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml drain --ignore-daemonsets --delete-emptydir-data --force --timeout=120s -- lab-3",
                    "curl https://get.k3s.io",
                    "installer role=agent version=v1.34.2+k3s1 mirror= skip-start=true",
                    "systemctl restart --no-block k3s-agent",
                    "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml uncordon -- lab-3",
                ]);
                // The agent's join token (the agent token in secure format), staged and applied with the new version.
                assert.equal(lab.box.read("etc/rancher/k3s/cluster-token"), steps.lab3Stdin);
                assert.match(run.stdout, /installing k3s v1\.34\.2\+k3s1 as agent from github \(installed: v1\.33\.6\+k3s1\)/);
                assert.match(run.stdout, /k3s-multicloud \[lab-3\] node lab-3 runs k3s v1\.34\.2\+k3s1\n$/);
            });

            it("an upgrade step re-run with new credentials finds the same fingerprint and drains nothing", async () => {
                const steps = await registeredSteps(user, lab.sshd);
                assert.equal(lab.sshd.run(user, steps.lab3Install, steps.lab3Stdin).status, 0);
                lab.box.clearCalls();
                // A rotated key or a library upgrade changes the step's inputs, so `pulumi up` runs its update.
                const run = runLocally(steps.lab3Upgrade);
                assert.equal(run.status, 0, run.stderr);
                assert.deepEqual(callsOf(lab.box), [], "no drain, no install, no uncordon");
                assert.equal(
                    run.stdout,
                    `k3s-multicloud [lab-3] already runs k3s v1.33.6+k3s1 with this config (fingerprint ${steps.lab3Upgrade.env.K3SMC_FINGERPRINT.slice(0, 12)}): no drain, no reinstall\n`,
                );
            });

            it("removing an agent whose host is gone drains it through the server and skips the uninstall", async () => {
                const steps = await registeredSteps(user, lab.sshd);
                assert.equal(lab.sshd.run(user, steps.install, steps.stdin).status, 0);
                lab.box.clearCalls();
                const started = Date.now();
                const removed = runLocally(steps.agentRemoval);
                assert.equal(removed.status, 0, removed.stderr);
                assert.ok(Date.now() - started < 20_000, "an unreachable host does not hold up the removal");
                assert.deepEqual(callsOf(lab.box), [
                    "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml drain --ignore-daemonsets --delete-emptydir-data --force --timeout=120s -- lab-2",
                    "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml delete node --ignore-not-found -- lab-2",
                ]);
                assert.match(removed.stdout, /drained lab-2\n.*deleted node lab-2: flannel withdraws its WireGuard peer everywhere\n/);
                assert.match(removed.stdout, /k3s-multicloud \[lab-2\] 127\.0\.0\.2 does not answer \(host gone\?\): uninstall skipped\n/);
            });
        });
    }

    it("removal fails with words when the host answers but refuses the key", async () => {
        const steps = await registeredSteps("root", lab.sshd);
        const wrongKey = execFileSync("bash", ["-c", `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f "$d/k" && cat "$d/k" && rm -rf "$d"`], { encoding: "utf8" });
        const removed = runLocally(steps.serverRemoval, { K3SMC_NODE_KEY: wrongKey });
        assert.equal(removed.status, 1);
        assert.match(removed.stderr, /k3s-multicloud \[lab-1\] ERROR: uninstall k3s on lab-1: SSH to 127\.0\.0\.1:[0-9]+ failed: root@127\.0\.0\.1: Permission denied \(publickey\)\.\n$/);
    });

    it("shows why variables travel in the command text: a stock sshd turns SSH env requests down", () => {
        // OpenSSH's client ignores the refusal; the Go client behind @pulumi/command fails the command on it.
        const seen = execFileSync("ssh", [...lab.sshd.clientArgs("root"), "-o", "SetEnv=K3SMC_PROBE=1", 'printf "%s" "${K3SMC_PROBE:-unset}"'], {
            encoding: "utf8",
        });
        assert.equal(seen, "unset");
    });
});

describe("the relay pins host keys the way OpenSSH writes them (real sshd on port 22, in a network namespace)", function () {
    this.timeout(120_000);
    const lab = sandboxWithSshd({ onPort22: true });
    let steps: Awaited<ReturnType<typeof registeredSteps>>;

    /** Runs a local step inside the namespace, where 127.0.0.1:22 is this sshd. */
    function relay(step: LocalStep, env: Record<string, string> = {}) {
        const [program, ...args] = lab.sshd.inNamespace(["sh", "-c", step.command]);
        const result = spawnSync(program, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...step.env, ...env }, encoding: "utf8", timeout: 60_000 });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    it("passes with the server's own key pinned on port 22 (written bare, `host key`)", async () => {
        steps = await registeredSteps("root", lab.sshd, { hostKey: lab.sshd.hostPublicKey() });
        assert.equal(steps.serverRemoval.env.K3SMC_NODE_PORT, "22");
        assert.equal(steps.serverRemoval.env.K3SMC_NODE_HOST_KEY, lab.sshd.hostPublicKey());
        const removed = relay(steps.serverRemoval);
        assert.equal(removed.status, 0, removed.stderr);
        assert.equal(
            removed.stdout,
            "k3s-multicloud [lab-1] k3s (server) is not installed: nothing to uninstall\n" +
                "k3s-multicloud [lab-1] removed the host firewall (unit, nftables table, ufw rules), the staged files and the toolkit: nothing of k3s-multicloud is left\n" +
                "k3s-multicloud [lab-1] node lab-1 removed\n",
        );
        lab.box.deliver();
    });

    it("fails with words when the pinned key is not the server's", async () => {
        const other = execFileSync("bash", ["-c", `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f "$d/k" && cut -d' ' -f1,2 "$d/k.pub" && rm -rf "$d"`], { encoding: "utf8" }).trim();
        const removed = relay(steps.serverRemoval, { K3SMC_NODE_HOST_KEY: other });
        assert.equal(removed.status, 1);
        assert.match(
            removed.stderr,
            /k3s-multicloud \[lab-1\] ERROR: uninstall k3s on lab-1: SSH to 127\.0\.0\.1:22 failed: Host key verification failed\. 127\.0\.0\.1 presents another SSH host key than the one pinned in state: if you reinstalled it on purpose, re-learn its key \(docs\/operations\.md, "A host key that changed"\); otherwise someone may be between you and it\.\n$/,
        );
    });

    it("shows the OpenSSH fact behind it: a bracketed entry for port 22 is not found", () => {
        const dir = lab.box.plant("known-bracketed", `[127.0.0.1]:22 ${lab.sshd.hostPublicKey()}\n`);
        const [program, ...args] = lab.sshd.inNamespace([
            "ssh", "-F", "/dev/null", "-i", lab.sshd.clientKey, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", `UserKnownHostsFile=${dir}`, "-o", "LogLevel=ERROR", "root@127.0.0.1", "true",
        ]);
        const run = spawnSync(program, args, { encoding: "utf8" });
        assert.equal(run.status, 255);
        assert.match(run.stderr, /Host key verification failed\./);
    });
});

describe("the relay ignores the operator's ssh configuration (a hostile ~/.ssh/config, real sshd)", function () {
    this.timeout(120_000);
    // A password dash's echo would mangle (\t, \c and a leading -n), for the relay's askpass.
    const password = "-n k3s\\tsmc\\c!1";
    const lab = sandboxWithSshd({ sudoUserPassword: password });
    let home: string;
    let steps: Awaited<ReturnType<typeof registeredSteps>>;
    const newKey = () => execFileSync("bash", ["-c", `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f "$d/k" && cat "$d/k" && rm -rf "$d"`], { encoding: "utf8" });
    /** The command the relay runs on the node instead of the uninstall: what the session there can see. */
    const probe = `printf 'user %s, forwarded agent %s\\n' "$(id -un)" "\${SSH_AUTH_SOCK:-none}"`;
    /**
     * The operator: the test's login user runs `pulumi` here. OpenSSH finds ~/.ssh/config through the password
     * database, not $HOME, so the hostile config goes into that user's real home directory.
     */
    const asOperator = (argv: string[]) => ["setpriv", `--reuid=${SUDO_TEST_USER}`, `--regid=${SUDO_TEST_USER}`, "--init-groups", ...argv];
    function runAsOperator(step: LocalStep, env: Record<string, string>) {
        const [program, ...args] = asOperator(["sh", "-c", step.command]);
        const result = spawnSync(program, args, { env: { PATH: process.env.PATH, HOME: home, ...step.env, ...env }, encoding: "utf8", timeout: 60_000 });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    before(async () => {
        steps = await registeredSteps("root", lab.sshd);
        home = execFileSync("getent", ["passwd", SUDO_TEST_USER], { encoding: "utf8" }).split(":")[5];
        // The operator's own key, which the node accepts too (they administer it with it), and a config that uses it
        // everywhere, forwards the agent and multiplexes sessions - all plausible in a real ~/.ssh/config.
        mkdirSync(join(home, ".ssh"), { mode: 0o700, recursive: true });
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(home, ".ssh", "operator")]);
        appendFileSync(join(lab.sshd.dir, "authorized", "root"), readFileSync(join(home, ".ssh", "operator.pub")));
        writeFileSync(
            join(home, ".ssh", "config"),
            ["Host *", "    ForwardAgent yes", "    ControlMaster auto", `    ControlPath ${home}/.ssh/cm-%C`, "    ControlPersist 120",
                `    IdentityFile ${home}/.ssh/operator`, "    StrictHostKeyChecking no", "    UserKnownHostsFile /dev/null", "    LogLevel ERROR", ""].join("\n"),
        );
        execFileSync("chown", ["-R", `${SUDO_TEST_USER}:`, join(home, ".ssh")]);
    });

    it("forwards no agent to the node, so root there cannot use the cluster key", () => {
        const run = runAsOperator(steps.serverRemoval, { K3SMC_UNINSTALL_COMMAND: probe });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /^user root, forwarded agent none\n/);
    });

    it("offers no identity but the node's own: a wrong key is refused although the operator's would be accepted", () => {
        const run = runAsOperator(steps.serverRemoval, { K3SMC_NODE_KEY: newKey(), K3SMC_UNINSTALL_COMMAND: probe });
        assert.equal(run.status, 1, run.stdout);
        assert.match(run.stderr, /ERROR: uninstall k3s on lab-1: SSH to 127\.0\.0\.1:[0-9]+ failed: root@127\.0\.0\.1: Permission denied \(publickey,password\)\.\n$/);
    });

    it("does not ride an open ControlMaster session past a wrong pinned host key", () => {
        // The operator's own session to the node, left open in the background as ControlPersist does.
        const [ssh, ...open] = asOperator(["ssh", "-p", String(lab.sshd.port), "-fN", "root@127.0.0.1"]);
        execFileSync(ssh, open, { env: { ...process.env, HOME: home } });
        const [, ...checkArgs] = asOperator(["ssh", "-p", String(lab.sshd.port), "-O", "check", "root@127.0.0.1"]);
        const check = spawnSync(ssh, checkArgs, { encoding: "utf8", env: { ...process.env, HOME: home } });
        const master = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
        assert.ok(master > 0, `a master session is open: ${check.stderr}`);
        try {
            const other = execFileSync("bash", ["-c", `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f "$d/k" && cut -d' ' -f1,2 "$d/k.pub" && rm -rf "$d"`], { encoding: "utf8" }).trim();
            const run = runAsOperator(steps.serverRemoval, { K3SMC_NODE_HOST_KEY: other, K3SMC_UNINSTALL_COMMAND: probe });
            assert.equal(run.status, 1, run.stdout);
            assert.match(run.stderr, /ERROR: uninstall k3s on lab-1: SSH to 127\.0\.0\.1:[0-9]+ failed: Host key verification failed\. 127\.0\.0\.1 presents another SSH host key/);
        } finally {
            process.kill(master, "SIGTERM");
        }
    });

    it("logs in with a password holding backslashes and a leading -n, as typed", async () => {
        const user = await registeredSteps(SUDO_TEST_USER, lab.sshd);
        const run = runLocally(user.serverRemoval, { K3SMC_NODE_KEY: "", K3SMC_NODE_PASSWORD: password, K3SMC_UNINSTALL_COMMAND: probe });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, new RegExp(`^user ${SUDO_TEST_USER}, forwarded agent none\\n`));
    });

    it("names the missing OpenSSH program instead of failing with exit 127", () => {
        const run = lab.box.run(steps.serverRemoval.command, { env: steps.serverRemoval.env, hideTools: ["ssh-agent"] });
        assert.equal(run.status, 1);
        assert.equal(
            run.stderr,
            "k3s-multicloud [lab-1] ERROR: 'ssh-agent' is not installed on the machine running pulumi: install OpenSSH's client (Debian, Ubuntu: apt-get install openssh-client; Alpine: apk add openssh-client)\n",
        );
    });
});

describe("steps stored by an earlier release still run with this release's toolkit (contract v1)", function () {
    this.timeout(120_000);
    const lab = sandboxWithSshd();

    // 0.3.0 stores the same texts as 0.2.0 (captured again for 0.3.0: identical), and both set up the host firewall's
    // boot unit under a k3s* name that made k3s' uninstaller stop early; a host upgraded since runs this toolkit.
    for (const release of ["0.2.0", "0.3.0"]) {
        it(`release ${release}'s stored removal of an agent drains it through the server and uninstalls it completely`, async () => {
            const stored = JSON.parse(readFileSync(join(__dirname, "..", "upgrade", `stored-steps-${release}.json`), "utf8"));
            const removal = stored["lab-2-k3s-removal"] as { delete: string; environment: Record<string, string> };
            const steps = await registeredSteps("root", lab.sshd);
            assert.equal(lab.sshd.run("root", steps.agentInstall, steps.agentStdin).status, 0, "the agent runs k3s");
            lab.box.plant("etc/systemd/system/k3s-multicloud-firewall.service", "[Unit]\nDescription=k3s-multicloud: k3s ports open to cluster members only\n");
            lab.box.plant("etc/k3s-multicloud/firewall.nft", "table inet k3s_multicloud {}\n");
            lab.box.clearCalls();
            // Its delete runs with the inputs stored back then; only the connections (secret) come from this test.
            const host = { HOST: "127.0.0.1", PORT: String(lab.sshd.port), USER: "root", KEY: readFileSync(lab.sshd.clientKey, "utf8"), PASSWORD: "", HOST_KEY: "" };
            const connections = Object.fromEntries(
                ["NODE", "SERVER"].flatMap((who) => Object.entries(host).map(([field, value]) => [`K3SMC_${who}_${field}`, value])),
            );
            const run = runLocally({ command: removal.delete, env: { ...removal.environment, ...connections } });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(callsOf(lab.box), [
                "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml drain --ignore-daemonsets --delete-emptydir-data --force --timeout=120s -- lab-2",
                "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml delete node --ignore-not-found -- lab-2",
                "systemctl disable --now k3s-multicloud-firewall.service",
                "systemctl daemon-reload",
                "k3s-agent-uninstall.sh ran",
                "k3s-killall.sh ran",
                "systemctl stop k3s-agent.service",
                "systemctl disable k3s-agent",
            ]);
            assert.match(run.stdout, /k3s-multicloud \[lab-2\] node lab-2 removed\n$/);
            const left = ["usr/local/bin/k3s", "etc/rancher/k3s", "etc/systemd/system/k3s-multicloud-firewall.service", "etc/k3s-multicloud", "opt/k3s-multicloud"];
            assert.deepEqual(left.filter((path) => existsSync(join(lab.box.root, path))), []);
            lab.box.deliver();
        });
    }
});
