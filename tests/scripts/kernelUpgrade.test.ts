import { strict as assert } from "node:assert";
import { renderPrepareCommand, renderReprobeCommand, scheduledRebootBootId } from "../../components/k3s/nodeSteps";
import { ScriptSandbox } from "../harness/scriptSandbox";

const OLD_BOOT = "4f1c2d0e-0000-4000-8000-000000000001";
const NEW_BOOT = "4f1c2d0e-0000-4000-8000-000000000002";

/** The reprobe step's command as K3sServer/K3sAgent render it after a scheduled reboot. */
const reprobe = (previousBootId: string) => renderReprobeCommand("old-node", { wireguardKernel: "upgrade" }, false, previousBootId);

describe("kernel policy \"upgrade\" (real bash, stand-ins for apt, systemd and the kernel)", () => {
    let box: ScriptSandbox;
    beforeEach(() => {
        box = new ScriptSandbox();
        box.addStandin("wg", "exit 0");
        // A kernel without WireGuard until the host has "rebooted" into the new one.
        box.addStandin("ip", 'echo "ip $*" >>"$K3SMC_ROOT/calls.log"; if [ "$2" = add ] && [ ! -e "$K3SMC_ROOT/rebooted" ]; then echo "Error: Unknown device type." >&2; exit 2; fi');
        box.addStandin("systemd-run", 'echo "systemd-run $*" >>"$K3SMC_ROOT/calls.log"');
        box.plant("etc/os-release", 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="18.04"\n');
        box.plant("proc/sys/kernel/random/boot_id", `${OLD_BOOT}\n`);
    });
    afterEach(() => box.cleanup());

    it("installs the current kernel, schedules one reboot, and passes the probe after it", () => {
        const first = box.run(renderPrepareCommand("old-node", { wireguardKernel: "upgrade" }, false));
        assert.equal(first.status, 0, first.stderr);
        assert.match(first.stdout, /WireGuard is missing in kernel .*: installing linux-generic and rebooting\n# reboot-scheduled 4f1c2d0e-0000-4000-8000-000000000001\n$/);
        assert.equal(scheduledRebootBootId(first.stdout), OLD_BOOT);
        const reboots = box.calls().filter((c) => c.startsWith("systemd-run"));
        assert.deepEqual(reboots, ["systemd-run --on-active=5 --timer-property=AccuracySec=1s systemctl reboot"]);
        assert.ok(box.calls().some((c) => /^apt-get -o DPkg::Lock::Timeout=600 -qq install -y --no-install-recommends linux-generic @/.test(c)));

        // The host reboots into the new kernel.
        box.plant("rebooted", "");
        box.plant("proc/sys/kernel/random/boot_id", `${NEW_BOOT}\n`);
        box.clearCalls();
        const after = box.run(reprobe(OLD_BOOT));
        assert.equal(after.status, 0, after.stderr);
        assert.match(after.stdout, /rebooted into kernel .*\nk3s-multicloud \[old-node\] WireGuard works in kernel /);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemd-run") || c.startsWith("apt-get")), [], "no second upgrade or reboot");
    });

    it("fails in words when the host did not reboot", () => {
        const run = box.run(reprobe(OLD_BOOT));
        assert.equal(run.status, 1);
        assert.equal(run.stderr, "k3s-multicloud [old-node] ERROR: the reboot scheduled for the kernel upgrade has not happened (boot id unchanged). Reboot the host, then run 'pulumi up' again.\n");
    });

    it("does not reboot twice when the new kernel lacks WireGuard too", () => {
        box.plant("proc/sys/kernel/random/boot_id", `${NEW_BOOT}\n`);
        const run = box.run(reprobe(OLD_BOOT));
        assert.equal(run.status, 1);
        assert.match(run.stderr, /WireGuard is not available in kernel .* \(the upgraded kernel has no WireGuard either\)\.\n$/);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("systemd-run")), []);
    });

    it("with the default policy \"require\" it fails instead of upgrading", () => {
        const run = box.run(renderPrepareCommand("old-node", {}, false));
        assert.equal(run.status, 1);
        assert.deepEqual(box.calls().filter((c) => c.startsWith("apt-get") || c.startsWith("systemd-run")), []);
    });

    it("refuses to upgrade the kernel of a distribution it does not know", () => {
        box.plant("etc/os-release", "ID=alpine\n");
        const run = box.run(renderPrepareCommand("old-node", { wireguardKernel: "upgrade" }, false));
        assert.equal(run.status, 1);
        assert.match(run.stderr, /this project can upgrade the kernel only on Ubuntu and Debian/);
    });
});
