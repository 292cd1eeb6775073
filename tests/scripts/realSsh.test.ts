import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ExistingServer, K3sAgent, K3sServer } from "../../components";
import { MockCloud, unwrap } from "../harness/mockCloud";
import { K3S_YAML, secret } from "../harness/fixtures";
import { ScriptSandbox, STANDINS_BIN, kernelHasWireguard } from "../harness/scriptSandbox";
import { SshServer, SUDO_TEST_USER } from "../harness/sshServer";

/**
 * The command texts, stdin and removal environments the components register for a server at 127.0.0.1 (reachable
 * through the test sshd) and an agent at 127.0.0.2 (nothing listens there: a host that is gone), taken from the mocks.
 */
async function registeredSteps(user: string, sshd: SshServer) {
    const cloud = await MockCloud.install();
    const key = readFileSync(sshd.clientKey, "utf8");
    const host = new ExistingServer("lab-1", { publicIp: "127.0.0.1", location: "lab", user, port: sshd.port, privateKey: secret(key) }).host;
    const server = new K3sServer("lab-1-k3s", { host, k3sVersion: "v1.33.6+k3s1", readyTimeoutSeconds: 5 });
    const agentHost = new ExistingServer("lab-2", { publicIp: "127.0.0.2", location: "lab", user, port: sshd.port, privateKey: secret(key) }).host;
    new K3sAgent("lab-2-k3s", { host: agentHost, k3sVersion: "v1.33.6+k3s1", server, readyTimeoutSeconds: 5 });
    const reachableAgent = new ExistingServer("lab-3", { publicIp: "127.0.0.1", location: "lab", user, port: sshd.port, privateKey: secret(key) }).host;
    // An agent whose version was raised: its upgrade step is what `pulumi up` runs for that change.
    new K3sAgent("lab-3-k3s", { host: reachableAgent, k3sVersion: "v1.34.2+k3s1", server, readyTimeoutSeconds: 5 });
    await cloud.settle();
    const step = (name: string) => cloud.named(name).inputs;
    return {
        prepare: step("lab-1-k3s-prepare").create as string,
        install: step("lab-1-k3s-install").create as string,
        stdin: unwrap(step("lab-1-k3s-install").stdin) as string,
        readKubeconfig: step("lab-1-k3s-kubeconfig").create as string,
        agentInstall: step("lab-2-k3s-install").create as string,
        agentStdin: unwrap(step("lab-2-k3s-install").stdin) as string,
        serverRemoval: { command: step("lab-1-k3s-removal").delete as string, env: unwrap(step("lab-1-k3s-removal").environment) as Record<string, string> },
        agentRemoval: { command: step("lab-2-k3s-removal").delete as string, env: unwrap(step("lab-2-k3s-removal").environment) as Record<string, string> },
        agentUpgrade: { command: step("lab-3-k3s-upgrade").update as string, env: unwrap(step("lab-3-k3s-upgrade").environment) as Record<string, string> },
    };
}

/** Runs a local command's delete the way @pulumi/command's local provider does: bash, with its environment. */
function runLocally(removal: { command: string; env: Record<string, string> }) {
    const result = spawnSync("bash", ["-c", removal.command], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...removal.env },
        encoding: "utf8",
        timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}



