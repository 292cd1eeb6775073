import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { renderPrepareCommand } from "../../components/k3s/nodeSteps";
import { shippedToolkit } from "../../components/toolkit/bundle";
import { KubeProxyMode } from "../../components/k3s/options";
import { ScriptSandbox, kernelHasWireguard } from "../harness/scriptSandbox";

function prepareCommand(kubeProxyMode: KubeProxyMode = "iptables"): string {
    return renderPrepareCommand("old-node", { kubeProxyMode, disable: ["servicelb"] }, false);
}

const kernel = execFileSync("uname", ["-r"], { encoding: "utf8" }).trim();


describe("prepare script (real bash, real kernel probe)", () => {
    let box: ScriptSandbox;
    beforeEach(() => {
        box = new ScriptSandbox();
        // wg present, so these tests do not install anything unless they remove it.
        box.addStandin("wg", "exit 0");
    });
    afterEach(() => box.cleanup());

    it("fails the real WireGuard probe on this kernel with one message naming the kernel, flannel's failure and the fix", function () {
        if (kernelHasWireguard) this.skip(); // this kernel has WireGuard; the failure path cannot be shown here
        const run = box.run(prepareCommand());
        assert.equal(run.status, 1);
        assert.equal(run.stdout, "k3s-multicloud [old-node] packages: nothing to install\n");
        assert.equal(
            run.stderr,
            `k3s-multicloud [old-node] ERROR: WireGuard is not available in kernel ${kernel}: 'ip link add type wireguard' failed with 'Error: Unknown device type.' (modprobe wireguard did not help). flannel's wireguard-native backend would fail with 'could not create wireguard interface: operation not supported' and k3s would restart in a loop. Fix: upgrade to a kernel with WireGuard (mainline 5.6+, or e.g. 'apt-get install linux-generic' on Ubuntu 18.04, whose 4.15.0-20 kernel has none) and reboot, then run 'pulumi up' again, or set the cluster option wireguardKernel: "upgrade" to let k3s-multicloud do it.\n`,
        );
    });

    it("passes when the probe link can be created, and deletes it again", () => {
        box.addStandin("ip", 'echo "ip $*" >>"$K3SMC_ROOT/calls.log"');
        const run = box.run(prepareCommand());
        assert.equal(run.status, 0, run.stderr);
        assert.equal(
            run.stdout,
            `k3s-multicloud [old-node] packages: nothing to install\nk3s-multicloud [old-node] WireGuard works in kernel ${kernel}\n`,
        );
        assert.deepEqual(box.calls(), [
            "ip link delete dev k3smc-wgprobe",
            "ip link add dev k3smc-wgprobe type wireguard",
            "ip link delete dev k3smc-wgprobe",
        ]);
    });

    describe("on a host still booting (cloud-init present)", () => {
        // A cloud-init that reports `running` until --wait, which takes a moment, as on a fresh VM.
        const cloudInit = (waitExit: number) =>
            `echo "cloud-init $*" >>"$K3SMC_ROOT/calls.log"; if [ "$*" = "status --wait" ]; then sleep 0.3; exit ${waitExit}; fi; echo "status: running"`;

        it("waits for cloud-init to finish before it touches apt or the kernel", () => {
            box.addStandin("cloud-init", cloudInit(0));
            box.addStandin("ip", 'echo "ip $*" >>"$K3SMC_ROOT/calls.log"');
            const run = box.run(prepareCommand());
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(box.calls().slice(0, 3), ["cloud-init status", "cloud-init status", "cloud-init status --wait"]);
            assert.equal(box.calls()[3], "ip link delete dev k3smc-wgprobe", "the probe comes after the wait");
            assert.equal(run.stdout.split("\n")[0], "k3s-multicloud [old-node] waiting for cloud-init to finish booting the host (up to 600s)");
        });

        it("goes on after recoverable cloud-init errors, and stops in words when cloud-init failed", () => {
            box.addStandin("ip", "exit 0");
            box.addStandin("cloud-init", cloudInit(2));
            const recoverable = box.run(prepareCommand());
            assert.equal(recoverable.status, 0, recoverable.stderr);
            assert.match(recoverable.stdout, /WARNING: cloud-init finished with recoverable errors \('cloud-init status --long' on the host\)\n/);
            box.addStandin("cloud-init", cloudInit(1));
            const failed = box.run(prepareCommand());
            assert.equal(failed.status, 1);
            assert.equal(failed.stderr, "k3s-multicloud [old-node] ERROR: cloud-init failed on this host (exit 1): 'cloud-init status --long' on the host says why.\n");
        });
    });

    it("retries once after modprobe wireguard", () => {
        box.addStandin("modprobe", 'echo "modprobe $*" >>"$K3SMC_ROOT/calls.log"; touch "$K3SMC_ROOT/module-loaded"');
        box.addStandin(
            "ip",
            'echo "ip $*" >>"$K3SMC_ROOT/calls.log"; if [ "$2" = add ] && [ ! -e "$K3SMC_ROOT/module-loaded" ]; then echo "RTNETLINK answers: Operation not supported" >&2; exit 2; fi',
        );
        const run = box.run(prepareCommand());
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /WireGuard works in kernel .* after loading the wireguard module\n$/);
        assert.deepEqual(box.calls(), [
            "ip link delete dev k3smc-wgprobe",
            "ip link add dev k3smc-wgprobe type wireguard",
            "modprobe wireguard",
            "ip link add dev k3smc-wgprobe type wireguard",
            "ip link delete dev k3smc-wgprobe",
        ]);
    });

    it("refuses to run as a user that is not root: the delivery first, then every verb", () => {
        const run = box.run(prepareCommand(), { asUser: "65534", stdin: shippedToolkit().payload });
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud: installing the toolkit needs root; connect as root or a user with passwordless sudo\n");
        const verb = box.run("/opt/k3s-multicloud/bin/k3smc v1 prepare --node-name old-node", { asUser: "65534" });
        assert.equal(verb.status, 1);
        assert.equal(
            verb.stderr,
            "k3s-multicloud [old-node] ERROR: this step must run as root, but it runs as nobody. Connect as root, or as a user with passwordless sudo (the project then runs every step through 'sudo -n').\n",
        );
    });

    it("installs wireguard-tools only when wg is missing, and the IPVS tools for IPVS", function () {
        const plain = new ScriptSandbox();
        try {
            plain.addStandin("ip", "exit 0");
            // A host without them (this machine may have them: hidden in the sandbox's mount namespace).
            const run = plain.run(prepareCommand("ipvs"), { hideTools: ["wg", "ipset", "ipvsadm"] });
            assert.equal(run.status, 0, run.stderr);
            assert.match(run.stdout, /installing wireguard-tools ipset ipvsadm\n/);
            assert.deepEqual(
                plain.calls().map((c) => c.replace(/ @[0-9]+$/, "")),
                [
                    "apt-get -o DPkg::Lock::Timeout=600 -qq update",
                    "apt-get -o DPkg::Lock::Timeout=600 -qq install -y --no-install-recommends wireguard-tools ipset ipvsadm",
                ],
            );
        } finally {
            plain.cleanup();
        }
        box.addStandin("ip", "exit 0");
        box.addStandin("wg", "exit 0");
        assert.equal(box.run(prepareCommand()).status, 0);
        assert.deepEqual(box.calls(), [], "with wg present nothing is installed");
    });

    describe("with the package manager busy", () => {
        let holder: ChildProcess | undefined;
        afterEach(() => {
            if (holder?.pid && holder.exitCode === null) process.kill(holder.pid, "SIGTERM");
        });

        it("waits while the dpkg lock is held, then proceeds", async function () {
            const plain = new ScriptSandbox();
            try {
                plain.addStandin("ip", "exit 0");
                const lock = plain.plant("var/lib/dpkg/lock-frontend", "");
                // A real lock holder, as unattended-upgrades would be: flock keeps the lock for 1.5 s.
                holder = spawn("flock", ["--exclusive", lock, "sleep", "1.5"], { stdio: "ignore" });
                let releasedAt = Infinity;
                holder.on("exit", () => (releasedAt = Date.now()));
                await new Promise((resolve) => setTimeout(resolve, 300));
                const run = await plain.runAsync(prepareCommand(), { hideTools: ["wg"] }); // a host without wg: prepare installs it
                assert.equal(run.status, 0, run.stderr);
                assert.equal(
                    run.stdout.split("\n").slice(0, 3).join("\n"),
                    [
                        `k3s-multicloud [old-node] waiting for the package manager: ${lock} is held (unattended-upgrades after boot?)`,
                        "k3s-multicloud [old-node] the package manager is free",
                        "k3s-multicloud [old-node] installing wireguard-tools",
                    ].join("\n"),
                );
                const aptAt = Number(/@([0-9]+)$/.exec(plain.calls()[0])![1]) / 1e6;
                assert.equal(holder.exitCode, 0, "the lock holder ran its full time");
                // apt-get ran after the lock was released (100 ms allowance for the exit event's delivery).
                assert.ok(aptAt >= releasedAt - 100, `apt-get at ${aptAt} ran before the lock was released at ${releasedAt}`);
            } finally {
                plain.cleanup();
            }
        });
    });
});