describe("the registered commands over a real SSH hop (OpenSSH on loopback)", function () {
    this.timeout(120_000);
    let box: ScriptSandbox;
    let sshd: SshServer;

    before(async () => {
        box = new ScriptSandbox();
        sshd = new SshServer(box.root, `${box.extraBin}:${STANDINS_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
        await sshd.start();
    });
    after(() => {
        sshd?.stop();
        box?.cleanup();
    });
    beforeEach(() => {
        box.clearCalls();
        box.run("rm -rf \"$K3SMC_ROOT/etc\" \"$K3SMC_ROOT/usr\"");
    });

    for (const user of ["root", SUDO_TEST_USER]) {
        describe(`as ${user}`, () => {
            it("installs with the token from stdin, quoting intact, and a second run changes nothing", async () => {
                const steps = await registeredSteps(user, sshd);
                assert.equal(steps.install.startsWith("sudo -n env "), user !== "root");
                const first = sshd.run(user, steps.install, steps.stdin);
                assert.equal(first.status, 0, first.stderr);
                assert.deepEqual(box.calls().slice(0, 2), ["curl https://get.k3s.io", "installer role=server version=v1.33.6+k3s1 mirror="]);
                // The config arrived byte for byte through two layers of quoting (and sudo's env).
                assert.equal(box.read("etc/rancher/k3s/config.yaml"), steps.install.split("K3SMC_CONFIG='")[1].split("' ")[0]);
                assert.equal(box.read("etc/rancher/k3s/cluster-token"), steps.stdin);
                assert.match(first.stdout, /k3s-multicloud \[lab-1\] node lab-1 is Ready/);

                box.clearCalls();
                const second = sshd.run(user, steps.install, steps.stdin);
                assert.equal(second.status, 0, second.stderr);
                assert.equal(second.stdout, "k3s-multicloud [lab-1] k3s v1.33.6+k3s1, config and token unchanged, node Ready: nothing to do\n");
            });

            it("installs an agent pointed at the server URL", async () => {
                const steps = await registeredSteps(user, sshd);
                const run = sshd.run(user, steps.agentInstall, steps.agentStdin);
                assert.equal(run.status, 0, run.stderr);
                assert.match(box.read("etc/rancher/k3s/config.yaml"), /^server: https:\/\/127\.0\.0\.1:6443$/m);
                assert.equal(box.calls()[1], "installer role=agent version=v1.33.6+k3s1 mirror=");
            });

            it("finds ip in /sbin from a non-login session and reports the missing WireGuard in words", async function () {
                if (kernelHasWireguard) this.skip(); // this kernel has WireGuard
                box.addStandin("wg", "exit 0");
                const steps = await registeredSteps(user, sshd);
                const run = sshd.run(user, steps.prepare);
                assert.equal(run.status, 1);
                assert.match(run.stderr, /^k3s-multicloud \[lab-1\] ERROR: WireGuard is not available in kernel .*: 'ip link add type wireguard' failed with 'Error: Unknown device type\.'/);
            });

            it("reads the kubeconfig, and the stored removal uninstalls k3s over SSH", async () => {
                const steps = await registeredSteps(user, sshd);
                assert.equal(sshd.run(user, steps.install, steps.stdin).status, 0);
                box.plant("etc/rancher/k3s/k3s.yaml", K3S_YAML);
                const read = sshd.run(user, steps.readKubeconfig);
                assert.equal(read.status, 0, read.stderr);
                assert.equal(read.stdout, K3S_YAML);
                box.clearCalls();
                const removed = runLocally(steps.serverRemoval);
                assert.equal(removed.status, 0, removed.stderr);
                assert.deepEqual(box.calls(), ["k3s-uninstall.sh ran"]);
                assert.match(removed.stdout, /k3s-multicloud \[lab-1\] node lab-1 removed\n$/);
            });

            it("an upgrade step drains the agent through the server, installs with the token on stdin, and uncordons", async () => {
                const steps = await registeredSteps(user, sshd);
                assert.equal(sshd.run(user, steps.install, steps.stdin).status, 0, "the server runs v1.33.6");
                box.clearCalls();
                const run = runLocally(steps.agentUpgrade);
                assert.equal(run.status, 0, run.stderr);
                assert.deepEqual(
                    box.calls().map((c) => c.replace(box.root, "<root>")).filter((c) => !c.includes(" get node ")),
                    [
                        "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml drain lab-3 --ignore-daemonsets --delete-emptydir-data --force --timeout=120s",
                        "curl https://get.k3s.io",
                        "installer role=agent version=v1.34.2+k3s1 mirror=",
                        "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml uncordon lab-3",
                    ],
                );
                assert.equal(box.read("etc/rancher/k3s/cluster-token"), `${steps.agentUpgrade.env.K3SMC_TOKEN}\n`);
                assert.match(run.stdout, /installing k3s v1\.34\.2\+k3s1 as agent from github \(installed: v1\.33\.6\+k3s1\)/);
                assert.match(run.stdout, /k3s-multicloud \[lab-3\] node lab-3 runs k3s v1\.34\.2\+k3s1\n$/);
            });

            it("removing an agent whose host is gone drains it through the server and skips the uninstall", async () => {
                const steps = await registeredSteps(user, sshd);
                assert.equal(sshd.run(user, steps.install, steps.stdin).status, 0);
                box.clearCalls();
                const started = Date.now();
                const removed = runLocally(steps.agentRemoval);
                assert.equal(removed.status, 0, removed.stderr);
                assert.ok(Date.now() - started < 20_000, "an unreachable host does not hold up the removal");
                assert.deepEqual(
                    box.calls().map((c) => c.replace(box.root, "<root>")),
                    [
                        "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml drain lab-2 --ignore-daemonsets --delete-emptydir-data --force --timeout=120s",
                        "k3s kubectl --kubeconfig <root>/etc/rancher/k3s/k3s.yaml delete node lab-2 --ignore-not-found",
                    ],
                );
                assert.match(removed.stdout, /drained lab-2\n.*deleted node lab-2: flannel withdraws its WireGuard peer everywhere\n/);
                assert.match(removed.stdout, /k3s-multicloud \[lab-2\] uninstall k3s on lab-2: 127\.0\.0\.2:[0-9]+ is unreachable \(host gone\?\), skipped\n/);
            });
        });
    }

    it("shows why variables travel in the command text: a stock sshd turns SSH env requests down", () => {
        // OpenSSH's client ignores the refusal; the Go client behind @pulumi/command fails the command on it.
        const seen = execFileSync("ssh", [...sshd.clientArgs("root"), "-o", "SetEnv=K3SMC_PROBE=1", 'printf "%s" "${K3SMC_PROBE:-unset}"'], {
            encoding: "utf8",
        });
        assert.equal(seen, "unset");
    });
});
